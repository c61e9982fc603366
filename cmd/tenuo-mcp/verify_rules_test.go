package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Black-box cases of `tenuo-mcp verify` for the chain rules shared with
// Tenuo's verifier (issue 9) and for denial messages that never quote an
// argument's value. The command runs in-process; warrants that no builder
// would make are signed here by hand.

var vrNow = time.Unix(1_800_000_000, 0)

type vrReport struct {
	Decision string `json:"decision"`
	Checks   map[string]struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Code  int    `json:"code"`
	} `json:"checks"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func vrKey(t *testing.T, b byte) *authz.SigningKey {
	t.Helper()
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vrSign signs p with k as it is, building the envelope
// [1, bstr(payload), [1, bstr(signature)]] by hand.
func vrSign(t *testing.T, k *authz.SigningKey, p *authz.Payload) *authz.Warrant {
	t.Helper()
	if p.ID == (authz.WarrantID{}) {
		id, err := authz.NewWarrantID(nil, vrNow)
		if err != nil {
			t.Fatal(err)
		}
		p.ID = id
	}
	p.Version = 1
	payload, err := authz.EncodePayload(p)
	if err != nil {
		t.Fatal(err)
	}
	sig := k.Sign(append([]byte("tenuo-warrant-v1\x01"), payload...))
	env := []byte{0x83, 0x01}
	switch n := len(payload); {
	case n < 24:
		env = append(env, 0x40|byte(n))
	case n < 256:
		env = append(env, 0x58, byte(n))
	default:
		env = append(env, 0x59, byte(n>>8), byte(n))
	}
	env = append(env, payload...)
	env = append(env, 0x82, 0x01, 0x58, 0x40)
	env = append(env, sig[:]...)
	w, err := authz.ParseWarrant(env)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func vrTools() map[string]authz.ConstraintSet {
	return map[string]authz.ConstraintSet{"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}}}
}

func vrRoot(issuer *authz.SigningKey, holder authz.PublicKey, tools map[string]authz.ConstraintSet) *authz.Payload {
	return &authz.Payload{Type: authz.Execution, Tools: tools, Holder: holder, Issuer: issuer.Public(),
		IssuedAt: uint64(vrNow.Unix()), ExpiresAt: uint64(vrNow.Unix()) + 3600, MaxDepth: 3}
}

func vrChild(parent *authz.Warrant, holder authz.PublicKey) *authz.Payload {
	ph := parent.PayloadHash()
	return &authz.Payload{Type: parent.Type, Tools: parent.Tools, Holder: holder, Issuer: parent.Holder,
		IssuedAt: parent.IssuedAt, ExpiresAt: parent.ExpiresAt, MaxDepth: parent.MaxDepth,
		ParentHash: &ph, Depth: parent.Depth + 1, Clearance: parent.Clearance, IssuableTools: parent.IssuableTools}
}

// vrVerify runs `tenuo-mcp verify --json` on s for a call of tool with args,
// PoP-signed by holder, with roots trusted; it returns the exit code and the
// report.
func vrVerify(t *testing.T, s authz.Stack, holder *authz.SigningKey, tool, args string, roots ...authz.PublicKey) (int, vrReport, string) {
	t.Helper()
	canon, err := authz.CanonicalArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := authz.SignPoP(holder, s.Leaf().ID, tool, canon, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "stack.warrant")
	if err := os.WriteFile(file, []byte(s.Base64()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := []string{"verify", "--warrant", file, "--tool", tool, "--args", args,
		"--signature", fmt.Sprintf("%x", sig[:]), "--at", fmt.Sprint(vrNow.Unix()), "--json"}
	for _, r := range roots {
		argv = append(argv, "--trusted-root", r.Hex())
	}
	var out, errb bytes.Buffer
	code := run(argv, strings.NewReader(""), &out, &errb)
	var rep vrReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("verify printed no JSON report (exit %d): %v\nstdout: %s\nstderr: %s", code, err, out.String(), errb.String())
	}
	return code, rep, out.String() + errb.String()
}

func vrWantAllow(t *testing.T, what string, code int, rep vrReport) {
	t.Helper()
	if code != exitOK || rep.Decision != "allow" {
		t.Fatalf("%s: exit %d, decision %s (%d %s), want allow", what, code, rep.Decision, rep.Code, rep.Message)
	}
}

// vrWantDeny checks a deny (exit 1) whose decision code is want, reported by
// the named check.
func vrWantDeny(t *testing.T, what string, code int, rep vrReport, check string, want int) {
	t.Helper()
	if code != exitDenied || rep.Decision != "deny" || rep.Code != want {
		t.Fatalf("%s: exit %d, decision %s (%d %s), want deny %d", what, code, rep.Decision, rep.Code, rep.Message, want)
	}
	if c := rep.Checks[check]; c.OK || c.Code != want {
		t.Fatalf("%s: check %s = %+v, want code %d", what, check, c, want)
	}
}

// Rule 1: a lone warrant is trusted on its issuer's signature.
func TestVerifyLoneWarrantTrustedOnItsIssuer(t *testing.T) {
	root, agent, sub, subsub := vrKey(t, 0x11), vrKey(t, 0x12), vrKey(t, 0x13), vrKey(t, 0x14)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), Tools: vrTools(), TTL: time.Hour}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err := authz.Attenuate(authz.Stack{w}, agent, authz.Grant{Holder: sub.Public()}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err = authz.Attenuate(s, sub, authz.Grant{Holder: subsub.Public()}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	const args = `{"path":"/data/a"}`
	code, rep, _ := vrVerify(t, s[1:2], sub, "read_file", args, agent.Public())
	vrWantAllow(t, "depth 1 alone, its issuer trusted", code, rep)
	code, rep, _ = vrVerify(t, s[2:], subsub, "read_file", args, sub.Public())
	vrWantAllow(t, "depth 2 alone, its issuer trusted", code, rep)
	code, rep, _ = vrVerify(t, s[1:2], sub, "read_file", args, root.Public())
	vrWantDeny(t, "depth 1 alone, only the root trusted", code, rep, "chain", int(authz.CodeUntrustedRoot))
	code, rep, _ = vrVerify(t, s[1:], subsub, "read_file", args, agent.Public())
	vrWantDeny(t, "stack headed by a delegated warrant", code, rep, "chain", int(authz.CodeChainBroken))
	code, rep, _ = vrVerify(t, s, subsub, "read_file", args, root.Public())
	vrWantAllow(t, "whole chain", code, rep)
}

// Rule 2: a child issued before its parent is refused.
func TestVerifyChildIssuedBeforeParent(t *testing.T) {
	root, agent, sub := vrKey(t, 0x21), vrKey(t, 0x22), vrKey(t, 0x23)
	parent := vrSign(t, root, vrRoot(root, agent.Public(), vrTools()))
	for _, tc := range []struct {
		offset int64
		allow  bool
	}{{-1, false}, {0, true}, {1, true}} {
		p := vrChild(parent, sub.Public())
		p.IssuedAt = uint64(int64(parent.IssuedAt) + tc.offset)
		code, rep, _ := vrVerify(t, authz.Stack{parent, vrSign(t, agent, p)}, sub, "read_file", `{"path":"/data/a"}`, root.Public())
		what := fmt.Sprintf("child issued %+ds after its parent", tc.offset)
		if tc.allow {
			vrWantAllow(t, what, code, rep)
		} else {
			vrWantDeny(t, what, code, rep, "chain", int(authz.CodeChainBroken))
		}
	}
}

// Rule 3: an empty All denies, as a constraint and across a delegation.
func TestVerifyEmptyAllDenies(t *testing.T) {
	root, agent, sub := vrKey(t, 0x31), vrKey(t, 0x32), vrKey(t, 0x33)
	set := func(c authz.Constraint) authz.ConstraintSet {
		return authz.ConstraintSet{Constraints: map[string]authz.Constraint{"a": c}}
	}
	w := vrSign(t, root, vrRoot(root, agent.Public(), map[string]authz.ConstraintSet{
		"all": set(&authz.All{}), "not_all": set(&authz.Not{Constraint: &authz.All{}}), "any": set(&authz.Any{}), "ok": set(&authz.Wildcard{}),
	}))
	for _, tool := range []string{"all", "not_all", "any"} {
		code, rep, _ := vrVerify(t, authz.Stack{w}, agent, tool, `{"a":"x"}`, root.Public())
		vrWantDeny(t, tool, code, rep, "constraints", int(authz.CodeConstraintViolation))
	}
	code, rep, _ := vrVerify(t, authz.Stack{w}, agent, "ok", `{"a":"x"}`, root.Public())
	vrWantAllow(t, "another tool of the same warrant", code, rep)

	// Parent All([]) narrowed to Exact.
	pw := vrSign(t, root, vrRoot(root, agent.Public(), map[string]authz.ConstraintSet{"t": set(&authz.All{})}))
	p := vrChild(pw, sub.Public())
	p.Tools = map[string]authz.ConstraintSet{"t": set(&authz.Exact{Value: "x"})}
	code, rep, _ = vrVerify(t, authz.Stack{pw, vrSign(t, agent, p)}, sub, "t", `{"a":"x"}`, root.Public())
	vrWantDeny(t, "parent All([]) narrowed", code, rep, "chain", int(authz.CodeCapabilityExpansion))

	// Child narrowed to All([]) on a tool next to the one called.
	pw = vrSign(t, root, vrRoot(root, agent.Public(), map[string]authz.ConstraintSet{"t": set(&authz.Wildcard{}), "u": set(&authz.Wildcard{})}))
	p = vrChild(pw, sub.Public())
	p.Tools = map[string]authz.ConstraintSet{"t": set(&authz.Exact{Value: "x"}), "u": set(&authz.All{})}
	code, rep, _ = vrVerify(t, authz.Stack{pw, vrSign(t, agent, p)}, sub, "t", `{"a":"x"}`, root.Public())
	vrWantDeny(t, "child narrowed to All([])", code, rep, "chain", int(authz.CodeCapabilityExpansion))
}

// Rule 4: a child may not introduce a clearance its parent lacks.
func TestVerifyClearanceNotIntroduced(t *testing.T) {
	root, agent, sub := vrKey(t, 0x41), vrKey(t, 0x42), vrKey(t, 0x43)
	u8 := func(v uint8) *uint8 { return &v }
	for _, tc := range []struct {
		name          string
		parent, child *uint8
		allow         bool
	}{{"introduced", nil, u8(50), false}, {"raised", u8(30), u8(50), false}, {"lowered", u8(50), u8(30), true}, {"none", nil, nil, true}} {
		pp := vrRoot(root, agent.Public(), vrTools())
		pp.Clearance = tc.parent
		parent := vrSign(t, root, pp)
		cp := vrChild(parent, sub.Public())
		cp.Clearance = tc.child
		code, rep, _ := vrVerify(t, authz.Stack{parent, vrSign(t, agent, cp)}, sub, "read_file", `{"path":"/data/a"}`, root.Public())
		if tc.allow {
			vrWantAllow(t, tc.name, code, rep)
		} else {
			vrWantDeny(t, tc.name, code, rep, "chain", int(authz.CodeCapabilityExpansion))
		}
	}
}

// Rule 5: a chain of depths 0…64 (65 warrants) verifies; 66 do not decode.
func TestVerifyDepth64Reachable(t *testing.T) {
	keys := make([]*authz.SigningKey, authz.MaxChainDepth+2)
	for i := range keys {
		keys[i] = vrKey(t, byte(0x80+i))
	}
	maxDepth := uint64(authz.MaxChainDepth)
	w, err := authz.Mint(keys[0], authz.Grant{Holder: keys[1].Public(), Tools: vrTools(), TTL: time.Hour, MaxDepth: &maxDepth}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	s := authz.Stack{w}
	for d := 1; d <= authz.MaxChainDepth; d++ {
		if s, err = authz.Attenuate(s, keys[d], authz.Grant{Holder: keys[d+1].Public()}, vrNow); err != nil {
			t.Fatalf("depth %d: %v", d, err)
		}
	}
	leafKey := keys[len(s)]
	code, rep, _ := vrVerify(t, s, leafKey, "read_file", `{"path":"/data/a"}`, keys[0].Public())
	vrWantAllow(t, "65 warrants, depths 0…64", code, rep)

	over := append(append(authz.Stack{}, s...), s.Leaf())
	code, rep, _ = vrVerify(t, over, leafKey, "read_file", `{"path":"/data/a"}`, keys[0].Public())
	if code != exitBadInput || rep.Checks["decode"].Code != int(authz.CodeChainTooLarge) {
		t.Fatalf("66 warrants: exit %d, decode check %+v, want exit %d and code %d", code, rep.Checks["decode"], exitBadInput, authz.CodeChainTooLarge)
	}
}

// A constraint denial names the tool, the argument and the rule, never the
// value, in verify's JSON report and in its text output.
func TestVerifyDenialOmitsArgumentValue(t *testing.T) {
	const secret = "ghp_S3cr3tT0kenValue1234567890"
	root, agent := vrKey(t, 0x51), vrKey(t, 0x52)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), Tools: vrTools(), TTL: time.Hour}, vrNow)
	if err != nil {
		t.Fatal(err)
	}
	args := `{"path":"/home/agent/.config/gh/` + secret + `"}`
	code, rep, all := vrVerify(t, authz.Stack{w}, agent, "read_file", args, root.Public())
	vrWantDeny(t, "constraint", code, rep, "constraints", int(authz.CodeConstraintViolation))
	if strings.Contains(all, secret) {
		t.Errorf("verify --json quotes the argument value:\n%s", all)
	}
	if m := rep.Checks["constraints"].Error; !strings.Contains(m, `argument "path"`) || !strings.Contains(m, `Pattern("/data/*")`) {
		t.Errorf("the denial should name the argument and the rule: %q", m)
	}

	canon, _ := authz.CanonicalArgs([]byte(args))
	sig, _ := authz.SignPoP(agent, w.ID, "read_file", canon, vrNow)
	file := filepath.Join(t.TempDir(), "w")
	if err := os.WriteFile(file, []byte(w.Base64()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code = run([]string{"verify", "--warrant", file, "--tool", "read_file", "--args", args, "--signature", fmt.Sprintf("%x", sig[:]),
		"--at", fmt.Sprint(vrNow.Unix()), "--trusted-root", root.Public().Hex()}, strings.NewReader(""), &out, &errb)
	if code != exitDenied || !strings.Contains(out.String(), "FAIL constraints") {
		t.Fatalf("text verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if strings.Contains(out.String()+errb.String(), secret) {
		t.Errorf("verify quotes the argument value:\n%s%s", out.String(), errb.String())
	}
}
