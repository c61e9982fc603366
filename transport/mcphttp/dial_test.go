package mcphttp

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readUntil reads c until a message containing each of wants has arrived,
// in any order (they may come on different streams).
func readUntil(t *testing.T, c *ClientConn, wants ...string) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		left := append([]string(nil), wants...)
		for len(left) > 0 {
			m, err := c.Read()
			if err != nil {
				done <- "read error: " + err.Error()
				return
			}
			for i, w := range left {
				if strings.Contains(string(m), w) {
					left = append(left[:i], left[i+1:]...)
					break
				}
			}
		}
		done <- ""
	}()
	select {
	case e := <-done:
		if e != "" {
			t.Fatal(e)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("not every message of %q arrived", wants)
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
			readUntil(t, c, "notifications/message", `{"jsonrpc":"2.0","id":"e","result":{"echo":{"z":3}}}`)
			c.Write([]byte(`{"jsonrpc":"2.0","id":"l","method":"later"}`))
			readUntil(t, c, `"id":"l"`, "notifications/tools/list_changed") // the second on the GET stream
			c.Close()
			<-f.p.ended
			// What arrived before the close is still read; then EOF.
			for i := 0; ; i++ {
				m, err := c.Read()
				if err == io.EOF {
					break
				}
				if err != nil || i == 100 {
					t.Fatalf("Read after Close: %s %v", m, err)
				}
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
	f.p.mu.Lock()
	f.p.sessions[0].Close() // the upstream ends the session
	f.p.mu.Unlock()
	<-f.p.ended
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != ErrSessionExpired {
		t.Fatalf("write after the upstream session ended: %v", err)
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("read after the upstream session ended: %v", err)
	}
}
