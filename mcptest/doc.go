// Package mcptest runs a real MCP server behind tenuo-mcp's real relay and
// enforcement point inside a Go test, and gives the test a client.
//
// # A session
//
// [Serve] spawns the server's command, relays it through an
// [mcpproxy.Proxy] whose hooks are an [enforce.Point], completes the
// initialize handshake and registers t.Cleanup to shut everything down:
// the client's side closes, the relay answers what is in flight and stops
// the server. Nothing waits on a timer: every helper waits for an answer.
//
//	root, agent := mcptest.NewKey(t), mcptest.NewKey(t)
//	w := mcptest.Mint(t, root, agent, map[string]authz.ConstraintSet{"echo": {AllowUnknown: true}})
//	s := mcptest.Serve(t, mcptest.Config{Command: []string{"./my-server"}, Point: mcptest.NewPoint(t, root.Public())})
//	mcptest.WantAllowed(t, s.Call(t, w, "echo", map[string]any{"text": "hi"}))
//	mcptest.WantDenied(t, s.Call(t, w, "delete", nil), "tool-not-authorized")
//
// A [Warrant] is presented in each call's _meta.tenuo with a proof of
// possession signed over the arguments (or the fields a tool map extracts);
// to test a warrant the proxy holds instead, set it with Point.SetHeld and
// call with a nil warrant.
//
// [Start] and the [Session] methods that take a context are the same without
// testing.TB, for programs (the `tenuo-mcp test` runner is one).
package mcptest
