package mcpproxy

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

const taskHandle = `{"resultType":"task","taskId":"T1","status":"working","createdAt":"2026-08-01T10:00:00Z","lastUpdatedAt":"2026-08-01T10:00:00Z","ttlMs":60000,"pollIntervalMs":500}`

// TestTaskBinding: a task id reaches the server in tasks/* (and in a
// subscription) only when a call this session relayed created it, and,
// except to cancel it, only while the warrant that allowed that call still
// verifies. Every refusal is answered once, audited, and never relayed.
func TestTaskBinding(t *testing.T) {
	f := newEraFixture(t, false, true)
	p := f.proxy(false)
	h := newHarness(t, p, 0)
	n := 0
	// relayed sends a request that must reach the server as is, answers it
	// and checks the answer comes back as is.
	relayed := func(method, params, result string) {
		t.Helper()
		n++
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, n, method, params)
		h.client.send(msg)
		if got := h.upstream.recv(); got != msg {
			t.Fatalf("%s reached the server as %s", msg, got)
		}
		answer := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, n, result)
		h.upstream.send(answer)
		if got := h.client.recv(); got != answer {
			t.Fatalf("answer relayed as %s", got)
		}
	}
	var refusals int
	refused := func(method, params string, code int, why string) {
		t.Helper()
		n++
		refusals++
		h.client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, n, method, params))
		got := h.client.recv()
		if field(t, got, "error.code") != strconv.Itoa(code) || field(t, got, "id") != strconv.Itoa(n) || !strings.Contains(got, why) {
			t.Fatalf("%s %s answered %s, want %d (%s)", method, params, got, code, why)
		}
		h.upstream.quiet(10 * time.Millisecond)
	}
	task := func(id string) string { return `{"taskId":"` + id + `",` + meta2026 + `}` }

	refused("tasks/get", task("T1"), -32602, "unknown task")
	// A call the relay lets through creates T1.
	n++
	h.client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{},%s}}`, n, meta2026))
	h.upstream.recv()
	h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, n, taskHandle))
	h.client.recv()
	// A denied call never reaches the server, so it creates nothing; a task
	// handle from the server for an id it never got is dropped.
	h.upstream.send(`{"jsonrpc":"2.0","id":999,"result":{"resultType":"task","taskId":"T9"}}`)

	relayed("tasks/get", task("T1"), `{"resultType":"complete","taskId":"T1","status":"input_required","inputRequests":{}}`)
	relayed("tasks/update", `{"taskId":"T1","inputResponses":{"q":{"action":"accept"}},`+meta2026+`}`, `{"resultType":"complete"}`)
	relayed("subscriptions/listen", `{"notifications":{"taskIds":["T1"],"toolsListChanged":true},`+meta2026+`}`, `{"resultType":"complete"}`)
	relayed("subscriptions/listen", `{"notifications":{"toolsListChanged":true},`+meta2026+`}`, `{"resultType":"complete"}`)

	// An envelope a client attaches to every request never reaches the
	// server: tasks/* and subscriptions/listen are decided by task
	// binding, and the warrant and its PoP stay with the relay.
	for _, method := range []string{"tasks/get", "subscriptions/listen", "tasks/list"} {
		n++
		params := `{"taskId":"T1","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","tenuo":{"warrant":"AAAA","signature":"BBBB"},"x":1}}`
		if method == "subscriptions/listen" {
			params = `{"notifications":{"taskIds":["T1"]},"_meta":{"tenuo":{"warrant":"AAAA","signature":"BBBB"}}}`
		}
		h.client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, n, method, params))
		got := h.upstream.recv()
		if strings.Contains(got, "tenuo") || strings.Contains(got, "AAAA") || !strings.Contains(got, `"T1"`) {
			t.Fatalf("%s reached the server as %s", method, got)
		}
		if method != "subscriptions/listen" && !strings.Contains(got, `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","x":1}`) {
			t.Fatalf("%s lost more than the envelope: %s", method, got)
		}
		h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{"resultType":"complete","tasks":[]}}`, n))
		h.client.recv()
	}
	refused("tasks/get", `{"taskId":"T1","_meta":{"tenuo":"AAAA"}}`, -32602, "tenuo")
	refused("tasks/list", `[]`, -32602, "tasks/list params must be an object")
	refused("tasks/get", task("T9"), -32602, "unknown task")
	refused("tasks/cancel", task("T2"), -32602, "unknown task")
	refused("tasks/result", task("t1"), -32602, "unknown task")
	refused("subscriptions/listen", `{"notifications":{"taskIds":["T1","T9"]},`+meta2026+`}`, -32602, "unknown task")
	refused("subscriptions/listen", `{"notifications":{"taskIds":"T1"}}`, -32602, "must be an array of strings")
	refused("subscriptions/listen", `{"notifications":{"TaskIds":["T9"]}}`, -32602, "member names are exact")
	refused("subscriptions/listen", `{"notifications":{"taskIds":["T1"]},"notifications":{"taskIds":["T9"]}}`, -32602, "duplicate key")
	refused("tasks/get", `{"taskId":"T1","taskId":"T9"}`, -32602, "duplicate key")
	refused("tasks/get", `{"TaskId":"T9","taskId":"T1"}`, -32602, "differ only in letter case")
	refused("tasks/get", `{"taskid":"T9"}`, -32602, "member names are exact")
	refused("tasks/get", `{"taskId":1}`, -32602, "must be a non-empty string")
	refused("tasks/get", `{}`, -32602, "params.taskId is missing")
	refused("tasks/get", `[]`, -32602, "params.taskId is missing")
	refused("Tasks/Get", task("T1"), -32601, "method names are exact")
	refused("tasks/cancel\u200b", task("T9"), -32601, "method names are exact")
	// An id-less tasks/cancel is never relayed (it could stop another's task).
	refusals++
	h.client.send(`{"jsonrpc":"2.0","method":"tasks/cancel","params":{"taskId":"T1"}}`)
	h.upstream.quiet(20 * time.Millisecond)

	// Another session through the same proxy (another caller) cannot name T1.
	other := newHarness(t, p, 0)
	other.client.send(`{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":` + task("T1") + `}`)
	if got := other.client.recv(); field(t, got, "error.code") != "-32602" {
		t.Fatalf("another session's tasks/get answered %s", got)
	}
	other.upstream.quiet(10 * time.Millisecond)
	refusals++

	// Past the warrant's expiry the task's result is no longer given; it
	// can still be cancelled.
	f.clock.Add(2 * 3600)
	refused("tasks/get", task("T1"), -32001, "no longer verifies")
	refused("tasks/update", `{"taskId":"T1","inputResponses":{}}`, -32001, "no longer verifies")
	refused("subscriptions/listen", `{"notifications":{"taskIds":["T1"]}}`, -32001, "no longer verifies")
	relayed("tasks/cancel", task("T1"), `{"resultType":"complete"}`)
	h.client.quiet(20 * time.Millisecond)

	// Each refusal is audited once.
	var audited int
	for _, r := range f.audit.records(t) {
		if r["event"] != "tools/call" {
			audited++
			if r["decision"] != "deny" {
				t.Fatalf("audit record %v", r)
			}
		}
	}
	if audited != refusals {
		t.Fatalf("%d refusals audited for %d refused", audited, refusals)
	}
}

// TestTaskBinding20251125: 2025-11-25's task-augmented call ({"task":{…}}
// in its result) binds its task id the same way, for tasks/result too.
func TestTaskBinding20251125(t *testing.T) {
	f := newEraFixture(t, false, true)
	h := newHarness(t, f.proxy(false), 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},"task":{"ttl":60000}}}`)
	h.upstream.recv()
	h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"old-1","status":"working","createdAt":"x","ttl":60000}}}`)
	h.client.recv()
	for i, m := range []string{"tasks/get", "tasks/result", "tasks/cancel"} {
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":{"taskId":"old-1"}}`, i+2, m)
		h.client.send(msg)
		if got := h.upstream.recv(); got != msg {
			t.Fatalf("%s relayed as %s", msg, got)
		}
		h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":{}}`, i+2))
		h.client.recv()
	}
}

func TestRememberTaskBounded(t *testing.T) {
	s := &session{log: orDiscard(nil)}
	for i := 0; i <= maxTasks; i++ {
		s.rememberTask(strconv.Itoa(i), nil)
	}
	if _, ok := s.task("0"); ok {
		t.Fatal("the oldest task id outlived the bound")
	}
	if _, ok := s.task(strconv.Itoa(maxTasks)); !ok || len(s.tasks) != maxTasks {
		t.Fatalf("%d task ids kept", len(s.tasks))
	}
}

// FuzzTaskParams: what the relay reads as a tasks/* request's task id is
// what encoding/json (and the servers built on it) reads, whenever the
// relay accepts the params.
func FuzzTaskParams(f *testing.F) {
	for _, s := range []string{`{"taskId":"T1"}`, `{"taskId":"T1","taskId":"T2"}`, `{"TaskId":"a","taskId":"b"}`,
		`{"taskId":"\u0041"}`, `{"taskId":"a\ud800"}`, `{"task_id":"x","taskId":"y"}`, `{"taskId":"T","_meta":{"a":{"a":1,"a":2}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		id, err := taskParams(params)
		if ids, lerr := listenTaskIDs(params); lerr == nil {
			_ = ids
		}
		if err != nil {
			return
		}
		var v struct {
			TaskID string `json:"taskId"`
		}
		if json.Unmarshal(params, &v) != nil || v.TaskID != id {
			t.Fatalf("relay read %q, encoding/json %q (err %v) from %s", id, v.TaskID, json.Unmarshal(params, &v), params)
		}
	})
}

// TestTaskListFiltered: a tasks/list answer shows a session only the tasks
// its relayed calls created, while their warrant verifies; another
// caller's tasks (a server shared between sessions lists them all), look-
// alike or duplicated taskId members, non-string ids and malformed entries
// are dropped, every other byte kept. A look-alike of the method is refused.
func TestTaskListFiltered(t *testing.T) {
	f := newEraFixture(t, false, true)
	p := f.proxy(false)
	h := newHarness(t, p, 0)
	h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},` + meta2026 + `}}`)
	h.upstream.recv()
	h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":` + taskHandle + `}`)
	h.client.recv()

	t1 := `{"taskId":"T1","status":"working"}`
	n := 1
	list := func(h *harness, result string) string {
		t.Helper()
		n++
		msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tasks/list","params":{%s}}`, n, meta2026)
		h.client.send(msg)
		if got := h.upstream.recv(); got != msg {
			t.Fatalf("tasks/list reached the server as %s", got)
		}
		h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, n, result))
		return h.client.recv()
	}
	for _, tc := range []struct {
		name, result, want string // want: the result the client gets
	}{
		{"own task kept byte for byte", `{"resultType":"complete", "tasks":[ ` + t1 + ` ],"nextCursor":"c"}`, ""},
		{"another caller's task dropped", `{"tasks":[` + t1 + `,{"taskId":"T9","status":"completed"}]}`, `{"tasks":[` + t1 + `]}`},
		{"duplicate taskId", `{"tasks":[{"taskId":"T1","taskId":"T9"}]}`, `{"tasks":[]}`},
		{"case variant of taskId", `{"tasks":[{"taskId":"T1","TaskId":"T9"}]}`, `{"tasks":[]}`},
		{"look-alike taskId only", `{"tasks":[{"task_id":"T1"}]}`, `{"tasks":[]}`},
		{"numeric taskId", `{"tasks":[{"taskId":1}]}`, `{"tasks":[]}`},
		{"nested duplicate", `{"tasks":[{"taskId":"T1","x":{"a":1,"a":2}}]}`, `{"tasks":[]}`},
		{"escaped own id kept", `{"tasks":[{"taskId":"\u00541"},"T1",null]}`, `{"tasks":[{"taskId":"\u00541"}]}`},
		{"case variant of the id", `{"tasks":[{"taskId":"t1"}]}`, `{"tasks":[]}`},
	} {
		got := list(h, tc.result)
		want := tc.want
		if want == "" {
			want = tc.result
		}
		if wantMsg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":%s}`, n, want); got != wantMsg {
			t.Fatalf("%s: client got %s, want %s", tc.name, got, wantMsg)
		}
	}
	for _, bad := range []string{`{"tasks":{}}`, `{}`, `{"tasks":[],"tasks":[` + t1 + `]}`, `[]`} {
		if got := list(h, bad); field(t, got, "error.code") != "-32603" {
			t.Fatalf("malformed tasks/list result %s relayed as %s", bad, got)
		}
	}
	h.client.send(`{"jsonrpc":"2.0","id":"l","method":"Tasks/List","params":{}}`)
	if got := h.client.recv(); field(t, got, "error.code") != "-32601" {
		t.Fatalf("Tasks/List answered %s", got)
	}
	h.client.send(`{"jsonrpc":"2.0","method":"tasks/list","params":{}}`)
	h.upstream.quiet(10 * time.Millisecond)

	// Another session sees none of this session's tasks.
	other := newHarness(t, p, 0)
	if got := list(other, `{"tasks":[`+t1+`]}`); !strings.Contains(got, `"result":{"tasks":[]}`) {
		t.Fatalf("another session's tasks/list answered %s", got)
	}
	// Past the warrant's life the task is no longer shown.
	f.clock.Add(2 * 3600)
	if got := list(h, `{"tasks":[`+t1+`]}`); !strings.Contains(got, `"result":{"tasks":[]}`) {
		t.Fatalf("tasks/list past the warrant answered %s", got)
	}
}

// TestTaskHandleOnlyFromCalls: a task handle binds a task only as the
// answer to a tools/call the relay let through. The same handle answering
// a ping, a resources/read, a tools/list or a tasks/get, answering no
// pending request, or sent by the client as its answer to a server request,
// binds nothing: a tasks/get of the id is still refused.
func TestTaskHandleOnlyFromCalls(t *testing.T) {
	handle := `{"resultType":"task","taskId":"T9","status":"working"}`
	old := `{"task":{"taskId":"T9","status":"working"}}`
	tests := []struct {
		name   string
		method string // the client request the server answers; "" for none
		params string
		result string
	}{
		{"ping", "ping", `{` + meta2026 + `}`, handle},
		{"resources/read", "resources/read", `{"uri":"file:///a",` + meta2026 + `}`, handle},
		{"resources/read, 2025-11-25 form", "resources/read", `{"uri":"file:///a"}`, old},
		{"prompts/get", "prompts/get", `{"name":"p",` + meta2026 + `}`, handle},
		{"tools/list", "tools/list", `{` + meta2026 + `}`, `{"resultType":"task","taskId":"T9","tools":[]}`},
		{"no pending request", "", "", handle},
		{"a server request's id, answered by the client", "server", "", handle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEraFixture(t, false, true)
			h := newHarness(t, f.proxy(false), 0)
			switch tc.method {
			case "":
				h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":` + tc.result + `}`)
				h.client.quiet(20 * time.Millisecond)
			case "server":
				req := `{"jsonrpc":"2.0","id":1,"method":"elicitation/create","params":{"message":"?","requestedSchema":{"type":"object"}}}`
				h.upstream.send(req)
				if got := h.client.recv(); got != req {
					t.Fatalf("server request relayed as %s", got)
				}
				answer := `{"jsonrpc":"2.0","id":1,"result":` + tc.result + `}`
				h.client.send(answer)
				if got := h.upstream.recv(); got != answer {
					t.Fatalf("client answer relayed as %s", got)
				}
			default:
				h.client.send(`{"jsonrpc":"2.0","id":1,"method":"` + tc.method + `","params":` + tc.params + `}`)
				h.upstream.recv()
				h.upstream.send(`{"jsonrpc":"2.0","id":1,"result":` + tc.result + `}`)
				h.client.recv()
			}
			h.client.send(`{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"T9",` + meta2026 + `}}`)
			if got := h.client.recv(); field(t, got, "error.code") != "-32602" || !strings.Contains(got, "unknown task") {
				t.Fatalf("tasks/get T9 answered %s", got)
			}
			h.upstream.quiet(10 * time.Millisecond)
		})
	}
}
