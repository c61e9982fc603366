package extauthz

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestCheckPartialBodyAnyLine: Envoy marks a body it cut short with
// x-envoy-auth-partial-body: true; a client may send the header too. With
// the client's "false" first and Envoy's "true" after it, and no
// Content-Length to compare the body with (chunked, HTTP/2), the body cut
// short was decided as whole. Any line saying true marks it.
func TestCheckPartialBodyAnyLine(t *testing.T) {
	f := gatewaytest.New(t)
	client := serve(t, newServer(f))
	c := gatewaytest.Case{Method: "POST", Target: "/clusters/staging-1/scale", Body: `{"spec":{"replicas":3}}`,
		Header: gatewaytest.JSONHeaders(), Stack: func(f *gatewaytest.Fixture) authz.Stack { return f.Agents },
		Tool: "scale", Fields: gatewaytest.ScaleFields("staging-1", 3)}
	req := envoyRequest(t, f, c, true)
	hm := req.Attributes.Request.Http.HeaderMap
	kept := hm.Headers[:0]
	for _, h := range hm.Headers {
		if h.Key != "content-length" {
			kept = append(kept, h)
		}
	}
	hm.Headers = append(kept, &corev3.HeaderValue{Key: "x-envoy-auth-partial-body", RawValue: []byte("false")},
		&corev3.HeaderValue{Key: "x-envoy-auth-partial-body", RawValue: []byte("true")})
	resp, err := client.Check(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, f, resp, 413, authz.CodeValueTooLarge)
}
