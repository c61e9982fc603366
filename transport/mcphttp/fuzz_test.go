package mcphttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseBody: the body reader never panics, refuses what is not JSON, and
// every message it accepts as a request has an id the answer can be matched
// by.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"n"}]`,
		`{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}`,
		`{"id":1.50,"result":{}}`, `[]`, `{`, `"x"`, `{"id":null,"error":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _, err := parseBody(b)
		if err != nil {
			if _, ok := err.(*errBody); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatal("accepted invalid JSON")
		}
		for _, m := range msgs {
			if m.isRequest() || m.isResponse() {
				if k, ok := idKey(m.id); !ok || k != m.key {
					t.Fatalf("id %s keyed %q", m.id, m.key)
				}
			}
		}
		// SSE framing of whatever was sent reads back as the same JSON value.
		e, err := newEventReader(bytes.NewReader(appendEvent(nil, "message", "", b))).next()
		if err != nil {
			t.Fatal(err)
		}
		var v1, v2 any
		if json.Unmarshal(b, &v1) == nil {
			if err := json.Unmarshal([]byte(e.data), &v2); err != nil {
				t.Fatalf("framed %q read back as %q: %v", b, e.data, err)
			}
		}
	})
}

// FuzzEventScanner: the upstream's event stream reader never panics, keeps
// every event within its cap, and reads back what appendEvent framed.
func FuzzEventScanner(f *testing.F) {
	f.Add([]byte("event: endpoint\ndata: /message?sessionId=1\n\n"), []byte(`{"a":1}`))
	f.Add([]byte(": keepalive\r\n\r\ndata: x\rdata: y\r\r"), []byte("{\n}"))
	f.Add([]byte(""), []byte("9E900")) // JSON no float64 holds: found by this target
	f.Fuzz(func(t *testing.T, stream, msg []byte) {
		s := newEventScanner(bytes.NewReader(stream), 256)
		for range 1000 {
			ev, err := s.next()
			if err != nil {
				break
			}
			if len(ev.data) > 256 {
				t.Fatalf("event of %d bytes past a 256-byte cap", len(ev.data))
			}
		}
		if !json.Valid(msg) {
			return
		}
		ev, err := newEventScanner(bytes.NewReader(appendEvent(nil, "message", "", msg)), int64(len(msg))+16).next()
		if err != nil {
			t.Fatal(err)
		}
		// Compared as JSON values, numbers as their text (9E900 is JSON,
		// though no float64 holds it).
		decode := func(b []byte) (any, error) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			var v any
			return v, d.Decode(&v)
		}
		v1, _ := decode(msg)
		v2, err := decode(ev.data)
		if err != nil || !reflect.DeepEqual(v1, v2) {
			t.Fatalf("%q framed and read back as %q: %v", msg, ev.data, err)
		}
	})
}

// FuzzStatelessChecks: the 2026-07-28 checks never panic on any body and
// headers; what they accept has the headers the body describes; an id
// replaced for the upstream reads back as the new id with the rest of the
// message the same; and a mirrored argument survives its header encoding.
func FuzzStatelessChecks(f *testing.F) {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch","arguments":{"region":"eu"},`+meta+`}}`, "tools/call", "fetch", "2026-07-28", "eu")
	f.Add(`{"jsonrpc":"2.0","id":"a","method":"resources/read","params":{"uri":"file:///x",`+meta+`}}`, "resources/read", "file:///x", "2026-07-28", "")
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch","arguments":{"region":{"a":1}}}}`, "tools/call", "fetch", "2027-01-01", "=?base64?ZXU=?=")
	f.Add(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, "notifications/cancelled", "", "2026-07-28", " x ")
	s := &Session{bindings: map[string][]binding{}}
	addBindings(s.bindings, []byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"fetch","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"},"o":{"type":"object","properties":{"n":{"type":"integer","x-mcp-header":"N"}}}}}}]}}`))
	f.Fuzz(func(t *testing.T, body, method, name, version, param string) {
		msgs, batch, err := parseBody([]byte(body))
		if err != nil || batch || len(msgs) != 1 {
			return
		}
		r, _ := http.NewRequest("POST", "http://x/mcp", nil)
		for k, v := range map[string]string{HeaderMethod: method, HeaderName: name, HeaderProtocolVersion: version, "Mcp-Param-Region": param} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		m := &msgs[0]
		if status, _, _ := checkStateless(r, m); status == 0 {
			if !m.hasMethod || method != m.method {
				t.Fatalf("accepted %q with Mcp-Method %q", m.method, method)
			}
			if key, ok := namedBy[m.method]; ok {
				if v, _ := stringMember(m.params, key); v != name {
					t.Fatalf("accepted params.%s %q with Mcp-Name %q", key, v, name)
				}
			}
		}
		lookup := func(tool string) ([]binding, bool) { bs, ok := s.bindings[tool]; return bs, ok }
		if paramHeadersOK(r, m, lookup) == "" && m.method == "tools/call" && param != "" {
			if n, _ := stringMember(m.params, "name"); n == "fetch" {
				args := mustMembers(m.params)["arguments"]
				v, _ := lookupPath(args, []string{"region"})
				want, _ := headerText(v)
				if got, _ := decodeParamHeader(param); got != want {
					t.Fatalf("accepted Mcp-Param-Region %q for region %s", param, v)
				}
			}
		}
		if m.id != nil {
			nb, ok := replaceMember([]byte(body), []string{"id"}, json.RawMessage(`"renamed"`))
			if !ok {
				t.Fatalf("the id of %q cannot be replaced", body)
			}
			got, err := members(nb)
			if err != nil || string(got["id"]) != `"renamed"` {
				t.Fatalf("replaced id: %q (%v)", nb, err)
			}
			was := mustMembers([]byte(body))
			delete(was, "id")
			delete(got, "id")
			if !reflect.DeepEqual(was, got) {
				t.Fatalf("replacing the id changed the rest: %q → %q", body, nb)
			}
		}
		if enc := encodeParamHeader(param); !validHeaderValue(enc) {
			t.Fatalf("encoded %q as %q, not a header value", param, enc)
		} else if dec, ok := decodeParamHeader(enc); !ok || dec != param {
			t.Fatalf("encoded %q as %q, decoded %q", param, enc, dec)
		}
	})
}

// validHeaderValue reports whether v is printable ASCII without leading or
// trailing blanks: what survives every HTTP intermediary unchanged.
func validHeaderValue(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return v == strings.TrimSpace(v)
}

// FuzzMembers: on valid JSON, the hand scanner reads the same members as
// encoding/json's token reader (byte for byte, once the reader's own
// whitespace trimming is applied), refuses what it refuses, and on any
// input never panics.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : 1 , "b":[1,{"c":"}"}] } `, `{"a":"\"}\\"}`, `{"\u0069d":1,"id":2}`,
		`{"a":1,"a":2}`, `[1]`, `{"a":tru}`, `{"k\u00e9":{"x":[]},"n":-1.5e+3}`, "{\"a\xff\":1}", `{"a":"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ferr := members(b)
		parseMessage(b)
		jsonString(b)
		idKey(b)
		if !json.Valid(b) {
			return // only valid JSON is promised anything but no panic
		}
		checkFastReaders(t, b)
		slow, serr := membersSlow(b)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("%q: scanner %v, reader %v", b, ferr, serr)
		}
		if ferr != nil {
			return
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: scanner %v, reader %v", b, fast, slow)
		}
		for k, v := range slow {
			if got, ok := fast[k]; !ok || !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(v)) {
				t.Fatalf("%q: member %q: scanner %q, reader %q", b, k, got, v)
			}
		}
	})
}

// checkFastReaders holds the readers that skip encoding/json on the common
// case to what encoding/json reads of b (valid JSON): the string decoder,
// the id key, one member's lookup and the message reader.
func checkFastReaders(t *testing.T, b []byte) {
	t.Helper()
	v := bytes.Trim(b, " \t\r\n")
	var want string
	if err := json.Unmarshal(v, &want); err == nil {
		if got, ok := jsonString(v); !ok || got != want {
			t.Fatalf("jsonString(%q) = %q %v, want %q", v, got, ok, want)
		}
	} else if _, ok := jsonString(v); ok {
		t.Fatalf("jsonString(%q) took what is no string", v)
	}
	gk, gok := idKey(v)
	wk, wok := idKeySlow(v)
	if gk != wk || gok != wok {
		t.Fatalf("idKey(%q) = %q %v, want %q %v", v, gk, gok, wk, wok)
	}
	got, gerr := parseMessage(b)
	exp, werr := parseMessageSlow(b)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%q: parseMessage %v, reference %v", b, gerr, werr)
	}
	if gerr == nil && (!bytes.Equal(got.id, exp.id) || got.key != exp.key || got.method != exp.method ||
		got.hasMethod != exp.hasMethod || !bytes.Equal(got.params, exp.params)) {
		t.Fatalf("%q: parseMessage %+v, reference %+v", b, got, exp)
	}
	if gerr == nil {
		for _, k := range []string{MetaProtocolVersion, "progressToken"} {
			fresh, read := got, got
			if v, w := metaValue(&fresh, k), metaOf(&read)[k]; !bytes.Equal(v, w) {
				t.Fatalf("%q: metaValue %q = %q, metaOf %q", b, k, v, w)
			}
		}
	}
	if ms, err := membersSlow(b); err == nil {
		for k, want := range ms {
			if got, ok := member(b, k); !ok || !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Fatalf("%q: member %q = %q %v, want %q", b, k, got, ok, want)
			}
			paths := [][]string{{k}}
			if inner, err := membersSlow(want); err == nil {
				for k2 := range inner {
					paths = append(paths, []string{k, k2})
				}
			}
			for _, p := range paths {
				s1, e1, ok1 := memberSpan(b, 0, p)
				s2, e2, ok2 := memberSpanSlow(b, 0, p)
				if s1 != s2 || e1 != e2 || ok1 != ok2 {
					t.Fatalf("%q: memberSpan %q = %d %d %v, want %d %d %v", b, p, s1, e1, ok1, s2, e2, ok2)
				}
			}
		}
	}
}

// memberSpanSlow is memberSpan by encoding/json's token reader.
func memberSpanSlow(b []byte, off int, path []string) (int, int, bool) {
	dec := json.NewDecoder(bytes.NewReader(b[off:]))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, 0, false
		}
		end := off + int(dec.InputOffset())
		start := end - len(v)
		if k != path[0] {
			continue
		}
		if len(path) == 1 {
			return start, end, true
		}
		return memberSpanSlow(b, start, path[1:])
	}
	return 0, 0, false
}

// idKeySlow is idKey by encoding/json alone.
func idKeySlow(id json.RawMessage) (string, bool) {
	if len(id) == 0 {
		return "", false
	}
	switch c := id[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(id, &s) != nil {
			return "", false
		}
		return "s:" + s, true
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if json.Unmarshal(id, &n) != nil {
			return "", false
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || !(math.Abs(f) < 1<<63) {
			return "", false
		}
		return "n:" + strconv.FormatInt(int64(f), 10), true
	}
	return "", false
}

// parseMessageSlow is parseMessage over encoding/json's token reader.
func parseMessageSlow(b []byte) (msgInfo, error) {
	var m msgInfo
	ms, err := membersSlow(b)
	if err != nil {
		return m, err
	}
	if v, ok := ms["id"]; ok && string(v) != "null" {
		key, ok := idKeySlow(v)
		if !ok {
			return m, errors.New("bad id")
		}
		m.id, m.key = v, key
	}
	if v, ok := ms["method"]; ok {
		if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &m.method) != nil {
			return m, errors.New("bad method")
		}
		m.hasMethod = true
		if _, ok := ms["id"]; ok && m.id == nil {
			return m, errors.New("null id on a request")
		}
	}
	m.params = ms["params"]
	_, r := ms["result"]
	_, e := ms["error"]
	if !m.hasMethod && m.id == nil && !r && !e {
		return m, errors.New("no message")
	}
	return m, nil
}
