package mcphttp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Handler's zero-valued fields.
const (
	DefaultMaxBody              = 4 << 20
	DefaultMaxSessions          = 256
	DefaultMaxSessionsPerClient = 32
	DefaultMaxInFlight          = 64
	DefaultMaxInFlightTotal     = 1024
	DefaultIdleTimeout          = 10 * time.Minute
	DefaultWriteTimeout         = 30 * time.Second
	DefaultKeepAlive            = 25 * time.Second
	DefaultResumeWindow         = 30 * time.Second
)

// maxSavedCallers bounds the callers whose learned Mcp-Param-* bindings
// are kept after their pooled session ended.
const maxSavedCallers = 1024

// Versions are the protocol versions the handler speaks, oldest first.
var Versions = []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}

// Header values the transport sets on every request or response, shared
// rather than made each time: net/http reads header values and never
// writes into them, and nothing here does.
var (
	valJSON       = []string{"application/json"}
	valSSE        = []string{"text/event-stream"}
	valAcceptBoth = []string{"application/json, text/event-stream"}
	valNoCache    = []string{"no-cache, no-transform"}
	valNo         = []string{"no"}
)

// Header names.
const (
	HeaderSessionID       = "Mcp-Session-Id"
	HeaderProtocolVersion = "Mcp-Protocol-Version"
	HeaderMethod          = "Mcp-Method"
	HeaderName            = "Mcp-Name"
)

// Handler serves MCP sessions over HTTP (see the package documentation). Set
// its fields before the first request and don't change them afterwards.
type Handler struct {
	// Accept serves one session; it runs in its own goroutine, and the
	// session is closed when it returns. ctx is cancelled when the session
	// ends (DELETE, idle expiry, Close). It must be set.
	Accept func(ctx context.Context, s *Session)

	// Path, SSEPath and MessagePath are where the streamable HTTP endpoint,
	// the legacy SSE stream and the legacy POST endpoint are served ("/mcp",
	// "/sse" and "/message" when empty). Other paths are 404.
	Path, SSEPath, MessagePath string

	// CheckOrigin decides a request that carries an Origin header (a
	// browser's; DNS rebinding is the attack). Nil accepts only origins
	// whose host is a loopback name or address. Requests without Origin are
	// accepted: they come from no browser.
	CheckOrigin func(origin *url.URL, r *http.Request) bool

	// ClientKey names the caller a request comes from, for the per-client
	// session limit; nil uses the remote IP address.
	ClientKey func(r *http.Request) string

	// BindClient makes a session answer only requests whose ClientKey is
	// the one of the request that opened it (404 to any other, as for a
	// made-up id): with ClientKey naming a bearer token, another token
	// cannot use the session, nor the warrant held for its caller.
	BindClient bool

	// CallerKey names the caller of a 2026-07-28 request, which has no
	// session: the requests of one caller (with the same BoundHeaders, and
	// presenting the same warrant in their own Tenuo envelope, if any)
	// share one pooled Session, and so one upstream, and two callers never
	// share one. Nil makes every such request the one "anonymous" caller's, which
	// is right only where a single party can reach the handler (loopback).
	// Pooled sessions count towards MaxSessions; when it is reached, the one
	// idle the longest is closed to make room (none idle: 503).
	CallerKey func(r *http.Request) string

	// BoundHeaders are request headers fixed for a session's life by the
	// request that opens it (X-Tenuo-Warrant): a later request of the
	// session that carries another value, or one where the opening request
	// had none, is refused with 400. Session.Header reads them.
	BoundHeaders []string

	// MaxBody caps a POST body in bytes (DefaultMaxBody when zero).
	MaxBody int64
	// MaxSessions bounds the open sessions (DefaultMaxSessions when zero;
	// past it, 503), MaxSessionsPerClient those of one ClientKey
	// (DefaultMaxSessionsPerClient; past it, 429).
	MaxSessions, MaxSessionsPerClient int
	// MaxInFlight bounds the requests of one session awaiting answers
	// (DefaultMaxInFlight when zero; past it, 429), MaxInFlightTotal those
	// of all sessions (DefaultMaxInFlightTotal; past it, 503).
	MaxInFlight, MaxInFlightTotal int
	// IdleTimeout closes a session with nothing in flight and no open
	// stream for that long (DefaultIdleTimeout when zero).
	IdleTimeout time.Duration
	// WriteTimeout bounds each write to a client (DefaultWriteTimeout when
	// zero): a client that stops reading loses its stream.
	WriteTimeout time.Duration
	// KeepAlive is how often an idle event stream gets an SSE comment
	// (DefaultKeepAlive when zero).
	KeepAlive time.Duration
	// ResumeWindow is how long the requests of a POST event stream whose
	// client went away after it was sent an event id wait for the client
	// to resume the stream (GET with Last-Event-ID) before they are
	// cancelled upstream (DefaultResumeWindow when zero).
	ResumeWindow time.Duration

	// OnRefused, when set, is told of each request the handler answers
	// itself with an error status, before any message reaches a session. It
	// must not block.
	OnRefused func(r *http.Request, status int, reason string)
	// Log receives lifecycle events and dropped messages; nil discards.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex // guards sessions, perClient, closing and janitor
	sessions map[string]*Session
	callers  map[string]*Session // pooled sessions by caller key
	// bindings a caller's pooled session learned, kept past its end (idle
	// expiry, eviction) for its next one: a client that cached its listing
	// still has its Mcp-Param-* headers checked. Bounded by maxSavedCallers.
	saved     map[string]map[string][]binding
	perClient map[string]int
	closing   bool
	janitor   chan struct{} // closed to stop the idle sweeper; nil until started
	inflight  atomic.Int64
	accepts   sync.WaitGroup // one per Accept running
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.New(slog.DiscardHandler)
}

func or[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func orPath(p, def string) string {
	if p == "" {
		return def
	}
	return p
}

// ServeHTTP serves the MCP endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path != orPath(h.Path, "/mcp") && path != orPath(h.SSEPath, "/sse") && path != orPath(h.MessagePath, "/message") {
		h.refuse(w, r, http.StatusNotFound, nil, codeInvalidRequest, "Not Found")
		return
	}
	// Two session ids: which one a proxy in front routed or authorised by
	// and which one this handler would serve could differ.
	if len(r.Header.Values(HeaderSessionID)) > 1 || len(r.URL.Query()["sessionId"]) > 1 {
		h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: more than one "+HeaderSessionID)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !h.originOK(o, r) {
		h.refuse(w, r, http.StatusForbidden, nil, codeInvalidRequest, "Forbidden: Origin "+strconv.Quote(o)+" is not allowed")
		return
	}
	switch {
	case path == orPath(h.SSEPath, "/sse") && r.Method == http.MethodGet:
		h.serveSSE(w, r)
	case path == orPath(h.MessagePath, "/message") && r.Method == http.MethodPost:
		h.post(w, r, true)
	case path == orPath(h.Path, "/mcp") && r.Method == http.MethodPost:
		h.post(w, r, false)
	case path == orPath(h.Path, "/mcp") && r.Method == http.MethodGet:
		h.serveGet(w, r)
	case path == orPath(h.Path, "/mcp") && r.Method == http.MethodDelete:
		h.serveDelete(w, r)
	default:
		allow := "GET"
		switch path {
		case orPath(h.Path, "/mcp"):
			allow = "GET, POST, DELETE"
		case orPath(h.MessagePath, "/message"):
			allow = "POST"
		}
		w.Header().Set("Allow", allow)
		h.refuse(w, r, http.StatusMethodNotAllowed, nil, codeInvalidRequest, "Method Not Allowed")
	}
}

func (h *Handler) originOK(o string, r *http.Request) bool {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	if h.CheckOrigin != nil {
		return h.CheckOrigin(u, r)
	}
	return IsLoopbackHost(u.Hostname())
}

// IsLoopbackHost reports whether host (no port) is "localhost" or a loopback
// IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// refuse answers a request with an HTTP error status and a JSON-RPC error.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, id json.RawMessage, code int, msg string) {
	if h.OnRefused != nil {
		h.OnRefused(r, status, msg)
	}
	switch status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(errorMessage(id, code, msg))
}

func canonical(name string) string { return textproto.CanonicalMIMEHeaderKey(name) }

// lookup finds the session a request names; it answers 404 (or 400 when the
// request names none) itself and returns nil.
func (h *Handler) lookup(w http.ResponseWriter, r *http.Request, id string, legacy bool) *Session {
	if id == "" {
		h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: "+HeaderSessionID+" header is required")
		return nil
	}
	h.mu.Lock()
	s := h.sessions[id]
	h.mu.Unlock()
	if s == nil || s.legacy != legacy || s.pool != "" || (h.BindClient && h.clientKey(r) != s.client) {
		h.refuse(w, r, http.StatusNotFound, nil, codeInvalidRequest, "Not Found: no such MCP session (it may have expired; initialize a new one)")
		return nil
	}
	for _, name := range h.BoundHeaders {
		if v, ok := r.Header[canonical(name)]; ok && (len(v) != 1 || v[0] != s.bound[canonical(name)]) {
			h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: the "+name+" header differs from the one this session was opened with")
			return nil
		}
	}
	return s
}

// versionOK checks MCP-Protocol-Version on a streamable HTTP request.
func (h *Handler) versionOK(w http.ResponseWriter, r *http.Request) bool {
	vs := r.Header.Values(HeaderProtocolVersion)
	if len(vs) == 0 {
		return true // absent: 2025-03-26, which had no such header
	}
	v := vs[0]
	switch {
	case len(vs) > 1:
		h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: more than one "+HeaderProtocolVersion+" header")
		return false
	case !slices.Contains(Versions, v):
		h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: unsupported protocol version "+strconv.Quote(v))
		return false
	}
	// A supported version other than the one the session negotiated is
	// answered, as the servers behind us answer it: the specification asks
	// for 400 only for an invalid or unsupported version, and a request
	// without the header, which means 2025-03-26, is taken in any session.
	// Nothing here or in the relay reads the header's version within a
	// session (its messages are checked alike in every session era); a
	// stateless version in a session is refused by post.
	return true
}

// accepts reports which answers the client's Accept header allows. Each
// of the two media types is judged by the most specific range that names
// it (the type itself, then text/* or application/*, then */*), and a
// range given q=0 refuses what it names (RFC 9110, section 12.4.2).
func accepts(r *http.Request) (json, sse bool) {
	vs := r.Header.Values("Accept")
	if len(vs) == 0 {
		return true, true
	}
	// The specificity of the range that judged each type (0: none), and
	// its verdict.
	jsonBy, sseBy := 0, 0
	judge := func(by *int, ok *bool, level int, yes bool) {
		if level > *by || (level == *by && yes) {
			*by, *ok = level, yes
		}
	}
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			mt := strings.TrimSpace(part)
			yes := true
			if strings.ContainsAny(mt, ";\"") || mt != strings.ToLower(mt) {
				var params map[string]string
				var err error
				if mt, params, err = mime.ParseMediaType(mt); err != nil {
					continue
				}
				if q, ok := params["q"]; ok {
					f, err := strconv.ParseFloat(q, 64)
					yes = err != nil || f > 0 // a malformed q is no refusal
				}
			}
			switch mt {
			case "application/json":
				judge(&jsonBy, &json, 3, yes)
			case "application/*":
				judge(&jsonBy, &json, 2, yes)
			case "text/event-stream":
				judge(&sseBy, &sse, 3, yes)
			case "text/*":
				judge(&sseBy, &sse, 2, yes)
			case "*/*":
				judge(&jsonBy, &json, 1, yes)
				judge(&sseBy, &sse, 1, yes)
			}
		}
	}
	return json, sse
}

// contentTypeOK checks that a POST body is declared as JSON in UTF-8.
func contentTypeOK(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "application/json" {
		return true
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// exactBodyMax is the longest declared body length readBody allocates at
// once.
const exactBodyMax = 64 << 10

// readBody reads a POST body under the cap; it answers the failure itself.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !contentTypeOK(r) {
		h.refuse(w, r, http.StatusUnsupportedMediaType, nil, codeInvalidRequest, "Unsupported Media Type: the body must be application/json")
		return nil, false
	}
	limit := or(h.MaxBody, DefaultMaxBody)
	var body []byte
	var err error
	if n := r.ContentLength; n >= 0 && n <= min(limit, exactBodyMax) {
		// A short body of known length: one buffer of that size (net/http's
		// body reader holds the client to it). A long one grows as it
		// arrives: a declared length alone commits no memory.
		body = make([]byte, n)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, nil, codeInvalidRequest, "Request Entity Too Large: the body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
		} else {
			h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: reading the body failed")
		}
		return nil, false
	}
	return body, true
}

// checkHeaders checks Mcp-Method and Mcp-Name against the body.
func checkHeaders(r *http.Request, msgs []msgInfo, batch bool) string {
	method, hasMethod := r.Header[canonical(HeaderMethod)]
	name, hasName := r.Header[canonical(HeaderName)]
	if !hasMethod && !hasName {
		return ""
	}
	if batch || len(msgs) != 1 {
		return "Mcp-Method and Mcp-Name headers cannot describe a batch"
	}
	m := msgs[0]
	if hasMethod && (len(method) != 1 || !m.hasMethod || method[0] != m.method) {
		return "Mcp-Method header does not match the body's method"
	}
	if hasName {
		key := "name"
		switch m.method {
		case "tools/call", "prompts/get":
		case "resources/read":
			key = "uri"
		default:
			return "Mcp-Name header on a method that names nothing"
		}
		v, ok := stringMember(m.params, key)
		if len(name) != 1 || !ok || name[0] != v {
			return "Mcp-Name header does not match params." + key
		}
	}
	return ""
}

// newSession opens a session for the request r; it answers the refusal
// itself and returns nil.
//
// pool, when not empty, is the caller key of a pooled (2026-07-28) session:
// if that caller's session opened meanwhile, it is returned.
func (h *Handler) newSession(w http.ResponseWriter, r *http.Request, legacy bool, pool string) *Session {
	if h.Accept == nil {
		h.refuse(w, r, http.StatusInternalServerError, nil, codeInternalError, "no session handler configured")
		return nil
	}
	var raw [16]byte
	rand.Read(raw[:]) // never fails (crypto/rand)
	client := h.clientKey(r)
	s := &Session{h: h, id: hex.EncodeToString(raw[:]), legacy: legacy, client: client, bound: map[string]string{},
		in: make(chan []byte, 16), done: make(chan struct{}), waiting: map[string]*stream{}, idleSince: h.now(), pool: pool}
	if pool != "" {
		s.upID, s.lists, s.progress = map[string]json.RawMessage{}, map[string]bool{}, map[string]*stream{}
		s.progressOf, s.bindings, s.upToken = map[string]string{}, map[string][]binding{}, map[string]json.RawMessage{}
		s.retired = map[string]bool{}
	}
	for _, name := range h.BoundHeaders {
		if v := r.Header.Values(name); len(v) > 0 {
			if len(v) > 1 {
				h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: more than one "+name+" header")
				return nil
			}
			s.bound[canonical(name)] = v[0]
		}
	}
	h.mu.Lock()
	old := h.callers[pool]
	if pool != "" && old != nil && !old.over() {
		h.mu.Unlock()
		return old
	}
	if pool != "" && old != nil && !old.closed() {
		// Ended (idle, evicted) but not closed yet: its bindings are not
		// saved yet either.
		old.mu.Lock()
		s.bindings = maps.Clone(old.bindings)
		old.mu.Unlock()
	} else if b := h.saved[pool]; pool != "" && b != nil {
		s.bindings = b // the ended session's, which no longer writes it
		delete(h.saved, pool)
	}
	if pool != "" && len(h.sessions) >= or(h.MaxSessions, DefaultMaxSessions) {
		h.evictIdle()
	}
	switch {
	case h.closing:
		h.mu.Unlock()
		h.refuse(w, r, http.StatusServiceUnavailable, nil, codeInternalError, "Service Unavailable: shutting down")
		return nil
	case len(h.sessions) >= or(h.MaxSessions, DefaultMaxSessions):
		h.mu.Unlock()
		h.refuse(w, r, http.StatusServiceUnavailable, nil, codeInternalError, "Service Unavailable: too many MCP sessions")
		return nil
	case h.perClient[client] >= or(h.MaxSessionsPerClient, DefaultMaxSessionsPerClient):
		h.mu.Unlock()
		h.refuse(w, r, http.StatusTooManyRequests, nil, codeInternalError, "Too Many Requests: too many MCP sessions for this client")
		return nil
	}
	if h.sessions == nil {
		h.sessions, h.perClient = map[string]*Session{}, map[string]int{}
	}
	h.sessions[s.id] = s
	if pool != "" {
		if h.callers == nil {
			h.callers = map[string]*Session{}
		}
		h.callers[pool] = s
	}
	h.perClient[client]++
	h.accepts.Add(1) // under mu: Close, which sets closing under mu, waits for it
	if h.janitor == nil {
		h.janitor = make(chan struct{})
		go h.sweep(h.janitor)
	}
	h.mu.Unlock()
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	h.logger().Debug("MCP session opened", "session", s.id, "legacy", legacy)
	go func() {
		defer h.accepts.Done()
		defer s.Close()
		h.Accept(s.ctx, s)
	}()
	return s
}

// clientKey names the client of r: ClientKey's, else its IP address.
func (h *Handler) clientKey(r *http.Request) string {
	if h.ClientKey != nil {
		return h.ClientKey(r)
	}
	return hostOf(r.RemoteAddr)
}

func hostOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// release forgets a closed session and the n requests it still counted.
func (h *Handler) release(s *Session, n int) {
	h.mu.Lock()
	if s.pool != "" {
		if h.callers[s.pool] == s {
			delete(h.callers, s.pool)
		}
		s.mu.Lock()
		b := s.bindings
		s.bindings = map[string][]binding{} // a late answer writes elsewhere
		s.mu.Unlock()
		if len(b) > 0 && !h.closing {
			if h.saved == nil {
				h.saved = map[string]map[string][]binding{}
			}
			for k := range h.saved { // bounded: forget one, any
				if len(h.saved) < maxSavedCallers {
					break
				}
				delete(h.saved, k)
			}
			h.saved[s.pool] = b
		}
	}
	if h.sessions[s.id] == s {
		delete(h.sessions, s.id)
		if h.perClient[s.client]--; h.perClient[s.client] <= 0 {
			delete(h.perClient, s.client)
		}
	}
	h.mu.Unlock()
	h.inflightDone(n)
	h.logger().Debug("MCP session closed", "session", s.id)
}

func (h *Handler) inflightDone(n int) {
	if n > 0 {
		h.inflight.Add(int64(-n))
	}
}

// Sessions returns the number of open sessions.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// InFlight returns the number of requests awaiting answers.
func (h *Handler) InFlight() int { return int(h.inflight.Load()) }

// sweep closes idle sessions until stop is closed.
func (h *Handler) sweep(stop chan struct{}) {
	idle := or(h.IdleTimeout, DefaultIdleTimeout)
	t := time.NewTicker(max(idle/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			h.ExpireIdle(h.now().Add(-idle))
		}
	}
}

// ExpireIdle closes every session idle since before t, and returns how many
// it closed. The handler calls it itself every IdleTimeout/4.
func (h *Handler) ExpireIdle(t time.Time) int {
	h.mu.Lock()
	var idle []*Session
	for _, s := range h.sessions {
		if s.endIfIdle(t) {
			idle = append(idle, s)
		}
	}
	h.mu.Unlock()
	for _, s := range idle {
		h.logger().Info("MCP session expired", "session", s.id)
		s.Close()
	}
	return len(idle)
}

// CloseClients closes every session (pooled or not) whose Client key drop
// reports true, and returns how many it closed: a caller whose credential
// was withdrawn loses the streams it holds open, not only its next
// requests.
func (h *Handler) CloseClients(drop func(client string) bool) int {
	h.mu.Lock()
	var gone []*Session
	for _, s := range h.sessions {
		if drop(s.client) {
			gone = append(gone, s)
		}
	}
	h.mu.Unlock()
	for _, s := range gone {
		s.Close()
	}
	return len(gone)
}

// Shutdown stops opening sessions, ends the GET streams, waits until no
// request awaits an answer or ctx is done, then closes every session.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	all := make([]*Session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		if s.get != nil && !s.legacy {
			s.get.finish()
		}
		s.mu.Unlock()
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var err error
wait:
	for h.InFlight() > 0 {
		select {
		case <-ctx.Done():
			err = ctx.Err()
			break wait
		case <-t.C:
		}
	}
	return errors.Join(err, h.Close())
}

// Close closes every session at once, stops the idle sweeper and waits for
// every Accept to return.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closing = true
	all := make([]*Session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	if h.janitor != nil {
		close(h.janitor)
		h.janitor = nil
	}
	h.mu.Unlock()
	for _, s := range all {
		s.Close()
	}
	h.accepts.Wait()
	return nil
}
