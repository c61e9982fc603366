package authz

import (
	"bytes"
	"fmt"
	"time"
)

// DefaultClockTolerance is how far the verifier's clock may disagree with an
// issuer's when expiry and issue times are checked.
const DefaultClockTolerance = 30 * time.Second

// chainOptions configures chain verification.
type chainOptions struct {
	// TrustedRoots are the keys a root warrant's issuer must be one of.
	// Empty trusts nothing: every chain is denied.
	TrustedRoots []PublicKey
	// Now is the verifier's clock. The zero time is refused (deny).
	Now time.Time
	// ClockTolerance widens expiry and issue-time checks. Zero means none;
	// use DefaultClockTolerance for Tenuo's default.
	ClockTolerance time.Duration
	// StrictSession requires every warrant of the chain to carry the root's
	// tenuo.session_id (or none, when the root has none).
	StrictSession bool
	// Revoked reports whether a warrant id is revoked. Nil revokes nothing.
	// Only the presented warrants are asked about: behind a warrant presented
	// alone, a revoked parent is not seen (see [Config.Revoked]).
	Revoked func(id WarrantID) bool
}

// VerifiedChain is a stack whose trust, signatures and links were checked.
type VerifiedChain struct {
	Stack Stack
	Root  PublicKey // the trusted key the chain starts from
	// ValidUntil is the leaf's expiry; NotBefore the latest issue time of the
	// chain. Both are Unix seconds, before clock tolerance.
	ValidUntil, NotBefore uint64

	leafID string // the leaf's id as text, set before the chain is cached
}

// Leaf returns the warrant that authorizes calls.
func (c *VerifiedChain) Leaf() *Warrant { return c.Stack.Leaf() }

// verifyChain checks a stack in the order of WIRE.md §5: not empty, nothing
// revoked, no id twice, each warrant structurally valid, root issuer trusted
// (a stack of one is trusted on its issuer whatever its depth; a longer stack
// must start at a depth-0 root),
// every signature valid (verified one by one), every link a proper narrowing, and
// the leaf within its validity period. The first failure is returned as a
// *Denial.
func verifyChain(s Stack, opt chainOptions) (*VerifiedChain, error) {
	if err := checkChainStructure(s, opt); err != nil {
		return nil, err
	}
	if err := checkChainSignatures(s); err != nil {
		return nil, err
	}
	if err := checkChainLinks(s, opt); err != nil {
		return nil, err
	}
	if err := checkChainTime(s, opt); err != nil {
		return nil, err
	}
	return newVerifiedChain(s), nil
}

func newVerifiedChain(s Stack) *VerifiedChain {
	vc := &VerifiedChain{Stack: s, Root: s[0].Issuer, ValidUntil: s.Leaf().ExpiresAt}
	for _, w := range s {
		if w.IssuedAt > vc.NotBefore {
			vc.NotBefore = w.IssuedAt
		}
	}
	return vc
}

// checkChainStructure runs the checks that need no signature and no clock:
// emptiness, revocation, duplicate ids, per-warrant validity, root trust.
func checkChainStructure(s Stack, opt chainOptions) error {
	if len(s) == 0 {
		return deny(CodeChainBroken, ErrBrokenChain, "empty warrant chain")
	}
	if len(s) > MaxChainDepth+1 {
		return deny(CodeChainTooLong, ErrBrokenChain, "chain of %d warrants exceeds the limit of %d", len(s), MaxChainDepth+1)
	}
	if opt.Revoked != nil {
		for _, w := range s {
			if opt.Revoked(w.ID) {
				return withWarrant(deny(CodeWarrantRevoked, ErrRevoked, "warrant %s is revoked", w.ID), w)
			}
		}
	}
	seen := make(map[WarrantID]struct{}, len(s))
	for _, w := range s {
		if _, dup := seen[w.ID]; dup {
			return withWarrant(deny(CodeChainBroken, ErrBrokenChain, "warrant id %s appears twice in the chain", w.ID), w)
		}
		seen[w.ID] = struct{}{}
	}
	for _, w := range s {
		if err := validatePayload(&w.Payload); err != nil {
			return withWarrant(err, w)
		}
	}
	// A warrant presented alone is trusted on its issuer's direct signature
	// when that issuer is a trusted root, whatever its depth and parent_hash
	// (Tenuo's wire format §12, leaf format; its authorize_one relies on it).
	// Its parents are not seen, so a revoked parent cannot deny it: revocation
	// lists name warrant ids, and a lone leaf names only its own (a limit
	// Tenuo shares). In a stack of two or more, the first warrant must be a
	// root.
	root := s[0]
	if len(s) > 1 && (root.Depth != 0 || root.ParentHash != nil) {
		return withWarrant(deny(CodeChainBroken, ErrBrokenChain,
			"warrant %s is delegated (depth %d) but heads a stack of %d warrants: the first warrant of a stack must be a root (depth 0, no parent hash)",
			root.ID, root.Depth, len(s)), root)
	}
	if !trusted(root.Issuer, opt.TrustedRoots) {
		if root.Depth != 0 {
			return withWarrant(deny(CodeUntrustedRoot, ErrUntrustedRoot,
				"warrant %s (depth %d) is presented alone and its issuer %s is not a trusted root: present it with its parent warrants",
				root.ID, root.Depth, root.Issuer.Hex()), root)
		}
		return withWarrant(deny(CodeUntrustedRoot, ErrUntrustedRoot,
			"root warrant issuer %s is not a trusted root", root.Issuer.Hex()), root)
	}
	return nil
}

func trusted(k PublicKey, roots []PublicKey) bool {
	found := false
	for _, r := range roots {
		if r.Equal(k) {
			found = true
		}
	}
	return found
}

// checkChainSignatures verifies every envelope signature, root first, one at
// a time (the strict rules of ed25519.go); the first that fails is named.
func checkChainSignatures(s Stack) error {
	for _, w := range s {
		sig := w.signature
		if err := verifySignature(w.Issuer, envelopeMessage(w.payloadBytes), sig[:]); err != nil {
			return withWarrant(deny(CodeSignatureInvalid, ErrBadSignature,
				"signature of warrant %s (depth %d) does not verify under its issuer %s", w.ID, w.Depth, w.Issuer.Hex()), w)
		}
	}
	return nil
}

// checkChainLinks checks each parent → child link and session binding.
func checkChainLinks(s Stack, opt chainOptions) error {
	rootSession, rootHasSession := s[0].SessionID()
	for i := 1; i < len(s); i++ {
		if err := checkLink(s[i-1], s[i]); err != nil {
			return withWarrant(err, s[i])
		}
		if opt.StrictSession {
			sess, has := s[i].SessionID()
			if has != rootHasSession || sess != rootSession {
				return withWarrant(deny(CodeChainBroken, ErrBrokenChain,
					"session mismatch at depth %d: root session %s, warrant session %s",
					s[i].Depth, describeSession(rootSession, rootHasSession), describeSession(sess, has)), s[i])
			}
		}
	}
	return nil
}

func describeSession(s string, ok bool) string {
	if !ok {
		return "(none)"
	}
	return fmt.Sprintf("%q", s)
}

// checkChainTime checks the leaf's validity period and that no warrant was
// issued in the future, with the configured tolerance.
func checkChainTime(s Stack, opt chainOptions) error {
	if opt.Now.IsZero() {
		return deny(CodeWarrantNotYetValid, ErrInternal, "verifier clock not set")
	}
	now := opt.Now.Unix()
	tol := int64(opt.ClockTolerance / time.Second)
	for _, w := range s {
		if int64(w.IssuedAt) > now+tol {
			return withWarrant(deny(CodeIssuedInFuture, ErrNotYetValid,
				"warrant %s is issued at %d, in the future (now %d)", w.ID, w.IssuedAt, now), w)
		}
	}
	leaf := s.Leaf()
	if now > int64(leaf.ExpiresAt)+tol {
		return withWarrant(deny(CodeWarrantExpired, ErrExpired,
			"warrant %s expired at %s (now %s)", leaf.ID, unixText(leaf.ExpiresAt), unixText(uint64(now))), leaf)
	}
	return nil
}

func unixText(t uint64) string {
	if t > 1<<62 {
		return fmt.Sprintf("%d", t)
	}
	return time.Unix(int64(t), 0).UTC().Format(time.RFC3339)
}

// validatePayload checks what a single warrant must satisfy on its own.
func validatePayload(p *Payload) error {
	if p.ExpiresAt <= p.IssuedAt {
		return deny(CodeInvalidPayloadStructure, ErrMalformed,
			"warrant %s expires (%d) before or when it is issued (%d)", p.ID, p.ExpiresAt, p.IssuedAt)
	}
	if (p.Depth == 0) != (p.ParentHash == nil) {
		return deny(CodeInvalidPayloadStructure, ErrMalformed,
			"warrant %s: a parent hash goes with depth > 0 and only then (depth %d)", p.ID, p.Depth)
	}
	if p.Depth > MaxChainDepth || p.MaxDepth > MaxChainDepth {
		return deny(CodeDepthExceeded, ErrBrokenChain, "warrant %s: depth %d / max_depth %d exceed %d",
			p.ID, p.Depth, p.MaxDepth, MaxChainDepth)
	}
	switch p.Type {
	case Execution:
		if p.IssuableTools != nil || p.ConstraintBounds != nil || p.MaxIssueDepth != nil {
			return deny(CodeInvalidPayloadStructure, ErrMalformed,
				"execution warrant %s carries issuer-only fields (issuable_tools, constraint_bounds, max_issue_depth)", p.ID)
		}
	case Issuer:
		if len(p.Tools) != 0 {
			return deny(CodeInvalidPayloadStructure, ErrMalformed, "issuer warrant %s grants tools directly", p.ID)
		}
	default:
		return deny(CodeInvalidPayloadStructure, ErrMalformed, "warrant %s has unknown type %d", p.ID, p.Type)
	}
	if p.MaxIssueDepth != nil && *p.MaxIssueDepth > min(p.MaxDepth, MaxChainDepth) {
		return deny(CodeDepthExceeded, ErrMalformed,
			"warrant %s: max_issue_depth %d exceeds its max_depth %d", p.ID, *p.MaxIssueDepth, min(p.MaxDepth, MaxChainDepth))
	}
	if p.MinApprovals != nil {
		if *p.MinApprovals == 0 || *p.MinApprovals > uint64(len(p.RequiredApprovers)) {
			return deny(CodeInvalidPayloadStructure, ErrMalformed,
				"warrant %s: min_approvals %d needs 1..%d (the number of required approvers)",
				p.ID, *p.MinApprovals, len(p.RequiredApprovers))
		}
	}
	return nil
}

// checkLink checks that child is a valid delegation of parent (WIRE.md §5,
// Tenuo's verify_chain_link), signatures aside. The builder runs the same
// check before signing, so it never mints what the verifier refuses.
func checkLink(parent, child *Warrant) error {
	if !child.Issuer.Equal(parent.Holder) {
		return deny(CodeInvalidIssuer, ErrBrokenChain,
			"warrant %s is issued by %s, which is not the holder %s of its parent %s",
			child.ID, child.Issuer.Hex(), parent.Holder.Hex(), parent.ID)
	}
	if child.ParentHash == nil {
		return deny(CodeChainBroken, ErrBrokenChain, "warrant %s has no parent hash", child.ID)
	}
	if ph := parent.PayloadHash(); !bytes.Equal(child.ParentHash[:], ph[:]) {
		return deny(CodeParentHashMismatch, ErrBrokenChain,
			"warrant %s: parent_hash does not match the SHA-256 of parent %s's payload", child.ID, parent.ID)
	}
	return checkDelegation(&parent.Payload, &child.Payload)
}

// checkDelegation holds the link rules that depend on payloads alone (depth,
// expiry, types, capabilities, clearance, self-issuance).
func checkDelegation(parent, child *Payload) error {
	if child.Depth != parent.Depth+1 {
		return deny(CodeDepthViolation, ErrBrokenChain,
			"warrant %s has depth %d, but its parent has depth %d", child.ID, child.Depth, parent.Depth)
	}
	if maxDepth := min(parent.MaxDepth, MaxChainDepth); child.Depth > maxDepth {
		return deny(CodeDepthExceeded, ErrBrokenChain,
			"warrant %s at depth %d exceeds its parent's max_depth %d", child.ID, child.Depth, maxDepth)
	}
	if child.MaxDepth > parent.MaxDepth {
		return deny(CodeDepthViolation, ErrAttenuation,
			"warrant %s raises max_depth from %d to %d", child.ID, parent.MaxDepth, child.MaxDepth)
	}
	// A child already deeper than its own max_depth (Tenuo's verify_link,
	// invariant I2; a builder would not sign it).
	if child.Depth > child.MaxDepth {
		return deny(CodeDepthExceeded, ErrBrokenChain,
			"warrant %s at depth %d exceeds its own max_depth %d", child.ID, child.Depth, child.MaxDepth)
	}
	if child.ExpiresAt > parent.ExpiresAt {
		return deny(CodeTTLExceeded, ErrAttenuation,
			"warrant %s expires at %s, after its parent (%s)", child.ID, unixText(child.ExpiresAt), unixText(parent.ExpiresAt))
	}
	// A child cannot be issued before the warrant it delegates (Tenuo's
	// verifier refuses it; no clock tolerance applies between the two).
	if child.IssuedAt < parent.IssuedAt {
		return deny(CodeChainBroken, ErrBrokenChain,
			"warrant %s is issued at %s, before its parent %s (issued at %s)",
			child.ID, unixText(child.IssuedAt), parent.ID, unixText(parent.IssuedAt))
	}
	expand := func(format string, args ...any) error {
		return deny(CodeCapabilityExpansion, ErrAttenuation, "warrant %s: "+format, append([]any{child.ID}, args...)...)
	}
	if child.Clearance != nil {
		if parent.Clearance == nil {
			// Tenuo's builder refuses this; its verifier (verify_link) compares
			// clearances only when both are set. Stricter than Tenuo's
			// verifier: a clearance the parent never had is a claim nobody
			// granted, so it is refused here too.
			return expand("introduces clearance %d, which its parent does not have", *child.Clearance)
		}
		if *child.Clearance > *parent.Clearance {
			return expand("clearance rises from %d to %d", *parent.Clearance, *child.Clearance)
		}
	}
	if err := checkApprovalNarrowing(parent, child); err != nil {
		return expand("%v", err)
	}
	switch {
	case parent.Type == Execution && child.Type == Execution:
		// Stricter than Tenuo 0.3, which allows it: a holder may not delegate
		// to itself (Tenuo's vector A.16 expects this denial).
		if child.Holder.Equal(child.Issuer) {
			return expand("self-issuance: holder and issuer are the same key %s", child.Holder.Hex())
		}
		for _, tool := range sortedToolNames(child.Tools) {
			pset, ok := parent.Tools[tool]
			if !ok {
				pset, ok = parent.Tools[WildcardTool]
			}
			if !ok {
				return expand("tool %q is not granted by the parent", tool)
			}
			if err := checkSetNarrowing(pset, child.Tools[tool]); err != nil {
				return expand("tool %q: %v", tool, err)
			}
		}
	case parent.Type == Issuer && child.Type == Issuer:
		// Stricter than Tenuo: a child may not drop the parent's issuable
		// tools or bounds (dropping them would lift the limit).
		if parent.IssuableTools != nil {
			if child.IssuableTools == nil {
				return expand("issuable_tools dropped")
			}
			for _, t := range child.IssuableTools {
				if !issuable(t, parent.IssuableTools) {
					return expand("issuable tool %q is not issuable by the parent", t)
				}
			}
		}
		if parent.ConstraintBounds != nil {
			if child.ConstraintBounds == nil {
				return expand("constraint_bounds dropped")
			}
			if err := checkSetNarrowing(*parent.ConstraintBounds, *child.ConstraintBounds); err != nil {
				return expand("constraint_bounds: %v", err)
			}
		} else if child.ConstraintBounds != nil {
			if err := checkSetNarrowing(ConstraintSet{}, *child.ConstraintBounds); err != nil {
				return expand("constraint_bounds: %v", err)
			}
		}
	case parent.Type == Issuer && child.Type == Execution:
		for _, tool := range sortedToolNames(child.Tools) {
			if !issuable(tool, parent.IssuableTools) {
				return expand("tool %q is not in the issuer warrant's issuable_tools", tool)
			}
			if parent.ConstraintBounds != nil {
				if err := checkSetNarrowing(*parent.ConstraintBounds, child.Tools[tool]); err != nil {
					return expand("tool %q exceeds the issuer's constraint_bounds: %v", tool, err)
				}
			} else if err := checkSetNarrowing(ConstraintSet{}, child.Tools[tool]); err != nil {
				return expand("tool %q: %v", tool, err)
			}
		}
		if child.Holder.Equal(parent.Holder) {
			return expand("self-issuance: an issuer may not grant execution warrants to itself")
		}
		if child.Holder.Equal(parent.Issuer) {
			return expand("self-issuance: the holder may not be the issuer warrant's own issuer")
		}
	default:
		return expand("a %s warrant cannot delegate a %s warrant", parent.Type, child.Type)
	}
	return nil
}

func issuable(tool string, list []string) bool {
	for _, t := range list {
		if t == tool || t == WildcardTool {
			return true
		}
	}
	return false
}

func sortedToolNames(m map[string]ConstraintSet) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sortStrings(names)
	return names
}

// withWarrant records w's id on a denial that does not name one yet.
func withWarrant(err error, w *Warrant) error {
	if d, ok := err.(*Denial); ok && d.WarrantID == "" {
		d.WarrantID = w.ID.String()
	}
	return err
}

// approvalThreshold is how many approvals a warrant needs (0: none).
func approvalThreshold(p *Payload) uint64 {
	if len(p.RequiredApprovers) == 0 {
		return 0
	}
	if p.MinApprovals != nil {
		return *p.MinApprovals
	}
	return uint64(len(p.RequiredApprovers))
}

// checkApprovalNarrowing keeps a delegation from shedding human approval.
// Stricter than Tenuo 0.3, which checks approvals on the leaf only, so that a
// child without required_approvers would escape the parent's multi-sig: here
// a child keeps the parent's gates on the tools it keeps, approves with a
// subset of its approvers, and needs at least as many approvals.
func checkApprovalNarrowing(parent, child *Payload) error {
	pg, err := parent.approvalGates()
	if err != nil {
		return err
	}
	if pg != nil {
		cg, err := child.approvalGates()
		if err != nil {
			return err
		}
		tools := child.IssuableTools
		if child.Type == Execution {
			tools = sortedToolNames(child.Tools)
		}
		for _, t := range tools {
			if g, gated := pg[t]; gated && !bytes.Equal(g.raw, cg[t].raw) {
				return fmt.Errorf("the parent's approval gate on tool %q must be kept unchanged", t)
			}
		}
	}
	pt := approvalThreshold(parent)
	if pt == 0 {
		return nil
	}
	for _, a := range child.RequiredApprovers {
		found := false
		for _, b := range parent.RequiredApprovers {
			if a.Equal(b) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("approver %s is not one of the parent's required approvers", a.Hex())
		}
	}
	if ct := approvalThreshold(child); ct < pt {
		return fmt.Errorf("approvals required drop from %d to %d", pt, ct)
	}
	return nil
}
