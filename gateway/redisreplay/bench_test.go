package redisreplay_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/redisreplay"
)

// BenchmarkReplayStore interleaves, in each iteration, one allowed request
// (a fresh PoP each time, signed before the clock starts) to Envoy's HTTP
// ext_authz decision service on 127.0.0.1 in three set-ups over one
// fixture: no replay protection, replay protection in memory (the default
// of --replay-protect), and replay protection in a real redis-server on
// 127.0.0.1 (--replay-store redis://). It reports each p50 and what each
// store adds over none: memory-added-p50-µs and redis-added-p50-µs.
func BenchmarkReplayStore(b *testing.B) {
	srv := gatewaytest.StartRedis(b)
	f := gatewaytest.New(b)
	store, err := redisreplay.Open(srv.URL, redisreplay.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	serve := func(replay *authz.ReplayGuard) string {
		p := &enforce.Point{Authorizer: f.NewAuthorizer(b, replay), ToolMap: f.ToolMap, Audit: io.Discard}
		s := httptest.NewServer((&gateway.Checker{Point: p}).AuthzHandler())
		b.Cleanup(s.Close)
		return s.URL
	}
	none := serve(nil)
	memory := serve(authz.NewReplayGuard(0, 0, nil))
	rg := authz.NewReplayGuard(0, 0, nil)
	rg.SetStore(store)
	redis := serve(rg)

	// Each request reads another file, so each PoP is new.
	reqs := func(n int) []*http.Request {
		out := make([]*http.Request, n)
		for i := range out {
			path := fmt.Sprintf("/data/f%d", i)
			c := gatewaytest.Case{Method: "GET", Target: "/files?path=" + path, Stack: func(f *gatewaytest.Fixture) authz.Stack { return f.Agents },
				Tool: "read", Fields: map[string]any{"path": path}}
			out[i] = c.Request(b, f, "http://placeholder")
		}
		return out
	}
	send := func(base string, r *http.Request) time.Duration {
		r2 := r.Clone(r.Context())
		r2.URL.Opaque = ""
		r2.URL.Scheme, r2.URL.Host, r2.Host = "http", base[len("http://"):], ""
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(r2)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return d
	}
	for _, r := range reqs(20) { // warm connections and chain caches (these PoPs are then spent)
		for _, base := range []string{none, memory, redis} {
			send(base, r)
		}
	}
	batch := reqs(b.N + 20)[20:]
	var ln, lm, lr []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The order turns each iteration, so that no set-up always goes
		// first.
		for k := range 3 {
			switch (i + k) % 3 {
			case 0:
				ln = append(ln, send(none, batch[i]))
			case 1:
				lm = append(lm, send(memory, batch[i]))
			case 2:
				lr = append(lr, send(redis, batch[i]))
			}
		}
	}
	b.StopTimer()
	p50 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[len(l)/2].Nanoseconds()) / 1e3
	}
	pn, pm, pr := p50(ln), p50(lm), p50(lr)
	b.ReportMetric(pn, "none-p50-µs")
	b.ReportMetric(pm, "memory-p50-µs")
	b.ReportMetric(pr, "redis-p50-µs")
	b.ReportMetric(pm-pn, "memory-added-p50-µs")
	b.ReportMetric(pr-pn, "redis-added-p50-µs")
}
