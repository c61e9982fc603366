package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// The README's Quick start is checked by running it: every block fenced as
// ```sh between "## Quick start" and the next "## " heading runs, in order,
// in one bash (set -euo pipefail) in a temporary directory, with the built
// binary on PATH as tenuo-mcp. Blocks fenced as ```shell are not run as they
// are (they need the network: go install, npx of the Inspector); the
// Inspector's are checked by TestReadmeInspector.

const readmePath = "../../README.md"

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text from heading to the next heading of its level.
func section(t *testing.T, text, heading string) string {
	t.Helper()
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	level := heading[:strings.IndexByte(heading, ' ')+1]
	rest := text[i+1+len(heading):]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// fenced returns the bodies of the blocks fenced as ```info in text.
func fenced(text, info string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?s)\n```"+regexp.QuoteMeta(info)+"\n(.*?)\n```\n").FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// runQuickStart runs the Quick start in a new directory and returns the
// directory it made (tenuo-quickstart) and the script's output.
func runQuickStart(t *testing.T) (string, string) {
	t.Helper()
	blocks := fenced(section(t, readme(t), "## Quick start"), "sh")
	if len(blocks) < 5 {
		t.Fatalf("the Quick start has %d sh blocks", len(blocks))
	}
	dir := t.TempDir()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+strings.Join(blocks, "\n"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binPath)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the Quick start failed: %v\n%s", err, out)
	}
	return filepath.Join(dir, "tenuo-quickstart"), string(out)
}

func TestReadmeQuickStart(t *testing.T) {
	text := readme(t)
	install := "go install github.com/tenuo-mcp/tenuo-mcp/cmd/tenuo-mcp@latest"
	i := strings.Index(text, install)
	if i < 0 {
		t.Fatalf("README lacks the install line %q", install)
	}
	if j := strings.Index(text, "/usr/local/bin/tenuo-mcp"); j >= 0 && j < i {
		t.Fatal("README names /usr/local/bin/tenuo-mcp before the install line")
	}
	if m := regexp.MustCompile(`>\s*[\w./-]+\.(pub|key)\b`).FindString(text); m != "" {
		t.Fatalf("README redirects a key with the shell: %q (use keygen --pub-out)", m)
	}
	dir, out := runQuickStart(t)
	for _, want := range []string{
		"read_text_file: (other arguments: refused)", // inspect
		"allowed (exit 0)", "denied (exit 1)", "revoked (exit 1)", "needs approval (exit 1)", "approved (exit 0)",
		"FAIL revocation", "1707 approval-required", "You approve this call",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("the Quick start's output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"root.key", "root.pub", "agent.warrant", "sub.stack", "revoked.srl", "writer.warrant", "toolmap.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("the Quick start did not make %s: %v", f, err)
		}
	}
	// The repository's .gitignore keeps keys and the built binary out of git status.
	for _, p := range []string{"tenuo-quickstart/root.key", "agent.key", "tenuo-mcp"} {
		cmd := exec.Command("git", "check-ignore", "-q", "--no-index", p)
		cmd.Dir = "../.."
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s is not ignored by .gitignore: %v", p, err)
		}
	}
}

// TestReadmeInspector starts the proxy as the README's MCP Inspector recipes
// do (the command line after the Inspector's "--", and the --config file's
// command and args), in the Quick start directory, with the pinned
// server-filesystem in place of npx, and lists and calls tools through it;
// the tool map lets read_text_file's optional head through, which the
// warrant alone refuses.
func TestReadmeInspector(t *testing.T) {
	npm := npmpeers.Dir(t)
	server := filepath.Join(npm, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js")
	dir, _ := runQuickStart(t)
	sec := section(t, readme(t), "### MCP Inspector")
	npxServer := []string{"npx", "-y", "@modelcontextprotocol/server-filesystem@2026.8.31"}
	local := func(argv []string) []string {
		var out []string
		for i := 0; i < len(argv); i++ {
			if i+len(npxServer) <= len(argv) && strings.Join(argv[i:i+len(npxServer)], " ") == strings.Join(npxServer, " ") {
				out = append(out, "node", server)
				i += len(npxServer) - 1
				continue
			}
			out = append(out, argv[i])
		}
		if out[0] != "tenuo-mcp" {
			t.Fatalf("the recipe does not start tenuo-mcp: %q", out)
		}
		out[0] = binPath
		// Run in the Quick start directory, as the recipe says.
		return append([]string{"sh", "-c", `cd "$0" && exec "$@"`, dir}, out...)
	}

	var cli []string
	for _, b := range fenced(sec, "shell") {
		if strings.Contains(b, "inspector --cli") {
			line := strings.ReplaceAll(strings.ReplaceAll(b, "\\\n", " "), `"$PWD/data"`, filepath.Join(dir, "data"))
			// inspector --cli COMMAND [inspector options] -- ARGS…: the
			// Inspector runs COMMAND ARGS… (without the --).
			words := strings.Fields(line)
			command := ""
			for i, w := range words {
				if w == "--cli" && i+1 < len(words) {
					command = words[i+1]
				}
				if w == "--" && command != "" {
					cli = append([]string{command}, words[i+1:]...)
					break
				}
			}
		}
	}
	if cli == nil {
		t.Fatal("no Inspector command line with -- in the README")
	}
	var cfg struct {
		MCPServers map[string]struct {
			Command string   `json:"command"`
			Args    []string `json:"args"`
		} `json:"mcpServers"`
	}
	blocks := fenced(sec, "json")
	if len(blocks) != 1 {
		t.Fatalf("%d json blocks in the Inspector section", len(blocks))
	}
	if err := json.Unmarshal([]byte(blocks[0]), &cfg); err != nil {
		t.Fatalf("the Inspector config: %v", err)
	}
	files, ok := cfg.MCPServers["files"]
	if !ok {
		t.Fatal(`the Inspector config has no "files" server`)
	}
	forms := map[string][]string{
		"command line": local(cli),
		"config file":  local(append([]string{files.Command}, files.Args...)),
	}
	q3 := filepath.Join(dir, "data", "reports", "q3.txt")
	for name, argv := range forms {
		t.Run(name, func(t *testing.T) {
			p := startPeer(t, nil, argv...)
			p.initialize()
			names := p.request("tools/list", map[string]any{}).toolNames()
			if strings.Join(names, ",") != "list_directory,read_text_file" {
				t.Fatalf("tools/list through the proxy: %v", names)
			}
			r := p.request("tools/call", map[string]any{"name": "read_text_file", "arguments": map[string]any{"path": q3, "head": 1}})
			wantText(t, r, "Q3 up 12%")
			r = p.request("tools/call", map[string]any{"name": "read_text_file", "arguments": map[string]any{"path": "/etc/passwd"}})
			wantDenied(t, r, rpcAccessDenied, 1501)
		})
	}
	// Without the tool map, the warrant alone refuses the optional argument.
	var noMap []string
	for i := 0; i < len(cli); i++ {
		if cli[i] == "--config" {
			i++
			continue
		}
		noMap = append(noMap, cli[i])
	}
	p := startPeer(t, nil, local(noMap)...)
	p.initialize()
	r := p.request("tools/call", map[string]any{"name": "read_text_file", "arguments": map[string]any{"path": q3, "head": 1}})
	wantDenied(t, r, rpcAccessDenied, 1501)
	if !strings.Contains(r.Raw, `\"head\" is not allowed`) && !strings.Contains(r.Raw, `"head" is not allowed`) {
		t.Fatalf("the denial does not name head: %s", r.Raw)
	}
}

// TestDemoOutput: the demo shows its sandbox's path once and every path
// relative to it, and says why its tool names are not the Quick start's.
func TestDemoOutput(t *testing.T) {
	r := binRunner.run(t, t.TempDir(), "", "demo")
	out := must(t, r, 0, "demo")
	m := regexp.MustCompile(`The sandbox is (\S+);`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo does not name its sandbox:\n%s", out)
	}
	if n := strings.Count(out, m[1]); n != 1 {
		t.Fatalf("the sandbox path %s appears %d times:\n%s", m[1], n, out)
	}
	for _, want := range []string{`{"path":"sandbox/hello.txt"}`, `Subpath("sandbox")`, "read_text_file and list_directory", "server-filesystem"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}
