// Package guard enforces Tenuo warrants inside a Go program: the agent's
// own tools, or a tool server's handlers, refuse to run unless the current
// warrant allows this exact call — the cheapest defence against a prompt
// injected into an agent turning it against its user (the confused deputy).
//
// Every decision is made by one [enforce.Point], the decision point the MCP
// relay and the HTTP front ends ask too: the same checks in the same order
// (a warrant exists, its chain is trusted and valid now, the tool is
// granted, the arguments satisfy its constraints, the proof of possession
// verifies, approvals), the same denials, one audit record each.
//
// # Credentials in the context
//
// [WithWarrant] and [WithKey] (or [WithCredentials], both at once) put a
// warrant and its holder's key in a context; every guarded call made with
// that context, or one derived from it, is decided under them. Scopes nest
// and may only narrow: a nested warrant must be a delegation of the outer
// one (verified when the scope opens), or the scope refuses to open. With
// the key in scope, possession is proven by that key being the leaf's
// holder, checked on every call without a signature per call; a proof of
// possession presented from outside (HTTP headers, MCP _meta) is always
// verified.
//
// # Guarded functions
//
// [Func] wraps a function whose argument is a struct (its fields by json
// tag), a map or anything else that encodes as a JSON object; [Func2] one
// of two named arguments; [Guard.Do] runs a closure for named arguments
// ([Args]). A denied call returns a [*DeniedError] that unwraps to the
// [*authz.Denial], and the function does not run. [New] fails without
// trusted roots: the guard never trusts whatever warrant it is handed.
//
// # HTTP middleware
//
// [HTTP] is net/http middleware for a tool API: the warrant, proof of
// possession and approvals come from the X-Tenuo-Warrant, X-Tenuo-PoP and
// X-Tenuo-Approvals headers (names configurable), the tool and its fields
// from the tool map's routes, and a denial is answered from enforce's one
// table (401, 400, 403, 409 or 413, a JSON body with Tenuo's code) before the
// handler runs. The handler reads the very body bytes that were decided.
//
// # MCP servers
//
// The middleware for Go MCP servers is in guard/mcpgo (mark3labs/mcp-go)
// and guard/gosdk (the official SDK), so that a program links only the SDK
// it uses.
package guard
