package mcpproxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce/enforcetest"
)

// TestSharedFrontTable runs the front ends' shared table (enforce/enforcetest)
// through the relay: a call the decision point allows reaches the upstream
// without its envelope, and a denied one is answered with the decision's
// JSON-RPC error and never reaches it — as the HTTP middleware, the guarded
// functions and the MCP server middleware (package guard) decide the same
// rows.
func TestSharedFrontTable(t *testing.T) {
	f := enforcetest.New(t)
	p := &Proxy{}
	(&Hooks{Point: f.Point}).Install(p)
	h := newHarness(t, p, 0)
	for i, tc := range enforcetest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			ref := tc.Reference(t, f)
			params := map[string]any{"name": tc.Tool, "arguments": json.RawMessage(tc.Args)}
			if env := tc.Envelope(t, f); env != nil {
				params["_meta"] = map[string]any{"tenuo": map[string]any{"warrant": env.Warrant, "signature": env.Signature}}
			}
			msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": i + 1, "method": "tools/call", "params": params})
			if err != nil {
				t.Fatal(err)
			}
			h.client.send(string(msg))
			if ref.Forward() {
				got := h.upstream.recv()
				if field(t, got, "method") != `"tools/call"` || strings.Contains(got, `"tenuo"`) {
					t.Fatalf("upstream received %s", got)
				}
				h.upstream.send(`{"jsonrpc":"2.0","id":` + field(t, got, "id") + `,"result":{"content":[]}}`)
				if res := h.client.recv(); field(t, res, "result") == "" {
					t.Fatalf("client received %s", res)
				}
				return
			}
			res := h.client.recv()
			code, message, data, _ := ref.RPCError()
			var got struct {
				Error struct {
					Code    int             `json:"code"`
					Message string          `json:"message"`
					Data    json.RawMessage `json:"data"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(res), &got); err != nil {
				t.Fatal(err)
			}
			if got.Error.Code != code || got.Error.Message != message || !sameJSON(got.Error.Data, data) {
				t.Fatalf("relay answered %s, the decision renders as %d %q %s", res, code, message, data)
			}
			// Nothing reached the upstream: the next thing it sees is a ping
			// sent after the denial.
			h.client.send(`{"jsonrpc":"2.0","id":"p","method":"ping"}`)
			if up := h.upstream.recv(); field(t, up, "method") != `"ping"` {
				t.Fatalf("upstream received %s before the ping", up)
			}
			h.upstream.send(`{"jsonrpc":"2.0","id":"p","result":{}}`)
			h.client.recv()
		})
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	p, _ := json.Marshal(x)
	q, _ := json.Marshal(y)
	return string(p) == string(q)
}
