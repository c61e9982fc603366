package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// End-to-end tests of `tenuo-mcp serve` (binPath): the real binary on a real
// loopback port it picks itself (--listen 127.0.0.1:0, net.Listen), real
// server processes per session behind it, and real HTTP clients in front: the
// official TypeScript SDK's StreamableHTTPClientTransport and
// SSEClientTransport (testdata/npm/http-driver.mjs), and raw net/http for
// the bad input.

// server is a running `tenuo-mcp serve`.
type server struct {
	t      testing.TB
	url    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
	code   int
}

// startServe starts serve with flags in front of argv, and waits until it
// says where it listens.
func startServe(t testing.TB, env []string, flags []string, argv ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0"}, flags...)
	args = append(append(args, "--"), argv...)
	s := &server{t: t, stderr: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = env
	pipe, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pipe)
		for {
			line, err := br.ReadString('\n')
			s.stderr.Write([]byte(line))
			if rest, ok := strings.CutPrefix(line, "tenuo-mcp: serving MCP on "); ok {
				u, _, _ := strings.Cut(rest, "/mcp")
				listening <- u
			}
			if err != nil {
				break
			}
		}
		err := s.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			s.code = ee.ExitCode()
		case err != nil:
			s.code = -1
		}
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("stderr of serve:\n%s", s.stderr.String())
		}
	})
	select {
	case s.url = <-listening:
	case <-s.exited:
		t.Fatalf("serve exited %d before listening:\n%s", s.code, s.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", s.stderr.String())
	}
	return s
}

// wait waits for serve to exit and returns its exit code.
func (s *server) wait(d time.Duration) int {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.code
	case <-time.After(d):
		s.t.Fatalf("serve did not exit within %v", d)
		return -1
	}
}

// runHTTPDriver runs http-driver.mjs (kind "streamable" or "sse") against url
// with spec, whose headers go on every request.
func runHTTPDriver(t *testing.T, dir, kind, url string, spec *driverSpec, headers map[string]string) driverOutput {
	t.Helper()
	type httpSpec struct {
		*driverSpec
		Headers map[string]string `json:"headers,omitempty"`
	}
	specFile := filepath.Join(t.TempDir(), "spec.json")
	b, err := json.Marshal(httpSpec{spec, headers})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "http-driver.mjs"), kind, url, specFile)
	cmd.Dir = dir
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("http-driver %s: %v\nstderr:\n%s", kind, err, stderr.String())
	}
	var got driverOutput
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("http-driver output %s: %v", out, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("http-driver output: %s\nstderr:\n%s", out, stderr.String())
		}
	})
	return got
}

// signatureOnly is an envelope carrying the proof of possession alone.
func signatureOnly(env map[string]any) map[string]any {
	return map[string]any{"signature": env["signature"]}
}

// TestServeE2ETypeScriptEverything runs the official TypeScript SDK client
// over streamable HTTP and over legacy SSE through serve in front of
// server-everything (one stdio child per session), with the warrant
// presented in _meta.tenuo, held by serve, or presented in the
// X-Tenuo-Warrant header with only the PoP in _meta.tenuo.
func TestServeE2ETypeScriptEverything(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	everything := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	for _, kind := range []string{"streamable", "sse"} {
		for _, mode := range []string{"presented", "held", "header"} {
			t.Run(kind+"/"+mode, func(t *testing.T) {
				t.Parallel()
				root, agent := newKey(t), newKey(t)
				stack := everythingWarrant(t, root, agent)
				signer := &e2eSigner{stack, agent}
				flags := []string{"--trusted-root", root.Public().Hex(), "--log-level", "warn", "--audit-log", filepath.Join(t.TempDir(), "audit.log")}
				env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_LEAK_CHECK=must-not-reach-the-server"}
				spec := &driverSpec{WaitFor: "trigger-sampling-request", Resources: true, Prompts: true}
				var headers map[string]string
				sign := func(label, tool string, args map[string]any, progress bool) {
					spec.call(t, signer, label, tool, args, progress)
					c := &spec.Calls[len(spec.Calls)-1]
					switch mode {
					case "held":
						c.Meta = nil
					case "header":
						c.Meta["tenuo"] = signatureOnly(c.Meta["tenuo"].(map[string]any))
					}
				}
				switch mode {
				case "held":
					wf := filepath.Join(t.TempDir(), "agent.warrant")
					os.WriteFile(wf, []byte(stack.Base64()), 0o644)
					flags = append(flags, "--warrant", wf)
					env = append(env, "TENUO_HOLDER_KEY="+agent.SeedHex())
				case "presented":
					spec.ListMeta = map[string]any{"tenuo": signer.envelope(t, "tools/list", "{}")}
					spec.call(t, nil, "unsigned", "echo", map[string]any{"message": "hello"}, false)
				case "header":
					headers = map[string]string{"X-Tenuo-Warrant": stack.Base64()}
					spec.call(t, nil, "unsigned", "echo", map[string]any{"message": "hello"}, false)
					// A _meta warrant other than the header's is refused.
					other := &e2eSigner{everythingWarrant(t, root, agent), agent}
					spec.call(t, other, "mismatch", "echo", map[string]any{"message": "hello"}, false)
				}
				sign("echo", "echo", map[string]any{"message": "hello through the proxy"}, false)
				sign("constraint", "echo", map[string]any{"message": "goodbye"}, false)
				sign("hidden", "get-sum", map[string]any{"a": 1, "b": 2}, false)
				sign("long", "trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}, true)
				sign("sampling", "trigger-sampling-request", map[string]any{"prompt": "hi", "maxTokens": 5}, false)
				sign("roots", "get-roots-list", map[string]any{}, false)
				sign("env", "get-env", map[string]any{}, false)
				srv := startServe(t, env, flags, "node", everything, "stdio")
				path := "/mcp"
				if kind == "sse" {
					path = "/sse"
				}
				got := runHTTPDriver(t, dir, kind, srv.url+path, spec, headers)
				c := got.Calls
				checks := []check{
					{"filtered tools/list", slices.Equal(got.Tools, everythingGranted)},
					{"allowed call", c["echo"].Text == "Echo: hello through the proxy"},
					{"constraint denies with 1501", c["constraint"].Code == rpcAccessDenied && c["constraint"].Data.Tenuo.Code == int(authz.CodeConstraintViolation)},
					{"hidden tool uncallable", c["hidden"].Code == rpcAccessDenied && c["hidden"].Data.Tenuo.Code == int(authz.CodeToolNotAuthorized)},
					{"progress", c["long"].Progress >= 1 && strings.Contains(c["long"].Text, "completed")},
					{"sampling round trip", strings.Contains(c["sampling"].Text, "sampled reply from the driver") && got.SamplingRequests == 1},
					{"roots round trip", strings.Contains(c["roots"].Text, "file:///tmp/tenuo-driver-root") && got.RootsRequests >= 1},
					{"resources passthrough", got.Resources > 0 && got.ResourceRead > 0},
					{"prompts passthrough", slices.Contains(got.Prompts, "simple-prompt") && got.PromptMessages > 0},
					{"ping", got.Ping},
					{"no TENUO_* in the server's environment", strings.Contains(c["env"].Text, "PATH") && !strings.Contains(c["env"].Text, "TENUO_")},
				}
				if mode != "held" {
					checks = append(checks, check{"unsigned call denied", c["unsigned"].Code == rpcAccessDenied || c["unsigned"].Code == rpcInvalidParams})
				}
				if mode == "header" {
					checks = append(checks, check{"header and _meta warrants that differ refused", c["mismatch"].Code == rpcInvalidParams && strings.Contains(c["mismatch"].Message, "X-Tenuo-Warrant")})
				}
				runChecks(t, checks)
			})
		}
	}
}

// rawClient speaks streamable HTTP to serve by hand.
type rawClient struct {
	t    *testing.T
	url  string
	sess string
	hdr  map[string]string // on every request
}

func (c *rawClient) post(body string, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.url+"/mcp", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.sess != "" {
		req.Header.Set("Mcp-Session-Id", c.sess)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	for _, h := range []map[string]string{c.hdr, hdr} {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// answer returns the JSON-RPC message of a POST's answer: its body, or the
// last data line of its event stream.
func answer(resp *http.Response, body []byte) reply {
	raw := string(body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw = ""
		for line := range strings.SplitSeq(string(body), "\n") {
			if d, ok := strings.CutPrefix(line, "data: "); ok {
				raw = d
			}
		}
	}
	r := reply{Raw: raw}
	json.Unmarshal([]byte(raw), &r)
	return r
}

func (c *rawClient) initialize() {
	c.t.Helper()
	resp, b := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Mcp-Session-Id") == "" {
		c.t.Fatalf("initialize: %d %s", resp.StatusCode, b)
	}
	c.sess = resp.Header.Get("Mcp-Session-Id")
	if resp, b := c.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil); resp.StatusCode != 202 {
		c.t.Fatalf("initialized: %d %s", resp.StatusCode, b)
	}
}

// heldTestServer starts serve with a held warrant for the test server's
// echo, sleep and crash, its call log and the audit log in dir.
func heldTestServer(t *testing.T, dir string, flags ...string) *server {
	t.Helper()
	root, agent := newKey(t), newKey(t)
	loose := authz.ConstraintSet{AllowUnknown: true}
	wt, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"echo": loose, "sleep": loose, "crash": loose}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wf, kf := filepath.Join(dir, "w"), filepath.Join(dir, "k")
	os.WriteFile(wf, []byte(authz.Stack{wt}.Base64()), 0o644)
	os.WriteFile(kf, []byte(agent.SeedHex()), 0o600)
	flags = append([]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--key", kf, "--log-level", "warn",
		"--audit-log", filepath.Join(dir, "audit.log")}, flags...)
	return startServe(t, nil, flags, helperBinary(t, "testserver"), "-call-log", filepath.Join(dir, "calls.log"))
}

// TestServeE2EBadInput sends serve the bad input of issue 14 by hand; each
// gets its status and JSON-RPC code, and none reaches the server.
func TestServeE2EBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := heldTestServer(t, dir, "--max-body", "2048")
	c := &rawClient{t: t, url: srv.url}
	c.initialize()
	call := func(id, text string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"echo","arguments":{"text":%q}}}`, id, text)
	}
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		code   int
	}{
		{"wrong content type", call("1", "x"), map[string]string{"Content-Type": "text/plain"}, 415, rpcInvalidRequest},
		{"body over the cap", call("2", strings.Repeat("x", 4096)), nil, 413, rpcInvalidRequest},
		{"unknown session", call("3", "x"), map[string]string{"Mcp-Session-Id": "00000000000000000000000000000000"}, 404, rpcInvalidRequest},
		{"bad protocol version", call("4", "x"), map[string]string{"Mcp-Protocol-Version": "1999-01-01"}, 400, rpcInvalidRequest},
		{"foreign Origin", call("5", "x"), map[string]string{"Origin": "http://evil.example"}, 403, rpcInvalidRequest},
		{"Mcp-Method does not match the body", call("6", "x"), map[string]string{"Mcp-Method": "tools/list"}, 400, -32020},
		{"token in the URL", call("7", "x"), nil, 400, rpcInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc := *c
			if tc.name == "token in the URL" {
				cc.url += "/mcp?access_token=abc#"
			}
			resp, b := cc.post(tc.body, tc.hdr)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if r := answer(resp, b); r.errCode() != tc.code {
				t.Errorf("code %d, want %d: %s", r.errCode(), tc.code, b)
			}
		})
	}
	// Refused as on stdio: an id-less tools/call is accepted by HTTP (it is
	// a notification) and dropped by the relay, never relayed; a look-alike
	// method is -32601.
	if resp, b := c.post(`{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"text":"sneaky"}}}`, nil); resp.StatusCode != 202 {
		t.Fatalf("id-less tools/call: %d %s", resp.StatusCode, b)
	}
	if r := answer(c.post(`{"jsonrpc":"2.0","id":"la","method":"Tools/Call","params":{"name":"echo","arguments":{"text":"sneaky"}}}`, nil)); r.errCode() != -32601 {
		t.Errorf("look-alike method: %s", r.Raw)
	}
	// The session still serves, and the server saw only this call.
	r := answer(c.post(call("9", "through"), map[string]string{"Mcp-Method": "tools/call", "Mcp-Name": "echo"}))
	if text, _ := r.toolResult(); text != "through" {
		t.Fatalf("allowed call: %s", r.Raw)
	}
	type logged struct{ Tool string }
	if calls := readJSONLines[logged](t, filepath.Join(dir, "calls.log")); len(calls) != 1 {
		t.Errorf("the server saw %d calls, want 1: %+v", len(calls), calls)
	}
	audit := readJSONLines[map[string]any](t, filepath.Join(dir, "audit.log"))
	var allowed, idless bool
	for _, a := range audit {
		if a["front"] != "http" {
			t.Errorf("audit line not from the http front: %v", a)
		}
		if a["decision"] == "allow" && a["session"] == c.sess {
			allowed = true
		}
		if reason, _ := a["reason"].(string); strings.Contains(reason, "without an id") {
			idless = true
		}
	}
	if !allowed || !idless {
		t.Errorf("audit lacks the allowed call with its session (%v) or the id-less refusal (%v): %v", allowed, idless, audit)
	}
	// The same decisions and refusals, in Prometheus metrics.
	mresp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{
		`tenuo_mcp_decisions_total{code="0",decision="allow",tool="echo"} 1`,
		`tenuo_mcp_http_refused_total{status="415"} 1`,
		`tenuo_mcp_http_refused_total{status="404"} 1`,
		`tenuo_mcp_sessions 1`,
		`tenuo_mcp_upstream_events_total{event="started"} 1`,
		`tenuo_mcp_check_seconds_count 1`,
	} {
		if !strings.Contains(string(metrics), want+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
}

// TestServeE2EEndpointSecurity: inbound tokens, a held warrant on a
// non-loopback address, health endpoints and a graceful SIGTERM.
func TestServeE2EEndpointSecurity(t *testing.T) {
	t.Parallel()
	t.Run("held warrant on a non-loopback address needs tokens", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		root, agent := newKey(t), newKey(t)
		wt, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Minute, Tools: map[string]authz.ConstraintSet{"echo": {}}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		wf, kf := filepath.Join(dir, "w"), filepath.Join(dir, "k")
		os.WriteFile(wf, []byte(authz.Stack{wt}.Base64()), 0o644)
		os.WriteFile(kf, []byte(agent.SeedHex()), 0o600)
		out, err := exec.Command(binPath, "serve", "--listen", "0.0.0.0:0", "--trusted-root", root.Public().Hex(),
			"--warrant", wf, "--key", kf, "--", "true").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "refusing to hand the held warrant") {
			t.Fatalf("err %v, output:\n%s", err, out)
		}
	})
	t.Run("bearer tokens", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		tf := filepath.Join(dir, "tokens")
		const token = "0123456789abcdef-the-right-one"
		os.WriteFile(tf, []byte("# remote agents\n"+token+"\nanother-token-of-16-chars\n"), 0o600)
		srv := heldTestServer(t, dir, "--auth-token-file", tf)
		for _, tc := range []struct {
			auth   string
			status int
		}{{"", 401}, {"Bearer wrong-token-wrong-token", 401}, {"Basic " + token, 401}, {"Bearer " + token, 200}} {
			c := &rawClient{t: t, url: srv.url, hdr: map[string]string{}}
			if tc.auth != "" {
				c.hdr["Authorization"] = tc.auth
			}
			resp, b := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
			if resp.StatusCode != tc.status {
				t.Errorf("Authorization %q: %d, want %d: %s", tc.auth, resp.StatusCode, tc.status, b)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(srv.url + p)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("%s: %v %v", p, err, resp)
			}
			resp.Body.Close()
		}
	})
	t.Run("SIGTERM lets calls in flight finish", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		srv := heldTestServer(t, dir)
		c := &rawClient{t: t, url: srv.url}
		c.initialize()
		req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":300}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", c.sess)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp)
		}
		// The response has begun: the call is counted in flight.
		srv.cmd.Process.Signal(syscall.SIGTERM)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if text, _ := answer(resp, b).toolResult(); !strings.Contains(text, "slept") {
			t.Errorf("call in flight at SIGTERM: %s", b)
		}
		if code := srv.wait(30 * time.Second); code != 0 {
			t.Errorf("exit %d after SIGTERM", code)
		}
	})
}

// startEverythingHTTP starts server-everything in mode (streamableHttp or
// sse) on a port net.Listen picked, and returns its URL once it listens, and
// its standard output (its log of sessions).
func startEverythingHTTP(t *testing.T, dir, mode string) (string, *syncBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // server-everything takes a port number, not a listener
	cmd := exec.Command("node", filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"), mode)
	cmd.Env = append(os.Environ(), "PORT="+port)
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	up := make(chan struct{})
	go func() {
		br := bufio.NewReader(pipe)
		for {
			line, err := br.ReadString('\n')
			if strings.Contains(line, "port "+port) {
				close(up)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(30 * time.Second):
		t.Fatalf("server-everything %s did not start", mode)
	}
	path := "/mcp"
	if mode == "sse" {
		path = "/sse"
	}
	return "http://127.0.0.1:" + port + path, stdout
}

// TestServeE2EUpstreamURL runs the TypeScript SDK client through serve to
// server-everything reached by URL (streamable HTTP and legacy SSE), each
// client session with its own upstream session.
func TestServeE2EUpstreamURL(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	for _, mode := range []string{"streamableHttp", "sse"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			upURL, upLog := startEverythingHTTP(t, dir, mode)
			// A recording reverse proxy in front of the upstream shows
			// which headers reach it.
			target, _ := url.Parse(upURL)
			var seenMu sync.Mutex
			var seen []http.Header
			rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
			rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seenMu.Lock()
				seen = append(seen, r.Header.Clone())
				seenMu.Unlock()
				rp.ServeHTTP(w, r)
			}))
			t.Cleanup(rec.Close)
			upURL = rec.URL + target.Path
			root, agent := newKey(t), newKey(t)
			stack := everythingWarrant(t, root, agent)
			signer := &e2eSigner{stack, agent}
			kind, path, transportFlag := "streamable", "/mcp", "streamable"
			if mode == "sse" {
				kind, path, transportFlag = "sse", "/sse", "sse"
			}
			srv := startServe(t, nil, []string{"--trusted-root", root.Public().Hex(), "--log-level", "warn",
				"--upstream-url", upURL, "--upstream-transport", transportFlag, "--upstream-header", "X-Upstream-Token: upstream-only"})
			spec := &driverSpec{WaitFor: "trigger-sampling-request",
				ListMeta: map[string]any{"tenuo": signer.envelope(t, "tools/list", "{}")}}
			spec.call(t, signer, "echo", "echo", map[string]any{"message": "hello over HTTP"}, false)
			spec.call(t, signer, "constraint", "echo", map[string]any{"message": "goodbye"}, false)
			spec.call(t, signer, "long", "trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}, true)
			spec.call(t, signer, "sampling", "trigger-sampling-request", map[string]any{"prompt": "hi", "maxTokens": 5}, false)
			spec.call(t, nil, "unsigned", "echo", map[string]any{"message": "hello"}, false)
			for run := range 2 {
				got := runHTTPDriver(t, dir, kind, srv.url+path, spec, map[string]string{"Authorization": "Bearer client-secret"})
				c := got.Calls
				runChecks(t, []check{
					{"filtered tools/list", slices.Equal(got.Tools, everythingGranted)},
					{"allowed call", c["echo"].Text == "Echo: hello over HTTP"},
					{"constraint denies with 1501", c["constraint"].Code == rpcAccessDenied && c["constraint"].Data.Tenuo.Code == int(authz.CodeConstraintViolation)},
					{"progress", c["long"].Progress >= 1 && strings.Contains(c["long"].Text, "completed")},
					{"sampling round trip", strings.Contains(c["sampling"].Text, "sampled reply from the driver") && got.SamplingRequests == 1},
					{"unsigned call denied", c["unsigned"].Code == rpcAccessDenied},
					{"ping", got.Ping},
				})
				if run == 0 && t.Failed() {
					return
				}
			}
			seenMu.Lock()
			for _, h := range seen {
				if h.Get("Authorization") != "" || h.Get("X-Upstream-Token") != "upstream-only" {
					t.Errorf("upstream request with Authorization %q, X-Upstream-Token %q", h.Get("Authorization"), h.Get("X-Upstream-Token"))
				}
			}
			if len(seen) < 4 {
				t.Errorf("only %d requests reached the upstream", len(seen))
			}
			seenMu.Unlock()
			if mode == "streamableHttp" {
				if n := strings.Count(upLog.String(), "Session initialized with ID"); n != 2 {
					t.Errorf("two client sessions made %d upstream sessions:\n%s", n, upLog.String())
				}
			}
		})
	}
	t.Run("upstream down", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String() + "/mcp"
		ln.Close() // nothing listens there any more
		root := newKey(t)
		srv := startServe(t, nil, []string{"--trusted-root", root.Public().Hex(), "--log-level", "error", "--upstream-url", down})
		c := &rawClient{t: t, url: srv.url}
		resp, b := c.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
		if r := answer(resp, b); resp.StatusCode != 200 || r.errCode() != rpcInternalError {
			t.Fatalf("initialize with the upstream down: %d %s", resp.StatusCode, b)
		}
	})
}

// TestServeE2EServerDies: a session's server that dies mid-call is reaped,
// the call is answered with an error, the session is gone (404), and a new
// session gets a new server.
func TestServeE2EServerDies(t *testing.T) {
	t.Parallel()
	srv := heldTestServer(t, t.TempDir())
	c := &rawClient{t: t, url: srv.url}
	c.initialize()
	first := c.sess
	if r := answer(c.post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"crash","arguments":{}}}`, nil)); r.errCode() != rpcInternalError {
		t.Fatalf("call whose server died: %s", r.Raw)
	}
	// The session ends once its relay has answered and reaped the server;
	// a request racing that end is answered with -32603, one after it 404.
	for {
		resp, b := c.post(`{"jsonrpc":"2.0","id":2,"method":"ping"}`, nil)
		if resp.StatusCode == http.StatusNotFound {
			break
		}
		if r := answer(resp, b); r.errCode() != rpcInternalError {
			t.Fatalf("request to the dead server's session: %d %s", resp.StatusCode, b)
		}
	}
	c.sess = ""
	c.initialize()
	if c.sess == first {
		t.Fatal("the new session reuses the old id")
	}
	if text, _ := answer(c.post(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"new server"}}}`, nil)).toolResult(); text != "new server" {
		t.Fatalf("call in the new session: %q", text)
	}
	if !strings.Contains(srv.stderr.String(), "exit status 3") {
		t.Errorf("serve does not say how the server exited:\n%s", srv.stderr.String())
	}
}
