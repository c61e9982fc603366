package mcphttp

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readUntil reads c until a message containing want arrives.
func readUntil(t *testing.T, c *ClientConn, want string) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		for {
			m, err := c.Read()
			if err != nil {
				got <- "read error: " + err.Error()
				return
			}
			if strings.Contains(string(m), want) {
				got <- string(m)
				return
			}
		}
	}()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no message with %s", want)
		return ""
	}
}

// TestDialRoundTrip: a ClientConn against a Handler (both sides of this
// package) on a real listener: the session id and protocol version are
// kept, answers and related notifications arrive, the GET stream brings
// unsolicited messages, Close ends the upstream session.
func TestDialRoundTrip(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "streamable"
		if legacy {
			name = "sse"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, nil)
			var c *ClientConn
			var err error
			if legacy {
				c, err = DialSSE(context.Background(), f.srv.URL+"/sse", DialOptions{})
			} else {
				c, err = Dial(context.Background(), f.url, DialOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`)); err != nil {
				t.Fatal(err)
			}
			readUntil(t, c, `"protocolVersion":"2025-06-18"`)
			if !legacy && len(c.SessionID()) != 32 {
				t.Fatalf("session id %q", c.SessionID())
			}
			if err := c.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)); err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(`{"jsonrpc":"2.0","id":"e","method":"echo","params":{"z":3}}`))
			readUntil(t, c, "notifications/message")
			readUntil(t, c, `{"jsonrpc":"2.0","id":"e","result":{"echo":{"z":3}}}`)
			c.Write([]byte(`{"jsonrpc":"2.0","id":"l","method":"later"}`))
			readUntil(t, c, "notifications/tools/list_changed") // on the GET stream
			c.Close()
			<-f.p.ended
			if _, err := c.Read(); err != io.EOF {
				t.Fatalf("Read after Close: %v", err)
			}
			c.Wait()
		})
	}
}

// TestDialUpstreamFaults: an upstream that is down, and one whose session
// ended, give errors the relay turns into JSON-RPC answers.
func TestDialUpstreamFaults(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close() // nothing listens there now
	c, err := Dial(context.Background(), url+"/mcp", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`)); err == nil {
		t.Fatal("a write to an upstream that is down succeeded")
	}

	f := newFixture(t, nil)
	c, err = Dial(context.Background(), f.url, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
	readUntil(t, c, "protocolVersion")
	f.h.ExpireIdle(time.Now().Add(time.Hour))
	<-f.p.ended
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != ErrSessionExpired {
		t.Fatalf("write after the upstream session ended: %v", err)
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("read after the upstream session ended: %v", err)
	}
}
