package mcphttp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestKeptStreamsBoundedBehindDetached: a client whose first stream is
// detached (its request still awaited, the resume window not yet passed)
// cannot make the session keep every later stream that ended: the ended
// streams kept for a late Last-Event-ID stay at maxKeptStreams, plus the
// detached ones (each holds a request in flight, so they are bounded by
// the in-flight limit). Before the fix, eviction stopped at a detached
// stream at the head of the kept list, and each later stream, with its
// replay log of up to maxReplayBytes, was kept until the window passed —
// or for ever, for a client that resumes and drops the first stream
// within every window.
func TestKeptStreamsBoundedBehindDetached(t *testing.T) {
	t.Parallel()
	watch := newLogWatch(logDetached)
	srv := &slowServer{proceed: make(chan struct{}), cancelled: make(chan string, 4)}
	f := newFixture(t, func(h *Handler) {
		h.Accept, h.ResumeWindow = srv.accept, time.Minute
		h.Log = slog.New(watch)
	})
	f.initialize()
	t.Cleanup(func() { close(srv.proceed) })

	// The first stream: one event seen, then the connection drops.
	cutAfterFirstEvent(t, f, `{"jsonrpc":"2.0","id":"held","method":"tools/call","params":{"name":"slow"}}`)
	select {
	case <-watch.seen(t, logDetached):
	case <-time.After(10 * time.Second):
		t.Fatal("the first stream was not detached")
	}
	// Then many calls, each answered on its own event stream, which ends.
	const calls = 40
	big := strings.Repeat("x", 1000)
	for i := range calls {
		r := f.do("POST", fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"pad":%q}}`, i+1, big), nil)
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != 200 || !strings.Contains(string(b), "id: p") {
			t.Fatalf("call %d: %d %q", i, r.StatusCode, b)
		}
	}
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()
	s.mu.Lock()
	kept, resumable := len(s.kept), len(s.resumable)
	detached := 0
	for _, st := range s.resumable {
		if st.detached {
			detached++
		}
	}
	s.mu.Unlock()
	if kept > maxKeptStreams+detached || resumable > maxKeptStreams+detached {
		t.Fatalf("after %d ended streams behind a detached one the session keeps %d streams (%d resumable, %d detached), want at most %d",
			calls, kept, resumable, detached, maxKeptStreams+detached)
	}
}

// cutAfterFirstEvent POSTs body in f's session, reads the first event of
// its event stream, and drops the connection, as a broken network would.
func cutAfterFirstEvent(t *testing.T, f *fixture, body string) sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(HeaderSessionID, f.sess)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ev, err := newEventScanner(resp.Body, 1<<20).next()
	if err != nil {
		t.Fatal(err)
	}
	if ev.id == "" {
		t.Fatalf("first event without an id: %+v", ev)
	}
	return ev
}
