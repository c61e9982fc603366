package mcpproxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUpstreamAnswerBeforeForward: a hostile server that answers a
// tools/call's id while the relay is still checking the call (ids are
// guessable) answers a request it never received. That answer is dropped:
// the client gets exactly one answer, the relay's decision (or the server's
// answer to the call once forwarded), and a task handle or input_required
// result in it binds no task and grants no retry, even for a call that is
// then denied.
func TestUpstreamAnswerBeforeForward(t *testing.T) {
	tests := []struct {
		name   string
		tool   string // "rm" is not in the warrant: denied
		early  string // the server's answer, sent while the call is checked
		denied bool
	}{
		{"task handle for a denied call", "rm", `{"resultType":"task","taskId":"T9"}`, true},
		{"2025-11-25 task for a denied call", "rm", `{"task":{"taskId":"T9"}}`, true},
		{"input_required for a denied call", "rm", inputRequired(`"S"`), true},
		{"task handle for an allowed call", "echo", `{"resultType":"task","taskId":"T9"}`, false},
		{"plain result for an allowed call", "echo", `{"resultType":"complete","content":[]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEraFixture(t, false, true)
			p := f.proxy(false)
			p.QuickHooks = false
			inner := p.AuthorizeCall
			checking, release := make(chan struct{}), make(chan struct{})
			p.AuthorizeCall = func(ctx context.Context, c *Call) *Verdict {
				close(checking)
				<-release
				return inner(ctx, c)
			}
			h := newHarness(t, p, 0)
			call := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{},"task":{},%s}}`, tc.tool, meta2026)
			h.client.send(call)
			<-checking
			h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":` + tc.early + `}`)
			h.client.quiet(30 * time.Millisecond)
			close(release)
			if tc.denied {
				got := h.client.recv()
				if field(t, got, "error.code") != "-32001" {
					t.Fatalf("denied call answered %s", got)
				}
				h.upstream.quiet(20 * time.Millisecond)
			} else {
				if got := h.upstream.recv(); !strings.Contains(got, `"method":"tools/call"`) {
					t.Fatalf("server got %s", got)
				}
				answer := `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[]}}`
				h.upstream.send(answer)
				if got := h.client.recv(); got != answer {
					t.Fatalf("client got %s, want the answer to the forwarded call", got)
				}
			}
			h.client.quiet(20 * time.Millisecond)
			// The early task handle bound nothing.
			h.client.send(`{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"T9",` + meta2026 + `}}`)
			if got := h.client.recv(); field(t, got, "error.code") != "-32602" || !strings.Contains(got, "unknown task") {
				t.Fatalf("tasks/get of the early handle answered %s", got)
			}
			h.upstream.quiet(10 * time.Millisecond)
		})
	}
}
