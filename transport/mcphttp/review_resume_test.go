package mcphttp

import (
	"context"
	"encoding/json"
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
	// Then many calls, each answered on its own event stream, which ends
	// (the client accepts only streams: an answer complete at once would
	// otherwise come as JSON, with no stream to keep).
	const calls = 40
	big := strings.Repeat("x", 1000)
	for i := range calls {
		r := f.do("POST", fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"pad":%q}}`, i+1, big), map[string]string{"Accept": "text/event-stream"})
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

// bigServer is the Accept side: for a batch's "big" requests it sends one
// notification, then, once proceed is closed, answers each with a result
// of pad bytes.
type bigServer struct {
	proceed chan struct{}
	pad     int
}

func (p *bigServer) accept(_ context.Context, s *Session) {
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		msgs := []json.RawMessage{raw}
		if strings.HasPrefix(string(raw), "[") {
			msgs = nil
			json.Unmarshal(raw, &msgs)
		}
		for _, raw := range msgs {
			p.one(s, raw)
		}
	}
}

func (p *bigServer) one(s *Session, raw []byte) {
	{
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.Unmarshal(raw, &m)
		answer := func(result string) {
			s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + result + `}`))
		}
		switch {
		case m.Method == "initialize":
			answer(`{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"big","version":"1"}}`)
		case m.Method == "big":
			if string(m.ID) == "0" {
				s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}`))
			}
			go func() {
				<-p.proceed
				answer(`{"pad":"` + strings.Repeat("x", p.pad) + `"}`)
			}()
		case m.ID != nil:
			answer(`{}`)
		}
	}
}

// TestResumeGetsEveryAnswer: a client whose POST event stream broke after
// its first event, and that resumes it with that event's id, gets every
// answer of its batch, each once, however large the answers: an answer
// the client never saw must not fall out of the stream's replay log.
// Before the fix, the log kept maxReplayBytes and dropped the oldest
// events, sent or not: answers that came while the stream was detached
// were lost, and their requests never answered.
func TestResumeGetsEveryAnswer(t *testing.T) {
	for _, c := range []struct {
		name     string
		requests int
		pad      int
	}{
		{"small batch", 4, 100},
		{"batch over the replay bound", 30, 200 << 10},
		{"one answer over the replay bound", 1, maxReplayBytes + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			watch := newLogWatch(logDetached)
			srv := &bigServer{proceed: make(chan struct{}), pad: c.pad}
			f := newFixture(t, func(h *Handler) {
				h.Accept, h.ResumeWindow, h.Log = srv.accept, time.Minute, slog.New(watch)
			})
			f.initialize()
			var batch []string
			for i := range c.requests {
				batch = append(batch, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"big"}`, i))
			}
			ev := cutAfterFirstEvent(t, f, "["+strings.Join(batch, ",")+"]")
			if !strings.Contains(string(ev.data), "working") {
				t.Fatalf("first event %+v", ev)
			}
			select {
			case <-watch.seen(t, logDetached):
			case <-time.After(10 * time.Second):
				t.Fatal("the stream was not detached")
			}
			close(srv.proceed)
			// Every answer reached the detached stream before the resume.
			deadline := time.Now().Add(10 * time.Second)
			for f.h.InFlight() != 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			resp := f.do("GET", "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": ev.id})
			if resp.StatusCode != 200 {
				t.Fatalf("resume: %d", resp.StatusCode)
			}
			events := readEvents(t, resp.Body)
			seen := map[string]int{}
			for _, e := range events {
				var m struct {
					ID json.RawMessage `json:"id"`
				}
				if err := json.Unmarshal([]byte(e.data), &m); err != nil || m.ID == nil {
					t.Fatalf("resumed event %.100q: %v", e.data, err)
				}
				seen[string(m.ID)]++
			}
			for i := range c.requests {
				if n := seen[fmt.Sprint(i)]; n != 1 {
					t.Errorf("request %d answered %d times on the resumed stream", i, n)
				}
			}
			if len(seen) != c.requests {
				t.Errorf("answers for %d ids, want %d", len(seen), c.requests)
			}
		})
	}
}
