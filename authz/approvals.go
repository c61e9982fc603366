package authz

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// Approval limits (WIRE.md §7).
const (
	MaxApprovals        = 64
	MaxApprovalBytes    = 8 << 10
	approvalNonceSize   = 16
	maxApprovalsPerGate = 2 // at most this many approvals per required approver are read
)

// SignedApproval is an approver's signature over one request (WIRE.md §8):
// the holder may make this exact call (warrant, tool, arguments) once the
// warrant's approvers have signed it.
type SignedApproval struct {
	Approver     PublicKey
	payloadBytes []byte
	signature    [SignatureSize]byte
	raw          []byte
}

// ApprovalPayload is the signed content of an approval.
type ApprovalPayload struct {
	RequestHash [32]byte
	Nonce       [approvalNonceSize]byte
	ExternalID  string // the approver's identity in its own system, for audit
	ApprovedAt  uint64
	ExpiresAt   uint64
}

// Bytes returns the approval's CBOR.
func (a *SignedApproval) Bytes() []byte { return a.raw }

// approvalMessage is what an approver signs.
func approvalMessage(payload []byte) []byte {
	m := make([]byte, 0, len(domainWarrant)+len(domainApproval)+1+len(payload))
	m = append(m, domainWarrant...)
	m = append(m, domainApproval...)
	m = append(m, 1)
	return append(m, payload...)
}

// RequestHash binds an approval to one call: SHA-256 of the CBOR array
// [warrant id text, tool, bstr(CBOR(args map, keys sorted)), bstr(holder key)].
func RequestHash(id WarrantID, tool string, args map[string]any, holder PublicKey) ([32]byte, error) {
	if args == nil {
		args = map[string]any{}
	}
	argsCBOR, err := cbor.AppendMap(nil, args)
	if err != nil {
		return [32]byte{}, err
	}
	b := cbor.AppendArrayHeader(nil, 4)
	b = cbor.AppendText(b, id.String())
	b = cbor.AppendText(b, tool)
	b = cbor.AppendBytes(b, argsCBOR)
	b = cbor.AppendBytes(b, holder[:])
	return sha256.Sum256(b), nil
}

// NewApproval signs an approval of requestHash, valid for ttl from now.
func NewApproval(k *SigningKey, requestHash [32]byte, externalID string, now time.Time, ttl time.Duration, r io.Reader) (*SignedApproval, error) {
	if ttl < time.Second {
		return nil, fmt.Errorf("approval ttl must be at least 1s, got %s", ttl)
	}
	if r == nil {
		r = rand.Reader
	}
	var nonce [approvalNonceSize]byte
	if _, err := io.ReadFull(r, nonce[:]); err != nil {
		return nil, err
	}
	p := cbor.AppendMapHeader(nil, 6)
	p = cbor.AppendText(p, "version")
	p = cbor.AppendUint(p, 1)
	p = cbor.AppendText(p, "request_hash")
	p = cbor.AppendUintArray(p, requestHash[:])
	p = cbor.AppendText(p, "nonce")
	p = cbor.AppendUintArray(p, nonce[:])
	p = cbor.AppendText(p, "external_id")
	p = cbor.AppendText(p, externalID)
	p = cbor.AppendText(p, "approved_at")
	p = cbor.AppendUint(p, uint64(now.Unix()))
	p = cbor.AppendText(p, "expires_at")
	p = cbor.AppendUint(p, uint64(now.Add(ttl).Unix()))
	sig := k.Sign(approvalMessage(p))

	b := cbor.AppendMapHeader(nil, 4)
	b = cbor.AppendText(b, "approval_version")
	b = cbor.AppendUint(b, 1)
	b = cbor.AppendText(b, "payload")
	b = cbor.AppendBytes(b, p)
	b = cbor.AppendText(b, "approver_key")
	b = appendPublicKey(b, k.Public())
	b = cbor.AppendText(b, "signature")
	b = cbor.AppendArrayHeader(b, 2)
	b = cbor.AppendUint(b, 1)
	b = cbor.AppendBytes(b, sig[:])
	return &SignedApproval{Approver: k.Public(), payloadBytes: p, signature: sig, raw: b}, nil
}

var approvalLimits = cbor.Limits{MaxDepth: 4}

// ParseApprovals decodes CBOR holding one SignedApproval or an array of them.
func ParseApprovals(b []byte) ([]*SignedApproval, error) {
	if len(b) > MaxApprovalBytes*MaxApprovals {
		return nil, approvalErr(CodeApprovalInvalid, "approvals of %d bytes exceed the limit", len(b))
	}
	it, err := cbor.Decode(b, approvalLimits)
	if err != nil {
		return nil, approvalErr(CodeApprovalInvalid, "approval is not valid CBOR: %v", err)
	}
	if it.Kind == cbor.KindArray {
		if len(it.Items) > MaxApprovals {
			return nil, approvalErr(CodeApprovalInvalid, "%d approvals exceed the limit of %d", len(it.Items), MaxApprovals)
		}
		out := make([]*SignedApproval, 0, len(it.Items))
		for i := range it.Items {
			a, err := parseApproval(&it.Items[i])
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		return out, nil
	}
	a, err := parseApproval(&it)
	if err != nil {
		return nil, err
	}
	return []*SignedApproval{a}, nil
}

func approvalErr(code Code, format string, args ...any) *Denial {
	sentinel := ErrInsufficientApprovals
	return deny(code, sentinel, format, args...)
}

func parseApproval(it *cbor.Item) (*SignedApproval, error) {
	if len(it.Raw) > MaxApprovalBytes {
		return nil, approvalErr(CodeApprovalInvalid, "approval of %d bytes exceeds %d", len(it.Raw), MaxApprovalBytes)
	}
	f, err := mapFields(it, "approval", "approval_version", "payload", "approver_key", "signature")
	if err != nil {
		return nil, approvalErr(CodeApprovalInvalid, "%v", err)
	}
	for _, k := range []string{"approval_version", "payload", "approver_key", "signature"} {
		if f.get(k) == nil {
			return nil, approvalErr(CodeApprovalInvalid, "approval: missing %q", k)
		}
	}
	if v, err := wantUint(f.get("approval_version"), "approval_version"); err != nil || v != 1 {
		return nil, approvalErr(CodeUnsupportedApprovalVersion, "approval: unsupported approval_version")
	}
	payload, err := wantBytes(f.get("payload"), "approval payload")
	if err != nil {
		return nil, approvalErr(CodeApprovalInvalid, "%v", err)
	}
	key, err := decodePublicKey(f.get("approver_key"), "approver_key")
	if err != nil {
		return nil, approvalErr(CodeApprovalInvalid, "%v", err)
	}
	sig := f.get("signature")
	if sig.Kind != cbor.KindArray || len(sig.Items) != 2 || sig.Items[0].Kind != cbor.KindUint ||
		sig.Items[0].Uint != 1 || sig.Items[1].Kind != cbor.KindBytes || len(sig.Items[1].Bytes) != SignatureSize {
		return nil, approvalErr(CodeApprovalInvalid, "approval: signature must be [1, 64 bytes]")
	}
	a := &SignedApproval{Approver: key, payloadBytes: payload, raw: it.Raw}
	copy(a.signature[:], sig.Items[1].Bytes)
	return a, nil
}

// Verify checks the approver's signature over the raw payload, then decodes
// the payload (verify before deserialize).
func (a *SignedApproval) Verify() (*ApprovalPayload, error) {
	if err := verifySignature(a.Approver, approvalMessage(a.payloadBytes), a.signature[:]); err != nil {
		return nil, approvalErr(CodeApprovalInvalid, "approval signature by %s does not verify", a.Approver.Hex())
	}
	it, err := cbor.Decode(a.payloadBytes, approvalLimits)
	if err != nil {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "approval payload: %v", err)
	}
	f, err := mapFields(&it, "approval payload", "version", "request_hash", "nonce", "external_id", "approved_at", "expires_at", "extensions")
	if err != nil {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "%v", err)
	}
	for _, k := range []string{"version", "request_hash", "nonce", "external_id", "approved_at", "expires_at"} {
		if f.get(k) == nil {
			return nil, approvalErr(CodeApprovalPayloadInvalid, "approval payload: missing %q", k)
		}
	}
	if v, err := wantUint(f.get("version"), "version"); err != nil || v != 1 {
		return nil, approvalErr(CodeUnsupportedApprovalVersion, "approval payload: unsupported version")
	}
	var p ApprovalPayload
	h, err := decodeByteArray(f.get("request_hash"), "request_hash", 32)
	if err != nil || len(h) != 32 {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "approval payload: request_hash must be 32 bytes")
	}
	copy(p.RequestHash[:], h)
	n, err := decodeByteArray(f.get("nonce"), "nonce", approvalNonceSize)
	if err != nil || len(n) != approvalNonceSize {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "approval payload: nonce must be 16 bytes")
	}
	copy(p.Nonce[:], n)
	if p.ExternalID, err = wantText(f.get("external_id"), "external_id"); err != nil {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "%v", err)
	}
	if p.ApprovedAt, err = wantUint(f.get("approved_at"), "approved_at"); err != nil {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "%v", err)
	}
	if p.ExpiresAt, err = wantUint(f.get("expires_at"), "expires_at"); err != nil {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "%v", err)
	}
	if p.ExpiresAt <= p.ApprovedAt {
		return nil, approvalErr(CodeApprovalPayloadInvalid, "approval expires (%d) before or when it is approved (%d)", p.ExpiresAt, p.ApprovedAt)
	}
	return &p, nil
}

// approvalGate is one tool's entry of the tenuo.approval_gates extension.
type approvalGate struct {
	whole bool               // every call of the tool needs approval
	args  map[string]argGate // otherwise: calls whose gated argument matches
	raw   []byte             // the entry's CBOR, to compare a child's gate with its parent's
}

type argGateKind uint8

const (
	gateAll        argGateKind = iota // any value fires
	gateConstraint                    // a value the constraint matches fires
	gateExempt                        // a value the constraint does not match fires
)

type argGate struct {
	kind argGateKind
	c    Constraint
}

// parseApprovalGates decodes the tenuo.approval_gates extension: a CBOR map
// tool → {"args": null | {arg → "all" | constraint | {"exempt": constraint}}}.
func parseApprovalGates(raw []byte) (map[string]approvalGate, error) {
	bad := func(format string, args ...any) error {
		return deny(CodeInvalidExtensionValue, ErrMalformed, "extension "+ExtApprovalGates+": "+format, args...)
	}
	it, err := cbor.Decode(raw, cbor.Limits{MaxDepth: MaxConstraintNesting + 8})
	if err != nil {
		return nil, bad("%v", err)
	}
	if it.Kind != cbor.KindMap {
		return nil, bad("want a map of tools, got %s", it.Kind)
	}
	gates := make(map[string]approvalGate, len(it.Pairs))
	for i := range it.Pairs {
		kv := &it.Pairs[i]
		if kv.Key.Kind != cbor.KindText {
			return nil, bad("tool names must be text")
		}
		tool := kv.Key.Text()
		if kv.Value.Kind != cbor.KindMap {
			return nil, bad("tool %q: want a map with \"args\"", tool)
		}
		var args *cbor.Item
		for j := range kv.Value.Pairs {
			if kv.Value.Pairs[j].Key.Kind == cbor.KindText && kv.Value.Pairs[j].Key.Text() == "args" {
				args = &kv.Value.Pairs[j].Value
			}
		}
		if args == nil {
			return nil, bad("tool %q: missing \"args\"", tool)
		}
		if args.Kind == cbor.KindNull {
			gates[tool] = approvalGate{whole: true, raw: kv.Value.Raw}
			continue
		}
		if args.Kind != cbor.KindMap {
			return nil, bad("tool %q: \"args\" must be null or a map", tool)
		}
		g := approvalGate{args: make(map[string]argGate, len(args.Pairs)), raw: kv.Value.Raw}
		for j := range args.Pairs {
			a := &args.Pairs[j]
			if a.Key.Kind != cbor.KindText {
				return nil, bad("tool %q: argument names must be text", tool)
			}
			name := a.Key.Text()
			path := fmt.Sprintf("%s gate %s.%s", ExtApprovalGates, tool, name)
			switch a.Value.Kind {
			case cbor.KindText:
				if a.Value.Text() != "all" {
					return nil, bad("tool %q argument %q: unknown gate %q", tool, name, a.Value.Text())
				}
				g.args[name] = argGate{kind: gateAll}
			case cbor.KindArray:
				c, err := decodeConstraint(&a.Value, path, 0)
				if err != nil {
					return nil, err
				}
				g.args[name] = argGate{kind: gateConstraint, c: c}
			case cbor.KindMap:
				if len(a.Value.Pairs) != 1 || a.Value.Pairs[0].Key.Kind != cbor.KindText || a.Value.Pairs[0].Key.Text() != "exempt" {
					return nil, bad("tool %q argument %q: a map gate holds exactly \"exempt\"", tool, name)
				}
				c, err := decodeConstraint(&a.Value.Pairs[0].Value, path, 0)
				if err != nil {
					return nil, err
				}
				switch c.(type) {
				case *Wildcard, *Any, *Not, *CEL, *UnknownConstraint:
					return nil, bad("tool %q argument %q: %s cannot be an exempt gate", tool, name, c.Type())
				}
				g.args[name] = argGate{kind: gateExempt, c: c}
			default:
				return nil, bad("tool %q argument %q: a gate is \"all\", a constraint or {\"exempt\": constraint}", tool, name)
			}
		}
		gates[tool] = g
	}
	return gates, nil
}

// gateFires reports whether a call of tool with fields needs approval under
// the gates. A gated argument that is absent fires the gate (fail safe).
func gateFires(gates map[string]approvalGate, tool string, fields map[string]any, ec *evalContext) (bool, string, error) {
	g, ok := gates[tool]
	if !ok {
		return false, "", nil
	}
	if g.whole {
		return true, fmt.Sprintf("every call of %q needs approval", tool), nil
	}
	names := make([]string, 0, len(g.args))
	for n := range g.args {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ag := g.args[n]
		v, present := fields[n]
		if !present {
			return true, fmt.Sprintf("argument %q is gated and absent", n), nil
		}
		switch ag.kind {
		case gateAll:
			return true, fmt.Sprintf("argument %q is gated", n), nil
		case gateConstraint:
			if err := ag.c.match(v, ec); err == nil {
				return true, fmt.Sprintf("argument %q matches gate %s", n, ag.c), nil
			} else if !isNoMatch(err) {
				return true, fmt.Sprintf("argument %q: gate %s cannot be evaluated", n, ag.c), nil
			}
		case gateExempt:
			if err := ag.c.match(v, ec); err != nil {
				return true, fmt.Sprintf("argument %q is outside the exemption %s", n, ag.c), nil
			}
		}
	}
	return false, "", nil
}

// checkApprovals decides the approval step of a call whose tool and
// constraints already passed: whether approval is needed (the warrant's
// tenuo.approval_gates; without gates, any call of a warrant with required
// approvers), and if so whether enough valid approvals from distinct listed
// approvers were presented, bound to this exact request and unexpired. args
// are the call's fields: the canonical arguments, or what a tool map
// extracted (the gates and the request hash cover them).
func checkApprovals(p *Payload, tool string, args map[string]any, approvals [][]byte, now time.Time, tolerance time.Duration) error {
	need := false
	reason := "the warrant requires approval for every call"
	gates, err := p.approvalGates()
	if err != nil {
		return err
	}
	if gates != nil {
		if need, reason, err = gateFires(gates, tool, args, &evalContext{now: now}); err != nil {
			return err
		}
	} else {
		need = len(p.RequiredApprovers) > 0
	}
	if !need {
		return nil
	}
	hash, err := RequestHash(p.ID, tool, args, p.Holder)
	if err != nil {
		return deny(CodeApprovalInvalid, ErrInternal, "request hash: %v", err)
	}
	threshold := approvalThreshold(p)
	approvers := make([]string, 0, len(p.RequiredApprovers))
	for _, k := range p.RequiredApprovers {
		approvers = append(approvers, k.Hex())
	}
	extra := map[string]any{
		"request_hash":       hex.EncodeToString(hash[:]),
		"required_approvers": approvers,
		"min_approvals":      threshold,
	}
	if threshold == 0 {
		d := deny(CodeApprovalRequired, ErrApprovalRequired,
			"approval required (%s) but the warrant names no approvers, so none can be given", reason)
		d.Extra = extra
		return d
	}
	if len(approvals) == 0 {
		d := deny(CodeApprovalRequired, ErrApprovalRequired, "approval required: %s; %d of %d approvers must sign request %x",
			reason, threshold, len(p.RequiredApprovers), hash[:8])
		d.Extra = extra
		return d
	}
	var list []*SignedApproval
	for _, b := range approvals {
		as, err := ParseApprovals(b)
		if err != nil {
			return err
		}
		list = append(list, as...)
	}
	if maxN := len(p.RequiredApprovers) * maxApprovalsPerGate; len(list) > maxN {
		return approvalErr(CodeApprovalInvalid, "%d approvals presented, at most %d are read", len(list), maxN)
	}
	var reasons []string
	seen := map[PublicKey]bool{}
	valid := uint64(0)
	for _, a := range list {
		if !listed(a.Approver, p.RequiredApprovers) {
			reasons = append(reasons, fmt.Sprintf("%s is not a required approver", a.Approver.Hex()[:16]))
			continue
		}
		if seen[a.Approver] {
			reasons = append(reasons, fmt.Sprintf("%s approved twice", a.Approver.Hex()[:16]))
			continue
		}
		pl, err := a.Verify()
		if err != nil {
			reasons = append(reasons, AsDenial(err).Message)
			continue
		}
		tol := uint64(tolerance / time.Second)
		nowU := uint64(max(now.Unix(), 0))
		if pl.ApprovedAt > nowU+tol {
			reasons = append(reasons, fmt.Sprintf("approval by %s is dated in the future", a.Approver.Hex()[:16]))
			continue
		}
		if pl.ExpiresAt+tol < nowU {
			reasons = append(reasons, fmt.Sprintf("approval by %s expired at %s", a.Approver.Hex()[:16], unixText(pl.ExpiresAt)))
			continue
		}
		if pl.RequestHash != hash {
			reasons = append(reasons, fmt.Sprintf("approval by %s was signed for a different request", a.Approver.Hex()[:16]))
			continue
		}
		seen[a.Approver] = true
		valid++
		if valid >= threshold {
			return nil
		}
	}
	d := deny(CodeInsufficientApprovals, ErrInsufficientApprovals, "insufficient approvals: %d valid of %d required", valid, threshold)
	if len(reasons) > 0 {
		d.Message += " (" + joinReasons(reasons) + ")"
	}
	extra["got"], extra["need"] = valid, threshold
	d.Extra = extra
	return d
}

func listed(k PublicKey, keys []PublicKey) bool {
	for _, x := range keys {
		if x.Equal(k) {
			return true
		}
	}
	return false
}

func joinReasons(r []string) string {
	const show = 4
	s := ""
	for i, x := range r {
		if i == show {
			return s + fmt.Sprintf("; and %d more", len(r)-show)
		}
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

// gateCache holds a decoded warrant's parsed approval gates, so that the
// extension is parsed once per warrant, not once per call.
type gateCache struct {
	once  sync.Once
	gates map[string]approvalGate
	err   error
}

// approvalGates returns the warrant's tenuo.approval_gates, parsed; nil when
// it has none. A decoded warrant parses them once; a payload built by hand,
// on each call.
func (p *Payload) approvalGates() (map[string]approvalGate, error) {
	raw, ok := p.Extensions[ExtApprovalGates]
	if !ok || len(raw) == 0 {
		return nil, nil
	}
	if p.gates == nil {
		return parseApprovalGates(raw)
	}
	p.gates.once.Do(func() { p.gates.gates, p.gates.err = parseApprovalGates(raw) })
	return p.gates.gates, p.gates.err
}
