package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// TestSidecarNULInBodyField: a JSON string may hold a NUL ("\u0000"); a
// server that hands the value to C (a file name, say) acts on what comes
// before it. Tenuo's Pattern already fails such a value (403), but other
// constraints do not look (a wildcard, a NotOneOf): {"tags": ["x\u0000y"]}
// was allowed. A field extracted with a NUL in a string (at any depth) is
// refused before the warrant (400), as a query value's is; the same body
// without one goes on.
func TestSidecarNULInBodyField(t *testing.T) {
	f := gatewaytest.New(t)
	tm, err := toolmap.Parse([]byte(`version: "1"
tools:
  open:
    constraints:
      name: {from: body, path: name, type: string, required: true}
      tags: {from: body, path: tags}
routes:
  - pattern: "/open"
    method: POST
    tool: open
`), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w, err := authz.Mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"open": {Constraints: map[string]authz.Constraint{"name": &authz.Pattern{Pattern: "*.txt"}, "tags": &authz.Wildcard{}}},
	}}, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	stack := func(*gatewaytest.Fixture) authz.Stack { return authz.Stack{w} }
	p := f.NewPoint(f.Authorizer)
	p.ToolMap = tm
	up := newUpstream(t)
	sc := newSidecar(t, p, up.URL, 0)
	ct := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		body   string
		fields map[string]any
		status int
	}{
		{`{"name": "secret\u0000.txt"}`, map[string]any{"name": "secret\x00.txt"}, http.StatusBadRequest},
		{`{"name": "a.txt", "tags": ["x\u0000y"]}`, map[string]any{"name": "a.txt", "tags": []any{"x\x00y"}}, http.StatusBadRequest},
		{`{"name": "a.txt", "tags": ["x"]}`, map[string]any{"name": "a.txt", "tags": []any{"x"}}, http.StatusOK},
	} {
		before := up.count()
		resp, m := do(t, f, sc.URL, req("POST", "/open", tc.body, ct, stack, "open", tc.fields))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.body, resp.StatusCode, m, tc.status)
		}
		if got := up.count() - before; (tc.status == http.StatusOK) != (got == 1) {
			t.Errorf("%s: the upstream got %d requests", tc.body, got)
		}
	}
}
