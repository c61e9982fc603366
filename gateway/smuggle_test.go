package gateway_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestSidecarSmuggling: a request checked and allowed carries, in a body
// the route does not read or in framing that two parsers could read apart
// (Transfer-Encoding with Content-Length, a transfer coding list, two
// Content-Lengths, HTTP/1.0, Connection: upgrade without an Upgrade), a
// second request to a path no route allows. Whatever the sidecar answers,
// the upstream receives no request but the checked one: the sidecar reads
// each request whole and frames what it forwards itself.
func TestSidecarSmuggling(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 256)
	addr := strings.TrimPrefix(sc.URL, "http://")
	const hidden = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	chunk := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(hidden), hidden)
	for _, tc := range []struct {
		name, proto, framing, body string
	}{
		{"body on a GET route that reads none", "HTTP/1.1", fmt.Sprintf("Content-Length: %d\r\n", len(hidden)), hidden},
		{"chunked and Content-Length", "HTTP/1.1", "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", chunk},
		{"Content-Length and chunked", "HTTP/1.1", fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n", len(chunk)), chunk + hidden},
		{"a transfer coding list", "HTTP/1.1", "Transfer-Encoding: chunked, identity\r\n", chunk},
		{"an unknown coding", "HTTP/1.1", "Transfer-Encoding: xchunked\r\n", chunk},
		{"two Content-Lengths", "HTTP/1.1", "Content-Length: 0\r\nContent-Length: 35\r\n", hidden},
		{"HTTP/1.0 keep-alive with a body", "HTTP/1.0", fmt.Sprintf("Connection: keep-alive\r\nContent-Length: %d\r\n", len(hidden)), hidden},
		{"Connection: upgrade without Upgrade", "HTTP/1.1", "Connection: upgrade\r\n", hidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			c := req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"})
			var b strings.Builder
			fmt.Fprintf(&b, "GET /files?path=/data/a %s\r\nHost: %s\r\n%s", tc.proto, addr, tc.framing)
			for k, vs := range c.Headers(t, f) {
				for _, v := range vs {
					fmt.Fprintf(&b, "%s: %s\r\n", k, v)
				}
			}
			b.WriteString("\r\n" + tc.body)
			if _, err := io.WriteString(conn, b.String()); err != nil {
				t.Fatal(err)
			}
			// Read whatever comes until the sidecar closes or goes quiet.
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			out, _ := io.ReadAll(conn)
			t.Logf("answered %.60q", out)
		})
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, r := range up.reqs {
		if r.URI != "/files?path=/data/a" {
			t.Errorf("the upstream received %s %s", r.Method, r.URI)
		}
	}
}

// TestSidecarConnectionNominated: a Connection header nominating a header
// the decision read (the tenant a route extracts, the body's Content-Type)
// would have the reverse proxy drop it, as hop-by-hop, from what the
// upstream receives: the upstream would act on a request without it (a
// default tenant, say) while the check saw it. Such a request is refused;
// Connection's own tokens (close, keep-alive, …) are not.
func TestSidecarConnectionNominated(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 256)
	scale := gatewaytest.ScaleFields("staging-1", 3)
	for _, conn := range []string{"X-Tenant-Id", "keep-alive, x-tenant-id", "Content-Type", "X-Request-Id"} {
		before := up.count()
		resp, _ := do(t, f, sc.URL, req("POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`,
			map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme", "Connection": conn}, agent, "scale", scale))
		if resp.StatusCode != 400 || up.count() != before {
			t.Errorf("Connection: %s: %d, the upstream got %d requests", conn, resp.StatusCode, up.count()-before)
		}
	}
	for _, conn := range []string{"keep-alive", "Keep-Alive, TE"} {
		resp, _ := do(t, f, sc.URL, req("POST", "/clusters/staging-1/scale", `{"spec":{"replicas":3}}`,
			map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme", "Connection": conn}, agent, "scale", scale))
		if resp.StatusCode != 200 || up.last(t).Header.Get("X-Tenant-Id") != "acme" {
			t.Errorf("Connection: %s: %d, the upstream got tenant %q", conn, resp.StatusCode, up.last(t).Header.Get("X-Tenant-Id"))
		}
	}
}
