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
// denied as malformed, never allowed; so is one that does not decode (a
// header value that is not UTF-8 in the headers map, as Envoy without
// encode_raw_headers may send one), rather than failing the RPC, which
// Envoy's failure_mode_allow would let through (with a unary interceptor,
// which is given the generated messages, such a request fails the RPC).
// A value of the headers map (Envoy without encode_raw_headers) is read as the repeated header lines Envoy
// may have joined into it with ",". On a route that extracts from the
// body, the body Envoy sends must be the request's whole body: one it
// marks as cut short (allow_partial_message) is refused as too large, and
// one whose length is not the request's Content-Length (Envoy configured
// without with_request_body) as malformed. Health, readiness and metrics
// are not served on the gRPC port (see gateway.AdminHandler).
package extauthz

import (
	"bytes"
	"context"
	"errors"
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

// removeWarrantID is the headers to remove of a request let through
// without a warrant id when the credentials are forwarded.
var removeWarrantID = []string{lowerWarrantID}

// commonHeaders are headers most requests carry, or the checker reads, whose
// canonical form is kept rather than worked out for every request.
var commonHeaders = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Connection",
	"Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Origin", "Referer", "Te",
	"Transfer-Encoding", "Upgrade", "User-Agent", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Proto", "X-Envoy-Expected-Rq-Timeout-Ms", "X-Envoy-Internal",
	gateway.EnvoyPartialBodyHeader, "X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	gateway.WarrantIDHeader, "X-Request-Id",
}

func newHeaderNames(creds [3]string) *headerNames {
	n := &headerNames{creds: creds, canonical: map[string]string{}}
	for _, h := range append(creds[:], commonHeaders...) {
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
	return s
}

// ServerOptions are the gRPC server options the service is meant to run
// with: messages up to maxMsg bytes (the largest body Envoy is configured
// to send, plus headers), and 16 stream workers per CPU. A worker keeps
// the grown stack of the goroutine that verifies signatures instead of
// growing a new goroutine's stack for every Check, but only while one is
// free: with fewer workers than Checks in flight (Envoy sends many at
// once), gRPC starts a goroutine per stream again, which cost a twentieth
// of a decision's CPU time with 16 in flight and one worker per CPU
// (BenchmarkCheckServerCPU's profile).
//
// The options also give the server this package's codec: gRPC's proto
// codec for every message but Check's, which it reads and writes without
// protobuf-go's wrapping of a message it did not generate, nor copies.
func ServerOptions(maxMsg int) []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMsg), grpc.NumStreamWorkers(uint32(16 * runtime.GOMAXPROCS(0))),
		grpc.ForceServerCodecV2(newCodec())}
}

// Register registers the service on g. Its gRPC handler reads the
// CheckRequest and writes the CheckResponse with this package's own code
// (see wire.go), unless g has a unary interceptor: interceptors are given
// the generated messages, and Check.
func (s *Server) Register(g *grpc.Server) { g.RegisterService(&serviceDesc, s) }

var serviceDesc = grpc.ServiceDesc{
	ServiceName: authv3.Authorization_ServiceDesc.ServiceName,
	HandlerType: authv3.Authorization_ServiceDesc.HandlerType,
	Methods:     []grpc.MethodDesc{{MethodName: "Check", Handler: checkHandler}},
	Streams:     []grpc.StreamDesc{},
	Metadata:    authv3.Authorization_ServiceDesc.Metadata,
}

// generatedCheck is the generated handler of Check.
var generatedCheck = func() grpc.MethodHandler {
	for _, m := range authv3.Authorization_ServiceDesc.Methods {
		if m.MethodName == "Check" {
			return m.Handler
		}
	}
	panic("extauthz: the generated Authorization service has no Check")
}()

func checkHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	if interceptor != nil {
		return generatedCheck(srv, ctx, dec, interceptor)
	}
	c := &call{}
	if err := dec(&c.in); err != nil {
		return nil, err
	}
	a := srv.(*Server).decide(ctx, &c.in.v, c)
	c.out.b = a.appendWire(c.wire[:0])
	return &c.out, nil
}

// call is the memory of one Check through the gRPC handler, in one
// allocation: the request read, its headers' values as the http.Request
// decided holds them, the denial recorded and the answer's bytes. The
// request's strings and body are allocated apart, since what the decision
// keeps of them (the authorizer's cache, say) must not keep all of this.
type call struct {
	in   wireRequest
	out  wireResponse
	vals [roomHeaders]string
	rec  recorder
	wire [128]byte // an allowed answer's encoding
}

// Check decides one request. It never returns an error and never panics:
// anything unexpected is a denial.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	v := viewOf(req.GetAttributes().GetRequest().GetHttp())
	a := s.decide(ctx, &v, &call{})
	return a.proto(), nil
}

// viewOf is what Check reads of h.
func viewOf(h *authv3.AttributeContext_HttpRequest) httpView {
	if h == nil {
		return httpView{}
	}
	v := httpView{ok: true, id: h.GetId(), method: h.GetMethod(), path: h.GetPath(), host: h.GetHost()}
	for k, val := range h.GetHeaders() {
		v.headers = append(v.headers, header{k, val})
	}
	v.headers = sortedHeaders(v.headers)
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		val := hv.GetValue()
		if raw := hv.GetRawValue(); len(raw) > 0 {
			val = string(raw)
		}
		v.headerMap = append(v.headerMap, header{hv.GetKey(), val})
	}
	v.body = h.GetRawBody()
	if len(v.body) == 0 && h.GetBody() != "" {
		v.body = []byte(h.GetBody())
	}
	if len(v.body) == 0 {
		v.body = nil
	}
	return v
}

// answer is a Check's answer, before it is a CheckResponse.
type answer struct {
	allowed bool
	// Allowed: the warrant id to set and the headers to remove.
	warrantID string
	remove    []string
	// Denied: the HTTP status, headers and body for the client, and the
	// gRPC status message.
	status  int
	headers []header
	body    []byte
	message string
}

func (a *answer) code() codes.Code {
	if a.allowed {
		return codes.OK
	}
	return codes.PermissionDenied
}

// denialHeaders are the headers of a denial passed back to the client.
var denialHeaders = [...]string{"Content-Type", "Cache-Control", "X-Content-Type-Options"}

func deniedAnswer(status int, h http.Header, body []byte, msg string) answer {
	a := answer{status: status, body: body, message: msg}
	for _, k := range denialHeaders {
		if v := h.Get(k); v != "" {
			a.headers = append(a.headers, header{strings.ToLower(k), v})
		}
	}
	return a
}

var internalDenial = deniedAnswer(http.StatusForbidden, nil, []byte(`{"authorized":false,"error":"internal"}`), "internal error")

// decide is the decision on v, in c's memory (c.vals and c.rec).
func (s *Server) decide(ctx context.Context, v *httpView, c *call) (a answer) {
	defer func() {
		if p := recover(); p != nil {
			a = internalDenial
		}
	}()
	rec := &c.rec
	var d gateway.Decision
	var req http.Request // on the stack: the checker decides a copy
	if r, err := v.requestInto(&req, c.vals[:], s.names.Load().canonical); err != nil {
		s.checker.Refuse(ctx, rec, v.id, err)
	} else {
		d = s.checker.Decide(ctx, rec, r)
	}
	if !d.Forward || rec.status != 0 {
		status := rec.status
		if status == 0 || status == http.StatusOK {
			status = http.StatusForbidden // never an allow that the checker did not give
		}
		return deniedAnswer(status, rec.header, rec.body.Bytes(), http.StatusText(status))
	}
	a = answer{allowed: true, warrantID: d.WarrantID}
	switch {
	case s.forwardCred && d.WarrantID == "":
		a.remove = removeWarrantID
	case s.forwardCred:
	case d.WarrantID == "":
		a.remove = s.namesFor(d.Credentials).removeID
	default:
		a.remove = s.namesFor(d.Credentials).remove
	}
	return a
}

// proto is a as the generated message.
func (a *answer) proto() *authv3.CheckResponse {
	st := &rpcstatus.Status{Code: int32(a.code()), Message: a.message}
	if !a.allowed {
		d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(a.status)}, Body: string(a.body)}
		for _, h := range a.headers {
			d.Headers = append(d.Headers, overwrite(h.key, h.value))
		}
		return &authv3.CheckResponse{Status: st, HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d}}
	}
	ok := &authv3.OkHttpResponse{HeadersToRemove: a.remove}
	if a.warrantID != "" {
		ok.Headers = append(ok.Headers, overwrite(lowerWarrantID, a.warrantID))
	}
	return &authv3.CheckResponse{Status: st, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok}}
}

func overwrite(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
}

// request is the request Envoy describes: its method, target (path and
// query as sent), host, headers — from header_map when Envoy sends it
// (encode_raw_headers: each value apart, raw bytes preferred), else the
// headers map, where Envoy has joined repeated headers with ",", so that
// each of its values is read as the lines it may stand for, split at ","
// and trimmed (a header a route extracts is then refused for its several
// values, as the sidecar refuses repeated lines; encode_raw_headers keeps
// a value that has a comma whole) — and body
// (raw_body when packed as bytes, else body). Its context is the
// checker's to set.
func (v *httpView) request(canonical map[string]string) (*http.Request, error) {
	return v.requestInto(&http.Request{}, nil, canonical)
}

// requestInto is request, writing the request to r and its headers'
// values to room when they fit.
func (v *httpView) requestInto(r *http.Request, room []string, canonical map[string]string) (*http.Request, error) {
	switch {
	case v.bad != nil:
		return nil, errors.New("the check request does not decode (a string that is not UTF-8, or a truncated message)")
	case !v.ok:
		return nil, errors.New("the check request has no HTTP attributes")
	case v.method == "":
		return nil, errors.New("the check request has no method")
	case v.path == "":
		return nil, errors.New("the check request has no path")
	}
	u, err := url.ParseRequestURI(v.path)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return nil, errors.New("the check request's path is not an origin-form request target")
	}
	if !validMethod(v.method) {
		return nil, errors.New("the check request's method is not valid")
	}
	hs, joined := v.headerMap, false
	if len(hs) == 0 {
		hs, joined = v.headers, true
	}
	n := 0
	for _, h := range hs {
		if !strings.HasPrefix(h.key, ":") {
			n++
			if joined {
				n += strings.Count(h.value, ",")
			}
		}
	}
	*r = http.Request{Method: v.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: make(http.Header, n), Host: v.host, RequestURI: v.path}
	// One array holds every header's value: a key's slice is capped, so
	// that a second value of the key is appended to a copy.
	vals := room[:min(n, len(room))]
	if n > len(room) {
		vals = make([]string, n)
	}
	i := 0
	for _, h := range hs {
		if strings.HasPrefix(h.key, ":") {
			if h.key == ":authority" && r.Host == "" {
				r.Host = h.value
			}
			continue // pseudo-headers: method and path are read above
		}
		ck, ok := canonical[h.key] // as Header.Add would store it, without working it out again
		if !ok {
			ck = http.CanonicalHeaderKey(h.key)
		}
		for val, rest, more := h.value, "", joined; ; val = rest {
			if more {
				// A value of the headers map with a comma may be the
				// header's lines joined: it is read as those lines, each
				// trimmed as net/http trims a line's value.
				val, rest, more = strings.Cut(val, ",")
				val = strings.Trim(val, " \t")
			}
			vals[i] = val
			if old, ok := r.Header[ck]; ok {
				r.Header[ck] = append(old, val)
			} else {
				r.Header[ck] = vals[i : i+1 : i+1]
			}
			i++
			if !more {
				break
			}
		}
	}
	if len(v.body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(v.body))
		r.ContentLength = int64(len(v.body))
	}
	return r, nil
}

// validMethod reports whether m is an HTTP token (RFC 9110 §9.1), as
// net/http requires of a request's method.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// recorder is the denial the checker writes, kept for the CheckResponse.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}
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
