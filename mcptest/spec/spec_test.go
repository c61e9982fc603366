package spec

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

var flipServer string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spec")
	if err != nil {
		panic(err)
	}
	flipServer = filepath.Join(dir, "flipserver")
	if out, err := exec.Command("go", "build", "-o", flipServer, "../../mcpproxy/internal/flipserver").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("building flipserver: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// head is a spec's start: the flip server, two keys, a warrant for echo
// with text starting "hello", and one attenuated to "hello world".
func head(extra ...string) string {
	return fmt.Sprintf(`server:
  command: [%q%s]
keys: [root, agent, sub]
warrants:
  echoer:
    issuer: root
    holder: agent
    tools:
      echo:
        text: {type: pattern, pattern: "hello*"}
  narrow:
    from: echoer
    holder: sub
    tools:
      echo: {text: {type: exact, value: hello world}}
cases:
`, flipServer, strings.Join(extra, ""))
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, text string, opt Options) *Report {
	t.Helper()
	s, err := Load(write(t, text), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), s, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

const passing = `  - name: presented allows hello
    call: echo
    args: {text: hello there}
    warrant: echoer
    expect: allow
    text_contains: [hello, there]
    is_error: false
    json: {content.0.type: text, "$.content[0].text": hello there}
  - name: presented denies bye
    call: echo
    args: {text: bye}
    warrant: echoer
    expect: deny
    code: constraint-violation
  - name: held allows hello
    call: echo
    args: {text: hello}
    warrant: echoer
    held: true
    expect: allow
  - name: held denies flip
    call: flip
    warrant: echoer
    held: true
    expect: deny
    code: 1500
  - name: delegated narrows
    call: echo
    args: {text: hello there}
    warrant: narrow
    expect: deny
    code: constraint-violation
  - name: delegated allows its value
    call: echo
    args: {text: hello world}
    warrant: narrow
    expect: allow
  - name: no warrant
    call: echo
    args: {text: hello}
    expect: deny
`

// TestPassingSpec: every kind of case passes against the real server.
func TestPassingSpec(t *testing.T) {
	rep := run(t, head()+passing, Options{})
	if rep.Failed() != 0 || len(rep.Cases) != 7 {
		var b bytes.Buffer
		rep.WriteText(&b)
		t.Fatalf("report:\n%s", b.String())
	}
}

// TestFailingSpec: a wrong expectation of each kind fails with a message
// that says what was wanted and what came, and the case's line.
func TestFailingSpec(t *testing.T) {
	text := head() + `  - name: wrong text
    call: echo
    args: {text: hello}
    warrant: echoer
    expect: allow
    text_contains: goodbye
  - name: wrong json
    call: echo
    args: {text: hello}
    warrant: echoer
    expect: allow
    json: {content.0.text: bonjour}
  - name: wrong code
    call: flip
    warrant: echoer
    expect: deny
    code: constraint-violation
  - name: allowed but expected deny
    call: echo
    args: {text: hello}
    warrant: echoer
    expect: deny
  - name: denied but expected allow
    call: echo
    args: {text: bye}
    warrant: echoer
    expect: allow
`
	rep := run(t, text, Options{})
	want := map[string][]string{
		"wrong text":                {`text does not contain "goodbye"`, "text: hello"},
		"wrong json":                {"json content.0.text:", `want: "bonjour"`, `got:  "hello"`},
		"wrong code":                {"denied as tool-not-authorized (1500), want constraint-violation"},
		"allowed but expected deny": {"allowed, want denied", "result: hello"},
		"denied but expected allow": {"denied, want allowed", "constraint-violation (1501)"},
	}
	if len(rep.Cases) != len(want) {
		t.Fatalf("%d cases", len(rep.Cases))
	}
	for _, c := range rep.Cases {
		if c.Passed {
			t.Errorf("%s passed", c.Name)
			continue
		}
		for _, w := range want[c.Name] {
			if !strings.Contains(c.Failure, w) {
				t.Errorf("%s: failure %q lacks %q", c.Name, c.Failure, w)
			}
		}
	}
	var b bytes.Buffer
	rep.WriteText(&b)
	if !regexp.MustCompile(`spec\.yaml:\d+: allowed, but the result differs`).MatchString(b.String()) || !strings.Contains(b.String(), "0 passed, 5 failed") {
		t.Errorf("text report:\n%s", b.String())
	}
}

// TestRunSelects: --run keeps the matching cases only.
func TestRunSelects(t *testing.T) {
	rep := run(t, head()+passing, Options{Run: regexp.MustCompile("^held")})
	if len(rep.Cases) != 2 || rep.Failed() != 0 {
		t.Fatalf("cases: %+v", rep.Cases)
	}
}

// TestJUnit: the JUnit XML reads back with the counts, names, lines and
// failure messages of the run.
func TestJUnit(t *testing.T) {
	rep := run(t, head()+passing+`  - name: wrong
    call: echo
    args: {text: hello}
    warrant: echoer
    expect: deny
`, Options{})
	var b bytes.Buffer
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var j JUnit
	if err := xml.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if j.Tests != 8 || j.Failures != 1 || len(j.Suites) != 1 || len(j.Suites[0].Cases) != 8 {
		t.Fatalf("junit: %+v", j)
	}
	last := j.Suites[0].Cases[7]
	if last.Name != "wrong" || last.Failure == nil || !strings.Contains(last.Failure.Message, "allowed, want denied") || last.Line == 0 {
		t.Fatalf("failed case: %+v", last)
	}
	if j.Suites[0].Cases[0].Failure != nil {
		t.Fatalf("a passing case has a failure: %+v", j.Suites[0].Cases[0])
	}
	var js map[string]any
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil || json.Unmarshal(b.Bytes(), &js) != nil || js["failed"] != 1.0 || js["passed"] != 7.0 {
		t.Fatalf("json report: %v %s", err, b.String())
	}
}

// TestSpecErrors: a spec that cannot be run is an *Error with its line.
func TestSpecErrors(t *testing.T) {
	ok := "  - name: a\n    call: echo\n    expect: allow\n"
	cases := []struct {
		text string
		line int
		msg  string
	}{
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    expect: maybe\n", 5, "expect must be allow or deny"},
		{"server: {command: [x]}\nkeys: [root]\nbogus: 1\ncases: []\n", 3, `unknown key "bogus"`},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    warrant: nope\n    expect: allow\n", 5, `warrant "nope" is not declared`},
		{"server: {command: [x]}\nkeys: [root]\nwarrants:\n  w:\n    issuer: root\n    holder: agent\n    tools: {echo: {}}\ncases:\n" + ok, 6, `holder "agent" is not a key`},
		{"server: {command: [x]}\nkeys: [root, a]\nwarrants:\n  w:\n    issuer: root\n    holder: a\n    tools:\n      echo:\n        text: {type: rangey}\ncases:\n" + ok, 9, "echo.text"},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    expect: allow\n    code: 1501\n", 6, "code goes with expect: deny"},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    expect: deny\n    code: no-such-thing\n", 6, "not one of Tenuo's error names"},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    expect: allow\n  - name: a\n    call: echo\n    expect: allow\n", 6, `case "a" is declared twice`},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: [echo\n", 3, "did not find expected"},
		{"cases:\n" + ok, 1, `"server" is required`},
		{"server: {command: [x]}\ncases:\n  - name: a\n    call: echo\n    expect: allow\n    json: {\"a..b\": 1}\n", 6, "empty path segment"},
	}
	for _, c := range cases {
		p := write(t, c.text)
		_, err := Load(p, nil)
		var se *Error
		if !errors.As(err, &se) {
			t.Errorf("%q: %v, want an *Error", c.text, err)
			continue
		}
		if se.Line != c.line || !strings.Contains(se.Msg, c.msg) || !strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d: ", p, c.line)) {
			t.Errorf("%q: %v, want line %d and %q", c.text, err, c.line, c.msg)
		}
	}
}

// TestSnapshotDrift: the lock is written on the first run; a server that
// adds a tool, removes one or changes one field of a schema fails the next
// run naming the tool and the field; --update-snapshot accepts it.
func TestSnapshotDrift(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "tools.lock")
	one := "  - name: hello\n    call: echo\n    args: {text: hello}\n    warrant: echoer\n    expect: allow\n"
	rep := run(t, head()+one, Options{Snapshot: lock})
	if s := rep.Snapshot; s == nil || !s.Written || s.Tools != 2 || rep.Failed() != 0 {
		t.Fatalf("first run: %+v", rep.Snapshot)
	}
	if rep := run(t, head()+one, Options{Snapshot: lock}); rep.Failed() != 0 || rep.Snapshot.Written {
		t.Fatalf("same server: %+v", rep.Snapshot)
	}
	drift := []struct {
		flags []string
		want  []string
	}{
		{[]string{"-flipped", "-schema"}, []string{`tool "echo" changed: inputSchema.properties.cc: added`}},
		{[]string{"-flipped", "-add"}, []string{`tool "echo" changed: description: "Echoes its text." → "Echoes its text. Also`, `tool "extra" added`}},
	}
	for _, d := range drift {
		var extra []string
		for _, f := range d.flags {
			extra = append(extra, fmt.Sprintf(", %q", f))
		}
		rep := run(t, head(extra...)+one, Options{Snapshot: lock})
		s := rep.Snapshot
		if s.Passed || rep.Failed() != 1 {
			t.Fatalf("%v: snapshot passed", d.flags)
		}
		for _, w := range d.want {
			if !strings.Contains(s.Failure, w) {
				t.Errorf("%v: failure %q lacks %q", d.flags, s.Failure, w)
			}
		}
	}
	// Accept the server with an extra tool, then go back: extra is removed.
	if rep := run(t, head(`, "-flipped", "-add"`)+one, Options{Snapshot: lock, UpdateSnapshot: true}); !rep.Snapshot.Written {
		t.Fatal("--update-snapshot did not write")
	}
	l, err := toolpin.Load(lock)
	if err != nil || len(l.Tools) != 3 {
		t.Fatalf("updated lock: %v %v", l, err)
	}
	rep = run(t, head()+one, Options{Snapshot: lock})
	if s := rep.Snapshot; s.Passed || !strings.Contains(s.Failure, `tool "extra" removed`) {
		t.Fatalf("removed tool: %+v", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(head() + passing))
	f.Add([]byte("server: {command: [x]}\ncases:\n  - {name: a, call: b, expect: allow, json: {x: [1, {y: 2}]}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "fuzz.yaml", nil)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(s.Cases) == 0 {
			t.Fatal("a spec without cases parsed")
		}
	})
}
