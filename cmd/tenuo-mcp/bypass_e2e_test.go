package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// TestProxyE2ELenientServer puts the proxy binary in front of a server that
// runs whatever it can read as a tool call (testdata/npm/jsonrpc-server.mjs,
// on npm's json-rpc-2.0: it executes notifications and every member of a
// batch, and dispatches on a trimmed, NFKC, lower-cased method). Every shape
// of a tools/call that the warrant did not approve is sent; the server's own
// log of what it executed must hold only the approved call, and each refusal
// must be audited.
func TestProxyE2ELenientServer(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	tmp := t.TempDir()
	execLog, auditLog := filepath.Join(tmp, "executed.jsonl"), filepath.Join(tmp, "audit.jsonl")
	root, agent := newKey(t), newKey(t)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"echo": {}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	warrantFile, keyFile := filepath.Join(tmp, "agent.warrant"), filepath.Join(tmp, "agent.key")
	os.WriteFile(warrantFile, []byte(authz.Stack{w}.Base64()+"\n"), 0o644)
	os.WriteFile(keyFile, []byte(agent.SeedHex()+"\n"), 0o600)

	p := startPeer(t, nil, binPath, "proxy", "--trusted-root", root.Public().Hex(), "--warrant", warrantFile,
		"--key", keyFile, "--audit-log", auditLog, "--log-level", "error",
		"--", "node", filepath.Join(dir, "jsonrpc-server.mjs"), execLog)
	// 2025-03-26, the one version with batches.
	p.send("init", "initialize", map[string]any{"protocolVersion": "2025-03-26", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "e2e", "version": "1"}})
	if r := p.await(`"init"`); r.Error != nil {
		t.Fatalf("initialize: %s", r.Raw)
	}

	write := `"params":{"name":"write_file","arguments":{"path":"/etc/cron.d/x","content":"x"}}`
	echo := `"params":{"name":"echo","arguments":{"text":"hi"}}`
	attacks := []struct {
		line, answerID string // answerID: the id of the refusal answer, "" when dropped
		relayed        bool   // a harmless message relayed (and answered by the server)
	}{
		{`{"jsonrpc":"2.0","method":"tools/call",` + write + `}`, "", false},
		{`{"jsonrpc":"2.0","method":"tools/call",` + echo + `}`, "", false},
		{`{"jsonrpc":"2.0","method":"tools\/call",` + write + `}`, "", false},
		{`[{"jsonrpc":"2.0","method":"tools/call",` + write + `},{"jsonrpc":"2.0","id":"b1","method":"tools/call",` + write + `}]`, `"b1"`, false},
		{`{"jsonrpc":"2.0","id":"l1","method":"Tools/Call ",` + write + `}`, `"l1"`, false},
		{`{"jsonrpc":"2.0","id":"l2","method":"ｔｏｏｌｓ/call",` + write + `}`, `"l2"`, false},
		{`{"jsonrpc":"2.0","id":"l3","method":"tools/call\u200b",` + write + `}`, `"l3"`, false},
		{`{"jsonrpc":"2.0","id":"l4","method":"tools/call\u0000",` + write + `}`, `"l4"`, false},
		{`{"jsonrpc":"2.0","method":"TOOLS/CALL",` + write + `}`, "", false},
		{`{"jsonrpc":"2.0","id":null,"method":"tools/call",` + write + `}`, "null", false},
		// One ping to the relay; three lines to a reader that splits at CR,
		// the second a tools/call.
		{"{\"jsonrpc\":\"2.0\",\"id\":\"cr\",\"method\":\"ping\",\"params\":\r" +
			`{"jsonrpc":"2.0","id":"smuggled","method":"tools/call",` + write + `}` + "\r}", `"cr"`, true},
	}
	for _, a := range attacks {
		p.sendLine(a.line)
		if a.answerID != "" {
			if r := p.await(a.answerID); (r.Error == nil) != a.relayed {
				t.Fatalf("%q was answered %s", a.line, r.Raw)
			}
		}
	}
	// The approved call, last: once it is answered, everything before it was
	// handled.
	p.sendLine(`{"jsonrpc":"2.0","id":"ok","method":"tools/call",` + echo + `}`)
	if r := p.await(`"ok"`); r.Error != nil || !strings.Contains(r.Raw, "ran echo") {
		t.Fatalf("the approved call: %s", r.Raw)
	}
	p.stdin.Close()
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("proxy exit %d", code)
	}

	executed := readJSONLines[map[string]any](t, execLog)
	if len(executed) != 1 || executed[0]["name"] != "echo" {
		t.Fatalf("the server executed %v; only the approved echo call may reach it", executed)
	}
	denials := 0
	for _, l := range readJSONLines[map[string]any](t, auditLog) {
		if l["decision"] == "deny" {
			denials++
		}
		if b, _ := json.Marshal(l); strings.Contains(string(b), "/etc/cron.d") {
			t.Fatalf("an audit line holds an argument value: %s", b)
		}
	}
	if denials < len(attacks)-1 {
		t.Fatalf("%d refusals audited for %d attacks", denials, len(attacks))
	}
}
