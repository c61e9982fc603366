package extauthz

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestCheckRawNULInQuery: Envoy passes the path as the client sent it, so a
// raw NUL (not %00) in the query of a route that reads the query must be
// denied, never allowed, even with a PoP signed over the value with the NUL
// (which "/data/*" allows and a C reader would cut to "/data/a").
func TestCheckRawNULInQuery(t *testing.T) {
	f := gatewaytest.New(t)
	client := serveWith(t, newServer(f), ServerOptions(1<<20)...)
	var c gatewaytest.Case
	for _, tc := range gatewaytest.Cases() {
		if tc.Name == "query: a NUL in a value" {
			c = tc
		}
	}
	if c.Name == "" {
		t.Fatal("the table has no NUL-in-a-value case")
	}
	c.Target = "/files?path=/data/a\x00.txt" // raw, as a client may send it to Envoy
	for _, raw := range []bool{false, true} {
		resp, err := client.Check(t.Context(), envoyRequest(t, f, c, raw))
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus().GetCode() != int32(codes.PermissionDenied) || resp.GetDeniedResponse().GetStatus().GetCode() != 400 {
			t.Errorf("raw=%v: a raw NUL in the query: %v, want denied with 400", raw, resp)
		}
	}
}
