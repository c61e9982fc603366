package transport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// DefaultMaxLine is the line cap used when NewStdioConn is given a maxLine of
// zero or less: 4 MiB.
const DefaultMaxLine = 4 << 20

// linePrefixLen is how much of an oversized line LineTooLongError keeps.
const linePrefixLen = 512

// ErrClosed is returned by Write on a connection that was closed.
var ErrClosed = errors.New("transport: connection closed")

// LineTooLongError reports a line longer than the connection's cap. The rest
// of the line has been skipped; the next Read continues with the next line.
type LineTooLongError struct {
	// Limit is the cap in bytes.
	Limit int
	// Prefix holds the first bytes of the line (at most 512), which a caller
	// may use to find the request id of the oversized message.
	Prefix []byte
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("transport: message line exceeds %d bytes", e.Limit)
}

// stdioConn frames newline-delimited JSON-RPC messages.
type stdioConn struct {
	r       *bufio.Reader
	rc      io.Closer // the reader, when it can be closed
	maxLine int
	buf     []byte // line being assembled; reused between reads

	wmu    sync.Mutex // guards w, closed and wbuf
	w      io.WriteCloser
	closed bool
	wbuf   []byte
}

// NewStdioConn returns a Conn that reads newline-delimited messages from r and
// writes them to w. A line longer than maxLine bytes (DefaultMaxLine when
// maxLine <= 0) is reported as a *LineTooLongError and skipped. Blank lines are
// skipped, and a trailing "\r" is removed. Close closes w, and r too when it is
// an io.Closer.
func NewStdioConn(r io.Reader, w io.WriteCloser, maxLine int) Conn {
	if maxLine <= 0 {
		maxLine = DefaultMaxLine
	}
	c := &stdioConn{r: bufio.NewReaderSize(r, 64<<10), maxLine: maxLine, w: w}
	if rc, ok := r.(io.Closer); ok {
		c.rc = rc
	}
	return c
}

// Read returns the next non-blank line without its line ending.
func (c *stdioConn) Read() ([]byte, error) {
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		return bytes.Clone(line), nil
	}
}

// readLine reads one line into c.buf, never holding more than maxLine+1 bytes
// (the extra byte being a "\r" before the "\n"). The returned slice aliases
// c.buf. An unterminated last line is returned as a line; io.EOF follows it.
func (c *stdioConn) readLine() ([]byte, error) {
	c.buf = c.buf[:0]
	var prefix []byte // set once the line is known to be too long
	for {
		chunk, err := c.r.ReadSlice('\n')
		if prefix == nil {
			c.buf = append(c.buf, bytes.TrimSuffix(chunk, []byte{'\n'})...)
			// maxLine bytes, and one more only for the CR of a CRLF ending
			// (trimmed below): the same limit whether the line ends with a
			// newline, at EOF, or runs on past the buffer.
			if len(c.buf) > c.maxLine+1 || (len(c.buf) == c.maxLine+1 && c.buf[c.maxLine] != '\r') {
				prefix = bytes.Clone(c.buf[:min(linePrefixLen, len(c.buf))])
				c.buf = c.buf[:0]
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return nil, err
		case prefix != nil:
			return nil, &LineTooLongError{Limit: c.maxLine, Prefix: prefix}
		case err == nil:
			return bytes.TrimSuffix(c.buf, []byte{'\r'}), nil
		case len(c.buf) > 0: // last line without a newline
			return bytes.TrimSuffix(c.buf, []byte{'\r'}), nil
		default:
			return nil, io.EOF
		}
	}
}

// Write writes msg followed by a newline in one call to the underlying
// writer. A message holding a raw newline or CR (pretty-printed JSON from
// another transport) is compacted first: outside strings, JSON whitespace
// carries no meaning, and inside strings both are always escaped. Raw U+0085,
// U+2028 and U+2029, which can only stand inside strings, are written as \u
// escapes. So the peer reads one line whatever it takes for a line break
// (Python's universal newlines and Node's readline end lines at CR too,
// str.splitlines at all three): a message the relay checked as one can never
// reach a server as several, one of them unchecked.
func (c *stdioConn) Write(msg []byte) error { return c.write(msg, false) }

// WriteDeferred is Write, except that the line may wait in the buffer (up to
// maxDeferred bytes) for the next Write or Flush, to share its system call.
func (c *stdioConn) WriteDeferred(msg []byte) error { return c.write(msg, true) }

// maxDeferred bounds what WriteDeferred holds back before writing anyway.
const maxDeferred = 64 << 10

func (c *stdioConn) write(msg []byte, deferred bool) error {
	if bytes.IndexByte(msg, '\n') >= 0 || bytes.IndexByte(msg, '\r') >= 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, msg); err != nil {
			return fmt.Errorf("transport: message spans lines and is not valid JSON: %w", err)
		}
		msg = b.Bytes()
	}
	msg = escapeLineSeparators(msg)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrClosed
	}
	// Lines deferred earlier go first, in the same system call.
	c.wbuf = append(append(c.wbuf, msg...), '\n')
	if deferred && len(c.wbuf) < maxDeferred {
		return nil
	}
	return c.flushLocked()
}

// Flush writes the lines WriteDeferred held back, if any.
func (c *stdioConn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return c.flushLocked()
}

func (c *stdioConn) flushLocked() error {
	if len(c.wbuf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.wbuf)
	c.wbuf = c.wbuf[:0]
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // don't pin a large buffer after a large message
	}
	if err != nil {
		return fmt.Errorf("transport: write: %w", err)
	}
	return nil
}

// Close closes the writer and, when it can be closed, the reader.
func (c *stdioConn) Close() error {
	c.wmu.Lock()
	already := c.closed
	// Lines still deferred are dropped, not written: a write here could
	// block on a peer that stopped reading, and Close must not. Flush first.
	c.wbuf = nil
	c.closed = true
	c.wmu.Unlock()
	if already {
		return nil
	}
	err := c.w.Close()
	if c.rc != nil {
		err = errors.Join(err, c.rc.Close())
	}
	return err
}

// escapeLineSeparators writes U+0085, U+2028 and U+2029 in msg as \u
// escapes; the JSON value is unchanged (outside strings they are not JSON).
func escapeLineSeparators(msg []byte) []byte {
	// U+0085 is C2 85 in UTF-8, U+2028 and U+2029 are E2 80 A8/A9: a
	// message with neither lead byte (any ASCII one) needs no look closer.
	if bytes.IndexByte(msg, 0xC2) < 0 && bytes.IndexByte(msg, 0xE2) < 0 {
		return msg
	}
	if !bytes.Contains(msg, []byte("\u2028")) && !bytes.Contains(msg, []byte("\u2029")) && !bytes.Contains(msg, []byte("\u0085")) {
		return msg
	}
	out := make([]byte, 0, len(msg)+16)
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRune(msg[i:])
		switch r {
		case '\u0085', '\u2028', '\u2029':
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, msg[i:i+size]...)
		}
		i += size
	}
	return out
}

// Buffered reports whether a further message has already been read from the
// underlying reader (so that a Read would not wait for it).
func (c *stdioConn) Buffered() bool { return c.r.Buffered() > 0 }

// MessageReady reports whether a whole non-blank line is already buffered,
// so that the next Read returns it without reading from the underlying
// reader. Call it from the goroutine that reads.
func (c *stdioConn) MessageReady() bool {
	b, _ := c.r.Peek(c.r.Buffered())
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		if len(bytes.TrimSpace(b[:i])) > 0 {
			return true
		}
		b = b[i+1:]
	}
}
