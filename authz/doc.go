// Package authz decides whether the holder of a Tenuo warrant may make a tool
// call now.
//
// It speaks Tenuo's v1 wire format (Ed25519 + CBOR) byte for byte, so that a
// warrant minted by Tenuo's Python or Rust SDK verifies here and a warrant
// minted here verifies there. The package does no I/O and knows nothing of
// MCP or HTTP; front ends (the MCP proxy, the in-process guard, the sidecar
// and the gateway) all ask it the same question through [Authorizer.Check].
//
// # Warrants
//
// A [Warrant] is a signed [Payload]: which tools its holder may call, with
// which argument [Constraint]s, until when. A [Stack] is a delegation chain,
// root first, leaf last; every link may only narrow what its parent allows.
//
// # Values
//
// Constraint values and call arguments share one dynamic value model: nil,
// bool, int64, float64, string, []any and map[string]any. Integers and
// floats are distinct types (Exact(1) does not equal 1.5, and 1 ≠ 1.0 in a
// warrant), while call arguments are canonicalised from JSON text so that an
// integral float such as 1.0 is presented as the integer 1, as Tenuo signs it.
//
// # Failing closed
//
// Every failure inside verification is a denial: an unknown constraint type,
// a malformed value, an internal error. A denial is a [*Denial] carrying a
// stable [Code] and wrapping one sentinel error per verdict, so callers test
// verdicts with errors.Is, never by matching strings. A denial's message
// names the tool, the argument and the rule but never the argument's value,
// which may be a secret; the value is in [Denial.Value] for callers that log
// it on request.
package authz
