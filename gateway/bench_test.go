package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// benchLatency sends b.N requests one after another and reports the p50
// latency (p50-µs), over keep-alive connections on 127.0.0.1.
func benchLatency(b *testing.B, mk func() *http.Request) {
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := mk()
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
}

func benchUpstream(b *testing.B) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	b.Cleanup(up.Close)
	return up
}

// BenchmarkBareProxy is the baseline: httputil.ReverseProxy to the same
// upstream, no check.
func BenchmarkBareProxy(b *testing.B) {
	up := benchUpstream(b)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(mustURL(up.URL)); pr.Out.Host = pr.In.Host }}
	s := httptest.NewServer(rp)
	defer s.Close()
	f := gatewaytest.New(b)
	c := gatewaytest.Cases()[0]
	benchLatency(b, func() *http.Request { return c.Request(b, f, s.URL) })
}

// BenchmarkSidecar: the same request through the sidecar (an allowed GET
// whose route reads the query; warm chain). Its p50 minus BenchmarkBareProxy's
// is the sidecar's added latency; compare with authz's BenchmarkVerifyStrict.
func BenchmarkSidecar(b *testing.B) {
	up := benchUpstream(b)
	f := gatewaytest.New(b)
	s := httptest.NewServer(mustSidecarFor(b, f, up.URL))
	defer s.Close()
	c := gatewaytest.Cases()[0]
	benchLatency(b, func() *http.Request { return c.Request(b, f, s.URL) })
}

// BenchmarkSidecarAddedVsVerify interleaves, in each iteration, one request
// through a bare httputil.ReverseProxy, the same request through the
// sidecar (an allowed GET whose route reads the query; warm chain; its
// audit line written), both to the same upstream over keep-alive
// connections on 127.0.0.1, and one strict Ed25519 verify
// (authz.SignedApproval.Verify: the strict verify with the key's expanded
// form cached, plus a small payload decode). Interleaving keeps the three
// under the same load. It reports each p50 and the sidecar's added p50
// (sidecar minus bare) in verifies: added/verify.
func BenchmarkSidecarAddedVsVerify(b *testing.B) {
	up := benchUpstream(b)
	f := gatewaytest.New(b)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(mustURL(up.URL)); pr.Out.Host = pr.In.Host }}
	bare := httptest.NewServer(rp)
	defer bare.Close()
	sc := httptest.NewServer(benchSidecar(b, f, up.URL))
	defer sc.Close()
	c := gatewaytest.Cases()[0]
	h := c.Headers(b, f)
	send := func(base string) time.Duration {
		r, err := http.NewRequest(c.Method, base+c.Target, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header = h.Clone()
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(r)
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
	appr, err := authz.NewApproval(f.Apprvr, [32]byte{1}, "bench", time.Now(), time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	appr, err = reparse(appr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := appr.Verify(); err != nil { // warms the key cache
		b.Fatal(err)
	}
	for range 50 { // warm connections and the chain cache
		send(bare.URL)
		send(sc.URL)
	}
	var lb, ls, lv []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lb = append(lb, send(bare.URL))
		ls = append(ls, send(sc.URL))
		t0 := time.Now()
		if _, err := appr.Verify(); err != nil {
			b.Fatal(err)
		}
		lv = append(lv, time.Since(t0))
	}
	b.StopTimer()
	p50 := func(l []time.Duration) float64 {
		slices.Sort(l)
		return float64(l[len(l)/2].Nanoseconds()) / 1e3
	}
	pb, ps, pv := p50(lb), p50(ls), p50(lv)
	b.ReportMetric(pb, "bare-p50-µs")
	b.ReportMetric(ps, "sidecar-p50-µs")
	b.ReportMetric(pv, "verify-p50-µs")
	b.ReportMetric(ps-pb, "added-p50-µs")
	b.ReportMetric((ps-pb)/pv, "added/verify")
}

// reparse returns the approval as a verifier receives it: parsed from its
// bytes.
func reparse(a *authz.SignedApproval) (*authz.SignedApproval, error) {
	as, err := authz.ParseApprovals(a.Bytes())
	if err != nil {
		return nil, err
	}
	return as[0], nil
}

// BenchmarkSidecarAddedCPU: the sidecar's added CPU time per request, in
// strict verifies. Rounds of requests through the bare reverse proxy and
// the same requests through the sidecar (client, proxies and upstream all
// in this process, so everything but the sidecar's own work is the same in
// both), then as many verifies, each timed by getrusage; four rounds, so
// all three share the machine's load as it changes.
func BenchmarkSidecarAddedCPU(b *testing.B) {
	up := benchUpstream(b)
	f := gatewaytest.New(b)
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(mustURL(up.URL)); pr.Out.Host = pr.In.Host }}
	bare := httptest.NewServer(rp)
	defer bare.Close()
	sc := httptest.NewServer(benchSidecar(b, f, up.URL))
	defer sc.Close()
	c := gatewaytest.Cases()[0]
	h := c.Headers(b, f)
	send := func(base string) {
		r, err := http.NewRequest(c.Method, base+c.Target, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.Header = h.Clone()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	appr, err := authz.NewApproval(f.Apprvr, [32]byte{1}, "bench", time.Now(), time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	if appr, err = reparse(appr); err != nil {
		b.Fatal(err)
	}
	for range 50 {
		send(bare.URL)
		send(sc.URL)
		appr.Verify()
	}
	const rounds = 4
	n := max(b.N/rounds, 50)
	var cb, cs, cv time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range rounds {
		t0 := cpuTime(b)
		for range n {
			send(bare.URL)
		}
		t1 := cpuTime(b)
		for range n {
			send(sc.URL)
		}
		t2 := cpuTime(b)
		for range n {
			if _, err := appr.Verify(); err != nil {
				b.Fatal(err)
			}
		}
		t3 := cpuTime(b)
		cb, cs, cv = cb+t1-t0, cs+t2-t1, cv+t3-t2
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n*rounds) / 1e3 }
	b.ReportMetric(per(cb), "bare-cpu-µs")
	b.ReportMetric(per(cs), "sidecar-cpu-µs")
	b.ReportMetric(per(cv), "verify-cpu-µs")
	b.ReportMetric(per(cs-cb), "added-cpu-µs")
	b.ReportMetric(float64(cs-cb)/float64(cv), "added-cpu/verify")
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSidecar is the fixture's sidecar writing its audit lines to a file,
// as tenuo-authorizer --audit-log does (the fixture's in-memory buffer
// would grow by every line of the run).
func benchSidecar(b *testing.B, f *gatewaytest.Fixture, up string) *gateway.Sidecar {
	af, err := os.Create(filepath.Join(b.TempDir(), "audit.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { af.Close() })
	p := f.NewPoint(f.Authorizer)
	p.Audit = af
	return mustSidecar(b, gateway.SidecarConfig{Checker: gateway.Checker{Point: p}, Upstream: mustURL(up)})
}
