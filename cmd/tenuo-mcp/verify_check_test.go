package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// vcCase is one call decided by both `tenuo-mcp verify` and Authorizer.Check.
type vcCase struct {
	name      string
	warrant   []byte // presented as text
	tool      string
	args      string
	signer    *authz.SigningKey // signs the PoP at signAt; nil: no valid PoP
	signAt    time.Time
	at        time.Time // the verifier's clock
	tolerance time.Duration
	revoked   []string
	strict    bool
	roots     []authz.PublicKey
	approvals [][]byte
	code      authz.Code // the expected decision: 0 allow
}

// TestVerifyDecidesAsCheck: on one table of warrants, calls and clocks,
// `tenuo-mcp verify` (in-process), Authorizer.Check and the proxy's decision
// point (enforce.Point.Check) reach the same decision with the same code, and verify's report shows the failure Check
// returns as the first failed check in its order.
func TestVerifyDecidesAsCheck(t *testing.T) {
	root, agent, sub, approver, srlKey := vrKey(t, 0x51), vrKey(t, 0x52), vrKey(t, 0x53), vrKey(t, 0x54), vrKey(t, 0x55)
	tools := map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
		"ping":      {},
	}
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), Tools: tools, TTL: time.Hour, SessionID: "s1"}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := authz.Attenuate(authz.Stack{w}, agent, authz.Grant{Holder: sub.Public(), Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/reports/*"}}},
	}, TTL: 10 * time.Minute}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	// A child with another session id than its root, signed by hand.
	cp := vrChild(w, sub.Public())
	cp.Extensions = map[string][]byte{authz.ExtSessionID: []byte("s2")}
	otherSession := authz.Stack{w, vrSign(t, agent, cp)}
	gated, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), Tools: tools, TTL: time.Hour,
		RequiredApprovers: []authz.PublicKey{approver.Public()}}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := authz.CanonicalArgs([]byte(`{"path":"/data/a"}`))
	hash, _ := authz.RequestHash(gated.ID, "read_file", canon, agent.Public())
	approval, err := authz.NewApproval(approver, hash, "", vrNow, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	forgedBytes := append([]byte(nil), w.Bytes()...)
	forgedBytes[len(forgedBytes)-5] ^= 0x01 // a signature byte
	if _, err := authz.ParseStack(forgedBytes); err != nil {
		t.Fatalf("the forged warrant must still decode: %v", err)
	}
	lone := []byte(authz.Stack{w}.Base64())
	trusted := []authz.PublicKey{root.Public()}
	late := vrNow.Add(time.Hour + 90*time.Second) // 90 s past expiry
	cases := []vcCase{
		{name: "allowed", warrant: lone, tool: "read_file", args: `{"path":"/data/a"}`, signer: agent, code: 0},
		{name: "delegated stack allowed", warrant: []byte(stack.Base64()), tool: "read_file", args: `{"path":"/data/reports/q"}`, signer: sub, code: 0},
		{name: "as PEM", warrant: []byte(stack.PEM()), tool: "read_file", args: `{"path":"/data/reports/q"}`, signer: sub, code: 0},
		{name: "tool not granted", warrant: []byte(stack.Base64()), tool: "ping", args: `{}`, signer: sub, code: authz.CodeToolNotAuthorized},
		{name: "constraint violated", warrant: []byte(stack.Base64()), tool: "read_file", args: `{"path":"/data/other"}`, signer: sub, code: authz.CodeConstraintViolation},
		{name: "unknown argument", warrant: lone, tool: "read_file", args: `{"path":"/data/a","mode":"w"}`, signer: agent, code: authz.CodeConstraintViolation},
		{name: "PoP by the wrong key", warrant: []byte(stack.Base64()), tool: "read_file", args: `{"path":"/data/reports/q"}`, signer: agent, code: authz.CodePopSignatureInvalid},
		{name: "no valid PoP", warrant: lone, tool: "read_file", args: `{"path":"/data/a"}`, code: authz.CodePopSignatureInvalid},
		{name: "PoP from an old window", warrant: lone, tool: "read_file", args: `{"path":"/data/a"}`, signer: agent, signAt: vrNow.Add(-5 * time.Minute), code: authz.CodePopSignatureInvalid},
		{name: "expired", warrant: lone, tool: "read_file", args: `{"path":"/data/a"}`, signer: agent, at: vrNow.Add(3 * time.Hour), code: authz.CodeWarrantExpired},
		{name: "expired, and the tool not granted", warrant: lone, tool: "delete", args: `{}`, signer: agent, at: vrNow.Add(3 * time.Hour), code: authz.CodeToolNotAuthorized},
		{name: "past expiry, within the default tolerance", warrant: lone, tool: "ping", args: `{}`, signer: agent, at: vrNow.Add(time.Hour + 20*time.Second), code: 0},
		{name: "past expiry, beyond the default tolerance", warrant: lone, tool: "ping", args: `{}`, signer: agent, at: late, code: authz.CodeWarrantExpired},
		{name: "past expiry, within a wider tolerance", warrant: lone, tool: "ping", args: `{}`, signer: agent, at: late, tolerance: 2 * time.Minute, code: 0},
		{name: "issued in the future", warrant: lone, tool: "ping", args: `{}`, signer: agent, at: vrNow.Add(-10 * time.Minute), code: authz.CodeIssuedInFuture},
		{name: "untrusted root", warrant: lone, tool: "ping", args: `{}`, signer: agent, roots: []authz.PublicKey{sub.Public()}, code: authz.CodeUntrustedRoot},
		{name: "revoked", warrant: lone, tool: "ping", args: `{}`, signer: agent, revoked: []string{w.ID.String()}, code: authz.CodeWarrantRevoked},
		{name: "parent revoked in a stack", warrant: []byte(stack.Base64()), tool: "read_file", args: `{"path":"/data/reports/q"}`, signer: sub, revoked: []string{w.ID.String()}, code: authz.CodeWarrantRevoked},
		{name: "revoked, and a constraint violated", warrant: lone, tool: "read_file", args: `{"path":"/etc/x"}`, signer: agent, revoked: []string{w.ID.String()}, code: authz.CodeConstraintViolation},
		{name: "another id revoked", warrant: lone, tool: "ping", args: `{}`, signer: agent, revoked: []string{stack.Leaf().ID.String()}, code: 0},
		{name: "session mismatch, lenient", warrant: []byte(otherSession.Base64()), tool: "ping", args: `{}`, signer: sub, code: 0},
		{name: "session mismatch, strict", warrant: []byte(otherSession.Base64()), tool: "ping", args: `{}`, signer: sub, strict: true, code: authz.CodeChainBroken},
		{name: "forged signature", warrant: []byte(base64.StdEncoding.EncodeToString(forgedBytes)), tool: "ping", args: `{}`, signer: agent, code: authz.CodeSignatureInvalid},
		{name: "forged signature, constraint violated first", warrant: []byte(base64.StdEncoding.EncodeToString(forgedBytes)), tool: "read_file", args: `{"path":"/etc/x"}`, signer: agent, code: authz.CodeConstraintViolation},
		{name: "approval required", warrant: []byte(authz.Stack{gated}.Base64()), tool: "read_file", args: `{"path":"/data/a"}`, signer: agent, code: authz.CodeApprovalRequired},
		{name: "approved", warrant: []byte(authz.Stack{gated}.Base64()), tool: "read_file", args: `{"path":"/data/a"}`, signer: agent, approvals: [][]byte{approval.Bytes()}, code: 0},
		{name: "too large", warrant: bytes.Repeat([]byte("A"), 400<<10), tool: "ping", args: `{}`, code: authz.CodeChainTooLarge},
		{name: "does not decode", warrant: []byte("AAAA"), tool: "ping", args: `{}`, code: decodeFails}, // any decode code, the same on both
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.at.IsZero() {
				c.at = vrNow
			}
			if c.signAt.IsZero() {
				c.signAt = c.at
			}
			if c.roots == nil {
				c.roots = trusted
			}
			var sig []byte
			if c.signer != nil {
				leaf := stackLeaf(t, c.warrant)
				canon, err := authz.CanonicalArgs([]byte(c.args))
				if err != nil {
					t.Fatal(err)
				}
				s, err := authz.SignPoP(c.signer, leaf, c.tool, canon, c.signAt)
				if err != nil {
					t.Fatal(err)
				}
				sig = s[:]
			} else {
				sig = bytes.Repeat([]byte{7}, authz.SignatureSize)
			}

			// The authorizer, as the proxy configures it.
			cfg := authz.Config{TrustedRoots: c.roots, ClockTolerance: c.tolerance, StrictSession: c.strict,
				Now: func() time.Time { return c.at }}
			var srlFile string
			if c.revoked != nil {
				b, err := authz.NewRevocationList(srlKey, 1, c.revoked, vrNow)
				if err != nil {
					t.Fatal(err)
				}
				l, err := authz.ParseRevocationList(b, srlKey.Public())
				if err != nil {
					t.Fatal(err)
				}
				cfg.Revoked = l.IsRevoked
				srlFile = filepath.Join(dir, fmt.Sprintf("srl-%d", i))
				if err := os.WriteFile(srlFile, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			az, err := authz.NewAuthorizer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			d := az.Check(&authz.Request{Warrant: c.warrant, Tool: c.tool, Args: []byte(c.args), Signature: sig, Approvals: c.approvals})

			// The same call through the proxy's decision point, as a client
			// presents it in _meta.tenuo.
			env := &enforce.Envelope{Warrant: string(c.warrant), Signature: base64.StdEncoding.EncodeToString(sig), Source: enforce.SourceMeta}
			for _, a := range c.approvals {
				env.Approvals = append(env.Approvals, base64.StdEncoding.EncodeToString(a))
			}
			at := c.at
			pt := &enforce.Point{Authorizer: az, Now: func() time.Time { return at }}
			pr := pt.Check(context.Background(), &enforce.Call{Tool: c.tool, Arguments: json.RawMessage(c.args), Envelope: env})
			switch {
			case d.Allowed != (pr.Verdict == enforce.Allow):
				t.Fatalf("Check allowed=%v, the proxy's decision point %v (%v)", d.Allowed, pr.Verdict, pr.Denial)
			case !d.Allowed && pr.Denial != nil && d.Denial.Code/100 == 19 && pr.Denial.Code/100 == 19:
				// Size: MCP's envelope limit (64 KiB of warrant text, WIRE.md
				// §7) is met before authz's 256 KiB stack limit.
			case !d.Allowed && (pr.Denial == nil || pr.Denial.Code != d.Denial.Code):
				t.Fatalf("Check denied %v, the proxy's decision point %v", d.Denial, pr.Denial)
			}

			// The same call through the command line.
			wfile := filepath.Join(dir, fmt.Sprintf("w-%d", i))
			if err := os.WriteFile(wfile, append(append([]byte(nil), c.warrant...), '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			argv := []string{"verify", "--warrant", wfile, "--tool", c.tool, "--args", c.args,
				"--signature", base64.StdEncoding.EncodeToString(sig), "--at", fmt.Sprint(c.at.Unix()), "--json"}
			for _, r := range c.roots {
				argv = append(argv, "--trusted-root", r.Hex())
			}
			if c.tolerance != 0 {
				argv = append(argv, "--clock-tolerance", c.tolerance.String())
			}
			if c.strict {
				argv = append(argv, "--strict-session")
			}
			if srlFile != "" {
				argv = append(argv, "--revocation-list", srlFile, "--revocation-key", srlKey.Public().Hex())
			}
			for _, a := range c.approvals {
				argv = append(argv, "--approval", base64.StdEncoding.EncodeToString(a))
			}
			var out, errb bytes.Buffer
			exit := run(argv, strings.NewReader(""), &out, &errb)
			var rep struct {
				vrReport
				WarrantID string `json:"warrant_id"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("no JSON report (exit %d): %v\n%s%s", exit, err, out.String(), errb.String())
			}

			if d.Allowed != (rep.Decision == "allow") {
				t.Fatalf("Check allowed=%v (%v), verify says %s (%d %s)", d.Allowed, d.Denial, rep.Decision, rep.Code, rep.Message)
			}
			wantExit := exitOK
			if !d.Allowed {
				wantExit = exitDenied
				if d.Denial.Code != authz.Code(rep.Code) || d.Denial.Message != rep.Message {
					t.Fatalf("Check denies %v, verify %d %s", d.Denial, rep.Code, rep.Message)
				}
				if c.code == decodeFails {
					wantExit = exitBadInput
				} else if d.Denial.Code != c.code {
					t.Fatalf("code %d (%v), want %d", d.Denial.Code, d.Denial, c.code)
				}
				if d.Denial.Code == authz.CodeConstraintViolation && !strings.Contains(rep.Message, fmt.Sprintf("tool %q", c.tool)) {
					t.Fatalf("a constraint denial names the tool: %s", rep.Message)
				}
				// The first failed check of verify's report is Check's denial.
				first := ""
				for _, s := range []authz.Step{authz.StepSize, authz.StepDecode, authz.StepTool, authz.StepArguments,
					authz.StepConstraints, authz.StepRevocation, authz.StepChain, authz.StepPoP, authz.StepApprovals} {
					if r := rep.Checks[string(s)]; !r.OK && r.Code != 0 {
						first = string(s)
						break
					}
				}
				if r := rep.Checks[first]; first == "" || r.Code != int(d.Denial.Code) || r.Error != d.Denial.Message {
					t.Fatalf("first failed check %q (%+v), Check denies %v", first, rep.Checks[first], d.Denial)
				}
			} else if c.code != 0 {
				t.Fatalf("allowed, want code %d", c.code)
			}
			if exit != wantExit {
				t.Fatalf("exit %d, want %d\n%s%s", exit, wantExit, out.String(), errb.String())
			}
			if rep.WarrantID != d.WarrantID {
				t.Fatalf("verify names warrant %q, Check %q", rep.WarrantID, d.WarrantID)
			}
		})
	}
}

// stackLeaf returns the id of the leaf of a presented warrant.
func stackLeaf(t *testing.T, presented []byte) authz.WarrantID {
	t.Helper()
	s, err := authz.ParsePresented(bytes.TrimSpace(presented))
	if err != nil {
		t.Fatal(err)
	}
	return s.Leaf().ID
}

// decodeFails marks a case whose warrant does not decode: verify exits 2.
const decodeFails authz.Code = 0xffff
