package authz

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
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
	// grants are the retries AllowRetry let through once more (guarded by
	// mu; value: when the grant expires), when no RetryStore holds them.
	grants    map[grantKey]time.Time
	maxGrants int

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

// RetryStore is a ReplayStore that also keeps retry grants (AllowRetry)
// where every replica sees them, so that a retry may reach any replica.
// With a store that is not a RetryStore, grants stay in the memory of the
// guard that made them: a retry reaching another replica is refused as a
// replay (fail closed).
type RetryStore interface {
	ReplayStore
	// Grant records key for ttl (a later Take finds it once).
	Grant(key string, ttl time.Duration) error
	// Take removes key atomically and reports whether it was recorded and
	// live. An error refuses the call, as Claim's does.
	Take(key string) (found bool, err error)
}

// RequestState is the requestState an MCP call carries (2026-07-28): a
// call the server answered with an input_required result is retried with
// the same arguments, hence the same proof of possession, plus the opaque
// requestState the server returned. Present is false when the call
// carries none.
type RequestState struct {
	Present bool
	Value   string
}

// digest is what a retry grant keeps of the state: presence and value,
// hashed, so that a large opaque state costs the guard 32 bytes.
func (st RequestState) digest() [sha256.Size]byte {
	h := sha256.New()
	if st.Present {
		h.Write([]byte{1})
		h.Write([]byte(st.Value))
	} else {
		h.Write([]byte{0})
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

type grantKey struct {
	replayKey
	state [sha256.Size]byte
}

// grantStoreKey is the shared store's key of a retry grant.
func grantStoreKey(id WarrantID, sig []byte, st RequestState) string {
	d := st.digest()
	return storeKey(id, sig) + ":retry:" + base64.RawURLEncoding.EncodeToString(d[:])
}

// parseWarrantID reads a warrant id in its text form (WarrantID.String).
func parseWarrantID(s string) (WarrantID, bool) {
	var id WarrantID
	if !strings.HasPrefix(s, WarrantIDPrefix) {
		return id, false
	}
	b, err := hex.DecodeString(s[len(WarrantIDPrefix):])
	if err != nil || len(b) != len(id) {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// DefaultRetryGrants bounds the retry grants a guard keeps in memory.
const DefaultRetryGrants = 10_000

// AllowRetry lets a proof of possession already seen pass the replay check
// once more, and only for a call carrying exactly state: the server
// answered the call carrying this PoP with an input_required result and
// that requestState (absent when state.Present is false), and the client
// is to retry that call with the same PoP (MCP 2026-07-28). warrantID is
// the leaf's id as Decision.WarrantID gives it; tool is the warrant tool.
// A call carrying another state, or a second retry with this one, is
// refused as a replay; each input_required answer allows one retry. The
// grant lives as long as the PoP could verify. Nothing is granted for an
// idempotent tool (it is never refused as a replay). An error (the grants
// are full, the shared store failed) leaves the retry to be refused.
func (g *ReplayGuard) AllowRetry(warrantID, tool string, sig []byte, state RequestState, now time.Time) error {
	if g == nil || g.idempotent[tool] {
		return nil
	}
	id, ok := parseWarrantID(warrantID)
	if !ok || len(sig) != SignatureSize {
		return fmt.Errorf("retry grant: no PoP to grant a retry of (warrant id %q, %d-byte signature)", warrantID, len(sig))
	}
	if ref := g.store.Load(); ref != nil {
		if rs, ok := ref.s.(RetryStore); ok {
			if err := rs.Grant(grantStoreKey(id, sig, state), g.ttl); err != nil {
				return fmt.Errorf("retry grant: replay store: %w", err)
			}
			return nil
		}
	}
	k := grantKey{state: state.digest()}
	k.id = id
	copy(k.sig[:], sig)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.grants == nil {
		g.grants = map[grantKey]time.Time{}
	}
	if _, ok := g.grants[k]; !ok && len(g.grants) >= g.maxGrants {
		for key, exp := range g.grants {
			if !now.Before(exp) {
				delete(g.grants, key)
			}
		}
		if len(g.grants) >= g.maxGrants {
			return fmt.Errorf("retry grant: %d live grants, the most the guard keeps", g.maxGrants)
		}
	}
	g.grants[k] = now.Add(g.ttl)
	return nil
}

// takeGrantLocked consumes the in-memory grant for k and state; g.mu held.
func (g *ReplayGuard) takeGrantLocked(k replayKey, state RequestState, now time.Time) bool {
	gk := grantKey{replayKey: k, state: state.digest()}
	exp, ok := g.grants[gk]
	if !ok {
		return false
	}
	delete(g.grants, gk)
	return now.Before(exp)
}

// hasGrantLocked is takeGrantLocked without consuming (for Explain).
func (g *ReplayGuard) hasGrantLocked(k replayKey, state RequestState, now time.Time) bool {
	exp, ok := g.grants[grantKey{replayKey: k, state: state.digest()}]
	return ok && now.Before(exp)
}

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
	g := &ReplayGuard{max: max, ttl: ttl, idempotent: map[string]bool{}, seen: map[replayKey]time.Time{}, maxGrants: min(max, DefaultRetryGrants)}
	for _, t := range idempotentTools {
		g.idempotent[t] = true
	}
	return g
}

// seenBefore denies the PoP when it was seen before, as check would, without
// recording it (for Explain; a full guard's refusal is not foreseen). A
// retry grant for state makes a PoP seen before pass.
func (g *ReplayGuard) seenBefore(id WarrantID, tool string, sig []byte, state RequestState, now time.Time) error {
	if g == nil || g.idempotent[tool] || len(sig) != SignatureSize || g.store.Load() != nil {
		return nil
	}
	var k replayKey
	k.id = id
	copy(k.sig[:], sig)
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[k]; ok && now.Before(exp) && !g.hasGrantLocked(k, state, now) {
		return replayed(tool)
	}
	return nil
}

func replayed(tool string) *Denial {
	return deny(CodePopExpired, ErrPoP, "proof of possession replayed: this exact signature was already used for %q", tool)
}

// check records the PoP and denies it when it was seen before, unless a
// retry grant for exactly state lets it through once (AllowRetry).
func (g *ReplayGuard) check(id WarrantID, tool string, sig []byte, state RequestState, now time.Time) error {
	if g == nil || g.idempotent[tool] || len(sig) != SignatureSize {
		return nil
	}
	var k replayKey
	k.id = id
	copy(k.sig[:], sig)
	if ref := g.store.Load(); ref != nil {
		fresh, err := ref.s.Claim(storeKey(id, sig), g.ttl)
		switch {
		case err != nil:
			return deny(CodeInvalidEnvelopeStructure, ErrInternal, "replay store unavailable: call refused (%v)", err)
		case fresh:
			return nil
		}
		if rs, ok := ref.s.(RetryStore); ok {
			found, err := rs.Take(grantStoreKey(id, sig, state))
			switch {
			case err != nil:
				return deny(CodeInvalidEnvelopeStructure, ErrInternal, "replay store unavailable: call refused (%v)", err)
			case found:
				return nil
			}
			return replayed(tool)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.takeGrantLocked(k, state, now) {
			return nil
		}
		return replayed(tool)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[k]; ok && now.Before(exp) {
		if g.takeGrantLocked(k, state, now) {
			return nil
		}
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
