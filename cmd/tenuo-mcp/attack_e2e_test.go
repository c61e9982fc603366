package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// TestAttackE2EListAnswerNeverMisrouted puts the proxy binary in front of the
// lenient Node server (testdata/npm/jsonrpc-server.mjs, whose tools/list
// shows echo and write_file) with a warrant for echo only, and tries to get
// the server's unfiltered listing back as the answer to another request:
// a tools/list sent as id 1.0 beside a ping sent as id 1 (JavaScript answers
// both as id 1), and a tools/list cancelled and its id reused at once for a
// ping (the server ignores the cancellation and answers the listing). No
// answer the client gets may name write_file.
func TestAttackE2EListAnswerNeverMisrouted(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	tmp := t.TempDir()
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
		"--key", keyFile, "--log-level", "error",
		"--", "node", filepath.Join(dir, "jsonrpc-server.mjs"), filepath.Join(tmp, "executed.jsonl"))
	p.initialize()

	if names := p.request("tools/list", nil).toolNames(); strings.Join(names, ",") != "echo" {
		t.Fatalf("the listing shows %v; want echo alone", names)
	}
	p.sendLine(`{"jsonrpc":"2.0","id":1.0,"method":"tools/list"}` + "\n" + `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	p.sendLine(`{"jsonrpc":"2.0","id":"c","method":"tools/list"}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}` + "\n" +
		`{"jsonrpc":"2.0","id":"c","method":"ping"}`)
	// The server answers in order: once this is answered, so is all above.
	if r := p.request("ping", nil); r.Error != nil {
		t.Fatalf("ping: %s", r.Raw)
	}
	time.Sleep(200 * time.Millisecond)
	for _, id := range []string{"1", "1.0", `"c"`} {
		for c := p.ch(id); len(c) > 0; {
			if r := <-c; strings.Contains(r.Raw, "write_file") {
				t.Fatalf("the client got the unfiltered listing as the answer to id %s: %s", id, r.Raw)
			}
		}
	}
}
