package mcphttp

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The POSTs of a ClientConn to a plain-HTTP upstream (http://, no proxy,
// no Client of the caller's) are sent by a client of this package's own
// rather than by net/http's Transport: the goroutine that writes a message
// writes its request on a kept-alive connection and reads the answer's
// headers itself. The Transport hands every request to a writer goroutine
// and every answer from a reader goroutine, three goroutine switches and
// some thirty allocations per call that this path does without; everything
// else (the GET stream, DELETE, TLS, proxies, and a POST the upstream
// redirects, which net/http's client follows within its origin) stays
// with net/http.
//
// An idle connection is checked before it is used again (a non-blocking
// peek): one the upstream closed meanwhile (Node's servers close idle
// connections after five seconds) is dropped, not written to. A write cut
// short on a connection used before is sent again on a new one (the
// upstream has no whole request); any later failure is the request's, as
// with net/http, which does not resend a POST either.

// Bounds of the connections kept idle.
const (
	fastMaxIdlePerHost   = 256
	fastIdleTimeout      = 90 * time.Second
	fastDialTimeout      = 30 * time.Second
	fastMaxInformational = 8 // 1xx answers skipped before the real one
	// fastMaxHeaderBytes bounds the headers of an answer (net/http's
	// Transport bounds them too): an upstream sending headers without end
	// is cut off, not buffered.
	fastMaxHeaderBytes = 1 << 20
)

// fastConn is one kept-alive connection to an upstream.
type fastConn struct {
	nc     net.Conn
	rc     syscall.RawConn
	peek   peeker       // checks the connection before it is used again
	lr     *limitReader // under br: bounds the bytes an answer's headers take
	br     *bufio.Reader
	addr   string
	idleAt time.Time
	reused bool
}

// fastPool keeps the idle connections, by address, newest last.
type fastPool struct {
	mu   sync.Mutex
	idle map[string][]*fastConn
	// reaper runs while connections are idle (nil when none is): after a
	// burst, nothing may come to close them, and one its upstream closed
	// would hold a descriptor (in CLOSE_WAIT) until the next request.
	reaper *time.Timer
}

// fastReapEvery is how often the reaper looks at idle connections.
const fastReapEvery = 10 * time.Second

var fastConns = &fastPool{idle: map[string][]*fastConn{}}

// get returns an idle connection to addr that is still open, nil when
// there is none.
func (p *fastPool) get(addr string) *fastConn {
	for {
		p.mu.Lock()
		list := p.idle[addr]
		n := len(list)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		fc := list[n-1]
		list[n-1] = nil
		p.idle[addr] = list[:n-1]
		p.mu.Unlock()
		if time.Since(fc.idleAt) < fastIdleTimeout && fc.peek.alive(fc.rc) {
			fc.reused = true
			return fc
		}
		fc.nc.Close()
	}
}

// put keeps fc for the next request, closing the connections idle too long.
func (p *fastPool) put(fc *fastConn) {
	fc.idleAt = time.Now()
	p.mu.Lock()
	list := p.idle[fc.addr]
	stale := 0
	for stale < len(list) && fc.idleAt.Sub(list[stale].idleAt) >= fastIdleTimeout {
		stale++
	}
	old := slices.Clone(list[:stale])
	clear(list[:stale]) // the array keeps no closed connection alive
	list = list[stale:]
	keep := len(list) < fastMaxIdlePerHost
	if keep {
		list = append(list, fc)
	}
	p.idle[fc.addr] = list
	if keep && p.reaper == nil {
		p.reaper = time.AfterFunc(fastReapEvery, p.reap)
	}
	p.mu.Unlock()
	for _, o := range old {
		o.nc.Close()
	}
	if !keep {
		fc.nc.Close()
	}
}

// reap closes the idle connections that have been idle too long or that
// their upstream closed, and runs again while any connection is left idle.
func (p *fastPool) reap() {
	now := time.Now()
	var drop []*fastConn
	p.mu.Lock()
	for addr, list := range p.idle {
		kept := list[:0]
		for _, fc := range list {
			// An idle connection is the pool's alone (get takes it out
			// under mu before it looks at it), so it can be peeked here.
			if now.Sub(fc.idleAt) >= fastIdleTimeout || !fc.peek.alive(fc.rc) {
				drop = append(drop, fc)
			} else {
				kept = append(kept, fc)
			}
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(p.idle, addr)
		} else {
			p.idle[addr] = kept
		}
	}
	if len(p.idle) > 0 {
		p.reaper.Reset(fastReapEvery)
	} else {
		p.reaper = nil
	}
	p.mu.Unlock()
	for _, fc := range drop {
		fc.nc.Close()
	}
}

// idleCount is the number of idle connections held (for tests).
func (p *fastPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, list := range p.idle {
		n += len(list)
	}
	return n
}

// dialFast opens a new connection to addr.
func dialFast(ctx context.Context, addr string) (*fastConn, error) {
	d := net.Dialer{Timeout: fastDialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, errors.New("mcphttp: not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, err
	}
	lr := &limitReader{r: nc, left: -1}
	return &fastConn{nc: nc, rc: rc, lr: lr, br: bufio.NewReaderSize(lr, 4<<10), addr: addr}, nil
}

var errHeadersTooLong = fmt.Errorf("mcphttp: an upstream answer's headers exceed %d bytes", fastMaxHeaderBytes)

// limitReader reads r, at most left bytes while left >= 0.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left == 0 {
		return 0, errHeadersTooLong
	}
	if l.left > 0 && int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	if l.left > 0 {
		l.left -= int64(n)
	}
	return n, err
}

// fastAddr is the address a fast request to req's URL dials.
func fastAddr(req *http.Request) string {
	if req.URL.Port() != "" {
		return req.URL.Host
	}
	return net.JoinHostPort(req.URL.Hostname(), "80")
}

// errInvalidHeader refuses a request net/http would refuse too.
var errInvalidHeader = errors.New("mcphttp: invalid header in an upstream request")

// appendRequest renders req, whose body is body, as an HTTP/1.1 request,
// as net/http's Request.Write would: a header net/http would refuse to
// send (a name that is no token, a value with a line break or another
// control character) is refused, and the URL's user information is sent
// as Basic authorization unless the header has an Authorization of its own,
// as net/http's Client sends it.
func appendRequest(dst []byte, req *http.Request, body []byte) ([]byte, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return nil, errInvalidHeader
	}
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.URL.RequestURI()...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	ua := false
	for k, vs := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue // net/http does not send these from the header either
		case "User-Agent":
			ua = true
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, errInvalidHeader
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, errInvalidHeader
			}
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	if !ua {
		dst = append(dst, "User-Agent: Go-http-client/1.1\r\n"...)
	}
	if u := req.URL.User; u != nil && len(req.Header["Authorization"]) == 0 {
		// The URL's user information, as net/http's Client sends it.
		pw, _ := u.Password()
		dst = append(dst, "Authorization: Basic "...)
		dst = base64.StdEncoding.AppendEncode(dst, []byte(u.Username()+":"+pw))
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...), nil
}

// aLongTimeAgo is a deadline that has passed: it unblocks a read or write.
var aLongTimeAgo = time.Unix(1, 0)

// fastDo sends req, whose body is body, on a kept-alive connection and
// returns its answer once its headers are read. Closing the answer's body
// keeps the connection for another request when the body was read to its
// end, else closes it. req's context being done cuts the exchange short.
func fastDo(req *http.Request, body []byte) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	buf, err := appendRequest(make([]byte, 0, 512+len(body)), req, body)
	if err != nil {
		return nil, err
	}
	addr := fastAddr(req)
	for attempt := 0; ; attempt++ {
		fc := fastConns.get(addr)
		if fc == nil {
			if fc, err = dialFast(ctx, addr); err != nil {
				return nil, err
			}
		}
		stop := context.AfterFunc(ctx, func() { fc.nc.SetDeadline(aLongTimeAgo) })
		if _, err := fc.nc.Write(buf); err != nil {
			stop()
			fc.nc.Close()
			if fc.reused && attempt == 0 && ctx.Err() == nil {
				continue // a write cut short: the upstream has no whole request
			}
			return nil, err
		}
		fc.lr.left = fastMaxHeaderBytes - int64(fc.br.Buffered())
		resp, err := readFastResponse(fc.br)
		fc.lr.left = -1 // the body is bounded by its reader (MaxMessage)
		if err != nil {
			stop()
			fc.nc.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		left := resp.ContentLength // -1 when unknown
		if req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
			left = 0
		}
		resp.Body = &fastBody{fc: fc, body: resp.Body, stop: stop, left: left, mayKeep: !resp.Close}
		resp.Request = req
		return resp, nil
	}
}

// readFastResponse reads an answer's headers, past any 1xx.
func readFastResponse(br *bufio.Reader) (*http.Response, error) {
	for range fastMaxInformational {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return nil, err
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, errors.New("mcphttp: the upstream switched protocols")
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			continue
		}
		return resp, nil
	}
	return nil, fmt.Errorf("mcphttp: more than %d informational answers", fastMaxInformational)
}

// fastBody is an answer's body on a fastConn; Close keeps the connection
// when the body was read to its end and nothing more is buffered.
type fastBody struct {
	fc      *fastConn
	body    io.ReadCloser
	stop    func() bool
	left    int64 // bytes still due, when the length is known; else -1
	eof     bool
	mayKeep bool // the upstream did not ask to close the connection
	closed  bool
}

func (b *fastBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errors.New("mcphttp: read on a closed body")
	}
	if b.eof || b.left == 0 {
		b.eof = true
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
	}
	if errors.Is(err, io.EOF) {
		b.eof = true
		err = io.EOF
	}
	return n, err
}

// Close never reads on: an answer left unread closes its connection (the
// body the standard reader gives would drain it, however long it lasts).
func (b *fastBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	keep := b.mayKeep && (b.eof || b.left == 0) && b.fc.br.Buffered() == 0
	if !b.stop() { // the context was done: the connection's deadline has passed
		keep = false
	}
	if keep {
		fastConns.put(b.fc)
	} else {
		b.fc.nc.Close()
	}
	return nil
}
