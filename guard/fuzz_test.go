package guard_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

// FuzzHTTPMiddleware: any method, path, body and credential headers are
// answered without a panic, with a status of the denial table or the
// handler's, and the handler runs only for an allowed request (none of the
// fuzzed ones can carry a valid proof).
func FuzzHTTPMiddleware(f *testing.F) {
	fx := guardtest.New(f)
	w := fx.AgentStack.Base64()
	f.Add("POST", "/read", `{"path":"/data/a"}`, w, "AAAA", "")
	f.Add("GET", "/files/x?path=/data/a", "", w, strings.Repeat("0", 128), "AAAA,BBBB")
	f.Add("POST", "/write", `{"PATH":1,"path":2}`, "", "", "")
	f.Add("DELETE", "/%zz", "\xff", "@@", "!!", ",,,")
	mw := &guard.HTTP{Point: fx.Point, MaxBody: 1 << 10}
	f.Fuzz(func(t *testing.T, method, target, body, warrant, pop, approvals string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") || method == "" || strings.ContainsAny(method, " \r\n\t/") {
			return // not a request line httptest can build
		}
		req, err := http.NewRequest(method, "http://h"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		for k, v := range map[string]string{"X-Tenuo-Warrant": warrant, "X-Tenuo-PoP": pop, "X-Tenuo-Approvals": approvals} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		ran := false
		rec := httptest.NewRecorder()
		mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })).ServeHTTP(rec, req)
		switch rec.Code {
		case 400, 401, 403, 404, 409, 413:
			if ran {
				t.Fatalf("the handler ran on a %d", rec.Code)
			}
		case 200:
			if !ran {
				t.Fatal("200 without the handler")
			}
			t.Fatalf("a fuzzed request was allowed: %s %s", method, target)
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// FuzzGuardedCall: any arguments are decided without a panic: allowed, or a
// *DeniedError.
func FuzzGuardedCall(f *testing.F) {
	fx := guardtest.New(f)
	g, err := guard.NewFromPoint(fx.Point)
	if err != nil {
		f.Fatal(err)
	}
	ctx, err := guard.WithCredentials(context.Background(), fx.AgentStack, fx.Agent)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("read", `{"path":"/data/a"}`)
	f.Add("write", `{"a":{"A":1,"a":2}}`)
	f.Add("read", `[1,2]`)
	f.Add("x", `{"n":1e400}`)
	f.Fuzz(func(t *testing.T, tool, args string) {
		var denied *guard.DeniedError
		if err := g.Check(ctx, tool, []byte(args)); err != nil && !errors.As(err, &denied) {
			t.Fatalf("not a denial: %v", err)
		}
	})
}
