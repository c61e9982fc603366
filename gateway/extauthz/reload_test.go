package extauthz

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// TestHeadersToRemoveFollowTheDecidingConfig: with Checker.Current (a
// reloaded configuration), Envoy is told to remove the credential headers
// of the configuration that decided each request — renamed ones after a
// reload that renames them, the defaults again after one that goes back —
// and X-Tenuo-Warrant-Id too when no warrant id is set (audit mode letting
// a denied request on).
func TestHeadersToRemoveFollowTheDecidingConfig(t *testing.T) {
	f := gatewaytest.New(t)
	tm, err := toolmap.Parse([]byte(strings.Replace(gatewaytest.ConfigYAML, "settings:\n",
		"settings:\n  warrant_header: X-Other-Warrant\n  pop_header: X-Other-PoP\n", 1)), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	renamed := &enforce.Point{Authorizer: f.Authorizer, ToolMap: tm, Audit: f.Audit}
	audit := &enforce.Point{Authorizer: f.Authorizer, ToolMap: f.ToolMap, Audit: f.Audit, AuditMode: true}
	var cur atomic.Pointer[enforce.Point]
	s := New(Config{Checker: gateway.Checker{Current: cur.Load}})
	c := gatewaytest.Cases()[0]
	rename := func(hs map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range hs {
			k = strings.NewReplacer("x-tenuo-warrant", "x-other-warrant", "x-tenuo-pop", "x-other-pop").Replace(k)
			out[k] = v
		}
		return out
	}
	for _, step := range []struct {
		name    string
		point   *enforce.Point
		renamed bool
		remove  string
	}{
		{"defaults", f.Point, false, "x-tenuo-warrant x-tenuo-pop x-tenuo-approvals"},
		{"renamed by a reload", renamed, true, "x-other-warrant x-other-pop x-tenuo-approvals"},
		{"back to the defaults", f.Point, false, "x-tenuo-warrant x-tenuo-pop x-tenuo-approvals"},
		{"audit mode, no warrant", audit, false, "x-tenuo-warrant x-tenuo-pop x-tenuo-approvals x-tenuo-warrant-id"},
	} {
		cur.Store(step.point)
		req := envoyRequest(t, f, c, false)
		if step.renamed {
			req.Attributes.Request.Http.Headers = rename(req.Attributes.Request.Http.Headers)
		}
		if step.point.AuditMode {
			h := req.Attributes.Request.Http.Headers
			delete(h, "x-tenuo-warrant")
			delete(h, "x-tenuo-pop")
		}
		resp, err := s.Check(t.Context(), req)
		ok := resp.GetOkResponse()
		if err != nil || ok == nil {
			t.Fatalf("%s: not allowed: %v %v", step.name, resp, err)
		}
		if got := strings.Join(ok.HeadersToRemove, " "); got != step.remove {
			t.Errorf("%s: headers removed %q, want %q", step.name, got, step.remove)
		}
	}
}
