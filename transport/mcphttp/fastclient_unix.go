//go:build linux || darwin

package mcphttp

import "syscall"

// fastSupported tells whether this system has the peek idleAlive needs.
const fastSupported = true

// idleAlive reports whether an idle connection is still open and has
// nothing to read: a non-blocking peek finds no data and no end of stream.
func idleAlive(rc syscall.RawConn) bool {
	var buf [1]byte
	alive := false
	err := rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && alive
}
