//go:build !(linux || darwin)

package mcphttp

import "syscall"

// fastSupported tells whether this system has the peek idleAlive needs:
// without it, every request goes through net/http.
const fastSupported = false

func idleAlive(syscall.RawConn) bool { return false }
