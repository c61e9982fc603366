package guard_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

type httpCase struct {
	name    string
	method  string
	target  string
	body    string
	headers map[string]string
	status  int
	code    authz.Code
}

func TestHTTPMiddleware(t *testing.T) {
	f := guardtest.New(t)
	w := f.AgentStack.Base64()
	pop := func(tool, args string) string { return f.PoP(t, f.AgentStack, f.Agent, tool, args) }
	h := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	popBytes, _ := authz.DecodeBase64(pop("read", `{"path":"/data/a"}`))
	cases := []httpCase{
		{"allowed", "POST", "/read", `{"path":"/data/a"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/a"}`)), 200, 0},
		{"allowed, hex PoP", "POST", "/read", `{"path":"/data/a"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", hex.EncodeToString(popBytes)), 200, 0},
		{"allowed, path route with query", "GET", "/files/a?path=/data/q", "", h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/q"}`)), 200, 0},
		// In process too (every body read): a handler's FormValue would
		// take the body's path over the query's that was checked.
		{"query route, a form body's field for its key", "GET", "/files/a?path=/data/q", "path=/etc/passwd", h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/q"}`), "Content-Type", "application/x-www-form-urlencoded"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query route, a JSON body's field for its key", "GET", "/files/a?path=/data/q", `{"PATH":"/etc/passwd"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/q"}`), "Content-Type", "application/json"), 400, authz.CodeInvalidEnvelopeStructure},
		{"query route, a form body with other fields", "GET", "/files/a?path=/data/q", "q=x", h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/q"}`), "Content-Type", "application/x-www-form-urlencoded"), 200, 0},
		{"no warrant", "POST", "/read", `{"path":"/data/a"}`, nil, 401, authz.CodeInvalidEnvelopeStructure},
		{"PoP without warrant", "POST", "/read", `{"path":"/data/a"}`, h("X-Tenuo-PoP", "AAAA"), 400, authz.CodeInvalidEnvelopeStructure},
		{"PoP over other arguments", "POST", "/read", `{"path":"/data/b"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/a"}`)), 401, authz.CodePopSignatureInvalid},
		{"PoP not base64", "POST", "/read", `{"path":"/data/a"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", "!!"), 400, authz.CodePopSignatureInvalid},
		{"constraint", "POST", "/read", `{"path":"/etc/passwd"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/etc/passwd"}`)), 403, authz.CodeConstraintViolation},
		{"body not JSON", "POST", "/read", `{"path":`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", "AAAA"), 400, authz.CodePopChallengeInvalid},
		{"no route", "DELETE", "/read", "", h("X-Tenuo-Warrant", w), 404, authz.CodeToolNotAuthorized},
		{"approval required", "POST", "/deploy", `{"env":"prod"}`, h("X-Tenuo-Warrant", f.Approvals.Base64(), "X-Tenuo-PoP", f.PoP(t, f.Approvals, f.Agent, "deploy", `{"env":"prod"}`)), 409, authz.CodeApprovalRequired},
		{"body over the cap", "POST", "/write", `{"data":"` + strings.Repeat("x", 100) + `"}`, h("X-Tenuo-Warrant", w), 413, authz.CodeValueTooLarge},
		{"keys differing only in case", "POST", "/read", `{"path":"/data/a","PATH":"/etc/passwd"}`, h("X-Tenuo-Warrant", w, "X-Tenuo-PoP", pop("read", `{"path":"/data/a"}`)), 400, authz.CodeInvalidEnvelopeStructure},
		{"garbage warrant", "POST", "/read", `{"path":"/data/a"}`, h("X-Tenuo-Warrant", "@@@", "X-Tenuo-PoP", "AAAA"), 400, authz.CodeInvalidEnvelopeStructure},
	}
	mw := &guard.HTTP{Point: f.Point, MaxBody: 64}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seen []byte
			ran := false
			next := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				ran = true
				var err error
				if seen, err = io.ReadAll(r.Body); err != nil {
					t.Errorf("handler reading the body: %v", err)
				}
				rw.WriteHeader(200)
			})
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			req.Header.Set("X-Request-Id", "req-1")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			mw.Wrap(next).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 200 {
				if !ran || string(seen) != tc.body {
					t.Fatalf("handler ran %v and read %q, want the body %q", ran, seen, tc.body)
				}
				return
			}
			if ran {
				t.Fatal("the handler ran on a denial")
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body["authorized"] != false || body["error_code"] != float64(tc.code) || body["error"] != tc.code.Name() || body["request_id"] != "req-1" {
				t.Fatalf("body %v, want code %d", body, tc.code)
			}
			if rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
			}
			if body["message"] != tc.code.Name() {
				t.Fatalf("the human reason reached the client without Debug: %v", body["message"])
			}
		})
		// Decide, for front ends that answer for themselves, decides the
		// same: a denial is written, a request that goes on writes nothing
		// and carries the bytes decided.
		t.Run(tc.name+"/Decide", func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			req.Header.Set("X-Request-Id", "req-1")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			res, ok := mw.Decide(rec, req)
			if ok != (tc.status == 200) {
				t.Fatalf("goes on: %v, want status %d (%d %s)", ok, tc.status, rec.Code, rec.Body)
			}
			if !ok {
				if rec.Code != tc.status || !strings.Contains(rec.Body.String(), fmt.Sprintf(`"error_code":%d`, tc.code)) {
					t.Fatalf("denial %d %s, want %d", rec.Code, rec.Body, tc.status)
				}
				return
			}
			if len(rec.Header()) != 0 || rec.Body.Len() != 0 || res == nil || res.Verdict != enforce.Allow {
				t.Fatalf("allowed: %v, wrote %v %q", res, rec.Header(), rec.Body)
			}
			if b, err := io.ReadAll(req.Body); err != nil || string(b) != tc.body {
				t.Fatalf("body %q %v, want %q", b, err, tc.body)
			}
		})
	}
	// An exempt path goes on undecided.
	if res, ok := (&guard.HTTP{Point: f.Point, Exempt: []string{"/healthz"}}).Decide(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil)); !ok || res != nil {
		t.Fatalf("exempt: %v %v", res, ok)
	}
}

func TestHTTPOptions(t *testing.T) {
	f := guardtest.New(t)
	ran := 0
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran++ })
	serve := func(mw *guard.HTTP, req *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mw.Wrap(next).ServeHTTP(rec, req)
		return rec
	}
	// Exempt paths are served without a warrant; nothing else is.
	mw := &guard.HTTP{Point: f.Point, Exempt: []string{"/healthz"}}
	if rec := serve(mw, httptest.NewRequest("GET", "/healthz", nil)); rec.Code != 200 || ran != 1 {
		t.Fatalf("exempt path: %d", rec.Code)
	}
	if rec := serve(mw, httptest.NewRequest("GET", "/healthz/x", nil)); rec.Code == 200 || ran != 1 {
		t.Fatalf("a path below an exempt one is exempt: %d", rec.Code)
	}
	// Authorizer style: approvals are 403; Debug gives the reason.
	req := func() *http.Request {
		r := httptest.NewRequest("POST", "/deploy", strings.NewReader(`{"env":"prod"}`))
		r.Header.Set("Warrant", f.Approvals.Base64())
		r.Header.Set("Proof", f.PoP(t, f.Approvals, f.Agent, "deploy", `{"env":"prod"}`))
		return r
	}
	mw = &guard.HTTP{Point: f.Point, AuthorizerStyle: true, Debug: true, WarrantHeader: "Warrant", PoPHeader: "Proof"}
	rec := serve(mw, req())
	var body map[string]any
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 403 || body["error_code"] != float64(authz.CodeApprovalRequired) || body["message"] == authz.CodeApprovalRequired.Name() {
		t.Fatalf("authorizer style with debug: %d %v", rec.Code, body)
	}
	// The default headers are not read when others are configured.
	r := req()
	r.Header.Set("X-Tenuo-Warrant", r.Header.Get("Warrant"))
	r.Header.Del("Warrant")
	r.Header.Del("Proof")
	if rec := serve(mw, r); rec.Code != 401 {
		t.Fatalf("the default warrant header was read: %d", rec.Code)
	}
	// No decision point: everything denied, never a 5xx.
	if rec := serve(&guard.HTTP{}, httptest.NewRequest("GET", "/read", nil)); rec.Code != 403 || ran != 1 {
		t.Fatalf("zero middleware: %d", rec.Code)
	}
	// A warrant given twice is malformed.
	r = httptest.NewRequest("POST", "/write", strings.NewReader(`{}`))
	r.Header.Add("X-Tenuo-Warrant", f.AgentStack.Base64())
	r.Header.Add("X-Tenuo-Warrant", f.AgentStack.Base64())
	if rec := serve(&guard.HTTP{Point: f.Point}, r); rec.Code != 400 {
		t.Fatalf("two warrants: %d", rec.Code)
	}
	if ran != 1 {
		t.Fatalf("the handler ran %d times", ran)
	}
}

// TestHTTPDenialTable runs enforce's one table of denials through the
// middleware's rendering, in both styles.
func TestHTTPDenialTable(t *testing.T) {
	for _, c := range enforce.DenialCases() {
		for _, authorizer := range []bool{false, true} {
			want := c.HTTPFastAPI
			if authorizer {
				want = c.HTTPAuthorizer
			}
			rec := httptest.NewRecorder()
			guard.RenderHTTPDenial(rec, c.Result, authorizer, "r1", false)
			if rec.Code != want {
				t.Errorf("%s (authorizer %v): %d, want %d", c.Name, authorizer, rec.Code, want)
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error_code"] != float64(c.Result.Denial.Code) || body["request_id"] != "r1" {
				t.Errorf("%s: body %s (%v)", c.Name, rec.Body, err)
			}
		}
	}
}

// TestHTTPBodyIsTheDecidedBytes: the handler reads the bytes the decision
// read, not a second read of the client's stream.
func TestHTTPBodyIsTheDecidedBytes(t *testing.T) {
	f := guardtest.New(t)
	args := `{"path":"/data/a"}`
	stream := &onceReader{r: bytes.NewReader([]byte(args))}
	req := httptest.NewRequest("POST", "/read", stream)
	req.Header.Set("X-Tenuo-Warrant", f.AgentStack.Base64())
	req.Header.Set("X-Tenuo-PoP", f.PoP(t, f.AgentStack, f.Agent, "read", args))
	var got []byte
	rec := httptest.NewRecorder()
	(&guard.HTTP{Point: f.Point}).Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		if r.ContentLength != int64(len(args)) {
			t.Errorf("content length %d", r.ContentLength)
		}
	})).ServeHTTP(rec, req)
	if rec.Code != 200 || string(got) != args || stream.reads == 0 {
		t.Fatalf("status %d, handler read %q", rec.Code, got)
	}
}

type onceReader struct {
	r     io.Reader
	reads int
	done  bool
}

func (o *onceReader) Read(p []byte) (int, error) {
	if o.done {
		panic("the client's body was read again after EOF")
	}
	o.reads++
	n, err := o.r.Read(p)
	if err == io.EOF {
		o.done = true
	}
	return n, err
}

// TestHTTPConcurrentWarrants: requests carrying different warrants, served
// concurrently by one middleware over a real listener, each get their own
// decision (run with -race).
func TestHTTPConcurrentWarrants(t *testing.T) {
	f := guardtest.New(t)
	srv := httptest.NewServer((&guard.HTTP{Point: f.Point}).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	args := `{"path":"/data/payroll"}`
	creds := []struct {
		warrant, pop string
		want         int
	}{
		{f.AgentStack.Base64(), f.PoP(t, f.AgentStack, f.Agent, "read", args), 200},
		{f.SubStack.Base64(), f.PoP(t, f.SubStack, f.Sub, "read", args), 403},
	}
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := creds[i%2]
			req, err := http.NewRequest("POST", srv.URL+"/read", strings.NewReader(args))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("X-Tenuo-Warrant", c.warrant)
			req.Header.Set("X-Tenuo-PoP", c.pop)
			resp, err := srv.Client().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				errs <- fmt.Errorf("request %d: %d, want %d", i, resp.StatusCode, c.want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
