package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// batchVersion is the only protocol version with JSON-RPC batches.
const batchVersion = "2025-03-26"

// message is one JSON-RPC object, read but not decoded beyond its envelope.
type message struct {
	raw     []byte
	ms      []member
	id      json.RawMessage // nil when absent
	method  string
	isCall  bool // has a method
	params  int  // index of params in ms, or -1
	result  int  // index of result in ms, or -1
	isReply bool // a response (result or error, no method)
}

func (m *message) isNotification() bool { return m.isCall && m.id == nil }

// invalidError is a message that is not valid JSON-RPC; id is its request id
// when it has a usable one.
type invalidError struct {
	code         int // CodeInvalidRequest, or CodeParseError for what is not JSON
	id           json.RawMessage
	method       string // the decoded method, "" when unreadable
	notification bool
	answer       bool // shaped as an answer to a server request: the id is the server's
	msg          string
}

func (e *invalidError) Error() string { return e.msg }

// parseMessage reads the JSON-RPC envelope of one object. A "params": null
// member is removed: some clients drop such messages and then hang.
func parseMessage(raw []byte) (*message, error) {
	ms, err := objectMembers(raw)
	if err != nil {
		// The id and method of a message the scanner refuses (nested too
		// deep, a duplicate key) are still read when they can be, so that
		// the error reaches the request that caused it. What is not JSON at
		// all is a parse error.
		inv := &invalidError{code: CodeInvalidRequest, msg: "Invalid Request: " + err.Error()}
		id, method, answer, _, ok := topFields(raw)
		if !ok { // not JSON at all (topFields reads any depth)
			return nil, &invalidError{code: CodeParseError, msg: "Parse error: message is not valid JSON"}
		}
		if ok && errors.Is(err, errTooDeep) {
			inv.msg = "Invalid Request: message is nested too deeply"
		}
		if ok {
			if _, idOK := idKey(id); idOK {
				inv.id = id
			}
			inv.method, _ = jsonString(method)
			inv.notification = id == nil && method != nil
			inv.answer = id != nil && answer
		}
		return nil, inv
	}
	if i := find(ms, "params"); i >= 0 && string(value(raw, ms[i])) == "null" {
		raw = removeMember(raw, ms, i)
		if ms, err = objectMembers(raw); err != nil {
			return nil, &invalidError{code: CodeInvalidRequest, msg: "Invalid Request: " + err.Error()}
		}
	}
	m := &message{raw: raw, ms: ms, params: find(ms, "params"), result: find(ms, "result")}
	var idOK bool
	if i := find(ms, "id"); i >= 0 {
		m.id = value(raw, ms[i])
		_, idOK = idKey(m.id)
	}
	mi := find(ms, "method")
	if mi >= 0 {
		method, ok := jsonString(value(raw, ms[mi]))
		m.method = method
		if !ok || method == "" {
			return nil, invalid(m, idOK, m.id == nil, "method must be a non-empty string")
		}
		m.isCall = true
	}
	if i := find(ms, "jsonrpc"); i < 0 || string(value(raw, ms[i])) != `"2.0"` {
		return nil, invalid(m, idOK, m.isCall && m.id == nil, `jsonrpc must be "2.0"`)
	}
	hasErr := find(ms, "error") >= 0
	switch {
	case m.isCall && m.id != nil && !idOK:
		return nil, invalid(m, false, false, "id must be a string or a number")
	case m.isCall:
		if m.result >= 0 || hasErr {
			return nil, invalid(m, idOK, m.id == nil, "a request has no result or error")
		}
		if m.params >= 0 {
			if p := value(raw, ms[m.params]); p[0] != '{' && p[0] != '[' {
				return nil, invalid(m, idOK, m.id == nil, "params must be an object")
			}
		}
	case m.id == nil:
		return nil, invalid(m, false, false, "a message needs a method or an id")
	case (m.result >= 0) == hasErr:
		return nil, invalid(m, idOK, false, "a response has exactly one of result and error")
	case !idOK && string(m.id) != "null":
		return nil, invalid(m, false, false, "id must be a string or a number")
	default:
		m.isReply = true
	}
	return m, nil
}

func invalid(m *message, idOK, notification bool, msg string) error {
	e := &invalidError{code: CodeInvalidRequest, method: m.method, notification: notification, msg: "Invalid Request: " + msg}
	e.answer = !m.isCall && m.id != nil && (m.result >= 0 || find(m.ms, "error") >= 0)
	if idOK {
		e.id = m.id
	}
	return e
}

// clientLoop reads the client until EOF or a read error.
func (s *session) clientLoop() error {
	for {
		msg, err := s.client.Read()
		if s.stopped.Load() {
			return nil
		}
		var long *transport.LineTooLongError
		if errors.As(err, &long) {
			id, answer, _ := scanPrefix(long.Prefix)
			if answer {
				// An answer to a server request: its id is the server's, and
				// an error with it would reach the client as the answer to
				// its own request of that id. The server is told instead,
				// when the id can be read, so that its request does not
				// wait for ever.
				reason := fmt.Sprintf("the client's answer exceeds the %d-byte limit", long.Limit)
				s.report(&Refusal{Reason: "Invalid Request: " + reason})
				if usableID(id) != nil {
					b, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: CodeInternalError, Message: reason}})
					s.toUpstream(b, nil)
				}
				continue
			}
			s.log.Warn("client message too long; answered with an error", "limit", long.Limit)
			s.replyError(id, CodeInvalidRequest,
				fmt.Sprintf("Invalid Request: message exceeds the %d-byte limit", long.Limit), nil)
			continue
		}
		if err != nil {
			return err
		}
		if s.closing.Load() {
			// Shutting down: an answer to the server still goes through;
			// a new request is refused, a notification dropped.
			s.whileClosing(msg)
			continue
		}
		s.fromClient(msg)
	}
}

// whileClosing handles a client message that arrives after Drain closed.
func (s *session) whileClosing(raw []byte) {
	if t := trimSpace(raw); len(t) > 0 && t[0] == '[' {
		// Each request of a batch is refused; nothing of it is relayed.
		var elems []json.RawMessage
		if json.Unmarshal(t, &elems) != nil {
			return
		}
		for _, el := range elems {
			if id, _, _, request, ok := topFields(el); ok && request && usableID(id) != nil {
				s.replyError(id, CodeInternalError, "MCP proxy shutting down", nil)
			}
		}
		return
	}
	id, method, ok := topMembers(raw)
	switch {
	case ok && method == nil && id != nil: // an answer to a server request
		s.fromClient(raw)
	case ok && usableID(id) != nil:
		s.replyError(id, CodeInternalError, "MCP proxy shutting down", nil)
	}
}

// fromClient handles one message (or batch) from the client.
func (s *session) fromClient(raw []byte) {
	raw = trimSpace(raw)
	if !utf8.Valid(raw) {
		s.refuse(&Refusal{Code: CodeParseError, Reason: "Parse error: message is not valid UTF-8"})
		return
	}
	if len(raw) == 0 {
		s.refuse(&Refusal{Code: CodeParseError, Reason: "Parse error: message is not valid JSON"})
		return
	}
	switch raw[0] {
	case '{':
		// parseMessage's scan checks the JSON as it reads it.
		s.clientMessage(raw)
	case '[':
		if !json.Valid(raw) {
			s.refuse(&Refusal{Code: CodeParseError, Reason: "Parse error: message is not valid JSON"})
			return
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil || len(elems) == 0 {
			s.refuse(&Refusal{Code: CodeInvalidRequest, Reason: "Invalid Request: empty batch"})
			return
		}
		if v := s.negotiatedVersion(); v != batchVersion {
			if v == "" {
				v = "none negotiated"
			}
			// Nothing of a refused batch is relayed; its intercepted members
			// are audited with the refusal.
			s.refuseBatch(elems, fmt.Sprintf("Invalid Request: JSON-RPC batches are not allowed under protocol version %s", v))
			return
		}
		// Elements are intercepted one by one and relayed as single messages;
		// the client matches the answers by id.
		for _, el := range elems {
			if el[0] != '{' {
				s.refuse(&Refusal{Code: CodeInvalidRequest, Reason: "Invalid Request: batch element is not an object"})
				continue
			}
			s.clientMessage(el)
		}
	default:
		if !json.Valid(raw) {
			s.refuse(&Refusal{Code: CodeParseError, Reason: "Parse error: message is not valid JSON"})
			return
		}
		s.refuse(&Refusal{Code: CodeInvalidRequest, Reason: "Invalid Request: a message must be a JSON object"})
	}
}

// refuseBatch refuses a batch whole: each member with a usable id gets an
// error of its own (a client, or an HTTP stream, waits for an answer to each
// id it sent), an intercepted member without one is reported unanswered,
// and a batch with no id to answer gets one error with a null id.
func (s *session) refuseBatch(elems []json.RawMessage, reason string) {
	answered := false
	for _, el := range elems {
		if len(el) == 0 || el[0] != '{' {
			continue
		}
		id, method, answer, _, ok := topFields(el)
		if !ok {
			continue
		}
		name := stringOrEmpty(method)
		if answer {
			// An answer to a server request: dropped, never answered with
			// its id (the server's, which the client would take for one of
			// its own).
			s.report(&Refusal{Reason: reason})
			continue
		}
		if id := usableID(id); id != nil {
			s.refuse(&Refusal{Method: name, ID: id, Code: CodeInvalidRequest, Reason: reason})
			answered = true
			continue
		}
		if intercepted(name) || isLookalike(name) {
			s.report(&Refusal{Method: name, Reason: reason})
		}
	}
	if !answered {
		s.refuse(&Refusal{Code: CodeInvalidRequest, Reason: reason})
	}
}

// clientMessage handles one JSON-RPC object from the client.
func (s *session) clientMessage(raw []byte) {
	m, err := parseMessage(raw)
	if err != nil {
		var inv *invalidError
		if errors.As(err, &inv) {
			s.refuseInvalid(inv)
		}
		return
	}
	if key, want, bad := misspelledMember(m.ms, jsonrpcMembers); bad {
		// A case-insensitive decoder would read this member as the one the
		// relay did not see.
		r := &Refusal{Method: m.method, Code: CodeInvalidRequest,
			Reason: fmt.Sprintf("Invalid Request: member %q is not %q (JSON-RPC member names are exact)", key, want)}
		if m.isReply {
			r.Code = 0 // an answer to the server is dropped, as an invalid notification is
		} else {
			r.ID = usableID(m.id)
		}
		s.refuse(r)
		return
	}
	if m.isCall {
		if target, ok := lookalike(m.method); ok {
			r := &Refusal{Method: m.method, Reason: fmt.Sprintf("Method not found: %q is not %q (method names are exact)", m.method, target)}
			if !m.isNotification() {
				r.ID, r.Code = m.id, CodeMethodNotFound
			}
			s.refuse(r)
			return
		}
	}
	switch {
	case m.isReply: // answer to a server request (sampling, roots, ...)
		s.toUpstream(m.raw, nil)
	case m.isNotification() && intercepted(m.method):
		// A notification is never answered, so it cannot carry a check's
		// outcome: an id-less tools/call or tools/list is never relayed.
		s.refuse(&Refusal{Method: m.method,
			Reason: fmt.Sprintf("Invalid Request: %s without an id (a notification) is not relayed", m.method)})
	case m.isNotification():
		if m.method == "notifications/cancelled" {
			s.clientCancelled(m)
		}
		s.toUpstream(m.raw, nil)
	case m.method == methodCall:
		s.startCall(m)
	case m.method == methodList:
		s.startList(m)
	case isTaskMethod(m.method):
		s.startTask(m)
	case m.method == methodListen:
		s.startListen(m)
	case m.method == methodTasks:
		s.startTaskList(m)
	default:
		k := kindPlain
		if m.method == "initialize" {
			k = kindInit
		}
		e, ok := s.addPending(m.id, k)
		if !ok {
			s.replyError(m.id, CodeInvalidRequest, "Invalid Request: id is already in use by a pending request", nil)
			return
		}
		s.toUpstream(m.raw, e)
	}
}

// refuseInvalid refuses a message that is not valid JSON-RPC: a request is
// answered with its id when it has a usable one, a notification dropped.
func (s *session) refuseInvalid(inv *invalidError) {
	r := &Refusal{Method: inv.method, ID: inv.id, Code: inv.code, Reason: inv.msg}
	if inv.notification || inv.answer {
		// A notification is never answered; nor is an answer to the
		// server, whose id the client would take for one of its own.
		r.ID, r.Code = nil, 0
	}
	s.refuse(r)
}

// refuse reports r and answers it when r.Code is set (with r.ID, or null).
func (s *session) refuse(r *Refusal) {
	s.report(r)
	if r.Code != 0 {
		s.replyError(r.ID, r.Code, r.Reason, nil)
	}
}

// report tells OnRefused of r, and logs it.
func (s *session) report(r *Refusal) {
	if r.Context == nil {
		r.Context = s.ctx
	}
	if r.Code == 0 {
		s.log.Warn("dropped client message", "method", r.Method, "reason", r.Reason)
	} else {
		s.log.Debug("refused client message", "method", r.Method, "reason", r.Reason)
	}
	if s.p.OnRefused != nil {
		s.p.OnRefused(r)
	}
}

func isLookalike(method string) bool { _, ok := lookalike(method); return ok }

// usableID returns id when it can be answered (a string or a number), else nil.
func usableID(id json.RawMessage) json.RawMessage {
	if _, ok := idKey(id); ok {
		return id
	}
	return nil
}

func stringOrEmpty(raw json.RawMessage) string {
	s, _ := jsonString(raw)
	return s
}

// clientCancelled frees the pending entry a notifications/cancelled names, and
// stops a call whose check is still running from being forwarded.
func (s *session) clientCancelled(m *message) {
	if m.params < 0 {
		return
	}
	p := value(m.raw, m.ms[m.params])
	ms, err := objectMembers(p)
	if err != nil {
		return
	}
	i := find(ms, "requestId")
	if i < 0 {
		return
	}
	key, ok := idKey(value(p, ms[i]))
	if !ok {
		return
	}
	s.cancelPending(key)
}

// params returns the raw params of m, or nil.
func (m *message) paramsRaw() json.RawMessage {
	if m.params < 0 {
		return nil
	}
	return value(m.raw, m.ms[m.params])
}

// withParams returns m's bytes with params replaced (or unchanged when p is
// the same slice).
func (m *message) withParams(p []byte) []byte {
	old := m.paramsRaw()
	if m.params < 0 || bytes.Equal(old, p) {
		return m.raw
	}
	return replaceValue(m.raw, m.ms[m.params], p)
}

// acquire takes a hook slot, waiting while MaxInFlight are busy.
func (s *session) acquire() bool {
	select {
	case s.sem <- struct{}{}:
		s.hooks.Add(1)
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *session) release() {
	<-s.sem
	s.hooks.Done()
}

// workerIdle is how long a hook worker waits for its next task.
const workerIdle = 5 * time.Second

// run runs f, which holds a hook slot, on a hook worker: each check has a
// goroutine of its own, so a slow one stalls nothing else. Workers outlive
// their task for a while (workpool), so the stack a check grew (curve
// arithmetic runs deep) serves the next one.
func (s *session) run(f func()) { s.workers.Go(f) }

// startCall checks a tools/call on a hook worker.
func (s *session) startCall(m *message) {
	call, fwdParams, err := parseCall(m.id, m.paramsRaw())
	e, ok := s.addPending(m.id, kindCall, func(e *pending) {
		if err == nil && (call.stateless || call.taskAugmented) {
			// The enforcement point leaves what an input_required answer
			// (a retry grant) or a task (the warrant to re-check) needs.
			e.stateless = call.stateless
			e.follow = &enforce.Followup{RequestState: call.requestState}
			e.ctx = enforce.WithFollowup(e.ctx, e.follow)
		}
	})
	if !ok {
		s.replyError(m.id, CodeInvalidRequest, "Invalid Request: id is already in use by a pending request", nil)
		return
	}
	if err != nil {
		if s.claim(e) {
			s.refuse(&Refusal{Method: m.method, ID: m.id, Code: CodeInvalidParams, Reason: "Invalid params: " + err.Error()})
		}
		return
	}
	fwd := m.withParams(fwdParams)
	if s.p.QuickHooks && !s.clientHasMore() {
		s.hooks.Add(1) // drain waits for the answer to be written
		defer s.hooks.Done()
		s.decide(e, call, s.authorize(e, call), fwd)
		return
	}
	if !s.acquire() {
		return
	}
	s.run(func() {
		defer s.release()
		v := s.authorize(e, call)
		s.decide(e, call, v, fwd)
	})
}

// clientHasMore reports whether the client's next message is already read
// (true when the connection cannot tell).
func (s *session) clientHasMore() bool {
	b, ok := s.client.(transport.Buffered)
	return !ok || b.Buffered()
}

// authorize runs the hook; nil hooks, nil verdicts and panics deny.
func (s *session) authorize(e *pending, call *Call) (v *Verdict) {
	if s.p.AuthorizeCall == nil {
		return &Verdict{Code: CodeAccessDenied, Message: "Access denied: no authorization configured"}
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("AuthorizeCall panicked; denying", "panic", r, "tool", call.Name)
			v = &Verdict{Code: CodeAccessDenied, Message: "Access denied: internal error"}
		}
	}()
	v = s.p.AuthorizeCall(e.ctx, call)
	if v == nil {
		v = &Verdict{Code: CodeAccessDenied, Message: "Access denied"}
	}
	return v
}

// decide forwards or answers a checked call.
func (s *session) decide(e *pending, call *Call, v *Verdict, fwd []byte) {
	if v.Allow || v.AuditOnly {
		if !v.Allow {
			// The audit hook records it; the log says it only when asked.
			s.log.Debug("audit only: call would be denied; forwarding", "tool", call.Name, "code", v.Code, "reason", v.Message)
		}
		e.fwd.Lock()
		defer e.fwd.Unlock()
		if e.cancelled {
			return
		}
		e.sent = true
		s.toUpstream(fwd, e)
		return
	}
	if !s.claim(e) { // cancelled, or the proxy stopped
		return
	}
	code, msg := v.Code, v.Message
	if code == 0 {
		code = CodeAccessDenied
	}
	if msg == "" {
		msg = "Access denied"
	}
	s.log.Debug("tools/call denied", "tool", call.Name, "code", code, "reason", msg)
	if s.p.DenyAsResult {
		type content struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		// The model reads the text; clients and tools read Tenuo's code
		// and name in _meta.tenuo, as error.data.tenuo carries them.
		var meta map[string]json.RawMessage
		if t := tenuoData(v.Data); t != nil {
			meta = map[string]json.RawMessage{"tenuo": t}
		}
		// A 2026-07-28 result says what it is: a complete one.
		var rt string
		if call.stateless {
			rt = "complete"
		}
		s.replyResult(e.id, struct {
			ResultType string                     `json:"resultType,omitempty"`
			Content    []content                  `json:"content"`
			IsError    bool                       `json:"isError"`
			Meta       map[string]json.RawMessage `json:"_meta,omitempty"`
		}{rt, []content{{"text", msg}}, true, meta})
		return
	}
	s.replyError(e.id, code, msg, v.Data)
}

// startList forwards a tools/list request and computes, alongside, which
// tools its answer may show.
func (s *session) startList(m *message) {
	params := m.paramsRaw()
	e, ok := s.addPending(m.id, kindList, func(e *pending) {
		e.keepReady = make(chan struct{})
		if e.stateless = paramsAreStateless(params); e.stateless {
			// The enforcement point says how long the warrant it filters
			// by lives, which bounds the listing's ttlMs.
			e.follow = &enforce.Followup{}
			e.ctx = enforce.WithFollowup(e.ctx, e.follow)
		}
	})
	if !ok {
		s.replyError(m.id, CodeInvalidRequest, "Invalid Request: id is already in use by a pending request", nil)
		return
	}
	req := &ListRequest{Params: params}
	fwdParams := params
	if params != nil {
		var err error
		req.Tenuo, fwdParams, err = stripMetaEnvelope(m.method, params)
		if err != nil {
			if s.claim(e) {
				s.refuse(&Refusal{Method: m.method, ID: m.id, Code: CodeInvalidParams, Reason: "Invalid params: " + err.Error()})
			}
			return
		}
	}
	if !s.acquire() {
		return
	}
	s.run(func() {
		defer s.release()
		defer close(e.keepReady)
		e.keep = s.filter(e, req)
	})
	s.toUpstream(m.withParams(fwdParams), e)
}

// filter runs the FilterTools hook; nil hooks, nil answers and panics hide
// everything.
func (s *session) filter(e *pending, req *ListRequest) (keep func(string) bool) {
	hideAll := func(string) bool { return false }
	if s.p.FilterTools == nil {
		return hideAll
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("FilterTools panicked; hiding every tool", "panic", r)
			keep = hideAll
		}
	}()
	keep = s.p.FilterTools(e.ctx, req)
	if keep == nil {
		return hideAll
	}
	return keep
}

// upstreamLoop reads the upstream until its stream ends. Answers relayed
// while the server's next message is already buffered are held back to
// share one write to the client with those after them (a burst of answers
// under concurrent calls); before any read that may wait, they are written.
func (s *session) upstreamLoop() error {
	r, _ := s.upstream.(transport.Ready)
	defer s.flushClient()
	ready := false // the upstream's next message is already buffered
	for {
		if !ready {
			s.flushClient()
		}
		msg, err := s.upstream.Read()
		// Only Read changes what is buffered: this holds until the next.
		ready = r != nil && r.MessageReady()
		var long *transport.LineTooLongError
		if errors.As(err, &long) {
			s.log.Warn("upstream message too long; dropped", "limit", long.Limit)
			// A request of the server's names an id of the server's: it
			// ends no request of the client's, and the server is told, as
			// a client is of its own oversized request.
			id, _, request := scanPrefix(long.Prefix)
			if request && usableID(id) != nil {
				b, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: CodeInvalidRequest,
					Message: fmt.Sprintf("Invalid Request: message exceeds the %d-byte limit", long.Limit)}})
				s.replyUpstream(b)
			}
			if id != nil && !request {
				if key, ok := idKey(id); ok {
					// As for an answer of ordinary size: one to a call not
					// yet forwarded (a guessed id) stands for nothing.
					s.upMu.Lock()
					if e, unsent := s.takeSent(key); e != nil {
						s.replyError(e.id, CodeInternalError, fmt.Sprintf("upstream answer exceeds the %d-byte limit", long.Limit), nil)
					} else if unsent {
						s.log.Warn("dropped oversized upstream answer to a tools/call not forwarded to it", "id", string(id))
					} else {
						s.takeRetired(key)
					}
					s.upMu.Unlock()
				}
			}
			continue
		}
		if err != nil {
			return err
		}
		if s.stopped.Load() {
			continue
		}
		s.upMu.Lock()
		s.fromUpstream(msg, ready)
		s.upMu.Unlock()
	}
}

// flushClient writes what relayUp held back.
func (s *session) flushClient() {
	if d, ok := s.client.(transport.Deferrer); ok {
		if err := d.Flush(); err != nil {
			s.log.Warn("write to client failed", "err", err)
		}
	}
}

// relayUp writes a message from the upstream to the client; with deferOut
// it may be held back until the upstream loop's next flush.
func (s *session) relayUp(msg []byte, deferOut bool) {
	if d, ok := s.client.(transport.Deferrer); ok && deferOut {
		if err := d.WriteDeferred(msg); err != nil {
			s.log.Warn("write to client failed", "err", err)
		}
		return
	}
	s.toClient(msg)
}

// fromUpstream handles one message (or batch) from the upstream; deferOut
// lets what it relays wait for the upstream loop's flush.
func (s *session) fromUpstream(raw []byte, deferOut bool) {
	if len(raw) == 0 || !utf8.Valid(raw) || (raw[0] != '{' && !json.Valid(raw)) {
		// An object's JSON is checked by upstreamMessage's scan.
		s.log.Warn("dropped non-JSON line from upstream", "bytes", len(raw))
		return
	}
	switch raw[0] {
	case '{':
		if out := s.upstreamMessage(raw); out != nil {
			s.relayUp(out, deferOut)
		}
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return
		}
		var out [][]byte
		for _, el := range elems {
			if len(el) > 0 && el[0] == '{' {
				if b := s.upstreamMessage(el); b != nil {
					out = append(out, b)
				}
			}
		}
		if len(out) > 0 {
			s.relayUp(append(append([]byte{'['}, bytes.Join(out, []byte{','})...), ']'), deferOut)
		}
	default:
		s.log.Warn("dropped upstream message that is not an object")
	}
}

// upstreamMessage returns what to send the client for one upstream object, or
// nil when it is dropped or already answered.
func (s *session) upstreamMessage(raw []byte) []byte {
	m, err := parseMessage(raw)
	if err != nil {
		s.log.Warn("dropped invalid message from upstream", "err", err)
		s.invalidAnswer(raw)
		return nil
	}
	if !m.isReply { // server request or notification: relay
		return m.raw
	}
	key, ok := idKey(m.id)
	var e *pending
	if ok {
		var unsent bool
		if e, unsent = s.takeSent(key); unsent {
			// The server answers a call it was never sent (the relay is
			// still checking it, or denied it): it guessed the id. Its
			// answer is not the call's, and must bind no task, grant no
			// retry, nor stand in for the relay's decision.
			s.log.Warn("dropped upstream answer to a tools/call not forwarded to it", "id", string(m.id))
			return nil
		}
	}
	if e == nil {
		if ok && s.takeRetired(key) {
			s.log.Debug("dropped upstream answer to a cancelled request", "id", string(m.id))
		} else {
			s.log.Warn("dropped upstream response to no pending request", "id", string(m.id))
		}
		return nil
	}
	switch {
	case m.result < 0:
		return m.raw
	case e.kind == kindInit:
		s.recordVersion(value(m.raw, m.ms[m.result]))
	case e.kind == kindCall && e.follow != nil:
		s.callAnswered(e, value(m.raw, m.ms[m.result]))
	case e.kind == kindTasks:
		out, err := s.filterTaskList(m.raw, m.ms[m.result])
		if err != nil {
			s.log.Error("malformed tasks/list result from upstream", "err", err)
			s.replyError(e.id, CodeInternalError, "upstream returned a malformed tasks/list result", nil)
			return nil
		}
		return out
	case e.kind == kindList:
		select {
		case <-e.keepReady:
		default: // answers held back are not kept waiting on the filter
			s.flushClient()
			<-e.keepReady
		}
		var cache *listCache
		if e.stateless {
			cache = &listCache{}
			cache.left, cache.bounded = e.follow.ListTTL()
		}
		out, err := filterToolsList(m.raw, m.ms[m.result], e.keep, cache)
		if err != nil {
			s.log.Error("malformed tools/list result from upstream", "err", err)
			s.replyError(e.id, CodeInternalError, "upstream returned a malformed tools/list result", nil)
			return nil
		}
		return out
	}
	return m.raw
}

// maxUpReplies bounds the relay's own answers to server requests waiting
// to be written; past it (a server that sends requests and does not read
// its input) they are dropped.
const maxUpReplies = 64

// replyUpstream queues an answer of the relay's own to a request of the
// server's. It is written off the upstream loop, since a write the server
// is slow to read would stop the reading of what it writes meanwhile, by
// one goroutine (started on first use, ended with the session), so that a
// server that does not read grows neither goroutines nor memory: when
// maxUpReplies wait, the answer is dropped and logged.
func (s *session) replyUpstream(b []byte) {
	s.upReplyStart.Do(func() {
		s.upReplies = make(chan []byte, maxUpReplies)
		go func() {
			for {
				select {
				case b := <-s.upReplies:
					s.toUpstream(b, nil)
				case <-s.ctx.Done():
					return
				}
			}
		}()
	})
	select {
	case s.upReplies <- b:
	default:
		s.log.Warn("the server is not reading; the relay's answer to one of its requests is dropped", "queued", maxUpReplies)
	}
}

// invalidAnswer ends the request that an upstream message the relay cannot
// relay answers (a result and an error, a key named twice): the client gets
// an error for it rather than waiting for ever; a tools/call not yet
// forwarded stays pending, as for any answer. A message with a method is
// the server's request: the server gets the error, as a client does for
// its own invalid request, and nothing of the client's ends.
func (s *session) invalidAnswer(raw []byte) {
	id, _, _, request, ok := topFields(raw)
	if !ok {
		return
	}
	key, ok := idKey(id)
	if !ok {
		return
	}
	if request {
		b, _ := json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: CodeInvalidRequest,
			Message: "Invalid Request: the MCP proxy could not relay this request"}})
		s.replyUpstream(b)
		return
	}
	if e, _ := s.takeSent(key); e != nil {
		s.replyError(e.id, CodeInternalError, "upstream sent an invalid answer", nil)
	} else {
		s.takeRetired(key)
	}
}

// recordVersion notes the protocolVersion of an initialize result.
func (s *session) recordVersion(result []byte) {
	ms, err := objectMembers(result)
	if err != nil {
		return
	}
	if i := find(ms, "protocolVersion"); i >= 0 {
		if v, ok := jsonString(value(result, ms[i])); ok {
			s.setVersion(v)
		}
	}
}

// scanPrefix reads the top-level members of the start of an oversized
// message: its "id" when it comes early enough (nil otherwise), whether it is an answer (a "result"
// or "error" member before any "method"; a request has neither), and
// whether it is a request or notification (a "method" member).
func scanPrefix(prefix []byte) (id json.RawMessage, answer, request bool) {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false, false
	}
	depth := 1
	expectKey := true
	idSeen := false
	for {
		t, err := dec.Token()
		if err != nil {
			return id, answer, request
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			if depth == 1 {
				expectKey = true
			}
			continue
		}
		if depth != 1 {
			continue
		}
		if !expectKey {
			expectKey = true
			continue
		}
		expectKey = false
		switch t {
		case "method":
			request, answer = true, false
			continue
		case "result", "error":
			answer = !request
			continue
		case "id":
		default:
			continue
		}
		expectKey = true // the value is read here
		v, err := dec.Token()
		if err != nil {
			return id, answer, request
		}
		if idSeen {
			continue // the first one stands
		}
		idSeen = true
		switch v := v.(type) {
		case string:
			id, _ = json.Marshal(v)
		case json.Number:
			id = json.RawMessage(v.String())
		case json.Delim: // an object or array id: no usable id
			depth++
		}
	}
}

// tenuoData returns error data's "tenuo" member, or nil.
func tenuoData(data json.RawMessage) json.RawMessage {
	if len(data) == 0 {
		return nil
	}
	var d struct {
		Tenuo json.RawMessage `json:"tenuo"`
	}
	if json.Unmarshal(data, &d) != nil || len(d.Tenuo) == 0 {
		return nil
	}
	return d.Tenuo
}

// callAnswered acts on the result of a call the relay let through, before
// the client sees it: an input_required result (2026-07-28) lets the retry
// that carries the same PoP and exactly the returned requestState pass the
// replay check once; a task handle is remembered as this session's.
func (s *session) callAnswered(e *pending, result []byte) {
	if id, ok := taskCreated(result); ok {
		s.rememberTask(id, e.follow)
		return
	}
	if !e.stateless {
		return
	}
	rms, err := objectMembers(result)
	if err != nil {
		return
	}
	ri := find(rms, "resultType")
	if ri < 0 {
		return
	}
	if rt, _ := jsonString(value(result, rms[ri])); rt != "input_required" {
		return
	}
	var st enforce.RequestState
	if si := find(rms, "requestState"); si >= 0 {
		v, ok := jsonString(value(result, rms[si]))
		if !ok {
			s.log.Warn("input_required result with a requestState that is not a string: its retry will be refused as a replay")
			return
		}
		st = enforce.RequestState{Present: true, Value: v}
	}
	if err := e.follow.AllowRetry(st); err != nil {
		s.log.Warn("input_required: the retry could not be granted; it will be refused as a replay", "err", err)
	}
}

// refusal is the refusal of request m with code and reason.
func (s *session) refusal(m *message, code int, reason string) *Refusal {
	return &Refusal{Method: m.method, ID: m.id, Code: code, Reason: reason}
}
