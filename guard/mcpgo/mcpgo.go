// Package mcpgo enforces Tenuo warrants in a Go MCP server built with
// github.com/mark3labs/mcp-go: a tool-handler middleware decides every
// tools/call before its handler runs, and a tools/list hook hides the tools
// the session's warrant does not grant. It lives apart from package guard so
// that programs which do not use mcp-go do not link it.
//
// Each call's credentials are its params._meta.tenuo envelope (warrant,
// proof of possession, approvals), as Tenuo's clients send them and as the
// MCP relay reads them (or params.arguments._tenuo, for clients that cannot
// set _meta; both at once must agree); the envelope is removed before the
// handler sees it. A call without one is made under the warrant and key of
// the server's context scope (guard.WithCredentials on the context the
// transport hands the server), or the decision point's held warrant.
//
// # Denials
//
// A denied call never reaches its handler. mcp-go (v1.2.1) answers every
// error a tool handler returns with JSON-RPC code -32603 and the error's
// text; it has no way for middleware to choose the code or error.data. The
// middleware's error therefore carries the relay's message exactly
// ("Access denied: …", "Invalid params: …", "Approval required: …"), and
// the relay's code and data on the *RPCError value for in-process callers;
// on the wire the code is mcp-go's. Package guard/gosdk, for the official
// SDK, answers with the relay's code, message and data.
package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/jsonkeys"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/mcpmeta"
)

// Guard connects a decision point to an mcp-go server.
type Guard struct {
	// Point decides. Nil denies every call and lists nothing.
	Point *enforce.Point
	// Front names the front end in audit records; empty means
	// enforce.FrontGuard.
	Front string

	// tasks holds the task tools installed with AddTaskTool, by server.
	tasks sync.Map // taskKey → struct{}
}

type taskKey struct {
	s    *server.MCPServer
	name string
}

// RPCError is a denial as the MCP relay answers it: the JSON-RPC code,
// message and error.data of enforce.Result.RPCError.
type RPCError struct {
	Code    int
	Message string
	Data    json.RawMessage
	// Result is the decision.
	Result *enforce.Result
}

func (e *RPCError) Error() string { return e.Message }

// Unwrap returns the denial, so errors.As finds the *authz.Denial.
func (e *RPCError) Unwrap() error {
	if e.Result == nil || e.Result.Denial == nil {
		return nil
	}
	return e.Result.Denial
}

// Render is the error the middleware returns for a denial: the relay's
// code, message and data (enforce.Result.RPCError). It is nil for a result
// that goes on.
func Render(r *enforce.Result) error {
	code, msg, data, ok := r.RPCError()
	if !ok {
		return nil
	}
	return &RPCError{Code: code, Message: msg, Data: data, Result: r}
}

func (g *Guard) front() string {
	if g.Front == "" {
		return enforce.FrontGuard
	}
	return g.Front
}

// Options returns the server options that install the guard: the tool
// middleware and a tools/list hook. A server that sets its own hooks adds
// the guard's with AddHooks instead of WithHooks.
func (g *Guard) Options() []server.ServerOption {
	h := &server.Hooks{}
	g.AddHooks(h)
	return []server.ServerOption{server.WithToolHandlerMiddleware(g.Middleware), server.WithHooks(h)}
}

// AddHooks adds the guard's hooks to h: the tools/list filter, and the
// refusal of task-augmented calls that would reach a task tool the guard
// does not wrap (see AddTaskTool).
func (g *Guard) AddHooks(h *server.Hooks) {
	h.AddAfterListTools(g.filterList)
	h.AddOnRequestInitialization(g.refuseUnguardedTask)
}

// AddTaskTool registers a task tool on s with its handler behind the
// guard. mcp-go (v1.2.1) runs a task tool's handler (server.AddTaskTool)
// without the tool-handler middleware, so the guard refuses every
// task-augmented call to a task tool not registered through this method
// (or wrapped with TaskMiddleware and registered here). A tool registered
// here and later replaced with s.AddTaskTool directly is no longer guarded.
func (g *Guard) AddTaskTool(s *server.MCPServer, tool mcp.Tool, handler server.TaskToolHandlerFunc) {
	s.AddTaskTool(tool, g.TaskMiddleware(handler))
	g.tasks.Store(taskKey{s, tool.Name}, struct{}{})
}

// TaskMiddleware is Middleware for a task tool's handler: a denial fails
// the task before the handler runs (the client reads it with tasks/result).
func (g *Guard) TaskMiddleware(next server.TaskToolHandlerFunc) server.TaskToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
		// mcp-go starts a task's handler with the context of the request
		// that created it, cancelled once that request is answered (the
		// task goes on): the decision must not read that as a cancelled
		// call.
		req, err := g.decide(context.WithoutCancel(ctx), req)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// refuseUnguardedTask is the request-initialization hook: a tools/call with
// task augmentation whose name mcp-go would resolve to a task tool (neither
// a session tool nor a server tool, whose handlers go through the
// middleware) is refused unless the guard wraps that task tool. The
// message is read as mcp-go reads it (encoding/json into its own types), so
// that the name is the one mcp-go looks up.
func (g *Guard) refuseUnguardedTask(ctx context.Context, _ any, message any) error {
	var raw []byte
	switch m := message.(type) {
	case json.RawMessage:
		raw = m
	case []byte:
		raw = m
	default:
		var err error
		if raw, err = json.Marshal(message); err != nil {
			return errors.New("Access denied: unreadable request")
		}
	}
	var base struct {
		Method mcp.MCPMethod `json:"method"`
	}
	if json.Unmarshal(raw, &base) != nil || base.Method != mcp.MethodToolsCall {
		return nil
	}
	var req mcp.CallToolRequest
	if json.Unmarshal(raw, &req) != nil || req.Params.Task == nil {
		return nil // mcp-go refuses the first; the second runs no task tool
	}
	name := req.Params.Name
	if st, ok := server.ClientSessionFromContext(ctx).(server.SessionWithTools); ok {
		if _, ok := st.GetSessionTools()[name]; ok {
			return nil
		}
	}
	s := server.ServerFromContext(ctx)
	if s != nil && s.GetTool(name) != nil {
		return nil
	}
	if _, ok := g.tasks.Load(taskKey{s, name}); ok && s != nil {
		return nil
	}
	return fmt.Errorf("Access denied: task tool %q is not behind the guard", name)
}

// Middleware is the tool-handler middleware: it decides the call with the
// decision point, runs next only when the call goes on, and hands next the
// request without its Tenuo envelope.
func (g *Guard) Middleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		req, err := g.decide(ctx, req)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// decide decides req and returns it without its Tenuo envelope, or the
// denial.
func (g *Guard) decide(ctx context.Context, req mcp.CallToolRequest) (mcp.CallToolRequest, error) {
	if g.Point == nil {
		return req, &RPCError{Code: enforce.RPCAccessDenied, Message: "Access denied: no decision point configured"}
	}
	c := &enforce.Call{Front: g.front(), Session: sessionID(ctx), Tool: req.Params.Name, Held: guard.Held(ctx)}
	var meta map[string]any
	if req.Params.Meta != nil {
		meta = req.Params.Meta.AdditionalFields
	}
	metaEnv, err := mcpmeta.Envelope(meta, true)
	c.Malformed = err
	args, err := arguments(req)
	var inBand *enforce.Envelope
	var stripped map[string]any // the arguments without the in-band envelope, for the handler
	if err == nil {
		inBand, args, err = mcpmeta.TakeArguments(args)
	}
	if err == nil && inBand != nil {
		err = json.Unmarshal(args, &stripped)
	}
	if err == nil && len(args) > 0 {
		err = jsonkeys.Check(args) // a handler binding arguments may match keys in any case
	}
	c.Arguments = args
	if err != nil && c.Malformed == nil {
		c.Malformed = fmt.Errorf("arguments: %v", err)
	}
	env, err := mcpmeta.Pick(metaEnv, inBand)
	if c.Malformed == nil {
		c.Envelope, c.Malformed = env, err
	}
	r := g.Point.Check(ctx, c)
	if !r.Forward() {
		return req, Render(r)
	}
	if inBand != nil {
		req.Params.Arguments, req.Params.RawArguments = stripped, args
	}
	if metaEnv != nil {
		m := *req.Params.Meta
		m.AdditionalFields = mcpmeta.Strip(m.AdditionalFields)
		req.Params.Meta = &m
		if m.ProgressToken == nil && m.AdditionalFields == nil {
			req.Params.Meta = nil
		}
	}
	return req, nil
}

// arguments returns the call's arguments as JSON: the bytes received when
// mcp-go kept them (exact integers), else the decoded value re-encoded.
func arguments(req mcp.CallToolRequest) (json.RawMessage, error) {
	if len(req.Params.RawArguments) > 0 {
		return req.Params.RawArguments, nil
	}
	if req.Params.Arguments == nil {
		return nil, nil
	}
	return json.Marshal(req.Params.Arguments)
}

func (g *Guard) filterList(ctx context.Context, _ any, req *mcp.ListToolsRequest, res *mcp.ListToolsResult) {
	if res == nil {
		return
	}
	keep := func(string) bool { return false }
	if g.Point != nil && req != nil {
		var meta map[string]any
		if req.Params.Meta != nil {
			meta = req.Params.Meta.AdditionalFields
		}
		env, err := mcpmeta.Envelope(meta, false)
		if err == nil {
			keep = g.Point.Visible(ctx, &enforce.ListCall{Front: g.front(), Session: sessionID(ctx), Envelope: env, Held: guard.Held(ctx)})
		} else {
			g.Point.Refused(&enforce.Refusal{Front: g.front(), Session: sessionID(ctx), Event: "tools/list", Reason: err.Error()})
		}
	}
	tools := res.Tools[:0:0]
	for _, t := range res.Tools {
		if keep(t.Name) {
			tools = append(tools, t)
		}
	}
	res.Tools = tools
}

func sessionID(ctx context.Context) string {
	if s := server.ClientSessionFromContext(ctx); s != nil {
		return s.SessionID()
	}
	return ""
}
