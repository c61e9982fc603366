// Package mcphttp carries MCP over HTTP on the server side: streamable HTTP
// (protocol versions 2025-03-26 to 2025-11-25, and the stateless
// 2026-07-28) and the legacy HTTP+SSE transport (2024-11-05). A [Handler] is an http.Handler that turns each
// client session into a [Session], a transport.Conn handed to its Accept
// function — the shape of tailscale's derp server: the handler does not
// listen, and the relay above sees one message stream per session, as it
// does on stdio.
//
// # Streamable HTTP
//
// At [Handler.Path] (/mcp): a POST carries one message or (2025-03-26) a
// batch. Requests are answered on the POST's response, as an SSE stream when
// the client accepts one (server requests and notifications sent while the
// request runs come on it too) or else as one JSON value; a single request
// whose answer is all there is to send by the time headers go out (within
// 200 ms) is answered as one JSON value to a client that accepts both, as
// it has nothing to resume. Notifications and responses get 202. GET opens the session's stream for everything else;
// DELETE ends the session. The session id (Mcp-Session-Id) is 128 random
// bits from crypto/rand, created when an initialize request arrives without
// one; an unknown or made-up id is 404, so a client whose session expired
// starts a new one. MCP-Protocol-Version, when sent, must be a version this
// handler speaks (else 400); within a session another supported version is
// answered, as servers answer it, and a stateless one refused.
//
// Event streams are resumable (2025-03-26 and later with sessions). The
// GET stream's events carry ids (g1, g2, …) and its last messages are kept:
// a client that reconnects with Last-Event-ID gets what it missed. A POST
// stream's events carry ids of their own stream (p<n>-1, p<n>-2, …): a
// client whose stream broke GETs it back with the last id it saw, and gets
// that stream's later events — never another stream's — then the rest of
// it, the stream ending when its requests are answered. Its requests wait
// for that for [Handler.ResumeWindow] once the client is gone, then are
// cancelled upstream; a client that saw no event id yet cannot resume, and
// its requests are cancelled at once (see Limits). A stream the session no
// longer keeps (the last few that ended are) resumes as one that ends at
// once. The 2026-07-28 streams have no ids: closing one is its
// cancellation.
//
// Mcp-Method and Mcp-Name, when sent, must match the body byte for
// byte (else 400 with -32020): the check is stricter than any normalisation
// a server could apply, and a body whose method only looks like an
// intercepted one is refused by the relay above.
//
// # 2026-07-28: no sessions
//
// A POST without Mcp-Session-Id whose MCP-Protocol-Version (or
// params._meta["io.modelcontextprotocol/protocolVersion"]) names 2026-07-28
// or later is stateless. It must carry Mcp-Method, and Mcp-Name on
// tools/call, resources/read and prompts/get, equal to the body (else 400
// with -32020); _meta must name the version, equal to the header, and the
// client's capabilities (else 400 with -32602 or -32020); a version the
// handler does not speak is 400 with -32022 naming those it does; a method
// 2026-07-28 does not have (ping, initialize, logging/setLevel, …) is 404
// with -32601; GET and DELETE are 405. Mcp-Param-* headers are checked
// against the call's arguments by the x-mcp-header annotations of the tool
// schemas the caller was listed, remembered past its pooled session's end
// (a header for a tool never listed to it cannot be checked and is
// refused). The answer is one JSON value when it is
// all there is by the time headers go out (404 when it is -32601, as for
// server/discover to a server of 2025), else an event stream;
// subscriptions/listen is one such stream, lasting until the client closes
// it. Closing a stream is the cancellation: the handler sends the upstream
// notifications/cancelled for what it carried.
//
// Requests of one caller ([Handler.CallerKey], with the same BoundHeaders)
// share one pooled Session, and so one upstream; two callers never share
// one, so that one's subscriptions, log level or tasks never reach the
// other. Ids two clients of one caller both use at once are renamed for the
// upstream and given back in the answers. Pooled sessions count towards
// MaxSessions, the one idle the longest closed to make room for a new
// caller (none idle: 503 with Retry-After). A client of 2025 (initialize,
// Mcp-Session-Id) and one of 2026 are served on the same endpoint.
//
// [Dial]'s connection speaks 2026-07-28 to an upstream the same way: each
// request carrying the _meta version is its own POST with the headers
// above (Mcp-Param-* from the upstream's own listing), sent in no order
// with the others, and a notifications/cancelled for one closes its POST
// instead of being sent.
//
// # Legacy HTTP+SSE
//
// GET [Handler.SSEPath] (/sse) opens a session whose first event, endpoint,
// names the URL to POST its messages to ([Handler.MessagePath] with the
// session id in the query); every server message comes on that stream. The
// session ends when the stream closes.
//
// # Limits
//
// Every request gets exactly one answer: bodies are capped
// (http.MaxBytesReader, 413), content types checked (415, 406), Origin
// validated (403), and the number of sessions and of requests awaiting
// answers bounded per session and globally (429 or 503 with Retry-After,
// never a silent drop). A session with nothing in flight and no open stream
// expires after [Handler.IdleTimeout]. A client that goes away while its
// requests run has them cancelled upstream with notifications/cancelled: no
// one is left to read their answers (after ResumeWindow, when it could come
// back for them).
package mcphttp
