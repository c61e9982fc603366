package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/examples/mcp-servers/fsserver/fstools"
)

func init() {
	extraCommands = append(extraCommands, newDemoCmd, newExampleServerCmd)
}

// newExampleServerCmd runs the example file server, so that the demo needs
// nothing but this binary.
func newExampleServerCmd(e *env) *cobra.Command {
	var root, callLog string
	c := &cobra.Command{
		Use:    "example-fsserver --root DIR",
		Short:  "Run the example MCP file server (used by the demo)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return fstools.Serve(cmd.Context(), root, callLog, e.stdin, e.stdout)
		},
	}
	c.Flags().StringVar(&root, "root", "", "directory the tools are confined to")
	c.Flags().StringVar(&callLog, "call-log", "", "append each tools/call to this file")
	return c
}

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "See the proxy at work in one minute (nothing to set up)",
		Long: `demo makes throw-away keys and a warrant, starts the example file server
behind the proxy (both are this binary), and plays a short MCP session as an
agent: the filtered tool list, an allowed call, denied calls with their
reasons, and a sub-agent with a narrower, delegated warrant.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), e)
		},
	}
}

type demo struct {
	e      *env
	out    io.Writer
	in     *bufio.Reader
	stdin  io.WriteCloser
	nextID int
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.out, format+"\n", args...) }

func runDemo(ctx context.Context, e *env) error {
	if ctx == nil {
		ctx = context.Background()
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tenuo-mcp-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sandbox := filepath.Join(dir, "sandbox")
	os.MkdirAll(filepath.Join(sandbox, "reports"), 0o755)
	os.WriteFile(filepath.Join(sandbox, "hello.txt"), []byte("hello from inside the sandbox"), 0o644)
	os.WriteFile(filepath.Join(sandbox, "reports", "q3.txt"), []byte("Q3 revenue: up 12%"), 0o644)

	root, _ := authz.GenerateSigningKey(rand.Reader)
	agent, _ := authz.GenerateSigningKey(rand.Reader)
	sub, _ := authz.GenerateSigningKey(rand.Reader)
	now := time.Now()
	grant := authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: sandbox}}},
		"list_dir":  {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: sandbox}}},
	}}
	w, err := authz.Mint(root, grant, now)
	if err != nil {
		return err
	}
	stack := authz.Stack{w}
	keyFile := filepath.Join(dir, "agent.key")
	agentPEM, _ := agent.MarshalPEM()
	os.WriteFile(keyFile, agentPEM, 0o600)
	warrantFile := filepath.Join(dir, "agent.warrant")
	os.WriteFile(warrantFile, []byte(stack.Base64()+"\n"), 0o644)
	auditFile := filepath.Join(dir, "audit.jsonl")

	d := &demo{e: e, out: e.stdout}
	d.say("tenuo-mcp demo: a warrant-enforcing MCP proxy in one minute")
	d.say("")
	d.say("The sandbox is %s; below, paths are shown relative to it (sandbox/…).", sandbox)
	// From here on every line shows the sandbox as "sandbox".
	d.out = &relWriter{w: e.stdout, from: sandbox, to: "sandbox"}
	d.say("")
	d.say("1. Keys (throw-away): root %s…, agent %s…, sub-agent %s…", root.Public().Hex()[:12], agent.Public().Hex()[:12], sub.Public().Hex()[:12])
	d.say("2. The root mints a warrant for the agent: read_file and list_dir, paths inside")
	d.say("   %s, valid 10 minutes (%d bytes of CBOR, id %s).", sandbox, len(stack.Bytes()), w.ID)
	d.say("   (The Quick start's warrant names read_text_file and list_directory instead:")
	d.say("   those are @modelcontextprotocol/server-filesystem's tools. A warrant names the")
	d.say("   tools of the server it is for, and this demo's built-in example server, which")
	d.say("   needs no Node.js, calls them read_file and list_dir.)")
	d.say("3. The agent's MCP client starts the proxy instead of the server:")
	d.say("   tenuo-mcp proxy --trusted-root %s… --warrant agent.warrant --key agent.key \\", root.Public().Hex()[:12])
	d.say("     -- fsserver --root %s", sandbox)

	proxy := exec.CommandContext(ctx, self, "proxy", "--trusted-root", root.Public().Hex(),
		"--warrant", warrantFile, "--key", keyFile, "--audit-log", auditFile, "--log-level", "warn",
		"--", self, "example-fsserver", "--root", sandbox)
	proxy.Stderr = e.stderr
	stdin, err := proxy.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := proxy.StdoutPipe()
	if err != nil {
		return err
	}
	if err := proxy.Start(); err != nil {
		return err
	}
	defer proxy.Wait()
	defer stdin.Close()
	d.in, d.stdin = bufio.NewReader(stdout), stdin

	if _, err := d.request("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "tenuo-mcp-demo", "version": "1"}}); err != nil {
		return err
	}
	d.notify("notifications/initialized")

	res, err := d.request("tools/list", map[string]any{})
	if err != nil {
		return err
	}
	var list struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	json.Unmarshal(res, &list)
	var names []string
	for _, t := range list.Tools {
		names = append(names, t.Name)
	}
	d.say("")
	d.say("4. tools/list: the server has read_file, write_file, list_dir, delete_file;")
	d.say("   the agent is shown only what its warrant grants: %s", strings.Join(names, ", "))

	d.say("")
	d.say("5. Calls (the proxy signs each call's proof of possession with the held key):")
	d.call("read_file", map[string]any{"path": filepath.Join(sandbox, "hello.txt")}, nil)
	d.call("read_file", map[string]any{"path": "/etc/passwd"}, nil)
	d.call("read_file", map[string]any{"path": sandbox + "/../../etc/passwd"}, nil)
	d.call("write_file", map[string]any{"path": filepath.Join(sandbox, "x"), "content": "pwned"}, nil)

	d.say("")
	d.say("6. Delegation: the agent narrows its warrant for a sub-agent (read_file only,")
	d.say("   inside reports/, 2 minutes) and signs it with its own key. The sub-agent")
	d.say("   presents the whole chain in _meta.tenuo with its own proof of possession:")
	child, err := authz.Attenuate(stack, agent, authz.Grant{Holder: sub.Public(), TTL: 2 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: filepath.Join(sandbox, "reports")}}},
	}}, time.Now())
	if err != nil {
		return err
	}
	d.call("read_file", map[string]any{"path": filepath.Join(sandbox, "reports", "q3.txt")}, &demoSigner{child, sub})
	d.call("read_file", map[string]any{"path": filepath.Join(sandbox, "hello.txt")}, &demoSigner{child, sub})
	d.call("list_dir", map[string]any{"path": sandbox}, &demoSigner{child, sub})
	d.say("   A sub-agent cannot widen what it was given: attenuating to all of / fails:")
	_, err = authz.Attenuate(child, sub, authz.Grant{Holder: agent.Public(), Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: "/"}}},
	}}, time.Now())
	d.say("   %v", err)

	stdin.Close()
	proxy.Wait()
	if b, err := os.ReadFile(auditFile); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		d.say("")
		d.say("7. The audit log has one JSON line per decision, for example:")
		d.say("   %s", lines[min(1, len(lines)-1)])
	}
	d.say("")
	d.say("Next: README.md shows the drop-in configuration for Claude Desktop, Claude Code")
	d.say("and Tenuo's SecureMCPClient, and 'tenuo-mcp --help' lists the commands.")
	return nil
}

// relWriter writes what it is given with every occurrence of from replaced
// by to (the demo's temporary sandbox path by "sandbox"). The demo writes
// whole lines, so no occurrence is split between writes.
type relWriter struct {
	w        io.Writer
	from, to string
}

func (r *relWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, strings.ReplaceAll(string(p), r.from, r.to)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// demoSigner is a sub-agent that presents its own warrant and PoP.
type demoSigner struct {
	stack authz.Stack
	key   *authz.SigningKey
}

func (d *demo) call(tool string, args map[string]any, signer *demoSigner) {
	params := map[string]any{"name": tool, "arguments": args}
	if signer != nil {
		sig, err := authz.SignPoP(signer.key, signer.stack.Leaf().ID, tool, args, time.Now())
		if err != nil {
			d.say("   sign: %v", err)
			return
		}
		params["_meta"] = map[string]any{"tenuo": map[string]any{
			"warrant": signer.stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}}
	}
	argText, _ := json.Marshal(args)
	res, err := d.request("tools/call", params)
	var rpc *rpcErr
	switch {
	case errors.As(err, &rpc):
		d.say("   ✗ %s %s\n       denied (%d): %s", tool, argText, rpc.Code, rpc.Message)
	case err != nil:
		d.say("   ! %s: %v", tool, err)
	default:
		var r struct {
			Content []struct{ Text string } `json:"content"`
			IsError bool                    `json:"isError"`
		}
		json.Unmarshal(res, &r)
		text := ""
		if len(r.Content) > 0 {
			text = r.Content[0].Text
		}
		mark := "✓"
		if r.IsError {
			mark = "✓ (allowed; the server itself answered with an error)"
		}
		d.say("   %s %s %s\n       → %q", mark, tool, argText, text)
	}
}

type rpcErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (r *rpcErr) Error() string { return fmt.Sprintf("%d %s", r.Code, r.Message) }

func (d *demo) notify(method string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method})
	d.stdin.Write(append(b, '\n'))
}

// request sends one request and waits for its response, skipping anything else.
func (d *demo) request(method string, params any) (json.RawMessage, error) {
	d.nextID++
	id := d.nextID
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if _, err := d.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("proxy gone: %w", err)
	}
	for {
		line, err := d.in.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("proxy closed its output: %w", err)
		}
		var msg struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *rpcErr         `json:"error"`
		}
		if json.Unmarshal(line, &msg) != nil || msg.ID == nil || *msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return nil, msg.Error
		}
		return msg.Result, nil
	}
}
