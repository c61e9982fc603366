package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// TestMergedBodyGoUpstream: a Go upstream behind the sidecar acts on
// r.FormValue("limit"), which takes a form or multipart body's limit over
// the query's. On POST /search, whose limit comes from the query, an
// ordinary body (JSON or form, without a limit) reaches it with the limit
// checked; a body with a limit, in any framing Go's reader (or PHP's, or
// Rack's) finds it in, never does.
func TestMergedBodyGoUpstream(t *testing.T) {
	f := gatewaytest.New(t)
	y := strings.Replace(gatewaytest.ConfigYAML, "routes:\n", "routes:\n  - pattern: \"/search\"\n    method: POST\n    tool: list\n", 1)
	tm, err := toolmap.Parse([]byte(y), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acted []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		acted = append(acted, r.FormValue("limit"))
		mu.Unlock()
	}))
	t.Cleanup(up.Close)
	sc := newSidecar(t, &enforce.Point{Authorizer: f.Authorizer, ToolMap: tm, Audit: f.Audit}, up.URL, 256)
	mpBody := func(name string) string {
		return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n100000\r\n--XyZ--\r\n"
	}
	for _, tc := range []struct {
		name, body string
		header     map[string]string
		chunked    bool
		status     int
	}{
		{"JSON body, other keys", `{"q":"x","page":2}`, map[string]string{"Content-Type": "application/json"}, false, 200},
		{"form body, other keys", "q=x&page=2", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false, 200},
		{"multipart body, other parts", mpBody("q"), map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, false, 200},
		{"no body", "", nil, false, 200},
		{"form body's limit", "limit=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false, 400},
		{"form body's limit, chunked", "limit=100000", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, true, 400},
		{"form body's limit, type in capitals", "limit=100000", map[string]string{"Content-Type": "Application/X-WWW-Form-Urlencoded"}, false, 400},
		{"multipart body's limit", mpBody("limit"), map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, false, 400},
		{"multipart body's limit, chunked", mpBody("limit"), map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, true, 400},
		{"no Content-Type (Rack reads a form)", "limit=100000", nil, false, 400},
		{"gzip form body", "q=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"}, false, 400},
		{"form body over the cap", "q=" + strings.Repeat("x", 300), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, false, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			acted = nil
			mu.Unlock()
			c := gatewaytest.Case{Method: "POST", Target: "/search?limit=10", Body: tc.body, Header: tc.header,
				Stack: agent, Tool: "list", Fields: map[string]any{"limit": "10"}}
			req := c.Request(t, f, sc.URL)
			if tc.chunked {
				req.Body = io.NopCloser(strings.NewReader(tc.body))
				req.ContentLength = -1
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case tc.status == 200 && (len(acted) != 1 || acted[0] != "10"):
				t.Errorf("the upstream acted on limit %q, want [10]", acted)
			case tc.status != 200 && len(acted) != 0:
				t.Errorf("the upstream was reached (limit %q)", acted)
			}
		})
	}
}
