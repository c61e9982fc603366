//go:build linux || darwin

package mcphttp

import "syscall"

// fastSupported tells whether this system has the peek peeker.alive needs.
const fastSupported = true

// peeker checks an idle connection; its fields are the peek's, kept with
// the connection so that a check allocates nothing.
type peeker struct {
	buf [1]byte
	ok  bool
	f   func(fd uintptr) bool
}

// alive reports whether an idle connection is still open and has nothing
// to read: a non-blocking peek finds no data and no end of stream.
func (p *peeker) alive(rc syscall.RawConn) bool {
	if p.f == nil {
		p.f = func(fd uintptr) bool {
			_, _, err := syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			p.ok = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
			return true
		}
	}
	p.ok = false
	err := rc.Read(p.f)
	return err == nil && p.ok
}
