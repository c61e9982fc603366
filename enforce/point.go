package enforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// Front ends, as audit records name them.
const (
	FrontStdio    = "stdio"
	FrontHTTP     = "http"
	FrontGuard    = "guard"
	FrontSidecar  = "sidecar"
	FrontExtAuthz = "ext_authz"
)

// ListPolicy says which tools a listing shows.
type ListPolicy int

const (
	// ListWarrant shows the tools the applicable warrant grants; with no
	// warrant at all, nothing.
	ListWarrant ListPolicy = iota
	// ListAll shows every tool (calls are still enforced).
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

// Call is one request for a decision, as a front end read it.
type Call struct {
	// Front names the front end (FrontStdio, …) for the audit record.
	Front string
	// RequestID is the request's id as sent (raw JSON for MCP), for audit.
	RequestID json.RawMessage
	// Session is the front end's session id, if any, for audit.
	Session string

	// Tool is the tool called (MCP tools/call params.name). For an HTTP
	// request it is left empty: the tool map's routes name it.
	Tool string
	// Arguments is the call's JSON arguments without any Tenuo envelope;
	// nil when the call has none (checked as {}).
	Arguments json.RawMessage
	// HTTP, for an HTTP request, is the request whose method, path, query and
	// headers the tool map's routes read; Body is its body, already read
	// under a cap (nil when it has none).
	HTTP *http.Request
	Body []byte

	// Envelope is the credentials the request carries; nil when none.
	Envelope *Envelope
	// Held, when set and the request carries no Envelope, is the warrant
	// held for this call alone, used in preference to Point.Held: an
	// in-process front end (package guard) passes the warrant and key of the
	// caller's context here, so one Point serves callers holding different
	// warrants. Nil falls back to Point.Held.
	Held *HeldWarrant
	// Malformed, when set, is why the front end could not read the request:
	// the decision is then a denial (KindMalformed) and nothing else runs.
	Malformed error
}

// Point is the one decision point: every front end asks it the same
// question, and none re-implements a step of the answer. Set its fields
// before the first call and don't change them afterwards; a Point is safe
// for concurrent use.
type Point struct {
	// Authorizer decides warrants. A nil Authorizer denies everything.
	Authorizer *authz.Authorizer
	// ToolMap maps MCP tools (and HTTP routes) to warrant tools and fields.
	// Nil maps every MCP call to itself, its arguments being the fields, and
	// no HTTP request to anything (denied: no route).
	ToolMap *toolmap.Config
	// Held, when set, is used for requests that carry no warrant.
	Held *HeldWarrant
	// ListPolicy chooses what listings show (the zero value: what the
	// warrant grants).
	ListPolicy ListPolicy
	// AuditMode lets every request through and only records what would have
	// been denied.
	AuditMode bool
	// AllowInexactNumbers lets through integers that a server reading JSON
	// numbers as IEEE-754 doubles would act on as another value than the one
	// checked (beyond ±2^53). The zero value refuses them.
	AllowInexactNumbers bool

	// Audit receives one JSON line per decision; nil discards them. Writes
	// are serialised.
	Audit io.Writer
	// AuditArgs adds the arguments, and a denied argument's value, to audit
	// records (they may hold secrets, so the zero value leaves them out).
	AuditArgs bool
	// Observe, when set, is told of every decision after it is audited (for
	// metrics). It must not block.
	Observe func(*Call, *Result)
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	auditOnce sync.Once
	auditLog  zerolog.Logger

	heldSet atomic.Bool
	heldNow atomic.Pointer[HeldWarrant]
}

// SetHeld replaces the held warrant while the Point serves (a warrant file
// reloaded); nil holds none. Calls decided after it returns use h.
func (p *Point) SetHeld(h *HeldWarrant) {
	p.heldNow.Store(h)
	p.heldSet.Store(true)
}

// HeldNow returns the warrant held now: the last SetHeld's, else Held.
func (p *Point) HeldNow() *HeldWarrant { return p.held() }

func (p *Point) held() *HeldWarrant {
	if p.heldSet.Load() {
		return p.heldNow.Load()
	}
	return p.Held
}

func (p *Point) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Check decides one call: exactly one Result, exactly one audit record. It
// never panics; any failure inside it denies.
func (p *Point) Check(ctx context.Context, c *Call) (r *Result) {
	start := time.Now()
	defer func() {
		if rec := recover(); rec != nil {
			r = &Result{Verdict: Deny, Kind: KindInternal, WarrantTool: c.Tool, Source: "none",
				Denial: &authz.Denial{Code: authz.CodeInvalidEnvelopeStructure, Err: authz.ErrInternal, Tool: c.Tool,
					Message: "internal error while deciding"}}
		}
		r.Latency = time.Since(start)
		p.record(c, r)
		if p.Observe != nil {
			p.Observe(c, r)
		}
	}()
	r = p.decide(ctx, c)
	if r.Denial != nil && r.Kind == KindNone {
		r.Kind = kindOf(r.Denial)
	}
	switch {
	case r.Denial == nil && r.Authz != nil && r.Authz.Allowed:
		r.Verdict, r.Kind = Allow, KindNone
	case r.Denial == nil: // nothing decided: deny
		r.Denial = &authz.Denial{Code: authz.CodeInvalidEnvelopeStructure, Err: authz.ErrInternal, Tool: c.Tool, Message: "denied"}
		r.Kind = KindInternal
		fallthrough
	default:
		r.Verdict = Deny
		if p.AuditMode {
			r.Verdict = WouldDeny
		}
	}
	return r
}

func (p *Point) decide(ctx context.Context, c *Call) *Result {
	r := &Result{WarrantTool: c.Tool, Source: "none"}
	fail := func(kind Kind, code authz.Code, sentinel error, format string, args ...any) *Result {
		r.Kind = kind
		r.Denial = &authz.Denial{Code: code, Err: sentinel, Tool: c.Tool, Message: fmt.Sprintf(format, args...)}
		return r
	}
	if c.Malformed != nil {
		return fail(KindMalformed, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed, "%v", c.Malformed)
	}
	if p.Authorizer == nil {
		return fail(KindInternal, authz.CodeInvalidEnvelopeStructure, authz.ErrInternal, "no authorization configured")
	}
	if err := ctx.Err(); err != nil {
		return fail(KindInternal, authz.CodeInvalidEnvelopeStructure, authz.ErrInternal, "request cancelled")
	}
	args := c.Arguments
	if c.HTTP == nil && !p.AllowInexactNumbers {
		if n, found := value.FirstInexactNumber(args); found {
			fail(KindMalformed, authz.CodePopChallengeInvalid, authz.ErrBadArguments,
				"argument %s is an integer beyond ±2^53 that a server reading JSON numbers as doubles would act on as another value than the one checked; refused unless the upstream is known to read integers exactly", n.Path)
			r.Denial.Arg = n.Key
			return r
		}
	}

	tool, fields, err := p.mapCall(c)
	if err != nil {
		switch {
		case errors.Is(err, errNoRoute):
			return fail(KindNoRoute, authz.CodeToolNotAuthorized, authz.ErrToolNotAuthorized, "%v", err)
		case errors.Is(err, errAmbiguousPath):
			return fail(KindMalformed, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed, "%v", err)
		case errors.Is(err, toolmap.ErrUnknownTool):
			return fail(KindForbidden, authz.CodeToolNotAuthorized, authz.ErrToolNotAuthorized, "tool %q is not in the tool configuration", c.Tool)
		case errors.Is(err, toolmap.ErrField):
			return fail(KindForbidden, authz.CodeConstraintViolation, authz.ErrConstraint, "%v", err)
		default:
			return fail(KindMalformed, authz.CodePopChallengeInvalid, authz.ErrBadArguments, "%v", err)
		}
	}
	r.WarrantTool = tool
	now := p.now()
	req := &authz.Request{Tool: tool, Args: args, Fields: fields, Now: now}
	held := c.Held
	if held == nil {
		held = p.held() // loaded once: SetHeld may replace it meanwhile
	}
	switch env := c.Envelope; {
	case env != nil:
		r.Source = "client"
		if err := env.CheckSizes(); err != nil {
			return fail(KindTooLarge, authz.CodeWarrantTooLarge, authz.ErrTooLarge, "%v", err)
		}
		req.Warrant = []byte(env.Warrant)
		var sig []byte
		if env.Source == SourceHeader {
			sig, err = decodeSignature(env.Signature)
		} else {
			sig, err = authz.DecodeBase64(env.Signature)
		}
		if err != nil {
			return fail(KindMalformed, authz.CodePopSignatureInvalid, authz.ErrPoP, "%s: the signature is not base64: %v", envWhere(env), err)
		}
		req.Signature = sig
		for i, a := range env.Approvals {
			b, err := authz.DecodeBase64(a)
			if err != nil {
				return fail(KindMalformed, authz.CodeApprovalInvalid, authz.ErrInsufficientApprovals, "%s: approval %d is not base64: %v", envWhere(env), i, err)
			}
			req.Approvals = append(req.Approvals, b)
		}
	case held != nil:
		r.Source = "held"
		if err := held.apply(req, args); err != nil {
			r.Denial = authz.AsDenial(err)
			return r
		}
	default:
		return fail(KindNoWarrant, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed,
			"no warrant: the request carries none and none is held")
	}
	f := followupOf(ctx)
	if f != nil {
		req.RequestState = f.RequestState
	}
	r.Authz = p.Authorizer.Check(req)
	r.Denial = r.Authz.Denial
	p.allowed(f, req, r.Authz)
	return r
}

func envWhere(e *Envelope) string {
	switch e.Source {
	case SourceMeta:
		return "_meta.tenuo"
	case SourceArguments:
		return "arguments._tenuo"
	case SourceHeader:
		return "X-Tenuo-PoP"
	}
	return "envelope"
}

var (
	errNoRoute       = errors.New("no route")
	errAmbiguousPath = errors.New("ambiguous path")
)

// mapCall returns the warrant tool and, with a tool map, the fields.
func (p *Point) mapCall(c *Call) (string, map[string]any, error) {
	if c.HTTP != nil {
		if p.ToolMap == nil {
			return "", nil, fmt.Errorf("%w: no tool map to route HTTP requests by", errNoRoute)
		}
		if c.HTTP.URL == nil {
			return "", nil, fmt.Errorf("%w: the request has no URL", errNoRoute)
		}
		if esc := strings.ToLower(c.HTTP.URL.EscapedPath()); strings.Contains(esc, "%2f") || strings.Contains(esc, "%5c") {
			// Routes match the decoded path; a router matching the escaped
			// one (Go's ServeMux does) would see other segments than the
			// check did.
			return "", nil, fmt.Errorf("%w: the path holds an encoded '/' or '\\', which routers read differently", errAmbiguousPath)
		}
		m, err := p.ToolMap.MapHTTP(c.HTTP.Method, c.HTTP.URL.Path, c.HTTP.URL.Query(), c.HTTP.Header, c.Body)
		if errors.Is(err, toolmap.ErrNoRoute) {
			return "", nil, fmt.Errorf("%w: %v", errNoRoute, err)
		}
		if err != nil {
			return "", nil, err
		}
		c.Tool = m.Tool
		return m.Tool, m.Fields, nil
	}
	if p.ToolMap == nil {
		return c.Tool, nil, nil
	}
	m, err := p.ToolMap.MapCall(c.Tool, c.Arguments)
	if err != nil {
		return "", nil, err
	}
	return m.Tool, m.Fields, nil
}

// ListCall is a request to list tools.
type ListCall struct {
	Front     string
	RequestID json.RawMessage
	Session   string
	// Envelope is the credentials the listing carries (a warrant; no
	// signature needed); nil when none.
	Envelope *Envelope
	// Held, as in Call, is the warrant held for this listing alone, used in
	// preference to Point.Held when there is no Envelope.
	Held *HeldWarrant
}

// Visible returns which tool names a listing may show. An expired, revoked
// or untrusted warrant shows nothing, and so does no warrant at all (under
// ListWarrant). Hiding is not enforcement: Check decides every call.
func (p *Point) Visible(ctx context.Context, l *ListCall) func(name string) bool {
	hideAll := func(string) bool { return false }
	f := followupOf(ctx)
	if p.ListPolicy == ListAll {
		f.unboundList()
		return func(string) bool { return true }
	}
	// Until a warrant verifies, the listing shows nothing and is not to be
	// cached; once one does, it may be cached while the warrant lives.
	f.boundList(0)
	var presented []byte
	held := l.Held
	if held == nil {
		held = p.held()
	}
	switch {
	case l.Envelope != nil:
		presented = []byte(l.Envelope.Warrant)
	case held != nil:
		presented = held.text
	default:
		return hideAll
	}
	if p.Authorizer == nil {
		return hideAll
	}
	// The applicable warrant is verified now (from the chain cache when it
	// can be): an expired or revoked warrant lists nothing.
	now := p.now()
	vc, err := p.Authorizer.VerifyStack(presented, now)
	if err != nil {
		p.recordList(l, authz.AsDenial(err))
		return hideAll
	}
	f.boundList(time.Unix(int64(vc.ValidUntil), 0).Sub(now))
	leaf := vc.Leaf()
	return func(name string) bool {
		tool, ok := p.ToolMap.WarrantTool(name)
		if !ok {
			return false
		}
		_, err := authz.ToolPolicy(&leaf.Payload, tool)
		return err == nil
	}
}

// Refusal is a request a front end refused on its own, before any warrant
// check (a message that is not valid for its protocol).
type Refusal struct {
	Front     string
	RequestID json.RawMessage
	Session   string
	// Event is what was refused (an MCP method, "" when unreadable).
	Event string
	// RPCCode is the JSON-RPC code answered (0: dropped unanswered).
	RPCCode int
	// HTTPStatus is the HTTP status answered, if any.
	HTTPStatus int
	// Reason says why; it names no argument value.
	Reason string
}

// Refused records a refusal made by a front end, so that every refusal is
// audited in the one record.
func (p *Point) Refused(r *Refusal) {
	p.recordRefusal(r)
}
