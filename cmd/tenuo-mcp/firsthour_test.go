package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Tests of issue 12's command-line items ("a new user's first hour"), each
// through the built binary (runners[1]) and, where it runs in-process too,
// through run().

var binRunner = runners[1]

// contains fails the test unless every want is in got.
func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeygenPubOutAndPubkey: re-running keygen (as a shell does with
// "keygen --out root.key > root.pub") used to lose root.pub; with --pub-out
// nothing is written unless both files can be, and pubkey recovers a key
// file's public key.
func TestKeygenPubOutAndPubkey(t *testing.T) {
	dir := t.TempDir()
	shell := func(script string) cliResult {
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(binPath)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return cliResult{stdout: string(out), code: code}
	}
	pub := must(t, binRunner.run(t, dir, "", "keygen", "--out", "root.key", "--pub-out", "root.pub"), 0, "keygen")
	if got := strings.TrimSpace(readText(t, filepath.Join(dir, "root.pub"))); got != pub || len(pub) != 64 {
		t.Fatalf("root.pub holds %q, keygen printed %q", got, pub)
	}
	if st, _ := os.Stat(filepath.Join(dir, "root.pub")); st.Mode().Perm() != 0o644 {
		t.Fatalf("root.pub mode %v, want 0644 (a public key file is readable by others)", st.Mode().Perm())
	}
	// Run twice: refused, and neither file touched.
	r := shell("tenuo-mcp keygen --out root.key --pub-out root.pub")
	if r.code != 2 || !strings.Contains(r.stdout, "root.key already exists") || !strings.Contains(r.stdout, "tenuo-mcp pubkey root.key") {
		t.Fatalf("second keygen: exit %d\n%s", r.code, r.stdout)
	}
	if got := strings.TrimSpace(readText(t, filepath.Join(dir, "root.pub"))); got != pub {
		t.Fatalf("root.pub changed to %q", got)
	}
	// An existing --pub-out is refused before the key is made.
	r = binRunner.run(t, dir, "", "keygen", "--out", "new.key", "--pub-out", "root.pub")
	if r.code != 2 || !strings.Contains(r.stderr, "root.pub already exists") {
		t.Fatalf("keygen onto an existing --pub-out: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.key")); err == nil {
		t.Fatal("new.key was written although --pub-out was refused")
	}
	// pubkey prints the public key of the key file, of a public key file
	// and of env:VAR; never the secret.
	for _, rn := range runners {
		if got := must(t, rn.run(t, dir, "", "pubkey", "root.key"), 0, "pubkey"); got != pub {
			t.Fatalf("%s: pubkey root.key = %q, want %q", rn.name, got, pub)
		}
	}
	sk, err := authz.ParseSigningKey([]byte(readText(t, filepath.Join(dir, "root.key"))))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "root.pub.pem"), []byte(sk.Public().PEM()), 0o644)
	if got := must(t, binRunner.run(t, dir, "", "pubkey", "root.pub.pem"), 0, "pubkey of a PEM public key"); got != pub {
		t.Fatalf("pubkey root.pub.pem = %q", got)
	}
	r = binRunner.run(t, dir, "", "pubkey", "nope.key")
	if r.code != 2 || !strings.Contains(r.stderr, "no such key file") {
		t.Fatalf("pubkey of a missing file: exit %d\n%s", r.code, r.stderr)
	}
	keyText := readText(t, filepath.Join(dir, "root.key"))
	for _, s := range secretSpellings(sk.Seed(), []byte(keyText)) {
		for _, out := range []string{r.stdout, r.stderr, pub} {
			if strings.Contains(out, s) {
				t.Fatal("a secret appeared in the output")
			}
		}
	}
}

// TestMistakesAreRefused: inverted ranges, a second -c for one argument, a
// TTL without a unit and near misses are refused with a suggestion; an
// attenuate --ttl beyond the parent is capped and says so; each attenuate
// refusal has its own hint.
func TestMistakesAreRefused(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			mint := func(extra ...string) []string {
				return append([]string{"mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "read_file"}, extra...)
			}
			cases := []struct {
				name  string
				args  []string
				wants []string // in stderr
			}{
				{"inverted range", mint("-c", "read_file.limit=range:50..1"), []string{"inverted", "range:1..50"}},
				{"two -c for one argument", mint("-c", "read_file.path=subpath:/data", "-c", "read_file.path=pattern:/data/*"), []string{"both constrain read_file.path", `"type":"all"`}},
				{"bare ttl", mint("--ttl", "8"), []string{`"8" has no unit`, "8s, 8m or 8h"}},
				{"bare path", mint("-c", "read_file.path=/data"), []string{"did you mean `subpath:/data`?"}},
				{"bare glob", mint("-c", "read_file.path=/data/*.txt"), []string{"did you mean `pattern:/data/*.txt`?"}},
				{"misspelt kind", mint("-c", "read_file.path=subpth:/data"), []string{"did you mean `subpath:/data`?"}},
				{"misspelt tool", mint("-c", "read_fil.path=subpath:/data"), []string{`did you mean "read_file.path"?`}},
				{"gate without approver", mint("--approval-gate", "read_file"), []string{"--approval-gate without any --approver"}},
				{"min approvals above approvers", mint("--approver", w.subPub, "--min-approvals", "2"), []string{"--min-approvals must be 1..1"}},
				{"attenuate an ungranted tool", []string{"attenuate", "agent.warrant", "--key", "agent.key", "--holder", w.subPub, "--tool", "read_fil"}, []string{`did you mean "read_file"?`}},
				{"attenuate with another key", []string{"attenuate", "agent.warrant", "--key", "sub.key", "--holder", w.subPub}, []string{"is not the holder", "hint: sign with the key of the parent warrant's holder"}},
			}
			for _, c := range cases {
				r := rn.run(t, w.dir, "", c.args...)
				if r.code != 2 {
					t.Fatalf("%s: exit %d, want 2\nstdout: %s\nstderr: %s", c.name, r.code, r.stdout, r.stderr)
				}
				contains(t, c.name, r.stderr, append([]string{"tenuo-mcp: error:"}, c.wants...)...)
				if strings.Contains(r.stderr, "a child may only narrow") {
					t.Fatalf("%s: the generic narrowing hint:\n%s", c.name, r.stderr)
				}
			}
			// Capped, not refused: the note is on stderr, the stack on stdout.
			r := rn.run(t, w.dir, "", "attenuate", "agent.warrant", "--key", "agent.key", "--holder", w.subPub, "--ttl", "5h")
			stack := must(t, r, 0, "attenuate --ttl 5h")
			contains(t, "attenuate stderr", r.stderr, "--ttl 5h is longer than the parent's remaining life", "capped")
			if _, err := authz.ParsePresented([]byte(stack)); err != nil {
				t.Fatalf("stdout is not the stack: %v\n%s", err, stack)
			}
			if r := rn.run(t, w.dir, "", "attenuate", "agent.warrant", "--key", "agent.key", "--holder", w.subPub, "--ttl", "5m"); r.stderr != "" {
				t.Fatalf("a ttl within the parent's life printed: %s", r.stderr)
			}
			// An expired parent and a terminal one each get their own hint.
			short := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "read_file", "--ttl", "1s"), 0, "mint 1s")
			terminal := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "read_file", "--max-depth", "0"), 0, "mint terminal")
			time.Sleep(2100 * time.Millisecond)
			r = rn.run(t, w.dir, "", "attenuate", short, "--key", "agent.key", "--holder", w.subPub)
			if r.code != 2 {
				t.Fatalf("attenuate of an expired parent: exit %d", r.code)
			}
			contains(t, "expired parent", r.stderr, "expired at", "hint: a child cannot outlive its parent")
			r = rn.run(t, w.dir, "", "attenuate", terminal, "--key", "agent.key", "--holder", w.subPub)
			if r.code != 2 {
				t.Fatalf("attenuate of a terminal parent: exit %d", r.code)
			}
			contains(t, "terminal parent", r.stderr, "cannot be delegated", "--max-depth")
		})
	}
}

// TestInputsAsPeopleHaveThem: a byte order mark before a warrant or key is
// ignored, and a mistyped warrant path is a missing file, not bad base64.
func TestInputsAsPeopleHaveThem(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			bom := "\xef\xbb\xbf"
			os.WriteFile(filepath.Join(w.dir, "bom.warrant"), []byte(bom+w.warrant+"\r\n"), 0o644)
			os.WriteFile(filepath.Join(w.dir, "bom.key"), []byte(bom+w.agentSeed+"\n"), 0o600)
			os.WriteFile(filepath.Join(w.dir, "bom.pub"), []byte(bom+w.rootPub+"\n"), 0o644)
			args := `{"path":"/data/x"}`
			sig := w.sign(t, rn, "bom.key", "bom.warrant", "read_file", args)
			must(t, rn.run(t, w.dir, "", "verify", "--warrant", "bom.warrant", "--tool", "read_file", "--args", args,
				"--signature", sig, "--trusted-root", "bom.pub"), 0, "verify with BOMs")
			must(t, rn.run(t, w.dir, "", "inspect", "bom.warrant"), 0, "inspect with a BOM")
			if got := must(t, rn.run(t, w.dir, "", "pubkey", "bom.key"), 0, "pubkey with a BOM"); got != w.agentPub {
				t.Fatalf("pubkey bom.key = %q", got)
			}
			for _, a := range [][]string{
				{"inspect", "agent.warant"},
				{"verify", "--warrant", "agent.warant", "--tool", "read_file", "--signature", sig, "--trusted-root", w.rootPub},
				{"sign", "--key", "agent.key", "--warrant", "./agent.warant", "--tool", "read_file"},
				{"attenuate", "agents/agent.warrant", "--key", "agent.key", "--holder", w.subPub},
			} {
				r := rn.run(t, w.dir, "", a...)
				if r.code != 2 {
					t.Fatalf("%v: exit %d", a, r.code)
				}
				contains(t, a[0]+" of a mistyped path", r.stderr, "no such warrant file")
				if strings.Contains(r.stderr, "base64") && !strings.Contains(r.stderr, "hint: give the warrant as a file path") {
					t.Fatalf("%v: says base64:\n%s", a, r.stderr)
				}
			}
			// Text that is no warrant (long, no '.') still says what is wrong with it.
			r := rn.run(t, w.dir, "", "inspect", strings.Repeat("A", 99)+"@")
			contains(t, "garbage warrant", r.stderr, "base64")
		})
	}
}

// TestInspectHelpAndAt: inspect says what happens to arguments a tool's
// constraints do not name, verify's denial for one hints at the remedies,
// --help shows no -1 defaults, and --at names its formats.
func TestInspectHelpAndAt(t *testing.T) {
	rn := binRunner
	w := newWorld(t, rn)
	open := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "read_file",
		"-c", "read_file.path=subpath:/data", "--allow-unknown", "read_file"), 0, "mint --allow-unknown")
	contains(t, "inspect", must(t, rn.run(t, w.dir, "", "inspect", "agent.warrant"), 0, "inspect"), "read_file: (other arguments: refused)")
	contains(t, "inspect", must(t, rn.run(t, w.dir, "", "inspect", open), 0, "inspect"), "read_file: (other arguments: allowed)")

	args := `{"path":"/data/x","encoding":"utf-8"}`
	sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", args)
	r := rn.run(t, w.dir, "", "verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", args, "--signature", sig, "--trusted-root", w.rootPub)
	if r.code != 1 {
		t.Fatalf("verify of an unknown argument: exit %d", r.code)
	}
	contains(t, "unknown-argument denial", r.stderr, "hint:", "--allow-unknown read_file", "tool map (--config)")
	okArgs := `{"path":"/data/x"}`
	r = rn.run(t, w.dir, "", "verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", okArgs,
		"--signature", w.sign(t, rn, "agent.key", "agent.warrant", "read_file", okArgs), "--trusted-root", w.rootPub)
	if r.code != 0 || strings.Contains(r.stderr, "hint") {
		t.Fatalf("an allowed call: exit %d, stderr %s", r.code, r.stderr)
	}

	for _, cmd := range []string{"mint", "attenuate", "inspect", "verify", "sign", "keygen", "revoke", "approve", "pubkey"} {
		h := must(t, rn.run(t, w.dir, "", cmd, "--help"), 0, cmd+" --help")
		if strings.Contains(h, "(default -1)") || strings.Contains(h, "default -") {
			t.Fatalf("%s --help shows a negative default:\n%s", cmd, h)
		}
		if cmd == "inspect" || cmd == "verify" || cmd == "sign" {
			contains(t, cmd+" --help", h, "Unix seconds or RFC 3339")
		}
	}
	contains(t, "mint --help", must(t, rn.run(t, w.dir, "", "mint", "--help"), 0, "mint --help"), "--max-depth N", "--clearance N", "--approver", "--approval-gate", "--min-approvals N")

	r = rn.run(t, w.dir, "", "inspect", "agent.warrant", "--at", "yesterday")
	if r.code != 2 {
		t.Fatalf("--at yesterday: exit %d", r.code)
	}
	contains(t, "--at error", r.stderr, "Unix seconds", "RFC 3339")
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	contains(t, "inspect --at RFC 3339", must(t, rn.run(t, w.dir, "", "inspect", "agent.warrant", "--at", future), 0, "inspect --at"), "expired")
}

// TestRevokeThroughVerify: revoke makes, extends and shrinks a signed list
// whose version only goes up; verify denies what it lists.
func TestRevokeThroughVerify(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			must(t, rn.run(t, w.dir, "", "keygen", "--out", "rev.key", "--pub-out", "rev.pub"), 0, "keygen")
			args := `{"path":"/data/x"}`
			sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", args)
			verify := func() cliResult {
				return rn.run(t, w.dir, "", "verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", args,
					"--signature", sig, "--trusted-root", w.rootPub, "--revocation-list", "revoked.srl", "--revocation-key", "rev.pub", "--json")
			}
			out := must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", "revoked.srl", "agent.warrant"), 0, "revoke")
			contains(t, "revoke", out, "version 1, 1 revoked")
			rep := decodeReport(t, must(t, verify(), 1, "verify of a revoked warrant"))
			if rep.Code != int(authz.CodeWarrantRevoked) || rep.Checks["revocation"].OK {
				t.Fatalf("report: %+v", rep)
			}
			// Extend: the sub-agent's stack by its leaf id; the version goes up.
			stack, _ := authz.ParsePresented([]byte(w.stack))
			leafID := stack.Leaf().ID.String()
			out = must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", "revoked.srl", leafID), 0, "revoke id")
			contains(t, "revoke", out, "version 2, 2 revoked", "added "+leafID)
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"--version", "2", "tnu_wrt_00000000000000000000000000000001"}, "not above the list's version 2"},
				{[]string{leafID}, "nothing to change"},
				{[]string{"tnu_wrt_xyz"}, "is not a warrant id"},
				{[]string{"--remove", "tnu_wrt_00000000000000000000000000000001"}, "not on the list"},
			} {
				r := rn.run(t, w.dir, "", append([]string{"revoke", "--key", "rev.key", "--list", "revoked.srl"}, c.args...)...)
				if r.code != 2 {
					t.Fatalf("revoke %v: exit %d", c.args, r.code)
				}
				contains(t, "revoke refusal", r.stderr, c.want)
			}
			// A list signed by another key is not extended.
			r := rn.run(t, w.dir, "", "revoke", "--key", "root.key", "--list", "revoked.srl", leafID)
			if r.code != 2 {
				t.Fatalf("revoke with another key: exit %d", r.code)
			}
			contains(t, "revoke with another key", r.stderr, "not by the configured key")
			// Remove: allowed again, at version 3.
			out = must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", "revoked.srl", "--remove", "agent.warrant"), 0, "revoke --remove")
			contains(t, "revoke --remove", out, "version 3, 1 revoked")
			must(t, verify(), 0, "verify after --remove")
			b, _ := os.ReadFile(filepath.Join(w.dir, "revoked.srl"))
			rev, _ := authz.ParsePublicKey(strings.TrimSpace(readText(t, filepath.Join(w.dir, "rev.pub"))))
			l, err := authz.ParseRevocationList(b, rev)
			if err != nil || l.Version != 3 || l.Len() != 1 || !l.IsRevoked(stack.Leaf().ID) {
				t.Fatalf("list: %v %+v", err, l)
			}
		})
	}
}

// TestProxyE2ERevokeCommand: lists made by the revoke command are enforced
// by the running proxy, and an extension is picked up without a restart.
func TestProxyE2ERevokeCommand(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	rn := binRunner
	revPub := must(t, rn.run(t, w.dir, "", "keygen", "--out", "rev.key"), 0, "keygen")
	other := newKey(t)
	wb, err := authz.Mint(w.root, authz.Grant{Holder: other.Public(), TTL: 10 * time.Minute,
		Tools: map[string]authz.ConstraintSet{"read_file": subpath(w.sandbox)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, b := w.agentSigner, e2eSigner{authz.Stack{wb}, other}
	list := filepath.Join(w.dir, "revoked.srl")
	must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", list, w.warrantFile), 0, "revoke a")
	p := w.proxy(t, "--revocation-list", list, "--revocation-key", revPub)
	args := fmt.Sprintf(`{"path":%q}`, w.path("hello.txt"))
	call := func(s e2eSigner) reply { return p.request("tools/call", s.params(t, "read_file", args)) }
	wantDenied(t, call(a), rpcAccessDenied, int(authz.CodeWarrantRevoked))
	wantText(t, call(b), "hello from the sandbox")

	must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", list, wb.ID.String()), 0, "revoke b")
	deadline := time.Now().Add(8 * time.Second)
	for call(b).errCode() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the extended list did not take effect within 8 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	wantDenied(t, call(b), rpcAccessDenied, int(authz.CodeWarrantRevoked))
	wantDenied(t, call(a), rpcAccessDenied, int(authz.CodeWarrantRevoked))
}

// TestApproveThroughVerify: a warrant minted with an approver and a gate
// denies the gated call without an approval (1707), allows it with one from
// approve, and refuses one made for other arguments.
func TestApproveThroughVerify(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			must(t, rn.run(t, w.dir, "", "keygen", "--out", "approver.key", "--pub-out", "approver.pub"), 0, "keygen")
			gated := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub, "--ttl", "1h",
				"--tool", "read_file", "-c", "read_file.path=subpath:/data",
				"--approver", "approver.pub", "--approval-gate", "read_file.path=pattern:/data/secret/*"), 0, "mint gated")
			os.WriteFile(filepath.Join(w.dir, "gated.warrant"), []byte(gated+"\n"), 0o644)
			contains(t, "inspect", must(t, rn.run(t, w.dir, "", "inspect", "gated.warrant"), 0, "inspect"),
				"approval gates", `read_file: path matching Pattern("/data/secret/*")`, "approvals: 1 of 1 approvers")
			contains(t, "inspect --json", must(t, rn.run(t, w.dir, "", "inspect", "gated.warrant", "--json"), 0, "inspect --json"),
				`"approval_gates": [`, `"read_file: path matching Pattern(\"/data/secret/*\")"`, `"required_approvers": [`)
			verify := func(args string, extra ...string) cliResult {
				sig := w.sign(t, rn, "agent.key", "gated.warrant", "read_file", args)
				a := append([]string{"verify", "--warrant", "gated.warrant", "--tool", "read_file", "--args", args,
					"--signature", sig, "--trusted-root", w.rootPub, "--json"}, extra...)
				return rn.run(t, w.dir, "", a...)
			}
			open, secret := `{"path":"/data/open.txt"}`, `{"path":"/data/secret/k.txt"}`
			must(t, verify(open), 0, "ungated call")
			rep := decodeReport(t, must(t, verify(secret), 1, "gated call without approval"))
			if rep.Code != int(authz.CodeApprovalRequired) {
				t.Fatalf("report: %+v", rep)
			}
			r := rn.run(t, w.dir, "", "approve", "--key", "approver.key", "--warrant", "gated.warrant", "--tool", "read_file", "--args", secret, "--ttl", "2m")
			approval := must(t, r, 0, "approve")
			contains(t, "approve's summary", r.stderr, "You approve this call", "tool:      read_file", `"path": "/data/secret/k.txt"`, "warrant:   tnu_wrt_", "request:   ")
			must(t, verify(secret, "--approval", approval), 0, "gated call with the approval")
			other := must(t, rn.run(t, w.dir, "", "approve", "--key", "approver.key", "--warrant", "gated.warrant", "--tool", "read_file",
				"--args", `{"path":"/data/secret/other.txt"}`), 0, "approve other")
			rep = decodeReport(t, must(t, verify(secret, "--approval", other), 1, "an approval of other arguments"))
			if rep.Code != int(authz.CodeInsufficientApprovals) || !strings.Contains(rep.Message, "different request") {
				t.Fatalf("report: %+v", rep)
			}
			// Only a listed approver can approve.
			r = rn.run(t, w.dir, "", "approve", "--key", "sub.key", "--warrant", "gated.warrant", "--tool", "read_file", "--args", secret)
			if r.code != 2 {
				t.Fatalf("approve by a non-approver: exit %d", r.code)
			}
			contains(t, "approve by a non-approver", r.stderr, "is not an approver", "its approvers are")
			// A delegated warrant keeps the gate; its holder's calls need approval too.
			child := must(t, rn.run(t, w.dir, "", "attenuate", "gated.warrant", "--key", "agent.key", "--holder", w.subPub, "--ttl", "5m"), 0, "attenuate gated")
			ar, _ := authz.ParsePresented([]byte(child))
			if _, ok := ar.Leaf().Extensions[authz.ExtApprovalGates]; !ok || len(ar.Leaf().RequiredApprovers) != 1 {
				t.Fatalf("the child lost the gate: %+v", ar.Leaf().Payload)
			}
			// Whole-tool gate, two approvers, one of two needed.
			two := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agentPub, "--tool", "search",
				"--approver", "approver.pub", "--approver", w.subPub, "--min-approvals", "1", "--approval-gate", "search"), 0, "mint 2 approvers")
			contains(t, "inspect", must(t, rn.run(t, w.dir, "", "inspect", two), 0, "inspect"), "search: every call", "approvals: 1 of 2 approvers")
			if w.leaks(r.stdout + r.stderr + approval) {
				t.Fatal("a secret appeared in the output")
			}
		})
	}
}

// TestProxyE2EApproveCommand: the proxy answers a gated call without an
// approval with -32002 (Tenuo code 1707) and forwards it with one made by
// the approve command.
func TestProxyE2EApproveCommand(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	rn := binRunner
	must(t, rn.run(t, w.dir, "", "keygen", "--out", "root.key"), 0, "keygen root")
	rootPub := must(t, rn.run(t, w.dir, "", "pubkey", "root.key"), 0, "pubkey")
	must(t, rn.run(t, w.dir, "", "keygen", "--out", "approver.key", "--pub-out", "approver.pub"), 0, "keygen approver")
	agentPub := w.agent.Public().Hex()
	gated := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", agentPub, "--ttl", "10m",
		"--tool", "read_file", "-c", "read_file.path=subpath:"+w.sandbox,
		"--approver", "approver.pub", "--approval-gate", "read_file.path=pattern:"+w.sandbox+"/reports/*"), 0, "mint")
	stack, err := authz.ParsePresented([]byte(gated))
	if err != nil {
		t.Fatal(err)
	}
	s := e2eSigner{stack, w.agent}
	argv := []string{binPath, "proxy", "--trusted-root", rootPub, "--audit-log", w.auditLog, "--log-level", "warn", "--"}
	p := startPeer(t, nil, append(argv, w.serverArgv()...)...)
	p.initialize()
	open := fmt.Sprintf(`{"path":%q}`, w.path("hello.txt"))
	secret := fmt.Sprintf(`{"path":%q}`, w.path("reports/q3.txt"))
	wantText(t, p.request("tools/call", s.params(t, "read_file", open)), "hello from the sandbox")
	wantDenied(t, p.request("tools/call", s.params(t, "read_file", secret)), -32002, int(authz.CodeApprovalRequired))

	approval := must(t, rn.run(t, w.dir, "", "approve", "--key", "approver.key", "--warrant", gated, "--tool", "read_file", "--args", secret), 0, "approve")
	params := s.params(t, "read_file", secret)
	params["_meta"].(map[string]any)["tenuo"].(map[string]any)["approvals"] = []string{approval}
	wantText(t, p.request("tools/call", params), "Q3 up 12%")
	if calls := w.calls(t); len(calls) != 2 {
		t.Fatalf("calls that reached the server: %+v", calls)
	}
}

// TestProxyE2EApproveWithToolMap: behind a tool map the request hash covers
// the warrant tool and the mapped fields; approve --config computes the same
// hash as the proxy.
func TestProxyE2EApproveWithToolMap(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t)
	rn := binRunner
	must(t, rn.run(t, w.dir, "", "keygen", "--out", "root.key"), 0, "keygen root")
	rootPub := must(t, rn.run(t, w.dir, "", "pubkey", "root.key"), 0, "pubkey")
	must(t, rn.run(t, w.dir, "", "keygen", "--out", "approver.key", "--pub-out", "approver.pub"), 0, "keygen approver")
	cfg := filepath.Join(w.dir, "toolmap.yaml")
	os.WriteFile(cfg, []byte("version: \"1\"\ntools:\n  read_file:\n    tool: read\n    constraints:\n      file: { path: \"path\", required: true }\n"), 0o644)
	gated := must(t, rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", w.agent.Public().Hex(), "--ttl", "10m",
		"--tool", "read", "-c", "read.file=subpath:"+w.sandbox, "--approver", "approver.pub", "--approval-gate", "read"), 0, "mint")
	stack, err := authz.ParsePresented([]byte(gated))
	if err != nil {
		t.Fatal(err)
	}
	argv := []string{binPath, "proxy", "--trusted-root", rootPub, "--config", cfg, "--log-level", "warn", "--"}
	p := startPeer(t, nil, append(argv, w.serverArgv()...)...)
	p.initialize()
	path := w.path("hello.txt")
	params := func(approvals ...string) map[string]any {
		sig, err := authz.SignPoP(w.agent, stack.Leaf().ID, "read", map[string]any{"file": path}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]any{"warrant": stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}
		if len(approvals) > 0 {
			env["approvals"] = approvals
		}
		return map[string]any{"name": "read_file", "arguments": map[string]any{"path": path}, "_meta": map[string]any{"tenuo": env}}
	}
	wantDenied(t, p.request("tools/call", params()), -32002, int(authz.CodeApprovalRequired))
	args := fmt.Sprintf(`{"path":%q}`, path)
	plain := must(t, rn.run(t, w.dir, "", "approve", "--key", "approver.key", "--warrant", gated, "--tool", "read_file", "--args", args), 0, "approve without the map")
	wantDenied(t, p.request("tools/call", params(plain)), -32002, int(authz.CodeInsufficientApprovals))
	r := rn.run(t, w.dir, "", "approve", "--key", "approver.key", "--warrant", gated, "--tool", "read_file", "--args", args, "--config", cfg)
	mapped := must(t, r, 0, "approve --config")
	contains(t, "approve --config summary", r.stderr, "checked as warrant tool read", `"file": "`+path+`"`)
	wantText(t, p.request("tools/call", params(mapped)), "hello from the sandbox")
}

// TestVerifyHints: each kind of denial gets its own hint on stderr, not one
// generic line.
func TestVerifyHints(t *testing.T) {
	rn := binRunner
	w := newWorld(t, rn)
	args := `{"path":"/data/x"}`
	sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", args)
	verify := func(tool, args, sig string, extra ...string) cliResult {
		return rn.run(t, w.dir, "", append([]string{"verify", "--warrant", "agent.warrant", "--tool", tool, "--args", args,
			"--signature", sig, "--trusted-root", w.rootPub}, extra...)...)
	}
	must(t, rn.run(t, w.dir, "", "keygen", "--out", "rev.key", "--pub-out", "rev.pub"), 0, "keygen")
	must(t, rn.run(t, w.dir, "", "revoke", "--key", "rev.key", "--list", "r.srl", "agent.warrant"), 0, "revoke")
	cases := []struct {
		name string
		r    cliResult
		want string
	}{
		{"tool", verify("delete_file", args, w.sign(t, rn, "agent.key", "agent.warrant", "delete_file", args)), "does not grant this tool"},
		{"constraint", verify("read_file", `{"path":"/etc/passwd"}`, w.sign(t, rn, "agent.key", "agent.warrant", "read_file", `{"path":"/etc/passwd"}`)), "outside the warrant's constraints"},
		{"expired", verify("read_file", args, sig, "--at", itoa(time.Now().Add(2*time.Hour).Unix())), "has expired"},
		{"untrusted root", rn.run(t, w.dir, "", "verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", args, "--signature", sig, "--trusted-root", w.subPub), "--trusted-root must be the public key"},
		{"pop", verify("read_file", `{"path":"/data/y"}`, sig), "sign with the holder's key"},
		{"revoked", verify("read_file", args, sig, "--revocation-list", "r.srl", "--revocation-key", "rev.pub"), "revocation list"},
	}
	seen := map[string]string{}
	for _, c := range cases {
		if c.r.code != 1 {
			t.Fatalf("%s: exit %d\n%s%s", c.name, c.r.code, c.r.stdout, c.r.stderr)
		}
		contains(t, c.name+" hint", c.r.stderr, "hint: ", c.want)
		if other, dup := seen[c.r.stderr]; dup {
			t.Fatalf("%s and %s get the same hint: %s", c.name, other, c.r.stderr)
		}
		seen[c.r.stderr] = c.name
	}
}
