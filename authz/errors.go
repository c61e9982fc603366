package authz

import (
	"errors"
	"fmt"
)

// Code is Tenuo's canonical numeric error code (wire-format-v1, Appendix A).
// The numbers are stable across Tenuo's protocols and ours.
type Code uint16

// Tenuo's error codes, grouped by range.
const (
	CodeUnsupportedEnvelopeVersion Code = 1000
	CodeInvalidEnvelopeStructure   Code = 1001

	CodeSignatureInvalid           Code = 1100
	CodeSignatureAlgorithmMismatch Code = 1101
	CodeUnsupportedAlgorithm       Code = 1102
	CodeInvalidKeyLength           Code = 1103
	CodeInvalidSignatureLength     Code = 1104

	CodeUnsupportedPayloadVersion Code = 1200
	CodeInvalidPayloadStructure   Code = 1201
	CodeMalformedCBOR             Code = 1202
	CodeUnknownPayloadField       Code = 1203
	CodeMissingRequiredField      Code = 1204

	CodeWarrantExpired     Code = 1300
	CodeWarrantNotYetValid Code = 1301
	CodeIssuedInFuture     Code = 1302
	CodeTTLExceeded        Code = 1303

	CodeInvalidIssuer      Code = 1400
	CodeParentHashMismatch Code = 1401
	CodeDepthExceeded      Code = 1402
	CodeDepthViolation     Code = 1403
	CodeChainTooLong       Code = 1404
	CodeChainBroken        Code = 1405
	CodeUntrustedRoot      Code = 1406

	CodeToolNotAuthorized     Code = 1500
	CodeConstraintViolation   Code = 1501
	CodeInvalidAttenuation    Code = 1502
	CodeCapabilityExpansion   Code = 1503
	CodeUnknownConstraintType Code = 1504

	CodePopSignatureInvalid Code = 1600
	CodePopExpired          Code = 1601
	CodePopChallengeInvalid Code = 1602

	CodeInsufficientApprovals       Code = 1700
	CodeApprovalInvalid             Code = 1701
	CodeApproverNotAuthorized       Code = 1702
	CodeApprovalExpired             Code = 1703
	CodeUnsupportedApprovalVersion  Code = 1704
	CodeApprovalPayloadInvalid      Code = 1705
	CodeApprovalRequestHashMismatch Code = 1706
	CodeApprovalRequired            Code = 1707

	CodeWarrantRevoked     Code = 1800
	CodeSRLInvalid         Code = 1801
	CodeSRLVersionRollback Code = 1802

	CodeWarrantTooLarge    Code = 1900
	CodeChainTooLarge      Code = 1901
	CodeTooManyTools       Code = 1902
	CodeTooManyConstraints Code = 1903
	CodeExtensionTooLarge  Code = 1904
	CodeValueTooLarge      Code = 1905

	CodeReservedExtensionKey  Code = 2000
	CodeInvalidExtensionValue Code = 2001

	CodeReservedToolName Code = 2100
)

var codeNames = map[Code]string{
	CodeUnsupportedEnvelopeVersion:  "unsupported-envelope-version",
	CodeInvalidEnvelopeStructure:    "invalid-envelope-structure",
	CodeSignatureInvalid:            "signature-invalid",
	CodeSignatureAlgorithmMismatch:  "signature-algorithm-mismatch",
	CodeUnsupportedAlgorithm:        "unsupported-algorithm",
	CodeInvalidKeyLength:            "invalid-key-length",
	CodeInvalidSignatureLength:      "invalid-signature-length",
	CodeUnsupportedPayloadVersion:   "unsupported-payload-version",
	CodeInvalidPayloadStructure:     "invalid-payload-structure",
	CodeMalformedCBOR:               "malformed-cbor",
	CodeUnknownPayloadField:         "unknown-payload-field",
	CodeMissingRequiredField:        "missing-required-field",
	CodeWarrantExpired:              "warrant-expired",
	CodeWarrantNotYetValid:          "warrant-not-yet-valid",
	CodeIssuedInFuture:              "issued-in-future",
	CodeTTLExceeded:                 "ttl-exceeded",
	CodeInvalidIssuer:               "invalid-issuer",
	CodeParentHashMismatch:          "parent-hash-mismatch",
	CodeDepthExceeded:               "depth-exceeded",
	CodeDepthViolation:              "depth-violation",
	CodeChainTooLong:                "chain-too-long",
	CodeChainBroken:                 "chain-broken",
	CodeUntrustedRoot:               "untrusted-root",
	CodeToolNotAuthorized:           "tool-not-authorized",
	CodeConstraintViolation:         "constraint-violation",
	CodeInvalidAttenuation:          "invalid-attenuation",
	CodeCapabilityExpansion:         "capability-expansion",
	CodeUnknownConstraintType:       "unknown-constraint-type",
	CodePopSignatureInvalid:         "pop-signature-invalid",
	CodePopExpired:                  "pop-expired",
	CodePopChallengeInvalid:         "pop-challenge-invalid",
	CodeInsufficientApprovals:       "insufficient-approvals",
	CodeApprovalInvalid:             "approval-invalid",
	CodeApproverNotAuthorized:       "approver-not-authorized",
	CodeApprovalExpired:             "approval-expired",
	CodeUnsupportedApprovalVersion:  "unsupported-approval-version",
	CodeApprovalPayloadInvalid:      "approval-payload-invalid",
	CodeApprovalRequestHashMismatch: "approval-request-hash-mismatch",
	CodeApprovalRequired:            "approval-required",
	CodeWarrantRevoked:              "warrant-revoked",
	CodeSRLInvalid:                  "srl-invalid",
	CodeSRLVersionRollback:          "srl-version-rollback",
	CodeWarrantTooLarge:             "warrant-too-large",
	CodeChainTooLarge:               "chain-too-large",
	CodeTooManyTools:                "too-many-tools",
	CodeTooManyConstraints:          "too-many-constraints",
	CodeExtensionTooLarge:           "extension-too-large",
	CodeValueTooLarge:               "value-too-large",
	CodeReservedExtensionKey:        "reserved-extension-key",
	CodeInvalidExtensionValue:       "invalid-extension-value",
	CodeReservedToolName:            "reserved-tool-name",
}

// Name returns the code's stable kebab-case name, e.g. "constraint-violation".
func (c Code) Name() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("error-%d", uint16(c))
}

func (c Code) String() string { return fmt.Sprintf("%d %s", uint16(c), c.Name()) }

// Sentinel errors, one per verdict family. Every [*Denial] wraps exactly one
// of them; test with errors.Is.
var (
	ErrMalformed             = errors.New("malformed warrant")           // 1000s, 1200s: bad encoding or structure
	ErrTooLarge              = errors.New("size limit exceeded")         // 1900s
	ErrBadSignature          = errors.New("signature invalid")           // 1100s
	ErrExpired               = errors.New("warrant expired")             // 1300
	ErrNotYetValid           = errors.New("warrant not yet valid")       // 1301, 1302
	ErrUntrustedRoot         = errors.New("untrusted root")              // 1406
	ErrBrokenChain           = errors.New("chain broken")                // 1400s except 1406
	ErrToolNotAuthorized     = errors.New("tool not authorized")         // 1500
	ErrConstraint            = errors.New("constraint violation")        // 1501, 1504
	ErrAttenuation           = errors.New("invalid attenuation")         // 1502, 1503: a child that does not narrow
	ErrPoP                   = errors.New("proof of possession invalid") // 1600s
	ErrApprovalRequired      = errors.New("approval required")           // 1707
	ErrInsufficientApprovals = errors.New("insufficient approvals")      // 1700s except 1707
	ErrRevoked               = errors.New("warrant revoked")             // 1800s
	ErrInternal              = errors.New("internal error")              // anything unexpected: deny
)

// Denial is a refused authorization: a stable [Code], the sentinel it wraps,
// and a message for people that names the failing tool, argument or rule.
//
// Message (and so Error) never contains a call argument's value: a constraint
// denial names the tool, the argument and the constraint (which comes from
// the warrant), because a denied value may be a secret (a credential in a
// path, a token in a URL) and denial messages end up in logs and in replies.
// The value and the constraint's own reason, which quotes it, are kept apart
// in Value and Detail, for callers to log only when explicitly asked (the
// proxy's --audit-args).
type Denial struct {
	Code      Code
	Message   string // human-readable reason; never holds secrets or argument values
	WarrantID string // "tnu_wrt_…" of the warrant at fault, when known
	Tool      string // tool of the call, when known
	Arg       string // argument at fault, when the verdict is about one
	Err       error  // sentinel (ErrExpired, ErrConstraint, …), possibly wrapping a cause; its text holds no argument value

	// Value is the offending argument's value, rendered for people (JSON-like),
	// on a constraint denial about a value that was present. It is caller
	// input and may be a secret: log it only when explicitly asked.
	Value string
	// Detail is the constraint's reason for refusing Value (e.g. which clause
	// failed and why). It quotes the value: log it only when explicitly asked,
	// like Value.
	Detail string

	// Extra holds verdict-specific data for clients (e.g. "request_hash",
	// "required_approvers", "got", "need" for approvals).
	Extra map[string]any
}

func (d *Denial) Error() string {
	return fmt.Sprintf("%s (%d %s)", d.Message, uint16(d.Code), d.Code.Name())
}

func (d *Denial) Unwrap() error { return d.Err }

// deny builds a Denial wrapping sentinel; the message is formatted like fmt.Sprintf.
func deny(code Code, sentinel error, format string, args ...any) *Denial {
	return &Denial{Code: code, Err: sentinel, Message: fmt.Sprintf(format, args...)}
}

// AsDenial returns err as a *Denial. An error that is not a Denial becomes an
// internal-error denial, so a caller can never mistake an unexpected failure
// for an allow.
func AsDenial(err error) *Denial {
	if err == nil {
		return nil
	}
	var d *Denial
	if errors.As(err, &d) {
		return d
	}
	return &Denial{Code: CodeInvalidEnvelopeStructure, Err: fmt.Errorf("%w: %w", ErrInternal, err), Message: err.Error()}
}
