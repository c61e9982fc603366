package mcphttp

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPooledSessionEndsUnderARequest ends a caller's pooled session in the
// moment between a 2026-07-28 request finding it and registering there, in
// each way a session ends on its own (closed, expired idle, evicted to make
// room): the request is answered by the caller's next session, never left
// waiting for an answer no one gives, and nothing stays counted in flight.
func TestPooledSessionEndsUnderARequest(t *testing.T) {
	ends := []struct {
		name string
		end  func(h *Handler, s *Session)
	}{
		{"closed", func(_ *Handler, s *Session) { s.Close() }},
		{"expired", func(h *Handler, _ *Session) { h.ExpireIdle(time.Now().Add(time.Hour)) }},
		{"evicted", func(h *Handler, _ *Session) {
			h.mu.Lock()
			h.evictIdle()
			h.mu.Unlock()
		}},
	}
	var mu sync.Mutex
	hooks := map[*Handler]func(*Session){}
	testHookPooled = func(s *Session) {
		mu.Lock()
		f := hooks[s.h]
		delete(hooks, s.h) // once per handler
		mu.Unlock()
		if f != nil {
			f(s)
		}
	}
	t.Cleanup(func() { testHookPooled = nil })
	for _, c := range ends {
		t.Run(c.name, func(t *testing.T) {
			f := newStatelessFixture(t, nil)
			hdr := with(headersFor("tools/call", "x"), "X-Caller", "a")
			if st, _, _ := f.call(request("1", "tools/call", `"name":"x"`), hdr); st != 200 {
				t.Fatalf("first call: %d", st)
			}
			var first *Session
			mu.Lock()
			hooks[f.h] = func(s *Session) { first = s; c.end(f.h, s) }
			mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp := f.do(ctx, "POST", request("2", "tools/call", `"name":"x"`), hdr)
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("no answer (the request waits on an ended session): %v", err)
			}
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"seen":2`) {
				t.Fatalf("second call: %d %s", resp.StatusCode, b)
			}
			if first == nil || strings.Contains(string(b), first.ID()) {
				t.Fatalf("answered by the ended session %v: %s", first != nil, b)
			}
			if n := f.h.InFlight(); n != 0 {
				t.Fatalf("%d requests still counted in flight", n)
			}
		})
	}
}

// TestSessionEndsAsItOpens: a session whose Accept returns at once (its
// server did not start) answers the initialize that opened it, however
// the two race.
func TestSessionEndsAsItOpens(t *testing.T) {
	f := newStatelessFixture(t, func(h *Handler) { h.Accept = func(context.Context, *Session) {} })
	h := f.h
	for i := range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp := f.do(ctx, "POST", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, map[string]string{"Accept": "application/json"})
		b, err := io.ReadAll(resp.Body)
		cancel()
		var m map[string]json.RawMessage
		if err != nil || json.Unmarshal(b, &m) != nil || m["error"] == nil {
			t.Fatalf("initialize %d: %d %q %v", i, resp.StatusCode, b, err)
		}
	}
	if n := h.InFlight(); n != 0 {
		t.Fatalf("%d requests still counted in flight", n)
	}
}
