package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// reading is what one kind of server could make of a message it received.
type reading struct {
	how    string
	method string // folded the most lenient way (foldMethod)
	name   string // params.name when it is a string
	hasID  bool
}

// lenientReadings returns every reading a server could plausibly make of msg:
// a JavaScript-style parse (exact keys, the last duplicate wins) and Go's
// encoding/json into a struct (keys matched case-insensitively, the last
// wins), of the message or of each element of a batch. Methods are folded as
// a dispatcher that trims, lower-cases and normalises would.
func lenientReadings(msg []byte) []reading {
	// A server's line reader may split at CR (Python's universal newlines,
	// Node's readline) or at U+0085, U+2028, U+2029 (str.splitlines): each
	// piece is read too.
	if pieces := splitLines(msg); len(pieces) > 1 {
		var out []reading
		for _, p := range pieces {
			out = append(out, lenientReadings(p)...)
		}
		return append(out, lenientReadings(bytes.ReplaceAll(msg, []byte("\r"), []byte(" ")))...)
	}
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '[' {
		var elems []json.RawMessage
		if json.Unmarshal(msg, &elems) != nil {
			return nil
		}
		var out []reading
		for _, el := range elems {
			out = append(out, lenientReadings(el)...)
		}
		return out
	}
	var out []reading
	var js map[string]any
	if json.Unmarshal(msg, &js) == nil {
		r := reading{how: "exact keys"}
		r.method, _ = js["method"].(string)
		_, r.hasID = js["id"]
		if p, ok := js["params"].(map[string]any); ok {
			r.name, _ = p["name"].(string)
		}
		r.method = foldMethod(r.method)
		out = append(out, r)
	}
	var gs struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &gs) == nil {
		out = append(out, reading{how: "encoding/json struct", method: foldMethod(gs.Method), name: gs.Params.Name, hasID: gs.ID != nil})
	}
	// Go's encoding/json/v2 with MatchCaseInsensitiveNames matches a key to
	// a field ignoring letter case, '_' and '-' ("meth_od" is "method");
	// the last of several wins.
	if top, ok := orderedMembers(msg); ok {
		r := reading{how: "encoding/json/v2 case-insensitive"}
		var params json.RawMessage
		for _, m := range top {
			switch v2Fold(m.key) {
			case "ID":
				r.hasID = true
			case "METHOD":
				r.method = ""
				json.Unmarshal(m.val, &r.method)
			case "PARAMS":
				params = m.val
			}
		}
		if ps, ok := orderedMembers(params); ok {
			for _, m := range ps {
				if v2Fold(m.key) == "NAME" {
					r.name = ""
					json.Unmarshal(m.val, &r.name)
				}
			}
		}
		r.method = foldMethod(r.method)
		out = append(out, r)
	}
	return out
}

type orderedMember struct {
	key string
	val json.RawMessage
}

// orderedMembers returns the members of the JSON object msg in order,
// duplicates kept.
func orderedMembers(msg []byte) ([]orderedMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []orderedMember
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return nil, false
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return nil, false
		}
		out = append(out, orderedMember{k, v})
	}
	return out, true
}

// v2Fold is a key as encoding/json/v2 compares it case-insensitively.
func v2Fold(k string) string {
	return foldKey(strings.NewReplacer("_", "", "-", "").Replace(k))
}

func splitLines(msg []byte) [][]byte {
	for _, sep := range []string{"\u0085", "\u2028", "\u2029"} {
		msg = bytes.ReplaceAll(msg, []byte(sep), []byte("\r"))
	}
	return bytes.Split(msg, []byte("\r"))
}

// relayLines runs a Proxy with p's hooks over the client input in, against
// an upstream that answers every request at once (initialize with the
// protocol version asked for), until the client's EOF has
// drained. When in starts with an initialize request (initLine), the rest is
// sent once it is answered, as a client would. It returns every message the upstream received and every line the
// client got back.
func relayLines(t testing.TB, p *Proxy, in []byte) (upstream, client [][]byte) {
	t.Helper()
	cr, cw := io.Pipe()
	pr, pw := io.Pipe()
	ur, uw := io.Pipe()
	vr, vw := io.Pipe()
	cliConn := transport.NewStdioConn(cr, pw, 1<<20)
	upConn := transport.NewStdioConn(vr, uw, 0)
	p.DrainTimeout = 2 * time.Second
	p.ShutdownGrace = time.Second

	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the upstream: record, answer requests
		defer wg.Done()
		up := transport.NewStdioConn(ur, vw, 0)
		for {
			m, err := up.Read()
			if err != nil {
				return
			}
			mu.Lock()
			upstream = append(upstream, append([]byte(nil), m...))
			mu.Unlock()
			var req struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params struct {
					ProtocolVersion string `json:"protocolVersion"`
				} `json:"params"`
			}
			if json.Unmarshal(m, &req) != nil || req.ID == nil || req.Method == "" {
				continue
			}
			result := `{}`
			switch req.Method {
			case "initialize":
				v, _ := json.Marshal(req.Params.ProtocolVersion)
				result = `{"protocolVersion":` + string(v) + `,"capabilities":{},"serverInfo":{"name":"rec","version":"1"}}`
			case "tools/list":
				result = `{"tools":[{"name":"ok"},{"name":"bad"}]}`
			}
			up.Write([]byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":%s}`, req.ID, result)))
		}
	}()
	initialized := make(chan struct{})
	var once sync.Once
	go func() { // the client's reader
		defer wg.Done()
		defer once.Do(func() { close(initialized) })
		c := transport.NewStdioConn(pr, nopWriteCloser{io.Discard}, 0)
		for {
			m, err := c.Read()
			if err != nil {
				return
			}
			mu.Lock()
			client = append(client, append([]byte(nil), m...))
			mu.Unlock()
			if bytes.Contains(m, []byte(`"id":"init"`)) {
				once.Do(func() { close(initialized) })
			}
		}
	}()
	done := make(chan error, 1)
	go func() { done <- p.Relay(context.Background(), cliConn, upConn) }()
	go func() {
		for _, init := range []string{initLine, initLine0618} {
			rest, ok := bytes.CutPrefix(in, []byte(init))
			if !ok {
				continue
			}
			cw.Write([]byte(init))
			select {
			case <-initialized:
			case <-time.After(10 * time.Second):
			}
			in = rest
			break
		}
		cw.Write(in)
		cw.Close()
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the proxy did not finish after the client's EOF")
	}
	pw.Close()
	vw.Close()
	ur.Close()
	wg.Wait()
	return upstream, client
}

// checkOnlyApproved fails when any reading of any message the upstream got is
// a tools/call (or tools/list) the hooks did not see as such: a tools/call
// whose name is not "ok" (the only name the test hook approves), more
// tools/calls than approvals, or an id-less one.
func checkOnlyApproved(t testing.TB, in []byte, upstream [][]byte, approved int) {
	t.Helper()
	calls := 0
	for _, m := range upstream {
		counted := false
		for _, r := range lenientReadings(m) {
			switch r.method {
			case methodCall:
				if r.name != "ok" || !r.hasID {
					t.Fatalf("input %q: the upstream got %s, read as a tools/call of %q (id %v) by %s; the hook approved only \"ok\" with an id",
						in, m, r.name, r.hasID, r.how)
				}
				if !counted {
					calls++
					counted = true
				}
			case methodList:
				if !r.hasID {
					t.Fatalf("input %q: the upstream got an id-less tools/list %s (%s)", in, m, r.how)
				}
			}
		}
	}
	if calls > approved {
		t.Fatalf("input %q: the upstream got %d tools/call messages, the hook approved %d", in, calls, approved)
	}
}

// approvingOK is a hook that allows tools/call of "ok" only, counting approvals.
func approvingOK(p *Proxy) *int {
	var mu sync.Mutex
	n := new(int)
	p.AuthorizeCall = func(_ context.Context, c *Call) *Verdict {
		if c.Name != "ok" {
			return &Verdict{Code: CodeAccessDenied, Message: "Access denied"}
		}
		mu.Lock()
		*n++
		mu.Unlock()
		return &Verdict{Allow: true}
	}
	p.FilterTools = func(context.Context, *ListRequest) func(string) bool {
		return func(n string) bool { return n == "ok" }
	}
	return n
}

const initLine = `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n"

var initLine0618 = strings.Replace(initLine, "2025-03-26", "2025-06-18", 1)

// TestInterceptedNeverUnchecked is rule 1 and 2 of the bypass issue: no
// spelling of an intercepted method reaches the upstream without its check —
// no id, inside a batch, a look-alike name, a member a case-insensitive
// decoder reads differently — and every such refusal is reported for audit.
func TestInterceptedNeverUnchecked(t *testing.T) {
	call := func(method, extra string) string {
		return `{"jsonrpc":"2.0",` + extra + `"method":"` + method + `","params":{"name":"bad","arguments":{"path":"/etc/cron.d/x"}}}`
	}
	deep := strings.Repeat(`[`, 700) + strings.Repeat(`]`, 700)
	deeper := strings.Repeat(`[`, 10050) + strings.Repeat(`]`, 10050)
	tests := []struct {
		name string
		line string
		// code is the JSON-RPC error code answered (0 when dropped
		// unanswered, -1 when relayed as harmless), and id the id it carries.
		code int
		id   string
	}{
		{"id-less tools/call", call("tools/call", ""), 0, ""},
		{"id-less tools/list", `{"jsonrpc":"2.0","method":"tools/list"}`, 0, ""},
		{"id-less, escaped slash", call(`tools\/call`, ""), 0, ""},
		{"id-less, escaped letters", call(`\u0074ools/call`, ""), 0, ""},
		{"null id", call("tools/call", `"id":null,`), CodeInvalidRequest, "null"},
		{"object id", call("tools/call", `"id":{},`), CodeInvalidRequest, "null"},
		{"id-less batch element under 2025-06-18 rules", `[` + call("tools/call", "") + `]`, CodeInvalidRequest, "null"},
		{"look-alike case", call("Tools/Call", `"id":1,`), CodeMethodNotFound, "1"},
		{"look-alike upper list", `{"jsonrpc":"2.0","id":2,"method":"TOOLS/LIST"}`, CodeMethodNotFound, "2"},
		{"look-alike trailing space", call("tools/call ", `"id":3,`), CodeMethodNotFound, "3"},
		{"look-alike leading tab", call(`\ttools/call`, `"id":4,`), CodeMethodNotFound, "4"},
		{"look-alike NUL", call(`tools/call\u0000`, `"id":5,`), CodeMethodNotFound, "5"},
		{"look-alike newline", call(`tools/call\n`, `"id":6,`), CodeMethodNotFound, "6"},
		{"look-alike full-width", call("ｔｏｏｌｓ/ｃａｌｌ", `"id":7,`), CodeMethodNotFound, "7"},
		{"look-alike full-width solidus", call("tools／call", `"id":8,`), CodeMethodNotFound, "8"},
		{"look-alike zero-width space", call(`tools/\u200bcall`, `"id":9,`), CodeMethodNotFound, "9"},
		{"look-alike long s", call("toolſ/call", `"id":10,`), CodeMethodNotFound, "10"},
		{"look-alike soft hyphen", call("tools/ca\u00adll", `"id":11,`), CodeMethodNotFound, "11"},
		{"look-alike BOM", call(`\ufefftools/call`, `"id":12,`), CodeMethodNotFound, "12"},
		{"look-alike notification", call("TOOLS/CALL", ""), 0, ""},
		{"misspelled Method beside method", `{"jsonrpc":"2.0","id":13,"method":"ping","Method":"tools/call","params":{"name":"bad"}}`, CodeInvalidRequest, "13"},
		{"misspelled METHOD alone", `{"jsonrpc":"2.0","id":14,"METHOD":"tools/call","params":{"name":"bad"},"result":{}}`, 0, ""}, // an answer to the server: dropped
		{"misspelled Params", `{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"ok"},"Params":{"name":"bad"}}`, CodeInvalidRequest, "15"},
		{"misspelled paramſ", `{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"ok"},"paramſ":{"name":"bad"}}`, CodeInvalidRequest, "16"},
		{"misspelled Id on a notification", `{"jsonrpc":"2.0","Id":17,"method":"tools/call","params":{"name":"bad"}}`, CodeInvalidRequest, "null"},
		{"params Name", `{"jsonrpc":"2.0","id":18,"method":"tools/call","params":{"name":"ok","Name":"bad"}}`, CodeInvalidParams, "18"},
		{"params NAME alone", `{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"NAME":"bad","name":"ok"}}`, CodeInvalidParams, "19"},
		{"params Arguments", `{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":"ok","Arguments":{"path":"/etc"}}}`, CodeInvalidParams, "20"},
		{"arguments differing in case", `{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":"ok","arguments":{"path":"/ok","PATH":"/etc"}}}`, CodeInvalidParams, "21"},
		{"nested arguments differing in case", `{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":"ok","arguments":{"o":{"k":1,"K":2}}}}`, CodeInvalidParams, "22"},
		{"kelvin sign key", `{"jsonrpc":"2.0","id":23,"method":"tools/call","params":{"name":"ok","arguments":{"k":1,"K":2}}}`, CodeInvalidParams, "23"},
		{"duplicate method", `{"jsonrpc":"2.0","id":24,"method":"ping","method":"tools/call","params":{"name":"bad"}}`, CodeInvalidRequest, "24"},
		{"nested deeper than the scanner reads", `{"jsonrpc":"2.0","id":25,"method":"tools/call","params":{"name":"bad","arguments":{"a":` + deep + `}}}`, CodeInvalidRequest, "25"},
		{"nested deeper than encoding/json reads", `{"jsonrpc":"2.0","id":"26","method":"tools/call","params":{"name":"bad","arguments":{"a":` + deeper + `}}}`, CodeInvalidRequest, `"26"`},
		{"a tools/call smuggled behind CRs", "{\"jsonrpc\":\"2.0\",\"id\":27,\"method\":\"ping\",\"params\":\r" +
			`{"jsonrpc":"2.0","id":"smuggled","method":"tools/call","params":{"name":"bad"}}` + "\r}", -1, "27"},
		{"a tools/call smuggled behind U+2028", `{"jsonrpc":"2.0","id":28,"method":"ping","params":{"` + "\u2028" +
			`{":{"jsonrpc":"2.0","id":"smuggled","method":"tools/call","params":{"name":"bad"}}}}`, -1, "28"},
		{"deep notification", `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"bad","arguments":{"a":` + deeper + `}}}`, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Proxy{QuickHooks: true}
			approved := approvingOK(p)
			var refusals []*Refusal
			var mu sync.Mutex
			p.OnRefused = func(r *Refusal) { mu.Lock(); refusals = append(refusals, r); mu.Unlock() }
			// Under 2025-06-18 (no batches); the initialize is answered first.
			in := initLine0618 + tc.line + "\n"
			up, client := relayLines(t, p, []byte(in))
			checkOnlyApproved(t, []byte(tc.line), up, *approved)
			if tc.code == -1 { // relayed: as one line, and answered by the upstream
				if len(up) != 2 || bytes.ContainsAny(up[1], "\r\n") || bytes.Contains(up[1], []byte("\u2028")) {
					t.Fatalf("the upstream got %q", up)
				}
				return
			}
			for _, m := range up {
				if !bytes.Contains(m, []byte(`"initialize"`)) {
					t.Fatalf("the upstream got %s", m)
				}
			}
			var answers []map[string]json.RawMessage
			for _, c := range client {
				var r map[string]json.RawMessage
				json.Unmarshal(c, &r)
				if string(r["id"]) != `"init"` {
					answers = append(answers, r)
				}
			}
			if tc.code == 0 {
				if len(answers) != 0 {
					t.Fatalf("a dropped message was answered: %s", client)
				}
			} else {
				if len(answers) != 1 {
					t.Fatalf("want exactly one answer, got %d: %s", len(answers), client)
				}
				var e struct{ Code int }
				json.Unmarshal(answers[0]["error"], &e)
				if e.Code != tc.code || string(answers[0]["id"]) != tc.id {
					t.Fatalf("answered id %s code %d, want id %s code %d", answers[0]["id"], e.Code, tc.id, tc.code)
				}
			}
			if len(refusals) == 0 {
				t.Fatal("the refusal was not reported for audit")
			}
			for _, r := range refusals {
				if strings.Contains(r.Reason, "/etc") {
					t.Fatalf("refusal reason holds an argument value: %q", r.Reason)
				}
			}
		})
	}
}

// TestInterceptedInBatches: under 2025-03-26, where batches are allowed, an
// id-less tools/call or tools/list inside a batch is dropped (and reported),
// the batch's other members are relayed, and a checked member is decided.
func TestInterceptedInBatches(t *testing.T) {
	batch := `[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"bad"}},` +
		`{"jsonrpc":"2.0","method":"tools/list"},` +
		`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"ok"}},` +
		`{"jsonrpc":"2.0","id":"x","method":"Tools/call","params":{"name":"bad"}},` +
		`{"jsonrpc":"2.0","id":"y","method":"tools/call","params":{"name":"bad"}},` +
		`{"jsonrpc":"2.0","id":"z","method":"tools/call","params":{"name":"ok"}},` +
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}]`
	p := &Proxy{}
	approved := approvingOK(p)
	var refused []string
	var mu sync.Mutex
	p.OnRefused = func(r *Refusal) { mu.Lock(); refused = append(refused, r.Method); mu.Unlock() }
	up, _ := relayLines(t, p, []byte(initLine+batch+"\n"))
	checkOnlyApproved(t, []byte(batch), up, *approved)
	var got []string
	for _, m := range up {
		got = append(got, string(m))
	}
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, `"id":"z"`) || !strings.Contains(joined, "notifications/progress") {
		t.Fatalf("the batch's valid members were not relayed:\n%s", joined)
	}
	if *approved != 1 {
		t.Fatalf("%d approvals, want 1 (the call with id z)", *approved)
	}
	if fmt.Sprint(refused) != "[tools/call tools/list tools/call Tools/call]" {
		t.Fatalf("refusals reported: %q", refused)
	}
}

// TestListEnvelopeWarrantOnly is rule 8: a tools/list envelope may carry the
// warrant alone (listing proves no possession).
func TestListEnvelopeWarrantOnly(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	var seen *enforce.Envelope
	p.FilterTools = func(_ context.Context, r *ListRequest) func(string) bool {
		seen = r.Tenuo
		return func(string) bool { return true }
	}
	in := initLine + `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"tenuo":{"warrant":"abc"}}}}` + "\n"
	up, client := relayLines(t, p, []byte(in))
	if seen == nil || seen.Warrant != "abc" || seen.Signature != "" {
		t.Fatalf("the filter saw envelope %+v", seen)
	}
	if len(up) != 2 || bytes.Contains(up[1], []byte("tenuo")) {
		t.Fatalf("upstream got %q", up)
	}
	if !bytes.Contains(client[len(client)-1], []byte(`"tools"`)) {
		t.Fatalf("client got %q", client)
	}
}

// TestAnswersCarryTheID is rule 7: an error for a request whose id can be
// read carries that id, and valid JSON is never called a parse error.
func TestAnswersCarryTheID(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat(`}`, 20000)
	tests := []struct{ line, id string }{
		{`{"jsonrpc":"2.0","id":"d","method":"ping","params":{"x":` + deep + `}}`, `"d"`},
		{`{"id":7,"jsonrpc":"2.0","method":"tools/list","params":{"x":` + deep + `}}`, `7`},
		{`{"jsonrpc":"2.0","method":"resources/read","params":{"x":` + deep + `},"id":-1.5e3}`, `-1.5e3`},
		{`{"jsonrpc":"2.0","id":8,"method":"ping","method":"ping"}`, `8`},
		{`{"jsonrpc":"2.0","id":9,"method":"x","params":{"a":1,"a":2}}`, `9`},
	}
	for _, tc := range tests {
		p := &Proxy{}
		approvingOK(p)
		_, client := relayLines(t, p, []byte(tc.line+"\n"))
		if len(client) != 1 {
			t.Fatalf("%.60s…: %d answers", tc.line, len(client))
		}
		var r struct {
			ID    json.RawMessage
			Error struct{ Code int }
		}
		json.Unmarshal(client[0], &r)
		if string(r.ID) != tc.id || r.Error.Code == CodeParseError {
			t.Fatalf("%.60s…: answered %s", tc.line, client[0])
		}
	}
	// Surrounding white space is not a reason to refuse.
	p := &Proxy{}
	approvingOK(p)
	up, _ := relayLines(t, p, []byte(" \t{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} \r\n"))
	if len(up) != 1 {
		t.Fatalf("a message with surrounding white space was not relayed: %q", up)
	}
}

func TestTopMembers(t *testing.T) {
	tests := []struct {
		in, id, method string
		ok             bool
	}{
		{`{"id":1,"method":"m"}`, `1`, `"m"`, true},
		{` { "method" : "m" , "id" : "x" } `, `"x"`, `"m"`, true},
		{`{"a":{"id":2},"id":3}`, `3`, ``, true},
		{`{"a":[{"id":2}],"b":[],"c":{},"id":[1]}`, `[1]`, ``, true},
		{`{"id":1,"id":2,"method":"m"}`, ``, `"m"`, true},
		{`{}`, ``, ``, true},
		{`{"id":1`, ``, ``, false},
		{`{"id":1}x`, ``, ``, false},
		{`{"id":01}`, ``, ``, false},
		{`{"id":1,}`, ``, ``, false},
		{`{"a":[1,]}`, ``, ``, false},
		{`{"a":[1}`, ``, ``, false},
		{`{"a":"\x"}`, ``, ``, false},
		{`[{"id":1}]`, ``, ``, false},
		{`{"\u0069d":5}`, `5`, ``, true},
	}
	for _, tc := range tests {
		id, method, ok := topMembers([]byte(tc.in))
		if string(id) != tc.id || string(method) != tc.method || ok != tc.ok {
			t.Errorf("topMembers(%s) = %s, %s, %v; want %s, %s, %v", tc.in, id, method, ok, tc.id, tc.method, tc.ok)
		}
		if ok != json.Valid([]byte(tc.in)) && tc.in[0] == '{' {
			t.Errorf("topMembers(%s) ok=%v disagrees with json.Valid", tc.in, ok)
		}
	}
}

// FuzzOnlyApprovedCallsReachUpstream is the property the id-less call broke:
// whatever lines a client sends, the upstream never receives a message that
// any plausible server reads as a tools/call the hook did not approve.
func FuzzOnlyApprovedCallsReachUpstream(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok"}}`,
		`[{"jsonrpc":"2.0","method":"tools/call","params":{"name":"bad"}},{"jsonrpc":"2.0","id":2,"method":"ping"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"ping","Method":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","Name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{},"METHOD":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"ok"}}`,
		`{"jsonrpc":"2.0","id":null,"method":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1,"result":{},"meth_od":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","na-me":"bad"}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(initLine + s + "\n"))
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<14 {
			return
		}
		// Checks run inline when nothing else is waiting (QuickHooks), or
		// on workers: both ways hold the property.
		p := &Proxy{QuickHooks: len(in)%2 == 0}
		approved := approvingOK(p)
		up, _ := relayLines(t, p, in)
		checkOnlyApproved(t, in, up, *approved)
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
