package extauthz

import (
	"strconv"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc/codes"

	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestCheckMergedBodyNotSent: on a route that reads the query, a request
// with a form body is decided on that body's fields (a server merging them
// over the query's would act on them). When Envoy did not send the body
// (no with_request_body, or cut at max_request_bytes), or sent only part of
// it, nothing shows that the body lacks a field for the query key: denied
// with 400, never allowed. A body in a type no server merges still passes.
func TestCheckMergedBodyNotSent(t *testing.T) {
	f := gatewaytest.New(t)
	client := serveWith(t, newServer(f), ServerOptions(1<<20)...)
	var c gatewaytest.Case
	for _, tc := range gatewaytest.Cases() {
		if tc.Name == "query: a form body's field for it" {
			c = tc
		}
	}
	if c.Name == "" {
		t.Fatal("the table has no form-body-for-a-query-key case")
	}
	body := c.Body // limit=100000
	for _, tc := range []struct {
		name    string
		headers map[string]string // added to the request's
		sent    string            // the body Envoy sends
		allowed bool
	}{
		{"not sent, Content-Length given", map[string]string{"content-length": strconv.Itoa(len(body))}, "", false},
		{"not sent, chunked", map[string]string{"transfer-encoding": "chunked"}, "", false},
		{"cut short by Content-Length", map[string]string{"content-length": strconv.Itoa(len(body))}, body[:5], false},
		{"marked partial", map[string]string{strings.ToLower(gateway.EnvoyPartialBodyHeader): "true"}, "q=x", false},
		{"whole, another field", map[string]string{"content-length": "3"}, "q=x", true},
		{"not sent, no body declared", nil, "", true},
	} {
		for _, raw := range []bool{false, true} {
			cc := c
			cc.Body = ""
			req := envoyRequest(t, f, cc, raw)
			hr := req.GetAttributes().GetRequest().GetHttp()
			for k, v := range tc.headers {
				if raw {
					hr.HeaderMap.Headers = append(hr.HeaderMap.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
				} else {
					hr.Headers[k] = v
				}
			}
			if raw {
				hr.RawBody = []byte(tc.sent)
			} else {
				hr.Body = tc.sent
			}
			resp, err := client.Check(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.GetOkResponse() != nil; got != tc.allowed {
				t.Errorf("%s (raw=%v): allowed %v, want %v: %v", tc.name, raw, got, tc.allowed, resp)
			}
			if !tc.allowed && (resp.GetStatus().GetCode() != int32(codes.PermissionDenied) || resp.GetDeniedResponse().GetStatus().GetCode() != 400) {
				t.Errorf("%s (raw=%v): %v, want denied with 400", tc.name, raw, resp)
			}
		}
	}
}
