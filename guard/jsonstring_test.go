package guard_test

import (
	"encoding/json"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/guard"
)

// FuzzJSONString: the request id's JSON is json.Marshal's, byte for byte,
// whichever way it is built.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"rid-1", "a\"b", "a\\b", "<&>", "\x00", "é", "\xff", "\u2028", "~\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := guard.JSONString(s)
		if s == "" {
			if got != nil {
				t.Fatalf("empty id: %q", got)
			}
			return
		}
		want, _ := json.Marshal(s)
		if string(got) != string(want) {
			t.Fatalf("%q: %s, json.Marshal gives %s", s, got, want)
		}
	})
}
