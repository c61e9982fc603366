package gateway_test

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestAuthzHTTPHeadersToRemove: in Envoy's HTTP ext_authz mode the answer
// sets headers on the upstream request (allowed_upstream_headers) but
// removes none unless it lists them in x-envoy-auth-headers-to-remove. A
// request let through without a warrant id (audit mode) kept a client's
// forged X-Tenuo-Warrant-Id for the upstream, and the credentials always
// reached it. As in the gRPC mode and the sidecar: the credential headers
// are removed (unless forwarded by configuration), and X-Tenuo-Warrant-Id
// whenever the answer does not set it.
func TestAuthzHTTPHeadersToRemove(t *testing.T) {
	f := gatewaytest.New(t)
	removed := func(h string) []string {
		var out []string
		for v := range strings.SplitSeq(h, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		slices.Sort(out)
		return out
	}
	creds := []string{"x-tenuo-approvals", "x-tenuo-pop", "x-tenuo-warrant"}
	allowed := req("GET", "/authz/files?path=/data/a", "", map[string]string{gateway.WarrantIDHeader: "tnu_wrt_forged"}, agent, "read", map[string]any{"path": "/data/a"})
	denied := req("GET", "/authz/files?path=/etc/passwd", "", map[string]string{gateway.WarrantIDHeader: "tnu_wrt_forged"}, agent, "read", map[string]any{"path": "/etc/passwd"})
	for _, tc := range []struct {
		name    string
		audit   bool
		forward bool
		c       gatewaytest.Case
		want    []string
		id      bool
	}{
		{"allowed", false, false, allowed, creds, true},
		{"allowed, credentials forwarded", false, true, allowed, nil, true},
		{"audit mode", true, false, denied, append(slices.Clone(creds), "x-tenuo-warrant-id"), false},
		{"audit mode, credentials forwarded", true, true, denied, []string{"x-tenuo-warrant-id"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := f.NewPoint(f.Authorizer)
			p.AuditMode = tc.audit
			c := &gateway.Checker{Point: p, Front: enforce.FrontExtAuthz, EnvoyPartialBody: true, PathPrefix: "/authz"}
			srv := httptest.NewServer(c.AuthzHandlerForwarding(tc.forward))
			defer srv.Close()
			resp, body := do(t, f, srv.URL, tc.c)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if got := removed(resp.Header.Get("X-Envoy-Auth-Headers-To-Remove")); !slices.Equal(got, tc.want) {
				t.Errorf("headers to remove %q, want %q", got, tc.want)
			}
			if id := resp.Header.Get(gateway.WarrantIDHeader); (id == f.Agents.Leaf().ID.String()) != tc.id || id == "tnu_wrt_forged" {
				t.Errorf("warrant id %q", id)
			}
		})
	}
}
