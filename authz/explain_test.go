package authz

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// explainCases are requests that fail in one or several steps, over the
// fixture's warrant (read_file path=/data/*, search, ping), with the code
// Check must return and the steps Explain must report failed or skipped.
func explainCases(t *testing.T, fx *azFixture) []struct {
	name    string
	req     *Request
	code    Code // 0: allowed
	failed  []Step
	skipped []Step
} {
	s := Stack{fx.warrant}
	good := fx.call(t, s, "read_file", `{"path":"/data/a.txt"}`)
	with := func(f func(r *Request)) *Request {
		r := *good
		f(&r)
		return &r
	}
	forged := Stack{azForge(t, fx.warrant)}
	return []struct {
		name    string
		req     *Request
		code    Code
		failed  []Step
		skipped []Step
	}{
		{"allowed", good, 0, nil, nil},
		{"tool not granted", fx.call(t, s, "delete_file", `{"path":"/data/a"}`), CodeToolNotAuthorized, []Step{StepTool}, []Step{StepConstraints}},
		{"constraint violated", fx.call(t, s, "read_file", `{"path":"/etc/passwd"}`), CodeConstraintViolation, []Step{StepConstraints}, nil},
		{"constraint and PoP", with(func(r *Request) { r.Args = []byte(`{"path":"/etc/passwd"}`) }), CodeConstraintViolation, []Step{StepConstraints, StepPoP}, nil},
		{"tool, PoP and forged chain", func() *Request {
			r := fx.call(t, forged, "delete_file", `{}`)
			r.Signature = nil
			return r
		}(), CodeToolNotAuthorized, []Step{StepTool, StepChain, StepPoP}, []Step{StepConstraints}},
		{"forged chain", fx.call(t, forged, "read_file", `{"path":"/data/a.txt"}`), CodeSignatureInvalid, []Step{StepChain}, nil},
		{"malformed arguments", with(func(r *Request) { r.Args = []byte(`{"path":"/data/a","path":"/data/b"}`) }), CodePopChallengeInvalid,
			[]Step{StepArguments}, []Step{StepConstraints, StepPoP, StepApprovals}},
		{"no warrant", with(func(r *Request) { r.Warrant = nil }), CodeInvalidEnvelopeStructure, []Step{StepDecode},
			[]Step{StepTool, StepConstraints, StepRevocation, StepChain, StepPoP, StepApprovals}},
		{"garbage warrant", with(func(r *Request) { r.Warrant = []byte("not a warrant!") }), CodeInvalidEnvelopeStructure, []Step{StepDecode},
			[]Step{StepTool, StepConstraints, StepRevocation, StepChain, StepPoP, StepApprovals}},
		{"too large", with(func(r *Request) { r.Warrant = bytes.Repeat([]byte("A"), maxPresentedBytes+1) }), CodeChainTooLarge, []Step{StepSize},
			[]Step{StepDecode, StepTool, StepArguments, StepConstraints, StepRevocation, StepChain, StepPoP, StepApprovals}},
		{"expired and stale PoP", with(func(r *Request) { r.Now = fx.now.Add(3 * time.Hour) }), CodeWarrantExpired, []Step{StepChain, StepPoP}, nil},
	}
}

// TestExplainIsCheck: Explain's decision is Check's on every request (same
// verdict, code, message and chain fields), its first failed step is Check's
// denial, and it reports the later failures too.
func TestExplainIsCheck(t *testing.T) {
	for _, cached := range []bool{false, true} {
		fx := newAzFixture(t, nil, nil)
		// A second authorizer of the same configuration explains.
		explainer, err := NewAuthorizer(Config{TrustedRoots: []PublicKey{fx.root.Public()}, Now: func() time.Time { return fx.now }})
		if err != nil {
			t.Fatal(err)
		}
		if cached {
			warm := fx.call(t, Stack{fx.warrant}, "ping", `{}`)
			fx.az.Check(warm)
			explainer.Check(warm)
		}
		for _, c := range explainCases(t, fx) {
			d := fx.az.Check(c.req)
			e := explainer.Explain(c.req)
			name := c.name
			if cached {
				name += " (cached)"
			}
			if d.Allowed != (c.code == 0) || !d.Allowed && d.Denial.Code != c.code {
				t.Errorf("%s: Check: %+v %v, want code %d", name, d, d.Denial, c.code)
				continue
			}
			ed := e.Decision
			if ed.Allowed != d.Allowed || ed.WarrantID != d.WarrantID || ed.ChainVerified != d.ChainVerified ||
				ed.Cached != d.Cached || ed.Root != d.Root || ed.Depth != d.Depth {
				t.Errorf("%s: Explain decides %+v, Check %+v", name, ed, d)
			}
			if !d.Allowed && (ed.Denial.Code != d.Denial.Code || ed.Denial.Message != d.Denial.Message ||
				ed.Denial.Arg != d.Denial.Arg || ed.Denial.Tool != d.Denial.Tool || ed.Denial.WarrantID != d.Denial.WarrantID) {
				t.Errorf("%s: Explain denies %v, Check %v", name, ed.Denial, d.Denial)
			}
			var first *Denial
			failed, skipped := map[Step]bool{}, map[Step]bool{}
			for _, r := range e.Steps {
				switch {
				case r.Denial != nil:
					failed[r.Step] = true
					if first == nil {
						first = r.Denial
					}
					if r.Denial.Tool != c.req.Tool {
						t.Errorf("%s: step %s's denial does not name the tool: %+v", name, r.Step, r.Denial)
					}
				case r.Skipped != "":
					skipped[r.Step] = true
				}
			}
			if first != ed.Denial {
				t.Errorf("%s: the first failed step (%v) is not the decision's denial (%v)", name, first, ed.Denial)
			}
			for _, s := range c.failed {
				if !failed[s] {
					t.Errorf("%s: step %s should fail: %+v", name, s, e.Steps)
				}
			}
			for _, s := range c.skipped {
				if !skipped[s] {
					t.Errorf("%s: step %s should be skipped: %+v", name, s, e.Steps)
				}
			}
			if len(failed) != len(c.failed) {
				t.Errorf("%s: failed steps %v, want %v", name, failed, c.failed)
			}
			if len(skipped) != len(c.skipped) {
				t.Errorf("%s: skipped steps %v, want %v", name, skipped, c.skipped)
			}
			if len(e.Steps) != 9 {
				t.Errorf("%s: %d steps, want 9 (no replay guard): %+v", name, len(e.Steps), e.Steps)
			}
		}
	}
}

// TestExplainStepOrder: the steps come in Check's order, a cached chain's
// revocation and time checks first.
func TestExplainStepOrder(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	req := fx.call(t, Stack{fx.warrant}, "ping", `{}`)
	order := func() []Step {
		var o []Step
		for _, r := range fx.az.Explain(req).Steps {
			o = append(o, r.Step)
		}
		return o
	}
	fresh := []Step{StepSize, StepDecode, StepTool, StepArguments, StepConstraints, StepRevocation, StepChain, StepPoP, StepApprovals}
	if got := order(); !equalSteps(got, fresh) {
		t.Fatalf("fresh order %v, want %v", got, fresh)
	}
	cached := []Step{StepSize, StepDecode, StepRevocation, StepChain, StepTool, StepArguments, StepConstraints, StepPoP, StepApprovals}
	if got := order(); !equalSteps(got, cached) {
		t.Fatalf("cached order %v, want %v", got, cached)
	}
	if r, ok := fx.az.Explain(req).Result(StepReplay); ok {
		t.Fatalf("a replay step without a guard: %+v", r)
	}
}

func equalSteps(a, b []Step) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestExplainUsesConfiguration: revocation, strict session and clock
// tolerance are the authorizer's, in Explain as in Check.
func TestExplainUsesConfiguration(t *testing.T) {
	revoked := map[WarrantID]bool{}
	fx := newAzFixture(t, nil, func(c *Config) {
		c.Revoked = func(id WarrantID) bool { return revoked[id] }
		c.ClockTolerance = 10 * time.Minute
	})
	req := fx.call(t, Stack{fx.warrant}, "ping", `{}`)
	revoked[fx.warrant.ID] = true
	e := fx.az.Explain(req)
	if r, _ := e.Result(StepRevocation); r.Denial == nil || r.Denial.Code != CodeWarrantRevoked {
		t.Fatalf("revocation step: %+v", r)
	}
	if r, _ := e.Result(StepChain); !r.OK() {
		t.Fatalf("the chain itself holds: %+v", r)
	}
	if e.Decision.Allowed || e.Decision.Denial.Code != CodeWarrantRevoked || e.Decision.ChainVerified {
		t.Fatalf("decision: %+v %v", e.Decision, e.Decision.Denial)
	}
	revoked[fx.warrant.ID] = false
	// Five minutes past expiry is within this authorizer's tolerance (the
	// PoP is signed for that time too).
	late := fx.now.Add(time.Hour + 5*time.Minute)
	canon, _ := CanonicalArgs([]byte(`{}`))
	sig, _ := SignPoP(fx.holder, fx.warrant.ID, "ping", canon, late)
	lr := &Request{Warrant: req.Warrant, Tool: "ping", Signature: sig[:], Now: late}
	if e := fx.az.Explain(lr); !e.Decision.Allowed {
		t.Fatalf("within the configured tolerance: %v", e.Decision.Denial)
	}
	if d := fx.az.Check(lr); !d.Allowed {
		t.Fatalf("Check within the configured tolerance: %v", d.Denial)
	}
}

// TestExplainLeavesReplayGuard: Explain tells whether a PoP was seen but
// records none, so explaining a call does not use it up.
func TestExplainLeavesReplayGuard(t *testing.T) {
	fx := newAzFixture(t, nil, func(c *Config) { c.Replay = NewReplayGuard(0, 0, nil) })
	req := fx.call(t, Stack{fx.warrant}, "read_file", `{"path":"/data/a"}`)
	for i := 0; i < 3; i++ {
		e := fx.az.Explain(req)
		if r, ok := e.Result(StepReplay); !ok || !r.OK() || !e.Decision.Allowed {
			t.Fatalf("explain %d: %+v %v", i, r, e.Decision.Denial)
		}
	}
	if d := fx.az.Check(req); !d.Allowed {
		t.Fatalf("Check after Explain: %v", d.Denial)
	}
	e := fx.az.Explain(req)
	if r, _ := e.Result(StepReplay); r.Denial == nil || r.Denial.Code != CodePopExpired || e.Decision.Allowed {
		t.Fatalf("explain after use: %+v", r)
	}
	azWantDeny(t, fx.az.Check(req), ErrPoP, CodePopExpired)
	self := *req
	self.SelfSigned = true
	if r, _ := fx.az.Explain(&self).Result(StepReplay); r.Skipped == "" {
		t.Fatalf("a self-signed PoP is not checked for replay: %+v", r)
	}
}

// TestChainVerifiedFromCache: with the chain cached (checked first), a tool
// denial comes after the chain check and names an authentic warrant.
func TestChainVerifiedFromCache(t *testing.T) {
	fx := newAzFixture(t, nil, nil)
	s := Stack{fx.warrant}
	if d := fx.az.Check(fx.call(t, s, "delete_file", `{}`)); d.ChainVerified || d.Cached {
		t.Fatalf("uncached tool denial: %+v", d)
	}
	fx.az.Check(fx.call(t, s, "ping", `{}`))
	d := fx.az.Check(fx.call(t, s, "delete_file", `{}`))
	if !d.Cached || !d.ChainVerified || d.Root != fx.root.Public() || !errors.Is(d.Denial, ErrToolNotAuthorized) {
		t.Fatalf("cached tool denial: %+v %v", d, d.Denial)
	}
}
