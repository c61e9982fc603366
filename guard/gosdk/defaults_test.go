package gosdk_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/guard/gosdk"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

// TestSchemaDefaults: the SDK fills a typed tool's missing arguments from
// its input schema's defaults after the middleware has run. A call that
// leaves out a constrained argument must not reach the handler with a
// default the warrant does not allow.
func TestSchemaDefaults(t *testing.T) {
	f := guardtest.New(t)
	srv := mcp.NewServer(&mcp.Implementation{Name: "guarded", Version: "1.0"}, nil)
	(&gosdk.Guard{Point: f.Point}).Install(srv)
	got := make(chan string, 4)
	schema := map[string]any{"type": "object", "properties": map[string]any{
		"path": map[string]any{"type": "string", "default": "/etc/passwd"},
	}}
	mcp.AddTool(srv, &mcp.Tool{Name: "read", InputSchema: schema}, func(_ context.Context, _ *mcp.CallToolRequest, in readIn) (*mcp.CallToolResult, any, error) {
		got <- in.Path
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
	})
	cs := connectScoped(t, f, srv)
	for _, args := range []string{`{}`, `{"path":null}`} {
		_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: json.RawMessage(args)})
		select {
		case p := <-got:
			t.Errorf("%s: the handler ran with path %q (%v)", args, p, err)
		default:
		}
	}
	// The default is applied: a call the warrant allows without the
	// argument would run with it (this warrant allows none).
	if _, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: json.RawMessage(`{}`)}); err == nil {
		t.Fatal("a call without the constrained argument was allowed")
	}
	_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: map[string]any{"path": "/data/reports/a"}})
	if p := <-got; err != nil || p != "/data/reports/a" {
		t.Fatalf("allowed call: %v %q", err, p)
	}
}
