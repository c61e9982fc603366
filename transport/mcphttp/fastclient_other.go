//go:build !(linux || darwin)

package mcphttp

import "syscall"

// fastSupported tells whether this system has the peek peeker.alive needs.
// without it, every request goes through net/http.
const fastSupported = false

type peeker struct{}

func (*peeker) alive(syscall.RawConn) bool { return false }
