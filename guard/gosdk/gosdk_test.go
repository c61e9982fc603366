package gosdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/gosdk"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

// seen records what the tool handlers received.
type seen struct {
	mu    sync.Mutex
	calls []*mcp.CallToolParamsRaw
}

func (s *seen) handler(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	s.mu.Lock()
	s.calls = append(s.calls, req.Params)
	s.mu.Unlock()
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ran " + req.Params.Name}}}, nil
}

func (s *seen) take() []*mcp.CallToolParamsRaw {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

func newServer(g *gosdk.Guard, s *seen, tools ...string) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "guarded", Version: "1.0"}, nil)
	for _, name := range tools {
		srv.AddTool(&mcp.Tool{Name: name, InputSchema: map[string]any{"type": "object"}}, s.handler)
	}
	g.Install(srv)
	return srv
}

// startHTTP serves the guarded server over the SDK's streamable HTTP
// transport and connects the SDK's own client to it.
func startHTTP(t *testing.T, g *gosdk.Guard) (*mcp.ClientSession, *seen) {
	t.Helper()
	s := &seen{}
	srv := newServer(g, s, "read", "write", "deploy", "unmapped")
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: ts.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, s
}

func meta(env *enforce.Envelope, extra map[string]any) mcp.Meta {
	m := mcp.Meta{}
	for k, v := range extra {
		m[k] = v
	}
	if env != nil {
		t := map[string]any{"warrant": env.Warrant}
		if env.Signature != "" {
			t["signature"] = env.Signature
		}
		m["tenuo"] = t
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// TestSharedTable drives the middleware with the SDK's client over
// streamable HTTP through every row of the shared table: the handler runs
// exactly when the decision point allows, without the envelope, and a
// denial is the relay's JSON-RPC error (code, message and data).
func TestSharedTable(t *testing.T) {
	f := guardtest.New(t)
	cs, s := startHTTP(t, &gosdk.Guard{Point: f.Point})
	for _, tc := range guardtest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			ref := tc.Reference(t, f)
			res, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tc.Tool, Arguments: json.RawMessage(tc.Args),
				Meta: meta(tc.Envelope(t, f), map[string]any{"trace": "t1"})})
			calls := s.take()
			if ref.Forward() {
				if err != nil || res == nil || len(calls) != 1 {
					t.Fatalf("allowed call: %v, handler ran %d times", err, len(calls))
				}
				got := calls[0]
				if _, ok := got.Meta["tenuo"]; ok || got.Meta["trace"] != "t1" {
					t.Fatalf("the handler saw _meta %v: want the envelope stripped and the rest kept", got.Meta)
				}
				if string(got.Arguments) != tc.Args {
					t.Fatalf("the handler saw arguments %s, want %s", got.Arguments, tc.Args)
				}
				return
			}
			if len(calls) != 0 {
				t.Fatal("the handler ran on a denial")
			}
			code, msg, data, _ := ref.RPCError()
			var werr *jsonrpc.Error
			if !errors.As(err, &werr) {
				t.Fatalf("denial %v is not a JSON-RPC error", err)
			}
			if werr.Code != int64(code) || werr.Message != msg || !sameJSON(werr.Data, data) {
				t.Fatalf("denial %d %q %s, the relay answers %d %q %s", werr.Code, werr.Message, werr.Data, code, msg, data)
			}
		})
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	p, _ := json.Marshal(x)
	q, _ := json.Marshal(y)
	return string(p) == string(q)
}

func names(r *mcp.ListToolsResult) []string {
	var out []string
	for _, t := range r.Tools {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}

// TestListHidesTools: tools/list shows what the session's warrant grants.
func TestListHidesTools(t *testing.T) {
	f := guardtest.New(t)
	cs, _ := startHTTP(t, &gosdk.Guard{Point: f.Point})
	list := func(env *enforce.Envelope) []string {
		r, err := cs.ListTools(t.Context(), &mcp.ListToolsParams{Meta: meta(env, nil)})
		if err != nil {
			t.Fatal(err)
		}
		return names(r)
	}
	if got := list(nil); len(got) != 0 {
		t.Fatalf("no warrant lists %v", got)
	}
	if got := list(&enforce.Envelope{Warrant: f.AgentStack.Base64()}); !slices.Equal(got, []string{"deploy", "read", "write"}) {
		t.Fatalf("agent's warrant lists %v", got)
	}
	if got := list(&enforce.Envelope{Warrant: f.SubStack.Base64()}); !slices.Equal(got, []string{"read"}) {
		t.Fatalf("sub-agent's warrant lists %v", got)
	}
	if got := list(&enforce.Envelope{Warrant: f.ExpiredStack.Base64()}); len(got) != 0 {
		t.Fatalf("an expired warrant lists %v", got)
	}
}

// connectScoped connects a client to srv over the SDK's in-memory
// transport, the server's context holding the fixture's scoped warrant and
// key; both ends close with the test.
func connectScoped(t *testing.T, f *guardtest.Fixture, srv *mcp.Server) *mcp.ClientSession {
	t.Helper()
	ctx, err := guard.WithCredentials(t.Context(), f.SubStack, f.Sub)
	if err != nil {
		t.Fatal(err)
	}
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(t.Context(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// TestServerScope: over the SDK's in-memory transport, a call without an
// envelope is decided under the warrant and key of the server's context.
func TestServerScope(t *testing.T) {
	f := guardtest.New(t)
	s := &seen{}
	srv := newServer(&gosdk.Guard{Point: f.Point}, s, "read", "write")
	cs := connectScoped(t, f, srv)
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: map[string]any{"path": "/data/reports/a"}}); err != nil {
		t.Fatalf("scoped warrant, allowed: %v", err)
	}
	_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: map[string]any{"path": "/data/payroll"}})
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != enforce.RPCAccessDenied {
		t.Fatalf("scoped warrant, constraint: %v", err)
	}
	r, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(r); !slices.Equal(got, []string{"read"}) {
		t.Fatalf("scoped warrant lists %v", got)
	}
	if n := len(s.take()); n != 1 {
		t.Fatalf("the handler ran %d times, want 1", n)
	}
}

// TestMalformedEnvelope: an envelope that is not one is -32602, as in the
// relay, and the handler does not run.
func TestMalformedEnvelope(t *testing.T) {
	f := guardtest.New(t)
	cs, s := startHTTP(t, &gosdk.Guard{Point: f.Point})
	for name, m := range map[string]mcp.Meta{
		"not an object": {"tenuo": "warrant"},
		"unknown key":   {"tenuo": map[string]any{"warrant": f.AgentStack.Base64(), "signature": "AA", "x": 1}},
		// A decoder matching keys in any case could bind PATH: refused.
		"folded keys": {"tenuo": map[string]any{"warrant": f.AgentStack.Base64(), "signature": f.PoP(t, f.AgentStack, f.Agent, "write", `{"path":"/data/a"}`)}},
	} {
		args := json.RawMessage(`{}`)
		if name == "folded keys" {
			args = json.RawMessage(`{"path":"/data/a","PATH":"/etc/passwd"}`)
		}
		_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "write", Arguments: args, Meta: m})
		var werr *jsonrpc.Error
		if !errors.As(err, &werr) || werr.Code != enforce.RPCInvalidParams {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(s.take()); n != 0 {
		t.Fatalf("the handler ran %d times", n)
	}
}

// TestInBandEnvelope: arguments._tenuo is taken as the relay takes it —
// alone, or with an identical _meta.tenuo — and removed before the handler;
// two different envelopes are refused.
func TestInBandEnvelope(t *testing.T) {
	f := guardtest.New(t)
	cs, s := startHTTP(t, &gosdk.Guard{Point: f.Point})
	args := `{"path":"/data/a"}`
	pop := f.PoP(t, f.AgentStack, f.Agent, "read", args)
	inBand := json.RawMessage(`{"path":"/data/a","_tenuo":{"warrant":"` + f.AgentStack.Base64() + `","signature":"` + pop + `"}}`)
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: inBand}); err != nil {
		t.Fatalf("in band: %v", err)
	}
	calls := s.take()
	if len(calls) != 1 || string(calls[0].Arguments) != args {
		t.Fatalf("the handler saw %d calls, arguments %s", len(calls), calls[0].Arguments)
	}
	same := meta(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: pop}, nil)
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: inBand, Meta: same}); err != nil {
		t.Fatalf("both, agreeing: %v", err)
	}
	other := meta(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: f.PoP(t, f.AgentStack, f.Agent, "read", `{"path":"/data/b"}`)}, nil)
	_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: inBand, Meta: other})
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != enforce.RPCInvalidParams {
		t.Fatalf("both, disagreeing: %v", err)
	}
	if n := len(s.take()); n != 1 {
		t.Fatalf("the handler ran %d more times, want 1", n)
	}
}

// TestDenialRendering runs enforce's one table of denials through the
// middleware's rendering.
func TestDenialRendering(t *testing.T) {
	for _, dc := range enforce.DenialCases() {
		code, msg, data, _ := dc.Result.RPCError()
		var werr *jsonrpc.Error
		if err := gosdk.Render(dc.Result); !errors.As(err, &werr) || werr.Code != int64(dc.RPC) || werr.Code != int64(code) || werr.Message != msg || string(werr.Data) != string(data) {
			t.Errorf("%s: %v, want %d %q %s", dc.Name, err, code, msg, data)
		}
	}
}
