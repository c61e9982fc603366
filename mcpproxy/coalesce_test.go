package mcpproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// countingWriter records each Write call it gets.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
	w      io.WriteCloser
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, string(p))
	c.mu.Unlock()
	return c.w.Write(p)
}

func (c *countingWriter) Close() error { return c.w.Close() }

func (c *countingWriter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// TestUpstreamBurstSharesOneWrite: answers the server sends together reach
// the client whole and in order, in one write; an answer alone is written
// at once, never held back waiting for another.
func TestUpstreamBurstSharesOneWrite(t *testing.T) {
	cr, cw := io.Pipe() // test → proxy (client input)
	pr, pw := io.Pipe() // proxy → test (client output)
	ur, uw := io.Pipe() // proxy → test (upstream input)
	vr, vw := io.Pipe() // test → proxy (upstream output)
	out := &countingWriter{w: pw}
	client := transport.NewStdioConn(cr, out, 0)
	upstream := transport.NewStdioConn(vr, uw, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Proxy{}).Relay(ctx, client, upstream) }()
	defer func() {
		cancel()
		cw.Close()
		vw.Close()
		<-done
	}()
	fromProxy := bufio.NewReader(pr)
	toServer := bufio.NewReader(ur)
	line := func(r *bufio.Reader) string {
		t.Helper()
		got := make(chan string, 1)
		go func() { l, _ := r.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			return strings.TrimSuffix(l, "\n")
		case <-time.After(10 * time.Second):
			t.Fatal("nothing arrived")
		}
		return ""
	}
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":%d,"method":"ping"}`+"\n", i)
		line(toServer)
	}
	before := out.count()
	var burst strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&burst, `{"jsonrpc":"2.0","id":%d,"result":{}}`+"\n", i)
	}
	burst.WriteString(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}` + "\n")
	io.WriteString(vw, burst.String()) // one write: the proxy reads all four at once
	for i := 1; i <= 3; i++ {
		if got, want := line(fromProxy), fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{}}`, i); got != want {
			t.Fatalf("answer %d relayed as %s", i, got)
		}
	}
	if got := line(fromProxy); !strings.Contains(got, "notifications/message") {
		t.Fatalf("the notification relayed as %s", got)
	}
	if n := out.count() - before; n != 1 {
		t.Fatalf("the burst of four took %d writes to the client, want 1", n)
	}
	// One answer alone goes out at once.
	fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":9,"method":"ping"}`+"\n")
	line(toServer)
	io.WriteString(vw, `{"jsonrpc":"2.0","id":9,"result":{}}`+"\n")
	if got := line(fromProxy); got != `{"jsonrpc":"2.0","id":9,"result":{}}` {
		t.Fatalf("lone answer relayed as %s", got)
	}
	// A burst whose last line is cut short: what came whole is written
	// before the relay waits for the rest.
	fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":10,"method":"ping"}`+"\n")
	line(toServer)
	fmt.Fprintf(cw, `{"jsonrpc":"2.0","id":11,"method":"ping"}`+"\n")
	line(toServer)
	io.WriteString(vw, `{"jsonrpc":"2.0","id":10,"result":{}}`+"\n"+`{"jsonrpc":"2.0","id":11,`)
	if got := line(fromProxy); got != `{"jsonrpc":"2.0","id":10,"result":{}}` {
		t.Fatalf("answer before a partial line relayed as %s", got)
	}
	io.WriteString(vw, `"result":{}}`+"\n")
	if got := line(fromProxy); got != `{"jsonrpc":"2.0","id":11,"result":{}}` {
		t.Fatalf("the completed line relayed as %s", got)
	}
}
