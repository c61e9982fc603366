package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// End-to-end tests of the real `tenuo-mcp proxy` binary (binPath, built by
// TestMain): real subprocesses and pipes, raw JSON-RPC written by the test,
// the example file server behind the proxy with its call log proving what
// reached it.

// Error codes the proxy answers with (mcpproxy's constants).
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcInvalidParams  = -32602
	rpcInternalError  = -32603
	rpcAccessDenied   = -32001
)

var (
	helperOnce sync.Once
	helperErr  error
)

// helperBinary returns the path of a helper server built once next to
// binPath: "testserver" (mcpproxy's test server: echo, sleep, crash) or
// "echoserver" (examples/mcp-servers/echoserver) or "relaycmd" (mcpproxy's
// relay with a name-only policy and no warrants, for benchmarks) or
// "copyrelay" (a relay that only copies bytes: the floor, for benchmarks).
func helperBinary(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Dir(binPath)
	helperOnce.Do(func() {
		for _, pkg := range []string{"../../mcpproxy/internal/testserver", "../../examples/mcp-servers/echoserver", "../../mcpproxy/internal/relaycmd", "../../mcpproxy/internal/copyrelay", "../../mcpproxy/internal/httpfloor"} {
			out, err := exec.Command("go", "build", "-o", dir, pkg).CombinedOutput()
			if err != nil {
				helperErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	return filepath.Join(dir, name)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// reply is one JSON-RPC response as the client received it.
type reply struct {
	Raw    string
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	} `json:"error"`
}

// errCode is the JSON-RPC error code, or 0 for a result.
func (r reply) errCode() int {
	if r.Error == nil {
		return 0
	}
	return r.Error.Code
}

// tenuoCode is error.data.tenuo.code, or 0.
func (r reply) tenuoCode() int {
	if r.Error == nil {
		return 0
	}
	var d struct {
		Tenuo struct{ Code int } `json:"tenuo"`
	}
	json.Unmarshal(r.Error.Data, &d)
	return d.Tenuo.Code
}

// toolResult is the result of a tools/call.
func (r reply) toolResult() (text string, isError bool) {
	var res struct {
		Content []struct{ Text string } `json:"content"`
		IsError bool                    `json:"isError"`
	}
	json.Unmarshal(r.Result, &res)
	for _, c := range res.Content {
		text += c.Text
	}
	return text, res.IsError
}

// toolNames lists the names in a tools/list result.
func (r reply) toolNames() []string {
	var res struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	json.Unmarshal(r.Result, &res)
	names := []string{}
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// peer is an MCP client talking raw JSON-RPC to a subprocess's stdio.
type peer struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer

	mu      sync.Mutex
	replies map[string]chan reply // by raw id text
	nextID  int
	other   chan []byte // requests and notifications from the server

	exited   chan struct{}
	exitCode int
}

// startPeer starts argv with env (nil: the test's environment) and reads its
// output.
func startPeer(t testing.TB, env []string, argv ...string) *peer {
	t.Helper()
	p := &peer{t: t, stderr: &syncBuffer{}, replies: map[string]chan reply{}, other: make(chan []byte, 256),
		exited: make(chan struct{}), nextID: 100}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				p.dispatch(bytes.TrimSpace(line))
			}
			if err != nil {
				break
			}
		}
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.exitCode = ee.ExitCode()
		case err != nil:
			p.exitCode = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", filepath.Base(argv[0]), p.stderr.String())
		}
	})
	return p
}

func (p *peer) dispatch(line []byte) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		p.t.Errorf("the proxy wrote a line that is not JSON: %q", line)
		return
	}
	if m.Method != "" {
		p.other <- line
		return
	}
	var r reply
	json.Unmarshal(line, &r)
	r.Raw = string(line)
	id := string(m.ID)
	if id == "" {
		id = "null"
	}
	p.ch(id) <- r
}

func (p *peer) ch(id string) chan reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.replies[id]
	if !ok {
		c = make(chan reply, 16)
		p.replies[id] = c
	}
	return c
}

// sendLine writes one line as it is.
func (p *peer) sendLine(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("writing to the proxy: %v", err)
	}
}

// send writes a request with the given id (nil: a notification).
func (p *peer) send(id any, method string, params any) {
	p.t.Helper()
	m := map[string]any{"jsonrpc": "2.0", "method": method}
	if id != nil {
		m["id"] = id
	}
	if params != nil {
		m["params"] = params
	}
	b, err := json.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendLine(string(b))
}

// await returns the response to id (raw JSON text of the id), failing after 15 s.
func (p *peer) await(id string) reply {
	p.t.Helper()
	select {
	case r := <-p.ch(id):
		return r
	case <-time.After(15 * time.Second):
		p.t.Fatalf("no answer to id %s; stderr:\n%s", id, p.stderr.String())
	}
	return reply{}
}

// request sends a request with a fresh id and waits for its answer.
func (p *peer) request(method string, params any) reply {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	p.send(id, method, params)
	return p.await(fmt.Sprint(id))
}

func (p *peer) initialize() {
	p.t.Helper()
	r := p.request("initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "e2e", "version": "1"}})
	if r.Error != nil {
		p.t.Fatalf("initialize: %s", r.Raw)
	}
	p.send(nil, "notifications/initialized", nil)
}

// wait closes nothing; it waits for the process to exit and returns its code.
func (p *peer) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.exitCode
	case <-time.After(d):
		p.t.Fatalf("the process did not exit within %v; stderr:\n%s", d, p.stderr.String())
	}
	return 0
}

// e2eSigner presents a warrant stack with its holder's PoPs.
type e2eSigner struct {
	stack authz.Stack
	key   *authz.SigningKey
}

// envelope returns the _meta.tenuo object for a call of tool with argsJSON.
func (s e2eSigner) envelope(t testing.TB, tool, argsJSON string) map[string]any {
	t.Helper()
	args, err := authz.CanonicalArgs([]byte(argsJSON))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := authz.SignPoP(s.key, s.stack.Leaf().ID, tool, args, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"warrant": s.stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}
}

// params returns tools/call params presenting the warrant in _meta.tenuo.
func (s e2eSigner) params(t testing.TB, tool, argsJSON string) map[string]any {
	t.Helper()
	return map[string]any{"name": tool, "arguments": json.RawMessage(argsJSON),
		"_meta": map[string]any{"tenuo": s.envelope(t, tool, argsJSON)}}
}

func newKey(t testing.TB) *authz.SigningKey {
	t.Helper()
	k, err := authz.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func subpath(dir string) authz.ConstraintSet {
	return authz.ConstraintSet{Constraints: map[string]authz.Constraint{
		"path": &authz.Subpath{Root: dir}}}
}

// fsWorld is a sandbox served by the example file server, a root key and an
// agent holding a warrant for read_file and list_dir inside the sandbox.
type fsWorld struct {
	dir, sandbox, callLog, auditLog string
	root, agent                     *authz.SigningKey
	agentStack                      authz.Stack
	agentSigner                     e2eSigner
	warrantFile, keyFile            string
}

func newFSWorld(t testing.TB) *fsWorld {
	t.Helper()
	dir := t.TempDir()
	w := &fsWorld{dir: dir, sandbox: filepath.Join(dir, "sandbox"), callLog: filepath.Join(dir, "calls.jsonl"),
		auditLog: filepath.Join(dir, "audit.jsonl"), root: newKey(t), agent: newKey(t)}
	if err := os.MkdirAll(filepath.Join(w.sandbox, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(w.sandbox, "hello.txt"), []byte("hello from the sandbox"), 0o644)
	os.WriteFile(filepath.Join(w.sandbox, "reports", "q3.txt"), []byte("Q3 up 12%"), 0o644)
	wt, err := authz.Mint(w.root, authz.Grant{Holder: w.agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_file": subpath(w.sandbox), "list_dir": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.agentStack = authz.Stack{wt}
	w.agentSigner = e2eSigner{w.agentStack, w.agent}
	w.warrantFile = filepath.Join(dir, "agent.warrant")
	w.keyFile = filepath.Join(dir, "agent.key")
	os.WriteFile(w.warrantFile, []byte(w.agentStack.Base64()+"\n"), 0o644)
	os.WriteFile(w.keyFile, []byte(w.agent.SeedHex()+"\n"), 0o600)
	return w
}

func (w *fsWorld) path(rel string) string { return filepath.Join(w.sandbox, rel) }

func (w *fsWorld) serverArgv() []string {
	return []string{binPath, "example-fsserver", "--root", w.sandbox, "--call-log", w.callLog}
}

// proxy starts the proxy binary in front of the file server and initializes
// the session.
func (w *fsWorld) proxy(t testing.TB, flags ...string) *peer {
	t.Helper()
	argv := append([]string{binPath, "proxy", "--trusted-root", w.root.Public().Hex(), "--audit-log", w.auditLog,
		"--log-level", "warn"}, flags...)
	argv = append(append(argv, "--"), w.serverArgv()...)
	p := startPeer(t, nil, argv...)
	p.initialize()
	return p
}

// loggedCall is one line of the file server's call log.
type loggedCall struct {
	Tool      string         `json:"tool"`
	Arguments map[string]any `json:"arguments"`
	Meta      map[string]any `json:"meta"`
}

// calls returns what reached the file server.
func (w *fsWorld) calls(t testing.TB) []loggedCall {
	t.Helper()
	return readJSONLines[loggedCall](t, w.callLog)
}

// auditLines returns the audit log's tools/call decisions.
func (w *fsWorld) auditLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range readJSONLines[map[string]any](t, w.auditLog) {
		if l["event"] == "tools/call" {
			out = append(out, l)
		}
	}
	return out
}

func readJSONLines[T any](t testing.TB, file string) []T {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s: line %q: %v", file, line, err)
		}
		out = append(out, v)
	}
	return out
}

// directToolsList is the file server's own tools/list answer line, for id.
func directToolsList(t testing.TB, w *fsWorld, id int) string {
	t.Helper()
	p := startPeer(t, nil, binPath, "example-fsserver", "--root", w.sandbox)
	p.initialize()
	p.send(id, "tools/list", map[string]any{})
	return p.await(fmt.Sprint(id)).Raw
}

// filteredList is what the proxy must answer for a direct tools/list line:
// the same bytes with the tools array holding only the named tools.
func filteredList(t testing.TB, direct string, keep ...string) string {
	t.Helper()
	var m struct {
		Result struct {
			Tools json.RawMessage `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(direct), &m); err != nil {
		t.Fatal(err)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(m.Result.Tools, &elems); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, e := range elems {
		var tl struct{ Name string }
		json.Unmarshal(e, &tl)
		if slices.Contains(keep, tl.Name) {
			kept = append(kept, string(e))
		}
	}
	if strings.Count(direct, string(m.Result.Tools)) != 1 {
		t.Fatalf("the tools array occurs more than once in %s", direct)
	}
	return strings.Replace(direct, string(m.Result.Tools), "["+strings.Join(kept, ",")+"]", 1)
}

func wantDenied(t *testing.T, r reply, rpc, tenuo int) {
	t.Helper()
	if r.errCode() != rpc || (tenuo != 0 && r.tenuoCode() != tenuo) {
		t.Fatalf("want error %d with tenuo code %d, got %s", rpc, tenuo, r.Raw)
	}
}

func wantText(t *testing.T, r reply, text string) {
	t.Helper()
	got, isErr := r.toolResult()
	if r.Error != nil || isErr || got != text {
		t.Fatalf("want result %q, got %s", text, r.Raw)
	}
}

// TestProxyE2EClientWarrant drives the proxy with warrants presented by the
// client in _meta.tenuo (and arguments._tenuo) and checks, through the file
// server's call log, what reached the server.
func TestProxyE2EClientWarrant(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	direct := directToolsList(t, w, 7)
	p := w.proxy(t)
	s := w.agentSigner
	hello := fmt.Sprintf(`{"path":%q}`, w.path("hello.txt"))

	t.Run("filtered list is the server's minus the hidden tools", func(t *testing.T) {
		p.send(7, "tools/list", map[string]any{"_meta": map[string]any{"tenuo": s.envelope(t, "tools/list", "{}")}})
		got := p.await("7").Raw
		if want := filteredList(t, direct, "read_file", "list_dir"); got != want {
			t.Fatalf("tools/list through the proxy:\n got %s\nwant %s", got, want)
		}
		if !strings.Contains(direct, `"write_file"`) || !strings.Contains(direct, `"delete_file"`) {
			t.Fatalf("the server's own list lacks tools: %s", direct)
		}
	})
	t.Run("no warrant: empty list, call denied", func(t *testing.T) {
		if names := p.request("tools/list", nil).toolNames(); len(names) != 0 {
			t.Fatalf("tools/list without a warrant shows %v", names)
		}
		r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": json.RawMessage(hello)})
		wantDenied(t, r, rpcAccessDenied, int(authz.CodeInvalidEnvelopeStructure))
	})
	t.Run("allowed", func(t *testing.T) {
		wantText(t, p.request("tools/call", s.params(t, "read_file", hello)), "hello from the sandbox")
	})
	t.Run("constraint denies", func(t *testing.T) {
		r := p.request("tools/call", s.params(t, "read_file", `{"path":"/etc/passwd"}`))
		wantDenied(t, r, rpcAccessDenied, int(authz.CodeConstraintViolation))
		// The reason names the argument and the rule, never the value.
		if !strings.Contains(r.Error.Message, "Access denied") || !strings.Contains(r.Error.Message, `argument "path" violates Subpath(`) ||
			strings.Contains(string(r.Raw), "/etc/passwd") {
			t.Fatalf("denial message does not say why, or quotes the value: %s", r.Raw)
		}
	})
	t.Run("hidden tool is uncallable", func(t *testing.T) {
		args := fmt.Sprintf(`{"path":%q,"content":"pwned"}`, w.path("x.txt"))
		r := p.request("tools/call", s.params(t, "write_file", args))
		wantDenied(t, r, rpcAccessDenied, int(authz.CodeToolNotAuthorized))
		if _, err := os.Stat(w.path("x.txt")); err == nil {
			t.Fatal("write_file ran")
		}
	})
	t.Run("other _meta keys kept, tenuo stripped", func(t *testing.T) {
		params := s.params(t, "list_dir", fmt.Sprintf(`{"path":%q}`, w.sandbox))
		params["_meta"].(map[string]any)["progressToken"] = "tok-42"
		params["_meta"].(map[string]any)["trace"] = map[string]any{"span": "abc"}
		wantText(t, p.request("tools/call", params), "hello.txt\nreports/")
	})
	t.Run("arguments._tenuo fallback", func(t *testing.T) {
		args := fmt.Sprintf(`{"path":%q}`, w.path("reports/q3.txt"))
		env := s.envelope(t, "read_file", args)
		r := p.request("tools/call", map[string]any{"name": "read_file",
			"arguments": map[string]any{"path": w.path("reports/q3.txt"), "_tenuo": env}})
		wantText(t, r, "Q3 up 12%")
	})
	t.Run("_meta.tenuo and arguments._tenuo disagree", func(t *testing.T) {
		env := s.envelope(t, "read_file", hello)
		other := s.envelope(t, "read_file", `{"path":"/etc/passwd"}`)
		r := p.request("tools/call", map[string]any{"name": "read_file",
			"arguments": map[string]any{"path": w.path("hello.txt"), "_tenuo": other},
			"_meta":     map[string]any{"tenuo": env}})
		wantDenied(t, r, rpcInvalidParams, 0)
		if !strings.Contains(r.Error.Message, "disagree") {
			t.Fatalf("message does not say the envelopes disagree: %s", r.Raw)
		}
	})
	t.Run("malformed envelopes", func(t *testing.T) {
		good := s.envelope(t, "read_file", hello)
		for _, tc := range []struct {
			name string
			env  map[string]any
		}{
			{"warrant not base64", map[string]any{"warrant": "not base64 !!", "signature": good["signature"]}},
			{"warrant base64 but not CBOR", map[string]any{"warrant": base64.RawURLEncoding.EncodeToString([]byte("hello, world")), "signature": good["signature"]}},
			{"approvals not strings", map[string]any{"warrant": good["warrant"], "signature": good["signature"], "approvals": []any{1, 2}}},
			{"unknown key", map[string]any{"warrant": good["warrant"], "signature": good["signature"], "extra": true}},
			{"signature missing", map[string]any{"warrant": good["warrant"]}},
		} {
			r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": json.RawMessage(hello),
				"_meta": map[string]any{"tenuo": tc.env}})
			if r.errCode() != rpcInvalidParams {
				t.Errorf("%s: want -32602, got %s", tc.name, r.Raw)
			}
		}
	})
	t.Run("signature of the wrong length", func(t *testing.T) {
		env := s.envelope(t, "read_file", hello)
		env["signature"] = base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": json.RawMessage(hello),
			"_meta": map[string]any{"tenuo": env}})
		wantDenied(t, r, rpcAccessDenied, int(authz.CodePopSignatureInvalid))
	})
	t.Run("PoP for other arguments", func(t *testing.T) {
		env := s.envelope(t, "read_file", fmt.Sprintf(`{"path":%q}`, w.path("reports/q3.txt")))
		r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": json.RawMessage(hello),
			"_meta": map[string]any{"tenuo": env}})
		wantDenied(t, r, rpcAccessDenied, int(authz.CodePopSignatureInvalid))
	})

	p.stdin.Close()
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("proxy exit %d after client EOF", code)
	}
	t.Run("call log: only allowed calls, envelopes stripped", func(t *testing.T) {
		calls := w.calls(t)
		var got []string
		for _, c := range calls {
			got = append(got, c.Tool+" "+fmt.Sprint(c.Arguments["path"]))
			if _, ok := c.Arguments["_tenuo"]; ok {
				t.Errorf("arguments._tenuo reached the server: %+v", c)
			}
			if _, ok := c.Meta["tenuo"]; ok {
				t.Errorf("_meta.tenuo reached the server: %+v", c)
			}
		}
		want := []string{"read_file " + w.path("hello.txt"), "list_dir " + w.sandbox, "read_file " + w.path("reports/q3.txt")}
		if !slices.Equal(got, want) {
			t.Fatalf("calls that reached the server:\n got %q\nwant %q", got, want)
		}
		if m := calls[1].Meta; m["progressToken"] != "tok-42" || fmt.Sprint(m["trace"]) != "map[span:abc]" {
			t.Fatalf("other _meta keys were not forwarded: %+v", m)
		}
		if len(calls[0].Meta) != 0 || len(calls[2].Meta) != 0 {
			t.Fatalf("_meta left behind for calls whose _meta held only tenuo: %+v %+v", calls[0].Meta, calls[2].Meta)
		}
	})
	t.Run("audit log: one line per decision, no arguments", func(t *testing.T) {
		lines := w.auditLines(t)
		// One line per decision, in order: no warrant, allowed, constraint,
		// hidden, _meta, _tenuo, envelopes that disagree (refused while
		// parsing), two bad-base64/CBOR warrants decided by authz, three
		// envelopes refused while parsing, wrong-length signature, wrong PoP.
		type want struct {
			decision          string
			malformed, noWarr bool
		}
		wants := []want{{"deny", false, true}, {"allow", false, false}, {"deny", false, false}, {"deny", false, false},
			{"allow", false, false}, {"allow", false, false}, {"deny", true, true},
			{"deny", false, true}, {"deny", false, true}, {"deny", true, true}, {"deny", true, true}, {"deny", true, true},
			{"deny", false, false}, {"deny", false, false}}
		if len(lines) != len(wants) {
			t.Fatalf("audit log has %d tools/call lines, want %d:\n%v", len(lines), len(wants), lines)
		}
		for i, l := range lines {
			if l["decision"] != wants[i].decision {
				t.Errorf("line %d: decision %v, want %s: %v", i, l["decision"], wants[i].decision, l)
			}
			keys := []string{"decision", "request_id"}
			if !wants[i].malformed {
				keys = append(keys, "tool", "latency_us")
			} else if l["error"] != authz.CodeInvalidEnvelopeStructure.Name() {
				t.Errorf("line %d: a malformed envelope is logged as %v", i, l["error"])
			}
			if !wants[i].noWarr {
				keys = append(keys, "warrant_id", "chain_depth")
			}
			if l["decision"] == "deny" {
				keys = append(keys, "code", "reason")
			}
			for _, k := range keys {
				if _, ok := l[k]; !ok {
					t.Errorf("line %d lacks %q: %v", i, k, l)
				}
			}
			if _, ok := l["arguments"]; ok {
				t.Errorf("line %d logs arguments without --audit-args: %v", i, l)
			}
		}
		if lines[2]["code"] != float64(authz.CodeConstraintViolation) || lines[1]["warrant_id"] != w.agentStack.Leaf().ID.String() {
			t.Errorf("audit fields: %v / %v", lines[1], lines[2])
		}
	})
}

// TestProxyE2EHeldWarrant runs the proxy with a warrant it holds, its key in
// TENUO_HOLDER_KEY, for a client that sends no _meta at all; the server must
// not see any TENUO_* variable.
func TestProxyE2EHeldWarrant(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	direct := directToolsList(t, w, 3)
	envFile := filepath.Join(w.dir, "server.env")
	server := fmt.Sprintf("env > %q && exec %q example-fsserver --root %q --call-log %q", envFile, binPath, w.sandbox, w.callLog)
	env := append(os.Environ(), "TENUO_HOLDER_KEY="+w.agent.SeedHex(), "TENUO_SOMETHING_ELSE=secret-value")
	p := startPeer(t, env, binPath, "proxy", "--trusted-root", w.root.Public().Hex(), "--warrant", w.warrantFile,
		"--key", "env:TENUO_HOLDER_KEY", "--log-level", "warn", "--", "sh", "-c", server)
	p.initialize()

	p.send(3, "tools/list", map[string]any{})
	if got, want := p.await("3").Raw, filteredList(t, direct, "read_file", "list_dir"); got != want {
		t.Fatalf("tools/list:\n got %s\nwant %s", got, want)
	}
	wantText(t, p.request("tools/call", map[string]any{"name": "read_file",
		"arguments": map[string]any{"path": w.path("hello.txt")}}), "hello from the sandbox")
	wantDenied(t, p.request("tools/call", map[string]any{"name": "read_file",
		"arguments": map[string]any{"path": "/etc/passwd"}}), rpcAccessDenied, int(authz.CodeConstraintViolation))
	wantDenied(t, p.request("tools/call", map[string]any{"name": "delete_file",
		"arguments": map[string]any{"path": w.path("hello.txt")}}), rpcAccessDenied, int(authz.CodeToolNotAuthorized))
	// A client-presented warrant still wins over the held one.
	sub := newKey(t)
	child, err := authz.Attenuate(w.agentStack, w.agent, authz.Grant{Holder: sub.Public(), TTL: time.Minute,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.path("reports"))}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantDenied(t, p.request("tools/call", e2eSigner{child, sub}.params(t, "read_file", fmt.Sprintf(`{"path":%q}`, w.path("hello.txt")))),
		rpcAccessDenied, int(authz.CodeConstraintViolation))

	p.stdin.Close()
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("proxy exit %d", code)
	}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "PATH=") {
		t.Fatalf("the server's environment was not captured: %q", b)
	}
	if strings.Contains(string(b), "TENUO_") || strings.Contains(string(b), w.agent.SeedHex()) || strings.Contains(string(b), "secret-value") {
		t.Fatalf("the server can see the proxy's TENUO_* variables:\n%s", b)
	}
	if calls := w.calls(t); len(calls) != 1 || calls[0].Tool != "read_file" || len(calls[0].Meta) != 0 {
		t.Fatalf("calls that reached the server: %+v", calls)
	}
}

// TestProxyE2EPolicies checks --list-policy all, --deny-as result, --mode
// audit and --audit-args, each on its own proxy.
func TestProxyE2EPolicies(t *testing.T) {
	t.Parallel()
	t.Run("list-policy all", func(t *testing.T) {
		t.Parallel()
		w := newFSWorld(t)
		p := w.proxy(t, "--list-policy", "all")
		if got := p.request("tools/list", nil).toolNames(); !slices.Equal(got, []string{"delete_file", "list_dir", "read_file", "write_file"}) {
			t.Fatalf("tools/list shows %v", got)
		}
		args := fmt.Sprintf(`{"path":%q}`, w.path("hello.txt"))
		wantDenied(t, p.request("tools/call", w.agentSigner.params(t, "delete_file", args)), rpcAccessDenied, int(authz.CodeToolNotAuthorized))
		wantDenied(t, p.request("tools/call", map[string]any{"name": "delete_file", "arguments": json.RawMessage(args)}), rpcAccessDenied, 0)
		wantText(t, p.request("tools/call", w.agentSigner.params(t, "read_file", args)), "hello from the sandbox")
		if _, err := os.Stat(w.path("hello.txt")); err != nil {
			t.Fatal("delete_file ran")
		}
	})
	t.Run("deny-as result", func(t *testing.T) {
		t.Parallel()
		w := newFSWorld(t)
		p := w.proxy(t, "--deny-as", "result")
		r := p.request("tools/call", w.agentSigner.params(t, "read_file", `{"path":"/etc/passwd"}`))
		text, isErr := r.toolResult()
		if r.Error != nil || !isErr || !strings.Contains(text, `argument "path" violates Subpath(`) || strings.Contains(text, "/etc/passwd") || !strings.Contains(text, "Access denied") {
			t.Fatalf("want an isError result with the reason, got %s", r.Raw)
		}
		// Malformed requests stay JSON-RPC errors.
		r = p.request("tools/call", map[string]any{"name": "read_file", "arguments": map[string]any{"path": "/x"},
			"_meta": map[string]any{"tenuo": map[string]any{"warrant": "w"}}})
		wantDenied(t, r, rpcInvalidParams, 0)
		if len(w.calls(t)) != 0 {
			t.Fatalf("denied calls reached the server: %+v", w.calls(t))
		}
	})
	t.Run("mode audit", func(t *testing.T) {
		t.Parallel()
		w := newFSWorld(t)
		p := w.proxy(t, "--mode", "audit")
		outside := filepath.Join(w.dir, "outside.txt")
		os.WriteFile(outside, []byte("outside"), 0o644)
		r := p.request("tools/call", w.agentSigner.params(t, "read_file", fmt.Sprintf(`{"path":%q}`, outside)))
		if r.Error != nil {
			t.Fatalf("audit mode answered with an error: %s", r.Raw)
		}
		if _, isErr := r.toolResult(); !isErr { // the server itself refuses a path outside its root
			t.Fatalf("want the server's own error result, got %s", r.Raw)
		}
		wantText(t, p.request("tools/call", w.agentSigner.params(t, "read_file", fmt.Sprintf(`{"path":%q}`, w.path("hello.txt")))), "hello from the sandbox")
		p.stdin.Close()
		p.wait(15 * time.Second)
		if calls := w.calls(t); len(calls) != 2 || calls[0].Arguments["path"] != outside {
			t.Fatalf("audit mode did not forward the would-be-denied call: %+v", calls)
		}
		lines := w.auditLines(t)
		if len(lines) != 2 || lines[0]["decision"] != "would-deny" || lines[0]["code"] != float64(authz.CodeConstraintViolation) ||
			lines[1]["decision"] != "allow" {
			t.Fatalf("audit log: %v", lines)
		}
	})
	t.Run("audit-args", func(t *testing.T) {
		t.Parallel()
		w := newFSWorld(t)
		p := w.proxy(t, "--audit-args")
		p.request("tools/call", w.agentSigner.params(t, "read_file", `{"path":"/etc/shadow"}`))
		p.stdin.Close()
		p.wait(15 * time.Second)
		lines := w.auditLines(t)
		if len(lines) != 1 || fmt.Sprint(lines[0]["arguments"]) != "map[path:/etc/shadow]" {
			t.Fatalf("audit log with --audit-args: %v", lines)
		}
	})
}

// TestProxyE2EDelegationAndExpiry presents a delegated stack and an expired
// warrant.
func TestProxyE2EDelegationAndExpiry(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	p := w.proxy(t)
	sub := newKey(t)
	child, err := authz.Attenuate(w.agentStack, w.agent, authz.Grant{Holder: sub.Public(), TTL: 2 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.path("reports"))}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ss := e2eSigner{child, sub}
	q3 := fmt.Sprintf(`{"path":%q}`, w.path("reports/q3.txt"))
	wantText(t, p.request("tools/call", ss.params(t, "read_file", q3)), "Q3 up 12%")
	wantDenied(t, p.request("tools/call", ss.params(t, "read_file", fmt.Sprintf(`{"path":%q}`, w.path("hello.txt")))),
		rpcAccessDenied, int(authz.CodeConstraintViolation))
	wantDenied(t, p.request("tools/call", ss.params(t, "list_dir", fmt.Sprintf(`{"path":%q}`, w.sandbox))),
		rpcAccessDenied, int(authz.CodeToolNotAuthorized))
	if got := p.request("tools/list", map[string]any{"_meta": map[string]any{"tenuo": ss.envelope(t, "tools/list", "{}")}}).toolNames(); !slices.Equal(got, []string{"read_file"}) {
		t.Fatalf("the sub-agent's tools/list shows %v", got)
	}
	// The sub-agent signing with the parent's stack (not its holder) fails.
	wantDenied(t, p.request("tools/call", e2eSigner{w.agentStack, sub}.params(t, "read_file", q3)),
		rpcAccessDenied, int(authz.CodePopSignatureInvalid))

	old, err := authz.Mint(w.root, authz.Grant{Holder: w.agent.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := p.request("tools/call", e2eSigner{authz.Stack{old}, w.agent}.params(t, "read_file", q3))
	wantDenied(t, r, rpcAccessDenied, int(authz.CodeWarrantExpired))

	stranger := newKey(t)
	foreign, _ := authz.Mint(stranger, authz.Grant{Holder: w.agent.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now())
	wantDenied(t, p.request("tools/call", e2eSigner{authz.Stack{foreign}, w.agent}.params(t, "read_file", q3)),
		rpcAccessDenied, int(authz.CodeUntrustedRoot))
	p.stdin.Close()
	p.wait(15 * time.Second)
	if calls := w.calls(t); len(calls) != 1 {
		t.Fatalf("calls that reached the server: %+v", calls)
	}
}

// TestProxyE2ERevocation checks a signed revocation list, its reload without
// a restart, and that an older list is ignored.
func TestProxyE2ERevocation(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	srlKey := newKey(t)
	other := newKey(t)
	wb, err := authz.Mint(w.root, authz.Grant{Holder: other.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, b := w.agentSigner, e2eSigner{authz.Stack{wb}, other}
	list := filepath.Join(w.dir, "revoked.srl")
	writeList := func(version uint64, ids ...string) {
		t.Helper()
		l, err := authz.NewRevocationList(srlKey, version, ids, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tmp := list + ".tmp"
		if err := os.WriteFile(tmp, l, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, list); err != nil {
			t.Fatal(err)
		}
	}
	writeList(5, a.stack.Leaf().ID.String())
	p := w.proxy(t, "--revocation-list", list, "--revocation-key", srlKey.Public().Hex())
	args := fmt.Sprintf(`{"path":%q}`, w.path("hello.txt"))
	call := func(s e2eSigner) reply { return p.request("tools/call", s.params(t, "read_file", args)) }

	wantDenied(t, call(a), rpcAccessDenied, int(authz.CodeWarrantRevoked))
	wantText(t, call(b), "hello from the sandbox")

	writeList(6, b.stack.Leaf().ID.String())
	deadline := time.Now().Add(8 * time.Second)
	for call(b).errCode() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the newer revocation list did not take effect within 8 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantDenied(t, call(b), rpcAccessDenied, int(authz.CodeWarrantRevoked))
	wantText(t, call(a), "hello from the sandbox") // version 6 no longer lists a

	writeList(4) // older: must be ignored, and the proxy says so
	deadline = time.Now().Add(8 * time.Second)
	for !strings.Contains(p.stderr.String(), "not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("the older list was not reported within 8 s; stderr:\n%s", p.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantDenied(t, call(b), rpcAccessDenied, int(authz.CodeWarrantRevoked))
}

// testServerProxy starts mcpproxy's test server (echo, sleep, crash) behind the
// proxy with a held warrant for all its tools.
func testServerProxy(t *testing.T, flags ...string) *peer {
	t.Helper()
	dir := t.TempDir()
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
	argv := append([]string{binPath, "proxy", "--trusted-root", root.Public().Hex(), "--warrant", wf, "--key", kf,
		"--log-level", "warn"}, flags...)
	argv = append(argv, "--", helperBinary(t, "testserver"))
	p := startPeer(t, nil, argv...)
	p.initialize()
	return p
}

// TestProxyE2ELifecycle covers the upstream crashing mid-call, the client
// leaving with calls in flight, and bad input lines.
func TestProxyE2ELifecycle(t *testing.T) {
	t.Parallel()
	t.Run("upstream crash mid-call", func(t *testing.T) {
		t.Parallel()
		p := testServerProxy(t)
		p.send(1, "tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 10000}})
		p.send(2, "tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 10000}})
		time.Sleep(100 * time.Millisecond) // let both reach the server before it dies
		p.send(3, "tools/call", map[string]any{"name": "crash", "arguments": map[string]any{}})
		for _, id := range []string{"1", "2", "3"} {
			if r := p.await(id); r.errCode() != rpcInternalError {
				t.Errorf("pending request %s: want -32603, got %s", id, r.Raw)
			}
		}
		if code := p.wait(15 * time.Second); code == 0 {
			t.Fatal("the proxy exited 0 after its upstream crashed")
		}
		if !strings.Contains(p.stderr.String(), "exit status 3") {
			t.Errorf("the proxy does not say how the upstream exited:\n%s", p.stderr.String())
		}
	})
	t.Run("client EOF drains calls in flight", func(t *testing.T) {
		t.Parallel()
		p := testServerProxy(t)
		p.send(1, "tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 600}})
		p.send(2, "tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 300}})
		p.send(3, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "last"}})
		p.stdin.Close()
		for id, want := range map[string]string{"1": "slept", "2": "slept", "3": "last"} {
			wantText(t, p.await(id), want)
		}
		if code := p.wait(15 * time.Second); code != 0 {
			t.Fatalf("proxy exit %d after client EOF, want 0", code)
		}
	})
	t.Run("oversized and invalid lines", func(t *testing.T) {
		t.Parallel()
		p := testServerProxy(t, "--max-message", "2048")
		p.sendLine(`{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"echo","arguments":{"text":"` + strings.Repeat("x", 4096) + `"}}}`)
		if r := p.await(`"big"`); r.errCode() != rpcInvalidRequest {
			t.Fatalf("oversized line: want -32600 for its id, got %s", r.Raw)
		}
		p.sendLine(`{"jsonrpc":"2.0","id":5,"method":`)
		if r := p.await("null"); r.errCode() != rpcParseError {
			t.Fatalf("invalid JSON: want -32700, got %s", r.Raw)
		}
		p.sendLine("\xff\xfe not utf-8")
		if r := p.await("null"); r.errCode() != rpcParseError {
			t.Fatalf("invalid UTF-8: want -32700, got %s", r.Raw)
		}
		p.send(6, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "still serving"}})
		wantText(t, p.await("6"), "still serving")
		p.stdin.Close()
		if code := p.wait(15 * time.Second); code != 0 {
			t.Fatalf("proxy exit %d", code)
		}
	})
}

// TestProxyE2EConfigErrors checks that a doubtful configuration stops the
// proxy with exit 2 and a clear message before it spawns anything.
func TestProxyE2EConfigErrors(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	stranger := newKey(t)
	foreign, err := authz.Mint(stranger, authz.Grant{Holder: w.agent.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foreignFile := filepath.Join(w.dir, "foreign.warrant")
	os.WriteFile(foreignFile, []byte(authz.Stack{foreign}.Base64()), 0o644)
	root := w.root.Public().Hex()
	for _, tc := range []struct {
		name  string
		flags []string
		env   []string
		want  string
	}{
		{"bogus list policy", []string{"--trusted-root", root, "--list-policy", "bogus"}, nil, "list policy"},
		{"no trusted root", nil, nil, "no trusted root"},
		{"held warrant from an untrusted root", []string{"--trusted-root", root, "--warrant", foreignFile, "--key", w.keyFile}, nil, "--warrant"},
		{"held warrant with another holder's key", []string{"--trusted-root", root, "--warrant", w.warrantFile, "--key", "env:TENUO_HOLDER_KEY"},
			[]string{"TENUO_HOLDER_KEY=" + stranger.SeedHex()}, "not the holder"},
		{"warrant without key", []string{"--trusted-root", root, "--warrant", w.warrantFile}, nil, "--key"},
		{"revocation list without key", []string{"--trusted-root", root, "--revocation-list", w.warrantFile}, nil, "--revocation-key"},
		{"bad deny-as", []string{"--trusted-root", root, "--deny-as", "shrug"}, nil, "--deny-as"},
		{"bad mode", []string{"--trusted-root", root, "--mode", "lenient"}, nil, "--mode"},
		{"TENUO_ variable passed on", []string{"--trusted-root", root, "--pass-env", "TENUO_HOLDER_KEY"}, nil, "TENUO_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			marker := filepath.Join(t.TempDir(), "spawned")
			argv := append(append([]string{"proxy"}, tc.flags...), "--", "sh", "-c", "touch "+marker)
			cmd := exec.Command(binPath, argv...)
			env := []string{"PATH=" + os.Getenv("PATH")}
			cmd.Env = append(env, tc.env...)
			cmd.Stdin = strings.NewReader("")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitBadInput {
				t.Fatalf("exit %v, want %d; stderr:\n%s", err, exitBadInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), "tenuo-mcp: error:") || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout is not empty: %q", stdout.String())
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the upstream server was spawned")
			}
		})
	}
}

// driverCall is one call of the driver's warrant scenario.
type driverCall struct {
	Label     string         `json:"label"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
	Meta      map[string]any `json:"meta,omitempty"`
	Progress  bool           `json:"progress,omitempty"`
}

// driverSpec is the input of the driver's warrant scenario.
type driverSpec struct {
	Roots     []string       `json:"roots,omitempty"`
	ListMeta  map[string]any `json:"listMeta,omitempty"`
	WaitFor   string         `json:"waitFor,omitempty"`
	Calls     []driverCall   `json:"calls"`
	Resources bool           `json:"resources,omitempty"`
	Prompts   bool           `json:"prompts,omitempty"`
}

// driverOutcome is what the driver saw of one call.
type driverOutcome struct {
	Text     string
	IsError  bool
	Code     int
	Message  string
	Data     struct{ Tenuo struct{ Code int } }
	Progress int
}

type driverOutput struct {
	Tools            []string
	Calls            map[string]driverOutcome
	Resources        int
	ResourceRead     int
	Prompts          []string
	PromptMessages   int
	Ping             bool
	SamplingRequests int
	RootsRequests    int
}

// call adds a call to the spec, signed by s (nil: no _meta).
func (sp *driverSpec) call(t testing.TB, s *e2eSigner, label, tool string, args map[string]any, progress bool) {
	t.Helper()
	c := driverCall{Label: label, Name: tool, Arguments: args, Progress: progress}
	if s != nil {
		b, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		c.Meta = map[string]any{"tenuo": s.envelope(t, tool, string(b))}
	}
	sp.Calls = append(sp.Calls, c)
}

// runDriver runs driver.mjs's warrant scenario with spec against argv, with
// extra variables in the driver's (and so the proxy's) environment.
func runDriver(t *testing.T, dir string, spec *driverSpec, env []string, argv ...string) driverOutput {
	t.Helper()
	specFile := filepath.Join(t.TempDir(), "spec.json")
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "driver.mjs"), "warrant", specFile, "--"}, argv...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("driver timed out; stderr:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("driver: %v\nstderr:\n%s", err, stderr.String())
	}
	var got driverOutput
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("driver output %s: %v", out, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("driver output: %s\nstderr:\n%s", out, stderr.String())
		}
	})
	return got
}

type check struct {
	name string
	ok   bool
}

func runChecks(t *testing.T, checks []check) {
	t.Helper()
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: failed", c.name)
		}
	}
}

// everythingWarrant grants the tools of server-everything the SDK tests
// call, except get-sum; echo's message must start with "hello".
func everythingWarrant(t testing.TB, root, holder *authz.SigningKey) authz.Stack {
	t.Helper()
	loose := authz.ConstraintSet{AllowUnknown: true}
	wt, err := authz.Mint(root, authz.Grant{Holder: holder.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"echo":                           {Constraints: map[string]authz.Constraint{"message": &authz.Pattern{Pattern: "hello*"}}},
		"trigger-long-running-operation": loose,
		"trigger-sampling-request":       loose,
		"get-roots-list":                 loose,
		"get-env":                        loose,
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return authz.Stack{wt}
}

var everythingGranted = []string{"echo", "get-env", "get-roots-list", "trigger-long-running-operation", "trigger-sampling-request"}

// TestProxyE2ETypeScriptEverything runs the official TypeScript SDK client
// through the proxy binary in front of server-everything, with warrants the
// client presents in _meta.tenuo (each call's PoP signed by this test just
// before) and, in a second run, with the proxy's held warrant and no _meta.
func TestProxyE2ETypeScriptEverything(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	everything := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	for _, held := range []bool{false, true} {
		name := "client-presented"
		if held {
			name = "held"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root, agent := newKey(t), newKey(t)
			stack := everythingWarrant(t, root, agent)
			signer := &e2eSigner{stack, agent}
			spec := &driverSpec{WaitFor: "trigger-sampling-request", Resources: true, Prompts: true}
			argv := []string{binPath, "proxy", "--trusted-root", root.Public().Hex(), "--log-level", "warn"}
			env := []string{"TENUO_LEAK_CHECK=must-not-reach-the-server"}
			if held {
				wf := filepath.Join(t.TempDir(), "agent.warrant")
				os.WriteFile(wf, []byte(stack.Base64()), 0o644)
				argv = append(argv, "--warrant", wf)
				env = append(env, "TENUO_HOLDER_KEY="+agent.SeedHex())
				signer = nil
			} else {
				spec.ListMeta = map[string]any{"tenuo": signer.envelope(t, "tools/list", "{}")}
				spec.call(t, nil, "unsigned", "echo", map[string]any{"message": "hello"}, false)
			}
			spec.call(t, signer, "echo", "echo", map[string]any{"message": "hello through the proxy"}, false)
			spec.call(t, signer, "constraint", "echo", map[string]any{"message": "goodbye"}, false)
			spec.call(t, signer, "hidden", "get-sum", map[string]any{"a": 1, "b": 2}, false)
			spec.call(t, signer, "long", "trigger-long-running-operation", map[string]any{"duration": 0.3, "steps": 3}, true)
			spec.call(t, signer, "sampling", "trigger-sampling-request", map[string]any{"prompt": "hi", "maxTokens": 5}, false)
			spec.call(t, signer, "roots", "get-roots-list", map[string]any{}, false)
			spec.call(t, signer, "env", "get-env", map[string]any{}, false)
			argv = append(argv, "--", "node", everything, "stdio")
			got := runDriver(t, dir, spec, env, argv...)
			c := got.Calls
			checks := []check{
				{"filtered tools/list", slices.Equal(got.Tools, everythingGranted)},
				{"allowed call", c["echo"].Text == "Echo: hello through the proxy"},
				{"constraint denies with 1501", c["constraint"].Code == rpcAccessDenied && c["constraint"].Data.Tenuo.Code == int(authz.CodeConstraintViolation)},
				{"hidden tool uncallable", c["hidden"].Code == rpcAccessDenied && c["hidden"].Data.Tenuo.Code == int(authz.CodeToolNotAuthorized)},
				{"progress with a progressToken in _meta", c["long"].Progress >= 1 && strings.Contains(c["long"].Text, "completed")},
				{"sampling round trip", strings.Contains(c["sampling"].Text, "sampled reply from the driver") && got.SamplingRequests == 1},
				{"roots round trip", strings.Contains(c["roots"].Text, "file:///tmp/tenuo-driver-root") && got.RootsRequests >= 1},
				{"resources passthrough", got.Resources > 0 && got.ResourceRead > 0},
				{"prompts passthrough", slices.Contains(got.Prompts, "simple-prompt") && got.PromptMessages > 0},
				{"ping", got.Ping},
				{"no TENUO_* in the server's environment", strings.Contains(c["env"].Text, "PATH") && !strings.Contains(c["env"].Text, "TENUO_")},
			}
			if !held {
				checks = append(checks, check{"unsigned call denied", c["unsigned"].Code == rpcAccessDenied})
			}
			runChecks(t, checks)
		})
	}
}

// TestProxyE2ETypeScriptFilesystem runs the TypeScript SDK client through the
// proxy in front of @modelcontextprotocol/server-filesystem, whose allowed
// directory the client's roots replace (a server→client round trip).
func TestProxyE2ETypeScriptFilesystem(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	w := newFSWorld(t)
	loose := authz.ConstraintSet{AllowUnknown: true}
	wt, err := authz.Mint(w.root, authz.Grant{Holder: w.agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_text_file": subpath(w.sandbox), "list_directory": subpath(w.sandbox), "list_allowed_directories": loose,
	}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &e2eSigner{authz.Stack{wt}, w.agent}
	reports := w.path("reports")
	spec := &driverSpec{Roots: []string{"file://" + reports}, ListMeta: map[string]any{"tenuo": s.envelope(t, "tools/list", "{}")}}
	spec.call(t, s, "read", "read_text_file", map[string]any{"path": filepath.Join(reports, "q3.txt")}, false)
	spec.call(t, s, "list", "list_directory", map[string]any{"path": reports}, false)
	spec.call(t, s, "constraint", "read_text_file", map[string]any{"path": "/etc/passwd"}, false)
	spec.call(t, s, "hidden", "write_file", map[string]any{"path": filepath.Join(reports, "x.txt"), "content": "pwned"}, false)
	spec.call(t, s, "progress", "read_text_file", map[string]any{"path": filepath.Join(reports, "q3.txt")}, true)
	spec.call(t, s, "allowed-dirs", "list_allowed_directories", map[string]any{}, false)
	server := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js")
	got := runDriver(t, dir, spec, nil, binPath, "proxy", "--trusted-root", w.root.Public().Hex(), "--log-level", "warn",
		"--", "node", server, w.sandbox)
	c := got.Calls
	runChecks(t, []check{
		{"filtered tools/list", slices.Equal(got.Tools, []string{"list_allowed_directories", "list_directory", "read_text_file"})},
		{"allowed read", c["read"].Text == "Q3 up 12%" && !c["read"].IsError},
		{"allowed list", strings.Contains(c["list"].Text, "q3.txt")},
		{"constraint denies with 1501", c["constraint"].Code == rpcAccessDenied && c["constraint"].Data.Tenuo.Code == int(authz.CodeConstraintViolation)},
		{"hidden tool uncallable", c["hidden"].Code == rpcAccessDenied && c["hidden"].Data.Tenuo.Code == int(authz.CodeToolNotAuthorized)},
		{"a call with a progressToken beside _meta.tenuo", c["progress"].Text == "Q3 up 12%"},
		{"roots round trip", got.RootsRequests >= 1 && strings.Contains(c["allowed-dirs"].Text, reports)},
		{"ping", got.Ping},
	})
	if _, err := os.Stat(filepath.Join(reports, "x.txt")); err == nil {
		t.Error("write_file ran")
	}
}
