package enforce

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Verdict is what a decision comes to.
type Verdict int

const (
	// Deny refuses the request.
	Deny Verdict = iota
	// Allow lets it through.
	Allow
	// WouldDeny lets it through in audit mode, recording that it would have
	// been denied.
	WouldDeny
)

func (v Verdict) String() string {
	switch v {
	case Allow:
		return "allow"
	case WouldDeny:
		return "would-deny"
	}
	return "deny"
}

// Kind is a denial's row in the one table every front end renders
// (ARCHITECTURE.md): it fixes the JSON-RPC code and the HTTP status.
type Kind int

const (
	KindNone        Kind = iota // not a denial
	KindMalformed               // malformed envelope, payload, extension or arguments (1000s, 1200s, 2000s, 2100s)
	KindNoWarrant               // no warrant presented (and none held)
	KindUnauthentic             // signature (1100s), time (1300s), PoP (1600s), revoked (1800s)
	KindForbidden               // chain (1400s), tool or constraint (1500s)
	KindApproval                // approval required, too few or bad approvals (1700s)
	KindTooLarge                // size limits (1900s)
	KindNoRoute                 // no route for the request (sidecar)
	KindInternal                // anything unexpected: denied, never a retryable 5xx
)

// JSON-RPC error codes of denials.
const (
	RPCAccessDenied     = -32001
	RPCApprovalRequired = -32002
	RPCInvalidParams    = -32602
)

// HTTPStyle chooses how HTTP front ends answer approvals: Tenuo's authorizer
// (sidecar, ext_authz) says 403 with the approval fields; Tenuo's FastAPI
// adapter (the net/http middleware) says 409.
type HTTPStyle int

const (
	StyleAuthorizer HTTPStyle = iota
	StyleFastAPI
)

// Result is one decision.
type Result struct {
	Verdict Verdict
	// Kind is the denial's row of the table (KindNone when allowed; the row
	// the denial would have had in audit mode).
	Kind Kind
	// Denial is why (nil when allowed).
	Denial *authz.Denial
	// WarrantTool is the warrant tool the request maps to.
	WarrantTool string
	// Source is where the warrant came from: "client", "held" or "none".
	Source string
	// Authz is authz's decision, when authz ran.
	Authz *authz.Decision
	// Latency is the time the decision took.
	Latency time.Duration
}

// Forward reports whether the request goes on (allowed, or audit mode).
func (r *Result) Forward() bool { return r.Verdict != Deny }

// kindOf places a denial in the table, by its Tenuo code range.
func kindOf(d *authz.Denial) Kind {
	switch {
	case d == nil:
		return KindInternal
	case errors.Is(d, authz.ErrInternal):
		return KindInternal
	case errors.Is(d, authz.ErrBadArguments), errors.Is(d, authz.ErrMalformed):
		return KindMalformed
	}
	switch c := int(d.Code); {
	case c >= 1000 && c < 1100, c >= 1200 && c < 1300, c >= 2000 && c < 2200:
		return KindMalformed
	case c >= 1100 && c < 1200, c >= 1300 && c < 1400, c >= 1600 && c < 1700, c >= 1800 && c < 1900:
		return KindUnauthentic
	case c >= 1400 && c < 1600:
		return KindForbidden
	case c >= 1700 && c < 1800:
		return KindApproval
	case c >= 1900 && c < 2000:
		return KindTooLarge
	}
	return KindInternal
}

// RPCError renders a denial for MCP: the JSON-RPC code, the message the
// model reads and error.data as Tenuo's clients expect it (data.tenuo with
// code, error, message, warrant_id, tool, argument; data.tenuo_code; and the
// approval fields, request_hash, got and need, at the top). ok is false for a
// request that goes on.
func (r *Result) RPCError() (code int, message string, data json.RawMessage, ok bool) {
	if r.Verdict != Deny {
		return 0, "", nil, false
	}
	den := r.denial()
	code = RPCAccessDenied
	prefix := "Access denied: "
	switch r.Kind {
	case KindMalformed, KindTooLarge:
		code, prefix = RPCInvalidParams, "Invalid params: "
	case KindApproval:
		// Only a missing approval, or too few, asks the client for more;
		// a bad approval is refused like any bad credential.
		if errors.Is(den, authz.ErrApprovalRequired) || den.Code == authz.CodeInsufficientApprovals {
			code, prefix = RPCApprovalRequired, "Approval required: "
		}
	}
	info := map[string]any{"code": int(den.Code), "error": den.Code.Name(), "message": den.Message}
	if den.WarrantID != "" {
		info["warrant_id"] = den.WarrantID
	}
	if r.WarrantTool != "" {
		info["tool"] = r.WarrantTool
	}
	if den.Arg != "" {
		info["argument"] = den.Arg
	}
	d := map[string]any{"tenuo": info, "tenuo_code": int(den.Code)}
	for k, v := range den.Extra {
		info[k] = v
		d[k] = v // Tenuo's clients read request_hash, got and need at the top
	}
	data, _ = json.Marshal(d)
	return code, prefix + den.Message, data, true
}

// HTTPStatus is the status an HTTP front end answers a denial with (200 when
// the request goes on).
func (r *Result) HTTPStatus(style HTTPStyle) int {
	if r.Verdict != Deny {
		return http.StatusOK
	}
	switch r.Kind {
	case KindMalformed:
		return http.StatusBadRequest
	case KindNoWarrant, KindUnauthentic:
		return http.StatusUnauthorized
	case KindApproval:
		if style == StyleFastAPI {
			return http.StatusConflict
		}
		return http.StatusForbidden
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case KindNoRoute:
		return http.StatusNotFound
	}
	return http.StatusForbidden // forbidden, internal: never a 5xx a client retries or a proxy fails open on
}

// HTTPBody is the JSON body of an HTTP denial, in Tenuo's authorizer shape:
// authorized, error, error_code, message, warrant_id, tool, request_id, plus
// the approval fields. The human reason is given only with debug (Tenuo's
// gateway behaviour); the code and name always.
func (r *Result) HTTPBody(requestID string, debug bool) []byte {
	den := r.denial()
	body := map[string]any{"authorized": r.Verdict != Deny}
	if r.Verdict == Deny {
		body["error"] = den.Code.Name()
		body["error_code"] = int(den.Code)
		body["message"] = den.Code.Name()
		if debug {
			body["message"] = den.Message
		}
		if den.WarrantID != "" {
			body["warrant_id"] = den.WarrantID
		}
		if r.WarrantTool != "" {
			body["tool"] = r.WarrantTool
		}
		for k, v := range den.Extra {
			body[k] = v
		}
	}
	if requestID != "" {
		body["request_id"] = requestID
	}
	b, _ := json.Marshal(body)
	return b
}

func (r *Result) denial() *authz.Denial {
	if r.Denial != nil {
		return r.Denial
	}
	return &authz.Denial{Code: authz.CodeInvalidEnvelopeStructure, Err: authz.ErrInternal, Message: "denied"}
}
