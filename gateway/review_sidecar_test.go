package gateway_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestSidecarRequestTrailers: a chunked request's trailer fields come
// after the body, so the check never reads them; a server that merges
// trailers into the headers would act on a tenant or a method override
// the check did not see. The sidecar forwards no request trailer, on a
// route that reads the body (read whole before forwarding) as on one
// whose body streams.
func TestSidecarRequestTrailers(t *testing.T) {
	f := gatewaytest.New(t)
	var mu sync.Mutex
	var trailers []http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		trailers = append(trailers, r.Trailer.Clone())
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	sc := newSidecar(t, f.Point, up.URL, 256)
	addr := strings.TrimPrefix(sc.URL, "http://")
	scaleBody := `{"spec":{"replicas":3}}`
	for _, tc := range []struct {
		name, target, framing, body string
		c                           gatewaytest.Case
	}{
		{"body read", "/clusters/staging-1/scale", "Content-Type: application/json\r\nX-Tenant-Id: acme\r\n", scaleBody,
			req("POST", "", "", nil, agent, "scale", gatewaytest.ScaleFields("staging-1", 3))},
		{"body streamed", "/upload/x", "", "abc", req("POST", "", "", nil, agent, "upload", map[string]any{"name": "x"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			before := len(trailers)
			mu.Unlock()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			var b strings.Builder
			fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: X-Tenant-Id, X-Http-Method-Override\r\n%s", tc.target, addr, tc.framing)
			for k, vs := range tc.c.Headers(t, f) {
				for _, v := range vs {
					fmt.Fprintf(&b, "%s: %s\r\n", k, v)
				}
			}
			fmt.Fprintf(&b, "\r\n%x\r\n%s\r\n0\r\nX-Tenant-Id: evil\r\nX-Http-Method-Override: DELETE\r\n\r\n", len(tc.body), tc.body)
			if _, err := io.WriteString(conn, b.String()); err != nil {
				t.Fatal(err)
			}
			resp, err := io.ReadAll(conn)
			if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.1 200 ") {
				t.Fatalf("answered %.80q (%v)", resp, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(trailers) != before+1 {
				t.Fatalf("the upstream got %d requests", len(trailers)-before)
			}
			if tr := trailers[before]; len(tr) != 0 {
				t.Errorf("the upstream got the trailers %v", tr)
			}
		})
	}
}
