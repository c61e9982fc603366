package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/internal/testfiles"
)

// schemaMethods returns, per direction, every method named by the MCP schemas
// in testdata/mcp-schema (the unions ClientRequest, ClientNotification,
// ServerRequest and ServerNotification of each version).
func schemaMethods(t *testing.T) map[string]map[string]bool {
	t.Helper()
	return schemaMethodsOf(t, "*")
}

// schemaMethodsOf is schemaMethods for the versions matching the pattern.
func schemaMethodsOf(t *testing.T, version string) map[string]map[string]bool {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(schemaDir(t), version, "schema.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no MCP schemas found: %v", err)
	}
	out := map[string]map[string]bool{}
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Defs  map[string]json.RawMessage `json:"$defs"`
			Defs2 map[string]json.RawMessage `json:"definitions"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		defs := s.Defs
		if defs == nil {
			defs = s.Defs2
		}
		type def struct {
			AnyOf []struct {
				Ref string `json:"$ref"`
			} `json:"anyOf"`
			Properties struct {
				Method struct {
					Const string `json:"const"`
				} `json:"method"`
			} `json:"properties"`
		}
		get := func(name string) def {
			var d def
			json.Unmarshal(defs[name], &d)
			return d
		}
		for _, union := range []string{"ClientRequest", "ClientNotification", "ServerRequest", "ServerNotification"} {
			u := get(union)
			if out[union] == nil {
				out[union] = map[string]bool{}
			}
			if m := u.Properties.Method.Const; m != "" {
				out[union][m] = true
			}
			for _, r := range u.AnyOf {
				if m := get(strings.TrimPrefix(r.Ref, "#/$defs/")).Properties.Method.Const; m != "" {
					out[union][m] = true
				} else if m := get(strings.TrimPrefix(r.Ref, "#/definitions/")).Properties.Method.Const; m != "" {
					out[union][m] = true
				}
			}
		}
	}
	return out
}

func schemaDir(t *testing.T) string {
	return testfiles.MCPSchemas(t)
}

// TestMethodTable sends every MCP method of every version through the proxy
// and checks what it does: relay byte for byte, or intercept.
func TestMethodTable(t *testing.T) {
	methods := schemaMethods(t)
	// What the proxy does with each method; every method in the schemas must
	// be listed here, so a new one fails this test until it is decided.
	disposition := map[string]string{
		"tools/call":              "check",
		"tools/list":              "filter",
		"notifications/cancelled": "relay+free",
		// Bound to the session's own tasks (tasks.go): a task id no relayed
		// call created is refused.
		"tasks/get":    "task-bound",
		"tasks/result": "task-bound",
		"tasks/cancel": "task-bound",
		// Its answer shows only the session's own tasks.
		"tasks/list": "task-filter",
	}
	for _, dir := range []string{"ClientRequest", "ClientNotification", "ServerRequest", "ServerNotification"} {
		if len(methods[dir]) == 0 {
			t.Fatalf("no %s methods found", dir)
		}
	}
	authz, filter := allowExcept("hidden")
	var checked atomic.Int32
	p := &Proxy{
		AuthorizeCall: func(ctx context.Context, c *Call) *Verdict { checked.Add(1); return authz(ctx, c) },
		FilterTools:   filter,
	}
	h := newHarness(t, p, 0)
	id := 0
	for _, dir := range []string{"ClientRequest", "ClientNotification", "ServerRequest", "ServerNotification"} {
		names := make([]string, 0, len(methods[dir]))
		for m := range methods[dir] {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, method := range names {
			t.Run(dir+"/"+method, func(t *testing.T) {
				id++
				h.client.t, h.upstream.t = t, t
				fromClient := strings.HasPrefix(dir, "Client")
				isRequest := strings.HasSuffix(dir, "Request")
				params := `{"x":{"b":1, "a":[1,2]},"_meta":{"k":"v"}}`
				if method == "tools/call" {
					params = `{"name":"tool", "arguments":{"q":1},"_meta":{"k":"v"}}`
				}
				if method == "notifications/cancelled" {
					params = fmt.Sprintf(`{"requestId":%d}`, 100000+id)
				}
				msg := fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s}`, method, params)
				if isRequest {
					msg = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
				}
				from, to := h.upstream, h.client
				if fromClient {
					from, to = h.client, h.upstream
				}
				before := checked.Load()
				from.send(msg)
				if fromClient && disposition[method] == "task-bound" {
					// The client gets the refusal; the server nothing.
					if r := from.recv(); field(t, r, "error.code") != "-32602" || field(t, r, "id") != strconv.Itoa(id) {
						t.Fatalf("%s naming no known task answered %s", method, r)
					}
					to.quiet(20 * time.Millisecond)
					return
				}
				if got := to.recv(); got != msg {
					t.Fatalf("relayed\n%s\nas\n%s", msg, got)
				}
				if want := disposition[method]; fromClient && want == "check" && checked.Load() != before+1 {
					t.Fatal("tools/call was not checked")
				}
				if !isRequest {
					return
				}
				// The answer goes back the other way.
				reply := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"ok":true, "_meta":{}}}`, id)
				want := reply
				if fromClient && disposition[method] == "filter" {
					reply = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"tools":[{"name":"a"},{"name":"hidden"}],"nextCursor":"c"}}`, id)
					want = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"tools":[{"name":"a"}],"nextCursor":"c"}}`, id)
				}
				if fromClient && disposition[method] == "task-filter" {
					reply = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"tasks":[{"taskId":"other"}],"nextCursor":"c"}}`, id)
					want = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"tasks":[],"nextCursor":"c"}}`, id)
				}
				to.send(reply)
				if got := from.recv(); got != want {
					t.Fatalf("answer\n%s\nrelayed as\n%s", reply, got)
				}
			})
		}
	}
	for m, d := range disposition {
		if !methods["ClientRequest"][m] && !methods["ClientNotification"][m] {
			t.Errorf("%s (%s) is not a client method in any schema", m, d)
		}
	}
}

func TestInvalidInputKeepsServing(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the error answered; "" when dropped
	}{
		{"not JSON", `{"jsonrpc":`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: message is not valid JSON"}}`},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}", `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: message is not valid UTF-8"}}`},
		{"scalar", `42`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a message must be a JSON object"}}`},
		{"no method, no id", `{"jsonrpc":"2.0","params":{}}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: a message needs a method or an id"}}`},
		{"method not a string", `{"jsonrpc":"2.0","id":7,"method":5}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid Request: method must be a non-empty string"}}`},
		{"wrong jsonrpc", `{"jsonrpc":"1.0","id":"a","method":"ping"}`, `{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"Invalid Request: jsonrpc must be \"2.0\""}}`},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: id must be a string or a number"}}`},
		{"duplicate key", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}`, `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid Request: duplicate key \"method\""}}`},
		{"invalid notification dropped", `{"jsonrpc":"1.0","method":"notifications/initialized"}`, ""},
		{"batch before negotiation", `[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid Request: JSON-RPC batches are not allowed under protocol version none negotiated"}}`},
		{"batch of notifications before negotiation", `[{"jsonrpc":"2.0","method":"notifications/x"}]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: JSON-RPC batches are not allowed under protocol version none negotiated"}}`},
		{"oversized with early id", `{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"pad":"` + strings.Repeat("x", 300) + `"}}`, `{"jsonrpc":"2.0","id":"big","error":{"code":-32600,"message":"Invalid Request: message exceeds the 256-byte limit"}}`},
		{"oversized without id", `{"jsonrpc":"2.0","method":"x","params":{"pad":"` + strings.Repeat("x", 600) + `"},"id":3}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request: message exceeds the 256-byte limit"}}`},
		{"call without name", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"arguments":{}}}`, `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params: params.name is missing"}}`},
	}
	authz, filter := allowExcept()
	h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 256)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.client.t, h.upstream.t = t, t
			h.client.send(tc.in)
			if tc.want != "" {
				if got := h.client.recv(); got != tc.want {
					t.Fatalf("got  %s\nwant %s", got, tc.want)
				}
			}
			// Still serving: a ping goes through.
			ping := fmt.Sprintf(`{"jsonrpc":"2.0","id":"p%d","method":"ping"}`, i)
			h.client.send(ping)
			if got := h.upstream.recv(); got != ping {
				t.Fatalf("after the bad input, upstream got %s", got)
			}
			h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":"p%d","result":{}}`, i))
			h.client.recv()
		})
	}
}

func TestBatchesOnlyIn20250326(t *testing.T) {
	for _, version := range []string{"2025-03-26", "2025-06-18", "2024-11-05"} {
		t.Run(version, func(t *testing.T) {
			authz, filter := allowExcept("bad")
			h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 0)
			h.client.send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"` + version + `"}}`)
			h.upstream.recv()
			h.upstream.send(`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"` + version + `"}}`)
			h.client.recv()
			h.client.send(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"bad"}},{"jsonrpc":"2.0","method":"notifications/x"}]`)
			if version != "2025-03-26" {
				// Each request of the refused batch is answered by its id;
				// nothing of it reaches the server.
				got := []string{h.client.recv(), h.client.recv()}
				sort.Strings(got)
				for i, a := range got {
					if field(t, a, "id") != fmt.Sprint(i+1) || field(t, a, "error.code") != "-32600" {
						t.Fatalf("batch under %s: answered %s", version, got)
					}
				}
				h.client.quiet(20 * time.Millisecond)
				h.upstream.quiet(20 * time.Millisecond)
				return
			}
			got := []string{h.upstream.recv(), h.upstream.recv()}
			sort.Strings(got)
			want := []string{`{"jsonrpc":"2.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","method":"notifications/x"}`}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("upstream got %q", got)
			}
			if deny := h.client.recv(); field(t, deny, "id") != "2" || field(t, deny, "error.code") != "-32001" {
				t.Fatalf("denied element answered %s", deny)
			}
			h.upstream.quiet(100 * time.Millisecond)
		})
	}
}

// TestCancelledWhileChecking: a call cancelled while its check runs is never
// forwarded; the cancellation is, and the check's context ends.
func TestCancelledWhileChecking(t *testing.T) {
	started := make(chan struct{})
	ctxDone := make(chan struct{})
	release := make(chan struct{})
	p := &Proxy{AuthorizeCall: func(ctx context.Context, c *Call) *Verdict {
		close(started)
		<-ctx.Done()
		close(ctxDone)
		<-release
		return &Verdict{Allow: true}
	}}
	h := newHarness(t, p, 0)
	h.client.send(`{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"slow"}}`)
	<-started
	cancel := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user"}}`
	h.client.send(cancel)
	if got := h.upstream.recv(); got != cancel {
		t.Fatalf("upstream got %s, want the cancellation", got)
	}
	select {
	case <-ctxDone:
	case <-time.After(5 * time.Second):
		t.Fatal("check context not cancelled")
	}
	close(release)
	h.upstream.quiet(200 * time.Millisecond)
	h.client.quiet(50 * time.Millisecond)
}

// TestCancelledAfterForward: the pending entry is freed, so a late answer
// (here an unfiltered tools/list) never reaches the client.
func TestCancelledAfterForward(t *testing.T) {
	authz, filter := allowExcept("hidden")
	h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 0)
	h.client.send(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	h.upstream.recv()
	h.client.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}`)
	h.upstream.recv()
	h.upstream.send(`{"jsonrpc":"2.0","id":9,"result":{"tools":[{"name":"hidden"}]}}`)
	h.client.quiet(200 * time.Millisecond)
}

func TestUpstreamClosedAnswersPending(t *testing.T) {
	authz, filter := allowExcept()
	h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}`)
	h.client.send(`{"jsonrpc":"2.0","id":"two","method":"resources/read","params":{"uri":"x"}}`)
	h.upstream.recv()
	h.upstream.recv()
	h.upstream.w.Close() // the server's stdout ends
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		m := h.client.recv()
		got[field(t, m, "id")] = field(t, m, "error")
	}
	want := `{"code":-32603,"message":"upstream MCP server exited"}`
	if got["1"] != want || got[`"two"`] != want {
		t.Fatalf("pending answered with %v", got)
	}
	if err := h.wait(t); !errors.Is(err, ErrUpstreamExited) {
		t.Fatalf("Run = %v, want ErrUpstreamExited", err)
	}
}

func TestDenials(t *testing.T) {
	tests := []struct {
		name string
		p    *Proxy
		want string
	}{
		{"nil hook denies", &Proxy{}, `{"jsonrpc":"2.0","id":5,"error":{"code":-32001,"message":"Access denied: no authorization configured"}}`},
		{"nil verdict denies", &Proxy{AuthorizeCall: func(context.Context, *Call) *Verdict { return nil }},
			`{"jsonrpc":"2.0","id":5,"error":{"code":-32001,"message":"Access denied"}}`},
		{"panic denies", &Proxy{AuthorizeCall: func(context.Context, *Call) *Verdict { panic("boom") }},
			`{"jsonrpc":"2.0","id":5,"error":{"code":-32001,"message":"Access denied: internal error"}}`},
		{"code and data", &Proxy{AuthorizeCall: func(context.Context, *Call) *Verdict {
			return &Verdict{Code: CodeApprovalRequired, Message: "approval required", Data: json.RawMessage(`{"tenuo":{"code":1707}}`)}
		}}, `{"jsonrpc":"2.0","id":5,"error":{"code":-32002,"message":"approval required","data":{"tenuo":{"code":1707}}}}`},
		{"as result", &Proxy{DenyAsResult: true, AuthorizeCall: func(context.Context, *Call) *Verdict {
			return &Verdict{Message: "Access denied: no"}
		}}, `{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"Access denied: no"}],"isError":true}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.p, 0)
			h.client.send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t"}}`)
			if got := h.client.recv(); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			h.upstream.quiet(100 * time.Millisecond)
		})
	}
}

func TestAuditOnlyForwards(t *testing.T) {
	h := newHarness(t, &Proxy{AuthorizeCall: func(context.Context, *Call) *Verdict {
		return &Verdict{AuditOnly: true, Message: "would deny"}
	}}, 0)
	msg := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"t"}}`
	h.client.send(msg)
	if got := h.upstream.recv(); got != msg {
		t.Fatalf("upstream got %s", got)
	}
}

func TestNilFilterHidesAll(t *testing.T) {
	h := newHarness(t, &Proxy{}, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
	h.upstream.recv()
	h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b"}]}}`)
	if got, want := h.client.recv(), `{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestDuplicatePendingID(t *testing.T) {
	authz, filter := allowExcept()
	h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}`)
	h.upstream.recv()
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	if got := field(t, h.client.recv(), "error.code"); got != "-32600" {
		t.Fatalf("duplicate id answered with code %s", got)
	}
	h.upstream.quiet(100 * time.Millisecond)
}

// TestListEnvelopeStripped: the tools/list hook sees the envelope; the server
// does not.
func TestListEnvelopeStripped(t *testing.T) {
	var seen *enforce.Envelope
	p := &Proxy{FilterTools: func(_ context.Context, r *ListRequest) func(string) bool {
		seen = r.Tenuo
		return func(string) bool { return true }
	}}
	h := newHarness(t, p, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c","_meta":{"tenuo":{"warrant":"w","signature":"s"}}}}`)
	if got, want := h.upstream.recv(), `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}}`; got != want {
		t.Fatalf("upstream got %s, want %s", got, want)
	}
	h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}`)
	h.client.recv()
	if seen == nil || seen.Warrant != "w" || seen.Source != enforce.SourceMeta {
		t.Fatalf("hook saw %+v", seen)
	}
}

// TestMethodTable2026 sends every method of 2026-07-28 in that version's
// shape (params._meta naming the version and capabilities) through the
// relay: all but the intercepted pass byte for byte, both ways; a filtered
// listing gains only what the version requires of a result the proxy made.
func TestMethodTable2026(t *testing.T) {
	methods := schemaMethodsOf(t, statelessVersion)
	authz, filter := allowExcept("hidden")
	h := newHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, 0)
	id := 0
	for _, dir := range []string{"ClientRequest", "ClientNotification", "ServerRequest", "ServerNotification"} {
		names := make([]string, 0, len(methods[dir]))
		for m := range methods[dir] {
			names = append(names, m)
		}
		sort.Strings(names)
		if len(names) == 0 && dir != "ServerRequest" { // server requests became input_required results
			t.Fatalf("no %s methods in the 2026-07-28 schema", dir)
		}
		for _, method := range names {
			t.Run(dir+"/"+method, func(t *testing.T) {
				id++
				h.client.t, h.upstream.t = t, t
				fromClient := strings.HasPrefix(dir, "Client")
				isRequest := strings.HasSuffix(dir, "Request")
				params := `{"x":{"b":1, "a":[1,2]},` + meta2026 + `}`
				switch method {
				case "tools/call":
					params = `{"name":"tool", "arguments":{"q":1},` + meta2026 + `}`
				case "notifications/cancelled":
					params = fmt.Sprintf(`{"requestId":%d,`+meta2026+`}`, 200000+id)
				}
				msg := fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s}`, method, params)
				if isRequest {
					msg = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params)
				}
				from, to := h.upstream, h.client
				if fromClient {
					from, to = h.client, h.upstream
				}
				from.send(msg)
				if got := to.recv(); got != msg {
					t.Fatalf("relayed\n%s\nas\n%s", msg, got)
				}
				if !isRequest {
					return
				}
				reply := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"resultType":"complete","ok":true, "_meta":{},"ttlMs":5,"cacheScope":"public"}}`, id)
				want := reply
				if fromClient && method == "tools/list" {
					reply = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"resultType":"complete","tools":[{"name":"a"},{"name":"hidden"}],"nextCursor":"c","ttlMs":5,"cacheScope":"public"}}`, id)
					// No enforcement point said how long the caller's warrant
					// lives: the listing is not to be cached.
					want = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"resultType":"complete","tools":[{"name":"a"}],"nextCursor":"c","ttlMs":0,"cacheScope":"private"}}`, id)
				}
				to.send(reply)
				if got := from.recv(); got != want {
					t.Fatalf("answer\n%s\nrelayed as\n%s", reply, got)
				}
			})
		}
	}
}
