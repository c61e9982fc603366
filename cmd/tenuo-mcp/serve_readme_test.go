package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock returns the shell block that follows the marker
// <!-- remote-agents:NAME --> in the README.
func readmeBlock(t *testing.T, readme, name string) string {
	t.Helper()
	re := regexp.MustCompile("(?s)<!-- remote-agents:" + name + " -->\n```sh\n(.*?)```")
	m := re.FindStringSubmatch(readme)
	if m == nil {
		t.Fatalf("README has no remote-agents:%s block", name)
	}
	return m[1]
}

// TestServeREADMERemoteAgents runs the README's remote-agents example as it
// stands: its setup, its serve command (on a free port instead of 8080) and
// its curl client, and checks what the README says they show.
func TestServeREADMERemoteAgents(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	dir := t.TempDir()
	for name, target := range map[string]string{"tenuo-mcp": binPath, "echoserver": helperBinary(t, "echoserver")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	bash := func(script string) *exec.Cmd {
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		return cmd
	}
	if out, err := bash(readmeBlock(t, readme, "setup")).CombinedOutput(); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}

	listen := startReadmeServe(t, bash, readmeBlock(t, readme, "serve"))
	client := strings.ReplaceAll(readmeBlock(t, readme, "client"), "127.0.0.1:8080", listen)
	out, err := bash(client).CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	for _, want := range []string{`"name":"echo"`, `"text":"hello, remote"`, `"code":-32001`, `constraint-violation`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the client's output lacks %s:\n%s", want, out)
		}
	}
}

// startReadmeServe starts a README serve block (on a free port instead of
// 8080) with bash, stops it when the test ends, and returns its address.
func startReadmeServe(t *testing.T, bash func(string) *exec.Cmd, serveBlock string) string {
	t.Helper()
	if !strings.Contains(serveBlock, "127.0.0.1:8080") {
		t.Fatal("the serve block does not listen on 127.0.0.1:8080")
	}
	srv := bash("exec " + strings.Replace(serveBlock, "127.0.0.1:8080", "127.0.0.1:0", 1))
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	addr := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		br := bufio.NewReader(stderr)
		for {
			line, err := br.ReadString('\n')
			log.Write([]byte(line))
			if rest, ok := strings.CutPrefix(line, "tenuo-mcp: serving MCP on http://"); ok {
				a, _, _ := strings.Cut(rest, "/mcp")
				addr <- a
			}
			if err != nil {
				break
			}
		}
		srv.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			srv.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("serve's stderr:\n%s", log.String())
		}
	})
	select {
	case a := <-addr:
		return a
	case <-exited:
		t.Fatalf("serve exited:\n%s", log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", log.String())
	}
	return ""
}

// TestServeREADMECallers runs the README's callers example: a callers file
// giving alice her own held warrant, serve --callers, and a client speaking
// 2026-07-28 (no session) with alice's token.
func TestServeREADMECallers(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	dir := t.TempDir()
	for name, target := range map[string]string{"tenuo-mcp": binPath, "echoserver": helperBinary(t, "echoserver")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	bash := func(script string) *exec.Cmd {
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		return cmd
	}
	for _, block := range []string{"setup", "callers-setup"} {
		if out, err := bash(readmeBlock(t, readme, block)).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", block, err, out)
		}
	}
	listen := startReadmeServe(t, bash, readmeBlock(t, readme, "callers-serve"))
	client := strings.ReplaceAll(readmeBlock(t, readme, "callers-client"), "127.0.0.1:8080", listen)
	out, err := bash(client).CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	for _, want := range []string{`"name":"echo"`, `"text":"hello, alice"`, `"code":-32001`, `constraint-violation`, `"code":-32020`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the client's output lacks %s:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(strings.TrimRight(string(out), "\n"), "\n401") {
		t.Errorf("an unknown token did not get 401:\n%s", out)
	}
	if strings.Contains(string(out), "Mcp-Session-Id") {
		t.Errorf("a 2026-07-28 answer carries a session:\n%s", out)
	}
}
