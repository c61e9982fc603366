package mcpproxy

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// TestGoSDKInputRequiredThroughRelay runs a real 2026-07-28 input_required
// round trip through the relay with replay protection on: the official Go
// SDK's client calls a Go SDK server (a subprocess) that asks for input; the
// client's automatic retry carries the first attempt's PoP and the
// server's requestState, and passes the replay check once. The same PoP
// presented again afterwards is refused as a replay.
func TestGoSDKInputRequiredThroughRelay(t *testing.T) {
	f := newEraFixture(t, true, false)
	p := f.proxy(false)
	up := spawn(t, binary(t, "mrtrserver"))

	crR, crW := io.Pipe() // client → relay
	rcR, rcW := io.Pipe() // relay → client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Relay(ctx, transport.NewStdioConn(crR, rcW, 0), up) }()
	defer func() {
		crW.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Relay did not return")
		}
	}()

	var asked int
	client := mcp.NewClient(&mcp.Implementation{Name: "mrtr-test", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			asked++
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"name": "Ada"}}, nil
		},
	})
	cs, err := client.Connect(ctx, &mcp.IOTransport{Reader: rcR, Writer: crW}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if v := cs.InitializeResult().ProtocolVersion; v != statelessVersion {
		t.Fatalf("negotiated %s, want %s", v, statelessVersion)
	}

	args := map[string]any{"greeting": "hi"}
	sig, err := authz.SignPoP(f.agent, f.stack.Leaf().ID, "greet", args, time.Unix(f.clock.Load(), 0))
	if err != nil {
		t.Fatal(err)
	}
	call := &mcp.CallToolParams{Name: "greet", Arguments: args, Meta: mcp.Meta{"tenuo": map[string]any{
		"warrant": f.stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}}}
	res, err := cs.CallTool(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	if txt := res.Content[0].(*mcp.TextContent).Text; txt != "hello Ada (state-1)" || asked != 1 {
		t.Fatalf("result %q after %d elicitations", txt, asked)
	}
	// The same PoP once more: a replay, whatever the SDK does with it.
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "greet", Arguments: args, Meta: call.Meta})
	var rpc *jsonrpc.Error
	if !errors.As(err, &rpc) || rpc.Code != CodeAccessDenied || !strings.Contains(rpc.Message, "replayed") {
		t.Fatalf("a third use of the PoP: %v", err)
	}
	var decisions []string
	for _, r := range f.audit.records(t) {
		if r["event"] == "tools/call" {
			decisions = append(decisions, r["decision"].(string))
		}
	}
	if strings.Join(decisions, ",") != "allow,allow,deny" {
		t.Fatalf("audited decisions %v", decisions)
	}
}
