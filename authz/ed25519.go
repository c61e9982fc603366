package authz

import (
	"crypto/sha512"
	"errors"
	"fmt"
	"sync"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
)

// Strict Ed25519 verification.
//
// The rules are those of ed25519-dalek's verify_strict, as WIRE.md requires
// (stricter than dalek's plain verify; honest signatures pass both):
//
//   - the signature is 64 bytes and its S is canonical (S < L), so that a
//     signature cannot be re-spelled as S+L (malleability);
//   - R is a canonical encoding of a curve point that is not of small order;
//   - A (the public key) is a canonical encoding of a curve point that is not
//     of small order. Without this, the identity key 01 00…00 with R = identity
//     and S = 0 "verifies" every message under crypto/ed25519.Verify;
//   - the cofactorless equation [S]B − [k]A = R holds exactly, with
//     k = SHA-512(R ‖ A ‖ M) mod L over the bytes as received.
//
// dalek decodes A without a canonicity check (it accepts y ≥ p); we refuse a
// non-canonical A. The two differ only on a public key with y ≥ p that is not
// of small order, for which nobody can make a signature (it would take the
// discrete log of a fixed point with a tiny y), so no signature is accepted by
// one and refused by the other in practice.
//
// The equation is checked as point equality against R decoded from its
// canonical bytes; that is the same test as dalek's comparison of encodings,
// without the field inversion that encoding needs.
//
// A chain's signatures are verified one at a time, not as a batch: a
// random-linear-combination batch (voi's BatchVerifier) is necessarily
// cofactored, and accepts a signature whose R carries a small-order component
// that verify_strict refuses; only a key holder can make one, but the
// verdicts must not depend on whether a signature came alone or in a chain.

// Verification errors. Each caller maps any of them to its own Tenuo code
// (a warrant's 1100, a PoP's 1600, an approval's or a revocation list's).
var (
	errSignatureLength   = errors.New("ed25519: wrong signature length")
	errKeyNotOnCurve     = errors.New("ed25519: public key is not a point on the curve")
	errKeyNonCanonical   = errors.New("ed25519: public key is a non-canonical point encoding")
	errKeySmallOrder     = errors.New("ed25519: public key is a small-order point")
	errSigSNonCanonical  = errors.New("ed25519: signature S is not below the group order (non-canonical, malleable)")
	errSigRNotOnCurve    = errors.New("ed25519: signature R is not a point on the curve")
	errSigRNonCanonical  = errors.New("ed25519: signature R is a non-canonical point encoding")
	errSigRSmallOrder    = errors.New("ed25519: signature R is a small-order point")
	errSignatureMismatch = errors.New("ed25519: signature does not verify")
	errVerifierInternal  = errors.New("ed25519: internal verifier failure")
)

// verifySignature checks sig over msg under pub with the strict rules above;
// nil means valid. Lengths are checked before any arithmetic.
func verifySignature(pub PublicKey, msg, sig []byte) error {
	return verifyStrict(&expandedKeys, pub, msg, sig)
}

// verifyStrict is verifySignature with the expanded-key cache as a parameter
// (tests use small caches).
func verifyStrict(cache *keyCache, pub PublicKey, msg, sig []byte) (err error) {
	if len(sig) != SignatureSize {
		return fmt.Errorf("%w: got %d bytes, want %d", errSignatureLength, len(sig), SignatureSize)
	}
	defer func() {
		// The curve library panics only on programming errors; whatever
		// happens, a failure is a refusal.
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errVerifierInternal, r)
		}
	}()

	// S first: cheapest, and it refuses S+L before any point work.
	if !scalar.ScMinimalVartime(sig[32:]) {
		return errSigSNonCanonical
	}
	key, err := cache.get(pub)
	if err != nil {
		return err
	}

	var rBytes curve.CompressedEdwardsY
	copy(rBytes[:], sig[:32])
	var R curve.EdwardsPoint
	if _, err := R.SetCompressedY(&rBytes); err != nil {
		return errSigRNotOnCurve
	}
	if !rBytes.IsCanonicalVartime() {
		return errSigRNonCanonical
	}
	if R.IsSmallOrder() {
		return errSigRSmallOrder
	}

	var S scalar.Scalar
	if _, err := S.SetBytesModOrder(sig[32:]); err != nil {
		return fmt.Errorf("%w: %v", errVerifierInternal, err)
	}
	var digest [sha512.Size]byte
	h := sha512.New()
	_, _ = h.Write(sig[:32])
	_, _ = h.Write(pub[:])
	_, _ = h.Write(msg)
	h.Sum(digest[:0])
	var k scalar.Scalar
	if _, err := k.SetBytesModOrderWide(digest[:]); err != nil {
		return fmt.Errorf("%w: %v", errVerifierInternal, err)
	}

	// check = [k](−A) + [S]B, which must be R itself (cofactorless).
	var check curve.EdwardsPoint
	check.ExpandedDoubleScalarMulBasepointVartime(&k, &key.negA, &S)
	if check.Equal(&R) != 1 {
		return errSignatureMismatch
	}
	return nil
}

// expandedKey is a public key that passed the key checks, with −A stored in
// the precomputed form that speeds up verification (about 1.5 KiB).
type expandedKey struct {
	negA curve.ExpandedEdwardsPoint
}

// expandPublicKey checks pub (on the curve, canonical, not of small order)
// and precomputes it.
func expandPublicKey(pub PublicKey) (*expandedKey, error) {
	var aBytes curve.CompressedEdwardsY
	copy(aBytes[:], pub[:])
	var A curve.EdwardsPoint
	if _, err := A.SetCompressedY(&aBytes); err != nil {
		return nil, errKeyNotOnCurve
	}
	if !aBytes.IsCanonicalVartime() {
		return nil, errKeyNonCanonical
	}
	if A.IsSmallOrder() {
		return nil, errKeySmallOrder
	}
	var negA curve.EdwardsPoint
	negA.Neg(&A)
	k := &expandedKey{}
	k.negA.SetEdwardsPoint(&negA)
	return k, nil
}

// keyCacheSize bounds the expanded-key cache: 1024 keys, about 1.5 MiB. The
// Authorizer verifies the same few issuer and holder keys again and again;
// expanding a key costs about a fifth of a verification.
const keyCacheSize = 1024

// expandedKeys is the process-wide cache used by verifySignature. It holds
// only derived public data, never secrets.
var expandedKeys = newKeyCache(keyCacheSize)

// keyCache is a bounded, concurrency-safe map from public key to its
// expanded form, with two-generation eviction: new keys go into cur; when cur
// is half the bound, it becomes old and the previous old is dropped; a hit in
// old is copied into cur. Keys in use survive; at most max entries are held.
// Only keys that pass the key checks are cached (invalid ones are cheap to
// refuse again, and must not push valid ones out).
type keyCache struct {
	max int

	mu  sync.Mutex
	cur map[PublicKey]*expandedKey // guarded by mu
	old map[PublicKey]*expandedKey // guarded by mu
}

func newKeyCache(max int) keyCache {
	if max < 2 {
		max = 2
	}
	return keyCache{max: max, cur: make(map[PublicKey]*expandedKey, max/2)}
}

// get returns the expanded key for pub, computing and caching it on a miss.
func (c *keyCache) get(pub PublicKey) (*expandedKey, error) {
	c.mu.Lock()
	if k, ok := c.cur[pub]; ok {
		c.mu.Unlock()
		return k, nil
	}
	if k, ok := c.old[pub]; ok {
		c.addLocked(pub, k)
		c.mu.Unlock()
		return k, nil
	}
	c.mu.Unlock()

	// Expand outside the lock; two goroutines may both expand a new key,
	// which is harmless (the results are equal).
	k, err := expandPublicKey(pub)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.addLocked(pub, k)
	c.mu.Unlock()
	return k, nil
}

func (c *keyCache) addLocked(pub PublicKey, k *expandedKey) {
	if len(c.cur) >= c.max/2 {
		c.old = c.cur
		c.cur = make(map[PublicKey]*expandedKey, c.max/2)
	}
	c.cur[pub] = k
}

// len returns the number of entries held (cur and old; a key present in both
// counts twice, so this is an upper bound on distinct keys).
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
