package mcphttp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// logWatch is a slog handler that tells, on a channel per message, when
// the handler logged it: the tests wait for the server's side of a broken
// stream instead of sleeping.
type logWatch struct {
	mu     sync.Mutex
	waits  map[string]chan struct{}
	logged map[string]bool
}

func newLogWatch(msgs ...string) *logWatch {
	w := &logWatch{waits: map[string]chan struct{}{}, logged: map[string]bool{}}
	for _, m := range msgs {
		w.waits[m] = make(chan struct{})
	}
	return w
}

func (w *logWatch) Enabled(context.Context, slog.Level) bool { return true }
func (w *logWatch) WithAttrs([]slog.Attr) slog.Handler       { return w }
func (w *logWatch) WithGroup(string) slog.Handler            { return w }
func (w *logWatch) Handle(_ context.Context, r slog.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.waits[r.Message]; ok && !w.logged[r.Message] {
		w.logged[r.Message] = true
		close(c)
	}
	return nil
}

// seen returns the channel closed once msg is logged (the first time).
func (w *logWatch) seen(t *testing.T, msg string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.waits[msg]
	if !ok {
		t.Fatalf("not watching %q", msg)
	}
	return c
}

const (
	logDetached = "an event stream's client went away; its requests await its return"
	logResumed  = "a client resumed an event stream"
)

// slowServer is the Accept side: an MCP server whose tool slow sends a log
// message, then answers "done" once go is closed; cancelled receives the
// requestId of each notifications/cancelled.
type slowServer struct {
	proceed   chan struct{}
	cancelled chan string
}

func (p *slowServer) accept(_ context.Context, s *Session) {
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name      string          `json:"name"`
				RequestID json.RawMessage `json:"requestId"`
			} `json:"params"`
		}
		json.Unmarshal(raw, &m)
		answer := func(result string) {
			s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + result + `}`))
		}
		switch {
		case m.Method == "initialize":
			answer(`{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"logging":{}},"serverInfo":{"name":"slow","version":"1"}}`)
		case m.Method == "tools/call" && m.Params.Name == "slow":
			s.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}`))
			go func() {
				<-p.proceed
				answer(`{"content":[{"type":"text","text":"done"}]}`)
			}()
		case m.Method == "notifications/cancelled":
			p.cancelled <- string(m.Params.RequestID)
		case m.ID != nil:
			answer(`{}`)
		}
	}
}

// cutter is the client's HTTP transport: it breaks the event stream
// answering a tools/call after its first event, as a network would, and
// records the Last-Event-ID of each GET; a GET resuming a stream waits for
// hold, when set, to be closed.
type cutter struct {
	next http.RoundTripper
	hold chan struct{}

	mu      sync.Mutex
	resumes []string
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	var call bool
	if req.Method == http.MethodPost && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		call = bytes.Contains(b, []byte(`"tools/call"`))
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	if id := req.Header.Get("Last-Event-ID"); req.Method == http.MethodGet && id != "" {
		c.mu.Lock()
		c.resumes = append(c.resumes, id)
		c.mu.Unlock()
		if c.hold != nil {
			<-c.hold
		}
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil || !call || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp, err
	}
	resp.Body = &cutBody{r: bufio.NewReader(resp.Body), body: resp.Body}
	return resp, nil
}

// cutBody passes one SSE event through, then fails as a broken connection.
type cutBody struct {
	r    *bufio.Reader
	body io.ReadCloser
	done bool
}

var errCut = errors.New("connection reset (cut by the test)")

func (b *cutBody) Read(p []byte) (int, error) {
	if b.done {
		b.body.Close() // the server sees its client gone
		return 0, errCut
	}
	var ev []byte
	for {
		line, err := b.r.ReadBytes('\n')
		ev = append(ev, line...)
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 && len(ev) > len(line) {
			break
		}
	}
	b.done = true
	return copy(p, ev), nil // an event is far shorter than p
}

func (b *cutBody) Close() error { return b.body.Close() }

// TestPostStreamResumes: the official Go SDK's client, whose stream
// carrying a tools/call's answer breaks after the first event, GETs it back
// with Last-Event-ID and gets the answer, whether the answer came while no
// stream was open or after the client came back; the request is never
// cancelled upstream, and the event it saw is not sent again.
func TestPostStreamResumes(t *testing.T) {
	for _, answerWhile := range []string{"detached", "resumed"} {
		t.Run("answer-while-"+answerWhile, func(t *testing.T) {
			t.Parallel()
			watch := newLogWatch(logDetached, logResumed)
			srv := &slowServer{proceed: make(chan struct{}), cancelled: make(chan string, 4)}
			h := &Handler{Accept: srv.accept, Log: slog.New(watch)}
			ts := httptest.NewServer(h)
			t.Cleanup(func() { h.Close(); ts.CloseClientConnections(); ts.Close() })
			cut := &cutter{next: &http.Transport{}}
			if answerWhile == "detached" {
				cut.hold = make(chan struct{})
			}
			go func() {
				select {
				case <-watch.seen(t, logDetached):
				case <-time.After(10 * time.Second):
					return // the call below fails
				}
				if answerWhile == "detached" {
					close(srv.proceed) // answered while no stream is open
					time.AfterFunc(50*time.Millisecond, func() { close(cut.hold) })
					return
				}
				select {
				case <-watch.seen(t, logResumed):
					close(srv.proceed)
				case <-time.After(10 * time.Second):
				}
			}()
			var logs []string
			var logMu sync.Mutex
			client := mcp.NewClient(&mcp.Implementation{Name: "resume-test", Version: "1"}, &mcp.ClientOptions{
				LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
					logMu.Lock()
					logs = append(logs, r.Params.Data.(string))
					logMu.Unlock()
				},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp",
				HTTPClient: &http.Client{Transport: cut}, MaxRetries: 3}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "slow"})
			if err != nil {
				t.Fatalf("call across the broken stream: %v", err)
			}
			if tc, ok := res.Content[0].(*mcp.TextContent); !ok || tc.Text != "done" {
				t.Fatalf("result %+v", res.Content)
			}
			cut.mu.Lock()
			resumes := cut.resumes
			cut.mu.Unlock()
			if len(resumes) != 1 || !strings.HasPrefix(resumes[0], "p") || !strings.HasSuffix(resumes[0], "-1") {
				t.Errorf("the client resumed with Last-Event-ID %q, want the POST stream's first event", resumes)
			}
			logMu.Lock()
			if len(logs) != 1 || logs[0] != "working" {
				t.Errorf("log messages the client got: %q, want the one, once", logs)
			}
			logMu.Unlock()
			select {
			case id := <-srv.cancelled:
				t.Errorf("request %s cancelled upstream though its client came back", id)
			default:
			}
			if n := h.InFlight(); n != 0 {
				t.Errorf("%d requests still in flight", n)
			}
		})
	}
}

// TestPostStreamResumeEdges, by hand: a client that never comes back has
// its request cancelled once the resume window passes; a resume names only
// its own stream's later events; a stream the session does not keep, or
// one whose every event the client saw, is an event stream that ends.
func TestPostStreamResumeEdges(t *testing.T) {
	type env struct {
		f   *fixture
		srv *slowServer
	}
	setup := func(t *testing.T, window time.Duration, log ...*logWatch) *env {
		srv := &slowServer{proceed: make(chan struct{}), cancelled: make(chan string, 4)}
		f := newFixture(t, func(h *Handler) {
			h.Accept, h.ResumeWindow = srv.accept, window
			if len(log) > 0 {
				h.Log = slog.New(log[0])
			}
		})
		f.initialize()
		return &env{f, srv}
	}
	// firstEvent POSTs the slow call and reads its stream's first event,
	// then drops the connection.
	firstEvent := func(t *testing.T, e *env, id string) sseEvent {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", e.f.url, strings.NewReader(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"slow"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set(HeaderSessionID, e.f.sess)
		resp, err := e.f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := newEventScanner(resp.Body, 1<<20).next()
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		return ev
	}
	resume := func(t *testing.T, e *env, last string) string {
		resp := e.f.do("GET", "", map[string]string{"Accept": "text/event-stream", "Last-Event-ID": last})
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("resuming GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Run("never-resumed", func(t *testing.T) {
		t.Parallel()
		e := setup(t, 200*time.Millisecond)
		ev := firstEvent(t, e, `"gone"`)
		if !strings.Contains(string(ev.data), "working") || ev.id == "" {
			t.Fatalf("first event %+v", ev)
		}
		select {
		case id := <-e.srv.cancelled:
			if id != `"gone"` {
				t.Fatalf("cancelled %s", id)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notifications/cancelled after the resume window")
		}
		if n := e.f.h.InFlight(); n != 0 {
			t.Errorf("%d requests still in flight", n)
		}
		// Its stream is kept, but holds nothing more: the resume ends.
		if got := resume(t, e, ev.id); got != "" {
			t.Errorf("resumed a given-up stream: %q", got)
		}
	})
	t.Run("cancelled-by-its-client", func(t *testing.T) {
		t.Parallel()
		watch := newLogWatch(logDetached)
		e := setup(t, 300*time.Millisecond, watch)
		firstEvent(t, e, `"c"`)
		<-watch.seen(t, logDetached)
		if r := e.f.do("POST", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}`, nil); r.StatusCode != 202 {
			t.Fatalf("cancel: %d", r.StatusCode)
		}
		if id := <-e.srv.cancelled; id != `"c"` {
			t.Fatalf("cancelled %s", id)
		}
		if n := e.f.h.InFlight(); n != 0 {
			t.Errorf("%d requests still in flight after their client cancelled them", n)
		}
		select { // the window passing sends no second cancellation
		case id := <-e.srv.cancelled:
			t.Errorf("request %s cancelled again", id)
		case <-time.After(600 * time.Millisecond):
		}
	})
	t.Run("replay", func(t *testing.T) {
		t.Parallel()
		e := setup(t, time.Minute)
		ev := firstEvent(t, e, `7`)
		close(e.srv.proceed)
		next := strings.TrimSuffix(ev.id, "-1") + "-2"
		got := resume(t, e, ev.id)
		if strings.Contains(got, "working") || !strings.Contains(got, `"text":"done"`) || !strings.HasPrefix(got, "id: "+next+"\n") {
			t.Fatalf("resumed after %s: %q", ev.id, got)
		}
		// Every event seen: nothing to replay, and the stream is over.
		if again := resume(t, e, next); again != "" {
			t.Errorf("resumed after its last event: %q", again)
		}
		// A stream the session never had: nothing, at once.
		if got := resume(t, e, "p9-1"); got != "" {
			t.Errorf("Last-Event-ID p9-1: %q", got)
		}
		select {
		case id := <-e.srv.cancelled:
			t.Errorf("request %s cancelled", id)
		default:
		}
	})
}
