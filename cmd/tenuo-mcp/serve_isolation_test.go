package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// End-to-end tests that serve never lets two clients share what is one
// client's on the upstream: its session, its log level, its roots, its
// subscriptions (issue 14: "Sessions never share an upstream session").

// heard is what one go-sdk client was sent besides answers.
type heard struct {
	mu      sync.Mutex
	logs    []string
	updated []string
}

func (h *heard) snapshot() (logs, updated []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.logs), slices.Clone(h.updated)
}

// isolatedClient connects a go-sdk client at 2025-11-25 to serve with root
// as its only root, recording the log messages and resource updates it gets.
func isolatedClient(t *testing.T, url, root string) (*mcp.ClientSession, *heard) {
	t.Helper()
	h := &heard{}
	c := mcp.NewClient(&mcp.Implementation{Name: "isolation", Version: "1"}, &mcp.ClientOptions{
		LoggingMessageHandler: func(_ context.Context, r *mcp.LoggingMessageRequest) {
			h.mu.Lock()
			h.logs = append(h.logs, string(r.Params.Level)+": "+strings.TrimSpace(strings.ReplaceAll(stringOf(r.Params.Data), "\n", " ")))
			h.mu.Unlock()
		},
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			h.mu.Lock()
			h.updated = append(h.updated, r.Params.URI)
			h.mu.Unlock()
		},
	})
	c.AddRoots(&mcp.Root{URI: root, Name: filepath.Base(root)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", MaxRetries: -1}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, h
}

func stringOf(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// TestServeE2ESessionsIsolated: two 2025 clients of serve, in front of
// server-everything as a stdio child per session and as one HTTP server
// (streamable and legacy SSE) serving serve's upstream sessions, each set
// their own log level, give their own roots and subscribe to their own
// resource. Each hears only its own: the client at level emergency hears
// none of the other's info messages, each server session lists only its own
// client's roots, and resource updates reach only the subscriber.
func TestServeE2ESessionsIsolated(t *testing.T) {
	t.Parallel()
	dir := npmpeers.Dir(t)
	everything := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	for _, mode := range []string{"stdio", "streamableHttp", "sse"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			root, agent := newKey(t), newKey(t)
			loose := authz.ConstraintSet{AllowUnknown: true}
			wt, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute,
				Tools: map[string]authz.ConstraintSet{"get-roots-list": loose, "toggle-subscriber-updates": loose}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			wf := filepath.Join(t.TempDir(), "w")
			os.WriteFile(wf, []byte(authz.Stack{wt}.Base64()), 0o644)
			flags := []string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}
			env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_HOLDER_KEY=" + agent.SeedHex()}
			var argv []string
			if mode == "stdio" {
				argv = []string{"node", everything, "stdio"}
			} else {
				up, _ := startEverythingHTTP(t, dir, mode)
				flags = append(flags, "--upstream-url", up, "--upstream-transport", map[string]string{"streamableHttp": "streamable", "sse": "sse"}[mode])
			}
			srv := startServe(t, env, flags, argv...)
			a, heardA := isolatedClient(t, srv.url, "file:///tmp/root-of-a")
			b, heardB := isolatedClient(t, srv.url, "file:///tmp/root-of-b")
			ctx := context.Background()
			for _, s := range []struct {
				cs    *mcp.ClientSession
				level mcp.LoggingLevel
				uri   string
			}{{a, "debug", "demo://a"}, {b, "emergency", "demo://b"}} {
				if err := s.cs.SetLoggingLevel(ctx, &mcp.SetLoggingLevelParams{Level: s.level}); err != nil {
					t.Fatalf("logging/setLevel: %v", err)
				}
				if err := s.cs.Subscribe(ctx, &mcp.SubscribeParams{URI: s.uri}); err != nil {
					t.Fatalf("resources/subscribe: %v", err)
				}
				if _, code := callText(t, s.cs, "toggle-subscriber-updates", map[string]any{}, nil); code != 0 {
					t.Fatalf("toggle-subscriber-updates: %d", code)
				}
			}
			rootsA, codeA := callText(t, a, "get-roots-list", map[string]any{}, nil)
			rootsB, codeB := callText(t, b, "get-roots-list", map[string]any{}, nil)
			// Updates come on the sessions' GET streams, as they come.
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				logsA, upA := heardA.snapshot()
				_, upB := heardB.snapshot()
				if len(logsA) > 0 && len(upA) > 0 && len(upB) > 0 {
					break
				}
			}
			logsA, upA := heardA.snapshot()
			logsB, upB := heardB.snapshot()
			runChecks(t, []check{
				{"a's roots are a's", codeA == 0 && strings.Contains(rootsA, "root-of-a") && !strings.Contains(rootsA, "root-of-b")},
				{"b's roots are b's", codeB == 0 && strings.Contains(rootsB, "root-of-b") && !strings.Contains(rootsB, "root-of-a")},
				{"a, at debug, hears its info messages", len(logsA) > 0},
				{"b, at emergency, hears none", len(logsB) == 0},
				{"a's updates are a's", len(upA) > 0 && !slices.Contains(upA, "demo://b")},
				{"b's updates are b's", len(upB) > 0 && !slices.Contains(upB, "demo://a")},
			})
			if t.Failed() {
				t.Logf("a heard %q, updates %q; b heard %q, updates %q", logsA, upA, logsB, upB)
			}
		})
	}
}

// caller26 is one caller of serve over 2026-07-28: its bearer token and
// X-Tenuo-Warrant header (either may be empty), and, with a header
// warrant, the key that signs its proofs.
type caller26 struct {
	name   string
	token  string
	signer *e2eSigner
}

const meta26 = `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}`

// request builds the caller's 2026-07-28 request of method (a tools/call
// of tool with args when tool is set).
func (c caller26) request(t *testing.T, url, method, tool, args string) *http.Request {
	t.Helper()
	meta := meta26
	if c.signer != nil && tool != "" {
		sig, _ := json.Marshal(signatureOnly(c.signer.envelope(t, tool, args)))
		meta += `,"tenuo":` + string(sig)
	}
	params := `{"_meta":{` + meta + `}}`
	if tool != "" {
		params = `{"name":"` + tool + `","arguments":` + args + `,"_meta":{` + meta + `}}`
	} else if method == "subscriptions/listen" {
		params = `{"notifications":{"toolsListChanged":true},"_meta":{` + meta + `}}`
	}
	req, err := http.NewRequest("POST", url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"`+method+`","params":`+params+`}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", method)
	if tool != "" {
		req.Header.Set("Mcp-Name", tool)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.signer != nil {
		req.Header.Set("X-Tenuo-Warrant", c.signer.stack.Base64())
	}
	return req
}

// call makes a tools/call with client and returns the tool's text.
func (c caller26) call(t *testing.T, client *http.Client, url, tool, args string) string {
	t.Helper()
	resp, err := client.Do(c.request(t, url, "tools/call", tool, args))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text, isErr := answer(resp, b).toolResult()
	if resp.StatusCode != 200 || isErr || text == "" {
		t.Fatalf("%s's %s: %d %s", c.name, tool, resp.StatusCode, b)
	}
	return text
}

// listen opens the caller's subscriptions/listen stream; what it carries
// is collected in the returned buffer.
func (c caller26) listen(t *testing.T, url string) *syncBuffer {
	t.Helper()
	resp, err := http.DefaultClient.Do(c.request(t, url, "subscriptions/listen", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s's subscriptions/listen: %d %s", c.name, resp.StatusCode, b)
	}
	buf := &syncBuffer{}
	go io.Copy(buf, resp.Body)
	return buf
}

// oneConnection is an HTTP client that makes at most one connection to
// serve, kept alive, and counts the connections it made.
func oneConnection() (*http.Client, *atomic.Int32) {
	var dials atomic.Int32
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		}}}, &dials
}

// TestServeE2ECallersIsolated2026: 2026-07-28 requests have no session, so
// serve pools an upstream per caller: per bearer token (--callers), and per
// X-Tenuo-Warrant header within one token. Callers interleaved over one
// keep-alive connection each reach their own server process (pid), and
// always the same one; state one caller leaves in its server is not
// another's; a tools/list_changed from one caller's server reaches only
// that caller's subscriptions/listen stream.
func TestServeE2ECallersIsolated2026(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	os.WriteFile(filepath.Join(w.dir, "alice.warrant"), []byte(peerWarrant(t, w.root, w.alice).Base64()), 0o644)
	os.WriteFile(filepath.Join(w.dir, "bob.warrant"), []byte(peerWarrant(t, w.root, w.bob).Base64()), 0o644)
	path := w.write(t, goodCallers)
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "warn"}, gosdkPeer(t))
	k1, k2 := newKey(t), newKey(t)
	alice := caller26{name: "alice", token: aliceToken}
	bob := caller26{name: "bob", token: bobToken}
	ci1 := caller26{name: "ci with warrant 1", token: ciToken, signer: &e2eSigner{peerWarrant(t, w.root, k1), k1}}
	ci2 := caller26{name: "ci with warrant 2", token: ciToken, signer: &e2eSigner{peerWarrant(t, w.root, k2), k2}}
	callers := []caller26{alice, bob, ci1, ci2}

	client, dials := oneConnection()
	pid := func(c caller26) string { return strings.Fields(c.call(t, client, srv.url, "pid", "{}"))[0] }
	pids := map[string]string{}
	for _, c := range callers {
		pids[c.name] = pid(c)
	}
	alice.call(t, client, srv.url, "remember", `{"value":"alice-state"}`)
	ci1.call(t, client, srv.url, "remember", `{"value":"ci1-state"}`)
	var checks []check
	for _, c := range callers {
		again := c.call(t, client, srv.url, "pid", "{}")
		checks = append(checks, check{c.name + " keeps its server", strings.Fields(again)[0] == pids[c.name]})
		for _, o := range callers {
			if o.name != c.name {
				checks = append(checks, check{c.name + " and " + o.name + " have two servers", pids[c.name] != pids[o.name]})
			}
		}
		mine := map[string]string{"alice": "alice-state", "ci with warrant 1": "ci1-state"}[c.name]
		checks = append(checks, check{c.name + " sees only its own state",
			strings.TrimSpace(strings.TrimPrefix(again, pids[c.name])) == mine})
	}
	checks = append(checks, check{"all of it over one connection", dials.Load() == 1})
	runChecks(t, checks)

	streams := map[string]*syncBuffer{}
	for _, c := range callers {
		streams[c.name] = c.listen(t, srv.url)
	}
	bob.call(t, client, srv.url, "add_tool", `{"name":"bobs_tool"}`)
	ci2.call(t, client, srv.url, "add_tool", `{"name":"ci2s_tool"}`)
	const changed = "notifications/tools/list_changed"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(streams["bob"].String(), changed) && strings.Contains(streams["ci with warrant 2"].String(), changed) {
			break
		}
	}
	runChecks(t, []check{
		{"bob hears his server's list_changed", strings.Contains(streams["bob"].String(), changed)},
		{"ci with warrant 2 hears its server's", strings.Contains(streams["ci with warrant 2"].String(), changed)},
		{"alice hears neither", !strings.Contains(streams["alice"].String(), changed)},
		{"ci with warrant 1 hears neither", !strings.Contains(streams["ci with warrant 1"].String(), changed)},
	})
}

// TestServeE2ECallersByAddress: off loopback without bearer tokens, a
// 2026-07-28 caller is its IP address: two addresses presenting the same
// warrant reach two server processes, each keeps its own on a new
// connection, and one's state is not the other's.
func TestServeE2ECallersByAddress(t *testing.T) {
	t.Parallel()
	root, agent := newKey(t), newKey(t)
	srv := startServe(t, nil, []string{"--listen", "0.0.0.0:0", "--trusted-root", root.Public().Hex(), "--log-level", "error"}, gosdkPeer(t))
	_, port, err := net.SplitHostPort(strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + port
	c := caller26{name: "agent", signer: &e2eSigner{peerWarrant(t, root, agent), agent}}
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}
	two, three := from("127.0.0.2"), from("127.0.0.3")
	p2 := c.call(t, two, url, "pid", "{}")
	c.call(t, two, url, "remember", `{"value":"state of .2"}`)
	p3 := c.call(t, three, url, "pid", "{}")
	again := c.call(t, two, url, "pid", "{}")
	runChecks(t, []check{
		{"two addresses, two servers", strings.Fields(p2)[0] != strings.Fields(p3)[0]},
		{"one address keeps its server", strings.Fields(again)[0] == strings.Fields(p2)[0] && strings.HasSuffix(again, "state of .2")},
		{"one's state is not the other's", !strings.Contains(p3, "state of .2")},
	})
}
