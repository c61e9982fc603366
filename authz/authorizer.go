package authz

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
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

// ReplayGuard returns the replay guard the authorizer was configured with
// (Config.Replay), nil without one: a command sets its shared store
// ([ReplayGuard.SetStore]) before serving.
func (a *Authorizer) ReplayGuard() *ReplayGuard { return a.replay }

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
	// RequestState is the MCP requestState the call carries (2026-07-28):
	// a PoP seen before passes the replay check once when the guard holds a
	// retry grant for it and exactly this state (ReplayGuard.AllowRetry).
	RequestState RequestState
	// Holder, when set, is the leaf holder's own signing key, held by the
	// enforcement point (a held warrant, or an in-process guard with the key
	// in scope). Possession is then proven by the key being the leaf's
	// holder: no PoP is signed or verified and Signature is ignored; every
	// other check is the same. Replay protection does not apply, as nobody
	// presented a PoP. A PoP presented from outside is always verified:
	// leave Holder nil for it.
	Holder *SigningKey
}

// Decision is the verdict on a Request.
type Decision struct {
	Allowed   bool
	WarrantID string    // the leaf's id, when the warrant decoded
	Depth     int       // the leaf's delegation depth
	Root      PublicKey // the trusted root, when ChainVerified
	Cached    bool      // the chain came from the cache
	// ChainVerified says the chain passed its check on this call: trust,
	// signatures, links, time and revocation, its signatures verified now or
	// taken from the cache of verified chains. Then WarrantID, Depth, Session
	// and Root are those of a chain issued by a trusted root, and a denial
	// came after the chain check (PoP, approvals, replay; or, for a cached
	// chain, which is checked first, the tool and constraints too). When
	// false, a denial came before the chain passed (malformed request, tool
	// not granted, constraint violated, or the chain itself refused):
	// WarrantID is only what the request claimed. An allowed decision always
	// has it.
	ChainVerified bool
	Session       string  // the leaf's tenuo.session_id, if any
	Denial        *Denial // why not, when !Allowed

	ec evalContext // the constraints' context, allocated with the decision
}

// Err returns the denial as an error, or nil when allowed.
func (d *Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return d.Denial
}

// Step names one check of the decision, as tenuo-mcp verify reports it.
type Step string

// The steps, in the order Check runs them. A chain found in the cache of
// verified chains is checked (revocation, then time) right after decode,
// before the tool: that costs no signature, and a call denied later then
// names an authentic warrant (see [Decision.ChainVerified]).
const (
	StepSize        Step = "size"        // the presented warrant within the size limit
	StepDecode      Step = "decode"      // a warrant or stack that decodes (or the cached one)
	StepTool        Step = "tool"        // the tool granted by the leaf
	StepArguments   Step = "arguments"   // the arguments within the value model
	StepConstraints Step = "constraints" // the arguments satisfying the tool's constraints
	StepRevocation  Step = "revocation"  // no warrant of the chain revoked
	StepChain       Step = "chain"       // trust, signatures, links, session, time
	StepPoP         Step = "pop"         // the holder's proof of possession
	StepApprovals   Step = "approvals"   // the approvals the warrant requires
	StepReplay      Step = "replay"      // a PoP not presented before (with a ReplayGuard)
)

// Explanation is every step of the decision on one request.
type Explanation struct {
	// Decision is what Check decides: its denial is the first step that
	// failed, in Check's order. Explain records no PoP in the replay guard,
	// so a first call that Explain allows, Check allows too.
	Decision *Decision
	// Steps are in the order they ran. Each ran even after an earlier one
	// failed, unless it needs what failed (nothing runs past a warrant too
	// large or that does not decode; constraints need the tool and the
	// arguments); such a step is listed with Skipped set.
	Steps []StepResult
}

// StepResult is the outcome of one step.
type StepResult struct {
	Step Step
	// Denial is why the step failed; nil when it passed or did not run.
	Denial *Denial
	// Skipped says why the step did not run (a step it needs failed).
	Skipped string
}

// OK reports whether the step ran and passed.
func (r StepResult) OK() bool { return r.Denial == nil && r.Skipped == "" }

// Result returns the outcome of step s, and false when s is not listed (the
// replay step without a ReplayGuard, or a request that is nil).
func (e *Explanation) Result(s Step) (StepResult, bool) {
	for _, r := range e.Steps {
		if r.Step == s {
			return r, true
		}
	}
	return StepResult{}, false
}

// Check decides req. It never panics and never allows on an internal error.
// Cheap checks come first: the tool and the constraints are checked before
// any signature, and a chain verified before (same bytes) is taken from the
// cache; the proof of possession is verified on every call. Check is
// [Authorizer.Explain] stopping at the first failure.
func (a *Authorizer) Check(req *Request) *Decision {
	return a.decide(req, nil)
}

// Explain decides req as Check does, with the authorizer's configuration
// (clock, tolerance, trusted roots, strict session, revocation, cache), and
// reports every step, including those after the first failure. It does not
// record the PoP in the replay guard: the replay step only says whether the
// guard has seen it.
func (a *Authorizer) Explain(req *Request) *Explanation {
	ex := &Explanation{}
	ex.Decision = a.decide(req, ex)
	return ex
}

// trail records the steps of one decision. With ex nil (Check) it keeps
// nothing and the decision stops at the first failure.
type trail struct {
	ex  *Explanation
	dec *Decision
	req *Request
}

// step records the outcome of s and reports whether the decision goes on:
// Check stops at the first failure, Explain runs every step it can.
func (t *trail) step(s Step, err error) bool {
	if err == nil {
		if t.ex != nil {
			t.ex.Steps = append(t.ex.Steps, StepResult{Step: s})
		}
		return true
	}
	d := AsDenial(err)
	if d.WarrantID == "" {
		d.WarrantID = t.dec.WarrantID
	}
	if d.Tool == "" && t.req != nil {
		d.Tool = t.req.Tool
	}
	if t.dec.Denial == nil {
		t.dec.Denial = d
	}
	if t.ex == nil {
		return false
	}
	t.ex.Steps = append(t.ex.Steps, StepResult{Step: s, Denial: d})
	return true
}

// skip records steps that cannot run because one they need failed.
func (t *trail) skip(why string, steps ...Step) {
	if t.ex == nil {
		return
	}
	for _, s := range steps {
		t.ex.Steps = append(t.ex.Steps, StepResult{Step: s, Skipped: why})
	}
}

// ok reports whether no step failed so far.
func (t *trail) ok() bool { return t.dec.Denial == nil }

func (a *Authorizer) decide(req *Request, ex *Explanation) (dec *Decision) {
	dec = &Decision{}
	t := trail{ex: ex, dec: dec, req: req}
	defer func() {
		if r := recover(); r != nil {
			dec.Denial = &Denial{Code: CodeInvalidEnvelopeStructure, Err: ErrInternal,
				Message: fmt.Sprintf("internal error while authorizing: %v", r)}
			if req != nil {
				dec.Denial.WarrantID, dec.Denial.Tool = dec.WarrantID, req.Tool
			}
		}
		dec.Allowed = dec.Denial == nil
	}()
	if req == nil {
		t.step(StepDecode, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "no request"))
		return dec
	}
	now := req.Now
	if now.IsZero() {
		now = a.now()
	}
	const afterWarrant = "the warrant did not decode"
	if len(req.Warrant) > maxPresentedBytes {
		t.step(StepSize, deny(CodeChainTooLarge, ErrTooLarge, "presented warrant of %d bytes exceeds the limit of %d", len(req.Warrant), maxPresentedBytes))
		t.skip("the warrant exceeds the size limit", StepDecode, StepTool, StepArguments, StepConstraints, StepRevocation, StepChain, StepPoP, StepApprovals)
		return dec
	}
	t.step(StepSize, nil)

	// Decode, or take the chain from the cache.
	key := sha256.Sum256(req.Warrant)
	opt := a.chainOptionsAt(now)
	var stack Stack
	vc := a.cachedChain(key)
	switch {
	case vc != nil:
		stack = vc.Stack
		dec.Cached = true
		t.step(StepDecode, nil)
	case len(req.Warrant) == 0:
		t.step(StepDecode, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "no warrant presented"))
	default:
		s, err := ParsePresented(req.Warrant)
		if !t.step(StepDecode, err) {
			return dec
		}
		stack = s
	}
	var leaf *Warrant
	if stack != nil {
		leaf = stack.Leaf()
		if vc != nil && vc.leafID != "" {
			dec.WarrantID = vc.leafID
		} else {
			dec.WarrantID = leaf.ID.String()
		}
		dec.Depth = int(leaf.Depth)
		dec.Session, _ = leaf.SessionID()
	}
	if t.dec.Denial != nil && ex == nil {
		return dec
	}

	// A cached chain's signatures and links hold; revocation and time change,
	// so they are checked again, first: it costs nothing.
	if vc != nil {
		if !t.step(StepRevocation, checkRevoked(stack, a.revoked)) {
			return dec
		}
		if !t.step(StepChain, checkChainTime(stack, opt)) {
			return dec
		}
		if t.ok() {
			dec.ChainVerified = true
			dec.Root = vc.Root
		}
	}

	var set ConstraintSet
	toolOK := false
	if leaf != nil {
		var err error
		set, err = ToolPolicy(&leaf.Payload, req.Tool)
		if !t.step(StepTool, err) {
			return dec
		}
		toolOK = err == nil
	} else {
		t.skip(afterWarrant, StepTool)
	}
	// The arguments are parsed into a map of this frame's own: it does not
	// outlive the decision (a denial keeps a value, never the map).
	fields := req.Fields
	if fields == nil {
		local := make(map[string]any, 8)
		err := parseCallArgs(local, req.Args)
		if !t.step(StepArguments, err) {
			return dec
		}
		if err == nil {
			fields = local
		}
	} else {
		t.step(StepArguments, nil)
	}
	switch {
	case toolOK && fields != nil:
		dec.ec.now = now
		if !t.step(StepConstraints, checkConstraintSet(req.Tool, set, fields, &dec.ec)) {
			return dec
		}
	case leaf == nil:
		t.skip(afterWarrant, StepConstraints)
	case !toolOK:
		t.skip("the tool is not granted", StepConstraints)
	default:
		t.skip("the arguments did not parse", StepConstraints)
	}
	if leaf == nil {
		t.skip(afterWarrant, StepRevocation, StepChain, StepPoP, StepApprovals)
		return dec
	}

	if vc == nil {
		if !t.step(StepRevocation, checkRevoked(stack, a.revoked)) {
			return dec
		}
		opt.Revoked = nil // checked above
		v, err := verifyChain(stack, opt)
		if !t.step(StepChain, err) {
			return dec
		}
		if err == nil {
			if a.cache != nil {
				v.leafID = dec.WarrantID
				a.cache.put(key, v)
			}
			if t.ok() {
				dec.ChainVerified = true
				dec.Root = v.Root
			}
		}
	}

	if fields == nil {
		t.skip("the arguments did not parse", StepPoP, StepApprovals)
		return dec
	}
	if req.Holder != nil {
		var err error
		if !req.Holder.Public().Equal(leaf.Holder) {
			err = deny(CodePopSignatureInvalid, ErrPoP, "the key held is not the holder of warrant %s", leaf.ID)
		}
		if !t.step(StepPoP, err) {
			return dec
		}
	} else if !t.step(StepPoP, verifyPoP(leaf.Holder, leaf.ID, req.Tool, fields, req.Signature, now)) {
		return dec
	}
	if !t.step(StepApprovals, checkApprovals(&leaf.Payload, req.Tool, fields, req.Approvals, now, a.tolerance)) {
		return dec
	}
	// Last, so that a call denied for another reason does not use up its PoP;
	// Explain only looks.
	if a.replay != nil {
		switch {
		case req.SelfSigned:
			t.skip("the enforcement point signed the PoP itself", StepReplay)
		case req.Holder != nil:
			t.skip("the enforcement point holds the holder's key: no PoP was presented", StepReplay)
		case ex != nil:
			t.step(StepReplay, a.replay.seenBefore(leaf.ID, req.Tool, req.Signature, req.RequestState, now))
		case t.ok():
			t.step(StepReplay, a.replay.check(leaf.ID, req.Tool, req.Signature, req.RequestState, now))
		}
	}
	return dec
}

func (a *Authorizer) chainOptionsAt(now time.Time) chainOptions {
	return chainOptions{TrustedRoots: a.roots, Now: now, ClockTolerance: a.tolerance,
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
	opt := a.chainOptionsAt(now)
	key := sha256.Sum256(presented)
	if vc := a.cachedChain(key); vc != nil {
		if err := checkRevoked(vc.Stack, opt.Revoked); err != nil {
			return nil, err
		}
		if err := checkChainTime(vc.Stack, opt); err != nil {
			return nil, err
		}
		return vc, nil
	}
	s, err := ParsePresented(presented)
	if err != nil {
		return nil, err
	}
	vc, err := verifyChain(s, opt)
	if err != nil {
		return nil, err
	}
	if a.cache != nil {
		a.cache.put(key, vc)
	}
	return vc, nil
}

// cachedChain returns the verified chain cached under key, or nil. A cached
// chain's signatures and links hold; expiry and revocation change with time,
// so the caller checks them again on every use.
func (a *Authorizer) cachedChain(key [32]byte) *VerifiedChain {
	if a.cache == nil {
		return nil
	}
	return a.cache.get(key)
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

// checkConstraintSet checks fields against set for a call of tool ("" when
// unknown): closed world, every named argument present and satisfied, an
// unnamed one denied unless the set allows unknown arguments, an empty set
// allowing anything; time-dependent constraints are evaluated at ec.now. Its
// denials name the tool, the argument and the rule, never the value: the
// value and the constraint's own reason, which quotes it, go to Denial.Value
// and Denial.Detail only (see [Denial]).
func checkConstraintSet(tool string, set ConstraintSet, fields map[string]any, ec *evalContext) error {
	if len(set.Constraints) == 0 {
		return nil
	}
	var buf [16]string // most sets name fewer arguments: no allocation
	names := buf[:0]
	for name := range set.Constraints {
		names = append(names, name)
	}
	slices.Sort(names)
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
				Message: fmt.Sprintf("%s is not allowed: the warrant constrains %q and does not allow unknown arguments "+
					"(a warrant can allow them for the tool, or a tool map can name which arguments the warrant constrains)", subject(extra[0]), slices.Clone(names))}
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
	m := map[string]any{}
	if err := parseCallArgs(m, jsonText); err != nil {
		return nil, err
	}
	return m, nil
}

// parseCallArgs is canonicalCallArgs into m, which must be empty.
func parseCallArgs(m map[string]any, jsonText []byte) error {
	if len(bytes.TrimSpace(jsonText)) == 0 {
		return nil
	}
	return parseArgsInto(m, jsonText)
}
