package authz

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// mapStore is a ReplayStore in a map, for tests; err, when set, fails
// every claim.
type mapStore struct {
	mu   sync.Mutex
	keys map[string]time.Duration // guarded by mu
	err  error
}

func (m *mapStore) Claim(key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if _, ok := m.keys[key]; ok {
		return false, nil
	}
	m.keys[key] = ttl
	return true, nil
}

// TestReplayGuardStore: with a shared store, two authorizers (two
// replicas) refuse a PoP the other has seen; a store that fails refuses
// the call as an internal error; idempotent tools never reach the store.
func TestReplayGuardStore(t *testing.T) {
	store := &mapStore{keys: map[string]time.Duration{}}
	withStore := func(c *Config) {
		c.Replay = NewReplayGuard(0, 0, []string{"ping"})
		c.Replay.SetStore(store)
	}
	a := newAzFixture(t, nil, withStore)
	b := newAzFixture(t, nil, withStore)
	if b.az.ReplayGuard() == nil || a.az.ReplayGuard() == b.az.ReplayGuard() {
		t.Fatal("ReplayGuard does not return each authorizer's guard")
	}
	req := a.call(t, Stack{a.warrant}, "read_file", `{"path":"/data/a"}`)
	if d := a.az.Check(req); !d.Allowed {
		t.Fatal(d.Denial)
	}
	azWantDeny(t, b.az.Check(req), ErrPoP, CodePopExpired)
	for k, ttl := range store.keys {
		if ttl != (PoPMaxWindows+1)*PoPWindowSeconds*time.Second || len(k) < 40 {
			t.Fatalf("stored %q for %v", k, ttl)
		}
	}
	// Explain with a store does not claim, nor foresee.
	if d := b.az.Explain(req); d == nil {
		t.Fatal("no decision")
	}
	ping := a.call(t, Stack{a.warrant}, "ping", `{}`)
	store.err = errors.New("connection refused")
	for i := 0; i < 2; i++ {
		if d := b.az.Check(ping); !d.Allowed {
			t.Fatalf("idempotent tool with the store down: %v", d.Denial)
		}
	}
	fresh := a.call(t, Stack{a.warrant}, "read_file", `{"path":"/data/b"}`)
	azWantDeny(t, a.az.Check(fresh), ErrInternal, CodeInvalidEnvelopeStructure)
	// Back to memory.
	a.az.ReplayGuard().SetStore(nil)
	store.err = nil
	if d := a.az.Check(fresh); !d.Allowed {
		t.Fatal(d.Denial)
	}
}

// grantStore is mapStore with retry grants (a RetryStore).
type grantStore struct {
	mapStore
	grants map[string]bool
}

func (g *grantStore) Grant(key string, _ time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	g.grants[key] = true
	return nil
}

func (g *grantStore) Take(key string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return false, g.err
	}
	ok := g.grants[key]
	delete(g.grants, key)
	return ok, nil
}

// TestReplayGuardRetryGrants: a PoP seen before passes once more only with
// the exact state a grant names; in memory, in a shared RetryStore (seen by
// every replica), and with a plain shared store (the grant then stays with
// the replica that made it: another refuses the retry).
func TestReplayGuardRetryGrants(t *testing.T) {
	st := func(v string) RequestState { return RequestState{Present: true, Value: v} }
	type setup struct {
		name  string
		store func() ReplayStore
		// other is whether a second replica sharing the store honours the
		// first one's grant.
		other bool
	}
	for _, s := range []setup{
		{"memory", nil, false},
		{"retry store", func() ReplayStore {
			return &grantStore{mapStore: mapStore{keys: map[string]time.Duration{}}, grants: map[string]bool{}}
		}, true},
		{"plain store", func() ReplayStore { return &mapStore{keys: map[string]time.Duration{}} }, false},
	} {
		t.Run(s.name, func(t *testing.T) {
			var store ReplayStore
			if s.store != nil {
				store = s.store()
			}
			withGuard := func(c *Config) {
				c.Replay = NewReplayGuard(0, 0, []string{"ping"})
				if store != nil {
					c.Replay.SetStore(store)
				}
			}
			a := newAzFixture(t, nil, withGuard)
			req := a.call(t, Stack{a.warrant}, "read_file", `{"path":"/data/a"}`)
			d := a.az.Check(req)
			if !d.Allowed {
				t.Fatal(d.Denial)
			}
			g := a.az.ReplayGuard()
			retry := func(state RequestState) *Decision {
				r := *req
				r.RequestState = state
				return a.az.Check(&r)
			}
			// No grant: every replay refused, whatever state it carries.
			for _, state := range []RequestState{{}, st(""), st("RS1")} {
				azWantDeny(t, retry(state), ErrPoP, CodePopExpired)
			}
			if err := g.AllowRetry(d.WarrantID, "read_file", req.Signature, st("RS1"), a.now); err != nil {
				t.Fatal(err)
			}
			// Explain foresees the grant (memory only) without using it.
			if s.store == nil {
				r := *req
				r.RequestState = st("RS1")
				if e := a.az.Explain(&r).Decision; !e.Allowed {
					t.Fatalf("Explain with a grant: %v", e.Denial)
				}
			}
			azWantDeny(t, retry(st("RS2")), ErrPoP, CodePopExpired)
			azWantDeny(t, retry(RequestState{}), ErrPoP, CodePopExpired)
			granted := func() *Decision { return retry(st("RS1")) }
			if store != nil {
				// A second replica sharing the store, trusting the same root.
				b := newAzFixture(t, nil, withGuard)
				r := *req
				r.RequestState = st("RS1")
				if s.other {
					granted = func() *Decision { return b.az.Check(&r) }
				} else {
					azWantDeny(t, b.az.Check(&r), ErrPoP, CodePopExpired)
				}
			}
			if d := granted(); !d.Allowed {
				t.Fatalf("retry with the granted state: %v", d.Denial)
			}
			azWantDeny(t, retry(st("RS1")), ErrPoP, CodePopExpired)
			// A grant for a state that is absent is not one for "".
			if err := g.AllowRetry(d.WarrantID, "read_file", req.Signature, RequestState{}, a.now); err != nil {
				t.Fatal(err)
			}
			azWantDeny(t, retry(st("")), ErrPoP, CodePopExpired)
			if d := retry(RequestState{}); !d.Allowed {
				t.Fatalf("retry without a state: %v", d.Denial)
			}
			// Bad input grants nothing.
			if err := g.AllowRetry("tnu_wrt_zz", "read_file", req.Signature, st("x"), a.now); err == nil {
				t.Fatal("a malformed warrant id was granted")
			}
			if err := g.AllowRetry(d.WarrantID, "read_file", req.Signature[:10], st("x"), a.now); err == nil {
				t.Fatal("a short signature was granted")
			}
		})
	}
}

// TestReplayGuardRetryGrantsBounded: a guard full of live grants grants
// no more (the retry is then refused as a replay: fail closed).
func TestReplayGuardRetryGrantsBounded(t *testing.T) {
	g := NewReplayGuard(2, time.Minute, nil)
	now := time.Unix(1_800_000_000, 0)
	id := WarrantID{1}.String()
	sig := make([]byte, SignatureSize)
	for i := 0; i < 2; i++ {
		if err := g.AllowRetry(id, "t", sig, RequestState{Present: true, Value: string(rune('a' + i))}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.AllowRetry(id, "t", sig, RequestState{Present: true, Value: "c"}, now); err == nil {
		t.Fatal("a full guard granted a retry")
	}
	// Expired grants make room.
	if err := g.AllowRetry(id, "t", sig, RequestState{Present: true, Value: "c"}, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Idempotent tools need no grant.
	if err := NewReplayGuard(1, 0, []string{"t"}).AllowRetry("bad", "t", nil, RequestState{}, now); err != nil {
		t.Fatal(err)
	}
}
