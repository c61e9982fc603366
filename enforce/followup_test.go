package enforce

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// TestFollowup: what Check and Visible leave in a Followup: the listing's
// bound (the warrant's remaining life; 0 without a verified warrant; none
// under the "all" policy), a retry grant only for a claimed client PoP,
// and a re-check that follows the warrant's expiry.
func TestFollowup(t *testing.T) {
	clock := time.Unix(1_800_000_000, 0)
	now := func() time.Time { return clock }
	root, agent := fuKey(t, 1), fuKey(t, 2)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{"t": {}}}, clock)
	if err != nil {
		t.Fatal(err)
	}
	s := authz.Stack{w}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: now, Replay: authz.NewReplayGuard(0, 0, nil)})
	if err != nil {
		t.Fatal(err)
	}
	held, err := NewHeldWarrant(s, agent)
	if err != nil {
		t.Fatal(err)
	}
	p := &Point{Authorizer: az, Now: now}

	// Listings.
	for _, tc := range []struct {
		name     string
		env      *Envelope
		policy   ListPolicy
		bounded  bool
		min, max time.Duration
	}{
		{"a verified warrant bounds it", &Envelope{Warrant: s.Base64()}, ListWarrant, true, 59 * time.Minute, time.Hour},
		{"no warrant: 0", nil, ListWarrant, true, 0, 0},
		{"a bad warrant: 0", &Envelope{Warrant: "nope"}, ListWarrant, true, 0, 0},
		{"list all: unbounded", nil, ListAll, false, 0, 0},
	} {
		t.Run("list/"+tc.name, func(t *testing.T) {
			f := &Followup{}
			lp := &Point{Authorizer: az, Now: now, ListPolicy: tc.policy}
			lp.Visible(WithFollowup(context.Background(), f), &ListCall{Envelope: tc.env})
			left, bounded := f.ListTTL()
			if bounded != tc.bounded || left < tc.min || left > tc.max {
				t.Fatalf("ListTTL = %v, %v", left, bounded)
			}
		})
	}

	sign := func() *Envelope {
		canon, _ := authz.CanonicalArgs([]byte(`{}`))
		sig, err := authz.SignPoP(agent, w.ID, "t", canon, clock)
		if err != nil {
			t.Fatal(err)
		}
		return &Envelope{Warrant: s.Base64(), Signature: base64.RawURLEncoding.EncodeToString(sig[:]), Source: SourceMeta}
	}
	check := func(f *Followup, env *Envelope, h *HeldWarrant) *Result {
		return p.Check(WithFollowup(context.Background(), f), &Call{Tool: "t", Envelope: env, Held: h})
	}

	// A client PoP: one retry granted for exactly the state.
	env := sign()
	f := &Followup{}
	if r := check(f, env, nil); r.Verdict != Allow {
		t.Fatal(r.Denial)
	}
	if !f.Rechecks() || f.Recheck() != nil {
		t.Fatal("an allowed call leaves no re-check")
	}
	st := RequestState{Present: true, Value: "S"}
	if err := f.AllowRetry(st); err != nil {
		t.Fatal(err)
	}
	if r := check(&Followup{RequestState: RequestState{Present: true, Value: "T"}}, env, nil); r.Verdict != Deny {
		t.Fatal("a retry with another state passed")
	}
	if r := check(&Followup{RequestState: st}, env, nil); r.Verdict != Allow {
		t.Fatalf("the granted retry: %v", r.Denial)
	}
	if r := check(&Followup{RequestState: st}, env, nil); r.Verdict != Deny {
		t.Fatal("a second retry passed")
	}
	if r := p.Check(context.Background(), &Call{Tool: "t", Envelope: env}); r.Verdict != Deny {
		t.Fatal("a replay without a followup passed")
	}

	// A held warrant: no PoP claimed, so nothing to grant; the re-check
	// still follows the warrant.
	f = &Followup{}
	if r := check(f, nil, held); r.Verdict != Allow {
		t.Fatal(r.Denial)
	}
	if err := f.AllowRetry(st); err != nil {
		t.Fatalf("held: %v", err)
	}
	clock = clock.Add(2 * time.Hour)
	if f.Recheck() == nil {
		t.Fatal("the re-check passed past the warrant's expiry")
	}

	// A denied call leaves nothing.
	f = &Followup{}
	if r := check(f, sign(), nil); r.Verdict != Deny {
		t.Fatal("an expired warrant allowed")
	}
	if f.Rechecks() || f.AllowRetry(st) != nil {
		t.Fatal("a denied call left a follow-up")
	}
	if left, b := (&Followup{}).ListTTL(); !b || left != 0 {
		t.Fatal("a listing Visible never saw is not bounded to 0")
	}
	var nilF *Followup
	if _, b := nilF.ListTTL(); b || nilF.Recheck() != nil || nilF.AllowRetry(st) != nil || nilF.Rechecks() {
		t.Fatal("a nil Followup is not inert")
	}
}

func fuKey(t *testing.T, b byte) *authz.SigningKey {
	t.Helper()
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = b
	}
	k, err := authz.NewSigningKeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
