package enforceflags

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// policy is what a decision point is built from that may change while the
// command runs: the tool map (--config) and the trusted roots.
type policy struct {
	tm        *toolmap.Config
	roots     []authz.PublicKey
	tolerance time.Duration
	// raw holds the files the policy was read from (the config and the
	// roots given as files), by path, as read before parsing: a file
	// replaced meanwhile differs from it and is read again.
	raw map[string][]byte
}

// loadPolicy reads the tool map and the trusted roots (flags, environment,
// the config's trusted_issuers and trusted_roots), refusing any doubt.
func (f *Flags) loadPolicy(ld Loader) (*policy, error) {
	pol := &policy{raw: map[string][]byte{}}
	keep := func(path string) {
		if !f.HotReload {
			return
		}
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			b, _ := ReadBoundedFile(path)
			pol.raw[path] = b
		}
	}
	type rootRef struct{ from, ref string }
	var rootRefs []rootRef
	for _, r := range f.Roots {
		rootRefs = append(rootRefs, rootRef{"--trusted-root", r})
		keep(r)
	}
	if env := ld.Getenv("TENUO_TRUSTED_ROOTS"); env != "" {
		if authz.IsSecretKeyText([]byte(env)) {
			return nil, usage(HintPublicOfSecret, "TENUO_TRUSTED_ROOTS: this is a secret key (a PEM private key), not a public key; the value is not shown")
		}
		for _, r := range strings.FieldsFunc(env, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			rootRefs = append(rootRefs, rootRef{"TENUO_TRUSTED_ROOTS", r})
		}
	}
	if f.Config != "" {
		keep(f.Config)
		tm, err := toolmap.Load(f.Config)
		if err != nil {
			return nil, usage("fix the configuration; the proxy does not start on a doubtful one", "--config: %v", err)
		}
		if err := tm.CheckMCP(); err != nil {
			return nil, usage("", "--config: %v", err)
		}
		for _, r := range tm.TrustedIssuers {
			rootRefs = append(rootRefs, rootRef{"--config trusted_issuers", r})
		}
		pol.tm = tm
	}
	for _, r := range rootRefs {
		k, err := ld.PublicKey(r.from, r.ref)
		if err != nil {
			return nil, err
		}
		pol.roots = append(pol.roots, k)
	}
	if len(pol.roots) == 0 {
		return nil, usage("pass --trusted-root with the public key that mints your warrants", "no trusted root: every call would be denied")
	}
	pol.tolerance = f.ClockTolerance
	if pol.tm != nil && f.ClockTolerance == authz.DefaultClockTolerance {
		pol.tolerance = pol.tm.ClockTolerance
	}
	return pol, nil
}

// policyFile keeps the decision point current with --config and the root
// files (Flags.HotReload): when one of them changes, the whole policy is
// read again and a new point built from it — a new authorizer over the new
// roots, sharing the replay guard and the revocation list, and the tool
// map — then swapped in with one pointer store. A request decided meanwhile
// finishes on the point it started with. A policy in doubt (a config that
// does not parse, a root that is not a key, a held warrant the new roots do
// not verify) is refused with the reason and the point in force stays; it
// is reported once, not on every look.
type policyFile struct {
	f   *Flags
	ld  Loader
	en  *Enforcement
	cfg authz.Config // the authorizer's settings that do not change: replay, revocation, strict sessions

	raw      map[string][]byte // the files in force
	rejected map[string][]byte // the files last refused, already reported
}

// snapshot reads the policy's files; an unreadable one reads as nil.
func (p *policyFile) snapshot() map[string][]byte {
	snap := make(map[string][]byte, len(p.raw))
	for path := range p.raw {
		b, _ := ReadBoundedFile(path)
		snap[path] = b
	}
	return snap
}

func sameFiles(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) || (v == nil) != (w == nil) {
			return false
		}
	}
	return true
}

func (p *policyFile) Reload() (bool, error) {
	snap := p.snapshot()
	if sameFiles(snap, p.raw) {
		p.rejected = nil
		return false, nil
	}
	if p.rejected != nil && sameFiles(snap, p.rejected) {
		return false, nil // refused already, and said why
	}
	next, pol, err := p.build()
	if err != nil {
		p.rejected = snap
		return false, err
	}
	p.en.current.Store(next)
	p.raw, p.rejected = pol.raw, nil
	if h := p.en.held; h != nil {
		h.tolerance = p.toleranceOf(pol)
	}
	p.en.Log.Info("configuration reloaded", "config", p.f.Config, "trusted_roots", len(pol.roots))
	return true, nil
}

func (p *policyFile) toleranceOf(pol *policy) time.Duration {
	if pol.tolerance == 0 {
		return authz.DefaultClockTolerance
	}
	return pol.tolerance
}

// build reads the policy and builds the point it makes, with the settings
// of the point in force that do not come from it.
func (p *policyFile) build() (*enforce.Point, *policy, error) {
	pol, err := p.f.loadPolicy(p.ld)
	if err != nil {
		return nil, nil, err
	}
	cfg := p.cfg
	cfg.TrustedRoots, cfg.ClockTolerance = pol.roots, pol.tolerance
	az, err := authz.NewAuthorizer(cfg)
	if err != nil {
		return nil, nil, err
	}
	cur := p.en.Current()
	held := cur.HeldNow()
	if held != nil {
		if _, err := az.VerifyStack([]byte(held.Stack.Base64()), time.Time{}); err != nil {
			return nil, nil, fmt.Errorf("the held warrant does not verify with the new trusted roots: %w", err)
		}
	}
	next := &enforce.Point{Authorizer: az, ToolMap: pol.tm, Held: held, ListPolicy: cur.ListPolicy,
		AuditMode: cur.AuditMode, AllowInexactNumbers: cur.AllowInexactNumbers, Audit: cur.Audit,
		AuditArgs: cur.AuditArgs, Observe: cur.Observe, Now: cur.Now}
	return next, pol, nil
}

// lockedWriter serialises whole writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
