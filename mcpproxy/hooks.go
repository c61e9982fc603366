package mcpproxy

import (
	"context"

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
}

// Install sets p's hooks to h's.
func (h *Hooks) Install(p *Proxy) {
	p.AuthorizeCall = h.AuthorizeCall
	p.FilterTools = h.FilterTools
	p.OnRefused = h.Refused
}

func (h *Hooks) front() string {
	if h.Front == "" {
		return enforce.FrontStdio
	}
	return h.Front
}

// AuthorizeCall decides one tools/call.
func (h *Hooks) AuthorizeCall(ctx context.Context, c *Call) *Verdict {
	r := h.Point.Check(ctx, &enforce.Call{Front: h.front(), RequestID: c.ID, Tool: c.Name, Arguments: c.Arguments, Envelope: c.Tenuo})
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

// FilterTools decides which tools a tools/list answer shows.
func (h *Hooks) FilterTools(ctx context.Context, req *ListRequest) func(name string) bool {
	return h.Point.Visible(ctx, &enforce.ListCall{Front: h.front(), Envelope: req.Tenuo})
}

// Refused records a message the relay refused before any warrant check.
func (h *Hooks) Refused(r *Refusal) {
	h.Point.Refused(&enforce.Refusal{Front: h.front(), RequestID: r.ID, Event: r.Method, RPCCode: r.Code, Reason: r.Reason})
}
