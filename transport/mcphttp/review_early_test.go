package mcphttp

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestEarlyAnswerToLargeBody: an upstream that answers a body over its own
// limit before reading it (413 with a JSON-RPC error) is read as net/http
// reads it: its error is the answer, and the request is not sent again.
func TestEarlyAnswerToLargeBody(t *testing.T) {
	up := newCountingUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			w.Write([]byte(`{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"too large upstream"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(result(b, `{}`)))
	}, nil)
	for _, fast := range []bool{true, false} {
		t.Run("fast="+strconv.FormatBool(fast), func(t *testing.T) {
			up.mu.Lock()
			before := len(up.seen)
			up.mu.Unlock()
			c := dialFastTest(t, up.srv.URL+"/mcp")
			c.fast = fast
			for i := range 3 {
				if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1` + strconv.Itoa(i) + `,"method":"ping"}`)); err != nil {
					t.Fatal(err)
				}
				readOne(t, c)
			}
			big := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"pad":"` + strings.Repeat("a", 3<<20) + `"}}}`
			err := c.Write([]byte(big))
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if m := readOne(t, c); !strings.Contains(m, "too large upstream") {
				t.Fatalf("answer %s", m)
			}
			up.mu.Lock()
			defer up.mu.Unlock()
			if n := len(up.seen) - before; n != 4 {
				t.Fatalf("the upstream saw %d requests, want 4 (the large one once)", n)
			}
		})
	}
}
