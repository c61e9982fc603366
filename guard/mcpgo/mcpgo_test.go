package mcpgo_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
	"github.com/tenuo-mcp/tenuo-mcp/guard/mcpgo"
)

// seen records what the tool handlers received.
type seen struct {
	mu    sync.Mutex
	calls []mcp.CallToolRequest
}

func (s *seen) handler(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	s.mu.Lock()
	s.calls = append(s.calls, req)
	s.mu.Unlock()
	return mcp.NewToolResultText("ran " + req.Params.Name), nil
}

func (s *seen) take() []mcp.CallToolRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// start serves an mcp-go server behind the guard over streamable HTTP and
// connects mcp-go's own client to it.
func start(t *testing.T, g *mcpgo.Guard) (*client.Client, *seen) {
	t.Helper()
	s := &seen{}
	srv := server.NewMCPServer("guarded", "1.0", g.Options()...)
	for _, name := range []string{"read", "write", "deploy", "unmapped"} {
		srv.AddTool(mcp.NewTool(name, mcp.WithString("path"), mcp.WithString("data"), mcp.WithString("env")), s.handler)
	}
	c := serveHTTP(t, srv)
	return c, s
}

// serveHTTP serves srv over streamable HTTP and returns mcp-go's own
// client, started and initialized; both close with the test.
func serveHTTP(t *testing.T, srv *server.MCPServer) *client.Client {
	t.Helper()
	ts := httptest.NewServer(server.NewStreamableHTTPServer(srv))
	t.Cleanup(ts.Close)
	c, err := client.NewStreamableHttpClient(ts.URL + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	initialize(t, t.Context(), c)
	return c
}

// inProcess returns an in-process client of srv, started with ctx (the
// server's context for every request: credentials of its own, or none)
// and initialized; it closes with the test.
func inProcess(t *testing.T, ctx context.Context, srv *server.MCPServer) *client.Client {
	t.Helper()
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	initialize(t, ctx, c)
	return c
}

func initialize(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
}

func metaFor(env *enforce.Envelope, extra map[string]any) *mcp.Meta {
	fields := map[string]any{}
	for k, v := range extra {
		fields[k] = v
	}
	if env != nil {
		t := map[string]any{"warrant": env.Warrant}
		if env.Signature != "" {
			t["signature"] = env.Signature
		}
		fields["tenuo"] = t
	}
	if len(fields) == 0 {
		return nil
	}
	return &mcp.Meta{AdditionalFields: fields}
}

// TestSharedTable drives the middleware with mcp-go's client over
// streamable HTTP through every row of the shared table: the handler runs
// exactly when the decision point allows, without the envelope, and a
// denial carries the relay's message.
func TestSharedTable(t *testing.T) {
	f := guardtest.New(t)
	c, s := start(t, &mcpgo.Guard{Point: f.Point})
	for _, tc := range guardtest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			ref := tc.Reference(t, f)
			var args map[string]any
			if err := json.Unmarshal([]byte(tc.Args), &args); err != nil {
				t.Fatal(err)
			}
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = tc.Tool, args
			req.Params.Meta = metaFor(tc.Envelope(t, f), map[string]any{"trace": "t1"})
			res, err := c.CallTool(t.Context(), req)
			calls := s.take()
			if ref.Forward() {
				if err != nil || res == nil || len(calls) != 1 {
					t.Fatalf("allowed call: %v, handler ran %d times", err, len(calls))
				}
				got := calls[0]
				if got.Params.Meta == nil || got.Params.Meta.AdditionalFields["tenuo"] != nil || got.Params.Meta.AdditionalFields["trace"] != "t1" {
					t.Fatalf("the handler saw _meta %+v: want the envelope stripped and the rest kept", got.Params.Meta)
				}
				if !equalJSON(t, got.Params.Arguments, args) {
					t.Fatalf("the handler saw arguments %v, want %v", got.Params.Arguments, args)
				}
				return
			}
			if len(calls) != 0 {
				t.Fatal("the handler ran on a denial")
			}
			_, msg, _, _ := ref.RPCError()
			if err == nil || !strings.Contains(err.Error(), msg) {
				t.Fatalf("denial %v, want the relay's message %q", err, msg)
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
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
	c, _ := start(t, &mcpgo.Guard{Point: f.Point})
	list := func(env *enforce.Envelope) []string {
		req := mcp.ListToolsRequest{}
		req.Params.Meta = metaFor(env, nil)
		r, err := c.ListTools(t.Context(), req)
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
	if got := list(&enforce.Envelope{Warrant: f.RogueStack.Base64()}); len(got) != 0 {
		t.Fatalf("an untrusted warrant lists %v", got)
	}
}

// TestServerScope: with no envelope, the warrant and key of the server's
// context scope decide (an in-process server whose tools act for one
// agent).
func TestServerScope(t *testing.T) {
	f := guardtest.New(t)
	g := &mcpgo.Guard{Point: f.Point}
	srv := server.NewMCPServer("guarded", "1.0", g.Options()...)
	s := &seen{}
	srv.AddTool(mcp.NewTool("read", mcp.WithString("path")), s.handler)
	srv.AddTool(mcp.NewTool("write", mcp.WithString("path")), s.handler)
	ctx, err := guard.WithCredentials(t.Context(), f.SubStack, f.Sub)
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, ctx, srv)
	call := func(tool, path string) error {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = tool, map[string]any{"path": path}
		_, err := c.CallTool(ctx, req)
		return err
	}
	if err := call("read", "/data/reports/a"); err != nil {
		t.Fatalf("scoped warrant, allowed: %v", err)
	}
	if err := call("read", "/data/payroll"); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("scoped warrant, constraint: %v", err)
	}
	r, err := c.ListTools(ctx, mcp.ListToolsRequest{})
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

// TestInBandEnvelope: arguments._tenuo is taken and removed before the
// handler, as the relay does.
func TestInBandEnvelope(t *testing.T) {
	f := guardtest.New(t)
	c, s := start(t, &mcpgo.Guard{Point: f.Point})
	pop := f.PoP(t, f.AgentStack, f.Agent, "read", `{"path":"/data/a"}`)
	req := mcp.CallToolRequest{}
	req.Params.Name = "read"
	req.Params.Arguments = map[string]any{"path": "/data/a", "_tenuo": map[string]any{"warrant": f.AgentStack.Base64(), "signature": pop}}
	if _, err := c.CallTool(t.Context(), req); err != nil {
		t.Fatalf("in band: %v", err)
	}
	calls := s.take()
	if len(calls) != 1 || !equalJSON(t, calls[0].Params.Arguments, map[string]any{"path": "/data/a"}) || string(calls[0].Params.RawArguments) != `{"path":"/data/a"}` {
		t.Fatalf("the handler saw %d calls: %+v", len(calls), calls)
	}
	req.Params.Meta = metaFor(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: f.PoP(t, f.AgentStack, f.Agent, "read", `{"path":"/data/b"}`)}, nil)
	if _, err := c.CallTool(t.Context(), req); err == nil || !strings.Contains(err.Error(), "Invalid params: ") {
		t.Fatalf("both, disagreeing: %v", err)
	}
	if n := len(s.take()); n != 0 {
		t.Fatalf("the handler ran on a refusal")
	}
}

// TestDenialRendering runs enforce's one table of denials through the
// middleware: the error carries the relay's code, message and data.
func TestDenialRendering(t *testing.T) {
	for _, dc := range enforce.DenialCases() {
		code, msg, data, _ := dc.Result.RPCError()
		err := mcpgo.Render(dc.Result)
		var rpc *mcpgo.RPCError
		var denial *authz.Denial
		if !errors.As(err, &rpc) || rpc.Code != dc.RPC || rpc.Code != code || rpc.Message != msg || string(rpc.Data) != string(data) {
			t.Errorf("%s: %+v, want %d %q %s", dc.Name, rpc, code, msg, data)
		}
		if !errors.As(err, &denial) || denial != dc.Result.Denial {
			t.Errorf("%s: the error does not unwrap to the denial", dc.Name)
		}
	}
}
