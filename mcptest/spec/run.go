package spec

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// Options are a run's settings.
type Options struct {
	// Command, when set, replaces the spec's server.command.
	Command []string
	// Run, when set, selects the cases whose name it matches.
	Run *regexp.Regexp
	// Stderr receives the server's stderr; nil discards it.
	Stderr io.Writer
	// Getenv reads key material named by env: keys and pass_env; nil is
	// os.Getenv.
	Getenv func(string) string
	// CaseTimeout bounds each call (30s when zero).
	CaseTimeout time.Duration
	// StartTimeout bounds the server's start (60s when zero).
	StartTimeout time.Duration
	// Snapshot, when set, is the tool lock to compare the server's tools
	// with (or to write, when it does not exist or Update is set).
	Snapshot string
	// UpdateSnapshot rewrites Snapshot from what the server lists.
	UpdateSnapshot bool
}

// CaseResult is one case's outcome.
type CaseResult struct {
	Name    string        `json:"name"`
	Line    int           `json:"line"`
	Passed  bool          `json:"passed"`
	Failure string        `json:"failure,omitempty"`
	Outcome string        `json:"outcome"`        // allowed, denied, or error (no answer)
	Code    int           `json:"code,omitempty"` // Tenuo's code of a denial
	Error   string        `json:"error,omitempty"`
	Time    time.Duration `json:"duration_ns"`
}

// Report is a run's outcome.
type Report struct {
	File     string          `json:"file"`
	Cases    []CaseResult    `json:"cases"`
	Snapshot *SnapshotResult `json:"snapshot,omitempty"`
	Time     time.Duration   `json:"duration_ns"`
	Started  time.Time       `json:"started"`
}

// Failed counts the failed cases (and a failed snapshot as one).
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Cases {
		if !c.Passed {
			n++
		}
	}
	if r.Snapshot != nil && !r.Snapshot.Passed {
		n++
	}
	return n
}

// Run runs the spec's selected cases against its server. A returned error
// means the run could not take place (a key unreadable, a warrant refused:
// an *Error; the server not starting: another error); failing cases are in
// the report.
func Run(ctx context.Context, s *Spec, opt Options) (*Report, error) {
	rep := &Report{File: s.File, Started: time.Now()}
	defer func() { rep.Time = time.Since(rep.Started) }()
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	keys, err := s.loadKeys(getenv)
	if err != nil {
		return nil, err
	}
	warrants, err := s.buildWarrants(keys)
	if err != nil {
		return nil, err
	}
	var roots []authz.PublicKey
	if s.TrustedRoots != nil {
		for _, r := range s.TrustedRoots {
			roots = append(roots, keys[r].Public())
		}
	} else {
		for _, w := range s.Warrants {
			if w.Issuer != "" {
				roots = append(roots, keys[w.Issuer].Public())
			}
		}
	}
	if len(roots) == 0 {
		return nil, &Error{File: s.File, Msg: "no trusted root: mint a warrant or name trusted_roots"}
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: roots})
	if err != nil {
		return nil, &Error{File: s.File, Msg: err.Error()}
	}
	var tm *toolmap.Config
	if s.ToolMap != "" {
		if tm, err = toolmap.Load(s.ToolMap); err != nil {
			return nil, &Error{File: s.File, Msg: fmt.Sprintf("tool_map: %v", err)}
		}
		if err := tm.CheckMCP(); err != nil {
			return nil, &Error{File: s.File, Msg: fmt.Sprintf("tool_map: %v", err)}
		}
	}
	// Every tool is listed (the snapshot needs them all); calls are decided
	// as the proxy decides them.
	point := &enforce.Point{Authorizer: az, ToolMap: tm, ListPolicy: enforce.ListAll}

	cmd := s.Server.Command
	if len(opt.Command) > 0 {
		cmd = opt.Command
	}
	var extra []string
	for k, v := range s.Server.Env {
		extra = append(extra, k+"="+v)
	}
	sort.Strings(extra)
	env, err := transport.MinimalEnv(s.Server.PassEnv, extra)
	if err != nil {
		return nil, &Error{File: s.File, Line: s.Server.Line, Msg: fmt.Sprintf("server: %v", err)}
	}

	startTimeout := opt.StartTimeout
	if startTimeout <= 0 {
		startTimeout = 60 * time.Second
	}
	cfg := mcptest.Config{Command: cmd, Env: env, Dir: s.Server.Dir, Stderr: opt.Stderr, Point: point, StartTimeout: startTimeout}
	if s.Server.URL != "" && len(opt.Command) == 0 {
		cfg.Command, cfg.URL, cfg.SSE = nil, s.Server.URL, s.Server.SSE
		cfg.Header = http.Header{}
		for k, v := range s.Server.Headers {
			cfg.Header.Set(k, v)
		}
	}
	sess, err := mcptest.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer sess.Close()

	if opt.Snapshot != "" {
		rep.Snapshot = snapshot(ctx, sess, opt)
	}
	timeout := opt.CaseTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	for _, c := range s.Cases {
		if opt.Run != nil && !opt.Run.MatchString(c.Name) {
			continue
		}
		rep.Cases = append(rep.Cases, runCase(ctx, sess, point, tm, warrants, c, timeout))
	}
	return rep, nil
}

func (s *Spec) loadKeys(getenv func(string) string) (map[string]*authz.SigningKey, error) {
	keys := map[string]*authz.SigningKey{}
	for _, k := range s.Keys {
		var text []byte
		switch {
		case k.File != "":
			b, err := readBounded(s.resolve(k.File), 64<<10)
			if err != nil {
				return nil, &Error{File: s.File, Line: k.Line, Msg: fmt.Sprintf("key %s: %v", k.Name, err)}
			}
			text = b
		case k.Env != "":
			text = []byte(getenv(k.Env))
			if len(text) == 0 {
				return nil, &Error{File: s.File, Line: k.Line, Msg: fmt.Sprintf("key %s: $%s is not set", k.Name, k.Env)}
			}
		default:
			sk, err := authz.GenerateSigningKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			keys[k.Name] = sk
			continue
		}
		sk, err := authz.ParseSigningKey(text)
		if err != nil {
			// The error never holds the key.
			return nil, &Error{File: s.File, Line: k.Line, Msg: fmt.Sprintf("key %s: %v", k.Name, err)}
		}
		keys[k.Name] = sk
	}
	return keys, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

func (s *Spec) buildWarrants(keys map[string]*authz.SigningKey) (map[string]*mcptest.Warrant, error) {
	out := map[string]*mcptest.Warrant{}
	now := time.Now()
	for _, w := range s.Warrants {
		bad := func(err error) error {
			return &Error{File: s.File, Line: w.Line, Msg: fmt.Sprintf("warrant %s: %v", w.Name, err)}
		}
		holder := keys[w.Holder]
		g := authz.Grant{Holder: holder.Public(), TTL: w.TTL, MaxDepth: w.MaxDepth}
		var parent *mcptest.Warrant
		var parentTools map[string]authz.ConstraintSet
		if w.From != "" {
			parent = out[w.From]
			parentTools = parent.Stack.Leaf().Tools
		}
		if w.Tools != nil {
			g.Tools = map[string]authz.ConstraintSet{}
			for _, tool := range w.ToolOrder {
				set := authz.ConstraintSet{Constraints: map[string]authz.Constraint{}}
				if parentTools != nil {
					pt, ok := parentTools[tool]
					if !ok {
						pt, ok = parentTools[authz.WildcardTool]
					}
					if !ok {
						return nil, bad(fmt.Errorf("tool %q is not granted by %s", tool, w.From))
					}
					for k, v := range pt.Constraints {
						set.Constraints[k] = v
					}
					set.AllowUnknown = pt.AllowUnknown
				}
				for arg, c := range w.Tools[tool] {
					set.Constraints[arg] = c
				}
				g.Tools[tool] = set
			}
		} else if parentTools != nil && len(w.AllowUnknown) > 0 {
			g.Tools = map[string]authz.ConstraintSet{}
			for k, v := range parentTools {
				g.Tools[k] = v
			}
		}
		for _, tool := range w.AllowUnknown {
			set, ok := g.Tools[tool]
			if !ok {
				return nil, bad(fmt.Errorf("allow_unknown %q is not one of its tools", tool))
			}
			set.AllowUnknown = true
			g.Tools[tool] = set
		}
		if parent == nil {
			m, err := authz.Mint(keys[w.Issuer], g, now)
			if err != nil {
				return nil, bad(err)
			}
			out[w.Name] = &mcptest.Warrant{Stack: authz.Stack{m}, Key: holder}
			continue
		}
		st, err := authz.Attenuate(parent.Stack, parent.Key, g, now)
		if err != nil {
			return nil, bad(err)
		}
		out[w.Name] = &mcptest.Warrant{Stack: st, Key: holder}
	}
	return out, nil
}

func runCase(ctx context.Context, sess *mcptest.Session, point *enforce.Point, tm *toolmap.Config,
	warrants map[string]*mcptest.Warrant, c *Case, timeout time.Duration) CaseResult {
	start := time.Now()
	res := CaseResult{Name: c.Name, Line: c.Line}
	fail := func(format string, a ...any) CaseResult {
		res.Failure = fmt.Sprintf(format, a...)
		res.Time = time.Since(start)
		return res
	}
	var env map[string]any
	var held *enforce.HeldWarrant
	if c.Warrant != "" {
		w := warrants[c.Warrant]
		if c.Held {
			h, err := w.Held()
			if err != nil {
				return fail("holding warrant %s: %v", c.Warrant, err)
			}
			held = h
		} else {
			var err error
			if env, err = w.Envelope(c.Tool, c.Args, tm, time.Now()); err != nil {
				// A tool map that cannot map the call: the proxy denies it
				// too, so present the warrant without a usable PoP.
				env = map[string]any{"warrant": w.Stack.Base64(), "signature": strings.Repeat("A", 86)}
			}
		}
	}
	// Cases run one at a time, so the held warrant is the case's own.
	point.SetHeld(held)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := sess.CallTool(cctx, c.Tool, c.Args, env)
	if err != nil {
		res.Outcome = "error"
		if errors.Is(err, context.DeadlineExceeded) {
			return fail("no answer within %s", timeout)
		}
		return fail("no answer: %v", err)
	}
	res.Time = time.Since(start)
	tenuo, hasTenuo := r.Tenuo()
	denied := r.Denied() && (hasTenuo || r.Error != nil && isProxyCode(r.Error.Code))
	if denied {
		res.Outcome, res.Code, res.Error = "denied", tenuo.Code, tenuo.Name
	} else {
		res.Outcome = "allowed"
	}
	switch c.Expect {
	case "allow":
		if denied {
			return fail("denied, want allowed\n  denial: %s\n  reason: %s", codeText(tenuo.Code, tenuo.Name, r), r.Text())
		}
		if r.Error != nil {
			return fail("allowed by the proxy, but the server answered with error %d: %s", r.Error.Code, r.Error.Message)
		}
		var problems []string
		text := r.Text()
		for _, want := range c.Contains {
			if !strings.Contains(text, want) {
				problems = append(problems, fmt.Sprintf("text does not contain %q\n    text: %s", want, quoteBlock(text)))
			}
		}
		if c.IsError != nil && r.IsError() != *c.IsError {
			problems = append(problems, fmt.Sprintf("isError is %v, want %v\n    text: %s", r.IsError(), *c.IsError, quoteBlock(text)))
		}
		for _, j := range c.JSON {
			got, err := lookup(r.Result, j.Path)
			if err != nil {
				problems = append(problems, fmt.Sprintf("json %s: %v\n    want: %s", j.Path, err, j.Value))
				continue
			}
			if !jsonEqual(got, j.Value) {
				problems = append(problems, fmt.Sprintf("json %s:\n    want: %s\n    got:  %s", j.Path, j.Value, short(got)))
			}
		}
		if len(problems) > 0 {
			return fail("allowed, but the result differs:\n  %s", strings.Join(problems, "\n  "))
		}
	case "deny":
		if !denied {
			if r.Error != nil {
				return fail("allowed by the proxy (the server answered with error %d: %s), want denied%s", r.Error.Code, r.Error.Message, wantCode(c))
			}
			return fail("allowed, want denied%s\n  result: %s", wantCode(c), quoteBlock(r.Text()))
		}
		if (c.Code != 0 && tenuo.Code != c.Code) || (c.CodeName != "" && tenuo.Name != c.CodeName) {
			return fail("denied as %s, want%s\n  reason: %s", codeText(tenuo.Code, tenuo.Name, r), wantCode(c), r.Text())
		}
	}
	res.Passed = true
	return res
}

// isProxyCode reports whether a JSON-RPC error code is one the proxy
// denies with (a malformed request refused before any warrant check).
func isProxyCode(code int) bool {
	return code == enforce.RPCAccessDenied || code == enforce.RPCApprovalRequired
}

func codeText(code int, name string, r *mcptest.Response) string {
	if code == 0 {
		if r.Error != nil {
			return fmt.Sprintf("JSON-RPC error %d (no Tenuo code)", r.Error.Code)
		}
		return "a denial without a Tenuo code"
	}
	return fmt.Sprintf("%s (%d)", name, code)
}

func wantCode(c *Case) string {
	switch {
	case c.Code != 0:
		return fmt.Sprintf(" %s (%d)", authz.Code(c.Code).Name(), c.Code)
	case c.CodeName != "":
		return " " + c.CodeName
	}
	return ""
}

func quoteBlock(s string) string {
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return strings.ReplaceAll(s, "\n", "\n          ")
}
