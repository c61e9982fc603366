package mcpproxy

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// TestTypeScriptClientThroughProxy drives the proxy with the official
// TypeScript SDK client in front of @modelcontextprotocol/server-everything:
// list (with list_changed), calls, a denied call, progress, sampling, roots,
// resources, prompts, ping, and the child's environment.
func TestTypeScriptClientThroughProxy(t *testing.T) {
	dir := npmpeers.Dir(t)
	relay := binary(t, "relaycmd")
	everything := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
	cmd := exec.Command("node", filepath.Join(dir, "driver.mjs"), "everything", "--",
		relay, "-deny", "get-sum", "--", "node", everything, "stdio")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TENUO_LEAK_CHECK=must-not-reach-the-server")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("driver timed out; stderr:\n%s", stderr.String())
	}
	if err != nil {
		t.Fatalf("driver: %v\nstderr:\n%s", err, stderr.String())
	}
	var got struct {
		Tools          []string
		Echo           string
		Denied         struct{ Code int }
		LongRunning    string
		Progress       int
		Sampling       string
		Roots          string
		Resources      int
		ResourceRead   int
		Prompts        []string
		PromptMessages int
		Env            string
		Ping           bool
		ListChanged    int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("driver output %s: %v", out, err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"get-sum hidden from tools/list", !contains(got.Tools, "get-sum") && contains(got.Tools, "echo")},
		{"capability-dependent tools appear after list_changed", contains(got.Tools, "trigger-sampling-request") && got.ListChanged > 0},
		{"echo", got.Echo == "Echo: hello through the proxy"},
		{"denied call is -32001", got.Denied.Code == CodeAccessDenied},
		{"progress notifications relayed", got.Progress >= 1 && strings.Contains(got.LongRunning, "completed")},
		{"sampling round trip", strings.Contains(got.Sampling, "sampled reply from the driver")},
		{"roots round trip", strings.Contains(got.Roots, "file:///tmp/tenuo-driver-root")},
		{"resources passthrough", got.Resources > 0 && got.ResourceRead > 0},
		{"prompts passthrough", contains(got.Prompts, "simple-prompt") && got.PromptMessages > 0},
		{"ping", got.Ping},
		{"no TENUO_* in the server's environment", got.Env != "" && !strings.Contains(got.Env, "TENUO_")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: failed; driver output %s", c.name, out)
		}
	}
	if strings.Contains(stderr.String(), "relaycmd: ") {
		t.Errorf("relay reported an error:\n%s", stderr.String())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
