package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest"
)

var (
	flipOnce sync.Once
	flipErr  error
)

// flipServerBin builds mcpproxy/internal/flipserver next to binPath once.
func flipServerBin(t *testing.T) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(binPath), "flipserver")
	flipOnce.Do(func() {
		if out, err := exec.Command("go", "build", "-o", path, "../../mcpproxy/internal/flipserver").CombinedOutput(); err != nil {
			flipErr = fmt.Errorf("building flipserver: %v\n%s", err, out)
		}
	})
	if flipErr != nil {
		t.Fatal(flipErr)
	}
	return path
}

// TestPinE2E is the rug pull end to end: `tenuo-mcp test --snapshot`
// writes the lock from the approved server, `tenuo-mcp proxy --pin` serves
// it; when the server changes echo's description after start, echo is
// hidden from tools/list and its calls refused with the difference named,
// and the refusal is in the audit log. A call made before any tools/list is
// checked against the list the proxy fetches itself.
func TestPinE2E(t *testing.T) {
	t.Parallel()
	srv := flipServerBin(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, "tools.lock")
	specFile := filepath.Join(dir, "spec.yaml")
	os.WriteFile(specFile, []byte(fmt.Sprintf(`server: {command: [%q]}
keys: [root, agent]
warrants:
  w: {issuer: root, holder: agent, tools: {echo: {text: wildcard}}}
cases:
  - {name: echo, call: echo, args: {text: hi}, warrant: w, expect: allow, text_contains: hi}
`, srv)), 0o644)
	if out, errOut, code := runBin(t, dir, "test", specFile, "--snapshot", lock); code != 0 || !strings.Contains(out, "SNAPSHOT written") {
		t.Fatalf("writing the lock: exit %d\n%s\n%s", code, out, errOut)
	}

	w := newFSWorld(t)
	warrant := mintFile(t, w, dir)
	audit := filepath.Join(dir, "audit.jsonl")
	p := startPeer(t, nil, binPath, "proxy", "--trusted-root", w.root.Public().Hex(), "--warrant", warrant, "--key", w.keyFile,
		"--pin", lock, "--audit-log", audit, "--log-level", "warn", "--", srv)
	p.initialize()

	call := func(tool string, args map[string]any) reply {
		return p.request("tools/call", map[string]any{"name": tool, "arguments": args})
	}
	if r := call("echo", map[string]any{"text": "before"}); r.Error != nil {
		t.Fatalf("echo before any tools/list: %s", r.Raw)
	}
	if r := call("flip", map[string]any{}); r.Error != nil {
		t.Fatalf("flip: %s", r.Raw)
	}
	deadline := time.After(15 * time.Second)
	for changed := false; !changed; {
		select {
		case m := <-p.other:
			changed = strings.Contains(string(m), "notifications/tools/list_changed")
		case <-deadline:
			t.Fatal("no list_changed from the server")
		}
	}
	r := call("echo", map[string]any{"text": "after"})
	if r.errCode() != -32001 || !strings.Contains(r.Error.Message, `tool "echo" is pinned (--pin) and its definition differs from the pinned one (description:`) {
		t.Fatalf("echo after the rug pull: %s", r.Raw)
	}
	if got := p.request("tools/list", map[string]any{}).toolNames(); !slices.Equal(got, []string{"flip"}) {
		t.Fatalf("tools/list after the rug pull: %v", got)
	}
	p.stdin.Close()
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("proxy exit %d\n%s", code, p.stderr.String())
	}
	lines := readJSONLines[map[string]any](t, audit)
	found := false
	for _, l := range lines {
		b, _ := json.Marshal(l)
		found = found || strings.Contains(string(b), "is pinned (--pin)")
	}
	if !found {
		t.Fatalf("no audit record of the refusal:\n%v", lines)
	}
	if !strings.Contains(p.stderr.String(), "tool differs from the pin lock") {
		t.Errorf("the proxy's log does not say a tool differs:\n%s", p.stderr.String())
	}

	// A bad lock or mode refuses to start.
	os.WriteFile(filepath.Join(dir, "bad.lock"), []byte(`{"version":1,"tools":{"x":{"hash":"sha256:00","definition":{}}}}`), 0o644)
	for _, bad := range [][]string{{"--pin", filepath.Join(dir, "bad.lock")}, {"--pin", lock, "--pin-mode", "loud"}, {"--pin-mode", "warn"}} {
		args := append([]string{"proxy", "--trusted-root", w.root.Public().Hex()}, bad...)
		if _, errOut, code := runBin(t, dir, append(args, "--", srv)...); code != 2 || !strings.Contains(errOut, "--pin") {
			t.Errorf("%v: exit %d\n%s", bad, code, errOut)
		}
	}
}

// mintFile writes a warrant for echo and flip held by w's agent.
func mintFile(t *testing.T, w *fsWorld, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "pin.warrant")
	root := filepath.Join(dir, "root.key")
	os.WriteFile(root, []byte(w.root.SeedHex()+"\n"), 0o600)
	out, errOut, code := runBin(t, dir, "mint", "--key", root, "--holder", w.agent.Public().Hex(), "--tool", "echo", "--tool", "flip",
		"--allow-unknown", "echo", "--ttl", "10m")
	if code != 0 {
		t.Fatalf("mint: %s", errOut)
	}
	os.WriteFile(path, []byte(out), 0o644)
	return path
}

// TestPinServeE2E: serve --pin checks each session's server against the
// lock: a server that starts with echo changed has echo refused on the
// first call (before any tools/list) and hidden from its listing, while
// flip, unchanged, works. The client is mcptest's, over streamable HTTP.
func TestPinServeE2E(t *testing.T) {
	t.Parallel()
	srv := flipServerBin(t)
	dir := t.TempDir()
	lock := filepath.Join(dir, "tools.lock")
	specFile := filepath.Join(dir, "spec.yaml")
	os.WriteFile(specFile, []byte(fmt.Sprintf(`server: {command: [%q]}
keys: [root, agent]
warrants:
  w: {issuer: root, holder: agent, tools: {flip: {}}}
cases:
  - {name: flip, call: flip, warrant: w, expect: allow}
`, srv)), 0o644)
	if out, errOut, code := runBin(t, dir, "test", specFile, "--snapshot", lock); code != 0 {
		t.Fatalf("writing the lock: exit %d\n%s\n%s", code, out, errOut)
	}
	root, agent := newKey(t), newKey(t)
	w := mcptest.Mint(t, root, agent, map[string]authz.ConstraintSet{"echo": {AllowUnknown: true}, "flip": {}})
	wf := filepath.Join(dir, "agent.warrant")
	os.WriteFile(wf, []byte(w.Stack.Base64()), 0o644)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TENUO_HOLDER_KEY=" + agent.SeedHex()}
	s := startServe(t, env, []string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--pin", lock, "--log-level", "warn"}, srv, "-flipped")

	// The client's own relay holds the same warrant, so that it only relays.
	pt := mcptest.NewPoint(t, root.Public())
	h, err := w.Held()
	if err != nil {
		t.Fatal(err)
	}
	pt.SetHeld(h)
	sess := mcptest.Serve(t, mcptest.Config{URL: s.url + "/mcp", Point: pt})
	r := sess.Call(t, nil, "echo", map[string]any{"text": "x"})
	if r.Error == nil || !strings.Contains(r.Error.Message, `tool "echo" is pinned (--pin) and its definition differs`) {
		t.Fatalf("echo through serve --pin: %+v", r)
	}
	// The refusal's audit record names the HTTP session it came in. serve
	// writes it before the answer; the copy of serve's stderr this test
	// reads may take a moment longer.
	var record string
	waitFor(t, 5*time.Second, "the pin refusal's audit record", func() bool {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, `is pinned (--pin)`) && strings.Contains(line, `"decision":"deny"`) {
				record = line
				return true
			}
		}
		return false
	})
	if !strings.Contains(record, `"session":"`) {
		t.Fatalf("the pin refusal's audit record names no session: %s", record)
	}
	mcptest.WantAllowed(t, sess.Call(t, nil, "flip", nil))
	if got := sess.Tools(t, nil); !slices.Equal(got, []string{"flip"}) {
		t.Fatalf("tools/list through serve --pin: %v", got)
	}
}
