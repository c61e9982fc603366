package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// taskServer is a stdio MCP server of 2026-07-28 whose "job" tool answers
// with a task; tasks/get returns the job's arguments as its result, and
// tasks/list every task it has.
const taskServer = `
const rl = require('readline').createInterface({input: process.stdin});
const tasks = {};
let n = 0;
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
rl.on('line', (line) => {
  let m; try { m = JSON.parse(line); } catch { return; }
  if (m.id === undefined || !m.method) return;
  const p = m.params || {};
  switch (m.method) {
  case 'tools/list':
    send({jsonrpc: '2.0', id: m.id, result: {resultType: 'complete', tools: [{name: 'job', inputSchema: {type: 'object'}}]}});
    break;
  case 'tools/call': {
    const id = 'task-' + (++n);
    tasks[id] = p.arguments;
    send({jsonrpc: '2.0', id: m.id, result: {resultType: 'task', taskId: id, status: 'working', createdAt: '2026-08-01T10:00:00Z', lastUpdatedAt: '2026-08-01T10:00:00Z', ttlMs: 60000}});
    break;
  }
  case 'tasks/get':
    send({jsonrpc: '2.0', id: m.id, result: {resultType: 'complete', taskId: p.taskId, status: 'completed', result: {content: [{type: 'text', text: JSON.stringify(tasks[p.taskId])}]}}});
    break;
  case 'tasks/list':
    send({jsonrpc: '2.0', id: m.id, result: {resultType: 'complete', tasks: Object.keys(tasks).map((t) => ({taskId: t, status: 'completed'}))}});
    break;
  default:
    send({jsonrpc: '2.0', id: m.id, result: {resultType: 'complete'}});
  }
});
`

// TestServeTaskOfAnotherHolder: on 2026-07-28, where requests have no
// session, two agents behind the same caller (here loopback without
// tokens) each presenting their own warrant in _meta.tenuo get separate
// upstreams: B, with its own warrant or none, neither lists nor reads the
// task A's call created, and A reads it presenting its warrant, in the
// envelope or written with other JSON escapes. (tasks/* carry no PoP: one
// who knows A's warrant would find the task too; see callerKey.)
func TestServeTaskOfAnotherHolder(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	script := filepath.Join(tmp, "tasks.js")
	os.WriteFile(script, []byte(taskServer), 0o644)
	root, kA, kB := newKey(t), newKey(t), newKey(t)
	mint := func(holder *authz.SigningKey) authz.Stack {
		w, err := authz.Mint(root, authz.Grant{Holder: holder.Public(), TTL: 10 * time.Minute,
			Tools: map[string]authz.ConstraintSet{"job": {AllowUnknown: true}}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return authz.Stack{w}
	}
	a, b := e2eSigner{mint(kA), kA}, e2eSigner{mint(kB), kB}
	srv := startServe(t, []string{"PATH=" + os.Getenv("PATH")}, []string{"--trusted-root", root.Public().Hex(), "--log-level", "error"}, "node", script)

	post := func(id, method, params, name string) reply {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":`+id+`,"method":"`+method+`","params":`+params+`}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", method)
		if name != "" {
			req.Header.Set("Mcp-Name", name)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return answer(resp, body)
	}
	withMeta := func(members string, env map[string]any) string {
		meta := meta26
		if env != nil {
			e, _ := json.Marshal(env)
			meta += `,"tenuo":` + string(e)
		}
		if members != "" {
			members += ","
		}
		return `{` + members + `"_meta":{` + meta + `}}`
	}

	// A's call, allowed by A's warrant, creates a task holding A's data.
	args := `{"secret":"alice-only"}`
	created := post("1", "tools/call", withMeta(`"name":"job","arguments":`+args, a.envelope(t, "job", args)), "job")
	if !strings.Contains(created.Raw, `"taskId":"task-1"`) {
		t.Fatalf("A's call: %s", created.Raw)
	}
	// B, another holder, with its own warrant attached, and with none.
	// A polls its own task, presenting the warrant of the call that made it.
	if own := post("4", "tasks/get", withMeta(`"taskId":"task-1"`, map[string]any{"warrant": a.stack.Base64()}), ""); !strings.Contains(own.Raw, "alice-only") {
		t.Errorf("holder A cannot read its own task: %s", own.Raw)
	}
	wa := a.stack.Base64()
	escaped := `{` + meta26 + `,"tenuo":{"warrant":"` + fmt.Sprintf(`\u%04x`, wa[0]) + wa[1:] + `"}}`
	if own := post("5", "tasks/get", `{"taskId":"task-1","_meta":`+escaped+`}`, ""); !strings.Contains(own.Raw, "alice-only") {
		t.Errorf("holder A, its warrant written with escapes, cannot read its own task: %s", own.Raw)
	}
	for _, env := range []map[string]any{{"warrant": b.stack.Base64()}, nil} {
		list := post("2", "tasks/list", withMeta("", env), "")
		got := post("3", "tasks/get", withMeta(`"taskId":"task-1"`, env), "")
		if strings.Contains(list.Raw, "task-1") {
			t.Errorf("holder B (envelope %v) lists holder A's task: %s", env != nil, list.Raw)
		}
		if strings.Contains(got.Raw, "alice-only") {
			t.Errorf("holder B (envelope %v) reads holder A's task result: %s", env != nil, got.Raw)
		}
	}
}
