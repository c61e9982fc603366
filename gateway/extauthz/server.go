// Package extauthz is Envoy's external authorization service over gRPC
// (envoy.service.auth.v3.Authorization/Check) for Tenuo warrants: each
// CheckRequest's method, path, headers and body become the HTTP request
// that [gateway.Checker] decides — the same decision, by the same code, as
// the sidecar and Envoy's HTTP ext_authz mode — and its answer becomes the
// CheckResponse. It lives apart from package gateway so that sidecar users
// do not link gRPC.
//
// An allowed request is OK with X-Tenuo-Warrant-Id set for the upstream
// and the credential headers removed (unless forwarded by configuration);
// a denied one is PERMISSION_DENIED with the status and JSON body of
// enforce's one table, which Envoy answers the client with. A CheckRequest
// without the HTTP attributes, or with a path that does not parse, is
// denied as malformed, never allowed. Health, readiness and metrics are
// not served on the gRPC port (see gateway.AdminHandler).
package extauthz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
)

// Config configures [New].
type Config struct {
	// Checker decides. Its Front defaults to enforce.FrontExtAuthz, and
	// EnvoyPartialBody is always on (Envoy sets the header).
	Checker gateway.Checker
	// ForwardCredentials leaves the warrant, PoP and approval headers on the
	// upstream request. The zero value has Envoy remove them.
	ForwardCredentials bool
}

// Server is the Authorization service. It is safe for concurrent use.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	checker     *gateway.Checker
	handler     http.Handler
	forwardCred bool
	names       atomic.Pointer[headerNames] // of the credential headers last seen
}

// headerNames are one configuration's credential headers as Envoy names
// them (lower case) and as net/http does (canonical), worked out once per
// configuration rather than per request.
type headerNames struct {
	creds     [3]string
	remove    []string          // the credential headers, lower case
	removeID  []string          // and X-Tenuo-Warrant-Id
	canonical map[string]string // lower case to canonical, for headers most requests carry
}

var lowerWarrantID = strings.ToLower(gateway.WarrantIDHeader)

func newHeaderNames(creds [3]string) *headerNames {
	n := &headerNames{creds: creds, canonical: map[string]string{}}
	for _, h := range append(creds[:], gateway.WarrantIDHeader, "X-Request-Id") {
		l := strings.ToLower(h)
		n.canonical[l] = http.CanonicalHeaderKey(l)
	}
	for _, h := range creds {
		n.remove = append(n.remove, strings.ToLower(h))
	}
	n.remove = slices.Clip(n.remove) // shared by responses: an append copies
	n.removeID = slices.Clip(append(slices.Clone(n.remove), lowerWarrantID))
	return n
}

// namesFor returns the names of creds, from the cache when they are the
// last seen.
func (s *Server) namesFor(creds [3]string) *headerNames {
	if n := s.names.Load(); n != nil && n.creds == creds {
		return n
	}
	n := newHeaderNames(creds)
	s.names.Store(n)
	return n
}

var _ authv3.AuthorizationServer = (*Server)(nil)

// New returns the service for cfg.
func New(cfg Config) *Server {
	c := cfg.Checker
	if c.Front == "" {
		c.Front = enforce.FrontExtAuthz
	}
	c.EnvoyPartialBody = true
	s := &Server{checker: &c, forwardCred: cfg.ForwardCredentials}
	s.names.Store(newHeaderNames(gateway.CredentialHeaders(&http.Request{})))
	// Behind the checker: an allowed request's warrant id and the
	// credential headers of the configuration that decided it, for the
	// OkHttpResponse.
	s.handler = c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*recorder)
		if !ok {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		rec.allowed = true
		rec.warrantID = gateway.AllowedWarrantID(r)
		if !s.forwardCred {
			rec.creds = gateway.CredentialHeaders(r)
		}
		rec.WriteHeader(http.StatusOK)
	}))
	return s
}

// ServerOptions are the gRPC server options the service is meant to run
// with: messages up to maxMsg bytes (the largest body Envoy is configured
// to send, plus headers), and one stream worker per CPU, which keeps the
// grown stacks of goroutines that verify signatures instead of growing a
// new goroutine's stack for every Check (a fifth of a decision's CPU time
// otherwise, measured by BenchmarkCheckServerCPU).
func ServerOptions(maxMsg int) []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMsg), grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0)))}
}

// Register registers the service on g.
func (s *Server) Register(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, s) }

// Check decides one request. It never returns an error and never panics:
// anything unexpected is a denial.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (resp *authv3.CheckResponse, _ error) {
	defer func() {
		if p := recover(); p != nil {
			resp = denied(http.StatusForbidden, nil, []byte(`{"authorized":false,"error":"internal"}`), "internal error")
		}
	}()
	rec := &recorder{header: http.Header{}}
	hreq := req.GetAttributes().GetRequest().GetHttp()
	r, err := httpRequest(ctx, hreq, s.names.Load().canonical)
	if err != nil {
		s.checker.Refuse(ctx, rec, hreq.GetId(), err)
	} else {
		s.handler.ServeHTTP(rec, r)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status != http.StatusOK || !rec.allowed {
		if rec.status == http.StatusOK {
			rec.status = http.StatusForbidden // never an allow that the checker did not give
		}
		return denied(rec.status, rec.header, rec.body.Bytes(), http.StatusText(rec.status)), nil
	}
	ok := &authv3.OkHttpResponse{}
	id := rec.warrantID
	switch {
	case s.forwardCred && id == "":
		ok.HeadersToRemove = []string{lowerWarrantID}
	case s.forwardCred:
	case id == "":
		ok.HeadersToRemove = s.namesFor(rec.creds).removeID
	default:
		ok.HeadersToRemove = s.namesFor(rec.creds).remove
	}
	if id != "" {
		ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: lowerWarrantID, Value: id},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok}}, nil
}

func denied(status int, h http.Header, body []byte, msg string) *authv3.CheckResponse {
	d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(status)}, Body: string(body)}
	for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options"} {
		if v := h.Get(k); v != "" {
			d.Headers = append(d.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: v},
				AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
			})
		}
	}
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.PermissionDenied), Message: msg},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d}}
}

// httpRequest is the request Envoy describes: its method, target (path and
// query as sent), host, headers — from header_map when Envoy sends it
// (encode_raw_headers: each value apart, raw bytes preferred), else the
// headers map, where Envoy has joined repeated headers with "," — and body
// (raw_body when packed as bytes, else body).
func httpRequest(ctx context.Context, h *authv3.AttributeContext_HttpRequest, canonical map[string]string) (*http.Request, error) {
	switch {
	case h == nil:
		return nil, errors.New("the check request has no HTTP attributes")
	case h.GetMethod() == "":
		return nil, errors.New("the check request has no method")
	case h.GetPath() == "":
		return nil, errors.New("the check request has no path")
	}
	u, err := url.ParseRequestURI(h.GetPath())
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, errors.New("the check request's path is not an origin-form request target")
	}
	body := h.GetRawBody()
	if len(body) == 0 && h.GetBody() != "" {
		body = []byte(h.GetBody())
	}
	r, err := http.NewRequestWithContext(ctx, h.GetMethod(), "http://envoy", nil)
	if err != nil {
		return nil, fmt.Errorf("the check request's method is not valid")
	}
	r.URL = u
	r.RequestURI = h.GetPath()
	r.Host = h.GetHost()
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	add := func(k string, v string) {
		if strings.HasPrefix(k, ":") {
			if k == ":authority" && r.Host == "" {
				r.Host = v
			}
			return // pseudo-headers: method and path are read above
		}
		if ck, ok := canonical[k]; ok { // as Header.Add would store it, without working it out again
			r.Header[ck] = append(r.Header[ck], v)
			return
		}
		r.Header.Add(k, v)
	}
	if hm := h.GetHeaderMap(); hm != nil && len(hm.GetHeaders()) > 0 {
		for _, hv := range hm.GetHeaders() {
			v := hv.GetValue()
			if raw := hv.GetRawValue(); len(raw) > 0 {
				v = string(raw)
			}
			add(hv.GetKey(), v)
		}
	} else {
		for k, v := range h.GetHeaders() {
			add(k, v)
		}
	}
	return r, nil
}

// recorder is the response the checker writes, kept for the CheckResponse.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer

	allowed   bool // the checker let the request go on
	warrantID string
	creds     [3]string
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
