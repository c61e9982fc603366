package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// azFixture is a root key, a holder key, a minted warrant and an authorizer
// whose clock is fixed.
type azFixture struct {
	root, holder *SigningKey
	warrant      *Warrant
	now          time.Time
	az           *Authorizer
}

var azNow = time.Unix(1_800_000_000, 0)

func azKey(t testing.TB, b byte) *SigningKey {
	t.Helper()
	k, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func azRange(lo, hi float64) *Range {
	return &Range{Min: &lo, Max: &hi}
}

func azTools() map[string]ConstraintSet {
	return map[string]ConstraintSet{
		"read_file": {Constraints: map[string]Constraint{"path": &Pattern{Pattern: "/data/*"}}},
		"search": {Constraints: map[string]Constraint{
			"query": &Pattern{Pattern: "*"},
			"limit": azRange(1, 50),
		}},
		"ping": {},
	}
}

func newAzFixture(t testing.TB, mutate func(*Grant), cfg func(*Config)) *azFixture {
	t.Helper()
	fx := &azFixture{root: azKey(t, 0xa1), holder: azKey(t, 0xb2), now: azNow}
	g := Grant{Holder: fx.holder.Public(), Tools: azTools(), TTL: time.Hour}
	if mutate != nil {
		mutate(&g)
	}
	w, err := Mint(fx.root, g, fx.now)
	if err != nil {
		t.Fatal(err)
	}
	fx.warrant = w
	c := Config{TrustedRoots: []PublicKey{fx.root.Public()}, Now: func() time.Time { return fx.now }}
	if cfg != nil {
		cfg(&c)
	}
	if fx.az, err = NewAuthorizer(c); err != nil {
		t.Fatal(err)
	}
	return fx
}

// call builds a request for tool with JSON args, signed by the holder.
func (fx *azFixture) call(t testing.TB, s Stack, tool, args string) *Request {
	t.Helper()
	canon, err := CanonicalArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := SignPoP(fx.holderOf(s), s.Leaf().ID, tool, canon, fx.now)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Warrant: []byte(s.Base64()), Tool: tool, Args: []byte(args), Signature: sig[:]}
}

// holderOf returns the key that holds s's leaf (the fixture holder by default).
func (fx *azFixture) holderOf(s Stack) *SigningKey {
	for _, k := range azExtraKeys {
		if k.Public() == s.Leaf().Holder {
			return k
		}
	}
	return fx.holder
}

var azExtraKeys []*SigningKey

func azWantDeny(t *testing.T, d *Decision, sentinel error, code Code) *Denial {
	t.Helper()
	if d.Allowed || d.Denial == nil {
		t.Fatalf("want deny (%v), got allow", sentinel)
	}
	if !errors.Is(d.Denial, sentinel) || d.Denial.Code != code {
		t.Fatalf("want %v / %d, got %v (code %d)", sentinel, code, d.Denial, d.Denial.Code)
	}
	if d.Denial.Message == "" || d.Denial.Code.Name() == "" {
		t.Fatalf("denial without message: %#v", d.Denial)
	}
	return d.Denial
}

func TestCheckAllowsAndCaches(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	s := Stack{fx.warrant}
	req := fx.call(t, s, "search", `{"query":"tenuo","limit":10}`)
	d := fx.az.Check(req)
	if !d.Allowed || d.Cached {
		t.Fatalf("first call: %+v %v", d, d.Denial)
	}
	if d.WarrantID != fx.warrant.ID.String() || d.Root != fx.root.Public() || d.Depth != 0 {
		t.Fatalf("decision fields: %+v", d)
	}
	d = fx.az.Check(req)
	if !d.Allowed || !d.Cached {
		t.Fatalf("second call should be allowed from the cache: %+v %v", d, d.Denial)
	}
	// The same warrant as raw CBOR and as PEM decodes to the same decision.
	for _, form := range [][]byte{s.Bytes(), []byte(s.PEM())} {
		r := *req
		r.Warrant = form
		if d := fx.az.Check(&r); !d.Allowed {
			t.Fatalf("form %q: %v", form[:8], d.Denial)
		}
	}
	// 1.0 is signed and checked as the integer 1.
	if d := fx.az.Check(fx.call(t, s, "search", `{"query":"x","limit":1.0}`)); !d.Allowed {
		t.Fatal(d.Denial)
	}
}

func TestCheckDenials(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	s := Stack{fx.warrant}
	good := fx.call(t, s, "read_file", `{"path":"/data/a.txt"}`)
	cases := []struct {
		name     string
		req      func() *Request
		sentinel error
		code     Code
		arg      string
	}{
		{"tool not granted", func() *Request { return fx.call(t, s, "delete_file", `{"path":"/data/a"}`) }, ErrToolNotAuthorized, CodeToolNotAuthorized, ""},
		{"constraint violated", func() *Request { return fx.call(t, s, "read_file", `{"path":"/etc/passwd"}`) }, ErrConstraint, CodeConstraintViolation, "path"},
		{"argument missing", func() *Request { return fx.call(t, s, "read_file", `{}`) }, ErrConstraint, CodeConstraintViolation, "path"},
		{"unknown argument (closed world)", func() *Request { return fx.call(t, s, "read_file", `{"path":"/data/a","mode":"w"}`) }, ErrConstraint, CodeConstraintViolation, "mode"},
		{"range exceeded", func() *Request { return fx.call(t, s, "search", `{"query":"q","limit":51}`) }, ErrConstraint, CodeConstraintViolation, "limit"},
		{"range wrong type", func() *Request { return fx.call(t, s, "search", `{"query":"q","limit":"5"}`) }, ErrConstraint, CodeConstraintViolation, "limit"},
		{"arguments tampered after signing", func() *Request {
			r := *good
			r.Args = []byte(`{"path":"/data/b.txt"}`)
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"signature of wrong length", func() *Request {
			r := *good
			r.Signature = r.Signature[:63]
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"no signature", func() *Request {
			r := *good
			r.Signature = nil
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"signed by another key", func() *Request {
			canon, _ := CanonicalArgs([]byte(`{"path":"/data/a.txt"}`))
			sig, _ := SignPoP(azKey(t, 0xee), fx.warrant.ID, "read_file", canon, fx.now)
			r := *good
			r.Signature = sig[:]
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"signed for another tool", func() *Request {
			canon, _ := CanonicalArgs([]byte(`{"path":"/data/a.txt"}`))
			sig, _ := SignPoP(fx.holder, fx.warrant.ID, "write_file", canon, fx.now)
			r := *good
			r.Signature = sig[:]
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"PoP outside the window", func() *Request {
			canon, _ := CanonicalArgs([]byte(`{"path":"/data/a.txt"}`))
			sig, _ := SignPoP(fx.holder, fx.warrant.ID, "read_file", canon, fx.now.Add(-3*time.Minute))
			r := *good
			r.Signature = sig[:]
			return &r
		}, ErrPoP, CodePopSignatureInvalid, ""},
		{"malformed arguments", func() *Request {
			r := *good
			r.Args = []byte(`{"path":"/data/a.txt","path":"/data/b"}`)
			return &r
		}, ErrBadArguments, CodePopChallengeInvalid, "path"},
		{"no warrant", func() *Request {
			r := *good
			r.Warrant = nil
			return &r
		}, ErrMalformed, CodeInvalidEnvelopeStructure, ""},
		{"garbage warrant", func() *Request {
			r := *good
			r.Warrant = []byte("not a warrant!")
			return &r
		}, ErrMalformed, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := fx.az.Check(c.req())
			if d.Allowed {
				t.Fatal("allowed")
			}
			if !errors.Is(d.Denial, c.sentinel) {
				t.Fatalf("want %v, got %v", c.sentinel, d.Denial)
			}
			if c.code != 0 && d.Denial.Code != c.code {
				t.Fatalf("want code %d, got %d (%v)", c.code, d.Denial.Code, d.Denial)
			}
			if d.Denial.Arg != c.arg {
				t.Fatalf("want arg %q, got %q", c.arg, d.Denial.Arg)
			}
			if d.Denial.Tool == "" {
				t.Fatal("denial does not name the tool")
			}
		})
	}
	if d := fx.az.Check(good); !d.Allowed {
		t.Fatalf("the good call must still pass: %v", d.Denial)
	}
}

// TestCheckCheapChecksFirst shows that tool and constraint denials come
// before any signature check: a forged warrant is refused for its tool or
// argument, not for its signature.
func TestCheckCheapChecksFirst(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	forged := azForge(t, fx.warrant)
	s := Stack{forged}
	if d := fx.az.Check(fx.call(t, s, "delete_file", `{}`)); !errors.Is(d.Denial, ErrToolNotAuthorized) {
		t.Fatalf("want tool denial first, got %v", d.Denial)
	}
	if d := fx.az.Check(fx.call(t, s, "read_file", `{"path":"/etc/x"}`)); !errors.Is(d.Denial, ErrConstraint) {
		t.Fatalf("want constraint denial first, got %v", d.Denial)
	}
	azWantDeny(t, fx.az.Check(fx.call(t, s, "read_file", `{"path":"/data/x"}`)), ErrBadSignature, CodeSignatureInvalid)
}

// azForge returns w with one signature byte flipped.
func azForge(t testing.TB, w *Warrant) *Warrant {
	t.Helper()
	sig := w.Signature()
	sig[10] ^= 0x40
	f, err := ParseWarrant(newWarrant(w.Payload, w.PayloadBytes(), sig).Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheckCacheHonoursTimeAndRevocation(t *testing.T) {
	revoked := map[WarrantID]bool{}
	fx := newAzFixture(t, nil, func(c *Config) {
		c.Revoked = func(id WarrantID) bool { return revoked[id] }
	})
	s := Stack{fx.warrant}
	if d := fx.az.Check(fx.call(t, s, "ping", `{}`)); !d.Allowed {
		t.Fatal(d.Denial)
	}
	revoked[fx.warrant.ID] = true
	azWantDeny(t, fx.az.Check(fx.call(t, s, "ping", `{}`)), ErrRevoked, CodeWarrantRevoked)
	revoked[fx.warrant.ID] = false
	fx.az.InvalidateCache()
	if d := fx.az.Check(fx.call(t, s, "ping", `{}`)); !d.Allowed || d.Cached {
		t.Fatalf("after invalidation the chain is verified again: %+v %v", d, d.Denial)
	}
	fx.now = fx.now.Add(2 * time.Hour)
	azWantDeny(t, fx.az.Check(fx.call(t, s, "ping", `{}`)), ErrExpired, CodeWarrantExpired)
}

func TestCheckUntrustedAndIssuer(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	other, err := NewAuthorizer(Config{TrustedRoots: []PublicKey{azKey(t, 0x33).Public()}, Now: func() time.Time { return fx.now }})
	if err != nil {
		t.Fatal(err)
	}
	azWantDeny(t, other.Check(fx.call(t, Stack{fx.warrant}, "ping", `{}`)), ErrUntrustedRoot, CodeUntrustedRoot)

	iw, err := Mint(fx.root, Grant{Type: Issuer, Holder: fx.holder.Public(), IssuableTools: []string{"ping"}}, fx.now)
	if err != nil {
		t.Fatal(err)
	}
	azWantDeny(t, fx.az.Check(fx.call(t, Stack{iw}, "ping", `{}`)), ErrToolNotAuthorized, CodeToolNotAuthorized)
	if _, err := NewAuthorizer(Config{}); err == nil {
		t.Fatal("an authorizer without roots must be refused")
	}
}

func TestCheckDelegatedChain(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	sub := azKey(t, 0xc3)
	azExtraKeys = append(azExtraKeys, sub)
	s, err := Attenuate(Stack{fx.warrant}, fx.holder, Grant{Holder: sub.Public(), Tools: map[string]ConstraintSet{
		"read_file": {Constraints: map[string]Constraint{"path": &Pattern{Pattern: "/data/reports/*"}}},
	}, TTL: 10 * time.Minute}, fx.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 2 || s.Leaf().Depth != 1 || s.Leaf().ExpiresAt != uint64(fx.now.Unix())+600 {
		t.Fatalf("child: %+v", s.Leaf().Payload)
	}
	d := fx.az.Check(fx.call(t, s, "read_file", `{"path":"/data/reports/q3.pdf"}`))
	if !d.Allowed || d.Depth != 1 {
		t.Fatalf("%+v %v", d, d.Denial)
	}
	azWantDeny(t, fx.az.Check(fx.call(t, s, "read_file", `{"path":"/data/secret"}`)), ErrConstraint, CodeConstraintViolation)
	azWantDeny(t, fx.az.Check(fx.call(t, s, "search", `{"query":"x","limit":1}`)), ErrToolNotAuthorized, CodeToolNotAuthorized)
	// The parent's holder signing for the child's call is refused.
	canon, _ := CanonicalArgs([]byte(`{"path":"/data/reports/q3.pdf"}`))
	sig, _ := SignPoP(fx.holder, s.Leaf().ID, "read_file", canon, fx.now)
	req := &Request{Warrant: s.Bytes(), Tool: "read_file", Args: []byte(`{"path":"/data/reports/q3.pdf"}`), Signature: sig[:]}
	azWantDeny(t, fx.az.Check(req), ErrPoP, CodePopSignatureInvalid)

	// Widening is refused by the builder, naming the rule.
	_, err = Attenuate(Stack{fx.warrant}, fx.holder, Grant{Holder: sub.Public(), Tools: map[string]ConstraintSet{
		"read_file": {Constraints: map[string]Constraint{"path": &Pattern{Pattern: "/*"}}},
	}}, fx.now)
	if !errors.Is(err, ErrAttenuation) {
		t.Fatalf("widening: want ErrAttenuation, got %v", err)
	}
	_, err = Attenuate(Stack{fx.warrant}, sub, Grant{Holder: sub.Public()}, fx.now)
	if err == nil {
		t.Fatal("a key that is not the holder must not attenuate")
	}
	_, err = Attenuate(Stack{fx.warrant}, fx.holder, Grant{Holder: fx.holder.Public()}, fx.now)
	if !errors.Is(err, ErrAttenuation) {
		t.Fatalf("self-delegation: %v", err)
	}
}

func TestAttenuateDepthLimit(t *testing.T) {
	one := uint64(1)
	fx := newAzFixture(t, func(g *Grant) { g.MaxDepth = &one }, nil)
	a, b := azKey(t, 0xd1), azKey(t, 0xd2)
	s, err := Attenuate(Stack{fx.warrant}, fx.holder, Grant{Holder: a.Public()}, fx.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Attenuate(s, a, Grant{Holder: b.Public()}, fx.now); !errors.Is(err, ErrAttenuation) {
		t.Fatalf("terminal warrant: want refusal, got %v", err)
	}
}

func TestReplayGuard(t *testing.T) {
	fx := newAzFixture(t, nil, func(c *Config) { c.Replay = NewReplayGuard(0, 0, []string{"ping"}) })
	s := Stack{fx.warrant}
	req := fx.call(t, s, "read_file", `{"path":"/data/a"}`)
	if d := fx.az.Check(req); !d.Allowed {
		t.Fatal(d.Denial)
	}
	azWantDeny(t, fx.az.Check(req), ErrPoP, CodePopExpired)
	ping := fx.call(t, s, "ping", `{}`)
	for i := 0; i < 3; i++ {
		if d := fx.az.Check(ping); !d.Allowed {
			t.Fatalf("idempotent tool, call %d: %v", i, d.Denial)
		}
	}
}

// TestReplayGuardKeepsDeniedPoP: a call denied after its PoP verified (here:
// approval required) does not use the PoP up; the retry with approvals passes.
func TestReplayGuardKeepsDeniedPoP(t *testing.T) {
	ap := azKey(t, 0x31)
	fx := newAzFixture(t, func(g *Grant) { g.RequiredApprovers = []PublicKey{ap.Public()} },
		func(c *Config) { c.Replay = NewReplayGuard(0, 0, nil) })
	req := fx.call(t, Stack{fx.warrant}, "read_file", `{"path":"/data/b"}`)
	azWantDeny(t, fx.az.Check(req), ErrApprovalRequired, CodeApprovalRequired)
	canon, _ := CanonicalArgs(req.Args)
	hash, _ := RequestHash(fx.warrant.ID, "read_file", canon, fx.holder.Public())
	a, _ := NewApproval(ap, hash, "", fx.now, time.Minute, nil)
	req.Approvals = [][]byte{a.Bytes()}
	if d := fx.az.Check(req); !d.Allowed {
		t.Fatalf("retry with approval: %v", d.Denial)
	}
	azWantDeny(t, fx.az.Check(req), ErrPoP, CodePopExpired)
}

func TestCheckNeverPanics(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	if d := fx.az.Check(nil); d.Allowed || !errors.Is(d.Denial, ErrMalformed) {
		t.Fatalf("nil request: %+v", d)
	}
	r := rand.New(rand.NewSource(1))
	base := fx.call(t, Stack{fx.warrant}, "search", `{"query":"q","limit":3}`)
	raw := fx.warrant.Bytes()
	for i := 0; i < 2000; i++ {
		req := *base
		w := append([]byte(nil), raw...)
		for j := 0; j < 1+r.Intn(4); j++ {
			w[r.Intn(len(w))] = byte(r.Intn(256))
		}
		req.Warrant = w
		if d := fx.az.Check(&req); d.Allowed {
			if !bytes.Equal(w, raw) {
				// A mutation that still verifies must leave the signed bytes intact.
				ws, err := ParseStack(w)
				if err != nil || !bytes.Equal(ws.Leaf().PayloadBytes(), fx.warrant.PayloadBytes()) {
					t.Fatalf("mutated warrant allowed: %x", w)
				}
			}
		}
	}
}

func TestApprovalsMultiSig(t *testing.T) {
	ap := []*SigningKey{azKey(t, 0x11), azKey(t, 0x12), azKey(t, 0x13)}
	two := uint64(2)
	fx := newAzFixture(t, func(g *Grant) {
		g.RequiredApprovers = []PublicKey{ap[0].Public(), ap[1].Public(), ap[2].Public()}
		g.MinApprovals = &two
	}, nil)
	s := Stack{fx.warrant}
	args := `{"path":"/data/payroll.csv"}`
	req := fx.call(t, s, "read_file", args)
	d := azWantDeny(t, fx.az.Check(req), ErrApprovalRequired, CodeApprovalRequired)
	canon, _ := CanonicalArgs([]byte(args))
	hash, err := RequestHash(fx.warrant.ID, "read_file", canon, fx.holder.Public())
	if err != nil {
		t.Fatal(err)
	}
	if d.Extra["request_hash"] != fmt.Sprintf("%x", hash) {
		t.Fatalf("denial carries request hash %v, want %x", d.Extra["request_hash"], hash)
	}
	approve := func(k *SigningKey, h [32]byte, at time.Time) []byte {
		a, err := NewApproval(k, h, "user@example.com", at, 5*time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		return a.Bytes()
	}
	with := func(approvals ...[]byte) *Request {
		r := *req
		r.Approvals = approvals
		return &r
	}
	azWantDeny(t, fx.az.Check(with(approve(ap[0], hash, fx.now))), ErrInsufficientApprovals, CodeInsufficientApprovals)
	if d := fx.az.Check(with(approve(ap[0], hash, fx.now), approve(ap[2], hash, fx.now))); !d.Allowed {
		t.Fatalf("2 of 3: %v", d.Denial)
	}
	azWantDeny(t, fx.az.Check(with(approve(ap[0], hash, fx.now), approve(ap[0], hash, fx.now))), ErrInsufficientApprovals, CodeInsufficientApprovals)
	outsider := azKey(t, 0x99)
	azWantDeny(t, fx.az.Check(with(approve(ap[0], hash, fx.now), approve(outsider, hash, fx.now))), ErrInsufficientApprovals, CodeInsufficientApprovals)
	other, _ := RequestHash(fx.warrant.ID, "read_file", map[string]any{"path": "/data/other"}, fx.holder.Public())
	azWantDeny(t, fx.az.Check(with(approve(ap[0], hash, fx.now), approve(ap[1], other, fx.now))), ErrInsufficientApprovals, CodeInsufficientApprovals)
	old := fx.now.Add(-time.Hour)
	azWantDeny(t, fx.az.Check(with(approve(ap[0], hash, fx.now), approve(ap[1], hash, old))), ErrInsufficientApprovals, CodeInsufficientApprovals)
	// Both approvals in one CBOR array work too.
	a0, _ := NewApproval(ap[0], hash, "", fx.now, time.Minute, nil)
	a1, _ := NewApproval(ap[1], hash, "", fx.now, time.Minute, nil)
	arr := append([]byte{0x82}, a0.Bytes()...)
	arr = append(arr, a1.Bytes()...)
	if d := fx.az.Check(with(arr)); !d.Allowed {
		t.Fatalf("array of approvals: %v", d.Denial)
	}
	azWantDeny(t, fx.az.Check(with([]byte{0x01, 0x02})), ErrInsufficientApprovals, CodeApprovalInvalid)

	// A child may not shed the approval requirement.
	sub := azKey(t, 0xc4)
	if c, err := Attenuate(s, fx.holder, Grant{Holder: sub.Public()}, fx.now); err != nil || approvalThreshold(&c.Leaf().Payload) != 2 {
		t.Fatalf("inherit: %v", err)
	}
	if _, err := Attenuate(s, fx.holder, Grant{Holder: sub.Public(), RequiredApprovers: []PublicKey{}}, fx.now); !errors.Is(err, ErrAttenuation) {
		t.Fatalf("an explicitly empty approver list must be refused: %v", err)
	}
	one := uint64(1)
	if _, err := Attenuate(s, fx.holder, Grant{Holder: sub.Public(), RequiredApprovers: []PublicKey{ap[0].Public()}, MinApprovals: &one}, fx.now); !errors.Is(err, ErrAttenuation) {
		t.Fatalf("dropping approvals: want refusal, got %v", err)
	}
}

func TestApprovalGates(t *testing.T) {
	ap := azKey(t, 0x21)
	// Gate read_file when path matches /data/secret/*; search is ungated.
	gate := azGateMap(t, map[string]string{"read_file": `{"path": [2, {"pattern": "/data/secret/*"}]}`})
	fx := newAzFixture(t, func(g *Grant) {
		g.RequiredApprovers = []PublicKey{ap.Public()}
		g.Extensions = map[string][]byte{ExtApprovalGates: gate}
	}, nil)
	s := Stack{fx.warrant}
	if d := fx.az.Check(fx.call(t, s, "read_file", `{"path":"/data/open.txt"}`)); !d.Allowed {
		t.Fatalf("ungated value: %v", d.Denial)
	}
	if d := fx.az.Check(fx.call(t, s, "search", `{"query":"x","limit":2}`)); !d.Allowed {
		t.Fatalf("ungated tool: %v", d.Denial)
	}
	req := fx.call(t, s, "read_file", `{"path":"/data/secret/k"}`)
	azWantDeny(t, fx.az.Check(req), ErrApprovalRequired, CodeApprovalRequired)
	canon, _ := CanonicalArgs(req.Args)
	hash, _ := RequestHash(fx.warrant.ID, "read_file", canon, fx.holder.Public())
	a, _ := NewApproval(ap, hash, "", fx.now, time.Minute, nil)
	req.Approvals = [][]byte{a.Bytes()}
	if d := fx.az.Check(req); !d.Allowed {
		t.Fatalf("approved: %v", d.Denial)
	}
}

// azGateMap encodes a tenuo.approval_gates map: tool → {"args": <args>},
// where args is JSON whose constraints are written [type_id, value].
func azGateMap(t *testing.T, gates map[string]string) []byte {
	t.Helper()
	m := map[string]any{}
	for tool, args := range gates {
		var v any
		if err := json.Unmarshal([]byte(args), &v); err != nil {
			t.Fatal(err)
		}
		m[tool] = map[string]any{"args": azIntegral(v)}
	}
	b, err := cbor.AppendValue(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// azIntegral turns integral float64s from encoding/json into int64s.
func azIntegral(v any) any {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	case []any:
		for i := range x {
			x[i] = azIntegral(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = azIntegral(x[k])
		}
	}
	return v
}

// TestNotOverFamilies: an ordinary non-match of every family is a plain
// non-match (Not turns it into a match), while hostile or unevaluable input
// stays an error that Not passes on (deny both ways).
func TestNotOverFamilies(t *testing.T) {
	cases := []struct {
		inner       Constraint
		outside     any // an ordinary value the inner constraint rejects
		unevaluable any // a value that must be denied by Not(inner) too
	}{
		{&Subpath{Root: "/data"}, "/etc/passwd", "relative/path"},
		{&URLPattern{Pattern: "https://*.example.com/*"}, "https://evil.com/x", "http://user@example.com/"},
		{&URLSafe{Schemes: []string{"https"}}, "https://127.0.0.1/", "not a url"},
		{&Shlex{Allow: []string{"ls"}}, "rm -rf /tmp/x", "ls; rm -rf /"},
		{&CEL{Expression: "value < 10"}, int64(20), "text"},
	}
	for _, c := range cases {
		if err := c.inner.validate(); err != nil {
			t.Fatalf("%s: %v", c.inner, err)
		}
		not := &Not{Constraint: c.inner}
		if err := not.Match(c.outside); err != nil {
			t.Errorf("Not(%s) should match %v: %v", c.inner, c.outside, err)
		}
		if err := c.inner.Match(c.unevaluable); err == nil {
			t.Errorf("%s should reject %v", c.inner, c.unevaluable)
		}
		if err := not.Match(c.unevaluable); err == nil {
			t.Errorf("Not(%s) must not match hostile or unevaluable %v", c.inner, c.unevaluable)
		}
	}
}

// TestGlobBudget: a forged warrant's constraints run before its signatures,
// so a pathological pattern × value is refused instead of burning CPU.
func TestGlobBudget(t *testing.T) {
	pat := &Pattern{Pattern: strings.Repeat("*a", 2048) + "b"}
	if err := pat.validate(); err != nil {
		t.Fatal(err)
	}
	err := pat.Match(strings.Repeat("a", 16<<10))
	if err == nil || isNoMatch(err) {
		t.Fatalf("want an evaluation error, got %v", err)
	}
	if err := (&Not{Constraint: pat}).Match(strings.Repeat("a", 16<<10)); err == nil {
		t.Fatal("Not over a refused evaluation must deny")
	}
	if err := pat.Match(strings.Repeat("a", 100) + "b"); err == nil || !isNoMatch(err) {
		t.Fatalf("ordinary values are still matched: %v", err)
	}
}

func TestVerifyStackSharesCache(t *testing.T) {
	revoked := false
	fx := newAzFixture(t, nil, func(c *Config) { c.Revoked = func(WarrantID) bool { return revoked } })
	text := []byte(Stack{fx.warrant}.Base64())
	if _, err := fx.az.VerifyStack(text, time.Time{}); err != nil {
		t.Fatal(err)
	}
	req := fx.call(t, Stack{fx.warrant}, "ping", `{}`)
	if d := fx.az.Check(req); !d.Allowed || !d.Cached {
		t.Fatalf("a chain verified for a list is cached for calls: %+v %v", d, d.Denial)
	}
	revoked = true
	if _, err := fx.az.VerifyStack(text, time.Time{}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("cached chain must still honour revocation: %v", err)
	}
	revoked = false
	if _, err := fx.az.VerifyStack(text, fx.now.Add(3*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("cached chain must still honour expiry: %v", err)
	}
	if _, err := fx.az.VerifyStack([]byte(Stack{azForge(t, fx.warrant)}.Base64()), time.Time{}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
}

// TestCheckCallWithoutArguments: a tools/call with no "arguments" at all is
// signed and checked as the empty object.
func TestCheckCallWithoutArguments(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	req := fx.call(t, Stack{fx.warrant}, "ping", `{}`)
	for _, args := range [][]byte{nil, []byte(""), []byte("  ")} {
		r := *req
		r.Args = args
		if d := fx.az.Check(&r); !d.Allowed {
			t.Fatalf("args %q: %v", args, d.Denial)
		}
	}
	r := *fx.call(t, Stack{fx.warrant}, "read_file", `{}`)
	r.Args = nil
	azWantDeny(t, fx.az.Check(&r), ErrConstraint, CodeConstraintViolation)
}

// TestMaxIssueDepthWithinMaxDepth mirrors Tenuo's payload rule: an issuer
// warrant's max_issue_depth may not exceed its max_depth.
func TestMaxIssueDepthWithinMaxDepth(t *testing.T) {
	root, holder := azKey(t, 0x61), azKey(t, 0x62)
	two, five := uint64(2), uint64(5)
	g := Grant{Type: Issuer, Holder: holder.Public(), IssuableTools: []string{"t"}, MaxDepth: &two, MaxIssueDepth: &five}
	if _, err := Mint(root, g, azNow); !errors.Is(err, ErrMalformed) {
		t.Fatalf("max_issue_depth above max_depth: %v", err)
	}
	g.MaxIssueDepth = &two
	if _, err := Mint(root, g, azNow); err != nil {
		t.Fatal(err)
	}
}

// TestDecisionChainVerified: ChainVerified says whether the denial (if any)
// came after the chain passed, so that an audit line knows whether the
// warrant id is authentic or only claimed.
func TestDecisionChainVerified(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	s := Stack{fx.warrant}
	good := fx.call(t, s, "read_file", `{"path":"/data/a.txt"}`)
	badPoP := *good
	badPoP.Args = []byte(`{"path":"/data/b.txt"}`)
	forged := fx.call(t, Stack{azForge(t, fx.warrant)}, "read_file", `{"path":"/data/a.txt"}`)
	cases := []struct {
		name     string
		req      *Request
		allowed  bool
		verified bool
	}{
		{"tool not granted", fx.call(t, s, "delete_file", `{}`), false, false},
		{"constraint violated", fx.call(t, s, "read_file", `{"path":"/etc/passwd"}`), false, false},
		{"forged chain", forged, false, false},
		{"allowed (fresh)", good, true, true},
		{"PoP failure with a good chain (cached)", &badPoP, false, true},
		{"allowed (cached)", good, true, true},
	}
	for _, c := range cases {
		d := fx.az.Check(c.req)
		if d.Allowed != c.allowed || d.ChainVerified != c.verified {
			t.Errorf("%s: allowed %v chain verified %v, want %v %v (%v)", c.name, d.Allowed, d.ChainVerified, c.allowed, c.verified, d.Denial)
		}
		if d.ChainVerified && d.Root != fx.root.Public() {
			t.Errorf("%s: a verified chain's root is not set", c.name)
		}
	}
	// Without a cache, a PoP failure still comes after a chain verified on
	// this call.
	nc := newAzFixture(t, nil, func(c *Config) { c.CacheSize = -1 })
	r := *nc.call(t, Stack{nc.warrant}, "read_file", `{"path":"/data/a.txt"}`)
	r.Signature = nil
	if d := nc.az.Check(&r); d.Allowed || !d.ChainVerified || d.Cached || !errors.Is(d.Denial, ErrPoP) {
		t.Fatalf("PoP failure, uncached: %+v %v", d, d.Denial)
	}
}

// checkConstraints checks fields against set at now, for no tool in
// particular.
func checkConstraints(set ConstraintSet, fields map[string]any, now time.Time) error {
	return checkConstraintSet("", set, fields, &evalContext{now: now})
}

// checkToolConstraints is checkConstraints for a call of tool.
func checkToolConstraints(tool string, set ConstraintSet, fields map[string]any, now time.Time) error {
	return checkConstraintSet(tool, set, fields, &evalContext{now: now})
}
