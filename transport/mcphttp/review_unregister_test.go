package mcphttp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAbortedPostLeavesNoStream: a POST whose request the session could not
// take yet (its relay is not reading: the upstream's stdin is full) and
// whose client then gives up is forgotten whole. Its event stream was
// numbered for resumption when it registered; it must not stay in the
// session's resumable streams, or a client repeating POST-and-abandon while
// the relay stalls grows the session's memory without bound (nothing in
// flight counts it, so no limit stops it).
func TestAbortedPostLeavesNoStream(t *testing.T) {
	stall := make(chan struct{})
	h := &Handler{Accept: func(ctx context.Context, s *Session) {
		if _, err := s.Read(); err != nil { // initialize, answered; then the relay stalls
			return
		}
		s.Write([]byte(`{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","capabilities":{},"serverInfo":{"name":"p","version":"1"}}}`))
		select {
		case <-ctx.Done():
		case <-stall:
		}
	}}
	f := newFixtureWith(t, h)
	f.initialize()
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()

	// Fill the session's inbox: these POSTs are taken and wait.
	for i := range cap(s.in) {
		go func() {
			req, _ := http.NewRequest("POST", f.url, strings.NewReader(fmt.Sprintf(`{"jsonrpc":"2.0","id":"fill%d","method":"block"}`, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set(HeaderSessionID, f.sess)
			if resp, err := f.srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(s.in) < cap(s.in) {
		if time.Now().After(deadline) {
			t.Fatalf("inbox holds %d of %d", len(s.in), cap(s.in))
		}
		time.Sleep(5 * time.Millisecond)
	}
	resumable := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.resumable)
	}
	before := resumable()

	// Each of these POSTs registers, cannot be handed on, and is abandoned.
	const n = 40
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", f.url, strings.NewReader(fmt.Sprintf(`{"jsonrpc":"2.0","id":"gone%d","method":"block"}`, i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(HeaderSessionID, f.sess)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if resp, err := f.srv.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		// Wait until it is registered, then give up.
		key := `s:gone` + fmt.Sprint(i)
		for {
			s.mu.Lock()
			_, in := s.waiting[key]
			s.mu.Unlock()
			if in {
				break
			}
			if time.Now().After(deadline.Add(10 * time.Second)) {
				t.Fatalf("POST %d never registered", i)
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
		for {
			s.mu.Lock()
			_, in := s.waiting[key]
			s.mu.Unlock()
			if !in {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if got := resumable(); got > before {
		t.Errorf("after %d abandoned POSTs the session keeps %d resumable streams (had %d)", n, got, before)
	}
	close(stall)
}

// newFixtureWith is newFixture with a handler of the test's own.
func newFixtureWith(t *testing.T, h *Handler) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	f.srv.Config.Handler = h
	f.h = h
	t.Cleanup(func() { h.Close() })
	return f
}
