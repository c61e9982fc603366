// Command relaycmd runs mcpproxy.Proxy over stdio in front of the MCP server
// given after "--", with a policy that allows every tool except those named by
// -deny (hidden from tools/list and refused at call time). Only tests use it:
// they drive it with the TypeScript SDK's client.
//
//	relaycmd [-deny a,b] [-max-line N] [-deny-as-result] -- server-command [args…]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

func main() {
	deny := flag.String("deny", "", "comma-separated tool names to deny")
	maxLine := flag.Int("max-line", 0, "message line cap in bytes (default 4 MiB)")
	asResult := flag.Bool("deny-as-result", false, "answer denials as tool results")
	cpuProfile := flag.String("cpu-profile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "relaycmd:", err)
			os.Exit(2)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	argv := flag.Args()
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "relaycmd: no server command after --")
		os.Exit(2)
	}
	denied := map[string]bool{}
	for _, n := range strings.Split(*deny, ",") {
		if n != "" {
			denied[n] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := transport.MinimalEnv(nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relaycmd:", err)
		os.Exit(2)
	}
	up, err := transport.SpawnStdio(ctx, argv, transport.SpawnOptions{Env: env, MaxLine: *maxLine, Stderr: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "relaycmd:", err)
		os.Exit(1)
	}
	p := &mcpproxy.Proxy{
		DenyAsResult: *asResult,
		QuickHooks:   true, // its hooks only look a name up
		Log:          slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("proc", "relaycmd"),
		AuthorizeCall: func(_ context.Context, c *mcpproxy.Call) *mcpproxy.Verdict {
			if denied[c.Name] {
				return &mcpproxy.Verdict{Code: mcpproxy.CodeAccessDenied, Message: "Access denied: tool " + c.Name + " is not granted"}
			}
			return &mcpproxy.Verdict{Allow: true}
		},
		FilterTools: func(context.Context, *mcpproxy.ListRequest) func(string) bool {
			return func(name string) bool { return !denied[name] }
		},
	}
	if err := p.Relay(ctx, transport.NewStdioConn(os.Stdin, os.Stdout, *maxLine), up); err != nil {
		fmt.Fprintln(os.Stderr, "relaycmd:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
