package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/internal/enforceflags"
	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

func init() { extraCommands = append(extraCommands, newProxyCmd) }

// proxyFlags are the proxy's settings: the enforcement flags every
// enforcing command shares, and the stdio server's own.
type proxyFlags struct {
	enforceflags.Flags
	env, passEnv []string
	maxLine      int
	cpuProfile   string
}

func (f *proxyFlags) register(c *cobra.Command) {
	fl := c.Flags()
	f.Flags.Register(fl)
	fl.StringArrayVar(&f.env, "env", nil, "set K=V in the server's environment (repeatable)")
	fl.StringArrayVar(&f.passEnv, "pass-env", nil, "pass variable K from the proxy's environment to the server (repeatable)")
	fl.IntVar(&f.maxLine, "max-message", transport.DefaultMaxLine, "largest JSON-RPC message in bytes, either way")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the proxy to `FILE` (diagnostics)")
	fl.MarkHidden("cpu-profile")
}

// build validates every setting, refusing to start on any doubt.
func (f *proxyFlags) build(e *env) (*enforceflags.Enforcement, error) {
	if f.maxLine < 1024 {
		return nil, badInput("", "--max-message must be at least 1024 bytes")
	}
	en, err := f.Flags.Build(loader{e}, e.stderr)
	if u, ok := enforceflags.AsUsage(err); ok {
		return nil, badInput(u.Hint, "%s", u.Msg)
	}
	return en, err
}

// loader reads keys and warrants for enforceflags as every command does.
type loader struct{ e *env }

func (l loader) PublicKey(from, ref string) (authz.PublicKey, error) { return loadPublicKey(from, ref) }
func (l loader) SigningKey(flag, ref string) (*authz.SigningKey, error) {
	return l.e.loadSigningKey(flag, ref)
}
func (l loader) WarrantText(flag, ref string) ([]byte, error) { return l.e.readWarrantText(flag, ref) }
func (l loader) Getenv(name string) string                    { return l.e.getenv(name) }

func newProxyCmd(e *env) *cobra.Command {
	var f proxyFlags
	c := &cobra.Command{
		Use:   "proxy [flags] [--] SERVER_COMMAND [ARGS…]",
		Short: "Run the MCP security proxy in front of a stdio MCP server",
		Long: `proxy starts the real MCP server as a child process and relays MCP between
it and the agent on standard input and output. Everything passes untouched
except tools/list, filtered to what the warrant grants, and tools/call, whose
warrant and proof of possession are verified before the server sees it.

The warrant comes from the call (params._meta.tenuo, as Tenuo's
SecureMCPClient sends it) or, for clients that know nothing of warrants, from
--warrant/--key: the proxy then signs the proof of possession itself.

The server gets a minimal environment (PATH, HOME, LANG, TMPDIR and the like)
plus --env and --pass-env; never the proxy's TENUO_* variables.`,
		Example: `  tenuo-mcp proxy --trusted-root ROOT_PUB --warrant agent.warrant --key agent.key \
    -- npx -y @modelcontextprotocol/server-filesystem /data
  tenuo-mcp proxy --trusted-root root.pub --list-policy warrant --deny-as result -- ./my-server`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput("put the server command after the proxy's flags, e.g. tenuo-mcp proxy --trusted-root KEY -- my-server --flag (the -- is optional)", "no upstream MCP server command")
			}
			en, err := f.build(e)
			if err != nil {
				return err
			}
			defer en.Close()
			childEnv, err := transport.MinimalEnv(f.passEnv, f.env)
			if err != nil {
				return badInput("", "%v", err)
			}
			stopProfile, err := startCPUProfile(f.cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			// SIGTERM or SIGINT: answer what is in flight, refuse what is
			// new, stop the server, exit 0; a second one stops at once.
			// SIGHUP reopens the audit log (after log rotation).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			drain := make(chan struct{})
			sigs := make(chan os.Signal, 4)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sigs)
			go func() {
				stops := 0
				for sig := range sigs {
					if sig == syscall.SIGHUP {
						if err := en.ReopenAudit(); err != nil {
							en.Log.Error("audit log not reopened; writing to the old file", "err", err)
						} else {
							en.Log.Info("audit log reopened")
						}
						continue
					}
					if stops++; stops == 1 {
						close(drain)
					} else {
						cancel()
					}
				}
			}()
			return runProxy(ctx, drain, e, &f, en, args, childEnv)
		},
	}
	f.register(c)
	// Everything from the first argument that is not one of the proxy's
	// flags on is the server's command line, with or without "--": MCP
	// Inspector's launcher strips a "--", and .mcp.json launchers append
	// arguments of their own.
	c.Flags().SetInterspersed(false)
	return c
}

// runProxy spawns the upstream and relays stdio until the client or the
// upstream ends.
func runProxy(ctx context.Context, drain <-chan struct{}, e *env, f *proxyFlags, en *enforceflags.Enforcement, argv, childEnv []string) error {
	up, err := transport.SpawnStdio(ctx, argv, transport.SpawnOptions{Env: childEnv, MaxLine: f.maxLine, Stderr: e.stderr})
	if err != nil {
		return badInput("", "starting the MCP server: %v", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	en.Watch(wctx)
	stdout, ok := e.stdout.(io.WriteCloser)
	if !ok {
		stdout = nopWriteCloser{e.stdout}
	}
	p := &mcpproxy.Proxy{DenyAsResult: en.DenyAsResult, Log: en.Log, Drain: drain}
	hooks := &mcpproxy.Hooks{Point: en.Point, Front: enforce.FrontStdio}
	hooks.Install(p)
	var upstream transport.Conn = up
	if en.Pin != nil {
		upstream = mcpproxy.PinTools(up, mcpproxy.PinConfig{Lock: en.Pin, WarnOnly: en.PinWarnOnly,
			DenyAsResult: en.DenyAsResult, Log: en.Log, OnRefused: hooks.Refused})
	}
	en.Log.Info("proxy started", "server", argv, "held_warrant", en.Point.Held != nil, "pinned_tools", en.Pin != nil)
	err = p.Relay(ctx, transport.NewStdioConn(transport.PollableStdin(e.stdin), stdout, f.maxLine), upstream)
	if err != nil {
		if errors.Is(err, mcpproxy.ErrUpstreamExited) {
			return &exitError{code: 3, msg: err.Error()}
		}
		return &exitError{code: 1, msg: err.Error()}
	}
	return nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
