package gateway_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// TestSwappedPointDecidesWholeRequest: with Checker.Current, a request is
// decided and forwarded by the one point in force when it arrived (read
// once), and the next request by the point swapped in. The second point
// reads the warrant from another header: had the forwarding step read the
// point again, it would strip that header and forward X-Tenuo-Warrant.
func TestSwappedPointDecidesWholeRequest(t *testing.T) {
	f := gatewaytest.New(t)
	tm, err := toolmap.Parse([]byte(strings.Replace(gatewaytest.ConfigYAML, "settings:\n",
		"settings:\n  warrant_header: X-Other-Warrant\n  pop_header: X-Other-PoP\n", 1)), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	second := &enforce.Point{Authorizer: f.Authorizer, ToolMap: tm, Audit: f.Audit}
	var loads atomic.Int32
	current := func() *enforce.Point {
		if loads.Add(1) == 1 {
			return f.Point
		}
		return second
	}
	up := newUpstream(t)
	u, _ := url.Parse(up.URL)
	sc, err := gateway.NewSidecar(gateway.SidecarConfig{Checker: gateway.Checker{Current: current}, Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sc)
	defer srv.Close()

	c := req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"})
	if resp, body := do(t, f, srv.URL, c); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %v", resp.StatusCode, body)
	}
	if n := loads.Load(); n != 1 {
		t.Fatalf("the point was read %d times for one request, want once", n)
	}
	if got := up.last(t); got.Header.Get("X-Tenuo-Warrant") != "" || got.Header.Get("X-Tenuo-Pop") != "" {
		t.Fatalf("the credentials of the point that decided were forwarded: %v", got.Header)
	}
	// The second point reads X-Other-Warrant: the request carries none.
	if resp, body := do(t, f, srv.URL, c); resp.StatusCode != 401 {
		t.Fatalf("after the swap: %d %v, want 401 (no warrant in X-Other-Warrant)", resp.StatusCode, body)
	}
	if up.count() != 1 {
		t.Fatal("the request denied by the new point reached the upstream")
	}
}
