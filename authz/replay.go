package authz

import (
	"sync"
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
	if g == nil || g.idempotent[tool] || len(sig) != SignatureSize {
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
