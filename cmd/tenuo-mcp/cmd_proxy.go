package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/revocation"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

func init() { extraCommands = append(extraCommands, newProxyCmd) }

// proxyFlags are the proxy's settings, shared by the demo.
type proxyFlags struct {
	roots          []string
	warrant, key   string
	listPolicy     string
	denyAs         string
	mode           string
	config         string
	auditLog       string
	auditArgs      bool
	exactIntegers  bool
	env, passEnv   []string
	maxLine        int
	srlPath        string
	srlKey         string
	replay         bool
	idempotent     []string
	strictSession  bool
	clockTolerance time.Duration
	logLevel       string
	cpuProfile     string
}

func (f *proxyFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.roots, "trusted-root", nil, "trusted root public key, hex or file (repeatable; also TENUO_TRUSTED_ROOTS and the config's trusted_issuers)")
	fl.StringVar(&f.warrant, "warrant", "", "a warrant the proxy holds for clients without one: file or text (or TENUO_WARRANT)")
	fl.StringVar(&f.key, "key", "", "the held warrant's holder key: file or env:VAR (or TENUO_HOLDER_KEY)")
	fl.StringVar(&f.listPolicy, "list-policy", "warrant", "tools/list shows: warrant (what the warrant grants) or all")
	fl.StringVar(&f.denyAs, "deny-as", "error", "answer a denied call with a JSON-RPC error, or with a tool result (result) that LLM clients show to the model")
	fl.StringVar(&f.mode, "mode", "enforce", "enforce, or audit (forward everything, log what would be denied)")
	fl.StringVar(&f.config, "config", "", "tool map: YAML mapping MCP tools to warrant tools and fields (Tenuo's mcp-config.yaml shape)")
	fl.StringVar(&f.auditLog, "audit-log", "", "append one JSON line per decision to `FILE` (default standard error)")
	fl.BoolVar(&f.auditArgs, "audit-args", false, "include call arguments in audit lines (they may hold secrets)")
	fl.BoolVar(&f.exactIntegers, "upstream-exact-integers", false, "forward integers beyond ±2^53 to a server known to read JSON integers exactly (refused by default: a server reading numbers as doubles, as JavaScript does, acts on another value than the one checked)")
	fl.StringArrayVar(&f.env, "env", nil, "set K=V in the server's environment (repeatable)")
	fl.StringArrayVar(&f.passEnv, "pass-env", nil, "pass variable K from the proxy's environment to the server (repeatable)")
	fl.IntVar(&f.maxLine, "max-message", transport.DefaultMaxLine, "largest JSON-RPC message in bytes, either way")
	fl.StringVar(&f.srlPath, "revocation-list", "", "signed revocation list `FILE`, reloaded when it changes")
	fl.StringVar(&f.srlKey, "revocation-key", "", "public key that signs the revocation list (default: the trusted roots must include it; required with --revocation-list)")
	fl.BoolVar(&f.replay, "replay-protect", false, "deny a proof of possession presented twice")
	fl.StringArrayVar(&f.idempotent, "idempotent-tool", nil, "with --replay-protect, a tool that may be called twice with the same PoP (repeatable)")
	fl.BoolVar(&f.strictSession, "strict-session", false, "require one session id across a warrant chain")
	fl.DurationVar(&f.clockTolerance, "clock-tolerance", authz.DefaultClockTolerance, "tolerated clock skew for warrant times")
	fl.StringVar(&f.logLevel, "log-level", "info", "proxy log level on standard error: debug, info, warn, error")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the proxy to `FILE` (diagnostics)")
	fl.MarkHidden("cpu-profile")
}

// enforcement is everything the proxy needs besides the upstream.
type enforcement struct {
	enforcer *mcpproxy.Enforcer
	denyAs   bool
	log      zerolog.Logger
	srl      *revocation.List
	closers  []io.Closer
}

func (en *enforcement) Close() {
	for _, c := range en.closers {
		c.Close()
	}
}

// build validates every setting (refusing to start on any doubt) and wires
// the authorizer, tool map, held warrant, revocation list and logs.
func (f *proxyFlags) build(e *env) (*enforcement, error) {
	en := &enforcement{}
	lvl, err := zerolog.ParseLevel(f.logLevel)
	if err != nil || f.logLevel == "" {
		return nil, badInput("", "--log-level must be debug, info, warn or error, got %q", f.logLevel)
	}
	en.log = zerolog.New(e.stderr).Level(lvl).With().Timestamp().Str("component", "tenuo-mcp").Logger()

	listPolicy, err := mcpproxy.ParseListPolicy(f.listPolicy)
	if err != nil {
		return nil, badInput("", "--list-policy: %v", err)
	}
	switch f.denyAs {
	case "error":
	case "result":
		en.denyAs = true
	default:
		return nil, badInput("", "--deny-as must be error or result, got %q", f.denyAs)
	}
	auditMode := false
	switch f.mode {
	case "enforce":
	case "audit":
		auditMode = true
	default:
		return nil, badInput("", "--mode must be enforce or audit, got %q", f.mode)
	}
	if f.maxLine < 1024 {
		return nil, badInput("", "--max-message must be at least 1024 bytes")
	}

	var tm *toolmap.Config
	type rootRef struct{ from, ref string }
	var rootRefs []rootRef
	for _, r := range f.roots {
		rootRefs = append(rootRefs, rootRef{"--trusted-root", r})
	}
	if env := e.getenv("TENUO_TRUSTED_ROOTS"); env != "" {
		if authz.IsSecretKeyText([]byte(env)) {
			return nil, badInput(hintPublicOfSecret, "TENUO_TRUSTED_ROOTS: this is a secret key (a PEM private key), not a public key; the value is not shown")
		}
		for _, r := range strings.FieldsFunc(env, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			rootRefs = append(rootRefs, rootRef{"TENUO_TRUSTED_ROOTS", r})
		}
	}
	if f.config != "" {
		if tm, err = toolmap.Load(f.config); err != nil {
			return nil, badInput("fix the configuration; the proxy does not start on a doubtful one", "--config: %v", err)
		}
		if err := tm.CheckMCP(); err != nil {
			return nil, badInput("", "--config: %v", err)
		}
		for _, r := range tm.TrustedIssuers {
			rootRefs = append(rootRefs, rootRef{"--config trusted_issuers", r})
		}
	}
	var roots []authz.PublicKey
	for _, r := range rootRefs {
		k, err := loadPublicKey(r.from, r.ref)
		if err != nil {
			return nil, err
		}
		roots = append(roots, k)
	}
	if len(roots) == 0 {
		return nil, badInput("pass --trusted-root with the public key that mints your warrants", "no trusted root: every call would be denied")
	}
	cfg := authz.Config{TrustedRoots: roots, ClockTolerance: f.clockTolerance, StrictSession: f.strictSession}
	if tm != nil && f.clockTolerance == authz.DefaultClockTolerance {
		cfg.ClockTolerance = tm.ClockTolerance
	}
	if f.replay {
		cfg.Replay = authz.NewReplayGuard(0, 0, f.idempotent)
	} else if len(f.idempotent) > 0 {
		return nil, badInput("", "--idempotent-tool goes with --replay-protect")
	}
	if f.srlPath != "" {
		if f.srlKey == "" {
			return nil, badInput("name the key that signs the list with --revocation-key", "--revocation-list needs --revocation-key")
		}
		k, err := loadPublicKey("--revocation-key", f.srlKey)
		if err != nil {
			return nil, err
		}
		if en.srl, err = revocation.Load(f.srlPath, k); err != nil {
			return nil, badInput("", "--revocation-list: %v", err)
		}
		cfg.Revoked = en.srl.IsRevoked
	}
	az, err := authz.NewAuthorizer(cfg)
	if err != nil {
		return nil, badInput("", "%v", err)
	}
	if en.srl != nil {
		en.srl.OnChange = func(l *authz.RevocationList) {
			az.InvalidateCache()
			en.log.Info().Uint64("version", l.Version).Int("revoked", l.Len()).Msg("revocation list reloaded")
		}
		en.srl.OnError = func(err error) {
			en.log.Error().Err(err).Msg("revocation list not reloaded; the previous one stays in force")
		}
	}

	held, err := f.heldWarrant(e, az)
	if err != nil {
		return nil, err
	}

	audit := zerolog.New(e.stderr).With().Timestamp().Str("component", "audit").Logger()
	if f.auditLog != "" {
		fh, err := os.OpenFile(f.auditLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, badInput("", "--audit-log: %v", err)
		}
		en.closers = append(en.closers, fh)
		audit = zerolog.New(fh).With().Timestamp().Logger()
	}
	en.enforcer = &mcpproxy.Enforcer{Authorizer: az, ToolMap: tm, Held: held, ListPolicy: listPolicy,
		AuditMode: auditMode, Audit: audit, AuditArgs: f.auditArgs, AllowInexactNumbers: f.exactIntegers}
	return en, nil
}

// heldWarrant loads --warrant/--key (or TENUO_WARRANT/TENUO_HOLDER_KEY) and
// checks that its chain leads to a trusted root now.
func (f *proxyFlags) heldWarrant(e *env, az *authz.Authorizer) (*mcpproxy.HeldWarrant, error) {
	wref, kref := f.warrant, f.key
	var text []byte
	switch {
	case wref != "":
		b, err := e.readWarrantText("--warrant", wref)
		if err != nil {
			return nil, err
		}
		text = b
	case e.getenv("TENUO_WARRANT") != "":
		text = []byte(e.getenv("TENUO_WARRANT"))
	}
	if kref == "" && e.getenv("TENUO_HOLDER_KEY") != "" {
		kref = "env:TENUO_HOLDER_KEY"
	}
	if text == nil {
		if kref != "" && f.key != "" {
			return nil, badInput("", "--key goes with --warrant")
		}
		return nil, nil
	}
	if kref == "" {
		return nil, badInput("the proxy signs calls for the held warrant with its holder's key", "--warrant needs --key (or TENUO_HOLDER_KEY)")
	}
	key, err := e.loadSigningKey("key", kref)
	if err != nil {
		return nil, err
	}
	vc, err := az.VerifyStack([]byte(strings.TrimSpace(string(text))), time.Time{})
	if err != nil {
		return nil, badInput("the held warrant must chain to a --trusted-root and be valid now", "--warrant: %v", err)
	}
	h, err := mcpproxy.NewHeldWarrant(vc.Stack, key)
	if err != nil {
		return nil, badInput("", "%v", err)
	}
	return h, nil
}

func newProxyCmd(e *env) *cobra.Command {
	var f proxyFlags
	c := &cobra.Command{
		Use:   "proxy [flags] -- SERVER_COMMAND [ARGS…]",
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
			if cmd.ArgsLenAtDash() < 0 || len(args) == 0 {
				return badInput("put the server command after --, e.g. tenuo-mcp proxy --trusted-root KEY -- my-server --flag", "no upstream MCP server command")
			}
			if cmd.ArgsLenAtDash() > 0 {
				return badInput("flags go before --, the server command after it", "unexpected arguments before --: %q", args[:cmd.ArgsLenAtDash()])
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
			if f.cpuProfile != "" {
				pf, err := os.Create(f.cpuProfile)
				if err != nil {
					return badInput("", "--cpu-profile: %v", err)
				}
				if err := pprof.StartCPUProfile(pf); err != nil {
					return badInput("", "--cpu-profile: %v", err)
				}
				defer func() { pprof.StopCPUProfile(); pf.Close() }()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runProxy(ctx, e, &f, en, args, childEnv)
		},
	}
	f.register(c)
	return c
}

// runProxy spawns the upstream and relays stdio until the client or the
// upstream ends.
func runProxy(ctx context.Context, e *env, f *proxyFlags, en *enforcement, argv, childEnv []string) error {
	up, err := transport.SpawnStdio(ctx, argv, transport.SpawnOptions{Env: childEnv, MaxLine: f.maxLine, Stderr: e.stderr})
	if err != nil {
		return badInput("", "starting the MCP server: %v", err)
	}
	if en.srl != nil {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go en.srl.Watch(wctx, 2*time.Second)
	}
	stdout, ok := e.stdout.(io.WriteCloser)
	if !ok {
		stdout = nopWriteCloser{e.stdout}
	}
	p := &mcpproxy.Proxy{
		Client:       transport.NewStdioConn(transport.PollableStdin(e.stdin), stdout, f.maxLine),
		Upstream:     up,
		DenyAsResult: en.denyAs,
		Log:          en.log,
	}
	en.enforcer.Hooks(p)
	en.log.Info().Strs("server", argv).Bool("held_warrant", en.enforcer.Held != nil).Msg("proxy started")
	err = p.Run(ctx)
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
