package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// callersWorld is a root key and, in dir, the warrant and key files of
// callers alice (echo, pid) and bob (remember, pid).
type callersWorld struct {
	dir        string
	root       *authz.SigningKey
	alice, bob *authz.SigningKey
	az         *authz.Authorizer
}

const (
	aliceToken = "alice-token-0123456789abcdef"
	bobToken   = "bob-token-0123456789abcdef"
	ciToken    = "ci-token-0123456789abcdef"
)

func newCallersWorld(t *testing.T) *callersWorld {
	t.Helper()
	w := &callersWorld{dir: t.TempDir(), root: newKey(t), alice: newKey(t), bob: newKey(t)}
	loose := authz.ConstraintSet{AllowUnknown: true}
	for name, grant := range map[string]struct {
		key   *authz.SigningKey
		tools []string
	}{"alice": {w.alice, []string{"echo", "pid"}}, "bob": {w.bob, []string{"remember", "pid"}}} {
		tools := map[string]authz.ConstraintSet{}
		for _, tl := range grant.tools {
			tools[tl] = loose
		}
		wt, err := authz.Mint(w.root, authz.Grant{Holder: grant.key.Public(), TTL: 10 * time.Minute, Tools: tools}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(w.dir, name+".warrant"), []byte(authz.Stack{wt}.Base64()), 0o644)
		os.WriteFile(filepath.Join(w.dir, name+".key"), []byte(grant.key.SeedHex()), 0o600)
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{w.root.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	w.az = az
	return w
}

const goodCallers = `# who may call serve
callers:
  - name: alice
    token: ` + aliceToken + `
    warrant: alice.warrant
    key: alice.key
  - name: bob
    token: "` + bobToken + `"
    warrant: bob.warrant
    key: bob.key
  - name: ci
    token: ` + ciToken + `
`

func (w *callersWorld) write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(w.dir, "callers.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestParseCallers: the callers file is read strictly; each refusal names
// the file and line.
func TestParseCallers(t *testing.T) {
	w := newCallersWorld(t)
	var warned bytes.Buffer
	warn := func(f string, a ...any) { fmt.Fprintf(&warned, f, a...) }
	p := filepath.Join(w.dir, "callers.yaml")
	tbl, err := parseCallers(p, []byte(goodCallers), w.az, warn, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl.callers) != 3 || tbl.byName["alice"].held == nil || tbl.byName["bob"].held == nil || tbl.byName["ci"].held != nil {
		t.Fatalf("callers %+v", tbl.callers)
	}
	req := func(tok string) *http.Request {
		r, _ := http.NewRequest("POST", "http://x/mcp", nil)
		if tok != "" {
			r.Header.Set("Authorization", tok)
		}
		return r
	}
	for tok, want := range map[string]string{"Bearer " + aliceToken: "alice", "bearer " + bobToken: "bob", "Bearer " + ciToken: "ci",
		"Bearer " + aliceToken + "x": "", aliceToken: "", "": "", "Basic " + aliceToken: ""} {
		got := ""
		if c := tbl.match(req(tok)); c != nil {
			got = c.name
		}
		if got != want {
			t.Errorf("Authorization %q: caller %q, want %q", tok, got, want)
		}
	}

	other := newKey(t)
	os.WriteFile(filepath.Join(w.dir, "other.key"), []byte(other.SeedHex()), 0o600)
	entry := func(lines ...string) string { return "callers:\n  - name: alice\n" + strings.Join(lines, "\n") + "\n" }
	tok := "    token: " + aliceToken
	cases := []struct{ name, text, want string }{
		{"not YAML", "callers: [", "callers.yaml: yaml:"},
		{"not a mapping", "- a\n", "callers.yaml:1: the file must be a mapping"},
		{"unknown top key", "callers: []\nextra: 1\n", "callers.yaml:2: unknown key \"extra\""},
		{"no callers", "callers: []\n", "callers.yaml:1: no callers"},
		{"callers not a list", "callers: alice\n", "callers.yaml:1: callers must be a list"},
		{"unknown caller key", entry(tok, "    role: admin"), "callers.yaml:4: unknown key \"role\""},
		{"no token", entry(), "callers.yaml:2: caller \"alice\" needs a token"},
		{"short token", entry("    token: short"), "callers.yaml:3: caller \"alice\": a token is at least 16"},
		{"token not a string", entry("    token: [a]"), "callers.yaml:3: token must be a non-empty string"},
		{"repeated key", entry(tok, tok), "callers.yaml:4: token appears twice"},
		{"warrant without key", entry(tok, "    warrant: alice.warrant"), "callers.yaml:2: caller \"alice\": warrant and key go together"},
		{"missing warrant file", entry(tok, "    warrant: nope.warrant", "    key: alice.key"), "callers.yaml:4: caller \"alice\": warrant: no such warrant file"},
		{"key not the holder", entry(tok, "    warrant: alice.warrant", "    key: other.key"), "callers.yaml:4: caller \"alice\": held warrant: the key"},
		{"key not a key", entry(tok, "    warrant: alice.warrant", "    key: alice.warrant"), "callers.yaml:4: caller \"alice\": key"},
		{"two callers, one token", goodCallers + "  - name: eve\n    token: " + aliceToken + "\n", "callers.yaml:14: caller \"eve\" has the token of the caller on line 4"},
		{"two callers, one name", goodCallers + "  - name: alice\n    token: 0123456789abcdef0123\n", "callers.yaml:13: two callers are named \"alice\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseCallers(p, []byte(c.text), w.az, warn, time.Now())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	// A warrant from a root not trusted is refused.
	stranger, _ := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{newKey(t).Public()}})
	if _, err := parseCallers(p, []byte(goodCallers), stranger, warn, time.Now()); err == nil || !strings.Contains(err.Error(), "callers.yaml:5: caller \"alice\": warrant") {
		t.Fatalf("untrusted root: %v", err)
	}
}

// TestServeE2ECallers: serve --callers gives each bearer token its own
// held warrant and its own upstream. Two callers see different tools and
// call only their own, over 2026-07-28 and over a 2025 session; a session
// answers only the token that opened it; an unknown token is 401; the file
// reloads on SIGHUP; a malformed file refuses to start with file:line.
func TestServeE2ECallers(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	path := w.write(t, goodCallers)
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "warn"}, gosdkPeer(t))
	as := func(tok, version string) *mcp.ClientSession {
		return connectGosdk(t, srv.url, version, map[string]string{"Authorization": "Bearer " + tok}, nil)
	}
	alice, bob, alice2, aliceOld := as(aliceToken, ""), as(bobToken, ""), as(aliceToken, ""), as(aliceToken, "2025-11-25")
	if v := aliceOld.InitializeResult().ProtocolVersion; v != "2025-11-25" {
		t.Fatalf("old client negotiated %q", v)
	}
	pidOf := func(s *mcp.ClientSession) string {
		txt, code := callText(t, s, "pid", map[string]any{}, nil)
		if code != 0 {
			t.Fatalf("pid: %q %d", txt, code)
		}
		return strings.Fields(txt)[0]
	}
	_, codeRemember := callText(t, bob, "remember", map[string]any{"value": "bob's"}, nil)
	_, codeBobEcho := callText(t, bob, "echo", map[string]any{"text": "x"}, nil)
	aliceEcho, codeAliceEcho := callText(t, alice, "echo", map[string]any{"text": "alice's"}, nil)
	_, codeAliceRemember := callText(t, alice, "remember", map[string]any{"value": "x"}, nil)
	_, codeOldRemember := callText(t, aliceOld, "remember", map[string]any{"value": "x"}, nil)
	pa, pa2, pb := pidOf(alice), pidOf(alice2), pidOf(bob)
	bobRecall, _ := callText(t, bob, "pid", map[string]any{}, nil)
	aliceRecall, _ := callText(t, alice, "pid", map[string]any{}, nil)
	runChecks(t, []check{
		{"alice's tools", slices.Equal(toolNames(t, alice), []string{"echo", "pid"})},
		{"bob's tools", slices.Equal(toolNames(t, bob), []string{"pid", "remember"})},
		{"alice's tools in a 2025 session", slices.Equal(toolNames(t, aliceOld), []string{"echo", "pid"})},
		{"alice calls echo", codeAliceEcho == 0 && aliceEcho == "alice's"},
		{"bob calls remember", codeRemember == 0},
		{"bob cannot call echo", codeBobEcho == rpcAccessDenied},
		{"alice cannot call remember", codeAliceRemember == rpcAccessDenied},
		{"nor in a 2025 session", codeOldRemember == rpcAccessDenied},
		{"one caller, one upstream", pa == pa2},
		{"two callers, two upstreams", pa != pb},
		{"bob's state is bob's", strings.HasSuffix(bobRecall, " bob's") && !strings.Contains(aliceRecall, "bob")},
		{"no warning that listings show nothing", !strings.Contains(srv.stderr.String(), "no held warrant")},
	})

	// Raw HTTP: unknown tokens, and a session used with another token.
	raw := &rawClient{t: t, url: srv.url, hdr: map[string]string{"Authorization": "Bearer " + aliceToken}}
	raw.initialize()
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"no token", "", 401},
		{"unknown token", "Bearer not-a-caller-0123456789", 401},
		{"bob's token on alice's session", "Bearer " + bobToken, 404},
		{"alice's token on alice's session", "Bearer " + aliceToken, 200},
	} {
		resp, b := raw.post(`{"jsonrpc":"2.0","id":5,"method":"tools/list"}`, map[string]string{"Authorization": c.auth})
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.status)
		}
	}

	// Bob leaves: after SIGHUP his token is refused; alice stays.
	w.write(t, strings.Split(goodCallers, "  - name: bob")[0])
	srv.cmd.Process.Signal(syscall.SIGHUP)
	bobGone := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !bobGone; time.Sleep(50 * time.Millisecond) {
		resp, _ := (&rawClient{t: t, url: srv.url, hdr: map[string]string{"Authorization": "Bearer " + bobToken}}).post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`, nil)
		bobGone = resp.StatusCode == 401
	}
	if !bobGone {
		t.Fatal("bob's token still accepted after the callers file dropped him and SIGHUP")
	}
	if _, err := bob.CallTool(context.Background(), &mcp.CallToolParams{Name: "remember", Arguments: map[string]any{"value": "y"}}); err == nil {
		t.Fatal("bob's open client still acts after he was dropped")
	}
	if txt, code := callText(t, alice, "echo", map[string]any{"text": "still"}, nil); code != 0 || txt != "still" {
		t.Fatalf("alice after the reload: %q %d", txt, code)
	}
}

// TestServeE2ECallersRefused: serve refuses to start on a malformed callers
// file, naming its line, and on --callers beside a warrant for everyone or
// another token file.
func TestServeE2ECallersRefused(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	bad := w.write(t, "callers:\n  - name: alice\n    token: "+aliceToken+"\n    warrant: alice.warrant\n")
	wf := filepath.Join(w.dir, "alice.warrant")
	tokens := filepath.Join(w.dir, "tokens.txt")
	os.WriteFile(tokens, []byte(ciToken+"\n"), 0o644)
	good := filepath.Join(w.dir, "good.yaml")
	os.WriteFile(good, []byte(goodCallers), 0o644)
	for _, c := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"malformed", []string{"--callers", bad}, bad + ":2: caller \"alice\": warrant and key go together"},
		{"with --warrant", []string{"--callers", good, "--warrant", wf, "--key", filepath.Join(w.dir, "alice.key")}, "--callers and a held warrant for everyone"},
		{"with --auth-token-file", []string{"--callers", good, "--auth-token-file", tokens}, "--auth-token-file and --callers"},
		{"no such file", []string{"--callers", filepath.Join(w.dir, "nope.yaml")}, "no such callers file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--trusted-root", w.root.Public().Hex()}, c.flags...)
			cmd := exec.Command(binPath, append(args, "--", gosdkPeer(t))...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), c.want) {
				t.Fatalf("exit %v, output %s; want exit 2 and %q", err, out, c.want)
			}
		})
	}
}

// mintFile writes, atomically (a rename, as editors do), a warrant from
// w.root to holder for tools at path.
func (w *callersWorld) mintFile(t *testing.T, path string, holder *authz.SigningKey, tools ...string) {
	t.Helper()
	grant := map[string]authz.ConstraintSet{}
	for _, tl := range tools {
		grant[tl] = authz.ConstraintSet{AllowUnknown: true}
	}
	wt, err := authz.Mint(w.root, authz.Grant{Holder: holder.Public(), TTL: 10 * time.Minute, Tools: grant}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, authz.Stack{wt}.Base64())
}

// replaceFile replaces path by a rename of a new file.
func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// secretVolume lays out dir/name the way a Kubernetes secret volume does:
// name is a symlink to ..data/name, ..data a symlink to the version
// directory. swap(files) writes a new version and swaps ..data to it in one
// rename.
type secretVolume struct {
	t   *testing.T
	dir string
	n   int
}

func (v *secretVolume) swap(files map[string]string) {
	v.t.Helper()
	v.n++
	ver := fmt.Sprintf("..v%d", v.n)
	if err := os.MkdirAll(filepath.Join(v.dir, ver), 0o700); err != nil {
		v.t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(v.dir, ver, name), []byte(text), 0o600); err != nil {
			v.t.Fatal(err)
		}
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); err != nil {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				v.t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ver, tmp); err != nil {
		v.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		v.t.Fatal(err)
	}
}

// TestCallersReload: reload takes a callers file whose warrant or key files
// changed though the file itself did not (edited in place, replaced by a
// rename, or swapped as a Kubernetes secret volume is), keeps the table in
// force when the new files do not hold, says why once per change rather
// than at every look, and does nothing while no file changed.
func TestCallersReload(t *testing.T) {
	w := newCallersWorld(t)
	vol := &secretVolume{t: t, dir: w.dir}
	os.Remove(filepath.Join(w.dir, "bob.warrant"))
	os.Remove(filepath.Join(w.dir, "bob.key"))
	bobWarrant := func(holder *authz.SigningKey, tools ...string) string {
		p := filepath.Join(t.TempDir(), "w")
		w.mintFile(t, p, holder, tools...)
		b, _ := os.ReadFile(p)
		return string(b)
	}
	vol.swap(map[string]string{"bob.warrant": bobWarrant(w.bob, "remember"), "bob.key": w.bob.SeedHex()})
	path := w.write(t, goodCallers)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cf, err := newCallersFile(path, func() *authz.Authorizer { return w.az }, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	var tables int
	onChange := func(*callerTable) { tables++ }
	cf.changed.Store(&onChange)
	tools := func(name string) []string {
		h := cf.table().byName[name].held
		if h == nil {
			return nil
		}
		var out []string
		for tl := range h.Stack.Leaf().Tools {
			out = append(out, tl)
		}
		slices.Sort(out)
		return out
	}
	carol := newKey(t)
	steps := []struct {
		name   string
		edit   func()
		tables int    // tables taken so far
		alice  string // alice's tools after the step
		bob    string
		logged string // the reason logged, when refused
	}{
		{"nothing changed", func() {}, 0, "echo pid", "remember", ""},
		{"warrant replaced by rename", func() { w.mintFile(t, filepath.Join(w.dir, "alice.warrant"), w.alice, "remember") }, 1, "remember", "remember", ""},
		{"warrant garbled in place", func() { os.WriteFile(filepath.Join(w.dir, "alice.warrant"), []byte("not a warrant"), 0o644) }, 1, "remember", "remember", "alice.warrant must chain"},
		{"still garbled", func() {}, 1, "remember", "remember", ""},
		{"warrant fixed in place", func() {
			w.mintFile(t, filepath.Join(w.dir, "new.warrant"), w.alice, "echo")
			b, _ := os.ReadFile(filepath.Join(w.dir, "new.warrant"))
			os.WriteFile(filepath.Join(w.dir, "alice.warrant"), b, 0o644)
		}, 2, "echo", "remember", ""},
		{"secret volume swapped: new holder and warrant", func() {
			vol.swap(map[string]string{"bob.warrant": bobWarrant(carol, "pid"), "bob.key": carol.SeedHex()})
		}, 3, "echo", "pid", ""},
		{"secret volume swapped: a key not the warrant's holder", func() {
			vol.swap(map[string]string{"bob.warrant": bobWarrant(carol, "echo"), "bob.key": w.bob.SeedHex()})
		}, 3, "echo", "pid", "held warrant: the key"},
		{"key file deleted", func() { os.Remove(filepath.Join(w.dir, "alice.key")) }, 3, "echo", "pid", "no such key file"},
		{"key file back, bob's volume fixed", func() {
			os.WriteFile(filepath.Join(w.dir, "alice.key"), []byte(w.alice.SeedHex()), 0o600)
			vol.swap(map[string]string{"bob.warrant": bobWarrant(carol, "echo", "pid"), "bob.key": carol.SeedHex()})
		}, 4, "echo", "echo pid", ""},
	}
	for _, s := range steps {
		before := strings.Count(logs.String(), "not reloaded")
		s.edit()
		cf.reload(log, false)
		cf.reload(log, false) // a second look finds nothing new
		refusals := strings.Count(logs.String(), "not reloaded") - before
		switch {
		case tables != s.tables:
			t.Errorf("%s: %d tables taken, want %d", s.name, tables, s.tables)
		case strings.Join(tools("alice"), " ") != s.alice || strings.Join(tools("bob"), " ") != s.bob:
			t.Errorf("%s: alice %v, bob %v; want %q, %q", s.name, tools("alice"), tools("bob"), s.alice, s.bob)
		case s.logged == "" && refusals != 0, s.logged != "" && (refusals != 1 || !strings.Contains(logs.String(), s.logged)):
			t.Errorf("%s: %d refusals logged, want %q once:\n%s", s.name, refusals, s.logged, logs.String())
		}
	}
	// SIGHUP reads everything again even when nothing changed.
	cf.reload(log, true)
	if tables != 5 {
		t.Errorf("a forced reload took %d tables, want 5", tables)
	}
}

// TestServeE2ECallersFilesReload: with serve running, a caller's warrant
// replaced by a rename, and another's warrant and key swapped as a
// Kubernetes secret volume is, take effect in the sessions they already
// have, the callers file unchanged and no SIGHUP sent; a garbled warrant
// keeps the one in force and says why; a caller dropped from the file loses
// its open session at the next look.
func TestServeE2ECallersFilesReload(t *testing.T) {
	t.Parallel()
	w := newCallersWorld(t)
	vol := &secretVolume{t: t, dir: filepath.Join(w.dir, "bob")}
	os.Mkdir(vol.dir, 0o700)
	bobFiles := func(holder *authz.SigningKey, tools ...string) map[string]string {
		p := filepath.Join(t.TempDir(), "w")
		w.mintFile(t, p, holder, tools...)
		b, _ := os.ReadFile(p)
		return map[string]string{"bob.warrant": string(b), "bob.key": holder.SeedHex()}
	}
	vol.swap(bobFiles(w.bob, "remember", "pid"))
	callers := strings.ReplaceAll(goodCallers, "bob.warrant", "bob/bob.warrant")
	callers = strings.ReplaceAll(callers, "bob.key", "bob/bob.key")
	path := w.write(t, callers)
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "info"}, gosdkPeer(t))
	as := func(tok string) *mcp.ClientSession {
		return connectGosdk(t, srv.url, "2025-11-25", map[string]string{"Authorization": "Bearer " + tok}, nil)
	}
	alice, bob, ci := as(aliceToken), as(bobToken), as(ciToken)
	// waitFor polls until ok or 10 s have passed (the watcher looks every 2 s).
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10 s", what)
			}
		}
	}
	code := func(s *mcp.ClientSession, tool string) int {
		_, c := callText(t, s, tool, map[string]any{"text": "x", "value": "x"}, nil)
		return c
	}
	if code(alice, "echo") != 0 || code(alice, "remember") != rpcAccessDenied || code(bob, "remember") != 0 || code(bob, "echo") != rpcAccessDenied {
		t.Fatal("the callers' first warrants are not in force")
	}

	w.mintFile(t, filepath.Join(w.dir, "alice.warrant"), w.alice, "remember", "pid")
	waitFor("alice's renamed warrant in force", func() bool { return code(alice, "remember") == 0 })
	runChecks(t, []check{
		{"alice's old grant gone", code(alice, "echo") == rpcAccessDenied},
		{"alice's listing is the new warrant's", slices.Equal(toolNames(t, alice), []string{"pid", "remember"})},
	})

	carol := newKey(t)
	vol.swap(bobFiles(carol, "echo"))
	waitFor("bob's swapped warrant and key in force", func() bool { return code(bob, "echo") == 0 })
	if code(bob, "remember") != rpcAccessDenied {
		t.Error("bob keeps his old grant after the swap")
	}

	os.WriteFile(filepath.Join(w.dir, "alice.warrant"), []byte("garbled"), 0o644)
	waitFor("the garbled warrant reported", func() bool {
		return strings.Contains(srv.stderr.String(), "callers file not reloaded") && strings.Contains(srv.stderr.String(), "alice.warrant must chain")
	})
	if code(alice, "remember") != 0 || code(bob, "echo") != 0 {
		t.Error("a garbled warrant file did not keep the callers in force")
	}

	// ci is dropped (alice's warrant mended in the same rename): its open
	// session ends without a SIGHUP.
	w.mintFile(t, filepath.Join(w.dir, "alice.warrant"), w.alice, "echo")
	replaceFile(t, path, strings.Split(callers, "  - name: ci")[0])
	waitFor("ci dropped", func() bool {
		_, err := ci.CallTool(context.Background(), &mcp.CallToolParams{Name: "pid", Arguments: map[string]any{}})
		return err != nil && code(alice, "echo") == 0
	})
	if resp, b := (&rawClient{t: t, url: srv.url, hdr: map[string]string{"Authorization": "Bearer " + ciToken}}).post(`{"jsonrpc":"2.0","id":1,"method":"ping"}`, nil); resp.StatusCode != 401 {
		t.Errorf("ci's token after it was dropped: %d %s", resp.StatusCode, b)
	}
}
