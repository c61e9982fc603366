package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// End-to-end tests of `tenuo-mcp serve` speaking MCP 2026-07-28: a real
// go-sdk v1.8.0 client in front, a real go-sdk server behind
// (transport/mcphttp/internal/gosdkpeer, built once), on stdio or as a
// stateless streamable-HTTP upstream.

var (
	gosdkPeerOnce sync.Once
	gosdkPeerPath string
	gosdkPeerErr  error
)

func gosdkPeer(t testing.TB) string {
	t.Helper()
	gosdkPeerOnce.Do(func() {
		gosdkPeerPath = filepath.Join(filepath.Dir(binPath), "gosdkpeer")
		if out, err := exec.Command("go", "build", "-o", gosdkPeerPath, "../../transport/mcphttp/internal/gosdkpeer").CombinedOutput(); err != nil {
			gosdkPeerErr = fmt.Errorf("go build gosdkpeer: %v\n%s", err, out)
		}
	})
	if gosdkPeerErr != nil {
		t.Fatal(gosdkPeerErr)
	}
	return gosdkPeerPath
}

// startGosdkHTTP starts gosdkpeer as a stateless HTTP server and returns its
// URL.
func startGosdkHTTP(t *testing.T, cancelLog string) string {
	t.Helper()
	cmd := exec.Command(gosdkPeer(t), "-http", "127.0.0.1:0", "-cancel-log", cancelLog)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	got := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				got <- u
			}
		}
	}()
	select {
	case u := <-got:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("gosdkpeer -http did not start")
		return ""
	}
}

// headerTransport adds headers to every request.
type headerTransport struct{ hdr map[string]string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.hdr {
		r.Header.Set(k, v)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// connectGosdk connects a go-sdk client to serve's /mcp at version (""
// for the SDK's latest, 2026-07-28), with hdr on every request.
func connectGosdk(t *testing.T, url, version string, hdr map[string]string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-gosdk", Version: "1"}, opts)
	tr := &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: &http.Client{Transport: headerTransport{hdr}}, MaxRetries: -1}
	cs, err := c.Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// callText calls tool and returns its text, or the JSON-RPC error code.
func callText(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any, meta mcp.Meta) (string, int) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args, Meta: meta})
	var werr *jsonrpc.Error
	switch {
	case errors.As(err, &werr):
		return werr.Message, int(werr.Code)
	case err != nil:
		t.Fatalf("%s: %v", tool, err)
	}
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
		}
	}
	if res.IsError {
		return sb.String(), -1
	}
	return sb.String(), 0
}

// peerWarrant grants the gosdkpeer tools but secret.
func peerWarrant(t testing.TB, root, holder *authz.SigningKey) authz.Stack {
	t.Helper()
	loose := authz.ConstraintSet{AllowUnknown: true}
	tools := map[string]authz.ConstraintSet{}
	for _, n := range []string{"echo", "pid", "remember", "sleep", "region", "add_tool"} {
		tools[n] = loose
	}
	w, err := authz.Mint(root, authz.Grant{Holder: holder.Public(), TTL: 10 * time.Minute, Tools: tools}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return authz.Stack{w}
}

var peerGranted = []string{"add_tool", "echo", "pid", "region", "remember", "sleep"}

// waitForLine waits until file holds n lines.
func waitForLines(t *testing.T, file string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(file); strings.Count(string(b), "\n") >= n {
			return
		}
	}
	b, _ := os.ReadFile(file)
	t.Fatalf("%s holds %q, want %d lines", file, b, n)
}

// TestServeE2EGoSDK2026 runs the go-sdk client at 2026-07-28 through serve
// to the go-sdk server, on stdio and as an HTTP upstream: the stateless
// handshake (server/discover), a filtered listing, allowed and denied calls
// with a held and with a presented warrant, Mcp-Param headers, and a
// cancelled call reaching the server.
func TestServeE2EGoSDK2026(t *testing.T) {
	t.Parallel()
	for _, upstream := range []string{"stdio", "http"} {
		for _, mode := range []string{"held", "presented", "header"} {
			t.Run(upstream+"/"+mode, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				cancelLog := filepath.Join(dir, "cancel.log")
				root, agent := newKey(t), newKey(t)
				stack := peerWarrant(t, root, agent)
				signer := &e2eSigner{stack, agent}
				flags := []string{"--trusted-root", root.Public().Hex(), "--log-level", "warn", "--audit-log", filepath.Join(dir, "audit.log")}
				var env []string
				if mode == "held" {
					wf := filepath.Join(dir, "agent.warrant")
					os.WriteFile(wf, []byte(stack.Base64()), 0o644)
					flags = append(flags, "--warrant", wf)
					env = append(env, "TENUO_HOLDER_KEY="+agent.SeedHex())
				}
				var argv []string
				if upstream == "http" {
					flags = append(flags, "--upstream-url", startGosdkHTTP(t, cancelLog))
				} else {
					argv = []string{gosdkPeer(t), "-cancel-log", cancelLog}
				}
				srv := startServe(t, env, flags, argv...)
				var hdr map[string]string
				if mode == "header" {
					hdr = map[string]string{"X-Tenuo-Warrant": stack.Base64()}
				}
				cs := connectGosdk(t, srv.url, "", hdr, nil)
				if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
					t.Fatalf("negotiated %q, want 2026-07-28 (server/discover)", v)
				}
				if n := cs.InitializeResult().ServerInfo; n == nil || n.Name != "gosdkpeer" {
					t.Fatalf("server info %+v: not the upstream's", n)
				}
				meta := func(tool, args string) mcp.Meta {
					switch mode {
					case "presented":
						return mcp.Meta{"tenuo": signer.envelope(t, tool, args)}
					case "header":
						return mcp.Meta{"tenuo": signatureOnly(signer.envelope(t, tool, args))}
					}
					return nil
				}
				if mode != "presented" {
					if got := toolNames(t, cs); !slices.Equal(got, peerGranted) {
						t.Fatalf("tools/list %v, want %v", got, peerGranted)
					}
				}
				if txt, code := callText(t, cs, "echo", map[string]any{"text": "hi"}, meta("echo", `{"text":"hi"}`)); code != 0 || txt != "hi" {
					t.Fatalf("echo: %q %d", txt, code)
				}
				if _, code := callText(t, cs, "secret", map[string]any{}, meta("secret", `{}`)); code != rpcAccessDenied {
					t.Fatalf("secret: code %d, want %d", code, rpcAccessDenied)
				}
				if mode != "held" {
					if _, code := callText(t, cs, "echo", map[string]any{"text": "x"}, nil); code != rpcAccessDenied && code != rpcInvalidParams {
						t.Fatalf("echo with no warrant: code %d", code)
					}
				}
				if mode != "presented" {
					// Listed, the region tool's argument travels in Mcp-Param-Region too.
					if txt, code := callText(t, cs, "region", map[string]any{"region": "eu west "}, meta("region", `{"region":"eu west "}`)); code != 0 || txt != "region eu west " {
						t.Fatalf("region: %q %d", txt, code)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "sleep", Arguments: map[string]any{"ms": 20000}, Meta: meta("sleep", `{"ms":20000}`)})
				cancel()
				if err == nil {
					t.Fatal("sleep was not cut short")
				}
				waitForLines(t, cancelLog, 1)
			})
		}
	}
}

// TestServeE2EMixedEra: one endpoint serves both eras. The go-sdk client
// probes with server/discover and, in front of a server of 2025 (mcp-go's),
// falls back to initialize; in front of the go-sdk server, the TypeScript
// SDK (2025-11-25, sessions) and the go-sdk client (2026-07-28, none) work
// side by side.
func TestServeE2EMixedEra(t *testing.T) {
	t.Parallel()
	t.Run("fallback to initialize", func(t *testing.T) {
		t.Parallel()
		npm := npmpeers.Dir(t)
		everything := filepath.Join(npm, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
		root, agent := newKey(t), newKey(t)
		wf := filepath.Join(t.TempDir(), "agent.warrant")
		os.WriteFile(wf, []byte(everythingWarrant(t, root, agent).Base64()), 0o644)
		srv := startServe(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_HOLDER_KEY=" + agent.SeedHex()},
			[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}, "node", everything, "stdio")
		cs := connectGosdk(t, srv.url, "", nil, nil)
		if v := cs.InitializeResult().ProtocolVersion; v >= "2026-07-28" || v == "" {
			t.Fatalf("negotiated %q in front of a 2025 server", v)
		}
		// (trigger-sampling-request is listed only to clients that sample.)
		if got := toolNames(t, cs); !slices.Contains(got, "echo") || slices.ContainsFunc(got, func(n string) bool { return !slices.Contains(everythingGranted, n) }) {
			t.Fatalf("tools/list %v, want the granted %v", got, everythingGranted)
		}
		if txt, code := callText(t, cs, "echo", map[string]any{"message": "hello old"}, nil); code != 0 || txt != "Echo: hello old" {
			t.Fatalf("echo: %q %d", txt, code)
		}
		if _, code := callText(t, cs, "get-sum", map[string]any{"a": 1, "b": 2}, nil); code != rpcAccessDenied {
			t.Fatalf("get-sum: %d", code)
		}
	})
	t.Run("both eras on one endpoint", func(t *testing.T) {
		t.Parallel()
		npm := npmpeers.Dir(t)
		dir := t.TempDir()
		root, agent := newKey(t), newKey(t)
		stack := peerWarrant(t, root, agent)
		wf := filepath.Join(dir, "agent.warrant")
		os.WriteFile(wf, []byte(stack.Base64()), 0o644)
		srv := startServe(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_HOLDER_KEY=" + agent.SeedHex()},
			[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}, gosdkPeer(t))
		cs := connectGosdk(t, srv.url, "", nil, nil)
		if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
			t.Fatalf("go-sdk negotiated %q", v)
		}
		spec := &driverSpec{}
		spec.call(t, nil, "echo", "echo", map[string]any{"text": "from TypeScript"}, false)
		spec.call(t, nil, "secret", "secret", map[string]any{}, false)
		got := runHTTPDriver(t, npm, "streamable", srv.url+"/mcp", spec, nil)
		if txt, code := callText(t, cs, "echo", map[string]any{"text": "from Go"}, nil); code != 0 || txt != "from Go" {
			t.Fatalf("go-sdk echo: %q %d", txt, code)
		}
		runChecks(t, []check{
			{"TypeScript: filtered tools/list", slices.Equal(got.Tools, peerGranted)},
			{"TypeScript: allowed call", got.Calls["echo"].Text == "from TypeScript"},
			{"TypeScript: denied call", got.Calls["secret"].Code == rpcAccessDenied},
			{"go-sdk: filtered tools/list", slices.Equal(toolNames(t, cs), peerGranted)},
		})
	})
}

// TestServeE2EGoSDKListen: the go-sdk client's subscriptions/listen (one
// long POST stream at 2026-07-28) carries its upstream's list_changed to
// it, and only to it: another caller, on its own upstream, hears nothing.
func TestServeE2EGoSDKListen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, agent := newKey(t), newKey(t)
	wf := filepath.Join(dir, "agent.warrant")
	os.WriteFile(wf, []byte(peerWarrant(t, root, agent).Base64()), 0o644)
	tokA, tokB := "token-a-0123456789abcdef", "token-b-0123456789abcdef"
	tf := filepath.Join(dir, "tokens.txt")
	os.WriteFile(tf, []byte(tokA+"\n"+tokB+"\n"), 0o644)
	srv := startServe(t, []string{"TENUO_HOLDER_KEY=" + agent.SeedHex()},
		[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--auth-token-file", tf, "--log-level", "warn"}, gosdkPeer(t))
	heard := func() (chan struct{}, *mcp.ClientOptions) {
		ch := make(chan struct{}, 8)
		return ch, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { ch <- struct{}{} }}
	}
	heardA, optA := heard()
	heardB, optB := heard()
	a := connectGosdk(t, srv.url, "", map[string]string{"Authorization": "Bearer " + tokA}, optA)
	connectGosdk(t, srv.url, "", map[string]string{"Authorization": "Bearer " + tokB}, optB)
	if txt, code := callText(t, a, "add_tool", map[string]any{"name": "fresh"}, nil); code != 0 {
		t.Fatalf("add_tool: %q %d", txt, code)
	}
	select {
	case <-heardA:
	case <-time.After(10 * time.Second):
		t.Fatal("the listening client did not hear tools/list_changed")
	}
	select {
	case <-heardB:
		t.Fatal("another caller heard the first one's list_changed")
	case <-time.After(300 * time.Millisecond):
	}
	// The new tool is the upstream's, not the warrant's: still hidden.
	if got := toolNames(t, a); slices.Contains(got, "fresh") {
		t.Fatalf("a tool the warrant does not grant is listed: %v", got)
	}
}

// TestServeE2E2026BadInput sends serve, in front of the go-sdk server,
// hostile 2026-07-28 requests by hand: each gets its status and code, and
// none reaches the server (what remember would have stored is never there).
func TestServeE2E2026BadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, agent := newKey(t), newKey(t)
	wf := filepath.Join(dir, "agent.warrant")
	os.WriteFile(wf, []byte(peerWarrant(t, root, agent).Base64()), 0o644)
	srv := startServe(t, []string{"TENUO_HOLDER_KEY=" + agent.SeedHex()},
		[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}, gosdkPeer(t))
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	remember := func(v string) string {
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"remember","arguments":{"value":"` + v + `"},` + meta + `}}`
	}
	v26 := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "remember"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{}
		for k, v := range v26 {
			h[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	raw := &rawClient{t: t, url: srv.url}
	cases := []struct {
		name   string
		body   string
		hdr    map[string]string
		status int
		code   int
	}{
		{"Mcp-Name names another tool", remember("evil1"), with("Mcp-Name", "echo"), 400, -32020},
		{"Mcp-Method names another method", remember("evil2"), with("Mcp-Method", "tools/list"), 400, -32020},
		{"empty Mcp-Method", remember("evil3"), with("Mcp-Method", ""), 400, -32020},
		{"empty Mcp-Name", remember("evil4"), with("Mcp-Name", ""), 400, -32020},
		{"no Mcp-Name", remember("evil9"), map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call"}, 400, -32020},
		{"header version differs from _meta", remember("evil5"), with("Mcp-Protocol-Version", "2027-01-01"), 400, -32020},
		{"no _meta version", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"remember","arguments":{"value":"evil6"}}}`, v26, 400, -32602},
		{"unsupported version", strings.ReplaceAll(remember("evil7"), "2026-07-28", "2027-01-01"), with("Mcp-Protocol-Version", "2027-01-01"), 400, -32022},
		{"unknown method", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{` + meta + `}}`, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "ping"}, 404, -32601},
		{"a session id on 2026", remember("evil8"), with("Mcp-Session-Id", "0123456789abcdef0123456789abcdef"), 404, rpcInvalidRequest},
	}
	for _, c := range cases {
		resp, b := raw.post(c.body, c.hdr)
		if r := answer(resp, b); resp.StatusCode != c.status || r.errCode() != c.code {
			t.Errorf("%s: %d %s, want %d with %d", c.name, resp.StatusCode, b, c.status, c.code)
		}
	}
	for _, m := range []string{"GET", "DELETE"} {
		req, _ := http.NewRequest(m, srv.url+"/mcp", nil)
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("%s on 2026-07-28: %d, want 405", m, resp.StatusCode)
		}
	}
	// The server stored none of it.
	resp, b := raw.post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"pid","arguments":{},`+meta+`}}`, with("Mcp-Name", "pid"))
	if resp.StatusCode != 200 || strings.Contains(string(b), "evil") || !strings.Contains(string(b), `"text":"`) {
		t.Fatalf("pid: %d %s", resp.StatusCode, b)
	}
}
