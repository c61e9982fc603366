package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// TestSidecarNULInBodyField: a JSON string may hold a NUL ("\u0000"); a
// server that hands the value to C (a file name, say) acts on what comes
// before it. Tenuo's Pattern already fails such a value (403), but other
// constraints do not look (a wildcard, a NotOneOf): {"tags": ["x\u0000y"]}
// was allowed. A field extracted with a NUL in a string (at any depth) is
// refused before the warrant (400), as a query value's is; the same body
// without one goes on.
func TestSidecarNULInBodyField(t *testing.T) {
	f := gatewaytest.New(t)
	_, up, sc, stack := toolSidecar(t, f, `version: "1"
tools:
  open:
    constraints:
      name: {from: body, path: name, type: string, required: true}
      tags: {from: body, path: tags}
routes:
  - pattern: "/open"
    method: POST
    tool: open
`, map[string]authz.ConstraintSet{
		"open": {Constraints: map[string]authz.Constraint{"name": &authz.Pattern{Pattern: "*.txt"}, "tags": &authz.Wildcard{}}},
	})
	ct := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		body   string
		fields map[string]any
		status int
	}{
		{`{"name": "secret\u0000.txt"}`, map[string]any{"name": "secret\x00.txt"}, http.StatusBadRequest},
		{`{"name": "a.txt", "tags": ["x\u0000y"]}`, map[string]any{"name": "a.txt", "tags": []any{"x\x00y"}}, http.StatusBadRequest},
		{`{"name": "a.txt", "tags": ["x"]}`, map[string]any{"name": "a.txt", "tags": []any{"x"}}, http.StatusOK},
	} {
		wantStatus(t, f, sc, up, req("POST", "/open", tc.body, ct, stack, "open", tc.fields), tc.status)
	}
}

// TestSidecarRawNULInQuery: a request line with a raw NUL in the query,
// written on a real socket, never reaches the upstream (net/http refuses
// the target before the checker sees it).
func TestSidecarRawNULInQuery(t *testing.T) {
	f := gatewaytest.New(t)
	_, up, sc, _ := toolSidecar(t, f, gatewaytest.ConfigYAML, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(sc.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /files?path=/data/a\x00.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || up.count() != 0 {
		t.Fatalf("a raw NUL in the query: %d, upstream reached %d times", resp.StatusCode, up.count())
	}
}
