package spec

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// httpEcho is an MCP server over HTTP with one tool, echo {text}; with
// sse, a legacy SSE one.
func httpEcho(t *testing.T, sse bool) string {
	t.Helper()
	s := server.NewMCPServer("httpecho", "0.1.0", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("text", "")), nil
		})
	if sse {
		h := server.NewSSEServer(s)
		ts := httptest.NewServer(h)
		server.WithBaseURL(ts.URL)(h)
		t.Cleanup(ts.Close)
		return ts.URL + "/sse"
	}
	ts := httptest.NewServer(server.NewStreamableHTTPServer(s))
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

// TestURLServer: a spec's server may be an HTTP endpoint, streamable HTTP
// or legacy SSE, reached as serve --upstream-url reaches one.
func TestURLServer(t *testing.T) {
	for _, sse := range []bool{false, true} {
		t.Run(fmt.Sprint("sse=", sse), func(t *testing.T) {
			transport := "streamable"
			if sse {
				transport = "sse"
			}
			text := fmt.Sprintf(`server:
  url: %s
  transport: %s
  headers: {X-Test: "1"}
keys: [root, agent]
warrants:
  w: {issuer: root, holder: agent, tools: {echo: {text: {type: pattern, pattern: "hello*"}}}}
cases:
  - {name: hello, call: echo, args: {text: hello}, warrant: w, expect: allow, text_contains: hello}
  - {name: bye, call: echo, args: {text: bye}, warrant: w, expect: deny, code: constraint-violation}
  - {name: held, call: echo, args: {text: hello}, warrant: w, held: true, expect: allow}
`, httpEcho(t, sse), transport)
			rep := run(t, text, Options{})
			if rep.Failed() != 0 || len(rep.Cases) != 3 {
				t.Fatalf("cases: %+v", rep.Cases)
			}
		})
	}
	for _, bad := range []string{
		"server: {url: ftp://x}\ncases: [{name: a, call: b, expect: allow}]\n",
		"server: {url: http://x, command: [y]}\ncases: [{name: a, call: b, expect: allow}]\n",
		"server: {url: http://x, dir: .}\ncases: [{name: a, call: b, expect: allow}]\n",
		"server: {command: [y], transport: sse}\ncases: [{name: a, call: b, expect: allow}]\n",
		"server: {url: http://x, transport: ws}\ncases: [{name: a, call: b, expect: allow}]\n",
	} {
		if _, err := Parse([]byte(bad), "bad.yaml", nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
