package mcptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
	"github.com/tenuo-mcp/tenuo-mcp/transport/mcphttp"
)

// ProtocolVersion is the MCP version the client asks for.
const ProtocolVersion = "2025-06-18"

// Config describes one proxied server.
type Config struct {
	// Command is the stdio MCP server's command line. Exactly one of Command
	// and URL is required.
	Command []string
	// URL is an MCP server's HTTP endpoint (streamable HTTP, or legacy SSE
	// with SSE), reached as `tenuo-mcp serve --upstream-url` reaches it.
	URL string
	// SSE says URL is a legacy SSE endpoint.
	SSE bool
	// Header is sent on every request to URL.
	Header http.Header
	// Env is the server's whole environment; nil gives it the proxy's
	// minimal one (PATH, HOME, LANG, TMPDIR and the like).
	Env []string
	// Dir is the server's working directory; empty means the current one.
	Dir string
	// Stderr receives the server's stderr; nil discards it.
	Stderr io.Writer
	// Point decides every call and listing, as the proxy's does. Required.
	Point *enforce.Point
	// Proxy, when set, is the relay to use (its hooks are replaced by
	// Point's); nil uses a zero Proxy. Set DenyAsResult or Pin on it.
	Proxy *mcpproxy.Proxy
	// Pin, when set, pins the server's tool definitions (mcpproxy.PinTools)
	// as `tenuo-mcp proxy --pin` does; its refusals are audited by Point
	// unless it has an OnRefused of its own.
	Pin *mcpproxy.PinConfig
	// Log receives the relay's log; nil discards it.
	Log *slog.Logger
	// StartTimeout bounds the server's start and the initialize exchange
	// (30s when zero: npx may fetch a package).
	StartTimeout time.Duration
}

// Session is a client connected through the real relay and enforcement
// point to a real server process. Its methods are safe for concurrent use.
type Session struct {
	// Initialize is the server's initialize result.
	Initialize json.RawMessage

	point  *enforce.Point
	conn   transport.Conn // the client's end
	relay  chan error     // Relay's return, once
	cancel context.CancelFunc

	mu      sync.Mutex // guards next, waiting, notes, noteCh, readErr
	next    int
	waiting map[string]chan *Response
	notes   []Notification
	noteCh  chan struct{} // closed and replaced when a notification arrives
	readErr error

	closeOnce sync.Once
	closeErr  error
}

// Notification is a message the server sent without an id.
type Notification struct {
	Method string
	Params json.RawMessage
}

// Response is the answer to one request: Result or Error.
type Response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *RPCError       `json:"error,omitempty"`
}

// RPCError is a JSON-RPC error.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Start spawns the server, relays it through a Proxy enforcing cfg.Point,
// and completes the MCP initialize handshake. Close stops everything.
func Start(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Point == nil {
		return nil, errors.New("mcptest: Config.Point is required")
	}
	if (len(cfg.Command) > 0) == (cfg.URL != "") {
		return nil, errors.New("mcptest: give Config.Command or Config.URL, exactly one")
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	up, err := dialUpstream(rctx, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	p := &mcpproxy.Proxy{}
	if cfg.Proxy != nil {
		p = cfg.Proxy
	}
	if p.Log == nil {
		p.Log = cfg.Log
	}
	hooks := &mcpproxy.Hooks{Point: cfg.Point, Front: enforce.FrontStdio}
	hooks.Install(p)
	var upstream transport.Conn = up
	if cfg.Pin != nil {
		pc := *cfg.Pin
		if pc.OnRefused == nil {
			pc.OnRefused = hooks.Refused
		}
		if pc.Log == nil {
			pc.Log = p.Log
		}
		pc.DenyAsResult = pc.DenyAsResult || p.DenyAsResult
		upstream = mcpproxy.PinTools(up, pc)
	}

	// Two pipes make the client's connection: what the test writes the relay
	// reads, and the other way round.
	c2pR, c2pW := io.Pipe()
	p2cR, p2cW := io.Pipe()
	s := &Session{point: cfg.Point, conn: transport.NewStdioConn(p2cR, c2pW, 0), relay: make(chan error, 1),
		cancel: cancel, waiting: map[string]chan *Response{}, noteCh: make(chan struct{})}
	proxySide := transport.NewStdioConn(c2pR, p2cW, 0)
	go func() {
		err := p.Relay(rctx, proxySide, upstream)
		proxySide.Close()
		s.relay <- err
	}()
	go s.readLoop()

	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ictx, icancel := context.WithTimeout(ctx, timeout)
	defer icancel()
	r, err := s.Request(ictx, "initialize", map[string]any{"protocolVersion": ProtocolVersion, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "tenuo-mcp-test", "version": "1"}})
	if err == nil && r.Error != nil {
		err = fmt.Errorf("initialize: %d %s", r.Error.Code, r.Error.Message)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("mcptest: starting %v: %w", cfg.Command, err)
	}
	s.Initialize = r.Result
	if err := s.Notify("notifications/initialized", nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dialUpstream starts the stdio server, or connects to the HTTP one; rctx
// bounds the connection's life.
func dialUpstream(rctx context.Context, cfg Config) (transport.Conn, error) {
	if cfg.URL != "" {
		dial := mcphttp.Dial
		if cfg.SSE {
			dial = mcphttp.DialSSE
		}
		// The connection lasts as long as rctx (DialSSE bounds its own wait
		// for the endpoint event).
		c, err := dial(rctx, cfg.URL, mcphttp.DialOptions{Header: cfg.Header})
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	env := cfg.Env
	if env == nil {
		var err error
		if env, err = transport.MinimalEnv(nil, nil); err != nil {
			return nil, err
		}
	}
	return transport.SpawnStdio(rctx, cfg.Command, transport.SpawnOptions{Env: env, Dir: cfg.Dir, Stderr: cfg.Stderr})
}

// Point returns the session's enforcement point.
func (s *Session) Point() *enforce.Point { return s.point }

func (s *Session) readLoop() {
	for {
		raw, err := s.conn.Read()
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			for k, ch := range s.waiting {
				close(ch)
				delete(s.waiting, k)
			}
			close(s.noteCh)
			s.noteCh = nil
			s.mu.Unlock()
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
			Error  *RPCError       `json:"error"`
		}
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		switch {
		case m.Method != "" && len(m.ID) > 0:
			// A server request (sampling, roots): this client offers none.
			b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": m.ID,
				"error": map[string]any{"code": -32601, "message": "mcptest client: method not supported"}})
			s.conn.Write(b)
		case m.Method != "":
			s.mu.Lock()
			s.notes = append(s.notes, Notification{Method: m.Method, Params: m.Params})
			if s.noteCh != nil {
				close(s.noteCh)
				s.noteCh = make(chan struct{})
			}
			s.mu.Unlock()
		default:
			s.mu.Lock()
			ch := s.waiting[string(m.ID)]
			delete(s.waiting, string(m.ID))
			s.mu.Unlock()
			if ch != nil {
				ch <- &Response{ID: m.ID, Result: m.Result, Error: m.Error}
			}
		}
	}
}

// ErrClosed is returned for requests on a session whose connection ended.
var ErrClosed = errors.New("mcptest: session closed")

// Request sends one request and waits for its answer or ctx.
func (s *Session) Request(ctx context.Context, method string, params any) (*Response, error) {
	s.mu.Lock()
	if s.readErr != nil {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.next++
	id := strconv.Itoa(s.next)
	ch := make(chan *Response, 1)
	s.waiting[id] = ch
	s.mu.Unlock()
	msg := map[string]any{"jsonrpc": "2.0", "id": s.next, "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err == nil {
		err = s.conn.Write(b)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		return r, nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

// Notify sends a notification.
func (s *Session) Notify(method string, params any) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	return s.conn.Write(b)
}

// WaitNotification waits until the server has sent a notification with the
// given method (counting those already received) and returns it.
func (s *Session) WaitNotification(ctx context.Context, method string) (Notification, error) {
	for {
		s.mu.Lock()
		for _, n := range s.notes {
			if n.Method == method {
				s.mu.Unlock()
				return n, nil
			}
		}
		ch := s.noteCh
		s.mu.Unlock()
		if ch == nil {
			return Notification{}, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Notification{}, ctx.Err()
		}
	}
}

// Tool is one entry of a tools/list result.
type Tool struct {
	Name string
	Raw  json.RawMessage
}

// ListTools lists the tools the session may see (env, when not nil, is the
// _meta.tenuo envelope to present); it follows nextCursor.
func (s *Session) ListTools(ctx context.Context, env map[string]any) ([]Tool, error) {
	var out []Tool
	cursor := ""
	for range 1000 {
		params := map[string]any{}
		if env != nil {
			params["_meta"] = map[string]any{"tenuo": env}
		}
		if cursor != "" {
			params["cursor"] = cursor
		}
		r, err := s.Request(ctx, "tools/list", params)
		if err != nil {
			return nil, err
		}
		if r.Error != nil {
			return nil, fmt.Errorf("tools/list: %d %s", r.Error.Code, r.Error.Message)
		}
		var res struct {
			Tools      []json.RawMessage `json:"tools"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := json.Unmarshal(r.Result, &res); err != nil {
			return nil, fmt.Errorf("tools/list result: %v", err)
		}
		for _, t := range res.Tools {
			var n struct {
				Name string `json:"name"`
			}
			json.Unmarshal(t, &n)
			out = append(out, Tool{Name: n.Name, Raw: t})
		}
		if res.NextCursor == "" {
			return out, nil
		}
		cursor = res.NextCursor
	}
	return nil, errors.New("tools/list: more than 1000 pages")
}

// CallTool calls a tool. args is the JSON arguments object (nil for none);
// env, when not nil, is the _meta.tenuo envelope presented with it.
func (s *Session) CallTool(ctx context.Context, name string, args json.RawMessage, env map[string]any) (*Response, error) {
	params := map[string]any{"name": name}
	if args != nil {
		params["arguments"] = args
	}
	if env != nil {
		params["_meta"] = map[string]any{"tenuo": env}
	}
	return s.Request(ctx, "tools/call", params)
}

// Close ends the client's side; the relay answers what is in flight, shuts
// the server down and returns. Close returns the relay's error, if any
// other than the server exiting on its own.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.conn.Close()
		t := time.NewTimer(mcpproxy.DefaultDrainTimeout + 2*mcpproxy.DefaultShutdownGrace + 5*time.Second)
		defer t.Stop()
		select {
		case err := <-s.relay:
			if err != nil && !errors.Is(err, mcpproxy.ErrUpstreamExited) && !errors.Is(err, io.ErrClosedPipe) {
				s.closeErr = err
			}
		case <-t.C:
			s.cancel()
			<-s.relay
			s.closeErr = errors.New("mcptest: the relay did not end after the client closed")
		}
		s.cancel()
	})
	return s.closeErr
}
