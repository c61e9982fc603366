package gateway_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
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
	tm, err := toolmap.Parse([]byte(`version: "1"
tools:
  close:
    constraints:
      account: {from: body, path: account, type: integer, required: true}
routes:
  - pattern: "/close"
    method: POST
    tool: close
`), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w, err := authz.Mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"close": {Constraints: map[string]authz.Constraint{"account": &authz.NotOneOf{Excluded: []any{int64(9007199254740992)}}}},
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
		body    string
		account int64
		status  int
	}{
		{`{"account": 9007199254740993}`, 9007199254740993, http.StatusBadRequest},
		{`{"account": 1, "ids": [9007199254740993]}`, 1, http.StatusBadRequest},
		{`{"account": 9007199254740994}`, 9007199254740994, http.StatusOK}, // a double holds it
		{`{"account": 42}`, 42, http.StatusOK},
	} {
		before := up.count()
		resp, m := do(t, f, sc.URL, req("POST", "/close", tc.body, ct, stack, "close", map[string]any{"account": tc.account}))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.body, resp.StatusCode, m, tc.status)
		}
		if got := up.count() - before; (tc.status == http.StatusOK) != (got == 1) {
			t.Errorf("%s: the upstream got %d requests", tc.body, got)
		}
	}
	// A point that allows them (an upstream known to read integers
	// exactly) decides the body as it is.
	p.AllowInexactNumbers = true
	if resp, m := do(t, f, sc.URL, req("POST", "/close", `{"account": 9007199254740993}`, ct, stack, "close",
		map[string]any{"account": int64(9007199254740993)})); resp.StatusCode != http.StatusOK {
		t.Errorf("allowed inexact numbers: %d %v", resp.StatusCode, m)
	}
}
