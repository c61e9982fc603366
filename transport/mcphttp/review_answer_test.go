package mcphttp

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestJSONAnswerOutlivesReadTimeout: a client answered as JSON (one that
// accepts only JSON, or both) waits for its answer however long the call
// takes. Only the event streams lift the server's ReadTimeout themselves;
// the JSON waits rely on net/http clearing the read deadline when it starts
// its background read of the connection, whose failure would cancel the
// request's context (and the call upstream) at serve's --read-timeout.
func TestJSONAnswerOutlivesReadTimeout(t *testing.T) {
	for _, accept := range []string{"application/json", "application/json, text/event-stream"} {
		t.Run(accept, func(t *testing.T) {
			p := newPeer()
			h := &Handler{Accept: p.accept}
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ReadTimeout = 300 * time.Millisecond
			srv.Start()
			t.Cleanup(func() { h.Close(); srv.CloseClientConnections(); srv.Close() })
			f := &fixture{t: t, h: h, p: p, srv: srv, url: srv.URL + "/mcp"}
			f.initialize()
			h.mu.Lock()
			s := h.sessions[f.sess]
			h.mu.Unlock()
			go func() {
				time.Sleep(900 * time.Millisecond) // three read timeouts
				s.Write([]byte(`{"jsonrpc":"2.0","id":"b","result":{"late":true}}`))
			}()
			resp := f.do("POST", `{"jsonrpc":"2.0","id":"b","method":"block"}`, map[string]string{"Accept": accept})
			msgs := answerMessages(t, resp)
			if len(msgs) != 1 || !strings.Contains(msgs[0], `"late":true`) {
				t.Fatalf("answer %q", msgs)
			}
			select {
			case id := <-p.cancelled:
				t.Fatalf("request %s cancelled upstream while its client waited", id)
			default:
			}
		})
	}
}

// TestAnswerWriterSupersededEnds: a client resuming (Last-Event-ID) the
// event stream of a POST still waiting to know its answer's form takes the
// stream over; the POST ends at once, as an empty event stream, rather
// than spinning on the closed wake channel until its header delay and then
// writing the stream alongside the resumer.
func TestAnswerWriterSupersededEnds(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()
	type result struct {
		resp *http.Response
		body []byte
		at   time.Duration
	}
	post := make(chan result, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest("POST", f.url, strings.NewReader(`{"jsonrpc":"2.0","id":"b","method":"block"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(HeaderSessionID, f.sess)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			post <- result{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		post <- result{resp, b, time.Since(start)}
	}()
	var num uint64
	for deadline := time.Now().Add(5 * time.Second); num == 0; {
		s.mu.Lock()
		for _, st := range s.waiting {
			num = st.num
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the POST was not registered")
		}
		time.Sleep(time.Millisecond)
	}
	get := f.do("GET", "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": postEventID(num, 0)})
	if get.StatusCode != 200 {
		t.Fatalf("resume: %d", get.StatusCode)
	}
	var r result
	select {
	case r = <-post:
	case <-time.After(3 * time.Second):
		s.Write([]byte(`{"jsonrpc":"2.0","id":"b","result":{}}`))
		<-post
		t.Fatal("the superseded POST did not end")
	}
	if r.resp == nil || r.resp.Header.Get("Content-Type") != "text/event-stream" || len(bytes.TrimSpace(r.body)) != 0 {
		t.Fatalf("superseded POST answered %v %q", r.resp, r.body)
	}
	// The answer goes to the resumer, the stream's one writer.
	s.Write([]byte(`{"jsonrpc":"2.0","id":"b","result":{"to":"resumer"}}`))
	if ev := readEvents(t, get.Body); len(ev) != 1 || !strings.Contains(ev[0].data, `"to":"resumer"`) {
		t.Fatalf("resumer got %+v", ev)
	}
}

// TestAnswerOfGivenUpStreamIsNoJSON: a POST stream given up (over its
// bytes) with one message queued is not answered with that message as
// JSON: the message is a notification that came first, and the answer the
// POST awaited was refused by the dead stream.
func TestAnswerOfGivenUpStreamIsNoJSON(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()
	body := []byte(`{"jsonrpc":"2.0","id":"big","method":"block"}`)
	msgs, _, err := parseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	st := newStream(true, false)
	if status, msg := s.register(st, msgs, 1); status != 0 {
		t.Fatal(msg)
	}
	pad := strings.Repeat("x", 9<<20)
	s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"` + pad + `"}}`))
	s.Write([]byte(`{"jsonrpc":"2.0","id":"big","result":{"data":"` + pad + `"}}`))
	if n, over, _, _ := st.queued(0); n != 1 || !over {
		t.Fatalf("queued %d over %v: the test does not make what it means to", n, over)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/mcp", nil)
	s.begin()
	f.h.serveAnswer(w, r, s, st)
	s.end()
	if w.Header().Get("Content-Type") == "application/json" {
		t.Fatalf("a given-up stream answered as JSON with %.60q", w.Body.String())
	}
}

// TestStatelessGivenUpStreamIsNoJSON: the same for a 2026-07-28 POST: a
// stream given up with one message queued does not answer that message as
// the request's JSON answer.
func TestStatelessGivenUpStreamIsNoJSON(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	f.h.mu.Lock()
	s := f.h.sessions[f.sess]
	f.h.mu.Unlock()
	st := newStream(true, false)
	pad := strings.Repeat("x", 9<<20)
	st.push("", []byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"`+pad+`"}}`))
	if st.push("", []byte(`{"jsonrpc":"2.0","id":"big","result":{"data":"`+pad+`"}}`)) {
		t.Fatal("the stream took 18 MiB")
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/mcp", nil)
	f.h.serveStateless(w, r, s, st, true, true)
	if w.Header().Get("Content-Type") == "application/json" {
		t.Fatalf("a given-up stream answered as JSON with %.60q", w.Body.String())
	}
}

// TestAcceptQualityZero: a media type given q=0 is one the client refuses
// (RFC 9110 §12.4.2): a client accepting "application/json;q=0" with
// event streams gets its lone answer as a stream, not as the JSON it
// refused; one refusing both is answered 406.
func TestAcceptQualityZero(t *testing.T) {
	f := newFixture(t, nil)
	f.initialize()
	for accept, want := range map[string]string{
		"application/json;q=0, text/event-stream":          "text/event-stream",
		"application/json; q=0.0, text/event-stream;q=0.5": "text/event-stream",
		"text/event-stream;q=0, application/json":          "application/json",
		"application/json;q=0.001, text/event-stream":      "application/json",
		"*/*;q=0": "",
	} {
		resp := f.do("POST", `{"jsonrpc":"2.0","id":"q","method":"ping"}`, map[string]string{"Accept": accept})
		io.ReadAll(resp.Body)
		if want == "" {
			if resp.StatusCode != http.StatusNotAcceptable {
				t.Errorf("Accept %q: %d, want 406", accept, resp.StatusCode)
			}
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("Accept %q answered as %q, want %q", accept, got, want)
		}
	}
}
