package mcphttp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// progressPeer answers tools/call once two have arrived: for each, a
// progress notification on the call's progressToken carrying its
// arguments.tag, then the answer.
func progressPeer(_ context.Context, s *Session) {
	type call struct{ id, tok, tag json.RawMessage }
	var calls []call
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Meta struct {
					Token json.RawMessage `json:"progressToken"`
				} `json:"_meta"`
				Arguments struct {
					Tag json.RawMessage `json:"tag"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Method != "tools/call" {
			continue
		}
		calls = append(calls, call{m.ID, m.Params.Meta.Token, m.Params.Arguments.Tag})
		if len(calls) < 2 {
			continue
		}
		for _, c := range calls {
			s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":` + string(c.tok) + `,"progress":1,"message":` + string(c.tag) + `}}`))
			s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(c.id) + `,"result":{"resultType":"complete","content":[],"tag":` + string(c.tag) + `}}`))
		}
		calls = nil
	}
}

// TestStatelessProgressTokenCollision: two clients of one caller that both
// name progress token "p" (and id 1) each get their own call's progress,
// under their own token, never the other's; nor does a client's event
// stream get the progress of another's call answered as JSON.
func TestStatelessProgressTokenCollision(t *testing.T) {
	cases := []struct {
		name               string
		oneToken, twoToken string
		oneAccept          string
	}{
		{"same token", "p", "p", "text/event-stream"},
		{"one answered as JSON", "p", "q", "application/json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newStatelessFixture(t, func(h *Handler) { h.Accept = progressPeer })
			hdr := with(headersFor("tools/call", "x"), "X-Caller", "a")
			call := func(tag, tok string) string {
				return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"tag":"` + tag + `"},` +
					`"_meta":{"progressToken":"` + tok + `","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// The first is registered before the second is sent: an event
			// stream's headers go out after headerDelay, and the peer
			// answers nothing until both arrived.
			var first chan []string
			if c.oneAccept == "application/json" {
				first = make(chan []string, 1)
				go func() {
					req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/mcp", strings.NewReader(call("one", c.oneToken)))
					for k, v := range with(hdr, "Accept", c.oneAccept, "Content-Type", "application/json") {
						req.Header.Set(k, v)
					}
					resp, err := f.srv.Client().Do(req)
					if err != nil {
						first <- []string{err.Error()}
						return
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					first <- []string{string(b)}
				}()
				time.Sleep(300 * time.Millisecond)
			} else {
				resp := f.do(ctx, "POST", call("one", c.oneToken), with(hdr, "Accept", c.oneAccept))
				first = make(chan []string, 1)
				go func() {
					var data []string
					for _, ev := range readEvents(t, resp.Body) {
						data = append(data, ev.data)
					}
					first <- data
				}()
			}
			two := f.do(ctx, "POST", call("two", c.twoToken), with(hdr, "Accept", "text/event-stream"))
			var twoData []string
			for _, ev := range readEvents(t, two.Body) {
				twoData = append(twoData, ev.data)
			}
			got := map[string][]string{"one": <-first, "two": twoData}
			tokens := map[string]string{"one": c.oneToken, "two": c.twoToken}
			for tag, evs := range got {
				progress, answered := 0, false
				for _, d := range evs {
					switch {
					case strings.Contains(d, "notifications/progress"):
						progress++
						if !strings.Contains(d, `"message":"`+tag+`"`) || !strings.Contains(d, `"progressToken":"`+tokens[tag]+`"`) {
							t.Errorf("%s got progress %s", tag, d)
						}
					case strings.Contains(d, `"tag":"`+tag+`"`) && strings.Contains(d, `"id":1`):
						answered = true
					default:
						t.Errorf("%s got %s", tag, d)
					}
				}
				want := 1
				if tag == "one" && c.oneAccept == "application/json" {
					want = 0
				}
				if progress != want || !answered {
					t.Errorf("%s: %d progress notifications, answered %v: %q", tag, progress, answered, evs)
				}
			}
		})
	}
}

// latePeer answers a tools/call with its arguments.tag, except tag "slow",
// which it answers only once cancelled, and late: just before the next
// call's answer (a server may still answer a cancelled request).
func latePeer(cancelled chan<- struct{}) func(context.Context, *Session) {
	return func(_ context.Context, s *Session) { latePeerServe(s, cancelled) }
}

func latePeerServe(s *Session, cancelled chan<- struct{}) {
	var late []byte
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Arguments struct {
					Tag string `json:"tag"`
				} `json:"arguments"`
				RequestID json.RawMessage `json:"requestId"`
			} `json:"params"`
		}
		json.Unmarshal(raw, &m)
		result := func(id json.RawMessage, tag string) []byte {
			return []byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"resultType":"complete","content":[],"tag":"` + tag + `"}}`)
		}
		switch {
		case m.Method == "notifications/cancelled":
			late = result(m.Params.RequestID, "slow")
			cancelled <- struct{}{}
		case m.Method == "tools/call" && m.Params.Arguments.Tag != "slow":
			if late != nil {
				s.Write(late)
				late = nil
			}
			s.Write(result(m.ID, m.Params.Arguments.Tag))
		}
	}
}

// TestStatelessLateAnswerToAbandonedID: a client of a caller gives up its
// call (closes its stream; the call is cancelled upstream), and another
// client of the caller then uses the same id: the upstream's late answer to
// the cancelled call is not delivered as the second client's answer.
func TestStatelessLateAnswerToAbandonedID(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	f := newStatelessFixture(t, func(h *Handler) { h.Accept = latePeer(cancelled) })
	hdr := with(headersFor("tools/call", "x"), "X-Caller", "a")
	call := func(tag string) string {
		return request("1", "tools/call", `"name":"x","arguments":{"tag":"`+tag+`"}`)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if resp := f.do(ctx, "POST", call("slow"), hdr); resp.StatusCode != 200 {
		t.Fatalf("slow: %d", resp.StatusCode)
	}
	cancel()
	for deadline := time.Now().Add(5 * time.Second); f.h.InFlight() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned call is still in flight")
		}
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned call was not cancelled upstream")
	}
	st, m, _ := f.call(call("second"), hdr)
	if st != 200 || !strings.Contains(string(m["result"]), `"tag":"second"`) || string(m["id"]) != "1" {
		t.Fatalf("second client's call: %d %s %s", st, m["id"], m["result"])
	}
}

// jsPeer answers tools/call once two have arrived, each with its
// arguments.tag, echoing the id as JavaScript does (JSON.parse, then
// JSON.stringify: 1.0 comes back as 1).
func jsPeer(_ context.Context, s *Session) {
	var held [][2]string
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var m struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
			Params struct {
				Arguments struct {
					Tag string `json:"tag"`
				} `json:"arguments"`
			} `json:"params"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Method != "tools/call" {
			continue
		}
		id, _ := json.Marshal(m.ID)
		held = append(held, [2]string{string(id), m.Params.Arguments.Tag})
		if len(held) < 2 {
			continue
		}
		for _, c := range held {
			s.Write([]byte(`{"jsonrpc":"2.0","id":` + c[0] + `,"result":{"resultType":"complete","content":[],"tag":"` + c[1] + `"}}`))
		}
		held = nil
	}
}

// TestStatelessNumericIDSpellings: two clients of one caller whose ids
// differ in spelling only (1 and 1.0, 1e0, 10e-1) each get their own answer
// under their own id, though the server answers both as 1.
func TestStatelessNumericIDSpellings(t *testing.T) {
	for _, other := range []string{"1.0", "1e0", "10e-1"} {
		t.Run(other, func(t *testing.T) {
			f := newStatelessFixture(t, func(h *Handler) { h.Accept = jsPeer })
			hdr := with(headersFor("tools/call", "x"), "X-Caller", "a", "Accept", "text/event-stream")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			first := f.do(ctx, "POST", request("1", "tools/call", `"name":"x","arguments":{"tag":"one"}`), hdr) // registered: the peer holds it
			second := f.do(ctx, "POST", request(other, "tools/call", `"name":"x","arguments":{"tag":"two"}`), hdr)
			for _, c := range []struct {
				resp    *http.Response
				id, tag string
			}{{first, "1", "one"}, {second, other, "two"}} {
				evs := readEvents(t, c.resp.Body)
				if len(evs) != 1 || !strings.Contains(evs[0].data, `"id":`+c.id+`,`) || !strings.Contains(evs[0].data, `"tag":"`+c.tag+`"`) {
					t.Errorf("id %s: %v", c.id, evs)
				}
			}
		})
	}
}
