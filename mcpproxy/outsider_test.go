package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
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

// TestOversizedClientAnswerIsNotARequest: the client's answer to a server
// request (a sampling result, say) that exceeds the line limit is dropped
// as the relay drops every answer to the server it cannot relay. It is not
// answered as if it were a request of the client's: an error carrying the
// server request's id would reach the client as the answer to its own
// request of that id (the two id spaces are separate), which the server
// then answers a second time.
func TestOversizedClientAnswerIsNotARequest(t *testing.T) {
	pad := strings.Repeat("x", 600)
	for _, tc := range []struct {
		answer string
		toldUp bool // the id comes early enough for the server to be told
	}{
		{`{"jsonrpc":"2.0","id":7,"result":{"role":"assistant","content":{"type":"text","text":"` + pad + `"}}}`, true},
		// The TypeScript SDK writes result before jsonrpc and id.
		{`{"result":{"role":"assistant","content":{"type":"text","text":"` + pad + `"}},"jsonrpc":"2.0","id":7}`, false},
		{`{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"` + pad + `"}}`, true},
	} {
		p := &Proxy{}
		approvingOK(p)
		h := newHarness(t, p, 512)
		h.client.send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
		if got := h.upstream.recv(); !strings.Contains(got, `"ping"`) {
			t.Fatalf("server got %s", got)
		}
		req := `{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":1}}`
		h.upstream.send(req)
		if got := h.client.recv(); got != req {
			t.Fatalf("client got %s", got)
		}
		h.client.send(tc.answer)
		if tc.toldUp {
			if got := h.upstream.recv(); field(t, got, "id") != "7" || field(t, got, "error.code") != "-32603" {
				t.Fatalf("server got %s, want an error for its request 7", got)
			}
		}
		h.client.quiet(50 * time.Millisecond)
		h.upstream.quiet(10 * time.Millisecond)
		pong := `{"jsonrpc":"2.0","id":7,"result":{}}`
		h.upstream.send(pong)
		if got := h.client.recv(); got != pong {
			t.Fatalf("client got %s, want the answer to its ping", got)
		}
	}
}

// TestInvalidUpstreamAnswerIsAnswered: an answer the server makes that the
// relay cannot pass on (a result and an error, a key named twice) still
// ends the request it names: the client gets an error for it instead of
// waiting for ever. The answer itself is not relayed.
func TestInvalidUpstreamAnswerIsAnswered(t *testing.T) {
	for _, bad := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"bad"}]},"error":{"code":1,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"result":{"tools":[{"name":"bad"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"Result":{"tools":[{"name":"bad"}]}}`,
		`{"jsonrpc":"1.0","id":1,"result":{"tools":[{"name":"bad"}]}}`,
	} {
		for _, method := range []string{"ping", "tools/list", "tools/call"} {
			p := &Proxy{}
			approvingOK(p)
			h := newHarness(t, p, 0)
			h.client.send(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{"name":"ok"}}`)
			if got := h.upstream.recv(); !strings.Contains(got, method) {
				t.Fatalf("server got %s", got)
			}
			h.upstream.send(bad)
			got := h.client.recv()
			if field(t, got, "id") != "1" || field(t, got, "error.code") != "-32603" || strings.Contains(got, "bad") {
				t.Fatalf("%s answered %s: client got %s", method, bad, got)
			}
			h.client.quiet(20 * time.Millisecond)
		}
	}
}

// TestRefusedClientAnswerIsNotAnswered: an answer of the client's to a
// server request that the relay refuses (a result and an error, a key
// named twice, a wrong jsonrpc, or inside a batch the protocol version does
// not allow) is dropped. Answering it with an error would give the client
// a message carrying the server request's id, which it takes for the
// answer to its own request of that id; the server answers that one too.
func TestRefusedClientAnswerIsNotAnswered(t *testing.T) {
	for _, bad := range []string{
		`{"jsonrpc":"2.0","id":7,"result":{},"error":{"code":1,"message":"m"}}`,
		`{"jsonrpc":"2.0","id":7,"result":{"a":1},"result":{"a":2}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"},"Error":{}}`,
		`{"jsonrpc":"1.0","id":7,"result":{}}`,
		`{"id":7,"result":{}}`,
		`{"jsonrpc":"2.0","id":7,"result":{},"method":null}`,
		`[{"jsonrpc":"2.0","id":7,"result":{}}]`,
		`[{"jsonrpc":"2.0","id":7,"result":{}},{"jsonrpc":"2.0","method":"notifications/x"}]`,
	} {
		p := &Proxy{}
		approvingOK(p)
		var refused int
		var mu sync.Mutex
		p.OnRefused = func(*Refusal) { mu.Lock(); refused++; mu.Unlock() }
		h := newHarness(t, p, 0)
		h.client.send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
		if got := h.upstream.recv(); !strings.Contains(got, `"ping"`) {
			t.Fatalf("server got %s", got)
		}
		h.upstream.send(`{"jsonrpc":"2.0","id":7,"method":"roots/list"}`)
		h.client.recv()
		h.client.send(bad)
		// A batch with nothing to answer gets one error with a null id.
	quiet:
		for {
			select {
			case m := <-h.client.msgs:
				if field(t, string(m), "id") != "null" {
					t.Fatalf("%s: client got %s", bad, m)
				}
			case <-time.After(50 * time.Millisecond):
				break quiet
			}
		}
		h.upstream.quiet(10 * time.Millisecond)
		mu.Lock()
		n := refused
		mu.Unlock()
		if n == 0 {
			t.Fatalf("%s: the refusal was not reported", bad)
		}
		pong := `{"jsonrpc":"2.0","id":7,"result":{}}`
		h.upstream.send(pong)
		if got := h.client.recv(); got != pong {
			t.Fatalf("%s: client got %s, want the answer to its ping", bad, got)
		}
	}
}

// TestCancelPastRetiredBound: a server may leave every cancelled request
// unanswered (the TypeScript SDK does, as the specification advises), so
// retired ids pile up to their bound. Past it a cancellation still ends
// its request: a call still being checked is never forwarded, and no
// request stays pending for ever (which grew without bound); the oldest
// retired ids make room.
func TestCancelPastRetiredBound(t *testing.T) {
	s := &session{p: &Proxy{QuickHooks: true}, log: orDiscard(nil), pending: map[string]*pending{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	s.mu.Lock()
	for i := range maxRetired {
		s.retireLocked(fmt.Sprintf("n:%d", -1-i))
	}
	s.mu.Unlock()
	call, ok := s.addPending(json.RawMessage("1"), kindCall)
	if !ok {
		t.Fatal("addPending")
	}
	s.cancelPending("n:1")
	call.fwd.Lock()
	cancelled := call.cancelled
	call.fwd.Unlock()
	if !cancelled {
		t.Fatal("a call cancelled while being checked would still be forwarded")
	}
	if _, ok := s.addPending(json.RawMessage("2"), kindPlain); !ok {
		t.Fatal("addPending")
	}
	s.cancelPending("n:2")
	if len(s.pending) != 0 {
		t.Fatalf("%d requests still pending after their cancellation", len(s.pending))
	}
	_, r := s.retired["n:2"]
	_, oldest := s.retired["n:-1"]
	if !r || oldest || len(s.retired) > maxRetired {
		t.Fatalf("id 2 retired %v, the oldest still %v, %d retired ids (bound %d)", r, oldest, len(s.retired), maxRetired)
	}
	// Ids answered meanwhile leave stale entries behind: the order is
	// compacted, never longer than twice the bound.
	s.mu.Lock()
	for i := range 5 * maxRetired {
		k := fmt.Sprintf("s:%d", i)
		s.retireLocked(k)
		delete(s.retired, k)
	}
	n := len(s.retiredOrder)
	s.mu.Unlock()
	if n > 2*maxRetired {
		t.Fatalf("%d entries in the retired order", n)
	}
}

// TestOversizedServerRequestIsNotAnAnswer: a request of the server's (a
// sampling request, say) over the line limit is dropped. Its id is the
// server's: it does not end the client's own request of that id with an
// error, which the server then answers as well. The server is told, as a
// client is of its own oversized request.
func TestOversizedServerRequestIsNotAnAnswer(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	h := newHarness(t, p, 512)
	h.client.send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
	if got := h.upstream.recv(); !strings.Contains(got, `"ping"`) {
		t.Fatalf("server got %s", got)
	}
	h.upstream.send(`{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"` + strings.Repeat("x", 600) + `"}}],"maxTokens":1}}`)
	if got := h.upstream.recv(); field(t, got, "id") != "7" || field(t, got, "error.code") != "-32600" {
		t.Fatalf("server got %s, want an error for its request 7", got)
	}
	h.client.quiet(50 * time.Millisecond)
	pong := `{"jsonrpc":"2.0","id":7,"result":{}}`
	h.upstream.send(pong)
	if got := h.client.recv(); got != pong {
		t.Fatalf("client got %s, want the answer to its ping", got)
	}
}

// TestInvalidServerRequestIsAnswered: a request of the server's that the
// relay cannot relay (a key named twice, a wrong jsonrpc) is answered to
// the server with an error, as a client's is to the client, rather than
// left waiting for ever; it never reaches the client, and it ends nothing
// of the client's.
func TestInvalidServerRequestIsAnswered(t *testing.T) {
	for _, bad := range []string{
		`{"jsonrpc":"2.0","id":7,"method":"roots/list","method":"sampling/createMessage"}`,
		`{"jsonrpc":"2.0","id":7,"method":"roots/list","Method":"x"}`,
		`{"jsonrpc":"1.0","id":7,"method":"roots/list"}`,
	} {
		p := &Proxy{}
		approvingOK(p)
		h := newHarness(t, p, 0)
		h.client.send(`{"jsonrpc":"2.0","id":7,"method":"ping"}`)
		h.upstream.recv()
		h.upstream.send(bad)
		if got := h.upstream.recv(); field(t, got, "id") != "7" || field(t, got, "error.code") != "-32600" {
			t.Fatalf("%s: server got %s, want an error for its request 7", bad, got)
		}
		h.client.quiet(30 * time.Millisecond)
		pong := `{"jsonrpc":"2.0","id":7,"result":{}}`
		h.upstream.send(pong)
		if got := h.client.recv(); got != pong {
			t.Fatalf("%s: client got %s, want the answer to its ping", bad, got)
		}
	}
}

// TestWhileClosingBatchAnswered: once the proxy is shutting down, every
// request gets an error, those inside a batch too (they went unanswered);
// nothing of the batch is relayed.
func TestWhileClosingBatchAnswered(t *testing.T) {
	drain := make(chan struct{})
	p := &Proxy{Drain: drain, DrainTimeout: 5 * time.Second}
	approvingOK(p)
	h := newHarness(t, p, 0)
	h.client.send(`{"jsonrpc":"2.0","id":"p","method":"ping"}`) // keeps the drain waiting
	h.upstream.recv()
	close(drain)
	time.Sleep(50 * time.Millisecond)
	h.client.send(`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"ok"}},` +
		`{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":3,"result":{}}]`)
	for _, want := range []string{`1`, `"two"`} {
		got := h.client.recv()
		if field(t, got, "id") != want || field(t, got, "error.code") != "-32603" {
			t.Fatalf("client got %s, want a shutting-down error for id %s", got, want)
		}
	}
	h.upstream.quiet(30 * time.Millisecond)
	h.upstream.send(`{"jsonrpc":"2.0","id":"p","result":{}}`)
	if got := h.client.recv(); field(t, got, "id") != `"p"` {
		t.Fatalf("client got %s", got)
	}
}

// TestRefusedServerRequestsBounded: a server that sends requests the relay
// refuses (invalid, or over the line limit) and does not read its input
// gets the relay's answers from one writer with a bounded queue: the
// relay's goroutines do not grow with the requests, and it keeps reading
// the server.
func TestRefusedServerRequestsBounded(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	h := newHarness(t, p, 512)
	before := runtime.NumGoroutine()
	// The upstream side's reader holds 256 messages and then stops reading:
	// the relay's writes to the server block from there on.
	for i := range 3000 {
		if i%2 == 0 {
			h.upstream.send(fmt.Sprintf(`{"jsonrpc":"1.0","id":%d,"method":"x"}`, i))
		} else {
			h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"x","params":{"pad":"%s"}}`, i, strings.Repeat("y", 600)))
		}
	}
	time.Sleep(50 * time.Millisecond)
	n := runtime.NumGoroutine()
	// The server reads again, so that the relay's blocked write ends and
	// it can stop.
	go func() {
		for range h.upstream.msgs {
		}
	}()
	if n > before+20 {
		t.Fatalf("%d goroutines after 3000 refused server requests (%d before)", n, before)
	}
}
