package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest/spec"
)

// policyBlock returns the YAML block after <!-- policy-tests:NAME --> in
// the README.
func policyBlock(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- policy-tests:" + name + " -->\n```yaml\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatalf("README has no policy-tests:%s block", name)
	}
	return string(m[1])
}

// TestTestCommandREADME runs the README's example spec as a user who copied
// it would, against the pinned server-filesystem, and reads its JUnit
// report; the CI snippet is YAML that runs it and publishes the report.
func TestTestCommandREADME(t *testing.T) {
	t.Parallel()
	npm := npmpeers.Dir(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "data", "hello.txt"), []byte("hello from data"), 0o644)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policyBlock(t, "spec")), 0o644)
	server := filepath.Join(npm, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
	out, errOut, code := runBin(t, dir, "test", "policy.yaml", "--junit", "report.xml", "--", "node", server, filepath.Join(dir, "data"))
	if code != 0 || !strings.Contains(out, "3 passed, 0 failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var j spec.JUnit
	if err := xml.Unmarshal(b, &j); err != nil || j.Tests != 3 || j.Failures != 0 {
		t.Fatalf("junit %+v %v", j, err)
	}

	ci := policyBlock(t, "ci")
	var job map[string]any
	if err := yaml.Unmarshal([]byte(ci), &job); err != nil {
		t.Fatalf("the CI snippet is not YAML: %v", err)
	}
	for _, want := range []string{"tenuo-mcp test policy.yaml", "--junit report.xml", "report_paths: report.xml", "if: always()"} {
		if !strings.Contains(ci, want) {
			t.Errorf("the CI snippet lacks %q", want)
		}
	}
}
