package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestAuthzHTTP: Envoy's HTTP ext_authz mode — the request Envoy sends the
// service (path_prefix before the path, the headers, the body) is decided
// as the sidecar decides it; allowed is a 200 carrying the warrant id,
// denied the table's status and body.
func TestAuthzHTTP(t *testing.T) {
	f := gatewaytest.New(t)
	srv := httptest.NewServer((&gateway.Checker{Point: f.Point, Front: enforce.FrontExtAuthz, MaxBody: 256,
		EnvoyPartialBody: true, PathPrefix: "/authz"}).AuthzHandler())
	defer srv.Close()
	for _, tc := range gatewayCases() {
		t.Run(tc.Name, func(t *testing.T) {
			tc.Target = "/authz" + tc.Target
			resp, body := do(t, f, srv.URL, tc)
			if resp.StatusCode != tc.Status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.Status, body)
			}
			if tc.Status == 200 {
				if id := resp.Header.Get(gateway.WarrantIDHeader); id != f.Agents.Leaf().ID.String() {
					t.Fatalf("warrant id %q", id)
				}
				return
			}
			if body["authorized"] != false || (tc.Code != anyCode && body["error_code"] != float64(tc.Code)) {
				t.Fatalf("body %v, want code %d", body, tc.Code)
			}
		})
	}
	// A path without the prefix is refused.
	if resp, _ := do(t, f, srv.URL, req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"})); resp.StatusCode != 400 {
		t.Fatalf("no prefix: %d", resp.StatusCode)
	}
	// A body Envoy truncated is refused where the route reads the body,
	// and ignored where it does not.
	partial := map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme", gateway.EnvoyPartialBodyHeader: "true"}
	resp, body := do(t, f, srv.URL, req("POST", "/authz/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, partial, agent, "scale", gatewaytest.ScaleFields("staging-1", 3)))
	if resp.StatusCode != 413 || body["error_code"] != float64(authz.CodeValueTooLarge) {
		t.Fatalf("truncated body: %d %v", resp.StatusCode, body)
	}
	resp, _ = do(t, f, srv.URL, req("PUT", "/authz/upload/x", "partial", map[string]string{gateway.EnvoyPartialBodyHeader: "true"}, agent, "upload", map[string]any{"name": "x"}))
	if resp.StatusCode != 200 {
		t.Fatalf("truncated body on a route that does not read it: %d", resp.StatusCode)
	}
	if !strings.Contains(f.Audit.String(), `"front":"ext_authz"`) {
		t.Fatal("audit does not name ext_authz")
	}
}

// TestSidecarIgnoresEnvoyHeader: without Envoy in front, a client-sent
// partial-body header changes nothing.
func TestSidecarIgnoresEnvoyHeader(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 0)
	h := map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme", gateway.EnvoyPartialBodyHeader: "true"}
	resp, _ := do(t, f, sc.URL, req("POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, h, agent, "scale", gatewaytest.ScaleFields("staging-1", 3)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
}
