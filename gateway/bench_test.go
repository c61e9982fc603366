package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"testing"
	"time"

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
