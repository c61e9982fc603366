package enforce

import (
	"encoding/json"
	"io"

	"github.com/rs/zerolog"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// The audit record: one JSON line per decision of every front end, written
// only here. Its fields:
//
//	time, front, event ("tools/call", "tools/list", an HTTP route's tool, or
//	what was refused), request_id, session, tool, warrant_tool, decision
//	(allow, deny, would-deny), rpc_code or http_status (refusals), dropped
//	(a refused notification), code and error (Tenuo's), reason, argument,
//	warrant_id, warrant_source (client, held, none), chain_verified (false:
//	the warrant id is only what the request claimed), chain_cached,
//	chain_depth, root_key_id, latency_us; value, detail and arguments only
//	with AuditArgs.

func (p *Point) logger() *zerolog.Logger {
	p.auditOnce.Do(func() {
		w := p.Audit
		if w == nil {
			w = io.Discard
		}
		p.auditLog = zerolog.New(zerolog.SyncWriter(w)).With().Timestamp().Logger()
	})
	return &p.auditLog
}

func nonEmptyJSON(b json.RawMessage) []byte {
	if len(b) == 0 || !json.Valid(b) {
		return []byte("null")
	}
	return b
}

func (p *Point) record(c *Call, r *Result) {
	ev := p.logger().Info()
	event := "tools/call"
	if c.HTTP != nil {
		event = "http"
	}
	ev = ev.Str("front", c.Front).Str("event", event).RawJSON("request_id", nonEmptyJSON(c.RequestID))
	if c.Session != "" {
		ev = ev.Str("session", c.Session)
	}
	ev = ev.Str("tool", c.Tool).Str("warrant_tool", r.WarrantTool).Str("decision", r.Verdict.String()).
		Str("warrant_source", r.Source).Int64("latency_us", r.Latency.Microseconds())
	verified := false
	if a := r.Authz; a != nil {
		verified = a.ChainVerified
		if a.WarrantID != "" {
			ev = ev.Str("warrant_id", a.WarrantID)
		}
		ev = ev.Int("chain_depth", a.Depth).Bool("chain_cached", a.Cached)
		if a.Allowed {
			ev = ev.Str("root_key_id", a.Root.KeyID())
		}
		if a.Session != "" && c.Session == "" {
			ev = ev.Str("session", a.Session)
		}
	}
	ev = ev.Bool("chain_verified", verified)
	if d := r.Denial; d != nil {
		ev = ev.Int("code", int(d.Code)).Str("error", d.Code.Name()).Str("reason", d.Message)
		if d.Arg != "" {
			ev = ev.Str("argument", d.Arg)
		}
		if (r.Authz == nil || r.Authz.WarrantID == "") && d.WarrantID != "" {
			ev = ev.Str("warrant_id", d.WarrantID)
		}
		if p.AuditArgs {
			if d.Value != "" {
				ev = ev.Str("value", d.Value)
			}
			if d.Detail != "" {
				ev = ev.Str("detail", d.Detail)
			}
		}
	}
	if p.AuditArgs && len(c.Arguments) > 0 && json.Valid(c.Arguments) {
		ev = ev.RawJSON("arguments", c.Arguments)
	}
	ev.Send()
}

func (p *Point) recordList(l *ListCall, d *authz.Denial) {
	ev := p.logger().Info().Str("front", l.Front).Str("event", "tools/list").RawJSON("request_id", nonEmptyJSON(l.RequestID))
	if l.Session != "" {
		ev = ev.Str("session", l.Session)
	}
	ev = ev.Str("decision", "deny").Bool("chain_verified", false)
	if d != nil {
		ev = ev.Int("code", int(d.Code)).Str("error", d.Code.Name()).Str("reason", d.Message)
		if d.WarrantID != "" {
			ev = ev.Str("warrant_id", d.WarrantID)
		}
	}
	ev.Send()
}

func (p *Point) recordRefusal(r *Refusal) {
	event := r.Event
	if event == "" {
		event = "invalid-message"
	}
	ev := p.logger().Info().Str("front", r.Front).Str("event", event).RawJSON("request_id", nonEmptyJSON(r.RequestID))
	if r.Session != "" {
		ev = ev.Str("session", r.Session)
	}
	ev = ev.Str("decision", "deny")
	switch {
	case r.RPCCode != 0:
		ev = ev.Int("rpc_code", r.RPCCode)
	case r.HTTPStatus != 0:
		ev = ev.Int("http_status", r.HTTPStatus)
	default:
		ev = ev.Bool("dropped", true)
	}
	ev.Bool("chain_verified", false).
		Int("code", int(authz.CodeInvalidEnvelopeStructure)).Str("error", authz.CodeInvalidEnvelopeStructure.Name()).
		Str("reason", r.Reason).Send()
}
