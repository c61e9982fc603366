package enforce

import "github.com/tenuo-mcp/tenuo-mcp/authz"

// DenialCase is one row of the denial table every front end renders
// (ARCHITECTURE.md), with a denial that falls in it. Front ends' tests run
// these cases through their own rendering, so that none answers a denial
// differently.
type DenialCase struct {
	Name   string
	Result *Result
	// RPC is the JSON-RPC error code (MCP).
	RPC int
	// HTTPAuthorizer is the status in Tenuo's authorizer style (sidecar,
	// ext_authz); HTTPFastAPI in its FastAPI adapter's (net/http middleware).
	HTTPAuthorizer, HTTPFastAPI int
}

func denied(kind Kind, code authz.Code, sentinel error) *Result {
	return &Result{Verdict: Deny, Kind: kind, WarrantTool: "t",
		Denial: &authz.Denial{Code: code, Err: sentinel, Tool: "t", Message: code.Name()}}
}

// DenialCases returns the table's rows, one or more denials each.
func DenialCases() []DenialCase {
	return []DenialCase{
		{"malformed envelope", denied(KindMalformed, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed), RPCInvalidParams, 400, 400},
		{"malformed payload", denied(KindMalformed, authz.CodeMalformedCBOR, authz.ErrMalformed), RPCInvalidParams, 400, 400},
		{"reserved extension", denied(KindMalformed, authz.CodeReservedExtensionKey, authz.ErrMalformed), RPCInvalidParams, 400, 400},
		{"malformed arguments", denied(KindMalformed, authz.CodePopChallengeInvalid, authz.ErrBadArguments), RPCInvalidParams, 400, 400},
		{"no warrant", denied(KindNoWarrant, authz.CodeInvalidEnvelopeStructure, authz.ErrMalformed), RPCAccessDenied, 401, 401},
		{"bad signature", denied(KindUnauthentic, authz.CodeSignatureInvalid, authz.ErrBadSignature), RPCAccessDenied, 401, 401},
		{"expired", denied(KindUnauthentic, authz.CodeWarrantExpired, authz.ErrExpired), RPCAccessDenied, 401, 401},
		{"bad PoP", denied(KindUnauthentic, authz.CodePopSignatureInvalid, authz.ErrPoP), RPCAccessDenied, 401, 401},
		{"revoked", denied(KindUnauthentic, authz.CodeWarrantRevoked, authz.ErrRevoked), RPCAccessDenied, 401, 401},
		{"broken chain", denied(KindForbidden, authz.CodeChainBroken, authz.ErrBrokenChain), RPCAccessDenied, 403, 403},
		{"untrusted root", denied(KindForbidden, authz.CodeUntrustedRoot, authz.ErrUntrustedRoot), RPCAccessDenied, 403, 403},
		{"tool not granted", denied(KindForbidden, authz.CodeToolNotAuthorized, authz.ErrToolNotAuthorized), RPCAccessDenied, 403, 403},
		{"constraint", denied(KindForbidden, authz.CodeConstraintViolation, authz.ErrConstraint), RPCAccessDenied, 403, 403},
		{"approval required", denied(KindApproval, authz.CodeApprovalRequired, authz.ErrApprovalRequired), RPCApprovalRequired, 403, 409},
		{"too few approvals", denied(KindApproval, authz.CodeInsufficientApprovals, authz.ErrInsufficientApprovals), RPCApprovalRequired, 403, 409},
		{"bad approval", denied(KindApproval, authz.CodeApprovalInvalid, authz.ErrInsufficientApprovals), RPCAccessDenied, 403, 409},
		{"too large", denied(KindTooLarge, authz.CodeChainTooLarge, authz.ErrTooLarge), RPCInvalidParams, 413, 413},
		{"no route", denied(KindNoRoute, authz.CodeToolNotAuthorized, authz.ErrToolNotAuthorized), RPCAccessDenied, 404, 404},
		{"internal", denied(KindInternal, authz.CodeInvalidEnvelopeStructure, authz.ErrInternal), RPCAccessDenied, 403, 403},
	}
}
