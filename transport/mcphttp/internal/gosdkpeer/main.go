// Command gosdkpeer is an MCP server built with the official Go SDK
// (github.com/modelcontextprotocol/go-sdk), which speaks 2026-07-28, for the
// end-to-end tests of `tenuo-mcp serve`: on stdio by default, or as a
// stateless streamable-HTTP server with -http ADDR (it prints
// "listening on URL" on stderr once it does).
//
// Its tools:
//
//	echo {text}          → text
//	secret {}            → "the secret" (a warrant should not grant it)
//	pid {}               → this process's id and the value remember last stored
//	remember {value}     → stores value in this process
//	sleep {ms}           → waits ms milliseconds; cancelled, it appends "cancelled" to -cancel-log
//	region {region}      → region, which its schema mirrors in the Mcp-Param-Region header
//	add_tool {name}      → adds a tool of that name (subscribers hear tools/list_changed)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	mu         sync.Mutex
	remembered string
	cancelLog  string
)

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func args(req *mcp.CallToolRequest) map[string]any {
	var m map[string]any
	json.Unmarshal(req.Params.Arguments, &m)
	return m
}

func schema(props map[string]any) map[string]any {
	if props == nil {
		props = map[string]any{}
	}
	return map[string]any{"type": "object", "properties": props}
}

func newServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "gosdkpeer", Version: "1.0.0"}, nil)
	str := map[string]any{"type": "string"}
	s.AddTool(&mcp.Tool{Name: "echo", InputSchema: schema(map[string]any{"text": str})},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			t, _ := args(req)["text"].(string)
			return text(t), nil
		})
	s.AddTool(&mcp.Tool{Name: "secret", InputSchema: schema(nil)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return text("the secret"), nil
		})
	s.AddTool(&mcp.Tool{Name: "pid", InputSchema: schema(nil)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			mu.Lock()
			defer mu.Unlock()
			return text(strconv.Itoa(os.Getpid()) + " " + remembered), nil
		})
	s.AddTool(&mcp.Tool{Name: "remember", InputSchema: schema(map[string]any{"value": str})},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			v, _ := args(req)["value"].(string)
			mu.Lock()
			remembered = v
			mu.Unlock()
			return text("ok"), nil
		})
	s.AddTool(&mcp.Tool{Name: "sleep", InputSchema: schema(map[string]any{"ms": map[string]any{"type": "integer"}})},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ms, _ := args(req)["ms"].(float64)
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return text("slept"), nil
			case <-ctx.Done():
				if cancelLog != "" {
					if f, err := os.OpenFile(cancelLog, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
						fmt.Fprintln(f, "cancelled")
						f.Close()
					}
				}
				return nil, ctx.Err()
			}
		})
	s.AddTool(&mcp.Tool{Name: "region", InputSchema: schema(map[string]any{"region": map[string]any{"type": "string", "x-mcp-header": "Region"}})},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			r, _ := args(req)["region"].(string)
			return text("region " + r), nil
		})
	s.AddTool(&mcp.Tool{Name: "add_tool", InputSchema: schema(map[string]any{"name": str})},
		func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			n, _ := args(req)["name"].(string)
			s.AddTool(&mcp.Tool{Name: n, InputSchema: schema(nil)},
				func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) { return text(n), nil })
			return text("added " + n), nil
		})
	return s
}

func main() {
	addr := flag.String("http", "", "serve stateless streamable HTTP on `ADDR` instead of stdio")
	flag.StringVar(&cancelLog, "cancel-log", "", "append a line to `FILE` for each cancelled sleep")
	flag.Parse()
	s := newServer()
	if *addr == "" {
		if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
			fmt.Fprintln(os.Stderr, "gosdkpeer:", err)
			os.Exit(1)
		}
		return
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gosdkpeer:", err)
		os.Exit(1)
	}
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, PropagateRequestCancellation: true})
	fmt.Fprintf(os.Stderr, "listening on http://%s/mcp\n", ln.Addr())
	if err := http.Serve(ln, h); err != nil {
		fmt.Fprintln(os.Stderr, "gosdkpeer:", err)
		os.Exit(1)
	}
}
