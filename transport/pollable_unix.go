//go:build unix

package transport

import (
	"io"
	"os"
	"syscall"
)

// PollableStdin returns r unchanged unless it is an *os.File on a pipe or a
// socket, in which case it returns a file on the same descriptor switched to
// non-blocking mode, so that reads park in Go's network poller instead of
// holding a thread (and its processor) in a blocking read. That lets the
// goroutine that checks a call run at once, which shortens each round trip.
// Terminals and regular files are left alone: flipping O_NONBLOCK on a
// terminal would leak to the shell that shares it.
func PollableStdin(r io.Reader) io.Reader {
	f, ok := r.(*os.File)
	if !ok {
		return r
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return r
	}
	// A duplicate descriptor is registered with the poller afresh, whatever
	// became of the original; O_NONBLOCK is set on the shared description,
	// so nothing else may read the original afterwards.
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return r
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return r
	}
	return os.NewFile(uintptr(fd), f.Name())
}
