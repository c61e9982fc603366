package gatewaytest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// AnyCode, as a Case's Code, accepts any Tenuo code with the status
// (duplicate keys are refused by the strict reader or by the middleware's
// own key check, each with its code).
const AnyCode authz.Code = 65535

// Case is one request of the table every gateway front end runs, and what
// enforce's one table says of it.
type Case struct {
	Name                 string
	Method, Target, Body string
	Header               map[string]string
	// Stack, Tool and Fields sign the request (nil Stack: no credentials
	// but those Header may carry).
	Stack  func(*Fixture) authz.Stack
	Tool   string
	Fields map[string]any
	Status int
	Code   authz.Code
}

// JSONHeaders are a JSON body's content type and the tenant header the
// scale route reads.
func JSONHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme"}
}

// Headers returns the case's headers, signed, with X-Request-Id rid-1.
func (c *Case) Headers(t testing.TB, f *Fixture) http.Header {
	h := http.Header{}
	h.Set("X-Request-Id", "rid-1")
	for k, v := range c.Header {
		h.Set(k, v)
	}
	if c.Stack != nil {
		f.Sign(t, h, c.Stack(f), c.Tool, c.Fields)
	}
	return h
}

// Request returns the case as a client request to base (an http URL),
// its target sent as written rather than as Go would re-escape it.
func (c *Case) Request(t testing.TB, f *Fixture, base string) *http.Request {
	t.Helper()
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	r, err := http.NewRequest(c.Method, base+c.Target, body)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(base); err == nil {
		path, query, _ := strings.Cut(c.Target, "?")
		r.URL.Opaque = "//" + u.Host + path
		r.URL.RawQuery, r.URL.Fragment = query, "" // a "#" too, as written
	}
	r.Header = c.Headers(t, f)
	return r
}

// Cases returns the table: allowed, denied, malformed and oversized
// requests, extraction from every source, canonicalisation and overrides.
// Bodies over 256 bytes are over the cap the front ends' tests set.
func Cases() []Case {
	agent := func(f *Fixture) authz.Stack { return f.Agents }
	read := func(p string) map[string]any { return map[string]any{"path": p} }
	list := func(limit string) map[string]any { return map[string]any{"limit": limit} }
	scale := ScaleFields
	ct := func(kv ...string) map[string]string {
		m := map[string]string{"X-Tenant-Id": "acme"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	expired := func(f *Fixture) authz.Stack { return f.Expired }
	rogue := func(f *Fixture) authz.Stack { return f.RogueW }
	approval := func(f *Fixture) authz.Stack { return f.NeedsApproval }
	return []Case{
		{"query: allowed", "GET", "/files?path=/data/a", "", nil, agent, "read", read("/data/a"), 200, 0},
		{"query: escaped path canonicalised", "GET", "/%66iles?path=/data/a", "", nil, agent, "read", read("/data/a"), 200, 0},
		{"HEAD routed as GET", "HEAD", "/files?path=/data/a", "", nil, agent, "read", read("/data/a"), 200, 0},
		{"query: constraint", "GET", "/files?path=/etc/passwd", "", nil, agent, "read", read("/etc/passwd"), 403, authz.CodeConstraintViolation},
		{"query: repeated key", "GET", "/files?path=/data/a&path=/etc/passwd", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: semicolon", "GET", "/files?path=/data/a;path=/etc", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: missing", "GET", "/files", "", nil, agent, "read", read("/data/a"), 403, authz.CodeConstraintViolation},
		// Keys Go reads apart but PHP, Rack or Express's qs read as the key
		// checked (an array), ASP.NET in any letter case, PHP without its
		// leading space: refused on routes that read the query.
		{"query: array key", "GET", "/files?path=/data/a&path[]=/etc/passwd", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: array key alone", "GET", "/files?path=/data/a&limit[x]=1", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: key in another case", "GET", "/files?path=/data/a&PATH=/etc/passwd", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: key with a leading space", "GET", "/files?path=/data/a&%20path=/etc/passwd", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: key with a dot for an underscore", "GET", "/files?path=/data/a&my_key=1&my.key=2", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// A C reader (PHP's file functions, say) stops at the NUL: a
		// "*.txt" constraint would check ".txt" that such a server drops.
		{"query: a NUL in a value", "GET", "/files?path=/data/a%00.txt", "", nil, agent, "read", read("/data/a\x00.txt"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: default", "GET", "/items", "", nil, agent, "list", list("10"), 200, 0},
		{"query: optional key", "GET", "/items?limit=50", "", nil, agent, "list", list("50"), 200, 0},
		{"query: optional key's constraint", "GET", "/items?limit=100000", "", nil, agent, "list", list("100000"), 403, authz.CodeConstraintViolation},
		// A lone key that is not the one extracted but that a lenient
		// server reads as it: the check would see the default (10) while
		// the server acted on 100000.
		{"query: lone key in another case", "GET", "/items?LIMIT=100000", "", nil, agent, "list", list("10"), 400, authz.CodePopChallengeInvalid},
		{"query: lone key with a dash", "GET", "/items?li-mit=100000", "", nil, agent, "list", list("10"), 400, authz.CodePopChallengeInvalid},
		{"query: lone key with a leading space", "GET", "/items?%20limit=100000", "", nil, agent, "list", list("10"), 400, authz.CodePopChallengeInvalid},
		{"query: lone key with a NUL", "GET", "/items?limit%00=100000", "", nil, agent, "list", list("10"), 400, authz.CodePopChallengeInvalid},
		// Go's FormValue, Rails' params, Laravel's input() and PHP's
		// $_REQUEST merge a body's fields over the query's: the upstream
		// would act on the body's limit, not the query's that was checked.
		{"query: a form body's field for it", "GET", "/items?limit=10", "limit=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a form body's field for its default", "GET", "/items", "limit=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a form body's field, escaped and in another case", "GET", "/items?limit=10", "q=x&LI%4DIT%5B%5D=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a JSON body's field for it", "GET", "/items?limit=10", `{"limit":100000}`, map[string]string{"Content-Type": "application/json"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a JSON body's field, loosely typed", "GET", "/items?limit=10", `{"Limit":100000}`, map[string]string{"Content-Type": "text/x-json"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a multipart body's part for it", "GET", "/items?limit=10", "--XyZ\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--XyZ--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a multipart body that does not parse", "GET", "/items?limit=10", "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		// PHP reads parts after the closing delimiter, and a part's name in
		// single quotes; PHP and Rack find the boundary by their own rules.
		{"query: a multipart part after the closing delimiter", "GET", "/items?limit=10", "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ--\r\n--XyZ\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--XyZ--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a multipart part named in single quotes", "GET", "/items?limit=10", "--XyZ\r\nContent-Disposition: form-data; name='limit'\r\n\r\n100000\r\n--XyZ--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a multipart boundary PHP reads elsewhere", "GET", "/items?limit=10", "--AbC\r\nContent-Disposition: form-data; name=\"limit\"\r\n\r\n100000\r\n--AbC--\r\n", map[string]string{"Content-Type": `multipart/form-data; x="boundary=AbC"; boundary=XyZ`}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		// Node's body-parser drops a BOM and inflates a gzip body; Ruby's
		// JSON parser reads comments. NDJSON merges nowhere: it streams,
		// over the cap too (an Elasticsearch bulk body).
		{"query: a JSON body's field after a BOM", "GET", "/items?limit=10", "\ufeff{\"limit\":100000}", map[string]string{"Content-Type": "application/json"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a JSON body's field after a comment", "GET", "/items?limit=10", `{"q":1,/**/"limit":100000}`, map[string]string{"Content-Type": "application/json"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a gzip form body", "GET", "/items?limit=10", "q=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: a form body's key PHP decodes", "GET", "/items?limit=10", "limit%00%zz=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, agent, "list", list("10"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query: an NDJSON body over the cap", "GET", "/items?limit=10", strings.Repeat("{\"index\":{\"limit\":1}}\n", 20), map[string]string{"Content-Type": "application/x-ndjson"}, agent, "list", list("10"), 200, 0},
		{"query: a JSON body with other keys", "GET", "/items?limit=10", `{"q":"x","page":2}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}, agent, "list", list("10"), 200, 0},
		{"query: a form body with other fields", "GET", "/items?limit=10", "q=x&page=2", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, agent, "list", list("10"), 200, 0},
		{"query: a multipart body with other parts", "GET", "/items?limit=10", "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\nx\r\n--XyZ--\r\n", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, agent, "list", list("10"), 200, 0},
		{"query: a body no server merges", "GET", "/items?limit=10", "limit=100000", map[string]string{"Content-Type": "text/plain"}, agent, "list", list("10"), 200, 0},
		{"path, header, body, literal: allowed", "POST", "/clusters/staging-1/scale", `{"spec": {"replicas": 3}, "note": "x"}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 200, 0},
		{"body: charset utf-8", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct("Content-Type", "application/json; charset=UTF-8"), agent, "scale", scale("staging-1", 3), 200, 0},
		{"body: constraint", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":50}}`, JSONHeaders(), agent, "scale", scale("staging-1", 50), 403, authz.CodeConstraintViolation},
		{"path: constraint", "POST", "/clusters/prod/scale", `{"spec":{"replicas":3}}`, JSONHeaders(), agent, "scale", scale("prod", 3), 403, authz.CodeConstraintViolation},
		{"header: missing", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, map[string]string{"Content-Type": "application/json"}, agent, "scale", scale("staging-1", 3), 403, authz.CodeConstraintViolation},
		{"PoP over other fields", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":4}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 401, authz.CodePopSignatureInvalid},
		{"body: duplicate keys", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3,"replicas":50}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, AnyCode},
		// A JavaScript upstream reads it as 9007199254740992.
		{"body: an integer no double holds", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":9007199254740993}}`, JSONHeaders(), agent, "scale", scale("staging-1", 9007199254740993), 400, authz.CodeInvalidEnvelopeStructure},
		// Rails' params and Laravel's input() merge the query with the
		// body's fields: a field the body leaves out takes the query's.
		{"body: a query key for a body field", "POST", "/clusters/staging-1/scale?spec[replicas]=50", `{"spec":{"replicas":3}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"body: another query key", "POST", "/clusters/staging-1/scale?dry_run=1", `{"spec":{"replicas":3}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 200, 0},
		{"body: not JSON", "POST", "/clusters/staging-1/scale", `{"spec":`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodePopChallengeInvalid},
		{"body: a form", "POST", "/clusters/staging-1/scale", `spec.replicas=3`, ct("Content-Type", "application/x-www-form-urlencoded"), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"body: no content type", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"body: other charset", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct("Content-Type", "application/json; charset=latin1"), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"body: content-encoded", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct("Content-Type", "application/json", "Content-Encoding", "gzip"), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"body: over the cap", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3},"pad":"` + strings.Repeat("x", 300) + `"}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 413, authz.CodeValueTooLarge},
		{"streamed body over the cap", "PUT", "/upload/x", strings.Repeat("y", 5000), nil, agent, "upload", map[string]any{"name": "x"}, 200, 0},
		{"dot segment", "POST", "/clusters/staging-1/./scale", `{"spec":{"replicas":3}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"escaped dot segment", "GET", "/files/%2e%2e/files?path=/data/a", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"empty segment", "POST", "/clusters//staging-1/scale", `{}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"escaped slash", "POST", "/clusters/staging-1%2Fx/scale", `{"spec":{"replicas":3}}`, JSONHeaders(), agent, "scale", scale("staging-1/x", 3), 400, authz.CodeInvalidEnvelopeStructure},
		// "/" and ".." to servers that decode twice, or UTF-8 leniently.
		{"escaped escape", "PUT", "/upload/a%252Fb", "z", nil, agent, "upload", map[string]any{"name": "a%2Fb"}, 400, authz.CodeInvalidEnvelopeStructure},
		{"overlong dots", "PUT", "/upload/%C0%AE%C0%AE", "z", nil, agent, "upload", map[string]any{"name": "x"}, 400, authz.CodeInvalidEnvelopeStructure},
		{"path parameter", "GET", "/files;x=1?path=/data/a", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"method override header", "GET", "/files?path=/data/a", "", map[string]string{"X-HTTP-Method-Override": "DELETE"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// CGI-style servers (PHP, WSGI, Rack) read X_A as X-A.
		{"method override header with underscores", "GET", "/files?path=/data/a", "", map[string]string{"X_HTTP_Method_Override": "DELETE"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// Zend/Laminas, and Symfony before 2018, route by these instead of
		// the request line's path.
		{"path override header", "GET", "/files?path=/data/a", "", map[string]string{"X-Original-URL": "/admin/delete"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"path override header (rewrite)", "GET", "/files?path=/data/a", "", map[string]string{"X-Rewrite-Url": "/admin/delete"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"path override header with underscores", "GET", "/files?path=/data/a", "", map[string]string{"X_Original_URL": "/admin/delete"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// A proxy drops a header its Connection header nominates.
		{"Connection nominating a header read", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct("Content-Type", "application/json", "Connection", "X-Tenant-Id"), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"header: name with underscores", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`, ct("Content-Type", "application/json", "X_Tenant_Id", "evil"), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"upgrade to h2c", "GET", "/files?path=/data/a", "", map[string]string{"Upgrade": "h2c"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"upgrade to two protocols", "GET", "/files?path=/data/a", "", map[string]string{"Upgrade": "websocket, h2c"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// Laravel (and Express with method-override reading req.body) run
		// the handler of the method a JSON body's _method names.
		{"method override in a JSON body", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3},"_method":"DELETE"}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"method override in a JSON body, escaped", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3},"\u005fmethod":"DELETE"}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		// A JavaScript server that merges the body into an object (a deep
		// merge, Object.assign of parsed parts) gives every object a
		// field the body left out, checked as missing or its default.
		{"body: a __proto__ key", "POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3,"__proto__":{"x":1}}}`, JSONHeaders(), agent, "scale", scale("staging-1", 3), 400, authz.CodeInvalidEnvelopeStructure},
		{"method override query", "PUT", "/upload/x?_method=DELETE", "z", nil, agent, "upload", map[string]any{"name": "x"}, 400, authz.CodeInvalidEnvelopeStructure},
		// PHP reads ".method" and " _method" as _method (Laravel, Symfony).
		{"method override query, PHP's dot", "PUT", "/upload/x?.method=DELETE", "z", nil, agent, "upload", map[string]any{"name": "x"}, 400, authz.CodeInvalidEnvelopeStructure},
		{"method override query, a leading space", "PUT", "/upload/x?%20_method=DELETE", "z", nil, agent, "upload", map[string]any{"name": "x"}, 400, authz.CodeInvalidEnvelopeStructure},
		// "get" is not GET to a server that compares methods as sent.
		{"method in lower case", "get", "/files?path=/data/a", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// Servers that parse the target as a URL drop what follows a "#"
		// (here ".txt", which a "*.txt" constraint would have checked).
		{"query: a '#'", "GET", "/files?path=/data/a#.txt", "", nil, agent, "read", read("/data/a#.txt"), 400, authz.CodeInvalidEnvelopeStructure},
		{"path: a '#'", "GET", "/files#x?path=/data/a", "", nil, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		// To a CGI-style server it is the X-Tenuo-Warrant-Id the gateway sets.
		{"warrant id header with underscores", "GET", "/files?path=/data/a", "", map[string]string{"X_Tenuo_Warrant_Id": "tnu_wrt_forged"}, agent, "read", read("/data/a"), 400, authz.CodeInvalidEnvelopeStructure},
		{"no warrant", "GET", "/files?path=/data/a", "", nil, nil, "", nil, 401, authz.CodeInvalidEnvelopeStructure},
		{"expired", "GET", "/files?path=/data/a", "", nil, expired, "read", read("/data/a"), 401, authz.CodeWarrantExpired},
		{"untrusted root", "GET", "/files?path=/data/a", "", nil, rogue, "read", read("/data/a"), 403, authz.CodeUntrustedRoot},
		{"approval required", "POST", "/deploy/prod", "", nil, approval, "deploy", map[string]any{"env": "prod"}, 403, authz.CodeApprovalRequired},
		{"garbage warrant", "GET", "/files?path=/data/a", "", map[string]string{"X-Tenuo-Warrant": "@@@", "X-Tenuo-PoP": "AAAA"}, nil, "", nil, 400, authz.CodeInvalidEnvelopeStructure},
		{"no route", "GET", "/nowhere", "", nil, agent, "read", read("/data/a"), 404, authz.CodeToolNotAuthorized},
		{"no route for the method", "DELETE", "/files?path=/data/a", "", nil, agent, "read", read("/data/a"), 404, authz.CodeToolNotAuthorized},
	}
}
