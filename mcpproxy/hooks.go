package mcpproxy

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// Hooks connects an enforcement point to the relay: every tools/call is
// decided by Point.Check, every tools/list filtered by Point.Visible, and
// every message the relay refuses on its own is recorded by Point.Refused.
// The relay renders the results in JSON-RPC; it decides nothing itself.
type Hooks struct {
	Point *enforce.Point
	// Front names the front end in audit records (enforce.FrontStdio when
	// empty).
	Front string
	// Session, when set, tells from a request's context which session it
	// belongs to (its id, for audit records) and the warrant that session
	// presents outside its messages, "" when none (an HTTP session's
	// X-Tenuo-Warrant header). That warrant filters the session's tools/list
	// requests that carry no envelope and completes a call's envelope that
	// carries only a proof of possession; an envelope whose warrant differs
	// from it is refused, as two envelopes that disagree are.
	Session func(ctx context.Context) (id, warrant string)
	// Held, when set, tells from a request's context the warrant held for
	// its caller (an HTTP session's, by its bearer token): it is used, as
	// enforce.Call.Held is, for the calls and listings that present no
	// warrant, in preference to Point's. Nil from it falls back to Point's.
	Held func(ctx context.Context) *enforce.HeldWarrant
	// Log is told, once, why a listing shows nothing when no warrant is at
	// hand; Install sets it to the Proxy's when nil.
	Log *slog.Logger

	emptyOnce sync.Once
}

// Install sets p's hooks to h's.
func (h *Hooks) Install(p *Proxy) {
	p.AuthorizeCall = h.AuthorizeCall
	p.QuickHooks = true // Point.Check computes and returns; it never waits
	p.FilterTools = h.FilterTools
	p.OnRefused = h.Refused
	if h.Log == nil {
		h.Log = p.Log
	}
}

func (h *Hooks) front() string {
	if h.Front == "" {
		return enforce.FrontStdio
	}
	return h.Front
}

func (h *Hooks) held(ctx context.Context) *enforce.HeldWarrant {
	if h.Held == nil {
		return nil
	}
	return h.Held(ctx)
}

func (h *Hooks) session(ctx context.Context) (id, warrant string) {
	if h.Session == nil {
		return "", ""
	}
	return h.Session(ctx)
}

// envelopeWhere names where an envelope was read, for error messages.
func envelopeWhere(e *enforce.Envelope) string {
	if e.Source == enforce.SourceArguments {
		return "params.arguments._tenuo"
	}
	return "params._meta.tenuo"
}

// AuthorizeCall decides one tools/call.
func (h *Hooks) AuthorizeCall(ctx context.Context, c *Call) *Verdict {
	sid, held := h.session(ctx)
	env := c.Tenuo
	switch {
	case env == nil && held != "":
		env = &enforce.Envelope{Warrant: held, Source: enforce.SourceHeader}
	case env != nil && env.Warrant == "" && held != "":
		e := *env
		e.Warrant = held
		env = &e
	case env != nil && env.Warrant == "":
		return h.refuseCall(c, sid, "Invalid params: "+envelopeWhere(env)+".warrant is missing")
	case env != nil && held != "" && env.Warrant != held:
		return h.refuseCall(c, sid, "Invalid params: "+envelopeWhere(env)+".warrant and the session's X-Tenuo-Warrant header disagree")
	}
	r := h.Point.Check(ctx, &enforce.Call{Front: h.front(), RequestID: c.ID, Session: sid, Tool: c.Name, Arguments: c.Arguments, Envelope: env, Held: h.held(ctx)})
	switch r.Verdict {
	case enforce.Allow:
		return &Verdict{Allow: true}
	case enforce.WouldDeny:
		v := &Verdict{AuditOnly: true, Code: CodeAccessDenied, Message: "would be denied"}
		if r.Denial != nil {
			v.Message = r.Denial.Message
		}
		return v
	}
	code, msg, data, _ := r.RPCError()
	return &Verdict{Code: code, Message: msg, Data: data}
}

// refuseCall refuses a call whose envelope cannot be completed, as the relay
// refuses a malformed envelope: -32602, recorded as a refusal.
func (h *Hooks) refuseCall(c *Call, sid, reason string) *Verdict {
	h.Point.Refused(&enforce.Refusal{Front: h.front(), RequestID: c.ID, Session: sid, Event: methodCall, RPCCode: CodeInvalidParams, Reason: reason})
	return &Verdict{Code: CodeInvalidParams, Message: reason}
}

// FilterTools decides which tools a tools/list answer shows.
func (h *Hooks) FilterTools(ctx context.Context, req *ListRequest) func(name string) bool {
	sid, held := h.session(ctx)
	env := req.Tenuo
	switch {
	case env == nil && held != "":
		env = &enforce.Envelope{Warrant: held, Source: enforce.SourceHeader}
	case env != nil && held != "" && env.Warrant != held:
		h.Point.Refused(&enforce.Refusal{Front: h.front(), Session: sid, Event: methodList,
			Reason: "params._meta.tenuo.warrant and the session's X-Tenuo-Warrant header disagree; every tool hidden"})
		return func(string) bool { return false }
	}
	callerHeld := h.held(ctx)
	if env == nil && callerHeld == nil && h.Point.HeldNow() == nil && h.Point.ListPolicy == enforce.ListWarrant && h.Log != nil {
		h.emptyOnce.Do(func() {
			h.Log.Warn("tools/list answered with no tools: the client presented no warrant (_meta.tenuo) and none is held (--warrant, --key)")
		})
	}
	return h.Point.Visible(ctx, &enforce.ListCall{Front: h.front(), Session: sid, Envelope: env, Held: callerHeld})
}

// Refused records a message the relay refused before any warrant check.
func (h *Hooks) Refused(r *Refusal) {
	var sid string
	if r.Context != nil {
		sid, _ = h.session(r.Context) // an HTTP session's id, for its record
	}
	h.Point.Refused(&enforce.Refusal{Front: h.front(), RequestID: r.ID, Session: sid, Event: r.Method, RPCCode: r.Code, Reason: r.Reason})
}
