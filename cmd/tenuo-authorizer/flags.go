package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/redisreplay"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/internal/enforceflags"
)

// common are the flags of both commands.
type common struct {
	enforceflags.Flags
	admin          string
	maxBody        int64
	debug          bool
	forwardCreds   bool
	replayStore    string
	replayFailOpen bool
	replayTimeout  time.Duration
}

// mcpOnly are enforceflags' flags that mean nothing for HTTP front ends.
// (--upstream-exact-integers applies to JSON bodies as to MCP arguments.)
var mcpOnly = []string{"list-policy", "deny-as", "pin", "pin-mode"}

func (c *common) register(cmd *cobra.Command, adminDefault string) {
	fl := cmd.Flags()
	c.Flags.Register(fl)
	for _, name := range mcpOnly {
		_ = fl.MarkHidden(name) // absent in some builds: nothing to hide
	}
	fl.Lookup("config").Usage = "gateway.yaml: settings, tools and routes (Tenuo's gateway configuration; required)"
	fl.StringVar(&c.admin, "admin", adminDefault, "address of /healthz, /readyz and /metrics (empty: none); never a decision port")
	fl.Int64Var(&c.maxBody, "max-body", guard.DefaultMaxBody, "largest body read on a route that extracts from it, in bytes (larger: 413)")
	fl.BoolVar(&c.debug, "debug", false, "put the human reason in denial bodies (also settings.debug_mode)")
	fl.BoolVar(&c.forwardCreds, "forward-credentials", false, "leave the warrant, PoP and approval headers on the request to the upstream")
	fl.StringVar(&c.replayStore, "replay-store", "", "share replay protection across replicas in Redis: redis://host:port/db (implies --replay-protect)")
	fl.BoolVar(&c.replayFailOpen, "replay-fail-open", false, "when the replay store fails, let calls through without replay protection (logged on every call); the default refuses them")
	fl.DurationVar(&c.replayTimeout, "replay-timeout", redisreplay.DefaultTimeout, "bound on one replay-store claim")
	fl.DurationVar(&c.WatchEvery, "reload-interval", enforceflags.WatchInterval, "how often --config, the trusted-root files, the revocation list and the warrant file are read for changes (SIGHUP reads them at once)")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
}

// built is what the common flags made.
type built struct {
	en      *enforceflags.Enforcement
	checker gateway.Checker
	metrics *gateway.Metrics
	store   *redisreplay.Store
	// failOpen: a replay store that fails does not make the service unready.
	failOpen bool
	log      *slog.Logger
}

func (b *built) close() {
	if b.store != nil {
		b.store.Close()
	}
	b.en.Close()
}

// ready reports whether the service can decide: its replay store answers.
func (b *built) ready() error {
	if b.store == nil {
		return nil
	}
	if err := b.store.Ping(context.Background()); err != nil {
		if b.failOpen {
			return nil
		}
		return fmt.Errorf("replay store: %v", err)
	}
	return nil
}

func (c *common) build(stderr io.Writer, getenv func(string) string, front string) (*built, error) {
	if c.Config == "" {
		return nil, badInput("write a gateway.yaml with routes; see deploy/ for one", "--config is required: routes map requests to tools")
	}
	if c.maxBody <= 0 {
		return nil, badInput("", "--max-body must be positive")
	}
	if c.replayStore != "" {
		c.Replay = true
	} else if c.replayFailOpen {
		return nil, badInput("", "--replay-fail-open goes with --replay-store")
	}
	c.ListPolicy = "all" // listings are MCP's: nothing to warn about here
	if c.WatchEvery <= 0 {
		return nil, badInput("", "--reload-interval must be positive")
	}
	c.HotReload = true
	en, err := c.Flags.Build(loader{getenv}, stderr)
	if u, ok := enforceflags.AsUsage(err); ok {
		return nil, badInput(u.Hint, "%s", u.Msg)
	}
	if err != nil {
		return nil, err
	}
	b := &built{en: en, metrics: &gateway.Metrics{}, log: en.Log.With("component", "tenuo-authorizer")}
	en.Point.Observe = b.metrics.Observe
	b.checker = gateway.Checker{Point: en.Point, Current: en.Current, Front: front, MaxBody: c.maxBody, Debug: c.debug}
	if c.replayStore != "" {
		store, err := redisreplay.Open(c.replayStore, redisreplay.Options{Timeout: c.replayTimeout, FailOpen: c.replayFailOpen, Log: b.log})
		if err != nil {
			en.Close()
			return nil, badInput("give redis://host:port/db", "--replay-store: %v", err)
		}
		g := en.Point.Authorizer.ReplayGuard()
		if g == nil {
			en.Close()
			return nil, errors.New("--replay-store: the authorizer has no replay guard")
		}
		g.SetStore(store)
		b.store, b.failOpen = store, c.replayFailOpen
		if c.replayFailOpen {
			b.log.Error("replay protection FAILS OPEN: when Redis cannot be reached, calls are let through without it (--replay-fail-open)")
		}
	}
	return b, nil
}

// watch keeps the configuration, trusted roots, revocation list and
// warrant file current until ctx is done: read every --reload-interval, and
// at once on SIGHUP (which also reopens the audit log, after rotation).
func (b *built) watch(ctx context.Context) {
	b.en.Watch(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
				b.log.Info("SIGHUP: reading the configuration, trusted roots, revocation list and warrant file again")
				b.en.Reload()
				if err := b.en.ReopenAudit(); err != nil {
					b.log.Error("the audit log was not reopened; writing on to the open file", "err", err)
				}
			}
		}
	}()
}

// listen listens on addr: host:port, or unix:PATH for a Unix socket (mode
// 0660).
func listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return gateway.ListenUnix(path, 0)
	}
	return net.Listen("tcp", addr)
}

// server is one listener and what it serves.
// run serves the decision servers, and the admin server when admin names
// an address, while the configuration is watched, until ctx ends. A bad
// admin address closes the listeners already open.
func (b *built) run(ctx context.Context, admin string, onListen started, servers []server) error {
	if admin != "" {
		l, err := listen(admin)
		if err != nil {
			for _, s := range servers {
				s.l.Close()
			}
			return badInput("", "--admin: %v", err)
		}
		servers = append(servers, httpServer("admin", l, gateway.AdminHandler(b.ready, b.metrics)))
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.watch(wctx)
	return serveAll(ctx, b.log, onListen, servers)
}

type server struct {
	name string
	l    net.Listener
	srv  interface {
		Serve(net.Listener) error
	}
	shutdown func(context.Context) error
}

func httpServer(name string, l net.Listener, h http.Handler) server {
	s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return server{name: name, l: l, srv: s, shutdown: s.Shutdown}
}

// serveAll serves until ctx is done (then shuts down gracefully) or one
// server fails (then stops the others).
func serveAll(ctx context.Context, log *slog.Logger, onListen started, servers []server) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		log.Info("listening", "server", s.name, "addr", s.l.Addr().String())
		if onListen != nil {
			onListen(s.name, s.l.Addr().String())
		}
		go func() {
			err := s.srv.Serve(s.l)
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
	}
	var failed error
	select {
	case <-ctx.Done():
	case failed = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.shutdown(sctx)
	}
	log.Info("stopped")
	return failed
}

// loader reads keys and warrants for enforceflags.
type loader struct{ getenv func(string) string }

func (l loader) Getenv(name string) string { return l.getenv(name) }

// PublicKey reads a public key given as text or as a file; a secret key is
// refused without being shown.
func (l loader) PublicKey(from, ref string) (authz.PublicKey, error) {
	if authz.IsSecretKeyText([]byte(ref)) {
		return authz.PublicKey{}, badInput(enforceflags.HintPublicOfSecret, "%s: this is a secret key, not a public key; the value is not shown", from)
	}
	if k, err := authz.ParsePublicKey(ref); err == nil {
		return k, nil
	}
	b, err := enforceflags.ReadBoundedFile(ref)
	if err != nil {
		return authz.PublicKey{}, badInput("a public key is 64 hex digits, or a file holding it", "%s: not a public key, nor a readable key file", from)
	}
	if authz.IsSecretKeyText(b) {
		return authz.PublicKey{}, badInput(enforceflags.HintPublicOfSecret, "%s: the file is a secret key, not a public key", from)
	}
	k, err := authz.ParsePublicKey(strings.TrimSpace(string(b)))
	if err != nil {
		return authz.PublicKey{}, badInput("", "%s: file %s: %v", from, ref, err)
	}
	return k, nil
}

// SigningKey reads a secret key from a file or env:VAR.
func (l loader) SigningKey(flag, ref string) (*authz.SigningKey, error) {
	var b []byte
	if name, ok := strings.CutPrefix(ref, "env:"); ok {
		b = []byte(l.getenv(name))
	} else {
		var err error
		if b, err = enforceflags.ReadBoundedFile(ref); err != nil {
			return nil, badInput("", "--%s: cannot read the key file", flag)
		}
	}
	k, err := authz.ParseSigningKey(b)
	if err != nil {
		return nil, badInput("", "--%s: not a secret key", flag)
	}
	return k, nil
}

// WarrantText reads a warrant from a file, or takes ref as the text.
func (l loader) WarrantText(flag, ref string) ([]byte, error) {
	if b, err := enforceflags.ReadBoundedFile(ref); err == nil {
		return b, nil
	}
	return []byte(ref), nil
}
