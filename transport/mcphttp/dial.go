package mcphttp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/internal/workpool"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// DialOptions configures Dial and DialSSE. The zero value works.
type DialOptions struct {
	// Client makes the requests; nil uses a client without an overall
	// timeout (streams last), whose connections time out on dialling and
	// TLS handshakes, and whose POSTs to a plain-HTTP upstream that no
	// proxy stands in front of are written and read by the goroutine that
	// sends them, on connections kept alive by this package (fastclient.go).
	Client *http.Client
	// Header is sent on every request: the upstream's own credentials, if it
	// wants any. The proxy's client's headers (its Authorization above all)
	// are never sent: nothing here comes from an inbound request.
	Header http.Header
	// MaxMessage caps one message, and one JSON response body, from the
	// upstream (DefaultMaxBody when zero).
	MaxMessage int64
	// ConnectTimeout bounds how long DialSSE waits for the endpoint event
	// (15 seconds when zero).
	ConnectTimeout time.Duration
	// Log receives stream reconnections and dropped messages; nil discards.
	Log *slog.Logger
}

// ErrSessionExpired is returned by Write once the upstream answered 404 to
// the upstream session: the connection is closed, and the relay above ends
// the client's session too, so that its client initialises a new one.
var ErrSessionExpired = errors.New("mcphttp: the upstream ended the MCP session")

// ClientConn is an MCP connection to an HTTP upstream, as a transport.Conn:
// Write sends one message (POST), Read returns what the upstream sends on
// the answers to those POSTs and on its GET stream, which is opened once the
// session is initialised and reopened when it drops, so that unsolicited
// notifications (list_changed, resource updates) arrive. Each ClientConn is
// its own upstream session.
type ClientConn struct {
	url     string
	legacy  bool
	opt     DialOptions
	client  *http.Client
	fast    bool // POSTs go through fastDo (see fastclient.go)
	ctx     context.Context
	cancel  context.CancelFunc
	in      chan []byte
	workers *workpool.Pool // spawn's
	once    sync.Once
	wg      sync.WaitGroup

	mu        sync.Mutex // guards the fields below
	sessionID string
	version   string
	// the two above as header values, made once (see valJSON)
	sessionHdr, versionHdr []string
	initKey                string
	listening              bool
	endpoint               string // legacy: where to POST

	// 2026-07-28: each request is its own POST, and closing its answer's
	// stream is its cancellation.
	cancels  map[string]context.CancelFunc // request key → ends its POST
	dropped  map[string]bool               // keys of requests cancelled so: no answer is made up for them
	lists    map[string]bool               // keys of tools/list requests awaiting answers
	bindings map[string][]binding          // tool → the arguments its Mcp-Param-* headers mirror
}

var _ transport.Conn = (*ClientConn)(nil)

var (
	clientOnce sync.Once
	client     *http.Client
)

// sharedClient is the client of every ClientConn without one of its own:
// one pool of connections for all sessions.
func sharedClient() *http.Client {
	clientOnce.Do(func() { client = defaultClient() })
	return client
}

func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 0 // a JSON answer comes when the call is done
	// Every session POSTs to the same upstream: keep a connection per call
	// in flight, or each call past the second opens (and leaves in
	// TIME_WAIT) a connection of its own.
	t.MaxIdleConns, t.MaxIdleConnsPerHost = 1024, 256
	return &http.Client{Transport: t, CheckRedirect: sameOrigin}
}

// sameOrigin is the default client's redirect policy: a redirect within
// the upstream's origin (Starlette's /mcp → /mcp/), or from http to https
// on the same host name, is followed, up to ten; one elsewhere is not, its 3xx being the answer (an error): the
// upstream's credentials (DialOptions.Header; net/http keeps any but
// Authorization and Cookie across hosts) and session id go to no host the
// operator did not name, and serve fetches nothing for the upstream from
// where it stands.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("mcphttp: stopped after 10 redirects")
	}
	first := via[0].URL
	same := req.URL.Scheme == first.Scheme && req.URL.Host == first.Host
	// An http:// upstream moving itself to https on the same name is
	// followed too: the same host, reached more safely.
	upgrade := first.Scheme == "http" && req.URL.Scheme == "https" && strings.EqualFold(req.URL.Hostname(), first.Hostname())
	if !same && !upgrade {
		return http.ErrUseLastResponse
	}
	return nil
}

// Dial returns a connection to the streamable HTTP endpoint rawURL. Nothing
// is sent until the first Write (the client's initialize).
func Dial(ctx context.Context, rawURL string, opt DialOptions) (*ClientConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mcphttp: upstream URL %q is not an http(s) URL", rawURL)
	}
	c := &ClientConn{url: u.String(), opt: opt, client: opt.Client, in: make(chan []byte, 64),
		cancels: map[string]context.CancelFunc{}, dropped: map[string]bool{}, lists: map[string]bool{}, bindings: map[string][]binding{}}
	if c.client == nil {
		c.client = sharedClient()
		// A proxy from the environment, like TLS, is net/http's to speak.
		proxy, err := http.ProxyFromEnvironment(&http.Request{URL: u})
		c.fast = fastSupported && u.Scheme == "http" && proxy == nil && err == nil
	}
	c.ctx, c.cancel = context.WithCancel(ctx)
	c.workers = workpool.New(workerIdle, c.ctx.Done(), &c.wg)
	return c, nil
}

// DialSSE connects to the legacy HTTP+SSE endpoint rawURL: it opens the
// stream and waits, up to ConnectTimeout, for the endpoint event naming
// where to POST. The connection lasts until Close, ctx being done, or the
// stream's end.
func DialSSE(ctx context.Context, rawURL string, opt DialOptions) (*ClientConn, error) {
	c, err := Dial(ctx, rawURL, opt)
	if err != nil {
		return nil, err
	}
	c.legacy = true
	timer := time.AfterFunc(or(opt.ConnectTimeout, 15*time.Second), c.cancel)
	defer timer.Stop()
	req, err := c.request(http.MethodGet, c.url, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("mcphttp: upstream SSE stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !isEventStream(resp) {
		resp.Body.Close()
		c.Close()
		return nil, fmt.Errorf("mcphttp: upstream SSE stream: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	er := newEventScanner(resp.Body, c.max())
	for {
		ev, err := er.next()
		if err != nil {
			resp.Body.Close()
			c.Close()
			return nil, fmt.Errorf("mcphttp: upstream SSE stream ended before its endpoint event: %w", err)
		}
		if ev.name != "endpoint" {
			continue
		}
		ep, err := url.Parse(c.url)
		if err == nil {
			ep, err = ep.Parse(strings.TrimSpace(string(ev.data)))
		}
		if err != nil || ep.Host != req.URL.Host || ep.Scheme != req.URL.Scheme {
			resp.Body.Close()
			c.Close()
			return nil, fmt.Errorf("mcphttp: upstream SSE endpoint %q is not on the upstream's origin", ev.data)
		}
		if !timer.Stop() {
			resp.Body.Close()
			c.Close()
			return nil, errors.New("mcphttp: upstream SSE endpoint event came too late")
		}
		c.endpoint = ep.String()
		break
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer resp.Body.Close()
		c.pump(er, nil)
		c.Close() // the legacy session is its stream
	}()
	return c, nil
}

func (c *ClientConn) max() int64 { return or(c.opt.MaxMessage, DefaultMaxBody) }

func (c *ClientConn) logger() *slog.Logger {
	if c.opt.Log != nil {
		return c.opt.Log
	}
	return slog.New(slog.DiscardHandler)
}

// SessionID returns the upstream's session id, "" before it gave one.
func (c *ClientConn) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// Read returns the next message from the upstream; io.EOF once closed.
func (c *ClientConn) Read() ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.ctx.Done():
		select { // what arrived before the close is still read
		case m := <-c.in:
			return m, nil
		default:
		}
		return nil, io.EOF
	}
}

func (c *ClientConn) request(method, u string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, u, r)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.opt.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if body != nil {
		req.Header["Content-Type"] = valJSON
	}
	if !c.legacy {
		c.mu.Lock()
		if c.sessionID != "" {
			req.Header[HeaderSessionID] = c.sessionHdr
		}
		if c.version != "" {
			req.Header[HeaderProtocolVersion] = c.versionHdr
		}
		c.mu.Unlock()
	}
	return req, nil
}

// Write sends one message. It returns once the upstream has accepted it (its
// answer's headers arrived), so messages reach the upstream in order; the
// answer itself is read in the background.
func (c *ClientConn) Write(msg []byte) error {
	if c.ctx.Err() != nil {
		return transport.ErrClosed
	}
	msgs, _, err := parseBody(msg)
	if err != nil {
		return fmt.Errorf("mcphttp: not a message: %w", err)
	}
	target := c.url
	if c.legacy {
		target = c.endpoint
	}
	var stateless string // the request's 2026-07-28 version, if it has one
	if !c.legacy && len(msgs) == 1 {
		if c.cancelStateless(&msgs[0]) {
			return nil // its stream is closed: that is the cancel
		}
		if raw := metaValue(&msgs[0], MetaProtocolVersion); len(raw) > 0 {
			stateless, _ = jsonString(raw)
		}
	}
	req, err := c.request(http.MethodPost, target, msg)
	if err != nil {
		return err
	}
	req.Header["Accept"] = valAcceptBoth
	var done func() // ends a 2026-07-28 request's bookkeeping
	if m := &msgs[0]; stateless != "" && m.isRequest() {
		req.Header.Set(HeaderProtocolVersion, stateless)
		req.Header.Set(HeaderMethod, m.method)
		if key, ok := namedBy[m.method]; ok {
			if v, ok := m.param(key); ok {
				req.Header.Set(HeaderName, v)
			}
		}
		ctx, cancel := context.WithCancel(c.ctx)
		req = req.WithContext(ctx)
		c.mu.Lock()
		c.cancels[m.key] = cancel
		if m.method == "tools/list" {
			c.lists[m.key] = true
		}
		if name, ok := m.param("name"); ok && m.method == "tools/call" {
			paramHeaders(m.params, c.bindings[name], req.Header)
		}
		c.mu.Unlock()
		key := m.key
		done = func() {
			c.mu.Lock()
			delete(c.cancels, key)
			delete(c.lists, key)
			c.mu.Unlock()
			cancel()
		}
	}
	finish := func() {
		if done != nil {
			done()
		}
	}
	pending := map[string][]byte{} // key → raw id of the requests answered here
	for _, m := range msgs {
		if m.isRequest() {
			pending[m.key] = m.id
			if m.method == "initialize" {
				c.mu.Lock()
				c.initKey = m.key
				c.mu.Unlock()
			}
		}
	}
	if done != nil {
		// A 2026-07-28 request is its own POST, in no order with the others:
		// it is sent in the background, and a failure is its answer.
		c.spawn(func() {
			if err := c.exchange(req, msg, msgs, pending, finish); err != nil && c.ctx.Err() == nil {
				c.logger().Warn("upstream request failed", "err", err)
				c.unanswered(pending)
			}
		})
		return nil
	}
	return c.exchange(req, msg, msgs, pending, finish)
}

// workerIdle is how long a ClientConn's worker waits for more work.
const workerIdle = 5 * time.Second

// spawn runs f on an idle worker of c, or a new one: the POSTs of
// 2026-07-28 requests and the answers read as event streams each run on
// their own goroutine, and one whose stack has grown for net/http's
// client is worth keeping a while (workpool).
func (c *ClientConn) spawn(f func()) { c.workers.Go(f) }

// exchange sends req, the POST of body (msgs), and reads or starts reading
// its answer; finish is called once the answer is read.
func (c *ClientConn) exchange(req *http.Request, body []byte, msgs []msgInfo, pending map[string][]byte, finish func()) error {
	var resp *http.Response
	var err error
	if c.fast {
		resp, err = fastDo(req, body)
		if err == nil && isRedirect(resp) {
			// net/http's client follows a redirect (sameOrigin): let it
			// do this one, so that the answer is the one it would read.
			// A redirect is no answer, so nothing was done upstream.
			resp.Body.Close()
			resp, err = c.client.Do(req)
		}
	} else {
		resp, err = c.client.Do(req)
	}
	if err != nil {
		finish()
		return fmt.Errorf("mcphttp: upstream: %w", err)
	}
	if c.legacy {
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("mcphttp: upstream answered HTTP %d", resp.StatusCode)
		}
		return nil
	}
	if sid := resp.Header.Get(HeaderSessionID); sid != "" {
		c.mu.Lock()
		if c.sessionID == "" {
			c.sessionID, c.sessionHdr = sid, []string{sid}
		}
		c.mu.Unlock()
	}
	if !isEventStream(resp) || resp.StatusCode/100 != 2 {
		defer finish()
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && c.SessionID() != "":
		resp.Body.Close()
		c.Close()
		return ErrSessionExpired
	case resp.StatusCode == http.StatusAccepted || (resp.StatusCode/100 == 2 && len(pending) == 0):
		resp.Body.Close()
		if len(msgs) == 1 && msgs[0].method == "notifications/initialized" {
			c.startListening()
		}
		return nil
	case resp.StatusCode/100 != 2:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		// The upstream's own JSON-RPC error, when it sent one, is its answer.
		if m, _, err := parseBody(b); err == nil && len(m) == 1 && m[0].key != "" && pending[m[0].key] != nil {
			c.deliverParsed(b, m)
			return nil
		}
		return fmt.Errorf("mcphttp: upstream answered HTTP %d", resp.StatusCode)
	case isEventStream(resp):
		c.spawn(func() {
			defer finish()
			defer resp.Body.Close()
			c.pump(newEventScanner(resp.Body, c.max()), pending)
		})
		return nil
	default:
		b, err := readCapped(resp.Body, resp.ContentLength, c.max())
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("mcphttp: upstream answer unreadable or over %d bytes", c.max())
		}
		c.deliverAnswer(b, pending)
		c.unanswered(pending)
		return nil
	}
}

// readCapped reads a body of at most max bytes, whose length is n when
// known (n >= 0): into a buffer of that size at once, else as it comes.
func readCapped(r io.Reader, n, max int64) ([]byte, error) {
	if n > max {
		return nil, errTooBig
	}
	if n >= 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err == nil && int64(len(b)) > max {
		err = errTooBig
	}
	return b, err
}

var errTooBig = errors.New("mcphttp: body over its cap")

// isRedirect tells whether net/http's client would follow resp.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

func isEventStream(resp *http.Response) bool {
	switch ct := resp.Header.Get("Content-Type"); ct {
	case "text/event-stream":
		return true
	case "application/json":
		return false
	default:
		mt, _, _ := mime.ParseMediaType(ct)
		return mt == "text/event-stream"
	}
}

// deliverAnswer hands msg to Read, striking from pending (when not nil)
// the requests it answers; it is read once for both.
func (c *ClientConn) deliverAnswer(msg []byte, pending map[string][]byte) {
	msgs, batch, err := parseBody(msg)
	if err != nil {
		msgs = nil // the relay above refuses it
	}
	if pending != nil {
		for _, m := range msgs {
			if m.isResponse() {
				delete(pending, m.key)
			}
		}
	}
	if batch {
		msgs = nil // as before: a batch's answers teach nothing
	}
	c.deliverParsed(msg, msgs)
}

// unanswered answers, with an error, each request of pending that a
// response ended without answering: every request gets one answer.
func (c *ClientConn) unanswered(pending map[string][]byte) {
	for key, id := range pending {
		delete(pending, key)
		c.mu.Lock()
		dropped := c.dropped[key]
		delete(c.dropped, key)
		c.mu.Unlock()
		if dropped {
			continue // cancelled: the client wants no answer
		}
		c.deliver(errorMessage(id, codeInternalError, "the upstream MCP server ended its answer without answering"))
	}
}

// pump delivers the messages of an event stream; pending, when not nil, are
// the requests the stream answers.
func (c *ClientConn) pump(er *eventScanner, pending map[string][]byte) {
	for len(pending) > 0 || pending == nil {
		ev, err := er.next()
		if err != nil {
			if c.ctx.Err() == nil && !errors.Is(err, io.EOF) {
				c.logger().Warn("upstream event stream broke", "err", err)
			}
			break
		}
		if ev.name != "" && ev.name != "message" || len(bytes.TrimSpace(ev.data)) == 0 {
			continue
		}
		c.deliverAnswer(ev.data, pending)
	}
	if c.ctx.Err() == nil {
		c.unanswered(pending)
	}
}

// cancelStateless closes the POST of the 2026-07-28 request a
// notifications/cancelled names (the way that version cancels on HTTP),
// and reports whether it did: the notification itself is not sent.
func (c *ClientConn) cancelStateless(m *msgInfo) bool {
	if m.method != "notifications/cancelled" || m.id != nil {
		return false
	}
	ms, err := members(m.params)
	if err != nil {
		return false
	}
	key, ok := idKey(ms["requestId"])
	if !ok {
		return false
	}
	c.mu.Lock()
	cancel := c.cancels[key]
	delete(c.cancels, key)
	if cancel != nil {
		c.dropped[key] = true
	}
	c.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	return true
}

// deliver hands one message to Read.
func (c *ClientConn) deliver(msg []byte) { c.deliverAnswer(msg, nil) }

// deliverParsed hands msg, one message read as msgs (nil for a batch or
// what could not be read), to Read; the answers to a tools/list and to
// initialize are read on the way (Mcp-Param-* bindings, the negotiated
// version).
func (c *ClientConn) deliverParsed(msg []byte, msgs []msgInfo) {
	if len(msgs) == 1 && msgs[0].isResponse() {
		info := &msgs[0]
		c.mu.Lock()
		if c.lists[info.key] {
			delete(c.lists, info.key)
			addBindings(c.bindings, msg)
		}
		if info.key == c.initKey {
			c.initKey = ""
			if res, ok := member(msg, "result"); ok {
				if v, ok := stringMember(res, "protocolVersion"); ok {
					c.version, c.versionHdr = v, []string{v}
				}
			}
		}
		c.mu.Unlock()
	}
	select {
	case c.in <- msg: // the common case: no wait, no select
		return
	default:
	}
	select {
	case c.in <- msg:
	case <-c.ctx.Done():
	}
}

// startListening opens the GET stream once, and keeps it open.
func (c *ClientConn) startListening() {
	c.mu.Lock()
	if c.listening {
		c.mu.Unlock()
		return
	}
	c.listening = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		backoff := 100 * time.Millisecond
		for c.ctx.Err() == nil {
			req, err := c.request(http.MethodGet, c.url, nil)
			if err != nil {
				return
			}
			req.Header.Set("Accept", "text/event-stream")
			resp, err := c.client.Do(req)
			switch {
			case err != nil:
			case resp.StatusCode == http.StatusMethodNotAllowed:
				resp.Body.Close()
				return // the upstream has no GET stream
			case resp.StatusCode == http.StatusNotFound:
				resp.Body.Close()
				return // the session is gone; the next POST says so
			case resp.StatusCode == http.StatusOK && isEventStream(resp):
				backoff = 100 * time.Millisecond
				c.pump(newEventScanner(resp.Body, c.max()), nil)
				resp.Body.Close()
			default:
				resp.Body.Close()
			}
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
		}
	}()
}

// Close ends the upstream session (DELETE, best effort, for up to two
// seconds) and stops its streams.
func (c *ClientConn) Close() error {
	c.once.Do(func() {
		if sid := c.SessionID(); sid != "" && !c.legacy {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 2*time.Second)
			if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.url, nil); err == nil {
				for k, vs := range c.opt.Header {
					req.Header[k] = append([]string(nil), vs...)
				}
				req.Header.Set(HeaderSessionID, sid)
				if resp, err := c.client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			cancel()
		}
		c.cancel()
	})
	return nil
}

// Wait waits for the connection's readers to stop after Close.
func (c *ClientConn) Wait() { c.wg.Wait() }

// sseEvent is one event of a stream: its name and data.
type sseEvent struct {
	name string
	id   string
	data []byte
}

// eventScanner reads an SSE stream, each event's data capped.
type eventScanner struct {
	br  *bufio.Reader
	max int64
}

func newEventScanner(r io.Reader, max int64) *eventScanner {
	return &eventScanner{br: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next event that has data or a name.
func (s *eventScanner) next() (sseEvent, error) {
	var ev sseEvent
	var data []byte
	have, lines := false, 0
	for {
		line, err := s.readLine()
		if err != nil {
			return ev, err
		}
		if len(line) == 0 {
			if have {
				ev.data = data
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // a comment (keepalive)
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name, have = string(value), true
		case "id":
			ev.id = string(value)
		case "data":
			if lines++; lines > 1 {
				data = append(data, '\n')
			}
			if int64(len(data)+len(value)) > s.max {
				return ev, fmt.Errorf("mcphttp: event over %d bytes", s.max)
			}
			data, have = append(data, value...), true
		}
	}
}

// readLine reads one line (LF, CRLF or CR ended) of at most max bytes.
func (s *eventScanner) readLine() ([]byte, error) {
	var line []byte
	for {
		b, err := s.br.ReadByte()
		if err != nil {
			if len(line) > 0 && errors.Is(err, io.EOF) {
				return line, nil
			}
			return nil, err
		}
		switch b {
		case '\n':
			return line, nil
		case '\r':
			if nb, err := s.br.Peek(1); err == nil && nb[0] == '\n' {
				s.br.ReadByte()
			}
			return line, nil
		}
		if int64(len(line)) >= s.max {
			return nil, fmt.Errorf("mcphttp: event line over %d bytes", s.max)
		}
		line = append(line, b)
	}
}
