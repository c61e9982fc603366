package authz

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Tests for the chain rules on which we agree with Tenuo's current verifier
// (issue 9): a lone warrant is trusted on its issuer's signature, a child is
// not issued before its parent, an empty All denies, a child introduces no
// clearance, and a chain of depths 0…64 (65 warrants) verifies.

var crNow = time.Unix(1_800_000_000, 0)

// crSign signs p with k as it is: no builder rule is applied, so tests can
// present what a careless or hostile issuer would sign. A zero id gets a
// fresh one.
func crSign(t testing.TB, k *SigningKey, p *Payload) *Warrant {
	t.Helper()
	if p.ID == (WarrantID{}) {
		id, err := NewWarrantID(nil, crNow)
		if err != nil {
			t.Fatal(err)
		}
		p.ID = id
	}
	if p.Version == 0 {
		p.Version = 1
	}
	w, err := signPayload(k, p)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// crRootPayload is a root execution warrant granting tools, issued at crNow
// for an hour.
func crRootPayload(issuer *SigningKey, holder PublicKey, tools map[string]ConstraintSet) *Payload {
	return &Payload{Version: 1, Type: Execution, Tools: tools, Holder: holder, Issuer: issuer.Public(),
		IssuedAt: uint64(crNow.Unix()), ExpiresAt: uint64(crNow.Unix()) + 3600, MaxDepth: 3}
}

// crChildPayload is what a builder would make for a child of parent held by
// holder: same tools, times and clearance, one level deeper.
func crChildPayload(parent *Warrant, holder PublicKey) *Payload {
	ph := parent.PayloadHash()
	return &Payload{Version: 1, Type: parent.Type, Tools: parent.Tools, Holder: holder, Issuer: parent.Holder,
		IssuedAt: parent.IssuedAt, ExpiresAt: parent.ExpiresAt, MaxDepth: parent.MaxDepth,
		ParentHash: &ph, Depth: parent.Depth + 1, Clearance: parent.Clearance,
		IssuableTools: parent.IssuableTools, ConstraintBounds: parent.ConstraintBounds}
}

// crCheck decides a call of tool with JSON args on s, PoP-signed by holder,
// with roots trusted and revoked ids denied.
func crCheck(t testing.TB, roots []PublicKey, s Stack, holder *SigningKey, tool, args string, revoked ...WarrantID) *Decision {
	t.Helper()
	cfg := Config{TrustedRoots: roots, Now: func() time.Time { return crNow }, CacheSize: -1}
	if len(revoked) > 0 {
		cfg.Revoked = func(id WarrantID) bool {
			for _, r := range revoked {
				if r == id {
					return true
				}
			}
			return false
		}
	}
	az, err := NewAuthorizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := CanonicalArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := SignPoP(holder, s.Leaf().ID, tool, canon, crNow)
	if err != nil {
		t.Fatal(err)
	}
	return az.Check(&Request{Warrant: []byte(s.Base64()), Tool: tool, Args: []byte(args), Signature: sig[:]})
}

func crAllow(t *testing.T, d *Decision, what string) {
	t.Helper()
	if !d.Allowed {
		t.Fatalf("%s: want allow, got %v", what, d.Denial)
	}
}

func crDeny(t *testing.T, d *Decision, sentinel error, code Code, what string) *Denial {
	t.Helper()
	if d.Allowed || d.Denial == nil {
		t.Fatalf("%s: want deny (%d), got allow", what, code)
	}
	if d.Denial.Code != code || !errors.Is(d.Denial, sentinel) {
		t.Fatalf("%s: want %v / %d, got %v", what, sentinel, code, d.Denial)
	}
	return d.Denial
}

func crErrCode(t *testing.T, err error, sentinel error, code Code, what string) *Denial {
	t.Helper()
	var d *Denial
	if err == nil {
		t.Fatalf("%s: want refusal (%d), got success", what, code)
	}
	if !errors.As(err, &d) || d.Code != code || !errors.Is(err, sentinel) {
		t.Fatalf("%s: want %v / %d, got %v", what, sentinel, code, err)
	}
	return d
}

func crTools() map[string]ConstraintSet {
	return map[string]ConstraintSet{"read_file": {Constraints: map[string]Constraint{"path": &Pattern{Pattern: "/data/*"}}}}
}

// crChain mints root → agent and attenuates agent → sub → subsub.
func crChain(t *testing.T) (root, agent, sub, subsub *SigningKey, s Stack) {
	t.Helper()
	root, agent, sub, subsub = azKey(t, 0x41), azKey(t, 0x42), azKey(t, 0x43), azKey(t, 0x44)
	w, err := Mint(root, Grant{Holder: agent.Public(), Tools: crTools(), TTL: time.Hour}, crNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Attenuate(Stack{w}, agent, Grant{Holder: sub.Public()}, crNow)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Attenuate(s, sub, Grant{Holder: subsub.Public()}, crNow)
	if err != nil {
		t.Fatal(err)
	}
	return root, agent, sub, subsub, s
}

// Rule 1: a warrant presented alone is trusted on its issuer's signature when
// that issuer is a trusted root, whatever its depth; a stack of two or more
// still starts at a root.
func TestRuleLoneWarrantTrustedOnItsIssuer(t *testing.T) {
	root, agent, sub, subsub, s := crChain(t)
	const ok, bad = `{"path":"/data/a"}`, `{"path":"/etc/passwd"}`
	rootOnly := []PublicKey{root.Public()}

	crAllow(t, crCheck(t, rootOnly, s, subsub, "read_file", ok), "whole chain")
	crAllow(t, crCheck(t, rootOnly, s[:2], sub, "read_file", ok), "root and child")

	// Alone, a delegated warrant's issuer must itself be trusted.
	d := crDeny(t, crCheck(t, rootOnly, s[1:2], sub, "read_file", ok), ErrUntrustedRoot, CodeUntrustedRoot, "depth 1 alone, root trusted")
	if d.WarrantID != s[1].ID.String() || !strings.Contains(d.Message, "presented alone") {
		t.Errorf("denial should name the lone warrant and say it is alone: %v", d)
	}
	lone := crCheck(t, []PublicKey{agent.Public()}, s[1:2], sub, "read_file", ok)
	crAllow(t, lone, "depth 1 alone, its issuer trusted")
	if lone.Depth != 1 || lone.Root != agent.Public() {
		t.Errorf("lone warrant: depth %d root %s", lone.Depth, lone.Root.Hex())
	}
	crAllow(t, crCheck(t, []PublicKey{sub.Public()}, s[2:], subsub, "read_file", ok), "depth 2 alone, its issuer trusted")
	crDeny(t, crCheck(t, []PublicKey{agent.Public(), root.Public()}, s[2:], subsub, "read_file", ok),
		ErrUntrustedRoot, CodeUntrustedRoot, "depth 2 alone, other keys trusted")

	// Everything else still applies to a lone warrant.
	crDeny(t, crCheck(t, []PublicKey{agent.Public()}, s[1:2], sub, "read_file", bad), ErrConstraint, CodeConstraintViolation, "lone: constraint")
	crDeny(t, crCheck(t, []PublicKey{agent.Public()}, Stack{azForge(t, s[1])}, sub, "read_file", ok), ErrBadSignature, CodeSignatureInvalid, "lone: forged")
	crDeny(t, crCheck(t, []PublicKey{agent.Public()}, s[1:2], sub, "read_file", ok, s[1].ID), ErrRevoked, CodeWarrantRevoked, "lone: revoked")

	// In a stack of two or more the first warrant must be a root.
	d = crDeny(t, crCheck(t, []PublicKey{agent.Public()}, s[1:], subsub, "read_file", ok), ErrBrokenChain, CodeChainBroken, "stack headed by depth 1")
	if d.WarrantID != s[1].ID.String() {
		t.Errorf("denial names %s, want the head %s", d.WarrantID, s[1].ID)
	}
	crDeny(t, crCheck(t, rootOnly, Stack{s[1], s[0]}, agent, "read_file", ok), ErrBrokenChain, CodeChainBroken, "links reversed")

	// The known limit, shared with Tenuo: revocation names warrant ids, and a
	// lone warrant names only its own, so a revoked parent is not seen.
	crDeny(t, crCheck(t, rootOnly, s, subsub, "read_file", ok, s[0].ID), ErrRevoked, CodeWarrantRevoked, "stack with revoked root")
	crAllow(t, crCheck(t, []PublicKey{sub.Public()}, s[2:], subsub, "read_file", ok, s[0].ID, s[1].ID), "lone warrant behind revoked parents (documented limit)")
}

// Rule 2: a child issued before its parent is refused, by the verifier and by
// the builder.
func TestRuleChildNotIssuedBeforeParent(t *testing.T) {
	root, agent, sub := azKey(t, 0x51), azKey(t, 0x52), azKey(t, 0x53)
	roots := []PublicKey{root.Public()}
	parent := crSign(t, root, crRootPayload(root, agent.Public(), crTools()))
	const args = `{"path":"/data/a"}`

	for _, tc := range []struct {
		name   string
		offset int64
		allow  bool
	}{{"one second before", -1, false}, {"an hour before", -3600, false}, {"same second", 0, true}, {"later", 5, true}} {
		p := crChildPayload(parent, sub.Public())
		p.IssuedAt = uint64(int64(parent.IssuedAt) + tc.offset)
		s := Stack{parent, crSign(t, agent, p)}
		d := crCheck(t, roots, s, sub, "read_file", args)
		if tc.allow {
			crAllow(t, d, tc.name)
			continue
		}
		den := crDeny(t, d, ErrBrokenChain, CodeChainBroken, tc.name)
		if !strings.Contains(den.Message, "before its parent") || den.WarrantID != s[1].ID.String() {
			t.Errorf("%s: denial should name the child and the rule: %v", tc.name, den)
		}
		if _, err := verifyChain(s, chainOptions{TrustedRoots: roots, Now: crNow}); err == nil {
			t.Errorf("%s: verifyChain accepted it", tc.name)
		}
	}

	// Deeper in a chain: a grandchild issued after the root but before its
	// own parent.
	p1 := crChildPayload(parent, sub.Public())
	p1.IssuedAt = parent.IssuedAt + 10
	child := crSign(t, agent, p1)
	leafKey := azKey(t, 0x54)
	p2 := crChildPayload(child, leafKey.Public())
	p2.IssuedAt = parent.IssuedAt + 5
	crDeny(t, crCheck(t, roots, Stack{parent, child, crSign(t, sub, p2)}, leafKey, "read_file", args), ErrBrokenChain, CodeChainBroken, "grandchild before its parent")

	// The builder refuses to make one.
	_, err := Attenuate(Stack{parent}, agent, Grant{Holder: sub.Public()}, crNow.Add(-time.Second))
	crErrCode(t, err, ErrBrokenChain, CodeChainBroken, "Attenuate before the parent's issue time")
	s, err := Attenuate(Stack{parent}, agent, Grant{Holder: sub.Public()}, crNow)
	if err != nil || s.Leaf().IssuedAt != parent.IssuedAt {
		t.Fatalf("Attenuate at the parent's issue time: %v", err)
	}
}

// Rule 3: an empty All is invalid and denies, as a constraint (an evaluation
// error, so Not cannot invert it) and on either side of a delegation.
func TestRuleEmptyAllDenies(t *testing.T) {
	root, agent, sub := azKey(t, 0x61), azKey(t, 0x62), azKey(t, 0x63)
	roots := []PublicKey{root.Public()}
	set := func(c Constraint) ConstraintSet { return ConstraintSet{Constraints: map[string]Constraint{"a": c}} }

	// The builder refuses to mint one, at any depth of nesting.
	for _, c := range []Constraint{&All{}, &Not{Constraint: &All{}}, &Any{Constraints: []Constraint{&Exact{Value: "x"}, &All{}}}} {
		if _, err := Mint(root, Grant{Holder: agent.Public(), Tools: map[string]ConstraintSet{"t": set(c)}}, crNow); err == nil || !strings.Contains(err.Error(), "empty All") {
			t.Errorf("Mint with %s: %v", c, err)
		}
	}

	// As a constraint of a warrant signed anyway.
	w := crSign(t, root, crRootPayload(root, agent.Public(), map[string]ConstraintSet{
		"all":     set(&All{}),
		"not_all": set(&Not{Constraint: &All{}}),
		"any":     set(&Any{}),
		"not_any": set(&Not{Constraint: &Any{}}),
	}))
	for _, v := range []string{`"x"`, `1`, `null`, `[]`, `{}`} {
		args := `{"a":` + v + `}`
		d := crDeny(t, crCheck(t, roots, Stack{w}, agent, "all", args), ErrConstraint, CodeConstraintViolation, "All([]) on "+v)
		if !strings.Contains(d.Message, "empty All") || d.Arg != "a" {
			t.Errorf("All([]) denial should name the argument and the rule: %v", d)
		}
		crDeny(t, crCheck(t, roots, Stack{w}, agent, "not_all", args), ErrConstraint, CodeConstraintViolation, "Not(All([])) on "+v)
		crDeny(t, crCheck(t, roots, Stack{w}, agent, "any", args), ErrConstraint, CodeConstraintViolation, "Any([]) on "+v)
		// Tenuo's Any([]) is a plain non-match, so Not(Any([])) matches.
		crAllow(t, crCheck(t, roots, Stack{w}, agent, "not_any", args), "Not(Any([])) on "+v)
	}

	// A parent All([]) narrowed to anything.
	pw := crSign(t, root, crRootPayload(root, agent.Public(), map[string]ConstraintSet{"t": set(&All{})}))
	for _, c := range []Constraint{&Exact{Value: "x"}, &All{Constraints: []Constraint{&Exact{Value: "x"}}}, &Pattern{Pattern: "x"}} {
		p := crChildPayload(pw, sub.Public())
		p.Tools = map[string]ConstraintSet{"t": set(c)}
		s := Stack{pw, crSign(t, agent, p)}
		d := crDeny(t, crCheck(t, roots, s, sub, "t", `{"a":"x"}`), ErrAttenuation, CodeCapabilityExpansion, "parent All([]) to "+c.String())
		if !strings.Contains(d.Message, "empty All") {
			t.Errorf("denial should name the rule: %v", d)
		}
		_, err := Attenuate(Stack{pw}, agent, Grant{Holder: sub.Public(), Tools: p.Tools}, crNow)
		crErrCode(t, err, ErrAttenuation, CodeCapabilityExpansion, "Attenuate from All([]) to "+c.String())
	}

	// A child narrowed to All([]): under a constrained parent, under a
	// Wildcard, and on an argument an open parent set leaves free.
	for _, parentSet := range []ConstraintSet{set(&Pattern{Pattern: "*"}), set(&Wildcard{}), {}} {
		pw := crSign(t, root, crRootPayload(root, agent.Public(), map[string]ConstraintSet{"t": set(&Wildcard{}), "u": parentSet}))
		p := crChildPayload(pw, sub.Public())
		p.Tools = map[string]ConstraintSet{"t": set(&Exact{Value: "x"}), "u": set(&All{})}
		s := Stack{pw, crSign(t, agent, p)}
		// The call is to "t", whose constraint passes: the chain refuses.
		crDeny(t, crCheck(t, roots, s, sub, "t", `{"a":"x"}`), ErrAttenuation, CodeCapabilityExpansion, "child All([]) under "+fmt.Sprint(parentSet.Constraints))
		// A call to "u" is refused by the leaf's own constraint first.
		crDeny(t, crCheck(t, roots, s, sub, "u", `{"a":"x"}`), ErrConstraint, CodeConstraintViolation, "call under child All([])")
		_, err := Attenuate(Stack{pw}, agent, Grant{Holder: sub.Public(), Tools: p.Tools}, crNow)
		if err == nil || !strings.Contains(err.Error(), "empty All") {
			t.Errorf("Attenuate to All([]): %v", err)
		}
	}

	// An issuer warrant without bounds cannot issue one either.
	iw := crSign(t, root, &Payload{Version: 1, Type: Issuer, Holder: agent.Public(), Issuer: root.Public(),
		IssuedAt: uint64(crNow.Unix()), ExpiresAt: uint64(crNow.Unix()) + 3600, MaxDepth: 3, IssuableTools: []string{"t", "u"}})
	p := crChildPayload(iw, sub.Public())
	p.Type, p.IssuableTools, p.Tools = Execution, nil, map[string]ConstraintSet{"t": set(&Exact{Value: "x"}), "u": set(&All{})}
	crDeny(t, crCheck(t, roots, Stack{iw, crSign(t, agent, p)}, sub, "t", `{"a":"x"}`), ErrAttenuation, CodeCapabilityExpansion, "issuer to child All([])")
}

// Rule 4: a child may not introduce a clearance its parent did not have, nor
// raise one.
func TestRuleClearanceNotIntroduced(t *testing.T) {
	root, agent, sub := azKey(t, 0x71), azKey(t, 0x72), azKey(t, 0x73)
	roots := []PublicKey{root.Public()}
	const args = `{"path":"/data/a"}`
	u8 := func(v uint8) *uint8 { return &v }

	for _, tc := range []struct {
		name          string
		parent, child *uint8
		allow         bool
		rule          string
	}{
		{"introduced", nil, u8(50), false, "introduces clearance 50"},
		{"introduced at zero", nil, u8(0), false, "introduces clearance 0"},
		{"raised", u8(30), u8(50), false, "rises from 30 to 50"},
		{"kept", u8(30), u8(30), true, ""},
		{"lowered", u8(30), u8(10), true, ""},
		{"dropped", u8(30), nil, true, ""},
		{"none", nil, nil, true, ""},
	} {
		pp := crRootPayload(root, agent.Public(), crTools())
		pp.Clearance = tc.parent
		parent := crSign(t, root, pp)
		cp := crChildPayload(parent, sub.Public())
		cp.Clearance = tc.child
		d := crCheck(t, roots, Stack{parent, crSign(t, agent, cp)}, sub, "read_file", args)
		g := Grant{Holder: sub.Public(), Clearance: tc.child}
		_, attErr := Attenuate(Stack{parent}, agent, g, crNow)
		if tc.allow {
			crAllow(t, d, tc.name)
			if attErr != nil {
				t.Errorf("%s: Attenuate refused: %v", tc.name, attErr)
			}
			continue
		}
		den := crDeny(t, d, ErrAttenuation, CodeCapabilityExpansion, tc.name)
		if !strings.Contains(den.Message, tc.rule) {
			t.Errorf("%s: message %q lacks %q", tc.name, den.Message, tc.rule)
		}
		crErrCode(t, attErr, ErrAttenuation, CodeCapabilityExpansion, tc.name+" (Attenuate)")
	}

	// Issuer → execution: the same rule.
	iw := crSign(t, root, &Payload{Version: 1, Type: Issuer, Holder: agent.Public(), Issuer: root.Public(),
		IssuedAt: uint64(crNow.Unix()), ExpiresAt: uint64(crNow.Unix()) + 3600, MaxDepth: 3, IssuableTools: []string{"read_file"}})
	p := crChildPayload(iw, sub.Public())
	p.Type, p.IssuableTools, p.Tools, p.Clearance = Execution, nil, crTools(), u8(50)
	crDeny(t, crCheck(t, roots, Stack{iw, crSign(t, agent, p)}, sub, "read_file", args), ErrAttenuation, CodeCapabilityExpansion, "issuer introduces clearance")
}

// crDeepChain builds a chain of depths 0…n with Attenuate (max_depth 64).
func crDeepChain(t *testing.T, n int) (Stack, []*SigningKey) {
	t.Helper()
	keys := make([]*SigningKey, n+2)
	for i := range keys {
		keys[i] = azKey(t, byte(0x80+i))
	}
	maxDepth := uint64(MaxChainDepth)
	w, err := Mint(keys[0], Grant{Holder: keys[1].Public(), Tools: crTools(), TTL: time.Hour, MaxDepth: &maxDepth}, crNow)
	if err != nil {
		t.Fatal(err)
	}
	s := Stack{w}
	for d := 1; d <= n; d++ {
		if s, err = Attenuate(s, keys[d], Grant{Holder: keys[d+1].Public()}, crNow); err != nil {
			t.Fatalf("depth %d: %v", d, err)
		}
	}
	return s, keys
}

// Rule 5: depth 64 is reachable: a chain of depths 0…64 is 65 warrants, and
// it decodes and verifies in every presentation form.
func TestRuleDepth64Reachable(t *testing.T) {
	s, keys := crDeepChain(t, MaxChainDepth)
	if len(s) != 65 || s.Leaf().Depth != 64 {
		t.Fatalf("chain of %d warrants, leaf depth %d", len(s), s.Leaf().Depth)
	}
	if n := len(s.Bytes()); n > MaxStackBytes {
		t.Fatalf("the chain is %d bytes, over the stack limit", n)
	}
	roots := []PublicKey{keys[0].Public()}
	leafKey := keys[len(s)]
	d := crCheck(t, roots, s, leafKey, "read_file", `{"path":"/data/a"}`)
	crAllow(t, d, "depth 0…64")
	if d.Depth != 64 {
		t.Errorf("leaf depth %d", d.Depth)
	}
	az, err := NewAuthorizer(Config{TrustedRoots: roots, Now: func() time.Time { return crNow }})
	if err != nil {
		t.Fatal(err)
	}
	var blocks strings.Builder
	for _, w := range s {
		blocks.WriteString(w.PEM())
	}
	for name, text := range map[string][]byte{"CBOR": s.Bytes(), "base64": []byte(s.Base64()), "chain PEM": []byte(s.PEM()), "warrant PEM blocks": []byte(blocks.String())} {
		if vc, err := az.VerifyStack(text, crNow); err != nil || vc.Leaf().Depth != 64 {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Nothing deeper: the builder stops at 64 and a 66-warrant stack is too
	// large to decode.
	_, err = Attenuate(s, leafKey, Grant{Holder: keys[0].Public()}, crNow)
	crErrCode(t, err, ErrAttenuation, CodeDepthExceeded, "Attenuate beyond depth 64")
	over := append(append(Stack{}, s...), s.Leaf())
	crDeny(t, crCheck(t, roots, over, leafKey, "read_file", `{"path":"/data/a"}`), ErrTooLarge, CodeChainTooLarge, "66 warrants")
	if _, err := ParseText(over.PEM()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("66 warrants as PEM: %v", err)
	}
	var more strings.Builder
	more.WriteString(blocks.String())
	more.WriteString(s.Leaf().PEM())
	if _, err := ParseText(more.String()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("66 PEM blocks: %v", err)
	}
}

// TestDenialNeverQuotesArgumentValue: a constraint denial names the tool, the
// argument and the rule; the value, which may be a secret, is only in
// Denial.Value and Denial.Detail.
func TestDenialNeverQuotesArgumentValue(t *testing.T) {
	const secret = "sk-live-7Hq2ZpX9vR4mW8tL"
	const secretNum = 987654321987
	cases := []struct {
		family string
		c      Constraint
		value  any
		needle string // what must not appear; default secret
	}{
		{"Exact", &Exact{Value: "public"}, secret, ""},
		{"Exact wrong type", &Exact{Value: int64(1)}, secret, ""},
		{"Pattern", &Pattern{Pattern: "/data/*"}, "/home/u/.aws/credentials/" + secret, ""},
		{"Pattern wrong type", &Pattern{Pattern: "/data/*"}, []any{secret}, ""},
		{"Range", azRange(0, 10), int64(secretNum), fmt.Sprint(secretNum)},
		{"Range float", azRange(0, 10), 4242.4242, "4242.4242"},
		{"Range wrong type", azRange(0, 10), secret, ""},
		{"OneOf", &OneOf{Values: []any{"a", "b"}}, secret, ""},
		{"Regex", &Regex{Pattern: "^public-"}, secret, ""},
		{"NotOneOf under Not", &Not{Constraint: &NotOneOf{Excluded: []any{"public"}}}, secret, ""},
		{"Cidr", &CIDR{Network: "10.0.0.0/8"}, "203.0.113.77", "203.0.113.77"},
		{"Cidr unparsable", &CIDR{Network: "10.0.0.0/8"}, secret, ""},
		{"UrlPattern", &URLPattern{Pattern: "https://api.example.com/*"}, "https://evil.example.net/cb?token=" + secret, ""},
		{"Contains", &Contains{Required: []any{"approved"}}, []any{secret}, ""},
		{"Subset", &Subset{Allowed: []any{"read"}}, []any{"read", secret}, ""},
		{"All", &All{Constraints: []Constraint{&Pattern{Pattern: "/data/*"}, &Not{Constraint: &Pattern{Pattern: "*.key"}}}}, "/data/" + secret + ".key", ""},
		{"All empty", &All{}, secret, ""},
		{"Any", &Any{Constraints: []Constraint{&Exact{Value: "a"}, &Pattern{Pattern: "/pub/*"}}}, secret, ""},
		{"Any empty", &Any{}, secret, ""},
		{"Not", &Not{Constraint: &Pattern{Pattern: "/private/*"}}, "/private/" + secret, ""},
		{"Cel", &CEL{Expression: "value == 'public'"}, secret, ""},
		{"Cel on an object", &CEL{Expression: "token == 'public'"}, map[string]any{"token": secret}, ""},
		{"Cel evaluation error", &CEL{Expression: "value < 10"}, secret, ""},
		{"Subpath", &Subpath{Root: "/data"}, "/etc/" + secret, ""},
		{"Subpath relative", &Subpath{Root: "/data"}, "rel/" + secret, ""},
		{"UrlSafe", &URLSafe{Schemes: []string{"https"}}, "https://127.0.0.1/?k=" + secret, ""},
		{"UrlSafe unparsable", &URLSafe{Schemes: []string{"https"}}, "not a url " + secret, ""},
		{"Shlex", &Shlex{Allow: []string{"ls"}}, "cat /home/" + secret, ""},
		{"Shlex operator", &Shlex{Allow: []string{"ls"}}, "ls; echo " + secret, ""},
		{"Unknown", &UnknownConstraint{TypeID: 99, Raw: []byte{0xf6}}, secret, ""},
	}
	root, agent := azKey(t, 0x91), azKey(t, 0x92)
	tools := map[string]ConstraintSet{}
	for i, c := range cases {
		if err := c.c.validate(); err != nil {
			t.Fatalf("%s: %v", c.family, err)
		}
		tools[fmt.Sprintf("t%02d", i)] = ConstraintSet{Constraints: map[string]Constraint{"a": c.c}}
	}
	tools["closed"] = ConstraintSet{Constraints: map[string]Constraint{"a": &Wildcard{}}}
	w := crSign(t, root, crRootPayload(root, agent.Public(), tools))
	az, err := NewAuthorizer(Config{TrustedRoots: []PublicKey{root.Public()}, Now: func() time.Time { return crNow }})
	if err != nil {
		t.Fatal(err)
	}
	clean := func(t *testing.T, d *Denial, needle string) {
		t.Helper()
		for what, text := range map[string]string{"Message": d.Message, "Error()": d.Error(), "Err": fmt.Sprint(d.Err)} {
			if strings.Contains(text, needle) {
				t.Errorf("%s quotes the argument value: %s", what, text)
			}
		}
	}
	for i, c := range cases {
		t.Run(c.family, func(t *testing.T) {
			needle := c.needle
			if needle == "" {
				needle = secret
			}
			tool := fmt.Sprintf("t%02d", i)
			args, err := json.Marshal(map[string]any{"a": c.value})
			if err != nil {
				t.Fatal(err)
			}
			dec := az.Check(&Request{Warrant: []byte(Stack{w}.Base64()), Tool: tool, Args: args})
			d := crDeny(t, dec, ErrConstraint, CodeConstraintViolation, c.family)
			clean(t, d, needle)
			if d.Tool != tool || d.Arg != "a" || !strings.Contains(d.Message, `tool "`+tool+`"`) ||
				!strings.Contains(d.Message, `argument "a"`) || !strings.Contains(d.Message, c.c.Type().String()) {
				t.Errorf("denial should name the tool, the argument and the rule: %v (tool %q arg %q)", d, d.Tool, d.Arg)
			}
			if !strings.Contains(d.Value, needle) || d.Detail == "" {
				t.Errorf("the value belongs in Denial.Value (%q) with the reason in Detail (%q)", d.Value, d.Detail)
			}
			// The tool-less form (tenuo-mcp verify) is as clean.
			canon, err := CanonicalArgs(args)
			if err != nil {
				t.Fatal(err)
			}
			err = checkConstraints(w.Tools[tool], canon, crNow)
			clean(t, crErrCode(t, err, ErrConstraint, CodeConstraintViolation, "checkConstraints"), needle)
			err = checkToolConstraints(tool, w.Tools[tool], canon, crNow)
			if d2 := crErrCode(t, err, ErrConstraint, CodeConstraintViolation, "checkToolConstraints"); d2.Message != d.Message {
				t.Errorf("checkToolConstraints says %q, Check says %q", d2.Message, d.Message)
			}
		})
	}
	t.Run("unknown argument", func(t *testing.T) {
		args := []byte(`{"a":1,"` + "extra" + `":"` + secret + `"}`)
		d := crDeny(t, az.Check(&Request{Warrant: []byte(Stack{w}.Base64()), Tool: "closed", Args: args}), ErrConstraint, CodeConstraintViolation, "unknown argument")
		clean(t, d, secret)
		if d.Arg != "extra" {
			t.Errorf("arg %q", d.Arg)
		}
	})
}

// A child deeper than its own max_depth is refused in a chain, as Tenuo's
// verify_link refuses it (invariant I2), and the builder will not make one;
// the same child within its max_depth verifies.
func TestRuleChildWithinItsOwnMaxDepth(t *testing.T) {
	root, agent, sub := azKey(t, 0x51), azKey(t, 0x52), azKey(t, 0x53)
	rootP := crRootPayload(root, agent.Public(), crTools())
	rootP.MaxDepth = 5
	w0 := crSign(t, root, rootP)
	const ok = `{"path":"/data/a"}`
	roots := []PublicKey{root.Public()}

	for _, tc := range []struct {
		maxDepth uint64
		allowed  bool
	}{{0, false}, {1, true}, {5, true}} {
		cp := crChildPayload(w0, sub.Public())
		cp.MaxDepth = tc.maxDepth
		s := Stack{w0, crSign(t, agent, cp)}
		what := fmt.Sprintf("depth 1, own max_depth %d", tc.maxDepth)
		d := crCheck(t, roots, s, sub, "read_file", ok)
		if tc.allowed {
			crAllow(t, d, what)
			continue
		}
		den := crDeny(t, d, ErrBrokenChain, CodeDepthExceeded, what)
		if !strings.Contains(den.Message, "its own max_depth") {
			t.Errorf("%s: denial %q should say the child exceeds its own max_depth", what, den.Message)
		}
	}

	zero := uint64(0)
	_, err := Attenuate(Stack{w0}, agent, Grant{Holder: sub.Public(), MaxDepth: &zero}, crNow)
	crErrCode(t, err, ErrBrokenChain, CodeDepthExceeded, "builder: child at depth 1 with max_depth 0")
}
