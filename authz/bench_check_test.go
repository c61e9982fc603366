package authz

import (
	mrand "math/rand"
	"testing"
	"time"
)

// benchFixture returns an authorizer and a signed request over a chain of
// depth warrants (depth 1 = a root alone), with two constraints on the tool.
func benchFixture(b testing.TB, depth int, cacheSize int) (*Authorizer, *Request) {
	b.Helper()
	now := time.Unix(1_800_000_000, 0)
	root := azKey(b, 0x01)
	keys := []*SigningKey{azKey(b, 0x10)}
	w, err := Mint(root, Grant{Holder: keys[0].Public(), TTL: time.Hour, Tools: map[string]ConstraintSet{
		"search": {Constraints: map[string]Constraint{
			"query": &Pattern{Pattern: "report-*"},
			"limit": azRange(1, 100),
		}},
	}}, now)
	if err != nil {
		b.Fatal(err)
	}
	s := Stack{w}
	for i := 1; i < depth; i++ {
		k := azKey(b, byte(0x10+i))
		if s, err = Attenuate(s, keys[i-1], Grant{Holder: k.Public()}, now); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, k)
	}
	args := []byte(`{"query":"report-2026","limit":10}`)
	canon, err := CanonicalArgs(args)
	if err != nil {
		b.Fatal(err)
	}
	sig, err := SignPoP(keys[len(keys)-1], s.Leaf().ID, "search", canon, now)
	if err != nil {
		b.Fatal(err)
	}
	az, err := NewAuthorizer(Config{TrustedRoots: []PublicKey{root.Public()}, Now: func() time.Time { return now }, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Warrant: s.Bytes(), Tool: "search", Args: args, Signature: sig[:]}
	if d := az.Check(req); !d.Allowed {
		b.Fatalf("fixture call denied: %v", d.Denial)
	}
	return az, req
}

// BenchmarkCheckWarm: Check with the chain cached: PoP + two constraints.
func BenchmarkCheckWarm(b *testing.B) {
	az, req := benchFixture(b, 1, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := az.Check(req); !d.Allowed || !d.Cached {
			b.Fatal(d.Denial)
		}
	}
}

// BenchmarkCheckColdDepth4: a freshly presented stack of four warrants (root
// and three delegations) plus PoP: five signatures, decoding included, with
// the cache disabled.
func BenchmarkCheckColdDepth4(b *testing.B) {
	az, req := benchFixture(b, 4, -1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := az.Check(req); !d.Allowed || d.Cached {
			b.Fatal(d.Denial)
		}
	}
}

// BenchmarkDenyUnknownTool: a call for a tool the cached warrant does not
// grant; no signature is checked.
func BenchmarkDenyUnknownTool(b *testing.B) {
	az, req := benchFixture(b, 1, 0)
	r := *req
	r.Tool = "delete_everything"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := az.Check(&r); d.Allowed {
			b.Fatal("allowed")
		}
	}
}

// TestDelegationProperty: for random delegations that the builder accepts,
// every call the child allows its parent allows too.
func TestDelegationProperty(t *testing.T) {
	now := azNow
	root, holder, sub := azKey(t, 0x41), azKey(t, 0x42), azKey(t, 0x43)
	pool := []func() Constraint{
		func() Constraint { return &Pattern{Pattern: "/data/*"} },
		func() Constraint { return &Pattern{Pattern: "/data/reports/*"} },
		func() Constraint { return &Pattern{Pattern: "*"} },
		func() Constraint { return &Exact{Value: "/data/a"} },
		func() Constraint { return &Exact{Value: int64(5)} },
		func() Constraint { return &OneOf{Values: []any{"/data/a", "/etc/x", int64(5)}} },
		func() Constraint { return &OneOf{Values: []any{"/data/a"}} },
		func() Constraint { return azRange(0, 10) },
		func() Constraint { return azRange(2, 6) },
		func() Constraint { return &Wildcard{} },
		func() Constraint { return &NotOneOf{Excluded: []any{"/etc/x"}} },
	}
	values := []any{"/data/a", "/data/reports/q", "/etc/x", int64(5), int64(20), 3.5, "x", nil}
	rng := newTestRand(7)
	accepted := 0
	for i := 0; i < 600; i++ {
		pc := map[string]Constraint{"p": pool[rng.Intn(len(pool))]()}
		if rng.Intn(2) == 0 {
			pc["q"] = pool[rng.Intn(len(pool))]()
		}
		parentSet := ConstraintSet{Constraints: pc, AllowUnknown: rng.Intn(4) == 0}
		pw, err := Mint(root, Grant{Holder: holder.Public(), Tools: map[string]ConstraintSet{"t": parentSet}}, now)
		if err != nil {
			t.Fatal(err)
		}
		cc := map[string]Constraint{}
		for k := range pc {
			cc[k] = pool[rng.Intn(len(pool))]()
		}
		if rng.Intn(3) == 0 {
			cc["r"] = pool[rng.Intn(len(pool))]()
		}
		childSet := ConstraintSet{Constraints: cc, AllowUnknown: rng.Intn(4) == 0}
		s, err := Attenuate(Stack{pw}, holder, Grant{Holder: sub.Public(), Tools: map[string]ConstraintSet{"t": childSet}}, now)
		if err != nil {
			continue
		}
		accepted++
		for j := 0; j < 40; j++ {
			fields := map[string]any{}
			for _, k := range []string{"p", "q", "r", "z"} {
				if rng.Intn(3) > 0 {
					fields[k] = values[rng.Intn(len(values))]
				}
			}
			childOK := checkConstraints(s.Leaf().Tools["t"], fields, now) == nil
			parentOK := checkConstraints(pw.Tools["t"], fields, now) == nil
			if childOK && !parentOK {
				t.Fatalf("child %v allows %v, parent %v denies", childSet.Constraints, fields, parentSet.Constraints)
			}
		}
	}
	if accepted < 30 {
		t.Fatalf("only %d of 600 random delegations were accepted: the property was barely exercised", accepted)
	}
	t.Logf("%d delegations accepted", accepted)
}

// newTestRand returns a seeded math/rand source for property tests.
func newTestRand(seed int64) *mrand.Rand { return mrand.New(mrand.NewSource(seed)) }
