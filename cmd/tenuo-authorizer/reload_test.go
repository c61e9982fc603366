package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// binPath is tenuo-authorizer built once (TestMain) for the tests that run
// it as a real subprocess.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tenuo-authorizer-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "tenuo-authorizer")
	helm.dir = dir // where helmBinary builds Helm, when it does
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building tenuo-authorizer: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is the built binary running until the test ends.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addrs  map[string]string
}

// startBin runs the binary with args and waits for its want servers'
// "listening" log lines, which give their addresses.
func startBin(t *testing.T, want int, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath, args...), stderr: &syncBuffer{}, addrs: map[string]string{}}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit after SIGTERM: %v\n%s", err, p.stderr)
			}
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			t.Errorf("no exit 15 s after SIGTERM\n%s", p.stderr)
		}
	})
	found := make(chan map[string]string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		addrs := map[string]string{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.stderr, line)
			var rec struct{ Msg, Server, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addrs[rec.Server] = rec.Addr
				if len(addrs) == want {
					found <- addrs
				}
			}
		}
	}()
	select {
	case p.addrs = <-found:
	case <-time.After(20 * time.Second):
		t.Fatalf("not listening after 20 s:\n%s", p.stderr)
	}
	return p
}

// writeAtomic replaces path's contents in one rename, as a deploy tool
// (or a Kubernetes ConfigMap) does.
func writeAtomic(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s\n%s", what, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHotReload runs the real binary, both commands, and changes the
// route's tool, the configuration (broken, then fixed), a trusted-root
// file and the revocation list under it, seeing each decision change
// without a restart: by the watcher noticing the file, or on SIGHUP with a
// watcher that would not look for an hour.
func TestHotReload(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		sighup        bool
	}{
		{"sidecar: file change", "sidecar", false},
		{"sidecar: SIGHUP", "sidecar", true},
		{"ext-authz: file change", "ext-authz", false},
		{"ext-authz: SIGHUP", "ext-authz", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := gatewaytest.New(t)
			dir := t.TempDir()
			cfg, rootFile, srl := filepath.Join(dir, "gateway.yaml"), filepath.Join(dir, "root.pub"), filepath.Join(dir, "revoked.srl")
			revKey := gatewaytest.Key(t, 9)
			list := func(version uint64, ids ...string) []byte {
				b, err := authz.NewRevocationList(revKey, version, ids, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			writeAtomic(t, cfg, []byte(gatewaytest.ConfigYAML))
			writeAtomic(t, rootFile, []byte(f.Root.Public().Hex()+"\n"))
			writeAtomic(t, srl, list(1))
			interval := "50ms"
			if tc.sighup {
				interval = "1h"
			}
			args := []string{tc.command, "--config", cfg, "--trusted-root", rootFile, "--revocation-list", srl,
				"--revocation-key", revKey.Public().Hex(), "--reload-interval", interval, "--admin", "",
				"--audit-log", filepath.Join(dir, "audit.jsonl")}
			var base string
			var p *proc
			if tc.command == "sidecar" {
				up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				t.Cleanup(up.Close)
				p = startBin(t, 1, append(args, "--listen", "127.0.0.1:0", "--upstream", up.URL)...)
				base = "http://" + p.addrs["sidecar"]
			} else {
				p = startBin(t, 1, append(args, "--grpc", "", "--http", "127.0.0.1:0")...)
				base = "http://" + p.addrs["http"]
			}
			changed := func() {
				if tc.sighup {
					if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
						t.Fatal(err)
					}
				}
			}
			deploy := func(stack func(*gatewaytest.Fixture) authz.Stack, tool string) func() int {
				return func() int {
					c := gatewaytest.Case{Method: "POST", Target: "/deploy/prod", Stack: stack, Tool: tool,
						Fields: map[string]any{"env": "prod"}}
					return send(t, f, base, c).StatusCode
				}
			}
			agent := func(f *gatewaytest.Fixture) authz.Stack { return f.Agents }
			rogue := func(f *gatewaytest.Fixture) authz.Stack { return f.RogueW }
			status := func(get func() int, want int) func() bool { return func() bool { return get() == want } }

			if got := deploy(agent, "deploy")(); got != 200 {
				t.Fatalf("before any change: %d\n%s", got, p.stderr)
			}
			// 1. The route's tool changes to one the warrant does not grant.
			destroy := strings.Replace(gatewaytest.ConfigYAML, "  deploy:\n    constraints:", "  deploy:\n    tool: destroy\n    constraints:", 1)
			writeAtomic(t, cfg, []byte(destroy))
			changed()
			eventually(t, "the new route's tool decides", status(deploy(agent, "destroy"), 403), p.stderr)

			// 2. A broken configuration is refused, said with file:line, and
			// the one in force keeps deciding.
			broken := strings.Replace(destroy, "settings:\n", "settings:\n  debug_mod: true\n", 1)
			writeAtomic(t, cfg, []byte(broken))
			changed()
			eventually(t, "the broken configuration is reported", func() bool {
				return strings.Contains(p.stderr.String(), "gateway.yaml:3") && strings.Contains(p.stderr.String(), "not reloaded")
			}, p.stderr)
			for range 3 {
				if got := deploy(agent, "destroy")(); got != 403 {
					t.Fatalf("after a broken configuration: %d, want the one in force (403)\n%s", got, p.stderr)
				}
			}
			if n := strings.Count(p.stderr.String(), "gateway.yaml:3"); n != 1 && !tc.sighup {
				t.Errorf("the broken configuration reported %d times, want once", n)
			}
			// ... and a fixed one is taken.
			writeAtomic(t, cfg, []byte(gatewaytest.ConfigYAML))
			changed()
			eventually(t, "the fixed configuration decides", status(deploy(agent, "deploy"), 200), p.stderr)

			// 3. The trusted-root file now names another root.
			writeAtomic(t, rootFile, []byte(f.Rogue.Public().Hex()+"\n"))
			changed()
			eventually(t, "the old root is no longer trusted", status(deploy(agent, "deploy"), 403), p.stderr)
			if got := deploy(rogue, "deploy")(); got != 200 {
				t.Fatalf("a warrant of the new root: %d\n%s", got, p.stderr)
			}
			// A root file that is not a key keeps the roots in force.
			writeAtomic(t, rootFile, []byte("not a key\n"))
			changed()
			eventually(t, "the bad root file is reported", func() bool {
				return strings.Contains(p.stderr.String(), "root.pub")
			}, p.stderr)
			if got := deploy(rogue, "deploy")(); got != 200 {
				t.Fatalf("after a bad root file: %d, want the roots in force\n%s", got, p.stderr)
			}
			writeAtomic(t, rootFile, []byte(f.Root.Public().Hex()+"\n"))
			changed()
			eventually(t, "the root is trusted again", status(deploy(agent, "deploy"), 200), p.stderr)

			// 4. The warrant is revoked, after its chain was cached by the
			// authorizer the reloads built.
			writeAtomic(t, srl, list(2, f.Agents.Leaf().ID.String()))
			changed()
			eventually(t, "the revoked warrant is refused", status(deploy(agent, "deploy"), 401), p.stderr)
			if p.cmd.ProcessState != nil {
				t.Fatal("the process restarted or exited")
			}
		})
	}
}

// TestHotReloadKeepsHeldWarrantVerifiable: with a held warrant (--warrant,
// for clients that present none), new trusted roots that do not verify it
// are refused as a whole: the old roots and the held warrant keep
// deciding, and the reason is logged.
func TestHotReloadKeepsHeldWarrantVerifiable(t *testing.T) {
	f := gatewaytest.New(t)
	dir := t.TempDir()
	cfg, rootFile := filepath.Join(dir, "gateway.yaml"), filepath.Join(dir, "root.pub")
	warrant, key := filepath.Join(dir, "held.warrant"), filepath.Join(dir, "agent.key")
	writeAtomic(t, cfg, []byte(gatewaytest.ConfigYAML))
	writeAtomic(t, rootFile, []byte(f.Root.Public().Hex()+"\n"))
	writeAtomic(t, warrant, []byte(f.Agents.Base64()+"\n"))
	if err := os.WriteFile(key, []byte(f.Agent.SeedHex()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer up.Close()
	p := startBin(t, 1, "sidecar", "--config", cfg, "--trusted-root", rootFile, "--warrant", warrant, "--key", key,
		"--reload-interval", "50ms", "--admin", "", "--listen", "127.0.0.1:0", "--upstream", up.URL,
		"--audit-log", filepath.Join(dir, "audit.jsonl"))
	base := "http://" + p.addrs["sidecar"]
	held := gatewaytest.Case{Method: "GET", Target: "/files?path=/data/a"} // no credentials: the held warrant's
	if got := send(t, f, base, held).StatusCode; got != 200 {
		t.Fatalf("with the held warrant: %d\n%s", got, p.stderr)
	}
	writeAtomic(t, rootFile, []byte(f.Rogue.Public().Hex()+"\n"))
	eventually(t, "the roots that do not verify the held warrant are refused", func() bool {
		return strings.Contains(p.stderr.String(), "held warrant does not verify")
	}, p.stderr)
	if got := send(t, f, base, held).StatusCode; got != 200 {
		t.Fatalf("after refused roots, the held warrant: %d\n%s", got, p.stderr)
	}
	rogue := gatewaytest.Case{Method: "GET", Target: "/files?path=/data/a", Tool: "read", Fields: map[string]any{"path": "/data/a"},
		Stack: func(f *gatewaytest.Fixture) authz.Stack { return f.RogueW }}
	if got := send(t, f, base, rogue).StatusCode; got != 403 {
		t.Fatalf("the refused root's warrant: %d, want 403 (not trusted)\n%s", got, p.stderr)
	}
}
