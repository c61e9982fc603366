package authz

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Config configures an [Authorizer]. Its zero value trusts no root, so every
// call is denied; NewAuthorizer refuses it.
type Config struct {
	// TrustedRoots are the keys a chain's root warrant must be issued by.
	TrustedRoots []PublicKey
	// ClockTolerance widens expiry and issue-time checks; zero means
	// DefaultClockTolerance (30 s). Negative is an error.
	ClockTolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StrictSession requires every warrant of a chain to share the root's
	// session id (Tenuo's verify_chain_strict).
	StrictSession bool
	// CacheSize bounds the cache of verified chains; zero means 1024, negative
	// disables the cache.
	CacheSize int
	// Revoked reports whether a warrant id is revoked; nil revokes nothing.
	// When its answers change, call InvalidateCache. It is asked about every
	// warrant presented: a warrant presented alone (trusted on its issuer's
	// signature) brings no parents, so a revoked parent does not deny it.
	// Revoke the delegated warrants themselves, or distrust their issuer (a
	// limit shared with Tenuo, whose revocation lists also name warrant ids).
	Revoked func(id WarrantID) bool
	// Replay, when set, denies a proof of possession presented twice.
	Replay *ReplayGuard
}

// Authorizer answers "may the holder of this warrant make this call now?".
// It is safe for concurrent use.
type Authorizer struct {
	roots         []PublicKey
	tolerance     time.Duration
	now           func() time.Time
	strictSession bool
	revoked       func(WarrantID) bool
	replay        *ReplayGuard
	cache         *chainCache // nil when disabled
}

// NewAuthorizer returns an Authorizer for cfg.
func NewAuthorizer(cfg Config) (*Authorizer, error) {
	if len(cfg.TrustedRoots) == 0 {
		return nil, errors.New("authz: at least one trusted root key is required")
	}
	if cfg.ClockTolerance < 0 {
		return nil, fmt.Errorf("authz: clock tolerance must not be negative, got %s", cfg.ClockTolerance)
	}
	a := &Authorizer{
		roots:         append([]PublicKey(nil), cfg.TrustedRoots...),
		tolerance:     cfg.ClockTolerance,
		now:           cfg.Now,
		strictSession: cfg.StrictSession,
		revoked:       cfg.Revoked,
		replay:        cfg.Replay,
	}
	if a.tolerance == 0 {
		a.tolerance = DefaultClockTolerance
	}
	if a.now == nil {
		a.now = time.Now
	}
	switch {
	case cfg.CacheSize == 0:
		a.cache = newChainCache(1024)
	case cfg.CacheSize > 0:
		a.cache = newChainCache(cfg.CacheSize)
	}
	return a, nil
}

// TrustedRoots returns a copy of the trusted root keys.
func (a *Authorizer) TrustedRoots() []PublicKey { return append([]PublicKey(nil), a.roots...) }

// InvalidateCache forgets every verified chain, e.g. after a revocation list
// changed.
func (a *Authorizer) InvalidateCache() {
	if a.cache != nil {
		a.cache.clear()
	}
}

// Request is one tool call to decide.
type Request struct {
	// Warrant is the presented warrant or stack: CBOR bytes, or text (any
	// base64 form, or PEM).
	Warrant []byte
	// Tool is the warrant tool name the call maps to.
	Tool string
	// Args is the call's arguments as JSON text, exactly as the holder signed
	// them. Empty means {}.
	Args []byte
	// Fields, when not nil, replace the canonical Args for everything the
	// check covers: constraints, the PoP challenge and the approval request
	// hash. A front end with a tool map passes the extracted fields here, as
	// Tenuo's clients then sign the fields, not the raw arguments.
	Fields map[string]any
	// Signature is the holder's proof of possession (64 bytes).
	Signature []byte
	// Approvals are signed approvals (CBOR), for warrants that require them.
	Approvals [][]byte
	// Now overrides the authorizer's clock for this call when not zero.
	Now time.Time
	// SelfSigned says the enforcement point signed the PoP itself (a warrant
	// it holds for a client that knows nothing of warrants). Replay
	// protection then does not apply: the same call made twice in one PoP
	// window is signed identically, and nobody presented a PoP to replay.
	SelfSigned bool
}

// Decision is the verdict on a Request.
type Decision struct {
	Allowed   bool
	WarrantID string    // the leaf's id, when the warrant decoded
	Depth     int       // the leaf's delegation depth
	Root      PublicKey // the trusted root, when ChainVerified
	Cached    bool      // the chain came from the cache
	Session   string    // the leaf's tenuo.session_id, if any
	// ChainVerified says the chain passed its check on this call: trust,
	// signatures, links, time and revocation, its signatures verified now or
	// taken from the cache of verified chains. Then WarrantID, Depth, Session
	// and Root are those of a chain issued by a trusted root, and a denial
	// came after the chain check (PoP, approvals, replay). When false, a
	// denial came before the chain passed (malformed request, tool not
	// granted, constraint violated, or the chain itself refused): WarrantID
	// is only what the request claimed. An allowed decision always has it.
	ChainVerified bool
	Denial        *Denial // why not, when !Allowed
}

// Err returns the denial as an error, or nil when allowed.
func (d *Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return d.Denial
}

// Check decides req. It never panics and never allows on an internal error.
// Cheap checks come first: the tool and the constraints are checked before
// any signature, and a chain verified before (same bytes) is taken from the
// cache; the proof of possession is verified on every call.
func (a *Authorizer) Check(req *Request) (dec *Decision) {
	dec = &Decision{}
	defer func() {
		if r := recover(); r != nil {
			dec.Allowed = false
			dec.Denial = &Denial{Code: CodeInvalidEnvelopeStructure, Err: ErrInternal,
				Message: fmt.Sprintf("internal error while authorizing: %v", r)}
		}
		if dec.Denial != nil {
			dec.Allowed = false
			if dec.Denial.WarrantID == "" {
				dec.Denial.WarrantID = dec.WarrantID
			}
			if dec.Denial.Tool == "" && req != nil {
				dec.Denial.Tool = req.Tool
			}
		}
	}()
	if req == nil {
		dec.Denial = deny(CodeInvalidEnvelopeStructure, ErrMalformed, "no request")
		return dec
	}
	now := req.Now
	if now.IsZero() {
		now = a.now()
	}
	if len(req.Warrant) == 0 {
		dec.Denial = deny(CodeInvalidEnvelopeStructure, ErrMalformed, "no warrant presented")
		return dec
	}
	if len(req.Warrant) > maxPresentedBytes {
		dec.Denial = deny(CodeChainTooLarge, ErrTooLarge, "presented warrant of %d bytes exceeds the limit of %d", len(req.Warrant), maxPresentedBytes)
		return dec
	}

	key := sha256.Sum256(req.Warrant)
	opt := a.chainOptions(now)
	var stack Stack
	vc, err := a.cached(key, opt)
	if err != nil {
		dec.Denial = AsDenial(err)
		return dec
	}
	if vc != nil {
		stack = vc.Stack
		dec.Cached = true
	} else {
		s, err := ParsePresented(req.Warrant)
		if err != nil {
			dec.Denial = AsDenial(err)
			return dec
		}
		stack = s
	}
	leaf := stack.Leaf()
	dec.WarrantID = leaf.ID.String()
	dec.Depth = int(leaf.Depth)
	dec.Session, _ = leaf.SessionID()

	set, err := ToolPolicy(&leaf.Payload, req.Tool)
	if err != nil {
		dec.Denial = AsDenial(err)
		return dec
	}
	fields := req.Fields
	if fields == nil {
		args, err := canonicalCallArgs(req.Args)
		if err != nil {
			dec.Denial = AsDenial(err)
			return dec
		}
		fields = args
	}
	if err := checkConstraintSet(req.Tool, set, fields, &evalContext{now: now}); err != nil {
		dec.Denial = AsDenial(err)
		return dec
	}

	if vc == nil {
		if vc, err = VerifyChain(stack, opt); err != nil {
			dec.Denial = AsDenial(err)
			return dec
		}
		if a.cache != nil {
			a.cache.put(key, vc)
		}
	}
	dec.ChainVerified = true
	dec.Root = vc.Root

	if err := VerifyPoP(leaf.Holder, leaf.ID, req.Tool, fields, req.Signature, now); err != nil {
		dec.Denial = AsDenial(err)
		return dec
	}
	if err := checkApprovals(&leaf.Payload, req.Tool, fields, req.Approvals, now, a.tolerance); err != nil {
		dec.Denial = AsDenial(err)
		return dec
	}
	// Last, so that a call denied for another reason does not use up its PoP.
	if !req.SelfSigned {
		if err := a.replay.check(leaf.ID, req.Tool, req.Signature, now); err != nil {
			dec.Denial = AsDenial(err)
			return dec
		}
	}
	dec.Allowed = true
	return dec
}

func (a *Authorizer) chainOptions(now time.Time) ChainOptions {
	return ChainOptions{TrustedRoots: a.roots, Now: now, ClockTolerance: a.tolerance,
		StrictSession: a.strictSession, Revoked: a.revoked}
}

// VerifyStack verifies a presented warrant or stack against the authorizer's
// roots and clock, without a call: what a front end does before listing
// tools. It shares Check's cache of verified chains.
func (a *Authorizer) VerifyStack(presented []byte, now time.Time) (*VerifiedChain, error) {
	if now.IsZero() {
		now = a.now()
	}
	if len(presented) > maxPresentedBytes {
		return nil, deny(CodeChainTooLarge, ErrTooLarge, "presented warrant of %d bytes exceeds the limit of %d", len(presented), maxPresentedBytes)
	}
	opt := a.chainOptions(now)
	key := sha256.Sum256(presented)
	if vc, err := a.cached(key, opt); vc != nil || err != nil {
		return vc, err
	}
	s, err := ParsePresented(presented)
	if err != nil {
		return nil, err
	}
	vc, err := VerifyChain(s, opt)
	if err != nil {
		return nil, err
	}
	if a.cache != nil {
		a.cache.put(key, vc)
	}
	return vc, nil
}

// cached returns the verified chain cached under key, or nil. A cached
// chain's signatures and links hold; expiry and revocation change with time,
// so they are checked again on every use.
func (a *Authorizer) cached(key [32]byte, opt ChainOptions) (*VerifiedChain, error) {
	if a.cache == nil {
		return nil, nil
	}
	vc := a.cache.get(key)
	if vc == nil {
		return nil, nil
	}
	if err := checkRevoked(vc.Stack, opt.Revoked); err != nil {
		return nil, err
	}
	if err := checkChainTime(vc.Stack, opt); err != nil {
		return nil, err
	}
	return vc, nil
}

func checkRevoked(s Stack, revoked func(WarrantID) bool) error {
	if revoked == nil {
		return nil
	}
	for _, w := range s {
		if revoked(w.ID) {
			return withWarrant(deny(CodeWarrantRevoked, ErrRevoked, "warrant %s is revoked", w.ID), w)
		}
	}
	return nil
}

// maxPresentedBytes bounds a presented warrant: a stack's CBOR limit, in
// base64 text with room for PEM armour and line breaks.
const maxPresentedBytes = MaxStackBytes*4/3 + 16<<10

// ParsePresented decodes a warrant or stack given as CBOR bytes or as text
// (base64 in any alphabet, or PEM). CBOR is recognised by its first byte,
// which text never has.
func ParsePresented(b []byte) (Stack, error) {
	if len(b) == 0 {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "empty warrant")
	}
	if b[0] >= 0x80 {
		return ParseStack(b)
	}
	return ParseText(string(b))
}

// ToolPolicy returns the constraint set p grants for tool: its own entry, or
// the "*" entry. Only execution warrants grant calls.
func ToolPolicy(p *Payload, tool string) (ConstraintSet, error) {
	if p.Type != Execution {
		return ConstraintSet{}, deny(CodeToolNotAuthorized, ErrToolNotAuthorized,
			"warrant %s is an issuer warrant: it cannot authorize tool calls", p.ID)
	}
	if set, ok := p.Tools[tool]; ok {
		return set, nil
	}
	if set, ok := p.Tools[WildcardTool]; ok {
		return set, nil
	}
	return ConstraintSet{}, &Denial{Code: CodeToolNotAuthorized, Err: ErrToolNotAuthorized, Tool: tool,
		Message: fmt.Sprintf("tool %q is not authorized by warrant %s (granted: %s)", tool, p.ID, grantedList(p))}
}

func grantedList(p *Payload) string {
	names := sortedToolNames(p.Tools)
	if len(names) == 0 {
		return "none"
	}
	const show = 8
	s := fmt.Sprintf("%q", names[:min(len(names), show)])
	if len(names) > show {
		s += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return s
}

// CheckConstraints checks fields against set (closed world: every named
// argument present and satisfied; an unnamed one denied unless the set allows
// unknown arguments; an empty set allows anything), evaluating time-dependent
// constraints at now. A denial's message names the argument and the
// constraint, never the argument's value (see [Denial]).
func CheckConstraints(set ConstraintSet, fields map[string]any, now time.Time) error {
	return checkConstraintSet("", set, fields, &evalContext{now: now})
}

// CheckToolConstraints is [CheckConstraints] for a call of tool: a denial
// names the tool too.
func CheckToolConstraints(tool string, set ConstraintSet, fields map[string]any, now time.Time) error {
	return checkConstraintSet(tool, set, fields, &evalContext{now: now})
}

// checkConstraintSet is CheckConstraints for tool ("" when unknown). Its
// denials name the tool, the argument and the rule; the value and the
// constraint's own reason, which quotes it, go to Denial.Value and
// Denial.Detail only.
func checkConstraintSet(tool string, set ConstraintSet, fields map[string]any, ec *evalContext) error {
	if len(set.Constraints) == 0 {
		return nil
	}
	names := make([]string, 0, len(set.Constraints))
	for name := range set.Constraints {
		names = append(names, name)
	}
	sort.Strings(names)
	subject := func(name string) string {
		if tool == "" {
			return fmt.Sprintf("argument %q", name)
		}
		return fmt.Sprintf("tool %q: argument %q", tool, name)
	}
	for _, name := range names {
		c := set.Constraints[name]
		v, ok := fields[name]
		if !ok {
			return &Denial{Code: CodeConstraintViolation, Err: ErrConstraint, Tool: tool, Arg: name,
				Message: fmt.Sprintf("%s is required by constraint %s but missing", subject(name), constraintString(c))}
		}
		if err := matchConstraint(c, v, ec); err != nil {
			return constraintDenial(tool, name, subject(name), c, v, err)
		}
	}
	if !set.AllowUnknown {
		extra := make([]string, 0)
		for name := range fields {
			if _, ok := set.Constraints[name]; !ok {
				extra = append(extra, name)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			return &Denial{Code: CodeConstraintViolation, Err: ErrConstraint, Tool: tool, Arg: extra[0],
				Message: fmt.Sprintf("%s is not allowed: the warrant constrains %q and does not allow unknown arguments", subject(extra[0]), names)}
		}
	}
	return nil
}

// matchConstraint is c.match, with a nil constraint denied.
func matchConstraint(c Constraint, v any, ec *evalContext) error {
	if c == nil {
		return invalidRule("missing constraint: denied")
	}
	return c.match(v, ec)
}

// constraintDenial builds the denial for err, c's refusal of v. The message
// says whether v did not satisfy c or c could not be evaluated, with the
// reason only when it depends on the constraint alone (a *ruleError).
func constraintDenial(tool, arg, subject string, c Constraint, v any, err error) *Denial {
	d := &Denial{Code: CodeConstraintViolation, Err: ErrConstraint, Tool: tool, Arg: arg,
		Value: formatValue(v), Detail: err.Error()}
	var re *ruleError
	switch {
	case isNoMatch(err):
		d.Message = fmt.Sprintf("%s violates %s", subject, constraintString(c))
	case errors.As(err, &re):
		d.Message = fmt.Sprintf("%s cannot be checked against %s: %s", subject, constraintString(c), re.msg)
	default:
		d.Message = fmt.Sprintf("%s cannot be checked against %s: denied", subject, constraintString(c))
	}
	return d
}

// chainCache holds verified chains keyed by the SHA-256 of the presented
// bytes, evicting the oldest entry when full.
type chainCache struct {
	mu    sync.Mutex
	max   int
	byKey map[[32]byte]*VerifiedChain // guarded by mu
	order [][32]byte                  // guarded by mu; insertion order, oldest first
}

func newChainCache(n int) *chainCache {
	return &chainCache{max: n, byKey: make(map[[32]byte]*VerifiedChain, n)}
}

func (c *chainCache) get(k [32]byte) *VerifiedChain {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[k]
}

func (c *chainCache) put(k [32]byte, vc *VerifiedChain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	for len(c.order) >= c.max {
		delete(c.byKey, c.order[0])
		c.order = c.order[1:]
	}
	c.byKey[k] = vc
	c.order = append(c.order, k)
}

func (c *chainCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.byKey)
	c.order = nil
}

// canonicalCallArgs is CanonicalArgs for a call's arguments, where none at
// all (an MCP tools/call without "arguments") means the empty object.
func canonicalCallArgs(jsonText []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(jsonText)) == 0 {
		return map[string]any{}, nil
	}
	return CanonicalArgs(jsonText)
}
