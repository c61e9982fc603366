package mcpproxy

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestOversizedEarlyAnswerStandsForNoCall: a server that answers a
// tools/call's id with a line over the limit while the relay is still
// checking the call (the id was guessed) answered a request it never
// received. Like an early answer of ordinary size, it is dropped: it does
// not stand in for the relay's decision, so the client never gets an error
// for a call that the relay then forwards and the tool runs.
func TestOversizedEarlyAnswerStandsForNoCall(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	checking, release := make(chan struct{}), make(chan struct{})
	inner := p.AuthorizeCall
	p.AuthorizeCall = func(ctx context.Context, c *Call) *Verdict {
		close(checking)
		<-release
		return inner(ctx, c)
	}
	h := newHarness(t, p, 512)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","arguments":{}}}`)
	<-checking
	h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"` + strings.Repeat("x", 600) + `"}]}}`)
	h.client.quiet(50 * time.Millisecond)
	close(release)
	if got := h.upstream.recv(); !strings.Contains(got, `"method":"tools/call"`) {
		t.Fatalf("server got %s", got)
	}
	answer := `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`
	h.upstream.send(answer)
	if got := h.client.recv(); got != answer {
		t.Fatalf("client got %s, want the answer to the forwarded call", got)
	}
	h.client.quiet(20 * time.Millisecond)
}
