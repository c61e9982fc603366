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
