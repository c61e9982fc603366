package extauthz

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
)

// serve starts the service on a real gRPC server on 127.0.0.1 and returns
// a client.
func serve(t testing.TB, s *Server) authv3.AuthorizationClient { return serveWith(t, s) }

// serveWith serves s on a gRPC server with opts.
func serveWith(t testing.TB, s *Server, opts ...grpc.ServerOption) authv3.AuthorizationClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(opts...)
	s.Register(g)
	go g.Serve(l)
	t.Cleanup(g.Stop)
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return authv3.NewAuthorizationClient(cc)
}

// envoyRequest is the CheckRequest Envoy sends for a case: lower-case
// header names with the pseudo-headers, and either the headers map with a
// string body, or header_map (encode_raw_headers) with raw_body
// (pack_as_bytes).
func envoyRequest(t testing.TB, f *gatewaytest.Fixture, c gatewaytest.Case, raw bool) *authv3.CheckRequest {
	h := c.Headers(t, f)
	hr := &authv3.AttributeContext_HttpRequest{Id: "rid-1", Method: c.Method, Path: c.Target, Host: "api.example",
		Scheme: "http", Protocol: "HTTP/1.1"}
	pairs := [][2]string{{":method", c.Method}, {":path", c.Target}, {":authority", "api.example"}}
	if c.Body != "" {
		pairs = append(pairs, [2]string{"content-length", strconv.Itoa(len(c.Body))})
	}
	for k, vs := range h {
		for _, v := range vs {
			pairs = append(pairs, [2]string{strings.ToLower(k), v})
		}
	}
	if raw {
		hr.HeaderMap = &corev3.HeaderMap{}
		for _, p := range pairs {
			hr.HeaderMap.Headers = append(hr.HeaderMap.Headers, &corev3.HeaderValue{Key: p[0], RawValue: []byte(p[1])})
		}
		hr.RawBody = []byte(c.Body)
	} else {
		hr.Headers = map[string]string{}
		for _, p := range pairs {
			if old, ok := hr.Headers[p[0]]; ok {
				hr.Headers[p[0]] = old + "," + p[1] // as Envoy joins repeated headers
			} else {
				hr.Headers[p[0]] = p[1]
			}
		}
		hr.Body = c.Body
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: hr}}}
}

func newServer(f *gatewaytest.Fixture) *Server {
	return New(Config{Checker: gateway.Checker{Point: f.Point, MaxBody: 256}})
}

// TestCheck: a real gRPC client calls Check with Envoy-shaped requests for
// every case of the gateways' table, in both of Envoy's encodings, on a
// server with gRPC's defaults (its proto codec) and on one with
// ServerOptions (the service's codec).
func TestCheck(t *testing.T) {
	f := gatewaytest.New(t)
	clients := map[string]authv3.AuthorizationClient{
		"defaults": serve(t, newServer(f)), "ServerOptions": serveWith(t, newServer(f), ServerOptions(1<<20)...)}
	for name, client := range clients {
		for _, raw := range []bool{false, true} {
			for _, tc := range gatewaytest.Cases() {
				t.Run(fmt.Sprintf("%s/%s/raw=%v", name, tc.Name, raw), func(t *testing.T) {
					resp, err := client.Check(t.Context(), envoyRequest(t, f, tc, raw))
					if err != nil {
						t.Fatal(err)
					}
					checkResponse(t, f, resp, tc.Status, tc.Code)
				})
			}
		}
	}
	if !strings.Contains(f.Audit.String(), `"front":"ext_authz"`) {
		t.Fatal("audit does not name ext_authz")
	}
}

func checkResponse(t *testing.T, f *gatewaytest.Fixture, resp *authv3.CheckResponse, status int, code authz.Code) {
	t.Helper()
	if status == 200 {
		ok := resp.GetOkResponse()
		if resp.GetStatus().GetCode() != int32(codes.OK) || ok == nil {
			t.Fatalf("not allowed: %v", resp)
		}
		if len(ok.Headers) != 1 || ok.Headers[0].Header.Key != "x-tenuo-warrant-id" || ok.Headers[0].Header.Value != f.Agents.Leaf().ID.String() ||
			ok.Headers[0].AppendAction != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Fatalf("headers for the upstream: %v", ok.Headers)
		}
		if strings.Join(ok.HeadersToRemove, " ") != "x-tenuo-warrant x-tenuo-pop x-tenuo-approvals" {
			t.Fatalf("headers removed: %v", ok.HeadersToRemove)
		}
		return
	}
	d := resp.GetDeniedResponse()
	if resp.GetStatus().GetCode() != int32(codes.PermissionDenied) || d == nil {
		t.Fatalf("not denied: %v", resp)
	}
	if int(d.GetStatus().GetCode()) != status {
		t.Fatalf("status %d, want %d: %s", d.GetStatus().GetCode(), status, d.Body)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(d.Body), &body); err != nil {
		t.Fatalf("body %q: %v", d.Body, err)
	}
	if body["authorized"] != false || (code != gatewaytest.AnyCode && body["error_code"] != float64(code)) {
		t.Fatalf("body %v, want code %d", body, code)
	}
	if len(d.Headers) == 0 || d.Headers[0].Header.Key != "content-type" || d.Headers[0].Header.Value != "application/json" {
		t.Fatalf("denial headers %v", d.Headers)
	}
}

// TestCheckMalformed: a CheckRequest that does not describe an HTTP
// request is denied as malformed, never allowed.
func TestCheckMalformed(t *testing.T) {
	f := gatewaytest.New(t)
	f.Point.AuditMode = true // even in audit mode
	client := serve(t, newServer(f))
	hr := func(method, path string) *authv3.CheckRequest {
		return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path}}}}
	}
	for name, req := range map[string]*authv3.CheckRequest{
		"empty":         {},
		"no request":    {Attributes: &authv3.AttributeContext{}},
		"no method":     hr("", "/files"),
		"no path":       hr("GET", ""),
		"absolute path": hr("GET", "http://evil.example/files"),
		"bad method":    hr("G T", "/files"),
		"bad target":    hr("GET", "files"),
	} {
		resp, err := client.Check(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := resp.GetDeniedResponse()
		if resp.GetStatus().GetCode() != int32(codes.PermissionDenied) || d == nil || d.Status.Code != 400 {
			t.Errorf("%s: %v", name, resp)
		}
	}
}

// TestCheckPartialBody: a body Envoy truncated (allow_partial_message) is
// denied on a route that extracts from the body, and passes on one that
// does not.
func TestCheckPartialBody(t *testing.T) {
	f := gatewaytest.New(t)
	client := serve(t, newServer(f))
	for _, raw := range []bool{false, true} {
		c := gatewaytest.Case{Method: "POST", Target: "/clusters/staging-1/scale", Body: `{"spec":{"replicas":3}}`,
			Header: map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme", "X-Envoy-Auth-Partial-Body": "true"},
			Stack:  func(f *gatewaytest.Fixture) authz.Stack { return f.Agents }, Tool: "scale", Fields: gatewaytest.ScaleFields("staging-1", 3)}
		resp, err := client.Check(t.Context(), envoyRequest(t, f, c, raw))
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, f, resp, 413, authz.CodeValueTooLarge)
		c.Header["X-Envoy-Auth-Partial-Body"] = "false"
		resp, _ = client.Check(t.Context(), envoyRequest(t, f, c, raw))
		checkResponse(t, f, resp, 200, 0)
		up := gatewaytest.Case{Method: "PUT", Target: "/upload/x", Body: "cut short", Header: map[string]string{"X-Envoy-Auth-Partial-Body": "true"},
			Stack: c.Stack, Tool: "upload", Fields: map[string]any{"name": "x"}}
		resp, _ = client.Check(t.Context(), envoyRequest(t, f, up, raw))
		checkResponse(t, f, resp, 200, 0)
	}
}

// TestCheckBodyNotSent: on a route that extracts from the body, a check
// request whose body is not the request's (its Content-Length says more,
// or less: Envoy was not configured with with_request_body, or sent
// something else) is refused, not decided on the bytes that came.
func TestCheckBodyNotSent(t *testing.T) {
	f := gatewaytest.New(t)
	client := serve(t, newServer(f))
	scale := gatewaytest.Case{Method: "POST", Target: "/clusters/staging-1/scale", Body: `{"spec":{"replicas":3}}`,
		Header: gatewaytest.JSONHeaders(), Stack: func(f *gatewaytest.Fixture) authz.Stack { return f.Agents },
		Tool: "scale", Fields: gatewaytest.ScaleFields("staging-1", 3)}
	for _, raw := range []bool{false, true} {
		for _, body := range []string{"", `{"spec":{}}`, scale.Body + " "} {
			req := envoyRequest(t, f, scale, raw)
			hr := req.Attributes.Request.Http
			if raw {
				hr.RawBody = []byte(body)
			} else {
				hr.Body = body
			}
			resp, err := client.Check(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			checkResponse(t, f, resp, 400, authz.CodeInvalidEnvelopeStructure)
		}
		resp, _ := client.Check(t.Context(), envoyRequest(t, f, scale, raw))
		checkResponse(t, f, resp, 200, 0)
		// Two Content-Length values are refused too.
		req := envoyRequest(t, f, scale, true)
		req.Attributes.Request.Http.HeaderMap.Headers = append(req.Attributes.Request.Http.HeaderMap.Headers,
			&corev3.HeaderValue{Key: "content-length", RawValue: []byte("5")})
		resp, _ = client.Check(t.Context(), req)
		checkResponse(t, f, resp, 400, authz.CodeInvalidEnvelopeStructure)
	}
}

// TestCheckDenialTable runs enforce's one table of denials through the
// service's rendering: the authorizer-style middleware's answer, turned
// into PERMISSION_DENIED with the same status and body.
func TestCheckDenialTable(t *testing.T) {
	for _, dc := range enforce.DenialCases() {
		rec := &recorder{header: http.Header{}}
		(&guard.HTTP{AuthorizerStyle: true}).Deny(rec, dc.Result, "r1")
		a := deniedAnswer(rec.status, rec.header, rec.body.Bytes(), "")
		resp := a.proto()
		d := resp.GetDeniedResponse()
		if resp.Status.Code != int32(codes.PermissionDenied) || int(d.Status.Code) != dc.HTTPAuthorizer {
			t.Errorf("%s: %v, want %d", dc.Name, resp, dc.HTTPAuthorizer)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(d.Body), &body); err != nil || body["error_code"] != float64(dc.Result.Denial.Code) || body["request_id"] != "r1" {
			t.Errorf("%s: body %s", dc.Name, d.Body)
		}
	}
}

// TestCheckInterceptor: on a server with a unary interceptor, the
// interceptor is given the generated CheckRequest (and Check's answer),
// and the decisions are the same.
func TestCheckInterceptor(t *testing.T) {
	f := gatewaytest.New(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	g := grpc.NewServer(append(ServerOptions(1<<20), grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%T %s", req, req.(*authv3.CheckRequest).GetAttributes().GetRequest().GetHttp().GetPath()))
		mu.Unlock()
		return h(ctx, req)
	}))...)
	newServer(f).Register(g)
	go g.Serve(l)
	t.Cleanup(g.Stop)
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := authv3.NewAuthorizationClient(cc)
	for _, tc := range gatewaytest.Cases()[:8] {
		resp, err := client.Check(t.Context(), envoyRequest(t, f, tc, true))
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, f, resp, tc.Status, tc.Code)
	}
	if len(seen) != 8 || seen[0] != "*authv3.CheckRequest /files?path=/data/a" {
		t.Fatalf("the interceptor saw %q", seen)
	}
}

// TestCheckForwardCredentials: configured to, Envoy leaves the credentials
// on the upstream request.
func TestCheckForwardCredentials(t *testing.T) {
	f := gatewaytest.New(t)
	s := New(Config{Checker: gateway.Checker{Point: f.Point}, ForwardCredentials: true})
	c := gatewaytest.Cases()[0]
	resp, err := s.Check(t.Context(), envoyRequest(t, f, c, true))
	if err != nil || resp.GetOkResponse() == nil || len(resp.GetOkResponse().HeadersToRemove) != 0 {
		t.Fatalf("%v %v", resp, err)
	}
}

// TestCheckConcurrent: 16 in flight at once, allowed and denied, -race.
func TestCheckConcurrent(t *testing.T) {
	f := gatewaytest.New(t)
	client := serve(t, newServer(f))
	cases := gatewaytest.Cases()
	var wg sync.WaitGroup
	errs := make(chan string, 16*len(cases))
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				tc := cases[(i+w)%len(cases)]
				resp, err := client.Check(context.Background(), envoyRequest(t, f, tc, w%2 == 0))
				if err != nil {
					errs <- err.Error()
					continue
				}
				got := 200
				if d := resp.GetDeniedResponse(); d != nil {
					got = int(d.Status.Code)
				}
				if got != tc.Status {
					errs <- fmt.Sprintf("%s: %d, want %d", tc.Name, got, tc.Status)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// FuzzCheck: any method, path, headers and body: no panic, and nothing
// without a warrant is allowed.
func FuzzCheck(f *testing.F) {
	f.Add("GET", "/files?path=/data/a", "x-tenuo-warrant", "AAAA", "")
	f.Add("POST", "/clusters/a/scale", "content-type", "application/json", `{"spec":{"replicas":1}}`)
	f.Add("HEAD", "/%2e%2e/", ":authority", "h", "")
	fx := gatewaytest.New(f)
	s := newServer(fx)
	f.Fuzz(func(t *testing.T, method, path, hk, hv, body string) {
		for _, raw := range []bool{false, true} {
			hr := &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Headers: map[string]string{hk: hv}, Body: body}
			if raw {
				hr = &authv3.AttributeContext_HttpRequest{Method: method, Path: path, RawBody: []byte(body),
					HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: hk, RawValue: []byte(hv)}}}}
			}
			resp, err := s.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: hr}}})
			if err != nil || resp.GetOkResponse() != nil || resp.GetDeniedResponse() == nil {
				t.Fatalf("%q %q: %v %v", method, path, resp, err)
			}
		}
	})
}

// TestCheckJoinedHeaders: in the headers map (without Envoy's
// encode_raw_headers) Envoy joins a repeated header's values with ",", so
// a value with a comma may stand for several header lines, of which the
// upstream may read any: it is read as those lines, and a header the
// route extracts is then refused for its several values, as the sidecar
// and header_map refuse the lines themselves, even where the joined value
// would pass the constraint.
func TestCheckJoinedHeaders(t *testing.T) {
	f := gatewaytest.New(t)
	client := serve(t, newServer(f))
	for _, tenant := range []string{"acme,evil", "acme, evil", "acme,"} {
		c := gatewaytest.Case{Method: "POST", Target: "/clusters/staging-1/scale", Body: `{"spec":{"replicas":3}}`,
			Header: map[string]string{"Content-Type": "application/json", "X-Tenant-Id": tenant}, Stack: func(f *gatewaytest.Fixture) authz.Stack { return f.Agents },
			Tool: "scale", Fields: map[string]any{"cluster": "staging-1", "replicas": int64(3), "tenant": tenant, "mode": "scale"}}
		resp, err := client.Check(t.Context(), envoyRequest(t, f, c, false))
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, f, resp, 403, authz.CodeConstraintViolation)
	}
}
