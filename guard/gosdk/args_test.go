package gosdk_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/guard/gosdk"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

type readIn struct {
	Path string `json:"path"`
}

// TestArgumentReadings: under the server's scoped warrant (read, paths
// under /data/reports/), arguments that the SDK's typed binding could read
// as another path than the one checked never reach the handler with that
// other path.
func TestArgumentReadings(t *testing.T) {
	f := guardtest.New(t)
	srv := mcp.NewServer(&mcp.Implementation{Name: "guarded", Version: "1.0"}, nil)
	(&gosdk.Guard{Point: f.Point}).Install(srv)
	var mu sync.Mutex
	var got []string
	// Registered after the guard is installed.
	mcp.AddTool(srv, &mcp.Tool{Name: "read"}, func(_ context.Context, req *mcp.CallToolRequest, in readIn) (*mcp.CallToolResult, any, error) {
		var m map[string]any
		json.Unmarshal(req.Params.Arguments, &m)
		p, _ := m["path"].(string)
		mu.Lock()
		got = append(got, in.Path, p)
		mu.Unlock()
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
	})
	cs := connectScoped(t, f, srv)
	call := func(args string) ([]string, error) {
		mu.Lock()
		got = nil
		mu.Unlock()
		_, err := cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "read", Arguments: json.RawMessage(args)})
		mu.Lock()
		defer mu.Unlock()
		return got, err
	}
	for _, args := range guardtest.ArgsReadAnotherWay {
		seen, err := call(args)
		for _, p := range seen {
			if !strings.HasPrefix(p, "/data/reports/") {
				t.Errorf("%s: the handler read path %q (call error %v)", args, p, err)
			}
		}
	}
	if seen, err := call(`{"path":"/data/reports/a"}`); err != nil || len(seen) != 2 || seen[0] != "/data/reports/a" || seen[1] != seen[0] {
		t.Fatalf("an allowed call: %v, the handler read %v", err, seen)
	}
}
