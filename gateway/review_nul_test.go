package gateway_test

import (
	"net/http"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
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
	_, up, sc, stack := toolSidecar(t, f, `version: "1"
tools:
  open:
    constraints:
      name: {from: body, path: name, type: string, required: true}
      tags: {from: body, path: tags}
routes:
  - pattern: "/open"
    method: POST
    tool: open
`, map[string]authz.ConstraintSet{
		"open": {Constraints: map[string]authz.Constraint{"name": &authz.Pattern{Pattern: "*.txt"}, "tags": &authz.Wildcard{}}},
	})
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
		wantStatus(t, f, sc, up, req("POST", "/open", tc.body, ct, stack, "open", tc.fields), tc.status)
	}
}
