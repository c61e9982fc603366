package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// waitFor polls cond every 50 ms until it holds, failing after d. It waits
// on what the proxy does on its own schedule (a file watcher's tick), which
// no message of the test can signal.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listNames(t *testing.T, p *peer) []string {
	t.Helper()
	return p.request("tools/list", map[string]any{}).toolNames()
}

// TestProxyE2EServerCommandWithoutDash: everything from the first argument
// that is not one of the proxy's flags is the server's command line, with
// or without "--" (MCP Inspector strips it; launchers append arguments).
func TestProxyE2EServerCommandWithoutDash(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	argv := []string{binPath, "proxy", "--trusted-root", w.root.Public().Hex(), "--warrant", w.warrantFile,
		"--key", w.keyFile, "--log-level", "warn"}
	p := startPeer(t, nil, append(argv, w.serverArgv()...)...)
	p.initialize()
	if names := listNames(t, p); strings.Join(names, ",") != "list_dir,read_file" && strings.Join(names, ",") != "read_file,list_dir" {
		t.Fatalf("tools/list through a proxy started without --: %v", names)
	}
	wantText(t, p.request("tools/call", map[string]any{"name": "read_file",
		"arguments": map[string]any{"path": w.path("hello.txt")}}), "hello from the sandbox")
}

// TestProxyE2EHeldWarrantReloaded: the held warrant's file is re-read when
// it changes; a new warrant that verifies replaces the old, one that does
// not is refused with the reason logged and the old one stays in force.
func TestProxyE2EHeldWarrantReloaded(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	p := w.proxy(t, "--warrant", w.warrantFile, "--key", w.keyFile, "--log-level", "info")
	if names := listNames(t, p); len(names) != 2 {
		t.Fatalf("before: %v", names)
	}
	// A narrower warrant: read_file only.
	narrow, err := authz.Mint(w.root, authz.Grant{Holder: w.agent.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.warrantFile, []byte(authz.Stack{narrow}.Base64()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new warrant to be in force", func() bool {
		names := listNames(t, p)
		return len(names) == 1 && names[0] == "read_file"
	})
	// The line may reach this test's copy of stderr a moment after the
	// warrant is in force.
	waitFor(t, 5*time.Second, "the reload line in the log", func() bool {
		return strings.Contains(p.stderr.String(), "held warrant reloaded")
	})
	// A warrant from an untrusted root is refused; read_file stays.
	stranger := newKey(t)
	bad, err := authz.Mint(stranger, authz.Grant{Holder: w.agent.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"list_dir": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(w.warrantFile, []byte(authz.Stack{bad}.Base64()+"\n"), 0o644)
	waitFor(t, 10*time.Second, "the refusal to be logged", func() bool {
		return strings.Contains(p.stderr.String(), "held warrant not reloaded")
	})
	if names := listNames(t, p); len(names) != 1 || names[0] != "read_file" {
		t.Fatalf("after a bad warrant: %v", names)
	}
	wantText(t, p.request("tools/call", map[string]any{"name": "read_file",
		"arguments": map[string]any{"path": w.path("hello.txt")}}), "hello from the sandbox")
}

// TestProxyE2EHeldWarrantLifetime: a held warrant near its end is warned
// about once, and its expiry is said clearly.
func TestProxyE2EHeldWarrantLifetime(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	// Issued 1010 s ago for 1000 s: it expired 10 s ago and is refused 20 s
	// from now (the default clock tolerance is 30 s), within a tenth of its
	// life (100 s), however slowly the proxy starts on a loaded machine.
	short, err := authz.Mint(w.root, authz.Grant{Holder: w.agent.Public(), TTL: 1000 * time.Second,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now().Add(-1010*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(w.warrantFile, []byte(authz.Stack{short}.Base64()+"\n"), 0o644)
	p := w.proxy(t, "--warrant", w.warrantFile, "--key", w.keyFile, "--log-level", "info")
	waitFor(t, 10*time.Second, "the expiry warning", func() bool {
		return strings.Contains(p.stderr.String(), "the held warrant expires soon")
	})
	waitFor(t, 40*time.Second, "the expiry line", func() bool {
		return strings.Contains(p.stderr.String(), "the held warrant has expired")
	})
	if n := strings.Count(p.stderr.String(), "the held warrant expires soon"); n != 1 {
		t.Fatalf("warned %d times", n)
	}
	if names := listNames(t, p); len(names) != 0 {
		t.Fatalf("an expired held warrant lists %v", names)
	}
}

// TestProxyE2ESignals: SIGTERM answers the call in flight, then the proxy
// exits 0 without an error line; SIGHUP reopens the audit log.
func TestProxyE2ESignals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	audit := filepath.Join(dir, "audit.jsonl")
	p := testServerProxy(t, "--audit-log", audit)
	// SIGHUP after the log was moved away: the next line goes to a new file.
	if err := os.Rename(audit, audit+".1"); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, "the audit log to be reopened", func() bool {
		_, err := os.Stat(audit)
		return err == nil
	})
	p.request("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"text": "after rotation"}})
	if b, _ := os.ReadFile(audit); !strings.Contains(string(b), `"decision":"allow"`) {
		t.Fatalf("the reopened audit log holds %q", b)
	}

	p.send(7, "tools/call", map[string]any{"name": "sleep", "arguments": map[string]any{"ms": 700}})
	waitFor(t, 10*time.Second, "the sleep call to reach the server", func() bool {
		b, _ := os.ReadFile(audit)
		return strings.Count(string(b), `"decision":"allow"`) >= 2
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	r := p.await("7")
	if r.Error != nil {
		t.Fatalf("the call in flight at SIGTERM was answered %s", r.Raw)
	}
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.stderr.String())
	}
	if s := p.stderr.String(); strings.Contains(s, "context canceled") || strings.Contains(s, "error:") {
		t.Fatalf("stderr after SIGTERM:\n%s", s)
	}
}

// TestProxyE2EDenyAsResultCarriesCode: --deny-as result puts Tenuo's code
// and name in the result's _meta.tenuo.
func TestProxyE2EDenyAsResultCarriesCode(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	p := w.proxy(t, "--warrant", w.warrantFile, "--key", w.keyFile, "--deny-as", "result")
	r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": map[string]any{"path": "/etc/passwd"}})
	var res struct {
		IsError bool `json:"isError"`
		Meta    struct {
			Tenuo struct {
				Code  int    `json:"code"`
				Error string `json:"error"`
			} `json:"tenuo"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil || !res.IsError ||
		res.Meta.Tenuo.Code != int(authz.CodeConstraintViolation) || res.Meta.Tenuo.Error != "constraint-violation" {
		t.Fatalf("denied call answered %s (%v)", r.Raw, err)
	}
	if strings.Contains(r.Raw, "/etc/passwd") {
		t.Fatalf("the denial repeats the argument's value: %s", r.Raw)
	}
}

// TestProxyE2EUnknownArgumentHint: a call refused for an argument the warrant
// does not name says how to allow it (issue 12).
func TestProxyE2EUnknownArgumentHint(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	p := w.proxy(t, "--warrant", w.warrantFile, "--key", w.keyFile)
	r := p.request("tools/call", map[string]any{"name": "read_file", "arguments": map[string]any{"path": w.path("hello.txt"), "head": 3}})
	wantDenied(t, r, rpcAccessDenied, int(authz.CodeConstraintViolation))
	if !strings.Contains(r.Raw, `\"head\"`) || !strings.Contains(r.Raw, "tool map") || !strings.Contains(r.Raw, "allow them") {
		t.Fatalf("the denial does not say how to allow the argument: %s", r.Raw)
	}
}
