// Command gosdkserver is a Go MCP server built with the official SDK
// (github.com/modelcontextprotocol/go-sdk) whose tools are guarded by
// guard/gosdk: each tools/call must carry a warrant and proof of possession
// in params._meta.tenuo that allow it — a denial is the same JSON-RPC error
// the tenuo-mcp relay answers — and tools/list shows only the tools the
// warrant grants.
//
//	go run ./examples/gosdkserver                        # demonstration: a client calls it in memory
//	go run ./examples/gosdkserver -serve -root HEX       # serve on stdio, trusting the root key HEX
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard/gosdk"
)

type pathArgs struct {
	Path string `json:"path" jsonschema:"the file's path"`
}

// newServer returns the MCP server with its tools behind the guard.
func newServer(root authz.PublicKey, audit io.Writer) (*mcp.Server, error) {
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root}})
	if err != nil {
		return nil, err
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "gosdkserver", Version: "0.1.0"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "read_file", Description: "Read a file."},
		func(_ context.Context, _ *mcp.CallToolRequest, a pathArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "contents of " + a.Path}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "delete_file", Description: "Delete a file."},
		func(_ context.Context, _ *mcp.CallToolRequest, a pathArgs) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "deleted " + a.Path}}}, nil, nil
		})
	(&gosdk.Guard{Point: &enforce.Point{Authorizer: az, Audit: audit}}).Install(s)
	return s, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gosdkserver: error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("gosdkserver", flag.ContinueOnError)
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
		return s.Run(ctx, &mcp.StdioTransport{})
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
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(ctx, st, nil)
	if err != nil {
		return err
	}
	defer ss.Close()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "demo", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		return err
	}
	defer cs.Close()

	lr, err := cs.ListTools(ctx, &mcp.ListToolsParams{Meta: mcp.Meta{"tenuo": map[string]any{"warrant": stack.Base64()}}})
	if err != nil {
		return err
	}
	var names []string
	for _, t := range lr.Tools {
		names = append(names, t.Name)
	}
	slices.Sort(names)
	fmt.Fprintf(out, "tools/list: %s\n", strings.Join(names, ", "))

	for _, call := range []struct{ tool, path string }{{"read_file", "/srv/motd"}, {"read_file", "/etc/shadow"}, {"delete_file", "/srv/motd"}} {
		args := map[string]any{"path": call.path}
		sig, err := authz.SignPoP(agent, stack.Leaf().ID, call.tool, args, time.Now())
		if err != nil {
			return err
		}
		env := map[string]any{"warrant": stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: call.tool, Arguments: args, Meta: mcp.Meta{"tenuo": env}})
		var rpc *jsonrpc.Error
		switch {
		case errors.As(err, &rpc):
			fmt.Fprintf(out, "%s %s: JSON-RPC error %d, data %s\n", call.tool, call.path, rpc.Code, tenuoCode(rpc.Data))
		case err != nil:
			return err
		default:
			fmt.Fprintf(out, "%s %s: %s\n", call.tool, call.path, res.Content[0].(*mcp.TextContent).Text)
		}
	}
	return nil
}

// tenuoCode is the part of error.data that names the denial.
func tenuoCode(data []byte) string {
	var d struct {
		Tenuo struct {
			Code  int    `json:"code"`
			Error string `json:"error"`
		} `json:"tenuo"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return "unreadable"
	}
	return fmt.Sprintf("%d %s", d.Tenuo.Code, d.Tenuo.Error)
}
