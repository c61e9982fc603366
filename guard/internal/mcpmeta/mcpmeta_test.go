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
