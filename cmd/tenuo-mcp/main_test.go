package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// binPath is the tenuo-mcp binary built once for the tests that run it as a
// real subprocess.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tenuo-mcp-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "tenuo-mcp")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		panic("building tenuo-mcp: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// runner runs the command line one way: in-process or as the built binary.
type runner struct {
	name string
	run  func(t *testing.T, dir, stdin string, args ...string) cliResult
}

var runners = []runner{
	{"in-process", func(t *testing.T, dir, stdin string, args ...string) cliResult {
		t.Helper()
		var out, errb bytes.Buffer
		wd, _ := os.Getwd()
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
		code := run(args, strings.NewReader(stdin), &out, &errb)
		return cliResult{out.String(), errb.String(), code}
	}},
	{"binary", func(t *testing.T, dir, stdin string, args ...string) cliResult {
		t.Helper()
		cmd := exec.Command(binPath, args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return cliResult{out.String(), errb.String(), code}
	}},
}

// world is a directory with a root key, an agent key, a sub-agent key, a
// warrant for the agent and a delegated stack for the sub-agent.
type world struct {
	dir                          string
	rootPub, agentPub, subPub    string
	warrant, stack               string
	rootSeed, agentSeed, subSeed string   // the key files' text (PKCS#8 PEM)
	secrets                      []string // every spelling of the three seeds
}

// leaks reports whether out holds any spelling of the world's secret keys.
func (w *world) leaks(out string) bool {
	for _, s := range w.secrets {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}

func must(t *testing.T, r cliResult, code int, what string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", what, r.code, code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func newWorld(t *testing.T, rn runner) *world {
	t.Helper()
	w := &world{dir: t.TempDir()}
	w.rootPub = must(t, rn.run(t, w.dir, "", "keygen", "--out", "root.key"), 0, "keygen root")
	w.agentPub = must(t, rn.run(t, w.dir, "", "keygen", "--out", "agent.key"), 0, "keygen agent")
	w.subPub = must(t, rn.run(t, w.dir, "", "keygen", "--out", "sub.key", "--pem"), 0, "keygen sub")
	for _, k := range []struct {
		file string
		dst  *string
	}{{"root.key", &w.rootSeed}, {"agent.key", &w.agentSeed}, {"sub.key", &w.subSeed}} {
		b, err := os.ReadFile(filepath.Join(w.dir, k.file))
		if err != nil {
			t.Fatal(err)
		}
		*k.dst = strings.TrimSpace(string(b))
		sk, err := authz.ParseSigningKey(b)
		if err != nil {
			t.Fatalf("%s: %v", k.file, err)
		}
		w.secrets = append(w.secrets, secretSpellings(sk.Seed(), b)...)
		st, _ := os.Stat(filepath.Join(w.dir, k.file))
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", k.file, st.Mode().Perm())
		}
	}
	w.warrant = must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub,
		"--tool", "read_file", "-c", "read_file.path=pattern:/data/*",
		"--tool", "search", "-c", "search.query=wildcard", "-c", "search.limit=range:1..50",
		"--ttl", "1h"), 0, "mint")
	if err := os.WriteFile(filepath.Join(w.dir, "agent.warrant"), []byte(w.warrant+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.stack = must(t, rn.run(t, w.dir, "", "attenuate", "agent.warrant", "--key", "agent.key", "--holder", w.subPub,
		"--tool", "read_file", "-c", "read_file.path=pattern:/data/reports/*", "--ttl", "10m"), 0, "attenuate")
	return w
}

func (w *world) sign(t *testing.T, rn runner, key, warrant, tool, args string, extra ...string) string {
	t.Helper()
	a := append([]string{"sign", "--key", key, "--warrant", warrant, "--tool", tool, "--args", args}, extra...)
	return must(t, rn.run(t, w.dir, "", a...), 0, "sign")
}

func TestRoundTripAndDenials(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			verify := func(warrant, tool, args, sig string, extra ...string) cliResult {
				a := append([]string{"verify", "--warrant", warrant, "--tool", tool, "--args", args,
					"--signature", sig, "--trusted-root", w.rootPub, "--json"}, extra...)
				return rn.run(t, w.dir, "", a...)
			}
			okArgs := `{"path":"/data/reports/q3.pdf"}`
			subSig := w.sign(t, rn, "sub.key", w.stack, "read_file", okArgs)
			r := verify(w.stack, "read_file", okArgs, subSig)
			rep := decodeReport(t, must(t, r, 0, "verify allow"))
			if rep.Decision != "allow" || len(rep.Checks) != 9 {
				t.Fatalf("report: %+v", rep)
			}
			for name, c := range rep.Checks {
				if !c.OK {
					t.Fatalf("check %s failed on an allowed call: %+v", name, c)
				}
			}

			type denial struct {
				name                     string
				warrant, tool, args, sig string
				extra                    []string
				failed                   []string // checks that must fail
				code                     int
			}
			agentSig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", `{"path":"/data/x"}`)
			denials := []denial{
				{"tool not granted", w.stack, "search", `{"query":"q","limit":1}`, w.sign(t, rn, "sub.key", w.stack, "search", `{"query":"q","limit":1}`), nil, []string{"tool"}, 1500},
				{"constraint", w.stack, "read_file", `{"path":"/data/other"}`, w.sign(t, rn, "sub.key", w.stack, "read_file", `{"path":"/data/other"}`), nil, []string{"constraints"}, 1501},
				{"pop over other args", w.stack, "read_file", `{"path":"/data/reports/other"}`, subSig, nil, []string{"pop"}, 1600},
				{"pop by the wrong key", w.stack, "read_file", okArgs, w.sign(t, rn, "agent.key", "agent.warrant", "read_file", okArgs), nil, []string{"pop"}, 1600},
				{"expired and stale", w.stack, "read_file", okArgs, subSig, []string{"--at", itoa(time.Now().Add(3 * time.Hour).Unix())}, []string{"chain", "pop"}, 1300},
				{"untrusted root", "agent.warrant", "read_file", `{"path":"/data/x"}`, agentSig, []string{"--trusted-root", w.subPub}, nil, 0},
				{"every check at once", w.stack, "delete", `{"x":1}`, subSig, nil, []string{"tool", "pop"}, 1500},
			}
			for _, d := range denials {
				t.Run(d.name, func(t *testing.T) {
					a := []string{"verify", "--warrant", d.warrant, "--tool", d.tool, "--args", d.args, "--signature", d.sig, "--json"}
					if d.name != "untrusted root" {
						a = append(a, "--trusted-root", w.rootPub)
					}
					a = append(a, d.extra...)
					rep := decodeReport(t, must(t, rn.run(t, w.dir, "", a...), 1, "verify deny"))
					if rep.Decision != "deny" || rep.Message == "" || rep.WarrantID == "" {
						t.Fatalf("report: %+v", rep)
					}
					if d.code != 0 && rep.Code != d.code {
						t.Fatalf("code %d, want %d (%s)", rep.Code, d.code, rep.Message)
					}
					if d.name == "untrusted root" && (rep.Checks["chain"].OK || rep.Checks["chain"].Code != 1406) {
						t.Fatalf("chain check: %+v", rep.Checks["chain"])
					}
					for _, f := range d.failed {
						if rep.Checks[f].OK || rep.Checks[f].Error == "" {
							t.Fatalf("check %s should fail with a reason: %+v", f, rep.Checks)
						}
					}
				})
			}

			// The human-readable form names the failing checks.
			out := rn.run(t, w.dir, "", "verify", "--warrant", w.stack, "--tool", "read_file", "--args", `{"path":"/etc/passwd"}`,
				"--signature", subSig, "--trusted-root", w.rootPub)
			if out.code != 1 || !strings.Contains(out.stdout, "FAIL constraints") || !strings.Contains(out.stdout, "FAIL pop") ||
				!strings.Contains(out.stdout, "decision: deny") {
				t.Fatalf("text report:\n%s", out.stdout)
			}

			// Secrets never appear in any output.
			for _, r := range []cliResult{r, out} {
				if w.leaks(r.stdout + r.stderr) {
					t.Fatal("a secret key appeared in the output")
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", `{"path":"/data/x"}`)
			os.WriteFile(filepath.Join(w.dir, "short.key"), []byte("abcd\n"), 0o600)
			os.WriteFile(filepath.Join(w.dir, "nul.json"), []byte(`{"path":"/data/a\u0000b"}`), 0o644)
			os.WriteFile(filepath.Join(w.dir, "rawnul.json"), []byte("{\"path\":\"/data/\x00x\"}"), 0o644)
			cases := []struct {
				name string
				args []string
				want string // in stderr
			}{
				{"malformed base64 warrant", []string{"verify", "--warrant", "@@not-base64@@", "--tool", "read_file", "--signature", sig, "--trusted-root", w.rootPub}, "base64"},
				{"wrong key length", []string{"mint", "--key", "short.key", "--holder", w.agentPub, "--tool", "t"}, "--key"},
				{"unreadable key file", []string{"sign", "--key", "missing.key", "--warrant", "agent.warrant", "--tool", "t"}, "missing.key"},
				{"invalid JSON args", []string{"sign", "--key", "agent.key", "--warrant", "agent.warrant", "--tool", "t", "--args", `{"a":`}, "--args"},
				{"duplicate keys in args", []string{"verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", `{"a":1,"a":2}`, "--signature", sig, "--trusted-root", w.rootPub}, "--args"},
				{"raw NUL in args file", []string{"sign", "--key", "agent.key", "--warrant", "agent.warrant", "--tool", "t", "--args", "@rawnul.json"}, "control character"},
				{"unreadable args file", []string{"sign", "--key", "agent.key", "--warrant", "agent.warrant", "--tool", "t", "--args", "@nope.json"}, "nope.json"},
				{"bad public key", []string{"mint", "--key", "root.key", "--holder", "zz", "--tool", "t"}, "--holder"},
				{"bad signature encoding", []string{"verify", "--warrant", "agent.warrant", "--tool", "read_file", "--signature", "%%%", "--trusted-root", w.rootPub}, "--signature"},
				{"bad constraint spec", []string{"mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "t", "-c", "t.a=bogus:1"}, "bogus"},
				{"constraint for an ungranted tool", []string{"mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "t", "-c", "u.a=exact:1"}, "u.a"},
				{"keygen refuses overwrite", []string{"keygen", "--out", "root.key"}, "already exists"},
				{"bad ttl", []string{"mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "t", "--ttl", "soon"}, "--ttl"},
				{"unknown flag", []string{"mint", "--bogus"}, "bogus"},
				{"sign with a key that is not the holder's", []string{"sign", "--key", "root.key", "--warrant", "agent.warrant", "--tool", "read_file", "--args", `{"path":"/data/x"}`}, "holder"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := rn.run(t, w.dir, "", c.args...)
					if r.code != 2 {
						t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
					}
					if !strings.Contains(r.stderr, "tenuo-mcp: error:") || !strings.Contains(r.stderr, c.want) {
						t.Fatalf("stderr does not explain (%q):\n%s", c.want, r.stderr)
					}
					if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
						t.Fatalf("stack trace on bad input:\n%s", r.stderr)
					}
					if w.leaks(r.stdout + r.stderr) {
						t.Fatal("a secret appeared in the output")
					}
				})
			}
			// An escaped NUL in the arguments is carried by an @file and signed.
			nulSig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", "@nul.json")
			r := rn.run(t, w.dir, "", "verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", "@nul.json",
				"--signature", nulSig, "--trusted-root", w.rootPub)
			must(t, r, 0, "verify with NUL in args")
		})
	}
}

func TestStdinEnvKeyInspectAndEnvelope(t *testing.T) {
	rn := runners[0]
	w := newWorld(t, rn)
	t.Setenv("TEST_AGENT_KEY", w.agentSeed)
	env := rn.run(t, w.dir, "", "sign", "--key", "env:TEST_AGENT_KEY", "--warrant", "agent.warrant", "--tool", "read_file",
		"--args", `{"path":"/data/x"}`, "--envelope")
	var e struct {
		Tenuo struct{ Warrant, Signature string } `json:"tenuo"`
	}
	if err := json.Unmarshal([]byte(must(t, env, 0, "sign --envelope")), &e); err != nil || e.Tenuo.Warrant == "" || len(e.Tenuo.Signature) != 86 {
		t.Fatalf("envelope: %v %+v", err, e)
	}
	var js struct {
		B64    string `json:"signature_b64"`
		Hex    string `json:"signature_hex"`
		Window int64  `json:"window"`
	}
	r := rn.run(t, w.dir, w.warrant, "sign", "--key", "agent.key", "--warrant", "-", "--tool", "read_file", "--args", `{"path":"/data/x"}`, "--json", "--at", "1800000015")
	if err := json.Unmarshal([]byte(must(t, r, 0, "sign --json")), &js); err != nil || len(js.Hex) != 128 || js.Window != 1800000000 {
		t.Fatalf("sign --json: %v %+v", err, js)
	}
	ins := rn.run(t, w.dir, w.stack, "inspect", "-", "--json")
	var doc struct {
		Warrants []map[string]any `json:"warrants"`
	}
	if err := json.Unmarshal([]byte(must(t, ins, 0, "inspect --json")), &doc); err != nil || len(doc.Warrants) != 2 {
		t.Fatalf("inspect: %v %s", err, ins.stdout)
	}
	if doc.Warrants[1]["depth"].(float64) != 1 || doc.Warrants[1]["parent_hash"] == nil {
		t.Fatalf("child: %v", doc.Warrants[1])
	}
	text := must(t, rn.run(t, w.dir, "", "inspect", w.stack), 0, "inspect")
	for _, want := range []string{"warrant 2 of 2 (delegated)", `Pattern("/data/reports/*")`, "valid for", "parent:"} {
		if !strings.Contains(text, want) {
			t.Fatalf("inspect output lacks %q:\n%s", want, text)
		}
	}
	help := rn.run(t, w.dir, "", "mint", "--help")
	if help.code != 0 || !strings.Contains(help.stdout, "Examples:") {
		t.Fatalf("help: %s", help.stdout)
	}
}

type report struct {
	Decision string `json:"decision"`
	Checks   map[string]struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Code  int    `json:"code"`
	} `json:"checks"`
	WarrantID string `json:"warrant_id"`
	Code      int    `json:"code"`
	Message   string `json:"message"`
}

func decodeReport(t *testing.T, s string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, s)
	}
	return r
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
