package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

// outcome is what a front end decided, reduced to what must agree.
type outcome struct {
	ran  bool // the tool (handler, function) ran
	code authz.Code
	kind enforce.Kind
}

func want(r *enforce.Result) outcome {
	o := outcome{ran: r.Forward()}
	if r.Denial != nil {
		o.code, o.kind = r.Denial.Code, r.Kind
	}
	return o
}

// TestSharedTable: the decision point asked as the MCP relay asks it, the
// HTTP middleware given the same credentials in headers, and a guarded
// function given the same warrant and key in its context decide every row
// of the shared table alike.
func TestSharedTable(t *testing.T) {
	f := guardtest.New(t)
	g, err := guard.NewFromPoint(f.Point)
	if err != nil {
		t.Fatal(err)
	}
	mw := &guard.HTTP{Point: f.Point}
	for _, tc := range guardtest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			ref := tc.Reference(t, f)
			w := want(ref)

			req := httptest.NewRequest("POST", "/"+tc.Tool, bytes.NewReader([]byte(tc.Args)))
			if env := tc.Envelope(t, f); env != nil {
				req.Header.Set("X-Tenuo-Warrant", env.Warrant)
				req.Header.Set("X-Tenuo-PoP", env.Signature)
			}
			var got outcome
			rec := httptest.NewRecorder()
			mw.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.ran = true })).ServeHTTP(rec, req)
			if !got.ran {
				var body struct {
					Code int `json:"error_code"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("denial body %q: %v", rec.Body, err)
				}
				got.code, got.kind = authz.Code(body.Code), w.kind // the kind is checked through the status
				if s := ref.HTTPStatus(enforce.StyleFastAPI); rec.Code != s {
					t.Errorf("middleware answered %d, the decision point's result renders as %d", rec.Code, s)
				}
			}
			if got != w {
				t.Errorf("middleware: %+v, decision point: %+v", got, w)
			}

			ctx := context.Background()
			if tc.Stack != nil {
				if ctx, err = guard.WithWarrant(ctx, tc.Stack(f)); err != nil {
					t.Fatal(err)
				}
				if ctx, err = guard.WithKey(ctx, tc.Key(f)); err != nil {
					t.Fatal(err)
				}
			}
			got = outcome{}
			fn := guard.Func(g, tc.Tool, func(context.Context, map[string]any) (int, error) { got.ran = true; return 1, nil })
			var args map[string]any
			if err := json.Unmarshal([]byte(tc.Args), &args); err != nil {
				t.Fatal(err)
			}
			_, err := fn(ctx, args)
			var denied *guard.DeniedError
			var denial *authz.Denial
			switch {
			case err == nil:
			case errors.As(err, &denied) && errors.As(err, &denial):
				got.code, got.kind = denial.Code, denied.Result.Kind
			default:
				t.Fatalf("guarded function: error %v is not a denial", err)
			}
			if got != w {
				t.Errorf("guarded function: %+v, decision point: %+v", got, w)
			}
		})
	}
}
