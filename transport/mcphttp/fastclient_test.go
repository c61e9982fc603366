package mcphttp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingUpstream serves h, counting the connections it accepts and
// keeping the headers of every request.
type countingUpstream struct {
	srv   *httptest.Server
	conns atomic.Int32
	mu    sync.Mutex
	seen  []http.Header
}

func newCountingUpstream(t *testing.T, h http.HandlerFunc, configure func(*http.Server)) *countingUpstream {
	t.Helper()
	u := &countingUpstream{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		h(w, r)
	}))
	u.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			u.conns.Add(1)
		}
	}
	if configure != nil {
		configure(u.srv.Config)
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func dialFastTest(t *testing.T, url string) *ClientConn {
	t.Helper()
	c, err := Dial(context.Background(), url, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.fast {
		t.Fatal("a plain-HTTP upstream without proxy is not on the fast path")
	}
	t.Cleanup(func() { c.Close(); c.Wait() })
	return c
}

// call writes a request and reads its answer.
func call(t *testing.T, c *ClientConn, id int) {
	t.Helper()
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/call","params":{"name":"echo"}}`)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, c, `"id":`+strconv.Itoa(id)+`,"result"`)
}

// TestFastClientReuse: sequential requests share one kept-alive
// connection, whether the answer has a length or is chunked.
func TestFastClientReuse(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			up := newCountingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if !chunked {
					jsonUpstream(w, r)
					return
				}
				body, _ := io.ReadAll(r.Body)
				w.Header().Set(HeaderSessionID, "up-session")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush() // no Content-Length: chunked
				w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(mustMembers(body)["id"]) + `,"result":{}}`))
			}, nil)
			c := dialFastTest(t, up.srv.URL+"/mcp")
			c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
			readUntil(t, c, `"id":0`)
			for i := 1; i <= 20; i++ {
				call(t, c, i)
			}
			if n := up.conns.Load(); n != 1 {
				t.Fatalf("21 sequential requests opened %d connections, want 1", n)
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			last := up.seen[len(up.seen)-1]
			if last.Get(HeaderSessionID) != "up-session" || last.Get("Content-Type") != "application/json" || last.Get("Accept") != "application/json, text/event-stream" {
				t.Fatalf("request headers %v", last)
			}
		})
	}
}

// TestFastClientStaleIdle: a connection the upstream closed while it was
// idle is not written to; the next request goes on a new one and succeeds.
func TestFastClientStaleIdle(t *testing.T) {
	up := newCountingUpstream(t, jsonUpstream, func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	c := dialFastTest(t, up.srv.URL+"/mcp")
	c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
	readUntil(t, c, `"id":0`)
	call(t, c, 1)
	time.Sleep(300 * time.Millisecond) // the upstream closes the idle connection
	call(t, c, 2)
	call(t, c, 3)
	if n := up.conns.Load(); n != 2 {
		t.Fatalf("connections: %d, want 2 (the closed one replaced once)", n)
	}
}

// TestFastClientHeaderInjection: a protocol version the upstream gave that
// holds a line break is never written as a header: the request is refused,
// as net/http refuses it.
func TestFastClientHeaderInjection(t *testing.T) {
	up := newCountingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := mustMembers(body)["id"]
		w.Header().Set(HeaderSessionID, "s1")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"protocolVersion":"2025-06-18\r\nX-Evil: 1"}}`))
	}, nil)
	c := dialFastTest(t, up.srv.URL+"/mcp")
	c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
	readUntil(t, c, `"id":0`)
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err == nil {
		t.Fatal("a request with a header value holding CR LF was sent")
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, h := range up.seen {
		if h.Get("X-Evil") != "" {
			t.Fatal("a header was injected")
		}
	}
	if len(up.seen) != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", len(up.seen))
	}
}

// TestFastClientCloseCancels: Close cuts short a request whose answer has
// not come, and the connection it was on is not kept.
func TestFastClientCloseCancels(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := newCountingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "initialize") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"jsonrpc":"2.0","id":0,"result":{}}`))
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, nil)
	c := dialFastTest(t, up.srv.URL+"/mcp")
	c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
	readUntil(t, c, `"id":0`)
	done := make(chan error, 1)
	go func() { done <- c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)) }()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cut short a request in flight")
	}
	c.Wait()
}

// TestAppendRequest: the request is what net/http would write, and a
// header net/http would refuse is refused.
func TestAppendRequest(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:8/mcp?x=1", nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header["Host"] = []string{"evil.example"} // net/http ignores it too
	b, err := appendRequest(nil, req, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{"POST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8\r\n", "Content-Length: 2\r\n", "Content-Type: application/json\r\n", "User-Agent: Go-http-client/1.1\r\n", "\r\n\r\n{}"} {
		if !strings.Contains(got, want) {
			t.Fatalf("request %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "evil") {
		t.Fatalf("request %q carries the header's Host", got)
	}
	for _, bad := range []http.Header{{"X-A": {"a\r\nB: c"}}, {"X-A": {"a\nb"}}, {"X-A": {"a\x00"}}, {"Bad Name": {"v"}}, {"X-A\r\nB": {"v"}}} {
		req.Header = bad
		if _, err := appendRequest(nil, req, nil); err == nil {
			t.Errorf("header %q accepted", bad)
		}
	}
}

// TestFastClientHeaderCap: an answer whose headers exceed the cap is an
// error, not a buffer without bound.
func TestFastClientHeaderCap(t *testing.T) {
	up := newCountingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		v := strings.Repeat("a", 32<<10)
		for i := range 40 {
			w.Header().Set("X-Pad-"+strconv.Itoa(i), v)
		}
		jsonUpstream(w, r)
	}, nil)
	c := dialFastTest(t, up.srv.URL+"/mcp")
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`)); err == nil || !strings.Contains(err.Error(), "headers exceed") {
		t.Fatalf("answer with 1.25 MiB of headers: %v", err)
	}
}

// TestFastPoolReaper: the reaper closes an idle connection its upstream
// closed and one idle past fastIdleTimeout, keeps a live one, and stops
// once no connection is left idle.
func TestFastPoolReaper(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := l.Addr().String()
	dial := func() (*fastConn, net.Conn) {
		fc, err := dialFast(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		return fc, <-accepted
	}
	p := &fastPool{idle: map[string][]*fastConn{}}
	t.Cleanup(func() {
		p.mu.Lock()
		if p.reaper != nil {
			p.reaper.Stop()
		}
		p.mu.Unlock()
	})
	closedUp, sc := dial()
	old, osc := dial()
	live, lsc := dial()
	defer osc.Close()
	defer lsc.Close()
	p.put(closedUp)
	p.put(old)
	p.put(live)
	if p.reaper == nil {
		t.Fatal("no reaper runs while connections are idle")
	}
	p.mu.Lock()
	old.idleAt = time.Now().Add(-fastIdleTimeout)
	p.mu.Unlock()
	sc.Close() // the upstream closes its end
	deadline := time.Now().Add(5 * time.Second)
	for closedUp.peek.alive(closedUp.rc) {
		if time.Now().After(deadline) {
			t.Fatal("the upstream's close never showed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.reap()
	if n := p.idleCount(); n != 1 {
		t.Fatalf("%d idle connections after the reap, want 1 (the live one)", n)
	}
	for name, fc := range map[string]*fastConn{"closed by the upstream": closedUp, "idle too long": old} {
		if _, err := fc.nc.Write([]byte("x")); err == nil {
			t.Errorf("the connection %s is still open", name)
		}
	}
	if got := p.get(addr); got != live {
		t.Fatal("the live connection was not kept")
	}
	p.reap()
	p.mu.Lock()
	stopped := p.reaper == nil
	p.mu.Unlock()
	if !stopped {
		t.Fatal("the reaper runs on with no connection idle")
	}
	live.nc.Close()
}
