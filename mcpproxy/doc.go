// Package mcpproxy relays MCP (Model Context Protocol) traffic between an
// agent and a real MCP server, and enforces what the agent may call.
//
// # What it touches
//
// A [Proxy] forwards every message untouched — bytes as received, ids as
// sent — except at two interception points:
//
//   - tools/call: the call is parsed (name, arguments, the Tenuo envelope in
//     params._meta.tenuo or params.arguments._tenuo) and handed to
//     [Proxy.AuthorizeCall]. An allowed call is forwarded with only the
//     envelope removed; a denied call is answered by the proxy and never
//     reaches the server.
//   - tools/list: the server's answer is filtered through
//     [Proxy.FilterTools]; only the tools array is re-encoded, every other key
//     and every kept tool's bytes stay as the server sent them.
//
// Each hook's nil default denies. Resources, prompts, completion, logging,
// ping, progress, cancellation, server-to-client requests (sampling,
// elicitation, roots) and unknown methods pass both ways in order.
//
// # 2026-07-28
//
// That version has no initialize: each request names its version in
// params._meta["io.modelcontextprotocol/protocolVersion"], and the relay
// reads the era from there, per request. For a 2026-07-28 (or later)
// request, results the relay makes say resultType "complete" (a denial
// given as a tool result), and a filtered tools/list answer also says
// resultType ("complete" when the server gave none), cacheScope "private"
// (the list depends on the caller) and a ttlMs that does not outlive the
// warrant that filtered it: the server's ttlMs cut to the time left before
// that warrant expires, never negative, added when the server sent none; 0
// when no warrant verified. Every other key stays byte for byte. Requests of
// older eras are relayed exactly as before. server/discover is relayed
// untouched both ways.
//
// A 2026-07-28 server asks the client for input by answering a tools/call
// with resultType "input_required", inputRequests and an opaque
// requestState; the client retries the same call under a new id with
// inputResponses and that requestState. The retry is a new call and is
// checked again in full; no decision is cached. Its proof of possession is
// the first attempt's (Ed25519 is deterministic), so with replay protection
// on, the relay tells the enforcement point, before the client sees the
// answer, that this PoP may be seen once more with exactly the requestState
// returned (enforce.Followup.AllowRetry, authz.ReplayGuard.AllowRetry). A
// retry with any other requestState, or none, or a second retry with the
// same one, is refused as a replay; a call carrying a requestState is no
// exemption in itself. Each input_required answer allows one retry.
//
// Tasks (the extension io.modelcontextprotocol/tasks, and 2025-11-25's
// tasks) are bound to the session whose call created them: the relay
// remembers the task ids its server returned for calls it let through
// (4096 per session, the oldest forgotten first), and refuses, audited and
// unrelayed, any tasks/get, tasks/update, tasks/cancel, tasks/result or
// subscriptions/listen task subscription naming another id (-32602). A task
// does not outlive the warrant check that let its call through: except to
// cancel it, a task is reachable only while the warrant that allowed its
// call still verifies (expiry, revocation and trust checked again on each
// request; -32001 once it does not). What tasks/get returns is then the
// server's, untouched: the result of a call that was allowed. A tasks/list
// answer keeps only the entries naming such a task (a server several
// sessions share would list other callers' tasks too). A server's answer
// to a tools/call it was not sent yet (the relay is still checking it; the
// id was guessed) is dropped: it binds no task and grants no retry.
//
// Cancellation on stdio is notifications/cancelled, in every era: it is
// relayed, the pending wait ends, and a late answer is dropped with none of
// its effects (no retry grant, no task bound).
//
// Each refusal the relay makes itself carries the context Relay was given
// (Refusal.Context), so that the audit hook can name the session.
//
// # Pinned tool definitions
//
// [PinTools] wraps a session's upstream connection so that the relay sees a
// server whose listings leave out every tool whose definition differs from
// a lock (package toolpin), and which refuses calls of such tools itself. It
// asks the server for tools/list on its own, before the first call and after
// each list_changed, and keeps every request answered exactly once; the
// relay itself is unchanged (`tenuo-mcp proxy --pin`).
//
// # Concurrency and lifecycle
//
// Each tools/call is checked in its own goroutine (at most
// [Proxy.MaxInFlight] at once), so a slow check stalls nothing else. When the
// client reaches EOF, requests in flight may finish for
// [Proxy.DrainTimeout]; then the upstream is shut down. When the upstream
// dies, every request still pending is answered with an error and Run
// returns [ErrUpstreamExited].
package mcpproxy
