package gateway_test

import (
	"net/http"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestSidecarInexactIntegers: a JSON body's integer that no IEEE-754 double
// holds is checked exactly and acted on, by a server reading numbers as
// doubles (any JavaScript one), as its nearest double. A warrant that
// excludes account 9007199254740992 lets 9007199254740993 through; the
// upstream would act on …992. Such a body is refused (400) unless the
// decision point allows inexact numbers (--upstream-exact-integers), as MCP
// arguments are; a body with exact integers goes on.
func TestSidecarInexactIntegers(t *testing.T) {
	f := gatewaytest.New(t)
	p, up, sc, stack := toolSidecar(t, f, `version: "1"
tools:
  close:
    constraints:
      account: {from: body, path: account, type: integer, required: true}
routes:
  - pattern: "/close"
    method: POST
    tool: close
`, map[string]authz.ConstraintSet{
		"close": {Constraints: map[string]authz.Constraint{"account": &authz.NotOneOf{Excluded: []any{int64(9007199254740992)}}}},
	})
	ct := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		body    string
		account int64
		status  int
	}{
		{`{"account": 9007199254740993}`, 9007199254740993, http.StatusBadRequest},
		{`{"account": 1, "ids": [9007199254740993]}`, 1, http.StatusBadRequest},
		{`{"account": 9007199254740994}`, 9007199254740994, http.StatusOK}, // a double holds it
		{`{"account": 42}`, 42, http.StatusOK},
	} {
		wantStatus(t, f, sc, up, req("POST", "/close", tc.body, ct, stack, "close", map[string]any{"account": tc.account}), tc.status)
	}
	// A point that allows them (an upstream known to read integers
	// exactly) decides the body as it is.
	p.AllowInexactNumbers = true
	if resp, m := do(t, f, sc.URL, req("POST", "/close", `{"account": 9007199254740993}`, ct, stack, "close",
		map[string]any{"account": int64(9007199254740993)})); resp.StatusCode != http.StatusOK {
		t.Errorf("allowed inexact numbers: %d %v", resp.StatusCode, m)
	}
}
