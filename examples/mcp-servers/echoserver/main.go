// Command echoserver is a minimal MCP server over stdio with one tool,
// echo {text}, which returns its text. It is an upstream for benchmarking the
// proxy's own overhead. With -http ADDR it serves streamable HTTP at /mcp
// instead (port 0 picks a free port); it prints "listening on http://ADDR"
// on standard error once it listens.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	httpAddr := flag.String("http", "", "serve streamable HTTP on `ADDR` instead of stdio")
	flag.Parse()
	s := server.NewMCPServer("echoserver", "0.1.0", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo", mcp.WithDescription("Return the text given."),
		mcp.WithString("text", mcp.Required(), mcp.Description("text to return"))),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			text, err := req.RequireString("text")
			if err != nil {
				return mcp.NewToolResultError(err.Error()), nil
			}
			return mcp.NewToolResultText(text), nil
		})
	if *httpAddr != "" {
		ln, err := net.Listen("tcp", *httpAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "echoserver:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
		mux := http.NewServeMux()
		mux.Handle("/mcp", server.NewStreamableHTTPServer(s))
		fmt.Fprintln(os.Stderr, "echoserver:", http.Serve(ln, mux))
		os.Exit(1)
	}
	if err := server.ServeStdio(s); err != nil {
		fmt.Fprintln(os.Stderr, "echoserver:", err)
		os.Exit(1)
	}
}
