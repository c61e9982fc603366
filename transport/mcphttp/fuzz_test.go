package mcphttp

import (
	"bytes"
	"encoding/json"
	"reflect"
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
