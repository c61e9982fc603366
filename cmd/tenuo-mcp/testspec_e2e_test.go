package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest/spec"
)

// runBin runs the built binary in dir and returns its output and exit code.
func runBin(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestTestCommandExamples runs the example specs for the reference servers
// as a user would in CI, with the server command after --, and reads the
// JUnit report back.
func TestTestCommandExamples(t *testing.T) {
	t.Parallel()
	npm := npmpeers.Dir(t)
	examples, err := filepath.Abs("../../examples/specs")
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range []struct {
		spec   string
		server []string
		cases  int
	}{
		{"everything.yaml", []string{"node", filepath.Join(npm, "node_modules/@modelcontextprotocol/server-everything/dist/index.js")}, 9},
		{"filesystem.yaml", []string{"node", filepath.Join(npm, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"), filepath.Join(examples, "sandbox")}, 8},
	} {
		t.Run(ex.spec, func(t *testing.T) {
			t.Parallel()
			junit := filepath.Join(t.TempDir(), "report.xml")
			args := append([]string{"test", filepath.Join(examples, ex.spec), "--junit", junit, "--"}, ex.server...)
			out, errOut, code := runBin(t, t.TempDir(), args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			b, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var j spec.JUnit
			if err := xml.Unmarshal(b, &j); err != nil {
				t.Fatal(err)
			}
			if j.Tests != ex.cases || j.Failures != 0 {
				t.Fatalf("junit: %d tests, %d failures\n%s", j.Tests, j.Failures, b)
			}
		})
	}
}

const echoSpec = `server:
  command: [%SERVER%]
keys: [root, agent]
warrants:
  echoer:
    issuer: root
    holder: agent
    tools:
      echo: {text: "pattern:hello*"}
cases:
  - name: hello
    call: echo
    args: {text: hello you}
    warrant: echoer
    expect: allow
    text_contains: hello you
  - name: bye
    call: echo
    args: {text: bye}
    warrant: echoer
    expect: deny
    code: constraint-violation
`

// TestTestCommand: the -c SPEC syntax in a spec, exit 0 when every case
// passes and 1 when one fails (saying what was wanted), 2 with file:line
// for a spec that cannot be run, --json and --run.
func TestTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	specText := strings.Replace(echoSpec, "%SERVER%", `"`+helperBinary(t, "echoserver")+`"`, 1)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", specText)
	if out, errOut, code := runBin(t, dir, "test", good); code != 0 || !strings.Contains(out, "2 passed, 0 failed") {
		t.Fatalf("good spec: exit %d\n%s\n%s", code, out, errOut)
	}

	bad := write("bad.yaml", specText+"  - name: wrong\n    call: echo\n    args: {text: hello}\n    warrant: echoer\n    expect: deny\n    code: tool-not-authorized\n")
	out, _, code := runBin(t, dir, "test", bad)
	if code != 1 || !strings.Contains(out, "FAIL wrong") || !strings.Contains(out, "bad.yaml:23: allowed, want denied tool-not-authorized") {
		t.Fatalf("failing spec: exit %d\n%s", code, out)
	}
	out, _, code = runBin(t, dir, "test", bad, "--json")
	var rep struct {
		Passed, Failed int
		Cases          []struct {
			Name    string
			Passed  bool
			Failure string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.Passed != 2 || rep.Failed != 1 || rep.Cases[2].Passed {
		t.Fatalf("--json: exit %d %v\n%s", code, err, out)
	}
	if out, _, code := runBin(t, dir, "test", bad, "--run", "^(hello|bye)$"); code != 0 || !strings.Contains(out, "2 passed") {
		t.Fatalf("--run: exit %d\n%s", code, out)
	}
	if _, errOut, code := runBin(t, dir, "test", bad, "--run", "nothing"); code != 2 || !strings.Contains(errOut, "selects no case") {
		t.Fatalf("--run matching nothing: exit %d\n%s", code, errOut)
	}

	broken := write("broken.yaml", strings.Replace(specText, `"pattern:hello*"`, `"patern:hello*"`, 1))
	if _, errOut, code := runBin(t, dir, "test", broken); code != 2 || !strings.Contains(errOut, "broken.yaml:9: warrant echoer: echo.text: unknown constraint kind \"patern\"") {
		t.Fatalf("bad constraint: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runBin(t, dir, "test", good, "--", filepath.Join(dir, "no-such-server")); code != 1 || !strings.Contains(errOut, "no-such-server") {
		t.Fatalf("missing server: exit %d\n%s", code, errOut)
	}
}
