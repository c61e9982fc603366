package authz

import (
	"encoding/base64"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayGuard denies a proof of possession presented twice (opt-in; Tenuo
// itself accepts a PoP again within its ±60 s window). Ed25519 signatures
// are deterministic, so the same (warrant, tool, arguments, window) always
// yields the same signature: the guard remembers (warrant id, signature)
// pairs for as long as the PoP could verify. Tools declared idempotent are
// exempt. It is bounded: when full of live entries it denies (fail closed).
type ReplayGuard struct {
	max        int
	ttl        time.Duration
	idempotent map[string]bool

	mu   sync.Mutex
	seen map[replayKey]time.Time // guarded by mu; value: when the entry expires

	store atomic.Pointer[storeRef] // when set, PoPs are recorded there instead of in seen
}

// ReplayStore records proofs of possession where every replica of an
// enforcement point sees them (Redis, for one), so that a PoP used at one
// replica is refused at the others. The in-memory guard is the default for
// one replica.
type ReplayStore interface {
	// Claim records key for ttl, atomically, and reports whether it was
	// not recorded already (false: a replay). An error, such as the store
	// being unreachable, refuses the call (fail closed); a store that is
	// to fail open must say so itself and answer true.
	Claim(key string, ttl time.Duration) (fresh bool, err error)
}

type storeRef struct{ s ReplayStore }

// SetStore makes the guard record PoPs in s instead of in memory (nil: back
// to memory). Set it before the guard's first check. With a store, Explain
// does not foresee a replay (it would need to record to know).
func (g *ReplayGuard) SetStore(s ReplayStore) {
	if s == nil {
		g.store.Store(nil)
		return
	}
	g.store.Store(&storeRef{s})
}

// storeKey is the shared store's key of a PoP: the warrant id and the
// signature (deterministic for one warrant, tool, arguments and window).
func storeKey(id WarrantID, sig []byte) string {
	return id.String() + ":" + base64.RawURLEncoding.EncodeToString(sig)
}

type replayKey struct {
	id  WarrantID
	sig [SignatureSize]byte
}

// DefaultReplayEntries bounds a ReplayGuard made with max 0.
const DefaultReplayEntries = 100_000

// NewReplayGuard returns a guard holding at most max entries (0: 100000),
// each for ttl (0: the PoP acceptance span, 5 windows of 30 s plus 30 s).
func NewReplayGuard(max int, ttl time.Duration, idempotentTools []string) *ReplayGuard {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	if ttl <= 0 {
		ttl = (PoPMaxWindows + 1) * PoPWindowSeconds * time.Second
	}
	g := &ReplayGuard{max: max, ttl: ttl, idempotent: map[string]bool{}, seen: map[replayKey]time.Time{}}
	for _, t := range idempotentTools {
		g.idempotent[t] = true
	}
	return g
}

// seenBefore denies the PoP when it was seen before, as check would, without
// recording it (for Explain; a full guard's refusal is not foreseen).
func (g *ReplayGuard) seenBefore(id WarrantID, tool string, sig []byte, now time.Time) error {
	if g == nil || g.idempotent[tool] || len(sig) != SignatureSize || g.store.Load() != nil {
		return nil
	}
	var k replayKey
	k.id = id
	copy(k.sig[:], sig)
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[k]; ok && now.Before(exp) {
		return replayed(tool)
	}
	return nil
}

func replayed(tool string) *Denial {
	return deny(CodePopExpired, ErrPoP, "proof of possession replayed: this exact signature was already used for %q", tool)
}

// check records the PoP and denies it when it was seen before.
func (g *ReplayGuard) check(id WarrantID, tool string, sig []byte, now time.Time) error {
	if g == nil || g.idempotent[tool] || len(sig) != SignatureSize {
		return nil
	}
	if ref := g.store.Load(); ref != nil {
		fresh, err := ref.s.Claim(storeKey(id, sig), g.ttl)
		switch {
		case err != nil:
			return deny(CodeInvalidEnvelopeStructure, ErrInternal, "replay store unavailable: call refused (%v)", err)
		case !fresh:
			return replayed(tool)
		}
		return nil
	}
	var k replayKey
	k.id = id
	copy(k.sig[:], sig)
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[k]; ok && now.Before(exp) {
		return replayed(tool)
	}
	if len(g.seen) >= g.max {
		for key, exp := range g.seen {
			if !now.Before(exp) {
				delete(g.seen, key)
			}
		}
		if len(g.seen) >= g.max {
			return deny(CodePopExpired, ErrPoP, "replay guard is full (%d live entries): call refused", g.max)
		}
	}
	g.seen[k] = now.Add(g.ttl)
	return nil
}
