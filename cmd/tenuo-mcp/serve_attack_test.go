package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeE2EAttack2026 sends serve, in front of the go-sdk server (which
// has a tool "secret" the warrant does not grant), 2026-07-28 requests an
// attacker would try, each meant to reach the server unchecked or be
// checked as something other than what the server runs: look-alike and
// escaped member names, another era's headers or session, batches, and
// hostile headers. Each is refused or answered without the secret, and
// serve keeps serving.
func TestServeE2EAttack2026(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root, agent := newKey(t), newKey(t)
	wf := filepath.Join(dir, "agent.warrant")
	os.WriteFile(wf, []byte(peerWarrant(t, root, agent).Base64()), 0o644)
	srv := startServe(t, []string{"TENUO_HOLDER_KEY=" + agent.SeedHex()},
		[]string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--log-level", "warn"}, gosdkPeer(t))
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	v26 := map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
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
	echo := `"name":"echo","arguments":{"text":"hi"},` + meta
	raw := &rawClient{t: t, url: srv.url}
	// The caller's listing teaches serve region's Mcp-Param-Region.
	if resp, b := raw.post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{`+meta+`}}`,
		map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}); resp.StatusCode != 200 || !strings.Contains(string(b), "x-mcp-header") {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, b)
	}
	sess := &rawClient{t: t, url: srv.url}
	sess.initialize()
	secret := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret","arguments":{},` + meta + `}}`
	region := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"region","arguments":{"region":"eu"},` + meta + `}}`
	asSecret := with("Mcp-Name", "secret")
	cases := []struct {
		name   string
		c      *rawClient
		body   string
		hdr    map[string]string
		status int
		code   int
	}{
		{"params.Name look-alike", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `,"Name":"secret"}}`, v26, 200, rpcInvalidParams},
		{"params.NAME look-alike", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `,"NAME":"secret"}}`, v26, 200, rpcInvalidParams},
		{"top-level Params look-alike", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `},"Params":{"name":"secret","arguments":{},` + meta + `}}`, v26, 200, rpcInvalidRequest},
		{"top-level Method look-alike", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"tools/call","params":{"name":"secret","arguments":{},` + meta + `}}`, asSecret, 200, rpcInvalidRequest},
		{"id look-alike", raw, `{"jsonrpc":"2.0","id":1,"ID":2,"method":"tools/call","params":{"name":"secret","arguments":{},` + meta + `}}`, asSecret, 200, rpcInvalidRequest},
		{"escaped duplicate name", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `,"\u006eame":"secret"}}`, v26, 400, -32020},
		{"escaped duplicate method", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/list","\u006dethod":"tools/call","params":{"name":"secret",` + meta + `}}`, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"}, 400, rpcInvalidRequest},
		{"duplicate params", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `},"params":{"name":"secret",` + meta + `}}`, v26, 400, rpcInvalidRequest},
		{"_META look-alike only", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret","_META":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`, asSecret, 400, rpcInvalidParams},
		{"_meta version, no headers", raw, secret, map[string]string{}, 400, -32020},
		{"2025 header, 2026 _meta", raw, secret, with("Mcp-Protocol-Version", "2025-11-25", "Mcp-Name", "secret"), 400, -32020},
		{"2026 header on a live 2025 session", sess, secret, asSecret, 400, rpcInvalidRequest},
		{"batch of 2026 requests", raw, "[" + secret + "]", asSecret, 400, rpcInvalidRequest},
		{"batch without a version header", raw, "[" + secret + "]", map[string]string{}, 400, rpcInvalidRequest},
		{"2026 initialize", raw, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2026-07-28","capabilities":{},"clientInfo":{"name":"x","version":"1"},` + meta + `}}`, map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "initialize"}, 404, -32601},
		{"secret itself", raw, secret, asSecret, 200, -32001},
		{"secret, Mcp-Name says echo", raw, secret, v26, 400, -32020},
		{"invalid Base64 sentinel", raw, region, with("Mcp-Name", "region", "Mcp-Param-Region", "=?base64?!!!?="), 400, -32020},
		{"Base64 sentinel of another value", raw, region, with("Mcp-Name", "region", "Mcp-Param-Region", "=?base64?dXM=?="), 400, -32020},
		{"Mcp-Param header for no argument", raw, region, with("Mcp-Name", "region", "Mcp-Param-Region", "eu", "Mcp-Param-Other", "x"), 400, -32020},
		{"_Meta beside _meta", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `,"_Meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}}`, v26, 200, rpcInvalidParams},
		{"vertical tab before the body", raw, "\v" + secret, asSecret, 400, -32700},
		{"huge Mcp-Name", raw, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + echo + `}}`, with("Mcp-Name", strings.Repeat("e", 300<<10)), 431, 0},
	}
	for _, c := range cases {
		resp, b := c.c.post(c.body, c.hdr)
		if resp.StatusCode != c.status || answer(resp, b).errCode() != c.code || strings.Contains(string(b), "the secret") {
			t.Errorf("%s: %d %s, want %d with %d", c.name, resp.StatusCode, b, c.status, c.code)
		}
	}
	if resp, b := raw.post(region, with("Mcp-Name", "region", "Mcp-Param-Region", "=?base64?ZXU=?=")); resp.StatusCode != 200 || answer(resp, b).errCode() != 0 {
		t.Errorf("region with its Base64 header: %d %s", resp.StatusCode, b)
	}
	// Many Mcp-Param-* headers, each small.
	req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{`+echo+`}}`))
	for k, v := range v26 {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := range 5000 {
		req.Header.Add("Mcp-Param-P"+strings.Repeat("x", i%40)+string(rune('a'+i%26)), "v")
	}
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatalf("many Mcp-Param headers: %v", err)
	} else if resp.Body.Close(); resp.StatusCode == 200 {
		t.Errorf("many Mcp-Param headers: %d", resp.StatusCode)
	}
	// serve still serves, and the secret was never run.
	resp, b := raw.post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{`+echo+`}}`, v26)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"text":"hi"`) {
		t.Fatalf("echo after the attacks: %d %s", resp.StatusCode, b)
	}
}

// TestServeE2ECallersRevokedStreams: a caller dropped from the callers file,
// or whose token is replaced, loses what it still holds open once the file
// is reloaded (a 2026-07-28 subscriptions/listen stream, a 2025 session and
// its GET stream), not only its next requests; the caller that stays keeps
// its own.
func TestServeE2ECallersRevokedStreams(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	path := w.write(t, goodCallers)
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "warn"}, gosdkPeer(t))
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	// open starts a request whose answer is a lasting event stream; its
	// channel is closed when the stream ends.
	open := func(method string, hdr map[string]string, body string) chan struct{} {
		req, _ := http.NewRequest(method, srv.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s %s: %d %s", method, body, resp.StatusCode, b)
		}
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, resp.Body); close(done) }()
		return done
	}
	listen := func(tok string) chan struct{} {
		return open("POST", map[string]string{"Authorization": "Bearer " + tok, "Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "subscriptions/listen"},
			`{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},`+meta+`}}`)
	}
	session := func(tok string) (*rawClient, chan struct{}) {
		c := &rawClient{t: t, url: srv.url, hdr: map[string]string{"Authorization": "Bearer " + tok}}
		c.initialize()
		return c, open("GET", map[string]string{"Authorization": "Bearer " + tok, "Mcp-Session-Id": c.sess, "Mcp-Protocol-Version": "2025-06-18"}, "")
	}
	aliceListen, bobListen, ciListen := listen(aliceToken), listen(bobToken), listen(ciToken)
	aliceSess, aliceGet := session(aliceToken)
	_, bobGet := session(bobToken)
	_, ciGet := session(ciToken)

	// alice's token is replaced, bob is dropped, ci stays as it was.
	const aliceToken2 = "alice-token-2-0123456789abcdef"
	w.write(t, strings.Replace(strings.Split(goodCallers, "  - name: bob")[0], aliceToken, aliceToken2, 1)+
		"  - name: ci\n    token: "+ciToken+"\n")
	srv.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.After(10 * time.Second)
	for name, ch := range map[string]chan struct{}{"alice's listen": aliceListen, "alice's GET": aliceGet, "bob's listen": bobListen, "bob's GET": bobGet} {
		select {
		case <-ch:
		case <-deadline:
			t.Errorf("%s stream still open after the reload", name)
		}
	}
	for name, ch := range map[string]chan struct{}{"ci's listen": ciListen, "ci's GET": ciGet} {
		select {
		case <-ch:
			t.Errorf("%s stream ended, though ci is unchanged", name)
		default:
		}
	}
	// alice's new token does not inherit the session her old one opened.
	if resp, b := aliceSess.post(`{"jsonrpc":"2.0","id":5,"method":"tools/list"}`, map[string]string{"Authorization": "Bearer " + aliceToken2}); resp.StatusCode != 404 {
		t.Errorf("alice's new token on her old token's session: %d %s", resp.StatusCode, b)
	}
}
