package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	argvalue "github.com/tenuo-mcp/tenuo-mcp/internal/value"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// ListPolicy says which tools a tools/list answer shows.
type ListPolicy int

const (
	// ListWarrant shows the tools the applicable warrant grants; with no
	// warrant at all, nothing.
	ListWarrant ListPolicy = iota
	// ListAll shows every tool of the upstream (calls are still enforced).
	ListAll
)

// ParseListPolicy reads "warrant" or "all"; anything else is an error, so a
// typo never exposes every tool.
func ParseListPolicy(s string) (ListPolicy, error) {
	switch s {
	case "warrant", "":
		return ListWarrant, nil
	case "all":
		return ListAll, nil
	}
	return 0, fmt.Errorf("list policy must be \"warrant\" or \"all\", got %q", s)
}

// HeldWarrant is a warrant the proxy holds for clients that know nothing of
// warrants: the proxy signs the proof of possession for their calls.
type HeldWarrant struct {
	Stack authz.Stack
	Key   *authz.SigningKey // the leaf holder's key
	text  []byte
}

// NewHeldWarrant checks that key holds the stack's leaf.
func NewHeldWarrant(s authz.Stack, key *authz.SigningKey) (*HeldWarrant, error) {
	if len(s) == 0 || key == nil {
		return nil, errors.New("held warrant: a warrant and its holder key are both required")
	}
	if !key.Public().Equal(s.Leaf().Holder) {
		return nil, fmt.Errorf("held warrant: the key %s is not the holder %s of warrant %s",
			key.Public().Hex(), s.Leaf().Holder.Hex(), s.Leaf().ID)
	}
	return &HeldWarrant{Stack: s, Key: key, text: s.Bytes()}, nil
}

// Enforcer turns warrants into the proxy's two hooks: every tools/call is
// decided by the Authorizer (client-presented warrant first, else the held
// one), and tools/list shows what the applicable warrant grants.
type Enforcer struct {
	// Authorizer decides calls; required.
	Authorizer *authz.Authorizer
	// ToolMap maps MCP tools to warrant tools and fields; nil maps every call
	// to itself, its arguments being the fields.
	ToolMap *toolmap.Config
	// Held, when set, is used for calls and lists that carry no warrant.
	Held *HeldWarrant
	// ListPolicy chooses what tools/list shows.
	ListPolicy ListPolicy
	// AuditMode forwards every call and only logs what would be denied.
	AuditMode bool
	// Audit receives one JSON line per decision. The zero Logger discards.
	Audit zerolog.Logger
	// AuditArgs adds the call's arguments to audit lines (they may hold
	// secrets, so it is off by default).
	AuditArgs bool
	// AllowInexactNumbers forwards integers that a server reading JSON
	// numbers as IEEE-754 doubles would read as another value (beyond ±2^53:
	// 9007199254740993 is checked as such, and acted on as …992). By default
	// such a call is refused (-32602); set it only for an upstream known to
	// read integers exactly.
	AllowInexactNumbers bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (e *Enforcer) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Hooks installs the enforcer's hooks on p.
func (e *Enforcer) Hooks(p *Proxy) {
	p.AuthorizeCall = e.AuthorizeCall
	p.FilterTools = e.FilterTools
	p.OnRefused = e.Refused
}

// Refused audits a client message the relay refused before any warrant
// check: a malformed tools/call (a bad or contradictory _meta.tenuo, bad
// params), an id-less tools/call or tools/list, a look-alike method, a
// message that is not JSON-RPC.
func (e *Enforcer) Refused(r *Refusal) {
	event := r.Method
	if event == "" {
		event = "invalid-message"
	}
	ev := e.Audit.Info().Str("event", event).RawJSON("request_id", nonEmptyJSON(r.ID)).Str("decision", "deny")
	if r.Code != 0 {
		ev = ev.Int("rpc_code", r.Code)
	} else {
		ev = ev.Bool("dropped", true)
	}
	ev.Int("code", int(authz.CodeInvalidEnvelopeStructure)).Str("error", authz.CodeInvalidEnvelopeStructure.Name()).
		Str("reason", r.Reason).Send()
}

// AuthorizeCall decides one tools/call.
func (e *Enforcer) AuthorizeCall(ctx context.Context, call *Call) *Verdict {
	start := time.Now()
	now := e.now()
	d, source := e.decide(call, now)
	v := verdictFor(d)
	if !v.Allow && e.AuditMode {
		v.AuditOnly = true
	}
	e.audit(call, d, source, v, time.Since(start))
	return v
}

// decision is what one call came to: an authz decision, or a denial made
// before authz could run (bad envelope, unmapped tool).
type decision struct {
	authz   *authz.Decision
	denial  *authz.Denial
	rpcCode int    // overrides the JSON-RPC code of a denial when set
	tool    string // the warrant tool the call maps to
}

func (e *Enforcer) decide(call *Call, now time.Time) (*decision, string) {
	d := &decision{tool: call.Name}
	fail := func(rpc int, code authz.Code, sentinel error, format string, args ...any) (*decision, string) {
		d.rpcCode = rpc
		d.denial = &authz.Denial{Code: code, Err: sentinel, Tool: call.Name, Message: fmt.Sprintf(format, args...)}
		return d, ""
	}
	if n, found := argvalue.FirstInexactNumber(call.Arguments); found && !e.AllowInexactNumbers {
		d, src := fail(CodeInvalidParams, authz.CodePopChallengeInvalid, authz.ErrBadArguments,
			"argument %s is an integer beyond ±2^53 that a server reading JSON numbers as doubles would act on as another value than the one checked; refused unless the upstream is known to read integers exactly", n.Path)
		d.denial.Arg = n.Key
		return d, src
	}
	tool, fields, err := e.mapCall(call)
	if err != nil {
		switch {
		case errors.Is(err, toolmap.ErrUnknownTool):
			return fail(CodeAccessDenied, authz.CodeToolNotAuthorized, authz.ErrToolNotAuthorized, "tool %q is not in the proxy's tool configuration", call.Name)
		case errors.Is(err, toolmap.ErrField):
			return fail(CodeAccessDenied, authz.CodeConstraintViolation, authz.ErrConstraint, "%v", err)
		default:
			return fail(CodeInvalidParams, authz.CodePopChallengeInvalid, authz.ErrBadArguments, "%v", err)
		}
	}
	d.tool = tool
	req := &authz.Request{Tool: tool, Args: call.Arguments, Fields: fields, Now: now}
	source := "none"
	switch {
	case call.Tenuo != nil:
		source = "client"
		req.Warrant = []byte(call.Tenuo.Warrant)
		sig, err := authz.DecodeBase64(call.Tenuo.Signature)
		if err != nil {
			return fail(CodeInvalidParams, authz.CodePopSignatureInvalid, authz.ErrPoP, "_meta.tenuo.signature is not base64: %v", err)
		}
		req.Signature = sig
		for i, a := range call.Tenuo.Approvals {
			b, err := authz.DecodeBase64(a)
			if err != nil {
				return fail(CodeInvalidParams, authz.CodeApprovalInvalid, authz.ErrInsufficientApprovals, "_meta.tenuo.approvals[%d] is not base64: %v", i, err)
			}
			req.Approvals = append(req.Approvals, b)
		}
	case e.Held != nil:
		source = "held"
		req.Warrant = e.Held.text
		pop := fields
		if pop == nil {
			args := call.Arguments
			if len(args) == 0 {
				args = json.RawMessage("{}") // a call without arguments
			}
			canon, err := authz.CanonicalArgs(args)
			if err != nil {
				d.denial = authz.AsDenial(err)
				return d, source
			}
			pop = canon
			req.Fields = canon
		}
		sig, err := authz.SignPoP(e.Held.Key, e.Held.Stack.Leaf().ID, tool, pop, now)
		if err != nil {
			d.denial = authz.AsDenial(err)
			return d, source
		}
		req.Signature = sig[:]
		req.SelfSigned = true
	default:
		return fail(CodeAccessDenied, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed,
			"no warrant: the call carries no _meta.tenuo and the proxy holds none")
	}
	d.authz = e.Authorizer.Check(req)
	d.denial = d.authz.Denial
	return d, source
}

// mapCall returns the warrant tool and, with a tool map, the fields.
func (e *Enforcer) mapCall(call *Call) (string, map[string]any, error) {
	if e.ToolMap == nil {
		return call.Name, nil, nil
	}
	m, err := e.ToolMap.MapCall(call.Name, call.Arguments)
	if err != nil {
		return "", nil, err
	}
	return m.Tool, m.Fields, nil
}

// verdictFor turns a decision into the proxy's answer, in the form Tenuo's
// clients expect: -32001 "Access denied: …", -32002 for approvals, -32602
// for malformed envelopes and arguments, with error.data.tenuo.
func verdictFor(d *decision) *Verdict {
	if d.denial == nil && d.authz != nil && d.authz.Allowed {
		return &Verdict{Allow: true}
	}
	den := d.denial
	if den == nil {
		den = &authz.Denial{Code: authz.CodeInvalidEnvelopeStructure, Err: authz.ErrInternal, Message: "denied"}
	}
	code := d.rpcCode
	if code == 0 {
		switch {
		case errors.Is(den, authz.ErrApprovalRequired), errors.Is(den, authz.ErrInsufficientApprovals) && den.Code == authz.CodeInsufficientApprovals:
			code = CodeApprovalRequired
		case errors.Is(den, authz.ErrMalformed), errors.Is(den, authz.ErrTooLarge), errors.Is(den, authz.ErrBadArguments):
			code = CodeInvalidParams
		default:
			code = CodeAccessDenied
		}
	}
	info := map[string]any{
		"code":    int(den.Code),
		"error":   den.Code.Name(),
		"message": den.Message,
	}
	if den.WarrantID != "" {
		info["warrant_id"] = den.WarrantID
	}
	if d.tool != "" {
		info["tool"] = d.tool
	}
	if den.Arg != "" {
		info["argument"] = den.Arg
	}
	data := map[string]any{"tenuo": info, "tenuo_code": int(den.Code)}
	for k, v := range den.Extra {
		info[k] = v
		data[k] = v // Tenuo's clients read request_hash, got and need at the top
	}
	raw, _ := json.Marshal(data)
	msg := "Access denied: " + den.Message
	switch code {
	case CodeApprovalRequired:
		msg = "Approval required: " + den.Message
	case CodeInvalidParams:
		msg = "Invalid params: " + den.Message
	}
	return &Verdict{Code: code, Message: msg, Data: raw}
}

func (e *Enforcer) audit(call *Call, d *decision, source string, v *Verdict, latency time.Duration) {
	ev := e.Audit.Info()
	if !ev.Enabled() {
		return
	}
	decisionText := "allow"
	switch {
	case !v.Allow && v.AuditOnly:
		decisionText = "would-deny"
	case !v.Allow:
		decisionText = "deny"
	}
	ev = ev.Str("event", "tools/call").
		RawJSON("request_id", nonEmptyJSON(call.ID)).
		Str("tool", call.Name).
		Str("warrant_tool", d.tool).
		Str("decision", decisionText).
		Str("warrant_source", source).
		Int64("latency_us", latency.Microseconds())
	if d.authz != nil {
		ev = ev.Str("warrant_id", d.authz.WarrantID).Int("chain_depth", d.authz.Depth).Bool("chain_cached", d.authz.Cached)
		if d.authz.Allowed {
			ev = ev.Str("root_key_id", d.authz.Root.KeyID())
		}
		if d.authz.Session != "" {
			ev = ev.Str("session", d.authz.Session)
		}
	}
	if d.denial != nil {
		ev = ev.Int("code", int(d.denial.Code)).Str("error", d.denial.Code.Name()).Str("reason", d.denial.Message)
		if d.denial.Arg != "" {
			ev = ev.Str("argument", d.denial.Arg)
		}
	}
	if e.AuditArgs && len(call.Arguments) > 0 && json.Valid(call.Arguments) {
		ev = ev.RawJSON("arguments", call.Arguments)
	}
	ev.Send()
}

func nonEmptyJSON(b json.RawMessage) []byte {
	if len(b) == 0 || !json.Valid(b) {
		return []byte("null")
	}
	return b
}

// FilterTools decides which tools a tools/list answer shows.
func (e *Enforcer) FilterTools(ctx context.Context, req *ListRequest) func(name string) bool {
	if e.ListPolicy == ListAll {
		return func(string) bool { return true }
	}
	var presented []byte
	switch {
	case req.Tenuo != nil:
		presented = []byte(req.Tenuo.Warrant)
	case e.Held != nil:
		presented = e.Held.text
	default:
		return func(string) bool { return false }
	}
	// The applicable warrant is verified now (from the chain cache when it
	// can be): an expired or revoked warrant lists nothing.
	vc, err := e.Authorizer.VerifyStack(presented, e.now())
	if err != nil {
		e.Audit.Info().Str("event", "tools/list").Str("decision", "deny").Str("reason", err.Error()).Send()
		return func(string) bool { return false }
	}
	leaf := vc.Leaf()
	return func(name string) bool {
		tool, ok := e.ToolMap.WarrantTool(name)
		if !ok {
			return false
		}
		_, err := authz.ToolPolicy(&leaf.Payload, tool)
		return err == nil
	}
}
