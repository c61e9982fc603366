// Command testserver is an MCP server over stdio used only by mcpproxy's
// tests: echo {text}, sleep {ms} (answers after ms milliseconds), crash (the
// process exits with status 3 mid-call) and secret (a tool the tests' policy
// denies). With -call-log FILE it appends every tools/call it receives to FILE
// as a JSON line {"tool":…,"arguments":…,"meta":…}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func main() {
	callLog := flag.String("call-log", "", "append each tools/call to this file")
	flag.Parse()
	var (
		mu  sync.Mutex
		log *os.File
		err error
	)
	if *callLog != "" {
		if log, err = os.OpenFile(*callLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testserver:", err)
			os.Exit(2)
		}
	}
	logged := func(h server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if log != nil {
				line, _ := json.Marshal(map[string]any{"tool": req.Params.Name, "arguments": req.Params.Arguments, "meta": req.Params.Meta})
				mu.Lock()
				log.Write(append(line, '\n'))
				mu.Unlock()
			}
			return h(ctx, req)
		}
	}
	s := server.NewMCPServer("testserver", "0.1.0", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("echo", mcp.WithString("text", mcp.Required())), logged(
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText(req.GetString("text", "")), nil
		}))
	s.AddTool(mcp.NewTool("sleep", mcp.WithNumber("ms", mcp.Required())), logged(
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-time.After(time.Duration(req.GetFloat("ms", 0)) * time.Millisecond):
				return mcp.NewToolResultText("slept"), nil
			case <-ctx.Done():
				return mcp.NewToolResultError("cancelled"), nil
			}
		}))
	s.AddTool(mcp.NewTool("crash"), logged(
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			fmt.Fprintln(os.Stderr, "testserver: crashing on purpose")
			os.Exit(3)
			return nil, nil
		}))
	s.AddTool(mcp.NewTool("secret", mcp.WithDescription("The tests' policy denies this tool.")), logged(
		func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("the secret"), nil
		}))
	if err := server.ServeStdio(s); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}
