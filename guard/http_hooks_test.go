package guard_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

// TestHTTPGatewayHooks: the options gateways build on — the front named in
// audit, a precheck refusing as malformed, bodies streamed on routes that
// extract nothing from them, and the decision handed to the handler.
func TestHTTPGatewayHooks(t *testing.T) {
	f := guardtest.New(t)
	var seen string
	var res *enforce.Result
	ran := 0
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		ran++
		b, _ := io.ReadAll(r.Body)
		seen, res = string(b), guard.ResultFrom(r.Context())
	})
	mw := &guard.HTTP{Point: f.Point, Front: enforce.FrontSidecar, StreamBodies: true, MaxBody: 64,
		Precheck: func(r *http.Request) error {
			if r.Header.Get("X-HTTP-Method-Override") != "" {
				return errors.New("method override header")
			}
			return nil
		}}
	serve := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		mw.Wrap(next).ServeHTTP(rec, r)
		return rec.Code
	}
	// A streamed route: the body over the cap is not read for the decision
	// and reaches the handler whole.
	big := strings.Repeat("x", 200)
	r := httptest.NewRequest("GET", "/files/a?path=/data/q", strings.NewReader(big))
	r.Header.Set("X-Tenuo-Warrant", f.AgentStack.Base64())
	r.Header.Set("X-Tenuo-PoP", f.PoP(t, f.AgentStack, f.Agent, "read", `{"path":"/data/q"}`))
	if code := serve(r); code != 200 || seen != big {
		t.Fatalf("streamed route: %d, handler read %d bytes", code, len(seen))
	}
	if res == nil || res.Verdict != enforce.Allow || res.Authz == nil || res.Authz.WarrantID == "" {
		t.Fatalf("ResultFrom: %+v", res)
	}
	if !strings.Contains(f.Audit.String(), `"front":"sidecar"`) {
		t.Fatalf("audit does not name the front: %s", f.Audit)
	}
	// A route that reads the body still reads it under the cap.
	r = httptest.NewRequest("POST", "/write", strings.NewReader(`{"data":"`+big+`"}`))
	r.Header.Set("X-Tenuo-Warrant", f.AgentStack.Base64())
	if code := serve(r); code != 413 {
		t.Fatalf("body route over the cap: %d", code)
	}
	// The precheck refuses as malformed, audited like any decision.
	r = httptest.NewRequest("GET", "/files/a?path=/data/q", nil)
	r.Header.Set("X-HTTP-Method-Override", "DELETE")
	if code := serve(r); code != 400 {
		t.Fatalf("precheck: %d", code)
	}
	if !strings.Contains(f.Audit.String(), "method override header") {
		t.Fatalf("the precheck's refusal is not audited: %s", f.Audit)
	}
	if ran != 1 {
		t.Fatalf("handler ran %d times", ran)
	}
	if guard.ResultFrom(t.Context()) != nil {
		t.Fatal("a result outside the middleware")
	}
}
