package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// TestServeE2ELenientServer puts serve in front of the lenient JSON-RPC
// server of the stdio bypass test (testdata/npm/jsonrpc-server.mjs: it
// executes notifications and every member of a batch, dispatches on a
// trimmed, NFKC, lower-cased method, and JSON.parse keeps the last of
// repeated keys) and sends, over HTTP as an outsider would, every shape of a
// tools/call of write_file, which the held warrant does not grant: id-less,
// null and odd ids, batches, look-alike and escaped methods, repeated keys
// read one way by serve and another by the server, messages smuggled behind
// line breaks, two JSON values in one body, a byte-order mark, bad content
// types and odd session ids. Each gets its precise refusal, serve keeps
// serving, and the server's own log holds only the approved echo calls.
func TestServeE2ELenientServer(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	tmp := t.TempDir()
	execLog := filepath.Join(tmp, "executed.jsonl")
	root, agent := newKey(t), newKey(t)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"echo": {AllowUnknown: true}}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(tmp, "agent.warrant")
	os.WriteFile(wf, []byte(authz.Stack{w}.Base64()), 0o644)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_HOLDER_KEY=" + agent.SeedHex()}
	srv := startServe(t, env, []string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "error", "--max-body", "65536"},
		"node", filepath.Join(dir, "jsonrpc-server.mjs"), execLog)

	session := func(version string) *rawClient {
		c := &rawClient{t: t, url: srv.url}
		resp, b := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+version+`","capabilities":{},"clientInfo":{"name":"outsider","version":"1"}}}`, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") == "" {
			t.Fatalf("initialize %s: %d %s", version, resp.StatusCode, b)
		}
		c.sess = resp.Header.Get("Mcp-Session-Id")
		c.hdr = map[string]string{"Mcp-Protocol-Version": version}
		c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil)
		return c
	}
	s0326, s0618 := session("2025-03-26"), session("2025-06-18")
	write := `"params":{"name":"write_file","arguments":{"path":"/etc/cron.d/x"}}`
	call := func(id string) string {
		return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call",` + write + `}`
	}
	deep := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	other := *s0618
	other.sess = strings.ToUpper(s0618.sess)
	cases := []struct {
		name   string
		c      *rawClient
		body   string
		hdr    map[string]string
		status int
		code   int // of the answer; 0 for none
	}{
		{"id-less tools/call", s0618, `{"jsonrpc":"2.0","method":"tools/call",` + write + `}`, nil, 202, 0},
		{"id-less, escaped method", s0618, `{"jsonrpc":"2.0","method":"tools\/call",` + write + `}`, nil, 202, 0},
		{"id-less, upper case", s0618, `{"jsonrpc":"2.0","method":"TOOLS/CALL",` + write + `}`, nil, 202, 0},
		{"null id", s0618, call("null"), nil, 400, rpcInvalidRequest},
		{"batch in 2025-06-18", s0618, "[" + call(`"b0"`) + "]", nil, 200, rpcInvalidRequest},
		{"batch in 2025-06-18, JSON answer", s0618, "[" + call(`"b1"`) + "]", map[string]string{"Accept": "application/json"}, 200, rpcInvalidRequest},
		{"object id", s0618, call(`{"a":1}`), nil, 400, rpcInvalidRequest},
		{"boolean id", s0618, call("true"), nil, 400, rpcInvalidRequest},
		{"fractional id", s0618, call("1.5"), nil, 200, rpcAccessDenied},
		{"look-alike, trailing space", s0618, `{"jsonrpc":"2.0","id":"l1","method":"Tools/Call ",` + write + `}`, nil, 200, -32601},
		{"look-alike, full width", s0618, `{"jsonrpc":"2.0","id":"l2","method":"ｔｏｏｌｓ/call",` + write + `}`, nil, 200, -32601},
		{"look-alike, zero width", s0618, `{"jsonrpc":"2.0","id":"l3","method":"tools/call\u200b",` + write + `}`, nil, 200, -32601},
		{"look-alike, NUL", s0618, `{"jsonrpc":"2.0","id":"l4","method":"tools/call\u0000",` + write + `}`, nil, 200, -32601},
		{"no jsonrpc member", s0618, `{"id":"v","method":"tools/call",` + write + `}`, nil, 200, rpcInvalidRequest},
		{"jsonrpc 1.0", s0618, `{"jsonrpc":"1.0","id":"v","method":"tools/call",` + write + `}`, nil, 200, rpcInvalidRequest},
		{"params an array", s0618, `{"jsonrpc":"2.0","id":"p","method":"tools/call","params":["write_file",{}]}`, nil, 200, rpcInvalidParams},
		{"repeated method, last tools/call", s0618, `{"jsonrpc":"2.0","id":"d1","method":"ping","method":"tools/call",` + write + `}`, nil, 400, rpcInvalidRequest},
		{"repeated name, last write_file", s0618, `{"jsonrpc":"2.0","id":"d2","method":"tools/call","params":{"name":"echo","name":"write_file","arguments":{}}}`, nil, 200, rpcInvalidParams},
		{"escaped repeated name", s0618, `{"jsonrpc":"2.0","id":"d3","method":"tools/call","params":{"name":"echo","n\u0061me":"write_file","arguments":{}}}`, nil, 200, rpcInvalidParams},
		{"repeated params", s0618, `{"jsonrpc":"2.0","id":"d4","method":"tools/call","params":{"name":"echo","arguments":{}},` + write + `}`, nil, 400, rpcInvalidRequest},
		{"smuggled behind newlines", s0618, "{\"jsonrpc\":\"2.0\",\"id\":\"nl\",\"method\":\"ping\",\"params\":{\"x\":\n" + call(`"smuggled"`) + "\n}}", nil, 200, 0},
		{"smuggled behind CRs", s0618, "{\"jsonrpc\":\"2.0\",\"id\":\"cr\",\"method\":\"ping\",\"params\":{\"x\":\r" + call(`"smuggled"`) + "\r}}", nil, 200, 0},
		{"smuggled behind U+2028", s0618, `{"jsonrpc":"2.0","id":"ls","method":"ping","params":{"x":"` + "\u2028" + `","y":` + call(`"smuggled"`) + `}}`, nil, 200, 0},
		{"two JSON values", s0618, `{"jsonrpc":"2.0","id":"two","method":"ping"}` + call(`"second"`), nil, 400, -32700},
		{"two JSON values, newline", s0618, `{"jsonrpc":"2.0","id":"two","method":"ping"}` + "\n" + call(`"second"`), nil, 400, -32700},
		{"byte-order mark", s0618, "\ufeff" + call(`"bom"`), nil, 400, -32700},
		{"too deep", s0618, deep, nil, 400, rpcInvalidRequest},
		{"too deep arguments", s0618, `{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"echo","arguments":{"x":` + deep + `}}}`, nil, 400, -32700},
		{"batch, id-less member", s0326, `[{"jsonrpc":"2.0","method":"tools/call",` + write + `},` + call(`"b1"`) + `]`, nil, 200, rpcAccessDenied},
		{"batch inside a batch", s0326, "[[" + call(`"b2"`) + "]]", nil, 400, rpcInvalidRequest},
		{"empty batch", s0326, "[]", nil, 400, rpcInvalidRequest},
		{"text/plain", s0618, call(`"ct1"`), map[string]string{"Content-Type": "text/plain"}, 415, rpcInvalidRequest},
		{"UTF-16 charset", s0618, call(`"ct2"`), map[string]string{"Content-Type": "application/json; charset=utf-16"}, 415, rpcInvalidRequest},
		{"no content type", s0618, call(`"ct3"`), map[string]string{"Content-Type": ""}, 415, rpcInvalidRequest},
		{"session id in upper case", &other, call(`"sid1"`), nil, 404, rpcInvalidRequest},
		// HTTP strips the spaces around a header value: the same session.
		{"session id between spaces", s0618, call(`"sid2"`), map[string]string{"Mcp-Session-Id": " " + s0618.sess + " "}, 200, rpcAccessDenied},
		{"two session ids in one", s0618, call(`"sid3"`), map[string]string{"Mcp-Session-Id": s0618.sess + "," + s0326.sess}, 404, rpcInvalidRequest},
	}
	for _, c := range cases {
		resp, b, err := postWithin(c.c, c.body, c.hdr)
		if err != nil {
			t.Errorf("%s: no answer: %v", c.name, err)
			continue
		}
		got := 0
		if len(b) > 0 {
			got = answer(resp, b).errCode()
			var batch []reply
			if json.Unmarshal(b, &batch) == nil && len(batch) > 0 {
				got = batch[len(batch)-1].errCode()
			}
		}
		if c.status != anyStatus && (resp.StatusCode != c.status || got != c.code) {
			t.Errorf("%s: %d %s; want %d with %d", c.name, resp.StatusCode, b, c.status, c.code)
		}
	}
	// Two Mcp-Session-Id header lines, one of them another session's.
	req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(call(`"sid4"`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header["Mcp-Session-Id"] = []string{s0618.sess, s0326.sess}
	if resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req); err != nil {
		t.Errorf("two Mcp-Session-Id lines: %v", err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || answer(resp, b).errCode() != rpcInvalidRequest {
			t.Errorf("two Mcp-Session-Id lines: %d %s", resp.StatusCode, b)
		}
	}

	// Bodies whose size or encoding is not what they say: a chunked body
	// (no Content-Length) past --max-body is 413 as a counted one is; a
	// gzip-encoded body is not decoded (a parse error), so no compressed
	// bomb is ever expanded; a Content-Length past the cap with Expect:
	// 100-continue is refused before the body is sent.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(call(`"gz"`)))
	zw.Close()
	for _, b := range []struct {
		name   string
		body   io.Reader
		hdr    map[string]string
		length int64
		status int
	}{
		{"chunked past the cap", io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":"big","method":"ping","params":{"x":"`), strings.NewReader(strings.Repeat("x", 70000)), strings.NewReader(`"}}`)), nil, -1, 413},
		{"gzip-encoded", bytes.NewReader(gz.Bytes()), map[string]string{"Content-Encoding": "gzip"}, int64(gz.Len()), 400},
		{"Expect: 100-continue past the cap", strings.NewReader(strings.Repeat(" ", 70000) + call(`"ex"`)), map[string]string{"Expect": "100-continue"}, int64(70000 + len(call(`"ex"`))), 413},
	} {
		req, _ := http.NewRequest("POST", srv.url+"/mcp", b.body)
		req.ContentLength = b.length
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", s0618.sess)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		for k, v := range b.hdr {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Errorf("%s: %v", b.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != b.status {
			t.Errorf("%s: %d %s, want %d", b.name, resp.StatusCode, body, b.status)
		}
	}

	// Over the legacy SSE transport, the same shapes go to the endpoint
	// the stream names; answers come on the stream.
	legacy := openLegacy(t, srv.url)
	for _, body := range []string{
		`{"jsonrpc":"2.0","method":"tools/call",` + write + `}`,
		call("null"),
		`{"jsonrpc":"2.0","id":"ll","method":"Tools/Call",` + write + `}`,
		"{\"jsonrpc\":\"2.0\",\"id\":\"lnl\",\"method\":\"ping\",\"params\":{\"x\":\n" + call(`"smuggled"`) + "\n}}",
		`{"jsonrpc":"2.0","id":"ld","method":"ping","method":"tools/call",` + write + `}`,
		"[" + call(`"lb"`) + "]",
		call(`"lw"`),
	} {
		legacy.post(t, body)
	}
	legacy.post(t, `{"jsonrpc":"2.0","id":"lok","method":"tools/call","params":{"name":"echo","arguments":{}}}`)
	legacy.await(t, `"lok"`)

	// The approved calls, last, in both sessions: once they are answered,
	// everything before them was handled.
	for i, c := range []*rawClient{s0618, s0326} {
		r := answer(c.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":"ok%d","method":"tools/call","params":{"name":"echo","arguments":{}}}`, i), nil))
		if text, _ := r.toolResult(); text != "ran echo" {
			t.Fatalf("the approved call: %s", r.Raw)
		}
	}
	executed := readJSONLines[map[string]any](t, execLog)
	if len(executed) != 3 || executed[0]["name"] != "echo" || executed[1]["name"] != "echo" || executed[2]["name"] != "echo" {
		t.Fatalf("the server executed %v; only the three approved echo calls may reach it", executed)
	}
}

// anyStatus marks a case whose answer is not checked, only that the
// server never runs it.
const anyStatus = -1

// legacySSE is a client session of the legacy HTTP+SSE transport.
type legacySSE struct {
	endpoint string
	events   *syncBuffer
}

// openLegacy opens GET /sse and waits for its endpoint event.
func openLegacy(t *testing.T, base string) *legacySSE {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/sse", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	l := &legacySSE{events: &syncBuffer{}}
	go io.Copy(l.events, resp.Body)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, rest, ok := strings.Cut(l.events.String(), "event: endpoint\ndata: "); ok {
			if path, _, ok := strings.Cut(rest, "\n"); ok {
				l.endpoint = base + path
				break
			}
		}
	}
	if l.endpoint == "" {
		t.Fatalf("no endpoint event: %q", l.events.String())
	}
	l.post(t, `{"jsonrpc":"2.0","id":"li","method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"outsider","version":"1"}}}`)
	l.await(t, `"li"`)
	l.post(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return l
}

// post sends body to the session's endpoint; serve accepts it (202) or
// refuses it at once (4xx), and never hangs.
func (l *legacySSE) post(t *testing.T, body string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Post(l.endpoint, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("legacy POST %.40s: %v", body, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 && (resp.StatusCode < 400 || resp.StatusCode > 499) {
		t.Errorf("legacy POST %.40s: %d %s", body, resp.StatusCode, b)
	}
}

// await waits for an answer with id on the stream.
func (l *legacySSE) await(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(l.events.String(), `"id":`+id) {
			return
		}
	}
	t.Fatalf("no answer %s on the legacy stream: %s", id, l.events.String())
}

// postWithin is rawClient.post with a deadline: a request serve never
// answers fails the test instead of hanging it.
func postWithin(c *rawClient, body string, hdr map[string]string) (*http.Response, []byte, error) {
	req, err := http.NewRequest("POST", c.url+"/mcp", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.sess != "" {
		req.Header.Set("Mcp-Session-Id", c.sess)
	}
	for _, h := range []map[string]string{c.hdr, hdr} {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestServeE2EOneCredential: with inbound tokens, a request is one
// caller's: two Authorization lines are refused (400), whichever of them
// is valid, rather than serve taking one and a proxy in front another; two
// tokens in one line are no token (401); the spaces HTTP strips around a
// value do not matter.
func TestServeE2EOneCredential(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	path := w.write(t, goodCallers)
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "error"}, gosdkPeer(t))
	for _, c := range []struct {
		name   string
		auth   []string
		status int
	}{
		{"alice's and bob's", []string{"Bearer " + aliceToken, "Bearer " + bobToken}, 400},
		{"a bad one and alice's", []string{"Bearer not-a-token-0123456789", "Bearer " + aliceToken}, 400},
		{"alice's twice", []string{"Bearer " + aliceToken, "Bearer " + aliceToken}, 400},
		{"two in one line", []string{"Bearer " + aliceToken + ", Bearer " + bobToken}, 401},
		{"between spaces", []string{"  Bearer " + aliceToken + "  "}, 200},
	} {
		req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(initBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header["Authorization"] = c.auth
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.status)
		}
	}
}

// TestServeE2ECancelOnlyOwn2026: 2026-07-28 clients of one caller share an
// upstream, and their request ids may be the same; one client's
// notifications/cancelled naming an id cannot cancel the call another
// client has in flight under that id.
func TestServeE2ECancelOnlyOwn2026(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, agent := newKey(t), newKey(t)
	wf := filepath.Join(dir, "agent.warrant")
	os.WriteFile(wf, []byte(peerWarrant(t, root, agent).Base64()), 0o644)
	cancelLog := filepath.Join(dir, "cancel.log")
	srv := startServe(t, []string{"TENUO_HOLDER_KEY=" + agent.SeedHex()},
		[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}, gosdkPeer(t), "-cancel-log", cancelLog)
	v26 := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "sleep"}
	raw := &rawClient{t: t, url: srv.url}
	done := make(chan string, 1)
	go func() {
		resp, b, err := postWithin(raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":1500},"_meta":{`+meta26+`}}}`, v26)
		if err != nil {
			done <- err.Error()
			return
		}
		text, _ := answer(resp, b).toolResult()
		done <- text
	}()
	// Wait until the call is in flight (it sleeps 1.5 s).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(srv.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(m), "\ntenuo_mcp_requests_in_flight 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the call is not in flight:\n%s", m)
		}
	}
	for _, id := range []string{"1", `"1"`} {
		resp, b, err := postWithin(raw, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":`+id+`,"_meta":{`+meta26+`}}}`,
			map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "notifications/cancelled"})
		if err != nil || resp.StatusCode >= 500 {
			t.Fatalf("notifications/cancelled %s: %v %v %s", id, err, resp, b)
		}
	}
	if got := <-done; got != "slept" {
		t.Errorf("the call another client cancelled by its id: %q", got)
	}
	if b, _ := os.ReadFile(cancelLog); len(b) != 0 {
		t.Errorf("the server saw a cancellation: %q", b)
	}
}

// TestServeE2EDNSRebinding: a web page whose name an attacker re-points at
// 127.0.0.1 makes same-origin GETs, which carry no Origin header, with its
// own name in Host. On a loopback address serve answers only its loopback
// names (and --allow-host ones): such a page can neither open legacy SSE
// sessions (each a server process, counted against the local user's
// sessions) nor read /metrics.
func TestServeE2EDNSRebinding(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := heldTestServer(t, dir, "--allow-host", "mcp.internal.example")
	addr := strings.TrimPrefix(srv.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	get := func(path, host string) int {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nAccept: text/event-stream\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("GET %s with Host %s: %v", path, host, err)
		}
		return resp.StatusCode // the deferred close ends an event stream
	}
	for _, c := range []struct {
		path, host string
		status     int
	}{
		{"/sse", "attacker.example:" + port, 403},
		{"/sse", "attacker.example", 403},
		{"/sse", "127.0.0.1.attacker.example:" + port, 403},
		{"/sse", "localhost.attacker.example:" + port, 403},
		{"/metrics", "attacker.example:" + port, 403},
		{"/mcp", "attacker.example:" + port, 403},
		{"/sse", "127.0.0.1:" + port, 200},
		{"/sse", "localhost:" + port, 200},
		{"/sse", "LOCALHOST:" + port, 200},
		{"/sse", "[::1]:" + port, 200},
		{"/sse", "mcp.internal.example:" + port, 200},
		{"/metrics", "127.0.0.1:" + port, 200},
	} {
		if got := get(c.path, c.host); got != c.status {
			t.Errorf("GET %s with Host %s: %d, want %d", c.path, c.host, got, c.status)
		}
	}
	// The five allowed GET /sse opened five sessions (closed since), the
	// refused ones none. A session's server is counted once it has started,
	// which may be just after its GET was answered: wait for the count to
	// reach five, then check it is exactly five.
	var m []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(srv.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := startedCount(string(m)); n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := startedCount(string(m)); n != 5 {
		t.Errorf("%d servers started, want 5:\n%s", n, m)
	}
}

// startedCount reads tenuo_mcp_upstream_events_total{event="started"} from
// a metrics page (0 when absent).
func startedCount(page string) int {
	for line := range strings.SplitSeq(page, "\n") {
		if v, ok := strings.CutPrefix(line, `tenuo_mcp_upstream_events_total{event="started"} `); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
