//go:build !unix

package transport

import "io"

// PollableStdin returns r unchanged on systems without O_NONBLOCK pipes.
func PollableStdin(r io.Reader) io.Reader { return r }
