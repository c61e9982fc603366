// Command mrtrserver is an MCP server on stdio, built with the official Go
// SDK, whose tool "greet" needs input: its first answer is a 2026-07-28
// input_required result (an elicitation and an opaque requestState); the
// client's retry with the answer and that state completes the call. The
// relay's tests use it to run a real input_required round trip through the
// proxy.
package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	s := mcp.NewServer(&mcp.Implementation{Name: "mrtrserver", Version: "0.1.0"}, nil)
	var n atomic.Int64
	s.AddTool(&mcp.Tool{Name: "greet", InputSchema: map[string]any{"type": "object", "properties": map[string]any{"greeting": map[string]any{"type": "string"}}}},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			p := req.Params
			if p.RequestState == "" {
				// First attempt: ask who to greet.
				return &mcp.CallToolResult{
					InputRequests: mcp.InputRequestMap{"who": &mcp.ElicitParams{Message: "Who is there?",
						RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}}}}},
					RequestState: fmt.Sprintf("state-%d", n.Add(1)),
				}, nil
			}
			r, ok := p.InputResponses["who"].(*mcp.ElicitResult)
			if !ok {
				return nil, fmt.Errorf("retry without the answer (state %q)", p.RequestState)
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf("hello %v (%s)", r.Content["name"], p.RequestState)}}}, nil
		})
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "mrtrserver:", err)
		os.Exit(1)
	}
}
