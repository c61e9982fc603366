package mcphttp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StatelessVersions are the protocol versions without sessions (2026-07-28
// and later) the handler speaks, oldest first.
var StatelessVersions = []string{"2026-07-28"}

// Names of 2026-07-28.
const (
	// HeaderParamPrefix starts the name of a header mirroring a tool
	// argument whose schema carries x-mcp-header.
	HeaderParamPrefix = "Mcp-Param-"

	MetaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	MetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	MetaSubscriptionID     = "io.modelcontextprotocol/subscriptionId"

	// CodeUnsupportedVersion is the 2026-07-28 error for a protocol version
	// the server does not speak.
	CodeUnsupportedVersion = -32022
	codeInvalidParams      = -32602
)

// statelessMethods are the client requests of 2026-07-28 (tasks/* are the
// tasks extension's); any other method is 404 with -32601.
var statelessMethods = []string{
	"completion/complete", "prompts/get", "prompts/list", "resources/list", "resources/read",
	"resources/templates/list", "server/discover", "subscriptions/listen", "tools/call", "tools/list",
	"tasks/get", "tasks/update", "tasks/cancel", "tasks/list",
}

// namedBy is the params member Mcp-Name mirrors, per method that has one.
var namedBy = map[string]string{"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

// latestSessionVersion is the last protocol version with sessions.
const latestSessionVersion = "2025-11-25"

// statelessHeader reports whether an MCP-Protocol-Version value names a
// stateless version (or one later than every version with sessions: an
// unknown future version is answered as 2026-07-28 would answer it).
func statelessHeader(v string) bool { return v > latestSessionVersion && !slices.Contains(Versions, v) }

// metaOf returns the members of params._meta of m (nil when it has none),
// reading them once.
func metaOf(m *msgInfo) map[string]json.RawMessage {
	if !m.metaParsed {
		m.metaParsed = true
		if meta := m.paramMembers()["_meta"]; len(meta) > 0 && meta[0] == '{' {
			m.meta, _ = members(meta)
		}
	}
	return m.meta
}

// metaValue returns metaOf(m)[key], reading no more than it needs when
// _meta was not read yet.
func metaValue(m *msgInfo, key string) json.RawMessage {
	if m.metaParsed || m.pmRead {
		return metaOf(m)[key]
	}
	meta, ok := member(m.params, "_meta")
	if !ok || len(meta) == 0 || meta[0] != '{' {
		return nil
	}
	v, _ := member(meta, key)
	return v
}

// isStateless reports whether a POST without a session id is a 2026-07-28
// request: its MCP-Protocol-Version says so, or its _meta names a version.
func isStateless(r *http.Request, msgs []msgInfo, batch bool) bool {
	if statelessHeader(r.Header.Get(HeaderProtocolVersion)) {
		return true
	}
	if batch || len(msgs) != 1 {
		return false
	}
	_, ok := metaOf(&msgs[0])[MetaProtocolVersion]
	return ok
}

// unsupported renders the -32022 error, naming the versions spoken.
func unsupported(id json.RawMessage, requested string) []byte {
	m, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": orNull(id), "error": map[string]any{
		"code": CodeUnsupportedVersion, "message": "Bad Request: unsupported protocol version " + strconv.Quote(requested),
		"data": map[string]any{"supported": append(slices.Clone(Versions), StatelessVersions...), "requested": requested}}})
	return m
}

func orNull(id json.RawMessage) json.RawMessage {
	if id == nil {
		return json.RawMessage("null")
	}
	return id
}

// checkStateless checks a 2026-07-28 message against the headers that
// describe it; it returns the refusal's status, code and message, or 0.
func checkStateless(r *http.Request, m *msgInfo) (status, code int, msg string) {
	hv := r.Header.Values(HeaderProtocolVersion)
	method, hasMethod := r.Header[canonical(HeaderMethod)]
	name, hasName := r.Header[canonical(HeaderName)]
	switch {
	case !m.hasMethod:
		return http.StatusBadRequest, codeInvalidRequest, "Bad Request: 2026-07-28 has no server-to-client requests on HTTP: a response cannot be POSTed"
	case len(hv) > 1:
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: more than one " + HeaderProtocolVersion + " header"
	case !hasMethod:
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderMethod + " header is required"
	case len(method) != 1 || method[0] != m.method:
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderMethod + " header does not match the body's method"
	}
	if key, named := namedBy[m.method]; named {
		v, ok := m.param(key)
		switch {
		case !hasName:
			return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderName + " header is required on " + m.method
		case len(name) != 1 || !ok || name[0] != v:
			return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderName + " header does not match params." + key
		}
	} else if hasName {
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: an " + HeaderName + " header on a method that names nothing"
	}
	if m.method != "tools/call" {
		for k := range r.Header {
			if strings.HasPrefix(k, HeaderParamPrefix) {
				return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: an " + k + " header on " + m.method + ", which has no tool arguments"
			}
		}
	}
	if m.id == nil { // a notification carries no _meta triple
		if m.method != "notifications/cancelled" {
			return http.StatusNotFound, codeMethodNotFound, "Method not found: " + strconv.Quote(m.method) + " is not a 2026-07-28 client notification"
		}
		if len(hv) == 0 || !slices.Contains(StatelessVersions, hv[0]) {
			return http.StatusBadRequest, CodeUnsupportedVersion, strings.Join(hv, "")
		}
		return 0, 0, ""
	}
	if !slices.Contains(statelessMethods, m.method) {
		return http.StatusNotFound, codeMethodNotFound, "Method not found: " + strconv.Quote(m.method) + " is not a 2026-07-28 method"
	}
	meta := metaOf(m)
	var mv string
	if raw := meta[MetaProtocolVersion]; len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &mv) != nil {
		return http.StatusBadRequest, codeInvalidParams, "Invalid params: _meta[" + strconv.Quote(MetaProtocolVersion) + "] must name the protocol version"
	}
	switch {
	case len(hv) == 0:
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderProtocolVersion + " header is required with _meta[" + strconv.Quote(MetaProtocolVersion) + "]"
	case hv[0] != mv:
		return http.StatusBadRequest, CodeHeaderMismatch, "Bad Request: the " + HeaderProtocolVersion + " header " + strconv.Quote(hv[0]) + " does not match _meta's " + strconv.Quote(mv)
	case !slices.Contains(StatelessVersions, mv):
		return http.StatusBadRequest, CodeUnsupportedVersion, mv
	}
	if caps := meta[MetaClientCapabilities]; len(caps) == 0 || caps[0] != '{' {
		return http.StatusBadRequest, codeInvalidParams, "Invalid params: _meta[" + strconv.Quote(MetaClientCapabilities) + "] must be an object"
	}
	return 0, 0, ""
}

// postStateless serves a 2026-07-28 POST: no session id; the caller's
// pooled session carries it.
func (h *Handler) postStateless(w http.ResponseWriter, r *http.Request, body []byte, msgs []msgInfo, batch bool) {
	if batch || len(msgs) != 1 {
		h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: 2026-07-28 has no batches")
		return
	}
	m := &msgs[0]
	// For CodeUnsupportedVersion, msg is the version requested.
	if status, code, msg := checkStateless(r, m); status != 0 {
		if code == CodeUnsupportedVersion {
			if h.OnRefused != nil {
				h.OnRefused(r, status, "unsupported protocol version "+strconv.Quote(msg))
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write(unsupported(m.id, msg))
			return
		}
		h.refuse(w, r, status, m.id, code, msg)
		return
	}
	if m.id == nil {
		// notifications/cancelled: on 2026-07-28 HTTP closing the response
		// stream is the cancel, and the handler turns that into the
		// upstream's notification itself. A requestId here could name
		// another client's request under the same caller; it is dropped.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	wantJSON, wantSSE := accepts(r)
	if !wantJSON && !wantSSE {
		h.refuse(w, r, http.StatusNotAcceptable, nil, codeInvalidRequest, "Not Acceptable: the client must accept application/json or text/event-stream")
		return
	}
	key, ok := h.callerKey(w, r, m)
	if !ok {
		return
	}
	s := h.caller(key)
	if reason := paramHeadersOK(r, m, h.bindingsOf(key, s)); reason != "" {
		h.refuse(w, r, http.StatusBadRequest, m.id, CodeHeaderMismatch, "Bad Request: "+reason)
		return
	}
	st := newStream(wantSSE, false)
	var status int
	var msg string
	for attempt := 0; ; attempt++ {
		if s == nil {
			if s = h.newSession(w, r, false, key); s == nil {
				return
			}
		}
		if testHookPooled != nil {
			testHookPooled(s)
		}
		s.begin()
		var sent []byte
		sent, status, msg = s.registerStateless(st, m, body)
		if status != statusEnded || attempt == 2 {
			body = sent
			break
		}
		// The pooled session ended (idle expiry, eviction, its upstream
		// exited) between being found and taking the request: the request
		// goes to the caller's next one.
		s.end()
		s = h.caller(key)
	}
	defer s.end()
	if status == statusEnded {
		status, msg = http.StatusServiceUnavailable, "Service Unavailable: the caller's upstream session keeps ending; retry"
	}
	if status != 0 {
		h.refuse(w, r, status, m.id, codeInvalidRequest, msg)
		return
	}
	if !s.send(body) {
		select {
		case s.in <- body:
		case <-s.done:
			h.refuse(w, r, http.StatusServiceUnavailable, m.id, codeInternalError, "Service Unavailable: the caller's upstream session ended; retry")
			return
		case <-r.Context().Done():
			s.unregister(st, []msgInfo{{id: m.id, key: st.onlyKey(), hasMethod: true}})
			return
		}
	}
	h.serveStateless(w, r, s, st, wantJSON, wantSSE)
}

// callerKey names the pooled session of r: its caller, the bound headers
// it carries and the warrant its own envelope presents (a caller
// presenting two warrants gets two upstreams). So requests presenting
// different warrants never share an upstream, nor its tasks,
// subscriptions or log level, even behind one token or none: a task id is
// found only in the pool of the warrant whose call created it. This is not
// proof of holdership: tasks/* carry no PoP, and a warrant is no secret (a
// delegate's stack holds its parent's), so callers that must not read each
// other's tasks need credentials of their own (tokens).
func (h *Handler) callerKey(w http.ResponseWriter, r *http.Request, m *msgInfo) (string, bool) {
	caller := "anonymous"
	if h.CallerKey != nil {
		caller = h.CallerKey(r)
	}
	d := sha256.New()
	d.Write([]byte(caller))
	for _, name := range h.BoundHeaders {
		v := r.Header.Values(name)
		if len(v) > 1 {
			h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: more than one "+name+" header")
			return "", false
		}
		d.Write([]byte{0})
		if len(v) == 1 {
			d.Write([]byte{1})
			d.Write([]byte(v[0]))
		}
	}
	if wt := presentedWarrant(m); wt != nil {
		d.Write([]byte{0, 2})
		d.Write(wt)
	}
	return hex.EncodeToString(d.Sum(nil)), true
}

// presentedWarrant is the warrant member of m's Tenuo envelope (the
// string decoded, so that escapes do not make another key): _meta.tenuo's,
// or arguments._tenuo's on a tools/call; nil when it presents none.
func presentedWarrant(m *msgInfo) []byte {
	env := metaValue(m, "tenuo")
	if len(env) == 0 && m.method == "tools/call" {
		if args, ok := member(m.params, "arguments"); ok && len(args) > 0 && args[0] == '{' {
			env, _ = member(args, "_tenuo")
		}
	}
	if len(env) == 0 || env[0] != '{' {
		return nil
	}
	wt, _ := member(env, "warrant")
	var str string
	if len(wt) > 0 && wt[0] == '"' && json.Unmarshal(wt, &str) == nil {
		return []byte(str)
	}
	return wt // not a string: the refusal comes later, keyed as written
}

// caller returns the open pooled session of key, nil when none.
func (h *Handler) caller(key string) *Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.callers[key]
	if s != nil && s.over() {
		return nil
	}
	return s
}

// evictIdle closes the pooled session idle the longest, to make room; h.mu
// is held. It reports whether it closed one.
func (h *Handler) evictIdle() bool {
	var oldest *Session
	var since time.Time
	for _, s := range h.callers {
		s.mu.Lock()
		idle := s.active == 0 && len(s.waiting) == 0
		t := s.idleSince
		s.mu.Unlock()
		if idle && (oldest == nil || t.Before(since)) {
			oldest, since = s, t
		}
	}
	if oldest == nil || !oldest.endIfIdle(since.Add(1)) {
		return false
	}
	delete(h.sessions, oldest.id)
	delete(h.callers, oldest.pool)
	if h.perClient[oldest.client]--; h.perClient[oldest.client] <= 0 {
		delete(h.perClient, oldest.client)
	}
	go oldest.Close() // Close takes h.mu through release
	return true
}

// statusEnded is registerStateless's status for a session Close has ended.
const statusEnded = -1

// testHookPooled, when set (by tests), runs after a 2026-07-28 request
// found its caller's pooled session and before it registers there.
var testHookPooled func(s *Session)

// registerStateless records the request m as awaiting its answer on st.
// An id another request of the caller's session still awaits an answer
// under (two clients of one caller both count from 1) is replaced, for
// the upstream, by one of the handler's own; the answer gets the client's
// back. It returns the body to send on; statusEnded when the session has
// ended.
func (s *Session) registerStateless(st *stream, m *msgInfo, body []byte) ([]byte, int, string) {
	h := s.h
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return nil, statusEnded, ""
	}
	if len(s.waiting)+1 > or(h.MaxInFlight, DefaultMaxInFlight) {
		return nil, http.StatusTooManyRequests, "Too Many Requests: too many requests in flight for this caller"
	}
	if total := h.inflight.Add(1); total > int64(or(h.MaxInFlightTotal, DefaultMaxInFlightTotal)) {
		h.inflight.Add(-1)
		return nil, http.StatusServiceUnavailable, "Service Unavailable: too many requests in flight"
	}
	key := m.key
	inUse := func(k string) bool { _, dup := s.waiting[k]; return dup || s.retired[k] }
	if inUse(key) {
		id, k := freshID(inUse)
		nb, ok := replaceMember(body, []string{"id"}, id)
		if !ok {
			h.inflight.Add(-1)
			return nil, http.StatusBadRequest, "Bad Request: the request's id cannot be read"
		}
		body, key = nb, k
		s.upID[key] = id
	}
	// A progress token another request of the caller still uses (two
	// clients of one caller both name "p") is renamed the same way: else
	// one client would get the other's progress.
	tokKey := ""
	if tok, ok := metaOf(m)["progressToken"]; ok {
		if k, ok := idKey(tok); ok {
			tokKey = k
			if _, dup := s.progress[k]; dup {
				up, uk := freshID(func(k string) bool { _, dup := s.progress[k]; return dup })
				nb, ok := replaceMember(body, []string{"params", "_meta", "progressToken"}, up)
				if !ok {
					h.inflight.Add(-1)
					return nil, http.StatusBadRequest, "Bad Request: the request's progress token cannot be read"
				}
				body, tokKey = nb, uk
				s.upToken[uk] = tok
			}
		}
	}
	s.waiting[key] = st
	st.pending[key] = m.id
	st.sole = key
	switch m.method {
	case "tools/list":
		s.lists[key] = true
	}
	if tokKey != "" {
		s.progress[tokKey] = st
		s.progressOf[key] = tokKey
	}
	if st.sse {
		s.posts = append(s.posts, st)
	}
	return body, 0, ""
}

// freshID returns an id (or progress token) of the handler's own and its
// key, one taken does not report in use.
func freshID(taken func(key string) bool) (json.RawMessage, string) {
	for {
		var raw [8]byte
		rand.Read(raw[:])
		id := json.RawMessage(strconv.Quote("tenuo-mcp-" + hex.EncodeToString(raw[:])))
		if k, _ := idKey(id); !taken(k) {
			return id, k
		}
	}
}

// onlyKey is the key of the one request a stateless stream carries.
func (st *stream) onlyKey() string { return st.sole }

// serveStateless answers a 2026-07-28 request: as one JSON value when the
// answer is all there is to send by the time headers go out (404 for a
// method the upstream does not have), else as an event stream.
func (h *Handler) serveStateless(w http.ResponseWriter, r *http.Request, s *Session, st *stream, wantJSON, wantSSE bool) {
	if !wantSSE {
		h.serveJSON(w, r, s, st, false)
		return
	}
	wake, gen := st.writer()
	var got [][]byte
	timer := time.NewTimer(headerDelay)
	defer timer.Stop()
	over, dead := false, false
wait:
	for {
		var msgs [][]byte
		msgs, _, over, dead, _ = st.take(gen)
		got = append(got, msgs...)
		if over || len(got) > 0 {
			break
		}
		select {
		case <-wake:
		case <-timer.C:
			break wait
		case <-r.Context().Done():
			s.abandon(st, gen)
			return
		}
	}
	if over && !dead && len(got) == 1 && wantJSON { // a given-up stream's message is no answer
		s.mu.Lock()
		s.dropStream(st)
		s.mu.Unlock()
		status := http.StatusOK
		if answerCode(got[0]) == codeMethodNotFound {
			status = http.StatusNotFound
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		h.writeDeadline(http.NewResponseController(w))
		w.Write(got[0])
		return
	}
	var first []byte
	for _, m := range got {
		first = appendEvent(first, "message", "", m)
	}
	if len(first) == 0 {
		first = []byte(": stream open\n\n")
	}
	h.serveStream(w, r, s, st, string(first))
}

// answerCode returns the JSON-RPC error code of an answer, 0 for none.
func answerCode(msg []byte) int {
	if !bytes.Contains(msg, []byte(`"error"`)) {
		return 0 // it only picks the HTTP status: a spelling this misses gets 200

	}
	e := mustMembers(msg)["error"]
	if len(e) == 0 {
		return 0
	}
	var v struct {
		Code int `json:"code"`
	}
	json.Unmarshal(e, &v)
	return v.Code
}

// replaceMember returns b, a JSON object, with the value at path (object
// member names from the top) replaced by val.
func replaceMember(b []byte, path []string, val json.RawMessage) ([]byte, bool) {
	start, end, ok := memberSpan(b, 0, path)
	if !ok {
		return nil, false
	}
	out := make([]byte, 0, len(b)-(end-start)+len(val))
	out = append(append(append(out, b[:start]...), val...), b[end:]...)
	return out, true
}

// memberSpan finds the byte span of the value at path in the object that
// starts at b[off:] (the first member of each name on the way).
func memberSpan(b []byte, off int, path []string) (int, int, bool) {
	sc := memberScanner{b: b[off:]}
	if !sc.open() {
		return 0, 0, false
	}
	for {
		k, v, ok := sc.next()
		if !ok {
			return 0, 0, false
		}
		if string(k) != path[0] {
			continue
		}
		start := off + sc.vstart
		if len(path) == 1 {
			return start, start + len(v), true
		}
		return memberSpan(b, start, path[1:])
	}
}

// binding is one tool argument mirrored into a header (x-mcp-header).
type binding struct {
	path   []string
	header string // canonical Mcp-Param-… name
}

// learnBindings records, from a tools/list result the caller is sent, which
// arguments of each tool its headers must mirror. s.mu is held.
func (s *Session) learnBindings(msg []byte) { addBindings(s.bindings, msg) }

// addBindings adds to m the bindings of each tool a tools/list answer
// lists (bounded: a listing cannot grow m without end).
func addBindings(m map[string][]binding, msg []byte) {
	res := mustMembers(msg)["result"]
	var r struct {
		Tools []struct {
			Name        string          `json:"name"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if len(res) == 0 || json.Unmarshal(res, &r) != nil {
		return
	}
	for _, t := range r.Tools {
		if _, ok := m[t.Name]; !ok && len(m) >= 4096 {
			return
		}
		m[t.Name] = collectBindings(t.InputSchema, nil, 0)
	}
}

// paramHeaders renders the Mcp-Param-* headers of a tools/call's params by
// the tool's bindings, as a 2026-07-28 client does.
func paramHeaders(params json.RawMessage, bs []binding, h http.Header) {
	var args json.RawMessage
	if ms, err := members(params); err == nil {
		args = ms["arguments"]
	}
	for _, b := range bs {
		v, ok := lookupPath(args, b.path)
		if !ok || string(v) == "null" {
			continue
		}
		t, ok := headerText(v)
		if !ok {
			continue
		}
		h.Set(b.header, encodeParamHeader(t))
	}
}

// encodeParamHeader is the header form of an argument's text: as it is when
// that is safe, else =?base64?…?=.
func encodeParamHeader(t string) string {
	plain := t == "" || (t[0] != ' ' && t[0] != '\t' && t[len(t)-1] != ' ' && t[len(t)-1] != '\t')
	for _, c := range []byte(t) {
		if c < 0x20 || c > 0x7e {
			plain = false
		}
	}
	if strings.HasPrefix(t, "=?base64?") && strings.HasSuffix(t, "?=") {
		plain = false
	}
	if plain {
		return t
	}
	return "=?base64?" + base64.StdEncoding.EncodeToString([]byte(t)) + "?="
}

func collectBindings(schema json.RawMessage, prefix []string, depth int) []binding {
	var sc struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if depth > 16 || json.Unmarshal(schema, &sc) != nil {
		return nil
	}
	var out []binding
	for name, prop := range sc.Properties {
		path := append(slices.Clone(prefix), name)
		var p struct {
			Header *string `json:"x-mcp-header"`
		}
		if json.Unmarshal(prop, &p) == nil && p.Header != nil {
			out = append(out, binding{path: path, header: canonical(HeaderParamPrefix + *p.Header)})
		}
		out = append(out, collectBindings(prop, path, depth+1)...)
	}
	return out
}

// bindingsOf looks up a tool's bindings as the caller key's pooled session
// s learned them, or (s nil) as its last session left them.
func (h *Handler) bindingsOf(key string, s *Session) func(tool string) ([]binding, bool) {
	return func(tool string) ([]binding, bool) {
		if s != nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			bs, ok := s.bindings[tool]
			return bs, ok
		}
		h.mu.Lock() // a saved map is no session's: h.mu guards it
		defer h.mu.Unlock()
		bs, ok := h.saved[key][tool]
		return bs, ok
	}
}

// paramHeadersOK checks the Mcp-Param-* headers of a tools/call against its
// arguments, by the bindings learned from the caller's tool listing; it
// returns why they do not match, "" when they do. A call carrying such
// headers for a tool whose schema was never listed to the caller cannot be
// checked, and is refused.
func paramHeadersOK(r *http.Request, m *msgInfo, lookup func(tool string) ([]binding, bool)) string {
	if m.method != "tools/call" {
		return ""
	}
	var sent []string
	for k := range r.Header {
		if strings.HasPrefix(k, HeaderParamPrefix) {
			sent = append(sent, k)
		}
	}
	name, _ := m.param("name")
	bs, known := lookup(name)
	if !known {
		if len(sent) > 0 {
			return "the " + sent[0] + " header cannot be checked: list the tools first"
		}
		return ""
	}
	if len(bs) == 0 && len(sent) == 0 {
		return ""
	}
	args := m.paramMembers()["arguments"]
	for _, k := range sent {
		if !slices.ContainsFunc(bs, func(b binding) bool { return b.header == k }) {
			return "the " + k + " header mirrors no argument of " + strconv.Quote(name)
		}
	}
	for _, b := range bs {
		hv := r.Header.Values(b.header)
		v, found := lookupPath(args, b.path)
		if !found || string(v) == "null" {
			if len(hv) > 0 {
				return "the " + b.header + " header mirrors an argument the call does not have"
			}
			continue
		}
		want, ok := headerText(v)
		switch {
		case !ok:
			return "the argument " + strings.Join(b.path, ".") + " mirrored by " + b.header + " is not a string, boolean or integer"
		case len(hv) != 1:
			return "the " + b.header + " header is required (once) for the argument " + strings.Join(b.path, ".")
		}
		got, ok := decodeParamHeader(hv[0])
		if !ok || got != want {
			return "the " + b.header + " header does not match the argument " + strings.Join(b.path, ".")
		}
	}
	return ""
}

func lookupPath(obj json.RawMessage, path []string) (json.RawMessage, bool) {
	for _, p := range path {
		if len(obj) == 0 || obj[0] != '{' {
			return nil, false
		}
		ms, err := members(obj)
		if err != nil {
			return nil, false
		}
		v, ok := ms[p]
		if !ok {
			return nil, false
		}
		obj = v
	}
	return obj, true
}

// headerText is the text a header mirroring the JSON value v carries, once
// decoded: a string as it is, a boolean as true/false, an integer (within
// ±2^53) in decimal.
func headerText(v json.RawMessage) (string, bool) {
	switch {
	case len(v) == 0:
		return "", false
	case v[0] == '"':
		var s string
		return s, json.Unmarshal(v, &s) == nil
	case string(v) == "true" || string(v) == "false":
		return string(v), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53-1 {
		return "", false
	}
	return strconv.FormatInt(int64(f), 10), true
}

// decodeParamHeader decodes the =?base64?…?= form of a header value.
func decodeParamHeader(v string) (string, bool) {
	if inner, ok := strings.CutPrefix(v, "=?base64?"); ok {
		if inner, ok = strings.CutSuffix(inner, "?="); ok {
			b, err := base64.StdEncoding.DecodeString(inner)
			return string(b), err == nil
		}
	}
	return v, true
}
