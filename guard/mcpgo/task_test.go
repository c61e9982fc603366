package mcpgo_test

import (
	"context"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
	"github.com/tenuo-mcp/tenuo-mcp/guard/mcpgo"
)

// TestTaskToolUnguarded: mcp-go runs a task tool's handler (AddTaskTool)
// without its tool-handler middleware. A task-augmented tools/call naming
// one must still be decided: a call no warrant allows never runs it.
func TestTaskToolUnguarded(t *testing.T) {
	f := guardtest.New(t)
	g := &mcpgo.Guard{Point: f.Point}
	ran := make(chan mcp.CallToolRequest, 4)
	srv := server.NewMCPServer("guarded", "1.0", append(g.Options(), server.WithTaskCapabilities(true, true, true))...)
	srv.AddTaskTool(mcp.NewTool("deploy", mcp.WithString("env"), mcp.WithTaskSupport(mcp.TaskSupportRequired)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
			ran <- req
			return &mcp.CreateTaskResult{}, nil
		})
	c := serveHTTP(t, srv)
	ctx := t.Context()
	call := func(meta *mcp.Meta, args map[string]any) error {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments, req.Params.Meta = "deploy", args, meta
		req.Params.Task = &mcp.TaskParams{}
		_, err := c.CallTool(ctx, req)
		return err
	}
	// No credentials at all: the decision point denies.
	err := call(nil, map[string]any{"env": "prod"})
	// A warrant with a PoP over other arguments: denied too.
	pop := f.PoP(t, f.AgentStack, f.Agent, "deploy", `{"env":"staging"}`)
	err2 := call(metaFor(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: pop}, nil), map[string]any{"env": "prod"})
	select {
	case req := <-ran:
		t.Fatalf("a task tool ran unchecked (%v, %v): arguments %v", err, err2, req.Params.Arguments)
	case <-time.After(300 * time.Millisecond):
	}
	if err == nil || err2 == nil {
		t.Fatalf("denied task calls answered without an error: %v, %v", err, err2)
	}
}

// TestGuardedTaskTool: a task tool registered through the guard is decided
// like any other tool; the handler sees the call without the envelope.
func TestGuardedTaskTool(t *testing.T) {
	f := guardtest.New(t)
	g := &mcpgo.Guard{Point: f.Point}
	ran := make(chan mcp.CallToolRequest, 4)
	srv := server.NewMCPServer("guarded", "1.0", append(g.Options(), server.WithTaskCapabilities(true, true, true))...)
	g.AddTaskTool(srv, mcp.NewTool("deploy", mcp.WithString("env"), mcp.WithTaskSupport(mcp.TaskSupportRequired)),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
			ran <- req
			return &mcp.CreateTaskResult{}, nil
		})
	ctx := t.Context()
	c := inProcess(t, ctx, srv)
	call := func(meta *mcp.Meta, args map[string]any) {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments, req.Params.Meta = "deploy", args, meta
		req.Params.Task = &mcp.TaskParams{}
		c.CallTool(ctx, req) // the answer is a task, which this client does not parse
	}
	pop := f.PoP(t, f.AgentStack, f.Agent, "deploy", `{"env":"staging"}`)
	call(metaFor(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: pop}, map[string]any{"trace": "t"}), map[string]any{"env": "prod"})
	select {
	case req := <-ran:
		t.Fatalf("a denied task call ran: %v", req.Params.Arguments)
	case <-time.After(200 * time.Millisecond):
	}
	call(metaFor(&enforce.Envelope{Warrant: f.AgentStack.Base64(), Signature: pop}, map[string]any{"trace": "t"}), map[string]any{"env": "staging"})
	select {
	case req := <-ran:
		if req.Params.Meta == nil || req.Params.Meta.AdditionalFields["tenuo"] != nil || req.Params.Meta.AdditionalFields["trace"] != "t" {
			t.Fatalf("the handler saw _meta %+v", req.Params.Meta)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("an allowed task call did not run")
	}
}
