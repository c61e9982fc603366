package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// jsID is a request id as a JavaScript server echoes it: JSON.parse then
// JSON.stringify, so 1.0, 1e0 and 10e-1 come back as 1 and -0 as 0. (Go's
// go-sdk and pydantic's lax int read integral floats the same way.)
func jsID(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	if f, ok := v.(float64); ok && f == 0 {
		v = 0.0
	}
	b, _ := json.Marshal(v)
	return b
}

// goSDKID is a request id as the Go SDK echoes it: decoded as a float64 and
// truncated to an int64 (jsonrpc2.MakeID), so 1.5 comes back as 1.
func goSDKID(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	if f, ok := v.(float64); ok {
		v = int64(f)
	}
	b, _ := json.Marshal(v)
	return b
}

// relayScripted runs a Proxy with p's hooks over the client input in, against
// an upstream whose answers answer(msg, send) decides. It returns what the
// upstream received and what the client got back, after the client's EOF has
// drained.
func relayScripted(t testing.TB, p *Proxy, in []byte, answer func(msg []byte, send func(string))) (upstream, client [][]byte) {
	t.Helper()
	cr, cw := io.Pipe()
	pr, pw := io.Pipe()
	ur, uw := io.Pipe()
	vr, vw := io.Pipe()
	cliConn := transport.NewStdioConn(cr, pw, 1<<20)
	upConn := transport.NewStdioConn(vr, uw, 0)
	if p.DrainTimeout == 0 {
		p.DrainTimeout = 500 * time.Millisecond
	}
	p.ShutdownGrace = time.Second
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		up := transport.NewStdioConn(ur, vw, 0)
		send := func(s string) { up.Write([]byte(s)) }
		for {
			m, err := up.Read()
			if err != nil {
				return
			}
			mu.Lock()
			upstream = append(upstream, append([]byte(nil), m...))
			mu.Unlock()
			answer(m, send)
		}
	}()
	go func() {
		defer wg.Done()
		c := transport.NewStdioConn(pr, nopWriteCloser{io.Discard}, 0)
		for {
			m, err := c.Read()
			if err != nil {
				return
			}
			mu.Lock()
			client = append(client, append([]byte(nil), m...))
			mu.Unlock()
		}
	}()
	done := make(chan error, 1)
	go func() { done <- p.Relay(context.Background(), cliConn, upConn) }()
	go func() {
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

type rpcReq struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

const fullList = `{"tools":[{"name":"ok"},{"name":"bad"}]}`

// hiddenToolShown fails when any line the client got names the hidden tool.
func hiddenToolShown(t *testing.T, client [][]byte) {
	t.Helper()
	for _, c := range client {
		if bytes.Contains(c, []byte(`"bad"`)) {
			t.Fatalf("the client saw the hidden tool: %s", c)
		}
	}
}

// TestAttackIDAliasShowsHiddenTools: a request id is matched by its text, a
// server by its value. With a ping pending as id 1, a tools/list sent as id
// 1.0 (or 1e0, or -0 against 0) is answered by a JavaScript server as id 1:
// the answer must not be taken for the ping's and relayed unfiltered.
func TestAttackIDAliasShowsHiddenTools(t *testing.T) {
	tests := []struct {
		pending, list string
		echo          func(json.RawMessage) json.RawMessage
	}{
		{`1`, `1.0`, jsID}, {`1`, `1e0`, jsID}, {`10`, `1e1`, jsID}, {`0`, `-0`, jsID}, {`1`, `10e-1`, jsID},
		{`2`, `2.000000000000000000001`, jsID}, {`9007199254740992`, `9007199254740993`, jsID},
		{`1`, `1.5`, goSDKID}, {`0`, `-0.5`, goSDKID}, {`-3`, `-3.99`, goSDKID},
	}
	for _, tc := range tests {
		pair, echo := [2]string{tc.pending, tc.list}, tc.echo
		t.Run(pair[1], func(t *testing.T) {
			p := &Proxy{}
			approvingOK(p)
			in := `{"jsonrpc":"2.0","id":` + pair[0] + `,"method":"ping"}` + "\n" +
				`{"jsonrpc":"2.0","id":` + pair[1] + `,"method":"tools/list"}` + "\n"
			_, client := relayScripted(t, p, []byte(in), func(m []byte, send func(string)) {
				var r rpcReq
				if json.Unmarshal(m, &r) != nil || r.Method != "tools/list" {
					return // pings are left unanswered
				}
				send(`{"jsonrpc":"2.0","id":` + string(echo(r.ID)) + `,"result":` + fullList + `}`)
			})
			hiddenToolShown(t, client)
		})
	}
}

// TestAttackIDAliasDistinctIDsStillWork: ids that differ in value are still
// distinct requests, and a non-integral id is answered as sent.
func TestAttackIDAliasDistinctIDsStillWork(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	in := `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","id":2.5,"method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","id":"1","method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","id":-1,"method":"ping"}` + "\n"
	_, client := relayScripted(t, p, []byte(in), func(m []byte, send func(string)) {
		var r rpcReq
		if json.Unmarshal(m, &r) == nil {
			send(`{"jsonrpc":"2.0","id":` + string(r.ID) + `,"result":{}}`)
		}
	})
	var ids []string
	for _, c := range client {
		var r struct {
			ID    json.RawMessage
			Error json.RawMessage
		}
		json.Unmarshal(c, &r)
		if r.Error != nil {
			t.Fatalf("refused: %s", c)
		}
		ids = append(ids, string(r.ID))
	}
	if strings.Join(ids, " ") != `1 2.5 "1" -1` {
		t.Fatalf("answers: %q", client)
	}
}

// TestAttackIDAliasRefusedWhilePending: an id equal in value to a pending
// one is "already in use", whatever its spelling.
func TestAttackIDAliasRefusedWhilePending(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	in := `{"jsonrpc":"2.0","id":7,"method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","id":7.0,"method":"tools/call","params":{"name":"ok"}}` + "\n"
	up, client := relayScripted(t, p, []byte(in), func([]byte, func(string)) {})
	for _, m := range up {
		if bytes.Contains(m, []byte("tools/call")) {
			t.Fatalf("forwarded a call whose id aliases a pending one: %s", m)
		}
	}
	if len(client) == 0 || !bytes.Contains(client[0], []byte(`already in use`)) || !bytes.Contains(client[0], []byte(`"id":7.0`)) {
		t.Fatalf("client got %q", client)
	}
}

// TestAttackCancelThenReuseShowsHiddenTools: the client cancels its
// tools/list and reuses the id at once for a ping. A server may answer a
// request it was told to cancel (cancellation is advisory); that answer must
// not be taken for the ping's and relayed unfiltered.
func TestAttackCancelThenReuseShowsHiddenTools(t *testing.T) {
	for _, reuse := range []string{`{"jsonrpc":"2.0","id":5,"method":"ping"}`, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ok"}}`} {
		p := &Proxy{}
		approvingOK(p)
		in := `{"jsonrpc":"2.0","id":5,"method":"tools/list"}` + "\n" +
			`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}` + "\n" +
			reuse + "\n"
		var held json.RawMessage
		_, client := relayScripted(t, p, []byte(in), func(m []byte, send func(string)) {
			var r rpcReq
			if json.Unmarshal(m, &r) != nil {
				return
			}
			switch r.Method {
			case "tools/list": // answered late, after the next message
				held = r.ID
			case "notifications/cancelled":
				if held != nil {
					send(`{"jsonrpc":"2.0","id":` + string(held) + `,"result":` + fullList + `}`)
				}
			}
		})
		hiddenToolShown(t, client)
	}
}

// TestAttackCancelledIDNotReused: after a cancellation the id stays refused
// until the server answers it (MCP ids are never reused in a session); the
// late answer is dropped and the id is free again.
func TestAttackCancelledIDNotReused(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	in := `{"jsonrpc":"2.0","id":5,"method":"ping"}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}` + "\n" +
		`{"jsonrpc":"2.0","id":5,"method":"ping"}` + "\n"
	up, client := relayScripted(t, p, []byte(in), func([]byte, func(string)) {})
	if len(up) != 2 {
		t.Fatalf("upstream got %q", up)
	}
	if len(client) != 1 || !bytes.Contains(client[0], []byte("already in use")) {
		t.Fatalf("client got %q", client)
	}
}

// TestAttackIDKeyValues: ids are keyed by the integer every server could
// answer them with; those no int64 holds are refused.
func TestAttackIDKeyValues(t *testing.T) {
	same := [][2]string{{`1`, `1.0`}, {`1`, `1.9`}, {`0`, `-0`}, {`0`, `-0.9`}, {`0`, `1e-400`}, {`100`, `1E2`},
		{`9007199254740992`, `9007199254740993`}, {`"a"`, `"\u0061"`}}
	for _, p := range same {
		a, okA := idKey(json.RawMessage(p[0]))
		b, okB := idKey(json.RawMessage(p[1]))
		if !okA || !okB || a != b {
			t.Errorf("idKey(%s) = %q, idKey(%s) = %q: want one key", p[0], a, p[1], b)
		}
	}
	for _, p := range [][2]string{{`1`, `"1"`}, {`1`, `2`}, {`-1`, `1`}, {`9007199254740992`, `9007199254740994`}} {
		a, _ := idKey(json.RawMessage(p[0]))
		b, _ := idKey(json.RawMessage(p[1]))
		if a == b {
			t.Errorf("idKey(%s) = idKey(%s) = %q", p[0], p[1], a)
		}
	}
	for _, bad := range []string{`1e400`, `-1e400`, `9223372036854775808`, `-9223372036854775808`, `1e19`, `"\ud800"`} {
		if k, ok := idKey(json.RawMessage(bad)); ok {
			t.Errorf("idKey(%s) = %q, accepted", bad, k)
		}
	}
	if k, ok := idKey(json.RawMessage(`9223372036854774784`)); !ok || k != "n:9223372036854774784" {
		t.Errorf("the largest double below 2^63: %q %v", k, ok)
	}
}

// TestAttackDelimiterInsensitiveMembers: Go's encoding/json/v2, asked to
// match names case-insensitively, also ignores '_' and '-': "meth_od" is
// its "method", "na-me" its "name", "meta" its "_meta". A member so spelled
// is refused like one differing in case, and never relayed.
func TestAttackDelimiterInsensitiveMembers(t *testing.T) {
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{},"meth_od":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"ping","Meth-Od":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized","_id":3,"meth_od":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ok","na_me":"bad"}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ok"},"par-ams":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"ok","meta":{"tenuo":{"warrant":"w","signature":"s"}}}}`,
	} {
		p := &Proxy{QuickHooks: true}
		approved := approvingOK(p)
		up, client := relayLines(t, p, []byte(initLine0618+line+"\n"))
		checkOnlyApproved(t, []byte(line), up, *approved)
		for _, m := range up {
			if !bytes.Contains(m, []byte(`"initialize"`)) {
				t.Fatalf("%s: relayed %s", line, m)
			}
		}
		_ = client
	}
}

// TestAttackDelimiterNamesStillRelayed: members that only contain '_' or
// '-' and imitate no JSON-RPC member are relayed as ever.
func TestAttackDelimiterNamesStillRelayed(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	line := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ok","arguments":{"file_path":"a"},"_meta":{"progress_token":1}},"x_trace":"t"}`
	up, _ := relayLines(t, p, []byte(initLine0618+line+"\n"))
	if len(up) != 2 || !bytes.Contains(up[1], []byte(`"file_path"`)) {
		t.Fatalf("upstream got %q", up)
	}
}

// TestAttackShapesNeverRelayed: shapes of a tools/call that some server
// could read as one the hook did not approve are refused, and nothing but
// the initialize reaches the upstream: params as an array (by-position
// params), a nested batch, a BOM before the message, NaN and Infinity
// (Python's json reads them), a raw NUL, overlong UTF-8, a lone surrogate
// in the name, duplicate keys spelled with escapes, a "__proto__" key
// beside its own duplicate, a misspelled jsonrpc member on a reply.
func TestAttackShapesNeverRelayed(t *testing.T) {
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["bad",{"path":"/etc"}]}`,
		`[[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"bad"}}]]`,
		"\ufeff" + `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"bad"}}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ok","arguments":{"n":NaN}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ok","arguments":{"n":-Infinity}}}`,
		"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"ok\x00bad\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"\xc0\xafbad\"}}",
		`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"ok\ud800"}}`,
		`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"ok","n\u0061me":"bad"}}`,
		`{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"ok","arguments":{"__proto__":{"a":1},"__proto__":{"a":2}}}}`,
		`{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"ok","arguments":{"a":{"b":1,"\u0062":2}}}}`,
		`{"jsonrpc":"2.0","id":12,"result":{},"Jsonrpc":"2.0","method2":"x"}`,
		`{"jsonrpc":"2.0","id":13,"method":"tools/call","params":{"name":"ok","arguments":null}}`,
		`{"jsonrpc":"2.0","id":14,"method":"tools/call","params":{"name":"ok","arguments":"{\"path\":\"/etc\"}"}}`,
		`{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{"name":"ok","_meta":"x"}}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":{"name":"ok"}}`,
		`{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"ok","arguments":{"_tenuo":{"warrant":"w","signature":"s"}},"_meta":{"tenuo":{"warrant":"v","signature":"s"}}}}`,
	} {
		p := &Proxy{QuickHooks: len(line)%2 == 0}
		approved := approvingOK(p)
		up, client := relayLines(t, p, []byte(initLine0618+line+"\n"))
		checkOnlyApproved(t, []byte(line), up, *approved)
		for _, m := range up {
			if !bytes.Contains(m, []byte(`"initialize"`)) {
				t.Fatalf("%q: relayed %s", line, m)
			}
		}
		if *approved != 0 {
			t.Fatalf("%q: the hook approved it", line)
		}
		for _, c := range client {
			if bytes.Contains(c, []byte("/etc")) {
				t.Fatalf("%q: an answer holds an argument value: %s", line, c)
			}
		}
	}
}

// TestAttackUpstreamUnknownIDs: answers to ids the client never used (or
// spelled as another request's id would be in a string) are dropped; the
// listing reaches the client filtered, once.
func TestAttackUpstreamUnknownIDs(t *testing.T) {
	p := &Proxy{}
	approvingOK(p)
	in := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}` + "\n"
	_, client := relayScripted(t, p, []byte(in), func(m []byte, send func(string)) {
		var r rpcReq
		if json.Unmarshal(m, &r) != nil || r.Method != "tools/list" {
			return
		}
		for _, id := range []string{`"1"`, `2`, `null`, `{"a":1}`, `1`, `1`} {
			send(`{"jsonrpc":"2.0","id":` + id + `,"result":` + fullList + `}`)
		}
	})
	hiddenToolShown(t, client)
	if len(client) != 1 || !bytes.Contains(client[0], []byte(`"ok"`)) {
		t.Fatalf("client got %q", client)
	}
}

// TestAttackListHiddenToolSpellings: a listing whose tool objects name a
// hidden tool beside a visible one (a duplicate name key, one differing in
// case, an escaped duplicate) never shows the hidden one; a hidden tool
// whose name differs from a visible one only in case or width stays hidden.
func TestAttackListHiddenToolSpellings(t *testing.T) {
	list := `{"tools":[{"name":"ok","name":"bad"},{"name":"ok","Name":"bad"},{"n\u0061me":"bad","name":"ok"},` +
		`{"name":"OK","x":"bad"},{"name":"ｏｋ","x":"bad"},{"name":"ok\ud800","x":"bad"},{"name":["ok"],"x":"bad"},"bad",{"name":"ok"}]}`
	p := &Proxy{}
	approvingOK(p)
	in := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}` + "\n"
	_, client := relayScripted(t, p, []byte(in), func(m []byte, send func(string)) {
		var r rpcReq
		if json.Unmarshal(m, &r) == nil && r.Method == "tools/list" {
			send(`{"jsonrpc":"2.0","id":1,"result":` + list + `}`)
		}
	})
	hiddenToolShown(t, client)
	if len(client) != 1 || string(client[0]) != `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}]}}` {
		t.Fatalf("client got %q", client)
	}
}

// TestAttackWhileClosingAnswerShaped: after Drain, a message shaped as an
// answer to the server (an id, no method) still goes through the full
// reading: one that also carries a misspelled or duplicated method is
// refused, not relayed.
func TestAttackWhileClosingAnswerShaped(t *testing.T) {
	drain := make(chan struct{})
	close(drain)
	p := &Proxy{Drain: drain}
	approved := approvingOK(p)
	lines := `{"jsonrpc":"2.0","id":1,"result":{},"METHOD":"tools/call","params":{"name":"bad"}}` + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/call","method":"tools/call","params":{"name":"bad"}}` + "\n" +
		`{"jsonrpc":"2.0","id":3,"result":{},"meth_od":"tools/call","params":{"name":"bad"}}` + "\n" +
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"bad"}}` + "\n"
	up, _ := relayScripted(t, p, []byte(lines), func([]byte, func(string)) {})
	checkOnlyApproved(t, []byte(lines), up, *approved)
	if len(up) != 0 {
		t.Fatalf("relayed while closing: %q", up)
	}
}
