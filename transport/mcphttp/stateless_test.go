package mcphttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// statelessPeer is the Accept side of the 2026-07-28 tests: it answers as a
// stateless server would, and records which session each request reached.
//
//	tools/list           → one tool, "fetch", whose "region" argument is mirrored in Mcp-Param-Region
//	tools/call           → {"id": the id it saw, "session": the session's id}
//	server/discover      → a fixed result
//	completion/complete  → like tools/call, 150 ms later ("slow")
//	prompts/list         → no answer until cancelled (cancelled receives the id it saw)
//	subscriptions/listen → an acknowledgement and a list_changed on the subscription, no answer
type statelessPeer struct {
	cancelled chan string
}

const discoverResult = `{"supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"peer","version":"1"}}`

func (p *statelessPeer) accept(ctx context.Context, s *Session) {
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		json.Unmarshal(raw, &m)
		answer := func(result string) {
			s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + result + `}`))
		}
		seen := func() string {
			return fmt.Sprintf(`{"resultType":"complete","seen":%s,"session":%q}`, m.ID, s.ID())
		}
		switch m.Method {
		case "tools/list":
			answer(`{"tools":[{"name":"fetch","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"n":{"type":"integer"}}}}]}`)
		case "tools/call":
			answer(seen())
		case "server/discover":
			answer(discoverResult)
		case "completion/complete":
			go func(r string) { time.Sleep(150 * time.Millisecond); answer(r) }(seen())
		case "prompts/list":
		case "subscriptions/listen":
			sub := `"_meta":{"io.modelcontextprotocol/subscriptionId":` + string(m.ID) + `}`
			s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{` + sub + `}}`))
			s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{` + sub + `}}`))
		case "notifications/cancelled":
			var c struct {
				RequestID json.RawMessage `json:"requestId"`
			}
			json.Unmarshal(m.Params, &c)
			p.cancelled <- string(c.RequestID)
		}
	}
}

type statelessFixture struct {
	t   *testing.T
	h   *Handler
	p   *statelessPeer
	srv *httptest.Server
}

func newStatelessFixture(t *testing.T, configure func(h *Handler)) *statelessFixture {
	t.Helper()
	p := &statelessPeer{cancelled: make(chan string, 16)}
	h := &Handler{Accept: p.accept, CallerKey: func(r *http.Request) string { return r.Header.Get("X-Caller") },
		BoundHeaders: []string{"X-Tenuo-Warrant"}}
	if configure != nil {
		configure(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	return &statelessFixture{t: t, h: h, p: p, srv: srv}
}

// request renders a 2026-07-28 request with its _meta triple.
func request(id, method, params string) string {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	if params == "" {
		params = "{" + meta + "}"
	} else {
		params = "{" + params + "," + meta + "}"
	}
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + params + `}`
}

// headersFor are the headers a correct client sends with request(…).
func headersFor(method, name string) map[string]string {
	h := map[string]string{HeaderProtocolVersion: "2026-07-28", HeaderMethod: method}
	if name != "" {
		h[HeaderName] = name
	}
	return h
}

func (f *statelessFixture) do(ctx context.Context, method, body string, hdr map[string]string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.srv.URL+"/mcp", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
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

// call POSTs body and returns the status and the JSON-RPC answer.
func (f *statelessFixture) call(body string, hdr map[string]string) (int, map[string]json.RawMessage, http.Header) {
	f.t.Helper()
	resp := f.do(context.Background(), "POST", body, hdr)
	b, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		evs := readEvents(f.t, strings.NewReader(string(b)))
		if len(evs) == 0 {
			f.t.Fatalf("empty stream")
		}
		b = []byte(evs[len(evs)-1].data)
	}
	var m map[string]json.RawMessage
	if resp.StatusCode != http.StatusAccepted {
		if err := json.Unmarshal(b, &m); err != nil {
			f.t.Fatalf("answer %d %q: %v", resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestStatelessRefusals sends 2026-07-28 requests whose headers, _meta or
// method are wrong: each gets its status and code, and none reaches the
// server.
func TestStatelessRefusals(t *testing.T) {
	f := newStatelessFixture(t, nil)
	list := headersFor("tools/list", "")
	call := headersFor("tools/call", "fetch")
	fetch := request("1", "tools/call", `"name":"fetch","arguments":{"region":"eu west","n":2}`)
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		code   int
	}{
		{"no Mcp-Method", request("1", "tools/list", ""), with(list, HeaderMethod, ""), 400, CodeHeaderMismatch},
		{"Mcp-Method differs", request("1", "tools/list", ""), with(list, HeaderMethod, "prompts/list"), 400, CodeHeaderMismatch},
		{"Mcp-Method differs in case", request("1", "tools/list", ""), with(list, HeaderMethod, "Tools/list"), 400, CodeHeaderMismatch},
		{"no Mcp-Name on tools/call", fetch, with(call, HeaderName, ""), 400, CodeHeaderMismatch},
		{"Mcp-Name differs", fetch, with(call, HeaderName, "fetch2"), 400, CodeHeaderMismatch},
		{"Mcp-Name on tools/list", request("1", "tools/list", ""), with(list, HeaderName, "x"), 400, CodeHeaderMismatch},
		{"no Mcp-Name on resources/read", request("1", "resources/read", `"uri":"file:///a"`), headersFor("resources/read", ""), 400, CodeHeaderMismatch},
		{"Mcp-Name differs from uri", request("1", "resources/read", `"uri":"file:///a"`), headersFor("resources/read", "file:///b"), 400, CodeHeaderMismatch},
		{"no _meta version", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, list, 400, codeInvalidParams},
		{"_meta version not a string", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":20260728}}}`, list, 400, codeInvalidParams},
		{"no clientCapabilities", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, list, 400, codeInvalidParams},
		{"header version differs from _meta", request("1", "tools/list", ""), with(list, HeaderProtocolVersion, "2027-01-01"), 400, CodeHeaderMismatch},
		{"no version header, _meta version", request("1", "tools/list", ""), with(list, HeaderProtocolVersion, ""), 400, CodeHeaderMismatch},
		{"legacy version header, _meta version", request("1", "tools/list", ""), with(list, HeaderProtocolVersion, "2025-11-25"), 400, CodeHeaderMismatch},
		{"unsupported version", strings.ReplaceAll(request("1", "tools/list", ""), "2026-07-28", "2027-01-01"), with(list, HeaderProtocolVersion, "2027-01-01"), 400, CodeUnsupportedVersion},
		{"unknown method", request("1", "tools/delete", ""), headersFor("tools/delete", ""), 404, codeMethodNotFound},
		{"ping is gone", request("1", "ping", ""), headersFor("ping", ""), 404, codeMethodNotFound},
		{"logging/setLevel is gone", request("1", "logging/setLevel", `"level":"debug"`), headersFor("logging/setLevel", ""), 404, codeMethodNotFound},
		{"initialize with a 2026 header", request("1", "initialize", ""), headersFor("initialize", ""), 404, codeMethodNotFound},
		{"batch", "[" + request("1", "tools/list", "") + "]", list, 400, codeInvalidRequest},
		{"a response", `{"jsonrpc":"2.0","id":1,"result":{}}`, list, 400, codeInvalidRequest},
		{"unknown notification", `{"jsonrpc":"2.0","method":"notifications/initialized"}`, headersFor("notifications/initialized", ""), 404, codeMethodNotFound},
		{"Mcp-Param on tools/list", request("1", "tools/list", ""), with(list, "Mcp-Param-Region", "eu"), 400, CodeHeaderMismatch},
		{"Mcp-Param before any listing", fetch, with(call, "Mcp-Param-Region", "eu west"), 400, CodeHeaderMismatch},
		{"two warrant headers", request("1", "tools/list", ""), list, 400, codeInvalidRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			if c.name == "two warrant headers" {
				req, _ := http.NewRequest("POST", f.srv.URL+"/mcp", strings.NewReader(c.body))
				for k, v := range c.hdr {
					req.Header.Set(k, v)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Add("X-Tenuo-Warrant", "a")
				req.Header.Add("X-Tenuo-Warrant", "b")
				var err error
				if resp, err = f.srv.Client().Do(req); err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
			} else {
				resp = f.do(context.Background(), "POST", c.body, c.hdr)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status || errorCode(t, b) != c.code {
				t.Fatalf("got %d %s, want %d with %d", resp.StatusCode, b, c.status, c.code)
			}
			if resp.Header.Get(HeaderSessionID) != "" {
				t.Fatal("a 2026-07-28 answer carries a session id")
			}
			if c.code == CodeUnsupportedVersion && !strings.Contains(string(b), `"supported":["2024-11-05","2025-03-26","2025-06-18","2025-11-25","2026-07-28"]`) {
				t.Fatalf("-32022 without the versions spoken: %s", b)
			}
		})
	}
	if n := f.h.Sessions(); n != 0 {
		t.Fatalf("refused requests opened %d sessions", n)
	}
	for _, m := range []string{"GET", "DELETE"} {
		resp := f.do(context.Background(), m, "", map[string]string{HeaderProtocolVersion: "2026-07-28"})
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s with a 2026-07-28 header: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// TestStatelessParamHeaders checks Mcp-Param-* against the arguments, by the
// schema the caller's listing showed.
func TestStatelessParamHeaders(t *testing.T) {
	f := newStatelessFixture(t, nil)
	if st, m, _ := f.call(request("1", "tools/list", ""), headersFor("tools/list", "")); st != 200 || m["result"] == nil {
		t.Fatalf("tools/list: %d %v", st, m)
	}
	call := headersFor("tools/call", "fetch")
	body := func(args string) string { return request("2", "tools/call", `"name":"fetch","arguments":`+args) }
	cases := []struct {
		name, args, header string // header "" sends none
		status             int
	}{
		{"plain", `{"region":"eu"}`, "eu", 200},
		{"base64 for a space", `{"region":"eu west "}`, "=?base64?ZXUgd2VzdCA=?=", 200},
		{"argument absent, no header", `{"n":1}`, "", 200},
		{"argument null, no header", `{"region":null}`, "", 200},
		{"header missing", `{"region":"eu"}`, "", 400},
		{"header differs", `{"region":"eu"}`, "us", 400},
		{"header differs in case", `{"region":"eu"}`, "EU", 400},
		{"header for an absent argument", `{}`, "eu", 400},
		{"bad base64", `{"region":"eu"}`, "=?base64?!!?=", 400},
		{"base64 of another value", `{"region":"eu"}`, "=?base64?dXM=?=", 400},
		{"argument not a primitive", `{"region":{"x":1}}`, "eu", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := call
			if c.header != "" {
				h = with(call, "Mcp-Param-Region", c.header)
			}
			st, m, _ := f.call(body(c.args), h)
			if st != c.status {
				t.Fatalf("got %d %v, want %d", st, m, c.status)
			}
			if c.status == 400 && errorCode(t, mustJSON(m)) != CodeHeaderMismatch {
				t.Fatalf("code: %v", m)
			}
		})
	}
	if st, _, _ := f.call(body(`{"region":"eu"}`), with(call, "Mcp-Param-Region", "eu", "Mcp-Param-Zone", "a")); st != 400 {
		t.Fatalf("an Mcp-Param header no argument declares: %d", st)
	}
	// The caller's session expires; its next one still checks the headers
	// by the listing the caller was given.
	if n := f.h.ExpireIdle(time.Now().Add(time.Hour)); n != 1 {
		t.Fatalf("expired %d sessions", n)
	}
	if st, m, _ := f.call(body(`{"region":"eu"}`), with(call, "Mcp-Param-Region", "eu")); st != 200 {
		t.Fatalf("after expiry, a right header: %d %v", st, m)
	}
	if st, _, _ := f.call(body(`{"region":"eu"}`), with(call, "Mcp-Param-Region", "us")); st != 400 {
		t.Fatalf("after expiry, a wrong header: %d", st)
	}
	// Another caller has listed nothing: it cannot send the header.
	if st, _, _ := f.call(body(`{"region":"eu"}`), with(call, "Mcp-Param-Region", "eu", "X-Caller", "other")); st != 400 {
		t.Fatalf("another caller's listing checked this one's headers: %d", st)
	}
}

func mustJSON(m map[string]json.RawMessage) []byte {
	b, _ := json.Marshal(m)
	return b
}

// TestStatelessCallers: each caller (and each warrant header of a caller)
// has its own pooled session; one caller's requests share it, and two
// concurrent requests of one caller with the same id are both answered
// under that id.
func TestStatelessCallers(t *testing.T) {
	f := newStatelessFixture(t, nil)
	sessionOf := func(caller, warrant string) string {
		t.Helper()
		st, m, hdr := f.call(request("7", "tools/call", `"name":"x"`), with(headersFor("tools/call", "x"), "X-Caller", caller, "X-Tenuo-Warrant", warrant))
		if st != 200 || hdr.Get(HeaderSessionID) != "" {
			t.Fatalf("call: %d %v, session header %q", st, m, hdr.Get(HeaderSessionID))
		}
		if string(m["id"]) != "7" {
			t.Fatalf("answer under id %s", m["id"])
		}
		var r struct{ Session string }
		json.Unmarshal(m["result"], &r)
		return r.Session
	}
	a1, a2, b, aw := sessionOf("a", ""), sessionOf("a", ""), sessionOf("b", ""), sessionOf("a", "w1")
	if a1 != a2 || a1 == b || a1 == aw || b == aw {
		t.Fatalf("sessions: a %s %s, b %s, a with a warrant %s", a1, a2, b, aw)
	}
	if n := f.h.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}

	var wg sync.WaitGroup
	seen := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, m, _ := f.call(request(`"same"`, "completion/complete", ""), with(headersFor("completion/complete", ""), "X-Caller", "a"))
			var r struct{ Seen json.RawMessage }
			json.Unmarshal(m["result"], &r)
			if st != 200 || string(m["id"]) != `"same"` {
				t.Errorf("slow: %d %v", st, m)
			}
			seen[i] = string(r.Seen)
		}()
	}
	wg.Wait()
	if seen[0] == seen[1] {
		t.Fatalf("the upstream saw one id twice: %v", seen)
	}
}

// TestStatelessDiscoverAndJSON: server/discover is forwarded and its result
// comes back untouched, as one JSON value when the client takes both.
func TestStatelessDiscoverAndJSON(t *testing.T) {
	f := newStatelessFixture(t, nil)
	resp := f.do(context.Background(), "POST", request("1", "server/discover", ""), headersFor("server/discover", ""))
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("discover: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	if want := `{"jsonrpc":"2.0","id":1,"result":` + discoverResult + `}`; string(b) != want {
		t.Fatalf("discover result\n got %s\nwant %s", b, want)
	}
}

// TestStatelessCancelAndListen: a client closing its stream cancels its
// request upstream under the id the upstream saw; subscriptions/listen is
// one long POST stream carrying the subscription's notifications, under
// the client's id.
func TestStatelessCancelAndListen(t *testing.T) {
	f := newStatelessFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	resp := f.do(ctx, "POST", request("5", "prompts/list", ""), with(headersFor("prompts/list", ""), "X-Caller", "c"))
	if resp.StatusCode != 200 {
		t.Fatalf("block: %d", resp.StatusCode)
	}
	cancel()
	select {
	case id := <-f.p.cancelled:
		if id != "5" {
			t.Fatalf("cancelled %s, want 5", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the stream did not cancel the request upstream")
	}

	// The same id is in use by another request of the caller: the
	// subscription's notifications still carry the client's.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	hold := f.do(ctx2, "POST", request("9", "prompts/list", ""), with(headersFor("prompts/list", ""), "X-Caller", "c"))
	listen := f.do(ctx2, "POST", request("9", "subscriptions/listen", `"notifications":{"toolsListChanged":true}`), with(headersFor("subscriptions/listen", ""), "X-Caller", "c"))
	if hold.StatusCode != 200 || listen.StatusCode != 200 || !strings.HasPrefix(listen.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("listen: %d %s", listen.StatusCode, listen.Header.Get("Content-Type"))
	}
	er := newEventReader(listen.Body)
	for _, want := range []string{"notifications/subscriptions/acknowledged", "notifications/tools/list_changed"} {
		ev, err := er.next()
		if err != nil || !strings.Contains(ev.data, want) || !strings.Contains(ev.data, `"io.modelcontextprotocol/subscriptionId":9}`) {
			t.Fatalf("listen event %q (%v), want %s under subscription 9", ev.data, err, want)
		}
	}
	// A call of another caller meanwhile sees none of it.
	if st, m, _ := f.call(request("1", "tools/call", `"name":"x"`), with(headersFor("tools/call", "x"), "X-Caller", "d")); st != 200 || m["result"] == nil {
		t.Fatalf("call: %d %v", st, m)
	}
	cancel2()
	got := map[string]bool{}
	for range 2 {
		select {
		case id := <-f.p.cancelled:
			got[id] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("the listen and the blocked call were not both cancelled: %v", got)
		}
	}
	if !got["9"] || len(got) != 2 {
		t.Fatalf("cancelled %v: want the one upstream knew as 9 and the renamed one", got)
	}
}

// TestStatelessPoolBound: with the pool full, a new caller takes the place
// of the one idle the longest; when none is idle it gets 503 with
// Retry-After.
func TestStatelessPoolBound(t *testing.T) {
	f := newStatelessFixture(t, func(h *Handler) { h.MaxSessions = 1 })
	callAs := func(c string) (int, http.Header) {
		st, _, hdr := f.call(request("1", "tools/call", `"name":"x"`), with(headersFor("tools/call", "x"), "X-Caller", c))
		return st, hdr
	}
	if st, _ := callAs("a"); st != 200 {
		t.Fatalf("a: %d", st)
	}
	if st, _ := callAs("b"); st != 200 {
		t.Fatalf("b did not take idle a's place: %d", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if r := f.do(ctx, "POST", request("2", "prompts/list", ""), with(headersFor("prompts/list", ""), "X-Caller", "b")); r.StatusCode != 200 {
		t.Fatalf("block: %d", r.StatusCode)
	}
	st, hdr := callAs("c")
	if st != 503 || hdr.Get("Retry-After") == "" {
		t.Fatalf("c with b busy: %d, Retry-After %q", st, hdr.Get("Retry-After"))
	}
}
