// Package enforceflags holds the flags and start-up checks of every command
// that enforces (tenuo-mcp proxy, and the network front ends that follow):
// the flags become one enforce.Point, and any doubt about them refuses to
// start. Reading keys and warrants from files and the environment is the
// command's, through Loader.
package enforceflags

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/revocation"
	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

// Loader reads what the flags name. Its errors are returned as they are.
type Loader interface {
	// PublicKey reads a public key given as text or as a file; from names
	// the flag or variable in errors.
	PublicKey(from, ref string) (authz.PublicKey, error)
	// SigningKey reads a secret key from a file or env:VAR.
	SigningKey(flag, ref string) (*authz.SigningKey, error)
	// WarrantText reads a warrant or stack from a file or text.
	WarrantText(flag, ref string) ([]byte, error)
	// Getenv reads the environment.
	Getenv(name string) string
}

// UsageError is a setting the command refuses to start with (exit 2).
type UsageError struct {
	Hint string // what to do instead, or ""
	Msg  string
}

func (e *UsageError) Error() string { return e.Msg }

func usage(hint, format string, args ...any) error {
	return &UsageError{Hint: hint, Msg: fmt.Sprintf(format, args...)}
}

// HintPublicOfSecret tells how to get the public key of a secret key.
const HintPublicOfSecret = "give the public key instead: keygen prints it (hex) when it makes the key"

// Flags are the enforcement settings shared by every enforcing command.
type Flags struct {
	Roots          []string
	Warrant, Key   string
	ListPolicy     string
	DenyAs         string
	Mode           string
	Config         string
	AuditLog       string
	AuditArgs      bool
	ExactIntegers  bool
	SRLPath        string
	SRLKey         string
	Replay         bool
	Idempotent     []string
	StrictSession  bool
	ClockTolerance time.Duration
	LogLevel       string
	Pin, PinMode   string

	// HotReload (set by the command, not a flag; the MCP commands leave it
	// off) also watches --config and the trusted roots given as files:
	// when one changes (or on Reload), a new decision point is built from
	// them and swapped in whole (Enforcement.Current); one in doubt is
	// refused with the reason, and the one in force stays.
	HotReload bool
	// HeldPerCaller (set by the command, not a flag) says held warrants come
	// per caller from elsewhere (serve --callers): no warning that, without
	// --warrant, listings show nothing.
	HeldPerCaller bool
	// WatchEvery is how often watched files are read again; zero means
	// WatchInterval.
	WatchEvery time.Duration
}

// Register adds the flags to fl.
func (f *Flags) Register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.Roots, "trusted-root", nil, "trusted root public key, hex or file (repeatable; also TENUO_TRUSTED_ROOTS and the config's trusted_issuers)")
	fl.StringVar(&f.Warrant, "warrant", "", "a warrant held for clients without one: file or text (or TENUO_WARRANT)")
	fl.StringVar(&f.Key, "key", "", "the held warrant's holder key: file or env:VAR (or TENUO_HOLDER_KEY)")
	fl.StringVar(&f.ListPolicy, "list-policy", "warrant", "tools/list shows: warrant (what the warrant grants) or all")
	fl.StringVar(&f.DenyAs, "deny-as", "error", "answer a denied call with a JSON-RPC error, or with a tool result (result) that LLM clients show to the model")
	fl.StringVar(&f.Mode, "mode", "enforce", "enforce, or audit (forward everything, log what would be denied)")
	fl.StringVar(&f.Config, "config", "", "tool map: YAML mapping MCP tools to warrant tools and fields (Tenuo's mcp-config.yaml shape)")
	fl.StringVar(&f.AuditLog, "audit-log", "", "append one JSON line per decision to `FILE` (default standard error)")
	fl.BoolVar(&f.AuditArgs, "audit-args", false, "include call arguments in audit lines (they may hold secrets)")
	fl.BoolVar(&f.ExactIntegers, "upstream-exact-integers", false, "forward integers beyond ±2^53 to a server known to read JSON integers exactly (refused by default: a server reading numbers as doubles, as JavaScript does, acts on another value than the one checked)")
	fl.StringVar(&f.SRLPath, "revocation-list", "", "signed revocation list `FILE`, reloaded when it changes")
	fl.StringVar(&f.SRLKey, "revocation-key", "", "public key that signs the revocation list (required with --revocation-list)")
	fl.BoolVar(&f.Replay, "replay-protect", false, "deny a proof of possession presented twice")
	fl.StringArrayVar(&f.Idempotent, "idempotent-tool", nil, "with --replay-protect, a tool that may be called twice with the same PoP (repeatable)")
	fl.BoolVar(&f.StrictSession, "strict-session", false, "require one session id across a warrant chain")
	fl.DurationVar(&f.ClockTolerance, "clock-tolerance", authz.DefaultClockTolerance, "tolerated clock skew for warrant times")
	fl.StringVar(&f.LogLevel, "log-level", "info", "log level on standard error: debug, info, warn, error")
	fl.StringVar(&f.Pin, "pin", "", "pin tool definitions to the lock `FILE` (tenuo-mcp test --snapshot writes it): a tool that differs or is not in it is hidden and its calls refused")
	fl.StringVar(&f.PinMode, "pin-mode", "enforce", "with --pin: enforce, or warn (log a tool that differs, hide and refuse nothing)")
}

// Enforcement is what the flags built.
type Enforcement struct {
	Point *enforce.Point
	// DenyAsResult answers MCP denials with an isError tool result.
	DenyAsResult bool
	// Log is the command's own log (standard error).
	Log *slog.Logger
	// SRL is the watched revocation list, if any.
	SRL     *revocation.List
	closers []io.Closer
	watched []watched
	held    *heldFile  // the held warrant's file, when it is one
	audit   *auditFile // the --audit-log file, when there is one

	// Pin is the --pin lock, nil without one; PinWarnOnly is --pin-mode warn.
	Pin         *toolpin.Lock
	PinWarnOnly bool

	current  atomic.Pointer[enforce.Point] // the point in force: Point until a reload
	interval time.Duration
	tickMu   sync.Mutex // one reload at a time (the watcher, Reload)
}

// Current returns the decision point in force: Point, or the last one a
// reload built (Flags.HotReload). Read it once per request and decide the
// whole request with it.
func (en *Enforcement) Current() *enforce.Point {
	if p := en.current.Load(); p != nil {
		return p
	}
	return en.Point
}

// ReopenAudit reopens the audit file (after log rotation moved it: SIGHUP).
func (en *Enforcement) ReopenAudit() error {
	if en.audit == nil {
		return nil
	}
	return en.audit.reopen()
}

// auditFile is the audit log, reopened by path on request.
type auditFile struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

func openAudit(path string) (*auditFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &auditFile{path: path, f: f}, nil
}

func (a *auditFile) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Write(p)
}

func (a *auditFile) reopen() error {
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err // the old file stays open and in use
	}
	a.mu.Lock()
	old := a.f
	a.f = f
	a.mu.Unlock()
	return old.Close()
}

func (a *auditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}

// Close closes the audit file.
func (en *Enforcement) Close() {
	for _, c := range en.closers {
		c.Close()
	}
}

// Build validates every setting, refusing to start on any doubt, and wires
// the authorizer, tool map, held warrant, revocation list and logs. stderr
// receives the log, and the audit lines when no --audit-log is given.
func (f *Flags) Build(ld Loader, stderr io.Writer) (*Enforcement, error) {
	en := &Enforcement{}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.LogLevel)); err != nil || f.LogLevel == "" {
		return nil, usage("", "--log-level must be debug, info, warn or error, got %q", f.LogLevel)
	}
	en.Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("component", "tenuo-mcp")

	listPolicy, err := enforce.ParseListPolicy(f.ListPolicy)
	if err != nil {
		return nil, usage("", "--list-policy: %v", err)
	}
	switch f.DenyAs {
	case "error":
	case "result":
		en.DenyAsResult = true
	default:
		return nil, usage("", "--deny-as must be error or result, got %q", f.DenyAs)
	}
	auditMode := false
	switch f.Mode {
	case "enforce":
	case "audit":
		auditMode = true
	default:
		return nil, usage("", "--mode must be enforce or audit, got %q", f.Mode)
	}

	switch f.PinMode {
	case "enforce", "":
	case "warn":
		en.PinWarnOnly = true
	default:
		return nil, usage("", "--pin-mode must be enforce or warn, got %q", f.PinMode)
	}
	if f.Pin != "" {
		if en.Pin, err = toolpin.Load(f.Pin); err != nil {
			return nil, usage("write the lock with tenuo-mcp test SPEC --snapshot FILE", "--pin: %v", err)
		}
	} else if f.PinMode != "enforce" && f.PinMode != "" {
		return nil, usage("", "--pin-mode goes with --pin")
	}

	pol, err := f.loadPolicy(ld)
	if err != nil {
		return nil, err
	}
	tm := pol.tm
	cfg := authz.Config{TrustedRoots: pol.roots, ClockTolerance: pol.tolerance, StrictSession: f.StrictSession}
	if f.Replay {
		cfg.Replay = authz.NewReplayGuard(0, 0, f.Idempotent)
	} else if len(f.Idempotent) > 0 {
		return nil, usage("", "--idempotent-tool goes with --replay-protect")
	}
	if f.SRLPath != "" {
		if f.SRLKey == "" {
			return nil, usage("name the key that signs the list with --revocation-key", "--revocation-list needs --revocation-key")
		}
		k, err := ld.PublicKey("--revocation-key", f.SRLKey)
		if err != nil {
			return nil, err
		}
		if en.SRL, err = revocation.Load(f.SRLPath, k); err != nil {
			return nil, usage("", "--revocation-list: %v", err)
		}
		cfg.Revoked = en.SRL.IsRevoked
	}
	az, err := authz.NewAuthorizer(cfg)
	if err != nil {
		return nil, usage("", "%v", err)
	}
	if en.SRL != nil {
		log := en.Log
		en.SRL.OnChange = func(l *authz.RevocationList) {
			// The authorizer in force: a reloaded configuration has its own.
			en.Current().Authorizer.InvalidateCache()
			log.Info("revocation list reloaded", "version", l.Version, "revoked", l.Len())
		}
		en.watched = append(en.watched, watched{"revocation list", en.SRL})
	}

	held, err := f.heldWarrant(ld, az)
	if err != nil {
		return nil, err
	}
	if held == nil && listPolicy == enforce.ListWarrant && !f.HeldPerCaller {
		en.Log.Warn("no held warrant: tools/list shows nothing and calls are denied unless the client presents a warrant in _meta.tenuo (give one with --warrant and --key)")
	}

	var audit io.Writer = stderr
	if f.AuditLog != "" {
		af, err := openAudit(f.AuditLog)
		if err != nil {
			return nil, usage("", "--audit-log: %v", err)
		}
		en.closers = append(en.closers, af)
		en.audit = af
		audit = af
	} else if f.HotReload {
		// The points of successive configurations write to one stream:
		// one lock for all of them keeps their lines whole.
		audit = &lockedWriter{w: stderr}
	}
	en.Point = &enforce.Point{Authorizer: az, ToolMap: tm, Held: held, ListPolicy: listPolicy,
		AuditMode: auditMode, Audit: audit, AuditArgs: f.AuditArgs, AllowInexactNumbers: f.ExactIntegers}
	en.current.Store(en.Point)
	en.interval = f.WatchEvery
	if en.interval <= 0 {
		en.interval = WatchInterval
	}
	tolerance := cfg.ClockTolerance
	if tolerance == 0 {
		tolerance = authz.DefaultClockTolerance
	}
	if held != nil {
		// A warrant given as a file is reloaded when the file changes, and
		// its lifetime watched; one given as text or in TENUO_WARRANT cannot
		// change.
		if st, err := os.Stat(f.Warrant); err == nil && st.Mode().IsRegular() {
			raw, _ := ReadBoundedFile(f.Warrant)
			en.held = &heldFile{path: f.Warrant, key: held.Key, point: en.Current, log: en.Log, raw: raw, tolerance: tolerance}
			en.watched = append(en.watched, watched{"held warrant", en.held})
		} else {
			en.held = &heldFile{path: "(not a file)", key: held.Key, point: en.Current, log: en.Log, tolerance: tolerance}
		}
	}
	if f.HotReload {
		en.watched = append(en.watched, watched{"configuration", &policyFile{f: f, ld: ld, en: en, cfg: cfg, raw: pol.raw}})
	}
	return en, nil
}

// heldWarrant loads --warrant/--key (or TENUO_WARRANT/TENUO_HOLDER_KEY) and
// checks that its chain leads to a trusted root now.
func (f *Flags) heldWarrant(ld Loader, az *authz.Authorizer) (*enforce.HeldWarrant, error) {
	wref, kref := f.Warrant, f.Key
	var text []byte
	switch {
	case wref != "":
		b, err := ld.WarrantText("--warrant", wref)
		if err != nil {
			return nil, err
		}
		text = b
	case ld.Getenv("TENUO_WARRANT") != "":
		text = []byte(ld.Getenv("TENUO_WARRANT"))
	}
	if kref == "" && ld.Getenv("TENUO_HOLDER_KEY") != "" {
		kref = "env:TENUO_HOLDER_KEY"
	}
	if text == nil {
		if kref != "" && f.Key != "" {
			return nil, usage("", "--key goes with --warrant")
		}
		return nil, nil
	}
	if kref == "" {
		return nil, usage("the proxy signs calls for the held warrant with its holder's key", "--warrant needs --key (or TENUO_HOLDER_KEY)")
	}
	key, err := ld.SigningKey("key", kref)
	if err != nil {
		return nil, err
	}
	vc, err := az.VerifyStack([]byte(strings.TrimSpace(string(text))), time.Time{})
	if err != nil {
		return nil, usage("the held warrant must chain to a --trusted-root and be valid now", "--warrant: %v", err)
	}
	h, err := enforce.NewHeldWarrant(vc.Stack, key)
	if err != nil {
		return nil, usage("", "%v", err)
	}
	return h, nil
}

// AsUsage reports whether err is a UsageError, and returns it.
func AsUsage(err error) (*UsageError, bool) {
	var u *UsageError
	ok := errors.As(err, &u)
	return u, ok
}
