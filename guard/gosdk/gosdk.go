// Package gosdk enforces Tenuo warrants in a Go MCP server built with the
// official SDK, github.com/modelcontextprotocol/go-sdk: a receiving
// middleware decides every tools/call before the server dispatches it, and
// filters every tools/list answer to the tools the session's warrant grants.
// It lives apart from package guard so that programs which do not use the
// SDK do not link it.
//
// Each call's credentials are its params._meta.tenuo envelope (warrant,
// proof of possession, approvals), as Tenuo's clients send them and as the
// MCP relay reads them (or params.arguments._tenuo, for clients that cannot
// set _meta; both at once must agree); the envelope is removed before the
// tool handler sees it. A call without one is made under the warrant and
// key of the context scope (guard.WithCredentials on the server's context),
// or the decision point's held warrant.
//
// A denial is answered exactly as the MCP relay answers it: the JSON-RPC
// code, message and error.data of enforce.Result.RPCError.
package gosdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/jsonkeys"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/mcpmeta"
)

// Guard connects a decision point to a go-sdk server.
type Guard struct {
	// Point decides. Nil denies every call and lists nothing.
	Point *enforce.Point
	// Front names the front end in audit records; empty means
	// enforce.FrontGuard.
	Front string
}

func (g *Guard) front() string {
	if g.Front == "" {
		return enforce.FrontGuard
	}
	return g.Front
}

// Install adds the guard's middleware to s, outermost, so that it sees each
// request before anything else the server does with it.
func (g *Guard) Install(s *mcp.Server) {
	s.AddReceivingMiddleware(g.Middleware)
}

// Middleware is the receiving middleware: tools/call is decided before next
// runs (and next runs only when the call goes on, without the envelope);
// the answer to tools/list keeps only the tools the warrant grants; every
// other method passes untouched.
func (g *Guard) Middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch r := req.(type) {
		case *mcp.CallToolRequest:
			return g.call(ctx, method, r, next)
		case *mcp.ListToolsRequest:
			return g.list(ctx, method, r, next)
		}
		return next(ctx, method, req)
	}
}

// Render is the JSON-RPC error the middleware answers a denial with: the
// relay's code, message and data (enforce.Result.RPCError). It is nil for a
// result that goes on.
func Render(r *enforce.Result) error {
	code, msg, data, ok := r.RPCError()
	if !ok {
		return nil
	}
	return &jsonrpc.Error{Code: int64(code), Message: msg, Data: data}
}

func sessionID(s *mcp.ServerSession) string {
	if s == nil {
		return ""
	}
	return s.ID()
}

func (g *Guard) call(ctx context.Context, method string, req *mcp.CallToolRequest, next mcp.MethodHandler) (mcp.Result, error) {
	if g.Point == nil || req.Params == nil {
		return nil, &jsonrpc.Error{Code: enforce.RPCAccessDenied, Message: "Access denied: no decision point configured"}
	}
	p := req.Params
	env, args, err := envelope(p)
	if err == nil && len(args) > 0 {
		// The SDK binds arguments to a tool's struct with a decoder that
		// may match keys in any letter case: keys that differ only so are
		// refused.
		if kerr := jsonkeys.Check(args); kerr != nil {
			err = fmt.Errorf("arguments: %v", kerr)
		}
	}
	r := g.Point.Check(ctx, &enforce.Call{Front: g.front(), Session: sessionID(req.Session), Tool: p.Name,
		Arguments: args, Envelope: env, Malformed: err, Held: guard.Held(ctx)})
	if !r.Forward() {
		return nil, Render(r)
	}
	if env != nil {
		// A copy of the params: the request the SDK holds is not changed.
		stripped := *p
		stripped.Meta = mcpmeta.Strip(p.Meta)
		stripped.Arguments = args
		out := *req
		out.Params = &stripped
		req = &out
	}
	return next(ctx, method, req)
}

// envelope returns the call's credentials, _meta.tenuo or
// arguments._tenuo as the relay takes them, and the arguments without the
// in-band envelope.
func envelope(p *mcp.CallToolParamsRaw) (*enforce.Envelope, json.RawMessage, error) {
	meta, err := mcpmeta.Envelope(p.Meta, true)
	if err != nil {
		return nil, p.Arguments, err
	}
	inBand, args, err := mcpmeta.TakeArguments(p.Arguments)
	if err != nil {
		return nil, p.Arguments, err
	}
	env, err := mcpmeta.Pick(meta, inBand)
	return env, args, err
}

func (g *Guard) list(ctx context.Context, method string, req *mcp.ListToolsRequest, next mcp.MethodHandler) (mcp.Result, error) {
	res, err := next(ctx, method, req)
	if err != nil {
		return res, err
	}
	lr, ok := res.(*mcp.ListToolsResult)
	if !ok || lr == nil {
		return res, err
	}
	keep := func(string) bool { return false }
	if g.Point != nil {
		var meta map[string]any
		if req.Params != nil {
			meta = req.Params.Meta
		}
		env, err := mcpmeta.Envelope(meta, false)
		if err == nil {
			keep = g.Point.Visible(ctx, &enforce.ListCall{Front: g.front(), Session: sessionID(req.Session), Envelope: env, Held: guard.Held(ctx)})
		} else {
			g.Point.Refused(&enforce.Refusal{Front: g.front(), Session: sessionID(req.Session), Event: "tools/list", Reason: err.Error()})
		}
	}
	out := *lr
	out.Tools = make([]*mcp.Tool, 0, len(lr.Tools))
	for _, t := range lr.Tools {
		if t != nil && keep(t.Name) {
			out.Tools = append(out.Tools, t)
		}
	}
	return &out, nil
}
