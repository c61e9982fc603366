// Command mcpgoserver is a Go MCP server built with mark3labs/mcp-go whose
// tools are guarded by guard/mcpgo: each tools/call must carry a warrant and
// proof of possession in params._meta.tenuo that allow it, and tools/list
// shows only the tools the warrant grants.
//
//	go run ./examples/mcpgoserver                        # demonstration: a client calls it in process
//	go run ./examples/mcpgoserver -serve -root HEX       # serve on stdio, trusting the root key HEX
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard/mcpgo"
)

// newServer returns the MCP server with its tools behind the guard.
func newServer(root authz.PublicKey, audit io.Writer) (*server.MCPServer, error) {
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root}})
	if err != nil {
		return nil, err
	}
	g := &mcpgo.Guard{Point: &enforce.Point{Authorizer: az, Audit: audit}}
	s := server.NewMCPServer("mcpgoserver", "0.1.0", append(g.Options(), server.WithToolCapabilities(false))...)
	s.AddTool(mcp.NewTool("read_file", mcp.WithString("path", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("contents of " + req.GetString("path", "")), nil
		})
	s.AddTool(mcp.NewTool("delete_file", mcp.WithString("path", mcp.Required())),
		func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("deleted " + req.GetString("path", "")), nil
		})
	return s, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mcpgoserver: error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("mcpgoserver", flag.ContinueOnError)
	serve := fs.Bool("serve", false, "serve on stdio instead of the demonstration")
	rootHex := fs.String("root", "", "trusted root public key (hex), with -serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serve {
		root, err := authz.ParsePublicKey(*rootHex)
		if err != nil {
			return fmt.Errorf("-root: %w", err)
		}
		s, err := newServer(root, os.Stderr)
		if err != nil {
			return err
		}
		return server.ServeStdio(s)
	}
	return demo(ctx, out)
}

func demoKey(b byte) *authz.SigningKey {
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
	if err != nil {
		panic(err) // a 32-byte seed is always a key
	}
	return k
}

func demo(ctx context.Context, out io.Writer) error {
	issuer, agent := demoKey(1), demoKey(2)
	w, err := authz.Mint(issuer, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/srv/*"}}},
	}}, time.Now())
	if err != nil {
		return err
	}
	stack := authz.Stack{w}
	s, err := newServer(issuer.Public(), io.Discard)
	if err != nil {
		return err
	}
	c, err := client.NewInProcessClient(s)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		return err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "demo", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		return err
	}

	// The envelope Tenuo's clients put in params._meta.tenuo.
	envelope := func(tool string, args map[string]any) (map[string]any, error) {
		sig, err := authz.SignPoP(agent, stack.Leaf().ID, tool, args, time.Now())
		if err != nil {
			return nil, err
		}
		return map[string]any{"warrant": stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}, nil
	}
	lr := mcp.ListToolsRequest{}
	lr.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"tenuo": map[string]any{"warrant": stack.Base64()}}}
	tools, err := c.ListTools(ctx, lr)
	if err != nil {
		return err
	}
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	fmt.Fprintf(out, "tools/list: %s\n", strings.Join(names, ", "))

	for _, call := range []struct{ tool, path string }{{"read_file", "/srv/motd"}, {"read_file", "/etc/shadow"}, {"delete_file", "/srv/motd"}} {
		args := map[string]any{"path": call.path}
		env, err := envelope(call.tool, args)
		if err != nil {
			return err
		}
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = call.tool, args
		req.Params.Meta = &mcp.Meta{AdditionalFields: map[string]any{"tenuo": env}}
		res, err := c.CallTool(ctx, req)
		if err != nil {
			fmt.Fprintf(out, "%s %s: error: %s\n", call.tool, call.path, warrantID.ReplaceAllString(err.Error(), "tnu_wrt_…"))
			continue
		}
		fmt.Fprintf(out, "%s %s: %s\n", call.tool, call.path, res.Content[0].(mcp.TextContent).Text)
	}
	return nil
}

// warrantID matches a warrant id, fresh each run.
var warrantID = regexp.MustCompile(`tnu_wrt_[0-9a-f]{32}`)
