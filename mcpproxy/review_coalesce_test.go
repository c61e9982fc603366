package mcpproxy

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// stallingWriter is the upstream's stdin as a server that stops reading
// it: a write carrying "tools/call" signals started, then blocks until
// release is closed.
type stallingWriter struct {
	w       io.WriteCloser
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (s *stallingWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), `"tools/call"`) {
		s.once.Do(func() { close(s.started) })
		<-s.release
	}
	return s.w.Write(p)
}

func (s *stallingWriter) Close() error { return s.w.Close() }

// TestHeldAnswerWaitsOnNoForward: an answer the relay holds back to share
// a write (the server's next message is already buffered) must not wait
// on anything. Here the next message names the id of a tools/call whose
// forwarding write is blocked (the server does not read its stdin): the
// upstream loop, looking the id up, waited on the call's forwarding lock,
// and the answer held back before it reached the client only once the
// server read again — never, for a server that does not.
func TestHeldAnswerWaitsOnNoForward(t *testing.T) {
	cr, cw := io.Pipe() // test → proxy (client input)
	pr, pw := io.Pipe() // proxy → test (client output)
	ur, uw := io.Pipe() // proxy → test (upstream input)
	vr, vw := io.Pipe() // test → proxy (upstream output)
	stall := &stallingWriter{w: uw, started: make(chan struct{}), release: make(chan struct{})}
	client := transport.NewStdioConn(cr, pw, 0)
	upstream := transport.NewStdioConn(vr, stall, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	allow := func(context.Context, *Call) *Verdict { return &Verdict{Allow: true} }
	go func() { done <- (&Proxy{AuthorizeCall: allow}).Relay(ctx, client, upstream) }()
	go io.Copy(io.Discard, ur) // what the server is sent, once released
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(stall.release) }) }
	defer func() {
		release()
		cancel()
		cw.Close()
		vw.Close()
		<-done
	}()
	fromProxy := bufio.NewReader(pr)
	lines := make(chan string, 8)
	go func() {
		for {
			l, err := fromProxy.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSuffix(l, "\n")
		}
	}()
	io.WriteString(cw, `{"jsonrpc":"2.0","id":1,"method":"ping"}`+"\n")
	io.WriteString(cw, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":{}}}`+"\n")
	select {
	case <-stall.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the tools/call was not forwarded")
	}
	// The ping's answer, then one naming the call's id, in one write.
	io.WriteString(vw, `{"jsonrpc":"2.0","id":1,"result":{}}`+"\n"+`{"jsonrpc":"2.0","id":2,"result":{"content":[]}}`+"\n")
	select {
	case got := <-lines:
		if got != `{"jsonrpc":"2.0","id":1,"result":{}}` {
			t.Fatalf("relayed %s first", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ping's answer was held back while the relay waited on the blocked tools/call write")
	}
}
