package mcpproxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCancelled2026: on stdio a 2026-07-28 request is cancelled by
// notifications/cancelled, as before: the notification reaches the server
// byte for byte, the pending wait ends, and the server's late answer is
// dropped, with none of its effects: a late input_required grants no retry,
// a late task handle binds no task, a late listing reaches no one.
func TestCancelled2026(t *testing.T) {
	tests := []struct {
		name    string
		request string // params of the cancelled request (tools/call unless list)
		list    bool
		late    string // the server's late result
		after   func(t *testing.T, f *eraFixture, h *harness, env string)
	}{
		{name: "a late input_required grants no retry", late: inputRequired(`"RS1"`),
			after: func(t *testing.T, f *eraFixture, h *harness, env string) {
				h.client.send(`{"jsonrpc":"2.0","id":"r","method":"tools/call","params":{"name":"echo","arguments":{"x":1},"requestState":"RS1","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` + env + `}}}`)
				if got := h.client.recv(); field(t, got, "error.code") != "-32001" {
					t.Fatalf("retry of a cancelled call answered %s", got)
				}
			}},
		{name: "a late task handle binds no task", late: `{"resultType":"task","taskId":"T1","status":"working"}`,
			after: func(t *testing.T, f *eraFixture, h *harness, env string) {
				h.client.send(`{"jsonrpc":"2.0","id":"g","method":"tasks/get","params":{"taskId":"T1",` + meta2026 + `}}`)
				if got := h.client.recv(); field(t, got, "error.code") != "-32602" {
					t.Fatalf("tasks/get of a cancelled call's task answered %s", got)
				}
			}},
		{name: "a late listing reaches no one", list: true, late: `{"resultType":"complete","tools":[{"name":"secret"}],"ttlMs":1,"cacheScope":"public"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEraFixture(t, true, false)
			h := newHarness(t, f.proxy(false), 0)
			env := f.envelope(t, "echo", `{"x":1}`)
			req := `{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"echo","arguments":{"x":1},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` + env + `}}}`
			if tc.list {
				req = `{"jsonrpc":"2.0","id":"c1","method":"tools/list","params":{` + meta2026 + `}}`
			}
			h.client.send(req)
			h.upstream.recv()
			cancel := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user",` + meta2026 + `}}`
			h.client.send(cancel)
			if got := h.upstream.recv(); got != cancel {
				t.Fatalf("cancellation relayed as %s", got)
			}
			// The id stays retired until the late answer comes.
			h.client.send(`{"jsonrpc":"2.0","id":"c1","method":"ping"}`)
			if got := h.client.recv(); field(t, got, "error.code") != "-32600" {
				t.Fatalf("reused id answered %s", got)
			}
			h.upstream.send(`{"jsonrpc":"2.0","id":"c1","result":` + tc.late + `}`)
			h.client.quiet(50 * time.Millisecond)
			if tc.after != nil {
				tc.after(t, f, h, env)
			}
			// Then the id is free again.
			h.client.send(`{"jsonrpc":"2.0","id":"c1","method":"ping","params":{` + meta2026 + `}}`)
			h.upstream.recv()
			h.upstream.send(`{"jsonrpc":"2.0","id":"c1","result":{"resultType":"complete"}}`)
			if got := h.client.recv(); got != `{"jsonrpc":"2.0","id":"c1","result":{"resultType":"complete"}}` {
				t.Fatalf("ping answered %s", got)
			}
			h.client.quiet(20 * time.Millisecond)
		})
	}
}

// TestCancelled2026WhileChecking: a 2026-07-28 call cancelled while its
// check runs is never forwarded, and the check's context ends.
func TestCancelled2026WhileChecking(t *testing.T) {
	started, ctxDone, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	p := &Proxy{AuthorizeCall: func(ctx context.Context, c *Call) *Verdict {
		close(started)
		<-ctx.Done()
		close(ctxDone)
		<-release
		return &Verdict{Allow: true}
	}}
	h := newHarness(t, p, 0)
	h.client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"slow",%s}}`, meta2026))
	<-started
	cancel := `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1"}}`
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
	h.upstream.quiet(100 * time.Millisecond)
	h.client.quiet(20 * time.Millisecond)
}

// TestRefusalCarriesSessionContext: every refusal the relay makes itself
// carries the context Relay was given, so that the audit hook can name the
// session (an HTTP session's id rides in it).
func TestRefusalCarriesSessionContext(t *testing.T) {
	type key struct{}
	got := make(chan *Refusal, 16)
	authz, filter := allowExcept()
	p := &Proxy{AuthorizeCall: authz, FilterTools: filter, OnRefused: func(r *Refusal) { got <- r }}
	h := newHarnessCtx(t, context.WithValue(context.Background(), key{}, "session-7"), p, 0)
	for _, msg := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{}}`,            // look-alike
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{}}`,            // malformed
		`{"jsonrpc":"2.0","method":"tools/list"}`,                               // id-less
		`{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"x"}}`, // unknown task
		`not json`,
	} {
		h.client.send(msg)
		select {
		case r := <-got:
			if r.Context == nil || r.Context.Value(key{}) != "session-7" {
				t.Fatalf("refusal of %s carries no session context: %+v", msg, r)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no refusal for %s", msg)
		}
	}
}

// TestRefusalAuditNamesSession: through Hooks, the audit record of a
// refusal the relay makes itself names the session it came in, as the
// records of decisions do.
func TestRefusalAuditNamesSession(t *testing.T) {
	type key struct{}
	e, _, _, _ := enfFixture(t, nil)
	audit := &syncBuffer{}
	e.Point.Audit = audit
	e.Session = func(ctx context.Context) (string, string) {
		id, _ := ctx.Value(key{}).(string)
		return id, ""
	}
	p := &Proxy{}
	e.Install(p)
	h := newHarnessCtx(t, context.WithValue(context.Background(), key{}, "session-7"), p, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{}}`)
	if got := h.client.recv(); !strings.Contains(got, `"code":-32601`) {
		t.Fatalf("look-alike answered %s", got)
	}
	var recs []map[string]any
	for deadline := time.Now().Add(5 * time.Second); len(recs) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		recs = audit.records(t)
	}
	if len(recs) != 1 || recs[0]["session"] != "session-7" {
		t.Fatalf("refusal's audit records %v: want one naming session-7", recs)
	}
}
