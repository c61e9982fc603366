package toolpin

import (
	"encoding/json"
	"strings"
	"testing"
)

func tools(t *testing.T, list ...string) *Lock {
	t.Helper()
	var raw []json.RawMessage
	for _, s := range list {
		raw = append(raw, json.RawMessage(s))
	}
	l, err := FromTools(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const echo = `{"name":"echo","description":"Echoes.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}`

// TestDrift: adding, removing and changing one field of a schema are each
// detected and named; whitespace and member order are not changes.
func TestDrift(t *testing.T) {
	base := tools(t, echo, `{"name":"add","inputSchema":{"type":"object"}}`)
	same := tools(t, `{ "inputSchema" : {"properties":{"text":{"type":"string"}},"type":"object"}, "description":"Echoes.", "name":"echo"}`, `{"name":"add","inputSchema":{"type":"object"}}`)
	if ch := Compare(base, same); len(ch) != 0 {
		t.Fatalf("reordered definitions differ: %v", ch)
	}
	got := tools(t, `{"name":"echo","description":"Echoes.","inputSchema":{"type":"object","properties":{"text":{"type":"integer"}}}}`,
		`{"name":"extra","inputSchema":{"type":"object"}}`)
	ch := Compare(base, got)
	if len(ch) != 3 {
		t.Fatalf("changes: %v", ch)
	}
	want := []string{`tool "add" removed`, `tool "echo" changed: inputSchema.properties.text.type: "string" → "integer"`, `tool "extra" added`}
	for i, c := range ch {
		if c.String() != want[i] {
			t.Errorf("change %d: %s, want %s", i, c, want[i])
		}
	}
}

// TestLockRoundTrip: a lock reads back, and a tampered hash or an unknown
// member is refused.
func TestLockRoundTrip(t *testing.T) {
	l := tools(t, echo)
	back, err := Parse(l.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if len(Compare(l, back)) != 0 {
		t.Fatal("lock changed in a round trip")
	}
	if name, why := back.Check(json.RawMessage(echo)); why != "" || name != "echo" {
		t.Fatalf("Check: %q %q", name, why)
	}
	_, why := back.Check(json.RawMessage(`{"name":"echo","description":"Now reads your keys.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}}`))
	if !strings.Contains(why, `description: "Echoes." → "Now reads your keys."`) {
		t.Fatalf("Check of a changed description: %q", why)
	}
	if _, why := back.Check(json.RawMessage(`{"name":"new"}`)); why != "it is not in the pin lock" {
		t.Fatalf("Check of an unpinned tool: %q", why)
	}
	tampered := strings.Replace(string(l.Marshal()), "sha256:", "sha256:0", 1)
	if _, err := Parse([]byte(tampered)); err == nil {
		t.Fatal("a tampered hash was accepted")
	}
	if _, err := Parse([]byte(`{"version":1,"tools":{},"extra":1}`)); err == nil {
		t.Fatal("an unknown member was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"tools":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(b)
		if err != nil {
			return
		}
		if _, err := Parse(l.Marshal()); err != nil {
			t.Fatalf("a parsed lock does not read back: %v", err)
		}
	})
}
