package mcpgo_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
	"github.com/tenuo-mcp/tenuo-mcp/guard/mcpgo"
)

// TestArgumentReadings: under the server's scoped warrant (read, paths
// under /data/reports/), arguments that a handler could read as another
// path than the one checked never reach it with that other path. The
// handler binds its arguments as mcp-go offers (BindArguments: encoding/json,
// keys in any case, the last of duplicates) and reads the decoded map too.
func TestArgumentReadings(t *testing.T) {
	f := guardtest.New(t)
	g := &mcpgo.Guard{Point: f.Point}
	srv := server.NewMCPServer("guarded", "1.0", g.Options()...)
	var got []string
	srv.AddTool(mcp.NewTool("read", mcp.WithString("path")), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in struct {
			Path string `json:"path"`
		}
		if err := req.BindArguments(&in); err != nil {
			return nil, err
		}
		got = append(got, in.Path, req.GetString("path", ""))
		return mcp.NewToolResultText("ok"), nil
	})
	ctx, err := guard.WithCredentials(t.Context(), f.SubStack, f.Sub)
	if err != nil {
		t.Fatal(err)
	}
	c := inProcess(t, ctx, srv)
	for _, args := range guardtest.ArgsReadAnotherWay {
		got = nil
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = "read", json.RawMessage(args)
		_, err := c.CallTool(ctx, req)
		for _, p := range got {
			if !strings.HasPrefix(p, "/data/reports/") {
				t.Errorf("%s: the handler read path %q (call error %v)", args, p, err)
			}
		}
	}
	got = nil
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "read", json.RawMessage(`{"path":"/data/reports/a"}`)
	if _, err := c.CallTool(ctx, req); err != nil || len(got) != 2 || got[0] != "/data/reports/a" || got[1] != got[0] {
		t.Fatalf("an allowed call: %v, the handler read %v", err, got)
	}
}
