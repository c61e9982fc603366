package guard_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// The benchmarks mirror authz's BenchmarkCheckWarm: one root warrant for
// "search" with two constraints, the chain cached, a fixed clock.

type searchArgs struct {
	Query string `json:"query"`
	Limit string `json:"limit"`
}

func benchWarrant(b *testing.B) (now time.Time, root, agent *authz.SigningKey, stack authz.Stack) {
	now = time.Unix(1_800_000_000, 0)
	root, agent = guardtest.Key(b, 0x01), guardtest.Key(b, 0x10)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"search": {Constraints: map[string]authz.Constraint{
			"query": &authz.Pattern{Pattern: "report-*"},
			"limit": &authz.Pattern{Pattern: "1*"},
		}},
	}}, now)
	if err != nil {
		b.Fatal(err)
	}
	return now, root, agent, authz.Stack{w}
}

// BenchmarkGuardedCallWarm: a guarded function called with the key in
// scope and the chain cached: possession is proven by the key holding the
// leaf (authz.Request.Holder), so no curve operation runs per call.
func BenchmarkGuardedCallWarm(b *testing.B) {
	now, root, agent, stack := benchWarrant(b)
	g, err := guard.New(guard.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, err := guard.WithCredentials(context.Background(), stack, agent)
	if err != nil {
		b.Fatal(err)
	}
	search := guard.Func(g, "search", func(_ context.Context, a searchArgs) (int, error) { return len(a.Query), nil })
	args := searchArgs{Query: "report-2026", Limit: "10"}
	if _, err := search(ctx, args); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := search(ctx, args); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthzCheckWarm is authz's BenchmarkCheckWarm on this warrant, in
// the same run: Check with a presented PoP and the chain cached.
func BenchmarkAuthzCheckWarm(b *testing.B) {
	now, root, agent, stack := benchWarrant(b)
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	args := []byte(`{"query":"report-2026","limit":"10"}`)
	canon, err := authz.CanonicalArgs(args)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := authz.SignPoP(agent, stack.Leaf().ID, "search", canon, now)
	if err != nil {
		b.Fatal(err)
	}
	req := &authz.Request{Warrant: stack.Bytes(), Tool: "search", Args: args, Signature: sig[:]}
	if d := az.Check(req); !d.Allowed {
		b.Fatal(d.Denial)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d := az.Check(req); !d.Allowed || !d.Cached {
			b.Fatal(d.Denial)
		}
	}
}

func benchHTTP(b *testing.B, wrap bool) {
	now, root, agent, stack := benchWarrant(b)
	tm, err := toolmap.Parse([]byte(`version: "1"
tools:
  search:
    constraints:
      query: {from: query, path: q, required: true}
      limit: {from: query, path: limit, required: true}
routes:
  - pattern: "/search"
    method: GET
    tool: search
`), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	sig, err := authz.SignPoP(agent, stack.Leaf().ID, "search", map[string]any{"query": "report-2026", "limit": "10"}, now)
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	if wrap {
		h = (&guard.HTTP{Point: &enforce.Point{Authorizer: az, ToolMap: tm, Now: func() time.Time { return now }}}).Wrap(h)
	}
	warrant, pop := stack.Base64(), base64.RawURLEncoding.EncodeToString(sig[:])
	serve := func() {
		req := httptest.NewRequest("GET", "/search?q=report-2026&limit=10", strings.NewReader(""))
		req.Header.Set("X-Tenuo-Warrant", warrant)
		req.Header.Set("X-Tenuo-PoP", pop)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	serve()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// BenchmarkHTTPBare: a bare handler served through httptest.
func BenchmarkHTTPBare(b *testing.B) { benchHTTP(b, false) }

// BenchmarkHTTPMiddleware: the same behind the middleware, which verifies
// the presented PoP (chain cached). The middleware's cost is this minus
// BenchmarkHTTPBare.
func BenchmarkHTTPMiddleware(b *testing.B) { benchHTTP(b, true) }
