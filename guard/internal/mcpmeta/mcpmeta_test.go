package mcpmeta

import (
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

func TestEnvelope(t *testing.T) {
	ok := map[string]any{"warrant": "w", "signature": "s", "approvals": []any{"a1", "a2"}}
	env, err := Envelope(map[string]any{"tenuo": ok, "other": 1}, true)
	if err != nil || env.Warrant != "w" || env.Signature != "s" || len(env.Approvals) != 2 || env.Source != enforce.SourceMeta {
		t.Fatalf("%+v %v", env, err)
	}
	if env, err := Envelope(map[string]any{"other": 1}, true); env != nil || err != nil {
		t.Fatalf("absent: %+v %v", env, err)
	}
	if env, err := Envelope(map[string]any{"tenuo": map[string]any{"warrant": "w"}}, false); err != nil || env.Warrant != "w" {
		t.Fatalf("a listing needs no signature: %+v %v", env, err)
	}
	bad := map[string]any{
		"not an object":         "w",
		"no warrant":            map[string]any{"signature": "s"},
		"no signature":          map[string]any{"warrant": "w"},
		"warrant not a string":  map[string]any{"warrant": 1, "signature": "s"},
		"unknown key":           map[string]any{"warrant": "w", "signature": "s", "extra": true},
		"approvals not a list":  map[string]any{"warrant": "w", "signature": "s", "approvals": "a"},
		"approval not a string": map[string]any{"warrant": "w", "signature": "s", "approvals": []any{1}},
		"warrant too long":      map[string]any{"warrant": strings.Repeat("A", enforce.MaxWarrantLen+1), "signature": "s"},
		"too many approvals":    map[string]any{"warrant": "w", "signature": "s", "approvals": make([]any, enforce.MaxApprovals+1)},
	}
	for name, v := range bad {
		if env, err := Envelope(map[string]any{"tenuo": v}, true); err == nil {
			t.Errorf("%s: accepted as %+v", name, env)
		}
	}
}

func TestStrip(t *testing.T) {
	in := map[string]any{"tenuo": 1, "trace": "t"}
	out := Strip(in)
	if _, ok := out["tenuo"]; ok || out["trace"] != "t" || in["tenuo"] != 1 {
		t.Fatalf("strip %v (input now %v)", out, in)
	}
	if out := Strip(map[string]any{"tenuo": 1}); out != nil {
		t.Fatalf("nothing left: %v", out)
	}
}

func TestTakeArguments(t *testing.T) {
	env, rest, err := TakeArguments([]byte(`{"path":"/data/a","_tenuo":{"warrant":"w","signature":"s"}}`))
	if err != nil || env == nil || env.Warrant != "w" || env.Source != enforce.SourceArguments || string(rest) != `{"path":"/data/a"}` {
		t.Fatalf("%+v %s %v", env, rest, err)
	}
	// An escaped key is the same key.
	if env, _, err := TakeArguments([]byte(`{"\u005ftenuo":{"warrant":"w","signature":"s"}}`)); err != nil || env == nil {
		t.Fatalf("escaped key: %+v %v", env, err)
	}
	in := []byte(`{"path":"/data/_tenuo-notes"}`)
	if env, rest, err := TakeArguments(in); env != nil || err != nil || string(rest) != string(in) {
		t.Fatalf("no envelope: %+v %s %v", env, rest, err)
	}
	if _, _, err := TakeArguments([]byte(`{"_tenuo":{"warrant":"w"}}`)); err == nil {
		t.Fatal("an in-band envelope without a signature accepted")
	}
	a := &enforce.Envelope{Warrant: "w", Signature: "s"}
	b := &enforce.Envelope{Warrant: "w", Signature: "t"}
	if e, err := Pick(a, a); e != a || err != nil {
		t.Fatal("agreeing envelopes")
	}
	if _, err := Pick(a, b); err == nil {
		t.Fatal("disagreeing envelopes accepted")
	}
	if e, _ := Pick(nil, b); e != b {
		t.Fatal("in-band alone")
	}
}
