package redisreplay_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/redisreplay"
)

func TestClaim(t *testing.T) {
	srv := gatewaytest.StartRedis(t)
	s, err := redisreplay.Open(srv.URL, redisreplay.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.Claim("k1", time.Minute); !fresh || err != nil {
		t.Fatalf("first claim: %v %v", fresh, err)
	}
	if fresh, err := s.Claim("k1", time.Minute); fresh || err != nil {
		t.Fatalf("second claim: %v %v", fresh, err)
	}
	if fresh, _ := s.Claim("k2", time.Minute); !fresh {
		t.Fatal("another key is taken")
	}
	// Concurrent claims of one key: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if fresh, err := s.Claim("race", time.Minute); fresh && err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims of one key won", wins)
	}
	if _, err := redisreplay.Open("http://nope", redisreplay.Options{}); err == nil {
		t.Fatal("a non-redis URL opened")
	}
	// Redis gone: fail closed by default; fail open only when asked, loudly.
	var logged bytes.Buffer
	open, _ := redisreplay.Open(srv.URL, redisreplay.Options{FailOpen: true, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	defer open.Close()
	srv.Stop()
	if fresh, err := s.Claim("k3", time.Minute); fresh || err == nil {
		t.Fatalf("Redis down: %v %v (want a refusal)", fresh, err)
	}
	if fresh, err := open.Claim("k3", time.Minute); !fresh || err != nil || !strings.Contains(logged.String(), "REPLAY PROTECTION OFF") {
		t.Fatalf("fail open: %v %v, log %q", fresh, err, logged.String())
	}
	if s.Ping(t.Context()) == nil {
		t.Fatal("Ping with Redis down")
	}
}

// TestRetryGrants: a grant made at one replica is taken once, at any
// replica; a second take, an unknown key or an expired grant finds none;
// of concurrent takes exactly one wins; with Redis down it fails closed, or
// open only when asked, loudly.
func TestRetryGrants(t *testing.T) {
	srv := gatewaytest.StartRedis(t)
	// A generous timeout: what is tested is the grant's semantics, not how
	// fast 16 concurrent takes reach Redis on a loaded machine under -race
	// (the default 250 ms failed a take once there).
	a, err := redisreplay.Open(srv.URL, redisreplay.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := redisreplay.Open(srv.URL, redisreplay.Options{Timeout: 5 * time.Second})
	defer b.Close()
	if err := a.Grant("g1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if found, err := b.Take("g1"); !found || err != nil {
		t.Fatalf("take at the other replica: %v %v", found, err)
	}
	if found, err := a.Take("g1"); found || err != nil {
		t.Fatalf("second take: %v %v", found, err)
	}
	if found, err := a.Take("never-granted"); found || err != nil {
		t.Fatalf("unknown key: %v %v", found, err)
	}
	if err := a.Grant("short", 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if found, _ := b.Take("short"); found {
		t.Fatal("an expired grant was taken")
	}
	// A grant is no claim: claiming its key is still fresh, and the reverse.
	a.Grant("g2", time.Minute)
	if fresh, _ := a.Claim("g2-claim", time.Minute); !fresh {
		t.Fatal("a grant took a claim's key")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if found, err := s.Take("g2"); found && err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d takes of one grant won", wins)
	}
	var logged bytes.Buffer
	open, _ := redisreplay.Open(srv.URL, redisreplay.Options{FailOpen: true, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	defer open.Close()
	srv.Stop()
	if err := a.Grant("g3", time.Minute); err == nil {
		t.Fatal("Redis down: a grant was recorded")
	}
	if found, err := a.Take("g3"); found || err == nil {
		t.Fatalf("Redis down: take %v %v (want a refusal)", found, err)
	}
	if found, err := open.Take("g3"); !found || err != nil || !strings.Contains(logged.String(), "REPLAY PROTECTION OFF") {
		t.Fatalf("fail open: %v %v, log %q", found, err, logged.String())
	}
}

// TestTwoReplicas: two sidecars, each with its own authorizer and replay
// guard over one Redis, in front of one upstream: a PoP used at the first
// is refused at the second; with Redis down, both fail closed.
func TestTwoReplicas(t *testing.T) {
	srv := gatewaytest.StartRedis(t)
	f := gatewaytest.New(t)
	var hits int
	var mu sync.Mutex
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { mu.Lock(); hits++; mu.Unlock() }))
	defer up.Close()
	replica := func() *httptest.Server {
		store, err := redisreplay.Open(srv.URL, redisreplay.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		g := authz.NewReplayGuard(0, 0, nil)
		g.SetStore(store)
		p := f.NewPoint(f.NewAuthorizer(t, g))
		sc, err := gateway.NewSidecar(gateway.SidecarConfig{Checker: gateway.Checker{Point: p}, Upstream: mustURL(t, up.URL)})
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewServer(sc)
		t.Cleanup(s.Close)
		return s
	}
	a, b := replica(), replica()
	c := gatewaytest.Cases()[0] // GET /files?path=/data/a, allowed
	h := c.Headers(t, f)
	send := func(s *httptest.Server) int {
		r, _ := http.NewRequest("GET", s.URL+c.Target, nil)
		r.Header = h.Clone()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(a); code != 200 {
		t.Fatalf("first use at replica A: %d", code)
	}
	if code := send(b); code != 401 {
		t.Fatalf("replay at replica B: %d, want 401", code)
	}
	if code := send(a); code != 401 {
		t.Fatalf("replay at replica A: %d, want 401", code)
	}
	if hits != 1 {
		t.Fatalf("the upstream saw %d requests", hits)
	}
	srv.Stop()
	c = gatewaytest.Case{Method: "GET", Target: "/files?path=/data/never-seen", Stack: c.Stack, Tool: "read",
		Fields: map[string]any{"path": "/data/never-seen"}}
	h = c.Headers(t, f)
	if code := send(b); code != 403 {
		t.Fatalf("Redis down: %d, want 403 (fail closed)", code)
	}
	if !strings.Contains(f.Audit.String(), "replay store unavailable") {
		t.Fatal("the audit does not say why")
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
