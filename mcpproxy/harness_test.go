package mcpproxy

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// side is the test's end of one of the proxy's connections: what the proxy
// writes arrives on msgs.
type side struct {
	t    *testing.T
	conn transport.Conn
	w    *io.PipeWriter
	msgs chan []byte
}

func newSide(t *testing.T, conn transport.Conn, w *io.PipeWriter) *side {
	s := &side{t: t, conn: conn, w: w, msgs: make(chan []byte, 256)}
	go func() {
		defer close(s.msgs)
		for {
			m, err := conn.Read()
			if err != nil {
				return
			}
			s.msgs <- m
		}
	}()
	return s
}

func (s *side) send(msg string) {
	s.t.Helper()
	if err := s.conn.Write([]byte(msg)); err != nil {
		s.t.Fatalf("send: %v", err)
	}
}

// recv returns the next message, failing the test after 10 s.
func (s *side) recv() string {
	s.t.Helper()
	select {
	case m, ok := <-s.msgs:
		if !ok {
			s.t.Fatal("recv: stream closed")
		}
		return string(m)
	case <-time.After(10 * time.Second):
		s.t.Fatal("recv: timed out")
	}
	return ""
}

// quiet checks that nothing arrives for a short while.
func (s *side) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case m, ok := <-s.msgs:
		if ok {
			s.t.Fatalf("unexpected message %s", m)
		}
	case <-time.After(d):
	}
}

// harness runs a Proxy between two in-memory sides.
type harness struct {
	client, upstream *side
	done             chan error
}

// newHarness starts p with in-memory client and upstream connections.
func newHarness(t *testing.T, p *Proxy, maxLine int) *harness {
	t.Helper()
	return newHarnessCtx(t, context.Background(), p, maxLine)
}

// newHarnessCtx is newHarness with the context Relay is given.
func newHarnessCtx(t *testing.T, parent context.Context, p *Proxy, maxLine int) *harness {
	t.Helper()
	cr, cw := io.Pipe() // test → proxy (client input)
	pr, pw := io.Pipe() // proxy → test (client output)
	ur, uw := io.Pipe() // proxy → test (upstream input)
	vr, vw := io.Pipe() // test → proxy (upstream output)
	client := transport.NewStdioConn(cr, pw, maxLine)
	upstream := transport.NewStdioConn(vr, uw, maxLine)
	h := &harness{
		client:   newSide(t, transport.NewStdioConn(pr, cw, 0), cw),
		upstream: newSide(t, transport.NewStdioConn(ur, vw, 0), vw),
		done:     make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(parent)
	go func() { h.done <- p.Relay(ctx, client, upstream) }()
	t.Cleanup(func() {
		cancel()
		cw.Close()
		vw.Close()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
	})
	return h
}

func (h *harness) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for Cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	return nil
}

// allowExcept is a policy allowing every tool but the named ones.
func allowExcept(denied ...string) (func(context.Context, *Call) *Verdict, func(context.Context, *ListRequest) func(string) bool) {
	deny := map[string]bool{}
	for _, d := range denied {
		deny[d] = true
	}
	return func(_ context.Context, c *Call) *Verdict {
			if deny[c.Name] {
				return &Verdict{Code: CodeAccessDenied, Message: "Access denied: " + c.Name}
			}
			return &Verdict{Allow: true}
		}, func(context.Context, *ListRequest) func(string) bool {
			return func(n string) bool { return !deny[n] }
		}
}

// field decodes msg and returns the value at a dotted path, JSON-encoded.
func field(t *testing.T, msg, path string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(msg), &v); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	for _, k := range splitPath(path) {
		m, ok := v.(map[string]any)
		if !ok {
			return "<missing>"
		}
		if v, ok = m[k]; !ok {
			return "<missing>"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}
