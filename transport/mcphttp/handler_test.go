package mcphttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// peer is the Accept side of the tests: a small MCP server written against
// Session, as the relay uses it.
//
//	initialize  → a result naming protocol version 2025-06-18
//	echo        → a notifications/message, then {"echo": params}
//	later       → its answer, then a notification sent outside any request
//	block       → no answer until cancelled (cancelled receives the id)
//	quit        → Accept returns without answering
//	anything else with an id → {}
type peer struct {
	cancelled chan string // requestId of each notifications/cancelled
	ended     chan string // the id of each session whose Accept returned
	mu        sync.Mutex
	sessions  []*Session
}

func newPeer() *peer {
	return &peer{cancelled: make(chan string, 16), ended: make(chan string, 16)}
}

func (p *peer) accept(ctx context.Context, s *Session) {
	p.mu.Lock()
	p.sessions = append(p.sessions, s)
	p.mu.Unlock()
	defer func() { p.ended <- s.ID() }()
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var msgs []json.RawMessage
		if raw[0] == '[' {
			json.Unmarshal(raw, &msgs)
		} else {
			msgs = []json.RawMessage{raw}
		}
		for _, one := range msgs {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			json.Unmarshal(one, &m)
			answer := func(result string) {
				s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + result + `}`))
			}
			switch m.Method {
			case "initialize":
				answer(`{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"peer","version":"1"}}`)
			case "echo":
				s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"echoing"}}`))
				answer(`{"echo":` + string(m.Params) + `}`)
			case "later":
				answer(`{}`)
				s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`))
			case "block":
			case "quit":
				return
			case "notifications/cancelled":
				var c struct {
					RequestID json.RawMessage `json:"requestId"`
				}
				json.Unmarshal(m.Params, &c)
				p.cancelled <- string(c.RequestID)
			default:
				if m.ID != nil {
					answer(`{}`)
				}
			}
		}
	}
}

type fixture struct {
	t    *testing.T
	h    *Handler
	p    *peer
	srv  *httptest.Server
	url  string
	sess string
}

func newFixture(t *testing.T, configure func(h *Handler)) *fixture {
	t.Helper()
	p := newPeer()
	h := &Handler{Accept: p.accept, Log: nil}
	if configure != nil {
		configure(h)
	}
	srv := httptest.NewServer(h) // a real listener on 127.0.0.1:0
	t.Cleanup(func() {
		h.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	return &fixture{t: t, h: h, p: p, srv: srv, url: srv.URL + "/mcp"}
}

// do sends one request to the MCP endpoint with the session (if any) and
// returns the response.
func (f *fixture) do(method, body string, hdr map[string]string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if f.sess != "" {
		req.Header.Set(HeaderSessionID, f.sess)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (f *fixture) initialize() {
	f.t.Helper()
	resp := f.do("POST", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`, nil)
	if resp.StatusCode != 200 {
		f.t.Fatalf("initialize: %d", resp.StatusCode)
	}
	f.sess = resp.Header.Get(HeaderSessionID)
	if len(f.sess) != 32 {
		f.t.Fatalf("session id %q", f.sess)
	}
	// An answer complete at once comes as one JSON value (the client
	// accepts both).
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Fatalf("initialize answered as %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"protocolVersion":"2025-06-18"`) {
		f.t.Fatalf("initialize answer %s", body)
	}
}

type event struct{ name, data string }

// answerMessages returns the messages of a POST's answer, one JSON value
// or an event stream (a client accepting both gets either).
func answerMessages(t *testing.T, resp *http.Response) []string {
	t.Helper()
	if resp.Header.Get("Content-Type") == "application/json" {
		b, _ := io.ReadAll(resp.Body)
		return []string{string(b)}
	}
	var out []string
	for _, ev := range readEvents(t, resp.Body) {
		out = append(out, ev.data)
	}
	return out
}

// readEvents reads an event stream to its end.
func readEvents(t *testing.T, r io.Reader) []event {
	t.Helper()
	var out []event
	es := newEventReader(r)
	for {
		e, err := es.next()
		if err != nil {
			return out
		}
		out = append(out, e)
	}
}

type eventReader struct{ br *bufio.Reader }

func newEventReader(r io.Reader) *eventReader { return &eventReader{bufio.NewReader(r)} }

func (er *eventReader) next() (event, error) {
	var e event
	var data []string
	for {
		line, err := er.br.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data == nil && e.name == "" {
				continue
			}
			e.data = strings.Join(data, "\n")
			return e, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "event: "):
			e.name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = append(data, line[len("data: "):])
		}
	}
}

func errorCode(t *testing.T, body []byte) int {
	t.Helper()
	var m struct {
		Error struct{ Code int } `json:"error"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return m.Error.Code
}

func TestStreamableSSEAnswerCarriesRelatedMessages(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	resp := f.do("POST", `{"jsonrpc":"2.0","id":"a","method":"echo","params":{"x":1}}`, map[string]string{HeaderProtocolVersion: "2025-06-18"})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readEvents(t, resp.Body)
	if len(events) != 2 || !strings.Contains(events[0].data, "notifications/message") ||
		events[1].data != `{"jsonrpc":"2.0","id":"a","result":{"echo":{"x":1}}}` || events[1].name != "message" {
		t.Fatalf("events %+v", events)
	}
}

// TestStreamableAnswerForm: a client accepting both gets an answer that is
// all there is to send, once it is there, as one JSON value; one with
// messages before it, or that takes longer than the headers may wait, as
// an event stream whose events carry ids (resumable).
func TestStreamableAnswerForm(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	resp := f.do("POST", `{"jsonrpc":"2.0","id":"p","method":"ping"}`, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"jsonrpc":"2.0","id":"p","result":{}}` {
		t.Fatalf("lone answer: %q %s", resp.Header.Get("Content-Type"), body)
	}
	resp = f.do("POST", `{"jsonrpc":"2.0","id":"e","method":"echo","params":{}}`, nil)
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("answer after a notification: %q", resp.Header.Get("Content-Type"))
	}
	if ev := readEvents(t, resp.Body); len(ev) != 2 {
		t.Fatalf("events %+v", ev)
	}
	// A slow answer: the headers go out as a stream after headerDelay.
	resp = f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, nil)
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("slow answer: %q", resp.Header.Get("Content-Type"))
	}
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()
	s.Write([]byte(`{"jsonrpc":"2.0","id":"b","result":{"late":true}}`))
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "id: p") || !strings.Contains(string(b), `"late":true`) {
		t.Fatalf("slow answer's stream: %q", b)
	}
	// Nothing of the JSON-answered POSTs is kept for resumption.
	s.mu.Lock()
	defer s.mu.Unlock()
	for num, st := range s.resumable {
		if !st.wasSent() {
			t.Errorf("stream %d kept without an event sent", num)
		}
	}
	if len(s.posts) != 0 || len(s.waiting) != 0 {
		t.Errorf("posts %d, waiting %d", len(s.posts), len(s.waiting))
	}
}

func TestStreamableJSONAnswer(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	resp := f.do("POST", `{"jsonrpc":"2.0","id":7,"method":"echo","params":{}}`, map[string]string{"Accept": "application/json"})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"jsonrpc":"2.0","id":7,"result":{"echo":{}}}` {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	// A notification sent while a JSON answer is awaited waits for the GET
	// stream; the batch is answered as an array.
	resp = f.do("POST", `[{"jsonrpc":"2.0","id":8,"method":"ping"},{"jsonrpc":"2.0","id":9,"method":"ping"}]`, map[string]string{"Accept": "application/json"})
	body, _ = io.ReadAll(resp.Body)
	if string(body) != `[{"jsonrpc":"2.0","id":8,"result":{}},{"jsonrpc":"2.0","id":9,"result":{}}]` &&
		string(body) != `[{"jsonrpc":"2.0","id":9,"result":{}},{"jsonrpc":"2.0","id":8,"result":{}}]` {
		t.Fatalf("batch answer %s", body)
	}
	get := f.do("GET", "", map[string]string{"Accept": "text/event-stream"})
	e, err := newEventReader(get.Body).next()
	if err != nil || !strings.Contains(e.data, "notifications/message") {
		t.Fatalf("GET stream: %+v %v", e, err)
	}
}

// TestOtherSupportedVersionInSession: a request naming a supported version
// other than the session's is answered, as servers answer it (the MCP
// conformance suite's server-accepts-multiple-post-streams sends
// 2025-03-26 in a 2025-11-25 session); an unsupported one is not.
func TestOtherSupportedVersionInSession(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	for _, v := range Versions {
		resp := f.do("POST", `{"jsonrpc":"2.0","id":3,"method":"echo","params":{}}`, map[string]string{"Accept": "application/json", HeaderProtocolVersion: v})
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != `{"jsonrpc":"2.0","id":3,"result":{"echo":{}}}` {
			t.Errorf("version %s in a session: status %d, body %s", v, resp.StatusCode, body)
		}
	}
}

func TestNotificationsAndResponsesGet202(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	for _, body := range []string{
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":"s1","result":{}}`,
	} {
		if resp := f.do("POST", body, nil); resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: %d", body, resp.StatusCode)
		}
	}
}

func TestGetStreamCarriesUnsolicitedMessages(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	get := f.do("GET", "", map[string]string{"Accept": "text/event-stream"})
	if get.StatusCode != 200 {
		t.Fatalf("GET: %d", get.StatusCode)
	}
	if second := f.do("GET", "", map[string]string{"Accept": "text/event-stream"}); second.StatusCode != http.StatusConflict {
		t.Errorf("second GET: %d", second.StatusCode)
	}
	resp := f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"later"}`, nil)
	if ms := answerMessages(t, resp); len(ms) != 1 {
		t.Fatalf("POST answer %q", ms)
	}
	e, err := newEventReader(get.Body).next()
	if err != nil || e.data != `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}` {
		t.Fatalf("GET stream: %+v %v", e, err)
	}
}

// TestBadInput: each malformed or unwelcome request gets its own status and
// never reaches the session.
func TestBadInput(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.MaxBody = 1024 })
	f.initialize()
	call := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{}}}`
	cases := []struct {
		name     string
		method   string
		body     string
		hdr      map[string]string
		noSess   bool
		status   int
		rpcCode  int
		bodyPart string
	}{
		{"wrong content type", "POST", call, map[string]string{"Content-Type": "text/plain"}, false, 415, codeInvalidRequest, "application/json"},
		{"content type with another charset", "POST", call, map[string]string{"Content-Type": "application/json; charset=latin1"}, false, 415, codeInvalidRequest, ""},
		{"body over the cap", "POST", `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":"` + strings.Repeat("a", 2000) + `"}}`, nil, false, 413, codeInvalidRequest, "1024"},
		{"unknown session", "POST", call, map[string]string{HeaderSessionID: "0123456789abcdef0123456789abcdef"}, false, 404, codeInvalidRequest, ""},
		{"made-up session", "POST", call, map[string]string{HeaderSessionID: "../../etc"}, false, 404, codeInvalidRequest, ""},
		{"no session, not initialize", "POST", call, nil, true, 400, codeInvalidRequest, HeaderSessionID},
		{"unsupported protocol version", "POST", call, map[string]string{HeaderProtocolVersion: "2099-01-01"}, false, 400, codeInvalidRequest, "unsupported"},
		{"stateless protocol version in a session", "POST", call, map[string]string{HeaderProtocolVersion: "2026-07-28"}, false, 400, codeInvalidRequest, "no sessions"},
		{"foreign Origin", "POST", call, map[string]string{"Origin": "https://evil.example"}, false, 403, codeInvalidRequest, "Origin"},
		{"Origin that is no URL", "POST", call, map[string]string{"Origin": "null"}, false, 403, codeInvalidRequest, ""},
		{"Mcp-Method mismatch", "POST", call, map[string]string{HeaderMethod: "tools/list"}, false, 400, CodeHeaderMismatch, "Mcp-Method"},
		{"Mcp-Method look-alike", "POST", call, map[string]string{HeaderMethod: "Tools/Call"}, false, 400, CodeHeaderMismatch, ""},
		{"Mcp-Name mismatch", "POST", call, map[string]string{HeaderMethod: "tools/call", HeaderName: "other"}, false, 400, CodeHeaderMismatch, "Mcp-Name"},
		{"Mcp-Method on a batch", "POST", "[" + call + "]", map[string]string{HeaderMethod: "tools/call"}, false, 400, CodeHeaderMismatch, ""},
		{"not JSON", "POST", `{"jsonrpc":`, nil, false, 400, codeParseError, ""},
		{"duplicate method member", "POST", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`, nil, false, 400, codeInvalidRequest, "twice"},
		{"id that is an object", "POST", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, nil, false, 400, codeInvalidRequest, "id"},
		{"null id on a request", "POST", `{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"echo"}}`, nil, false, 400, codeInvalidRequest, "string or a number"},
		{"null id on a request in a batch", "POST", `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":null,"method":"ping"}]`, nil, false, 400, codeInvalidRequest, "string or a number"},
		{"empty batch", "POST", `[]`, nil, false, 400, codeInvalidRequest, ""},
		{"accepts neither JSON nor SSE", "POST", call, map[string]string{"Accept": "text/html"}, false, 406, codeInvalidRequest, ""},
		{"GET without SSE", "GET", "", map[string]string{"Accept": "application/json"}, false, 406, codeInvalidRequest, ""},
		{"GET without session", "GET", "", map[string]string{"Accept": "text/event-stream"}, true, 400, codeInvalidRequest, ""},
		{"PUT", "PUT", call, nil, false, 405, codeInvalidRequest, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess := f.sess
			if c.noSess {
				f.sess = ""
			}
			resp := f.do(c.method, c.body, c.hdr)
			f.sess = sess
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if code := errorCode(t, body); code != c.rpcCode {
				t.Errorf("JSON-RPC code %d, want %d", code, c.rpcCode)
			}
			if !strings.Contains(string(body), c.bodyPart) {
				t.Errorf("body %s lacks %q", body, c.bodyPart)
			}
		})
	}
	// Two session ids, the second another session's (or the same twice):
	// 400, whichever a proxy in front would have read.
	other := newFixture(t, nil)
	other.initialize()
	for _, ids := range [][]string{{f.sess, other.sess}, {f.sess, f.sess}} {
		for _, m := range []string{"POST", "GET", "DELETE"} {
			req, _ := http.NewRequest(m, f.url, strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"ping"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header[HeaderSessionID] = ids
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(body), "more than one") {
				t.Errorf("%s with two %s lines: %d %s", m, HeaderSessionID, resp.StatusCode, body)
			}
		}
	}
	if resp, err := http.Post(f.srv.URL+"/message?sessionId=a&sessionId=b", "application/json", strings.NewReader(call)); err != nil || resp.StatusCode != 400 {
		t.Errorf("legacy POST naming two sessions: %v %v", resp.StatusCode, err)
	}
	// The session still works, and the Origin of a local page is accepted.
	resp := f.do("POST", `{"jsonrpc":"2.0","id":"ok","method":"ping"}`, map[string]string{"Origin": "http://localhost:3000"})
	if ms := answerMessages(t, resp); resp.StatusCode != 200 || len(ms) != 1 || ms[0] != `{"jsonrpc":"2.0","id":"ok","result":{}}` {
		t.Fatalf("after the bad input: %d %q", resp.StatusCode, ms)
	}
}

func TestBoundHeaders(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.BoundHeaders = []string{"X-Tenuo-Warrant"} })
	resp := f.do("POST", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`, map[string]string{"X-Tenuo-Warrant": "W1"})
	f.sess = resp.Header.Get(HeaderSessionID)
	readEvents(t, resp.Body)
	f.p.mu.Lock()
	s := f.p.sessions[0]
	f.p.mu.Unlock()
	if s.Header("x-tenuo-warrant") != "W1" {
		t.Fatalf("bound header %q", s.Header("X-Tenuo-Warrant"))
	}
	for _, c := range []struct {
		hdr    map[string]string
		status int
	}{
		{map[string]string{"X-Tenuo-Warrant": "W1"}, 200},
		{nil, 200},
		{map[string]string{"X-Tenuo-Warrant": "W2"}, 400},
	} {
		resp := f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, c.hdr)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != c.status {
			t.Errorf("%v: %d, want %d", c.hdr, resp.StatusCode, c.status)
		}
	}
}

func TestLimits(t *testing.T) {
	t.Run("requests in flight per session", func(t *testing.T) {
		f := newFixture(t, func(h *Handler) { h.MaxInFlight = 1 })
		f.initialize()
		block := f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, nil)
		if block.StatusCode != 200 {
			t.Fatal(block.StatusCode)
		}
		resp := f.do("POST", `{"jsonrpc":"2.0","id":2,"method":"ping"}`, nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp := f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"ping"}`, map[string]string{}); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("duplicate id in flight", func(t *testing.T) {
		f := newFixture(t, nil)
		f.initialize()
		f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, nil)
		if resp := f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"ping"}`, nil); resp.StatusCode != 400 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("requests in flight in all", func(t *testing.T) {
		f := newFixture(t, func(h *Handler) { h.MaxInFlightTotal = 1 })
		f.initialize()
		f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, nil)
		resp := f.do("POST", `{"jsonrpc":"2.0","id":2,"method":"ping"}`, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		f := newFixture(t, func(h *Handler) { h.MaxSessions = 1 })
		f.initialize()
		f.sess = ""
		resp := f.do("POST", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`, nil)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("sessions per client", func(t *testing.T) {
		f := newFixture(t, func(h *Handler) { h.MaxSessionsPerClient = 1 })
		f.initialize()
		f.sess = ""
		resp := f.do("POST", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`, nil)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}

// TestClientGoneCancels: a client that disconnects while its request runs
// has it cancelled upstream.
func TestClientGoneCancels(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", f.url, strings.NewReader(`{"jsonrpc":"2.0","id":"slow","method":"block"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSessionID, f.sess)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	cancel()
	resp.Body.Close()
	select {
	case id := <-f.p.cancelled:
		if id != `"slow"` {
			t.Fatalf("cancelled %s", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notifications/cancelled reached the session")
	}
	if n := f.h.InFlight(); n != 0 {
		t.Errorf("%d requests still counted in flight", n)
	}
}

func TestSessionEnds(t *testing.T) {
	t.Run("DELETE", func(t *testing.T) {
		f := newFixture(t, nil)
		f.initialize()
		if resp := f.do("DELETE", "", nil); resp.StatusCode != http.StatusNoContent {
			t.Fatal(resp.StatusCode)
		}
		<-f.p.ended
		if resp := f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil); resp.StatusCode != 404 {
			t.Fatal(resp.StatusCode)
		}
	})
	t.Run("idle expiry", func(t *testing.T) {
		f := newFixture(t, func(h *Handler) { h.IdleTimeout = time.Hour })
		f.initialize()
		if n := f.h.ExpireIdle(time.Now().Add(-time.Minute)); n != 0 {
			t.Fatalf("expired %d sessions idle for less than a minute", n)
		}
		if n := f.h.ExpireIdle(time.Now().Add(time.Second)); n != 1 {
			t.Fatalf("expired %d sessions", n)
		}
		<-f.p.ended
		if resp := f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil); resp.StatusCode != 404 {
			t.Fatal(resp.StatusCode)
		}
	})
	t.Run("Accept returns", func(t *testing.T) {
		f := newFixture(t, nil)
		f.initialize()
		// A request awaiting its answer is answered with an error when the
		// session ends under it: every request gets exactly one answer.
		block := f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, nil)
		resp := f.do("POST", `{"jsonrpc":"2.0","id":"q","method":"quit"}`, nil)
		<-f.p.ended
		for _, r := range []*http.Response{block, resp} {
			ms := answerMessages(t, r)
			if len(ms) != 1 || !strings.Contains(ms[0], `"code":-32603`) {
				t.Fatalf("answer after the session ended: %q", ms)
			}
		}
		if resp := f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil); resp.StatusCode != 404 {
			t.Fatal(resp.StatusCode)
		}
		if f.h.Sessions() != 0 || f.h.InFlight() != 0 {
			t.Fatalf("sessions %d, in flight %d", f.h.Sessions(), f.h.InFlight())
		}
	})
}

func TestLegacySSE(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.BoundHeaders = []string{"X-Tenuo-Warrant"} })
	req, _ := http.NewRequest("GET", f.srv.URL+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-Tenuo-Warrant", "W")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	er := newEventReader(resp.Body)
	e, err := er.next()
	if err != nil || e.name != "endpoint" || !strings.HasPrefix(e.data, "/message?sessionId=") {
		t.Fatalf("first event %+v %v", e, err)
	}
	post := func(body string, hdr map[string]string) int {
		req, _ := http.NewRequest("POST", f.srv.URL+e.data, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		r, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if s := post(`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"y":2}}`, nil); s != http.StatusAccepted {
		t.Fatal(s)
	}
	for _, want := range []string{`notifications/message`, `{"jsonrpc":"2.0","id":1,"result":{"echo":{"y":2}}}`} {
		e, err := er.next()
		if err != nil || e.name != "message" || !strings.Contains(e.data, want) {
			t.Fatalf("event %+v %v, want %s", e, err, want)
		}
	}
	if s := post(`{"jsonrpc":"2.0","id":2,"method":"ping"}`, map[string]string{"X-Tenuo-Warrant": "other"}); s != 400 {
		t.Errorf("differing bound header: %d", s)
	}
	if s := post(`{"jsonrpc":"2.0","id":2,"method":"ping"}`, map[string]string{"Content-Type": "text/plain"}); s != 415 {
		t.Errorf("wrong content type: %d", s)
	}
	req, _ = http.NewRequest("POST", f.srv.URL+"/message?sessionId=nope", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if r, _ := f.srv.Client().Do(req); r.StatusCode != 404 {
		t.Errorf("unknown legacy session: %d", r.StatusCode)
	}
	// A streamable HTTP request cannot name a legacy session.
	f.sess = strings.TrimPrefix(e.data, "/message?sessionId=")
	if r := f.do("POST", `{"jsonrpc":"2.0","id":3,"method":"ping"}`, nil); r.StatusCode != 404 {
		t.Errorf("legacy session on /mcp: %d", r.StatusCode)
	}
	resp.Body.Close()
	<-f.p.ended // closing the stream ends the session
}

func TestSSEFramingKeepsLineBreaksOutOfData(t *testing.T) {
	msg := []byte("{\"a\":\r\n1,\r\"b\":\n2}")
	ev := appendEvent(nil, "message", "", msg)
	e, err := newEventReader(bytes.NewReader(ev)).next()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if err := json.Unmarshal([]byte(e.data), &v); err != nil || v["a"] != 1 || v["b"] != 2 {
		t.Fatalf("%q → %q: %v", msg, e.data, err)
	}
}

// TestGetStreamResumes: the GET stream's events carry ids, and a client
// that reconnects with Last-Event-ID gets what it missed, and only that.
func TestGetStreamResumes(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	get := f.do("GET", "", map[string]string{"Accept": "text/event-stream"})
	f.do("POST", `{"jsonrpc":"2.0","id":1,"method":"later"}`, nil)
	first, err := newEventReader(get.Body).next()
	if err != nil || !strings.Contains(first.data, "list_changed") {
		t.Fatalf("first event %+v %v", first, err)
	}
	get.Body.Close()
	f.do("POST", `{"jsonrpc":"2.0","id":2,"method":"later"}`, nil) // missed by the closed stream
	resumed := f.do("GET", "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": "g1"})
	if resumed.StatusCode != 200 {
		t.Fatalf("resuming GET: %d", resumed.StatusCode)
	}
	br := bufio.NewReader(resumed.Body)
	var lines []string
	for len(lines) < 3 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimRight(line, "\n"))
	}
	if lines[0] != "id: g2" || lines[1] != "event: message" || !strings.Contains(lines[2], "list_changed") {
		t.Fatalf("resumed stream begins %q", lines)
	}
	// An id this session never gave replays nothing from the log.
	if r := f.do("GET", "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": "g99"}); r.StatusCode != 200 {
		t.Fatalf("GET with an unknown Last-Event-ID: %d", r.StatusCode)
	}
}

// TestMediaTypeFastPaths: the Accept and Content-Type readers, which skip
// mime.ParseMediaType on the plain spellings, decide as it does.
func TestMediaTypeFastPaths(t *testing.T) {
	ref := func(vs []string) (j, e bool) {
		if len(vs) == 0 {
			return true, true
		}
		for _, v := range vs {
			for part := range strings.SplitSeq(v, ",") {
				mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
				if err != nil {
					continue
				}
				switch mt {
				case "application/json", "application/*":
					j = true
				case "text/event-stream", "text/*":
					e = true
				case "*/*":
					j, e = true, true
				}
			}
		}
		return j, e
	}
	for _, vs := range [][]string{nil, {""}, {"application/json"}, {"text/event-stream"}, {"application/json, text/event-stream"},
		{"APPLICATION/JSON"}, {"application/json;q=0.5"}, {"text/event-stream; charset=\"x\""}, {"application /json"},
		{"application/json ,  text/*"}, {"*/*"}, {"application/*"}, {"text/html", "application/json"}, {",,"},
		{"application/json\t"}, {"application/jsonx"}, {"text/event-stream;"}, {"Text/Event-Stream"}, {"a/b;c"}} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		for _, v := range vs {
			r.Header.Add("Accept", v)
		}
		gj, ge := accepts(r)
		wj, we := ref(vs)
		if gj != wj || ge != we {
			t.Errorf("Accept %q: %v %v, want %v %v", vs, gj, ge, wj, we)
		}
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/json; charset=latin1",
		"Application/JSON", "application/json;", "text/plain", "", "application/json x"} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Content-Type", ct)
		mt, params, err := mime.ParseMediaType(ct)
		cs, ok := params["charset"]
		want := err == nil && mt == "application/json" && (!ok || strings.EqualFold(cs, "utf-8"))
		if got := contentTypeOK(r); got != want {
			t.Errorf("Content-Type %q: %v, want %v", ct, got, want)
		}
	}
}
