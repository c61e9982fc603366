package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// WarrantIDHeader carries the id of the warrant that allowed a request to
// the upstream. A client-sent one is removed first.
const WarrantIDHeader = "X-Tenuo-Warrant-Id"

// EnvoyPartialBodyHeader is the header Envoy's ext_authz filter adds when
// it sent only the first max_request_bytes of the body
// (allow_partial_message).
const EnvoyPartialBodyHeader = "X-Envoy-Auth-Partial-Body"

// overrideHeaders are honoured by frameworks to run another handler than
// the one routed: the first three for another method (Rails, Express's
// method-override, Symfony, ASP.NET, Google's APIs), the others for
// another path than the request line's (Zend Framework and Laminas, IIS's
// URL rewriting, Symfony before 2018).
var overrideHeaders = []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Original-URL", "X-Rewrite-URL"}

// methodOverrides is how many of overrideHeaders override the method.
const methodOverrides = 3

// overrideKeys are those headers' canonical keys, as net/http stores them.
var overrideKeys = func() []string {
	ks := make([]string, len(overrideHeaders))
	for i, h := range overrideHeaders {
		ks[i] = http.CanonicalHeaderKey(h)
	}
	return ks
}()

// overrideRefusal is why a request carrying override header i (as sent
// under the name as) is refused.
func overrideRefusal(i int, as string) error {
	what := "method override header %s (the upstream could run another method than the one checked)"
	if i >= methodOverrides {
		what = "path override header %s (the upstream could route it to another path than the one checked)"
	}
	err := fmt.Errorf(what, overrideHeaders[i])
	if as != "" {
		err = fmt.Errorf("%w, as %s, which CGI-style servers read as one", err, as)
	}
	return err
}

// Checker decides a gateway's HTTP requests: the guard package's
// middleware in Tenuo's authorizer style, behind the checks that keep what
// the upstream parses the request that was checked (see the package
// documentation). Set the fields before the first request and don't change
// them afterwards. The zero value denies every request (no decision point).
type Checker struct {
	// Point decides. Nil denies everything (403).
	Point *enforce.Point
	// Current, when set, gives the decision point in force instead of
	// Point (a command that reloads its configuration swaps it whole). It
	// is read once per request: the request is decided, and forwarded, by
	// the point it started with, whatever is swapped in meanwhile.
	Current func() *enforce.Point
	// Front names the front end in audit records; empty means
	// enforce.FrontSidecar.
	Front string
	// MaxBody caps the body read for a route that extracts from it; zero
	// means guard.DefaultMaxBody. A larger body is refused with 413.
	MaxBody int64
	// Debug puts the human reason in denial bodies (so does the tool map's
	// debug_mode).
	Debug bool
	// EnvoyPartialBody honours Envoy's x-envoy-auth-partial-body header: a
	// truncated body is refused (413) on a route that extracts from it. Only
	// behind Envoy: elsewhere a client could send the header.
	EnvoyPartialBody bool
	// PathPrefix is removed from the path before anything else (the
	// path_prefix of Envoy's HTTP ext_authz service). A path without it is
	// refused.
	PathPrefix string
}

// prepared is what the checker made of a request. It is the request's
// context too (the request's own, with itself as the value of
// preparedKey), and holds the request decided and its URL, shallow
// copies of the request given: one allocation for the four.
type prepared struct {
	context.Context
	point  *enforce.Point // decides the request (nil: none, denied)
	method string         // as sent (HEAD stays HEAD when forwarded)
	canon  string         // the canonical escaped path, routed and forwarded
	err    error          // why the request is refused before any warrant check
	url    url.URL        // the URL of the request decided
	req    http.Request   // the request decided
}

type preparedKey struct{}

// Value returns p for preparedKey, and the parent's values otherwise.
func (p *prepared) Value(key any) any {
	if _, ok := key.(preparedKey); ok {
		return p
	}
	return p.Context.Value(key)
}

func preparedFrom(ctx context.Context) *prepared {
	p, _ := ctx.Value(preparedKey{}).(*prepared)
	return p
}

func (c *Checker) front() string {
	if c.Front != "" {
		return c.Front
	}
	return enforce.FrontSidecar
}

// point returns the decision point in force.
func (c *Checker) point() *enforce.Point {
	if c.Current != nil {
		return c.Current()
	}
	return c.Point
}

func configOf(p *enforce.Point) *toolmap.Config {
	if p == nil {
		return nil
	}
	return p.ToolMap
}

// middleware is the guard middleware that decides by p.
func (c *Checker) middleware(p *enforce.Point) *guard.HTTP {
	return &guard.HTTP{
		Point: p, AuthorizerStyle: true, MaxBody: c.MaxBody, Debug: c.Debug,
		Front: c.front(), StreamBodies: true, Precheck: precheck, BodyCheck: bodyCheck,
	}
}

// bodyCheck refuses a JSON body whose top-level object has a "_method"
// key: Laravel reads a JSON body's _method as the method to run (as
// Symfony reads a form's), and so does Express's method-override when it
// is given req.body. A body without "_method" and without an escape (a key
// could spell it "\u005fmethod") is not parsed again.
//
// A "__proto__" key at any depth is refused too: a JavaScript server that
// merges the body into an object (a deep merge) sets the prototype of
// every object, supplying fields the body left out, which the check read
// as missing (or as their defaults).
func bodyCheck(body []byte) error {
	if !bytes.Contains(body, []byte("_method")) && !bytes.Contains(body, []byte("__proto__")) && !bytes.Contains(body, []byte(`\u`)) {
		return nil
	}
	v, err := value.ParseAny(body, value.DefaultLimits)
	if err != nil {
		return nil // the decision refuses what does not parse
	}
	if m, ok := v.(map[string]any); ok {
		if _, ok := m["_method"]; ok {
			return errors.New("method override in the body (_method)")
		}
	}
	if hasProtoKey(v) {
		return errors.New("a __proto__ key in the body (a JavaScript server merging it would give objects fields the check did not see)")
	}
	return nil
}

func hasProtoKey(v any) bool {
	switch x := v.(type) {
	case []any:
		return slices.ContainsFunc(x, hasProtoKey)
	case map[string]any:
		for k, e := range x {
			if k == "__proto__" || hasProtoKey(e) {
				return true
			}
		}
	}
	return false
}

func precheck(r *http.Request) error {
	if p := preparedFrom(r.Context()); p != nil {
		return p.err
	}
	return errors.New("the request was not prepared by the gateway")
}

// Wrap returns next behind the checker: next serves only requests that go
// on (allowed, or audit mode), with the canonical path, HEAD routed as GET
// (ForwardMethod gives the method to forward) and, on a route that extracts
// from the body, exactly the bytes decided as the body. guard.ResultFrom
// gives the decision. Each request is decided by the point in force when it
// arrived ([Checker.Current]).
func (c *Checker) Wrap(next http.Handler) http.Handler {
	if c.Current == nil {
		mw := c.middleware(c.Point)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mw.Serve(w, c.prepare(r.Context(), r, c.Point), next)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := c.Current()
		c.middleware(p).Serve(w, c.prepare(r.Context(), r, p), next)
	})
}

// Decision is what [Checker.Decide] found.
type Decision struct {
	// Forward: the request goes on (allowed, or audit mode).
	Forward bool
	// WarrantID is the id of the warrant that allowed it, or "".
	WarrantID string
	// Credentials are the headers that carry credentials under the
	// configuration that decided it (as [CredentialHeaders]).
	Credentials [3]string
}

// Decide decides r, with ctx as its context, as Wrap does, for a front
// end that answers for itself instead of forwarding (Envoy's gRPC
// ext_authz): a denial is written to w; a request that goes on writes
// nothing. r is the caller's to build and is not changed; its own context
// is not used.
func (c *Checker) Decide(ctx context.Context, w http.ResponseWriter, r *http.Request) Decision {
	point := c.point()
	mw := c.middleware(point)
	res, ok := mw.Decide(w, c.prepare(ctx, r, point))
	if !ok {
		return Decision{}
	}
	return Decision{Forward: true, WarrantID: warrantID(res), Credentials: credentialHeaders(configOf(point))}
}

// AllowedWarrantID returns the id of the warrant that allowed r, a request
// served behind Wrap, or "" (audit mode letting a denied request on).
func AllowedWarrantID(r *http.Request) string {
	return warrantID(guard.ResultFrom(r.Context()))
}

// CredentialHeaders returns the headers that carry credentials (warrant,
// PoP, approvals) under the configuration that decided r, a request served
// behind Wrap; Tenuo's defaults outside one.
func CredentialHeaders(r *http.Request) [3]string {
	var tm *toolmap.Config
	if p := preparedFrom(r.Context()); p != nil {
		tm = configOf(p.point)
	}
	return credentialHeaders(tm)
}

// ForwardMethod returns the method a request served behind Wrap is to be
// forwarded with (HEAD for a HEAD routed as GET).
func ForwardMethod(r *http.Request) string {
	if p := preparedFrom(r.Context()); p != nil {
		return p.method
	}
	return r.Method
}

// prepare returns the request to decide: a shallow copy of r with the
// canonical path and the routing method, whose context, ctx's child, says
// what was found.
func (c *Checker) prepare(ctx context.Context, r *http.Request, point *enforce.Point) *http.Request {
	p := &prepared{Context: ctx, point: point, method: r.Method}
	p.req = *r.WithContext(p) // WithContext's copy stays on the stack
	r2 := &p.req
	if r.URL == nil {
		p.err = errors.New("the request has no URL")
		return r2
	}
	p.url = *r.URL
	r2.URL = &p.url
	if r.Method == http.MethodHead {
		r2.Method = http.MethodGet // an upstream answers HEAD with its GET handler
	}
	p.err = c.check(r2, p)
	return r2
}

// check canonicalises r's path in place and refuses what the upstream
// could parse differently from the check.
func (c *Checker) check(r *http.Request, p *prepared) error {
	if strings.ToUpper(p.method) != p.method {
		// Routes match a method in any letter case; servers compare it as
		// sent ("get" is not GET to Go's ServeMux), and could run another
		// handler than the one routed.
		return fmt.Errorf("method %q is not in upper case (the upstream could route it apart from the method checked)", p.method)
	}
	if strings.IndexByte(r.RequestURI, '#') >= 0 || strings.IndexByte(r.URL.RawQuery, '#') >= 0 || r.URL.Fragment != "" {
		// No client sends a fragment. Net/http reads a raw "#" as part of
		// the path or query, servers that parse the target as a URL
		// (Node's, Python's) as the start of a fragment they drop: a
		// query value checked as "/etc/passwd#.txt" would be acted on as
		// "/etc/passwd".
		return errors.New("a '#' in the request target (some servers drop what follows it, which was checked)")
	}
	escaped := r.URL.EscapedPath()
	if c.PathPrefix != "" {
		rest, ok := strings.CutPrefix(escaped, c.PathPrefix)
		if !ok || !strings.HasPrefix(rest, "/") {
			return fmt.Errorf("the path does not start with the prefix %s", c.PathPrefix)
		}
		escaped = rest
	}
	canon, err := CanonicalPath(escaped)
	if err != nil {
		return err
	}
	plain, err := url.PathUnescape(canon)
	if err != nil {
		return fmt.Errorf("the canonical path does not unescape: %v", err)
	}
	// The path is forwarded as canonicalised; a form that Go's URL would
	// re-escape into something else is refused rather than forwarded.
	fwd := &url.URL{Path: plain, RawPath: canon}
	if again, err := CanonicalPath(fwd.EscapedPath()); err != nil || again != canon {
		return errors.New("the path would be forwarded in another form than the one checked")
	}
	r.URL.Path, r.URL.RawPath = plain, canon
	p.canon = canon

	for i, k := range overrideKeys {
		if _, ok := r.Header[k]; ok {
			return overrideRefusal(i, "")
		}
	}
	for k := range r.Header {
		if !strings.Contains(k, "_") {
			continue
		}
		// CGI-style servers (PHP, WSGI, Rack) name headers HTTP_X_A: X_A
		// is X-A to them.
		dashed := http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
		if i := slices.Index(overrideKeys, dashed); i >= 0 {
			return overrideRefusal(i, k)
		}
		if dashed == WarrantIDHeader {
			// The gateway removes a client's X-Tenuo-Warrant-Id and sets
			// its own; this one would reach the upstream, where a
			// CGI-style server reads it as that header.
			return fmt.Errorf("header %s, which CGI-style servers read as %s (set by the gateway alone)", k, WarrantIDHeader)
		}
	}
	if err := connectionNominated(r.Header); err != nil {
		return err
	}
	if queryHasKey(r.URL.RawQuery, "_method") {
		return errors.New("method override in the query (_method)")
	}
	if ups := r.Header.Values("Upgrade"); len(ups) > 0 {
		// After a 101 the connection is a tunnel to the upstream that no
		// check sees: WebSocket frames (a documented limit), or, for h2c,
		// any number of HTTP/2 requests the upstream would serve unchecked.
		if len(ups) != 1 || !strings.EqualFold(strings.TrimSpace(ups[0]), "websocket") {
			return errors.New("a protocol upgrade other than websocket (the upgraded connection would not be checked)")
		}
	}

	reads, err := configOf(p.point).RouteReads(r.Method, plain)
	if err != nil {
		return nil // the decision point denies it (no route, or a path it refuses)
	}
	if reads.Query {
		if err := checkQuery(r.URL.RawQuery); err != nil {
			return err
		}
	}
	if reads.Header {
		for k := range r.Header {
			if strings.Contains(k, "_") {
				return fmt.Errorf("header %s on a route that extracts from headers (CGI-style servers read _ as -, so it could stand for a header checked)", k)
			}
		}
	}
	if reads.Body && r.URL.RawQuery != "" {
		if err := queryShadowsBody(r.URL.RawQuery, reads.BodyKeys); err != nil {
			return err
		}
	}
	if !reads.Body && len(reads.QueryKeys) > 0 && c.EnvoyPartialBody && guard.MergesWithQuery(r.Method, r.Header) {
		// The middleware reads such a body for the fields a server would
		// merge over the query's: it must be the whole body.
		switch {
		case envoyPartial(r.Header):
			return errors.New("a partial body on a route that reads the query, in a type whose fields servers merge with the query's (Envoy's max_request_bytes)")
		case r.ContentLength <= 0 && len(r.Header.Values("Transfer-Encoding")) > 0:
			return errors.New("a body Envoy did not send, on a route that reads the query, in a type whose fields servers merge with the query's (is Envoy's with_request_body set?)")
		}
		if err := envoyBodyComplete(r); err != nil {
			return err
		}
	}
	if reads.Body {
		if err := jsonBody(r); err != nil {
			return err
		}
		if c.EnvoyPartialBody && envoyPartial(r.Header) {
			// Envoy sent only the first bytes: refused as too large, as
			// the middleware refuses a body over its cap.
			r.Body = truncatedBody{received: max(r.ContentLength, 0)}
		} else if c.EnvoyPartialBody {
			if err := envoyBodyComplete(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// hopByHop are the tokens a Connection header may give: its own options
// and the hop-by-hop headers that a proxy drops in any case.
var hopByHop = []string{"close", "keep-alive", "upgrade", "te", "trailer", "transfer-encoding",
	"proxy-connection", "proxy-authenticate", "proxy-authorization", "http2-settings"}

// connectionNominated refuses a Connection header that nominates a header
// the request carries (other than the hop-by-hop ones): a proxy, the
// sidecar's among them, drops a nominated header from what it forwards, so
// the upstream would act on the request without a header the check read
// (a tenant the route extracts, the body's Content-Type).
func connectionNominated(h http.Header) error {
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" || slices.ContainsFunc(hopByHop, func(s string) bool { return strings.EqualFold(s, tok) }) {
				continue
			}
			if _, ok := h[http.CanonicalHeaderKey(tok)]; ok {
				return fmt.Errorf("the Connection header nominates %s, which a proxy drops before the upstream (the request was checked with it)", tok)
			}
		}
	}
	return nil
}

// envoyPartial reports whether any x-envoy-auth-partial-body line says
// true: a client may send the header too, before the one Envoy adds.
func envoyPartial(h http.Header) bool {
	return slices.ContainsFunc(h.Values(EnvoyPartialBodyHeader), func(v string) bool {
		return strings.EqualFold(strings.TrimSpace(v), "true")
	})
}

// envoyBodyComplete refuses a body Envoy sent that is not the request's
// whole body by its Content-Length (Envoy's gRPC check request carries
// the client's headers and, with with_request_body, its body): checked, it
// would be decided on other bytes than the upstream receives. Without a
// Content-Length (chunked, or HTTP/2) the body sent is taken as whole:
// Envoy marks the one it cut short.
func envoyBodyComplete(r *http.Request) error {
	cl := r.Header.Values("Content-Length")
	switch {
	case len(cl) == 0:
		return nil
	case len(cl) > 1:
		return fmt.Errorf("%d Content-Length headers", len(cl))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64)
	if err != nil || n < 0 {
		return errors.New("the Content-Length does not parse")
	}
	if got := max(r.ContentLength, 0); got != n {
		return fmt.Errorf("the body sent for the check is %d bytes, the request's Content-Length %d (is Envoy's with_request_body set?)", got, n)
	}
	return nil
}

// jsonBody refuses a body the upstream would not parse as the JSON checked.
func jsonBody(r *http.Request) error {
	if r.ContentLength == 0 && (r.Body == nil || r.Body == http.NoBody) {
		return nil
	}
	if ce := r.Header.Values("Content-Encoding"); len(ce) > 0 && !(len(ce) == 1 && strings.EqualFold(strings.TrimSpace(ce[0]), "identity")) {
		return errors.New("a content-encoded body on a route that extracts from the body (it is checked as sent)")
	}
	cts := r.Header.Values("Content-Type")
	if len(cts) != 1 {
		return fmt.Errorf("a body on a route that extracts from it needs one Content-Type: application/json, not %d", len(cts))
	}
	mt, params, err := mime.ParseMediaType(cts[0])
	if err != nil {
		return errors.New("the Content-Type does not parse")
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("Content-Type %s on a route that extracts from a JSON body (the upstream would parse it as something else)", mt)
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return fmt.Errorf("Content-Type parameter %s (only charset=utf-8 is read as checked)", k)
		}
	}
	return nil
}

// checkQuery refuses a query Go cannot parse, a value with a NUL, and
// what queryKeys refuses.
// A short query without escapes, "+", ";" or NUL (most are) is checked
// where it lies; ParseQuery would read it as its own keys and values, one each.
func checkQuery(raw string) error {
	var buf [8]string
	if keys, ok := plainQueryKeys(raw, buf[:0]); ok {
		for i, k := range keys {
			if err := arrayKey(k); err != nil {
				return err
			}
			for _, prev := range keys[:i] {
				switch {
				case prev == k:
					return fmt.Errorf("query key %q given more than once (servers disagree on which counts)", k)
				case looseQueryKey(prev) == looseQueryKey(k):
					return fmt.Errorf("query keys %q and %q are one key to some servers", prev, k)
				}
			}
		}
		return nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return fmt.Errorf("the query does not parse: %v", err)
	}
	for k, vs := range q {
		for _, v := range vs {
			if strings.IndexByte(v, 0) >= 0 {
				// A C reader stops at the NUL, before what was checked
				// after it ("/etc/passwd\x00.txt" for a "*.txt" rule).
				return fmt.Errorf("a NUL in the value of query key %q (some servers cut the value there)", k)
			}
		}
	}
	return queryKeys(q)
}

// plainQueryKeys appends the keys of raw to keys when raw has at most
// cap(keys) pairs and no escape, "+", ";" or NUL (a NUL in a value is
// refused; net/url refuses one in a request target anyway).
func plainQueryKeys(raw string, keys []string) ([]string, bool) {
	if strings.ContainsAny(raw, "%+;\x00") {
		return nil, false
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if len(keys) == cap(keys) {
			return nil, false
		}
		k, _, _ := strings.Cut(pair, "=")
		keys = append(keys, k)
	}
	return keys, true
}

func arrayKey(k string) error {
	if strings.ContainsAny(k, "[]") {
		return fmt.Errorf("query key %q in array notation (PHP, Rack and Express read it as another key, or a structure the check does not see)", k)
	}
	return nil
}

// queryKeys refuses, in a query of a route that extracts from it, what
// another server could read as a key checked with another value: a key
// given more than once, a key in array or object notation (key[] or
// key[x]: PHP, Rack and Express's qs read it as key), and two keys that are
// one to a lenient reader (ASP.NET compares keys in any letter case; PHP
// drops leading spaces and reads "." and " " as "_"; C servers stop at a
// NUL).
func queryKeys(q url.Values) error {
	keys := make([]string, 0, len(q))
	for k, v := range q {
		if len(v) > 1 {
			return fmt.Errorf("query key %q given %d times (servers disagree on which counts)", k, len(v))
		}
		if err := arrayKey(k); err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if len(keys) < 2 {
		return nil
	}
	slices.Sort(keys) // a deterministic message
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		lk := looseQueryKey(k)
		if other, ok := seen[lk]; ok {
			return fmt.Errorf("query keys %q and %q are one key to some servers", other, k)
		}
		seen[lk] = k
	}
	return nil
}

// queryShadowsBody refuses, on a route that reads the body, a query key
// that names a top-level key the body rules read: Rails' params and
// Laravel's input() merge the query with the body's fields, so a field the
// body leaves out (checked as missing, or as its default) would be acted
// on with the query's value. Keys are compared as the lenient readers do
// (see looseQueryKey), before any array notation ("spec[replicas]" is
// spec to Rails). A query that does not parse is split as it lies.
func queryShadowsBody(raw string, bodyKeys []string) error {
	if len(bodyKeys) == 0 {
		return nil
	}
	for rest := raw; rest != ""; {
		var k string
		k, rest = nextQueryKey(rest)
		if i := strings.IndexByte(k, '['); i >= 0 {
			k = k[:i]
		}
		lk := looseQueryKey(k)
		for _, bk := range bodyKeys {
			if lk == looseQueryKey(bk) {
				return fmt.Errorf("query key %q on a route that reads body field %q (servers that merge the query into the body's fields would read it as that)", k, bk)
			}
		}
	}
	return nil
}

// looseQueryKey is a query key as the most lenient common reader sees it.
func looseQueryKey(k string) string {
	if i := strings.IndexByte(k, 0); i >= 0 {
		k = k[:i]
	}
	k = strings.ToLower(strings.TrimLeft(k, " "))
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' {
			return '_'
		}
		return r
	}, k)
}

// queryHasKey reports whether a raw query has key (lower case), separated
// by & or ; (as some servers split it), escaped or not, as the most
// lenient reader sees it (looseQueryKey: PHP reads ".method" and
// " _method" as _method).
func queryHasKey(raw, key string) bool {
	for rest := raw; rest != ""; {
		var k string
		k, rest = nextQueryKey(rest)
		if k == key || looseQueryKey(k) == key {
			return true
		}
	}
	return false
}

// nextQueryKey splits the first key off a raw query as the most lenient
// reader does: a pair ends at "&" or ";", and its key is unescaped where
// it unescapes (taken as it lies where it does not).
func nextQueryKey(raw string) (key, rest string) {
	pair := raw
	if i := strings.IndexAny(raw, "&;"); i >= 0 {
		pair, rest = raw[:i], raw[i+1:]
	}
	key, _, _ = strings.Cut(pair, "=")
	if strings.ContainsAny(key, "%+") {
		if u, err := url.QueryUnescape(key); err == nil {
			key = u
		}
	}
	return key, rest
}

// truncatedBody stands for a body Envoy truncated: reading it fails as a
// body over the cap does.
type truncatedBody struct{ received int64 }

func (t truncatedBody) Read([]byte) (int, error) {
	return 0, &http.MaxBytesError{Limit: t.received}
}
func (truncatedBody) Close() error { return nil }

// credentialHeaders are the headers that carry credentials: the tool map's
// settings or Tenuo's defaults.
func credentialHeaders(c *toolmap.Config) [3]string {
	hs := [3]string{toolmap.DefaultWarrantHeader, toolmap.DefaultPoPHeader, toolmap.DefaultApprovalHeader}
	if c != nil {
		for i, h := range []string{c.WarrantHeader, c.PoPHeader, c.ApprovalHeader} {
			if h != "" {
				hs[i] = h
			}
		}
	}
	return hs
}

// warrantID is the id of the warrant that allowed res, or "".
func warrantID(res *enforce.Result) string {
	if res == nil || res.Verdict != enforce.Allow || res.Authz == nil {
		return ""
	}
	return res.Authz.WarrantID
}

// Refuse decides a request the front end could not read at all (err says
// why, naming no value): the decision point denies and audits it as
// malformed, and w gets the denial. Unlike a request that was read, it is
// denied in audit mode too: there is nothing to let through.
func (c *Checker) Refuse(ctx context.Context, w http.ResponseWriter, requestID string, err error) {
	point := c.point()
	mw := c.middleware(point)
	var res *enforce.Result
	if point == nil {
		res = &enforce.Result{Verdict: enforce.Deny, Kind: enforce.KindInternal}
	} else {
		var rid []byte
		if requestID != "" {
			rid, _ = json.Marshal(requestID)
		}
		res = point.Check(ctx, &enforce.Call{Front: c.front(), RequestID: rid, Malformed: err})
	}
	if res.Verdict != enforce.Deny {
		denied := *res
		denied.Verdict = enforce.Deny
		res = &denied
	}
	mw.Deny(w, res, requestID)
}
