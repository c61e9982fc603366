package authz

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/curve"
	"github.com/oasisprotocol/curve25519-voi/curve/scalar"
	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// voiStrict is curve25519-voi's own verifier configured as ed25519-dalek's
// verify_strict: cofactorless, no small-order or non-canonical A or R. Our
// verifier must give the same verdict on every input.
var voiStrict = &voi.Options{Verify: &voi.VerifyOptions{CofactorlessVerify: true}}

// voiCofactored is RFC 8032 / FIPS 186-5 cofactored verification, used only
// to document which hostile signatures a cofactored verifier would accept.
var voiCofactored = &voi.Options{Verify: voi.VerifyOptionsFIPS_186_5}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func pubFromHex(t testing.TB, s string) PublicKey {
	t.Helper()
	var k PublicKey
	b := mustHex(t, s)
	if len(b) != PublicKeySize {
		t.Fatalf("public key %q is %d bytes", s, len(b))
	}
	copy(k[:], b)
	return k
}

func testKey(t testing.TB, seedByte byte) *SigningKey {
	t.Helper()
	k, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{seedByte}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// secretScalar returns the clamped secret scalar a of k (A = [a]B).
func secretScalar(t testing.TB, k *SigningKey) *scalar.Scalar {
	t.Helper()
	d := sha512.Sum512(k.Seed())
	d[0] &= 248
	d[31] &= 127
	d[31] |= 64
	var a scalar.Scalar
	if _, err := a.SetBits(d[:32]); err != nil {
		t.Fatal(err)
	}
	return &a
}

// challenge returns k = SHA-512(R ‖ A ‖ M) mod L.
func challenge(t testing.TB, r []byte, pub PublicKey, msg []byte) *scalar.Scalar {
	t.Helper()
	h := sha512.New()
	h.Write(r)
	h.Write(pub[:])
	h.Write(msg)
	var k scalar.Scalar
	if _, err := k.SetBytesModOrderWide(h.Sum(nil)); err != nil {
		t.Fatal(err)
	}
	return &k
}

// signWithR makes a signature with the given R bytes by the holder of k:
// S = c·a, so that [S]B − [c]A is the identity. Cofactorless verification
// then accepts exactly when R encodes the identity canonically; cofactored
// verification accepts whenever R is of small order.
func signWithR(t testing.TB, k *SigningKey, r, msg []byte) []byte {
	t.Helper()
	c := challenge(t, r, k.Public(), msg)
	var s scalar.Scalar
	s.Mul(c, secretScalar(t, k))
	sig := make([]byte, SignatureSize)
	copy(sig, r)
	if err := s.ToBytes(sig[32:]); err != nil {
		t.Fatal(err)
	}
	return sig
}

func stdlibVerify(pub PublicKey, msg, sig []byte) bool { return ed25519.Verify(pub[:], msg, sig) }

func voiVerify(pub PublicKey, msg, sig []byte, opts *voi.Options) bool {
	return voi.VerifyWithOptions(voi.PublicKey(pub[:]), msg, sig, opts)
}

// The 8 points of small order, canonically encoded (the identity, the point
// of order 2, two of order 4, four of order 8), as listed by libsodium and
// "Taming the many EdDSAs" (Chalkias et al., 2020).
var smallOrderHex = []string{
	"0100000000000000000000000000000000000000000000000000000000000000", // identity (y = 1)
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2 (y = −1)
	"0000000000000000000000000000000000000000000000000000000000000000", // order 4 (y = 0, x > 0)
	"0000000000000000000000000000000000000000000000000000000000000080", // order 4 (y = 0, x < 0)
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
	"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
	"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
}

// Non-canonical encodings of small-order points: x = 0 with the sign bit set,
// and y ≥ p (p = 2^255 − 19 is ed ff … ff 7f).
var nonCanonicalSmallOrderHex = []string{
	"0100000000000000000000000000000000000000000000000000000000000080", // identity, sign bit set
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // order 2, sign bit set
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p ≡ 0, order 4
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p ≡ 0, order 4, other x
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1 ≡ 1, identity
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // y = p+1, identity, sign bit
}

// yPlusP encodes y+p (for small y, so y+p < 2^255) with the given sign bit.
func yPlusP(y int64, sign bool) [32]byte {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	v := new(big.Int).Add(p, big.NewInt(y))
	var out [32]byte
	be := v.FillBytes(make([]byte, 32))
	for i := range be {
		out[i] = be[31-i]
	}
	if sign {
		out[31] |= 0x80
	}
	return out
}

func decodes(enc [32]byte) (*curve.EdwardsPoint, bool) {
	var c curve.CompressedEdwardsY
	copy(c[:], enc[:])
	var p curve.EdwardsPoint
	if _, err := p.SetCompressedY(&c); err != nil {
		return nil, false
	}
	return &p, true
}

// nonCanonicalLargeOrder returns every encoding y+p (2 ≤ y ≤ 18) that decodes
// to a point not of small order: the non-canonical encodings a check for
// small order alone would let through.
func nonCanonicalLargeOrder(t testing.TB) [][32]byte {
	t.Helper()
	var out [][32]byte
	for y := int64(2); y <= 18; y++ {
		for _, sign := range []bool{false, true} {
			enc := yPlusP(y, sign)
			if p, ok := decodes(enc); ok && !p.IsSmallOrder() {
				out = append(out, enc)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no non-canonical encoding of a large-order point")
	}
	return out
}

// notOnCurve returns a canonical y whose encoding is not a curve point.
func notOnCurve(t testing.TB) [32]byte {
	t.Helper()
	for y := byte(2); y < 100; y++ {
		var enc [32]byte
		enc[0] = y
		if _, ok := decodes(enc); !ok {
			return enc
		}
	}
	t.Fatal("no small y off the curve")
	return [32]byte{}
}

func TestSmallOrderTable(t *testing.T) {
	seen := map[string]bool{}
	for _, h := range smallOrderHex {
		var enc [32]byte
		copy(enc[:], mustHex(t, h))
		p, ok := decodes(enc)
		if !ok || !p.IsSmallOrder() {
			t.Errorf("%s: want a small-order point", h)
			continue
		}
		var c curve.CompressedEdwardsY
		c.SetEdwardsPoint(p)
		if hex.EncodeToString(c[:]) != h {
			t.Errorf("%s: not the canonical encoding (re-encodes as %x)", h, c[:])
		}
		seen[h] = true
	}
	if len(seen) != 8 {
		t.Errorf("want 8 distinct small-order points, got %d", len(seen))
	}
	for _, h := range nonCanonicalSmallOrderHex {
		var enc [32]byte
		copy(enc[:], mustHex(t, h))
		p, ok := decodes(enc)
		if !ok || !p.IsSmallOrder() {
			t.Errorf("%s: want a decodable small-order point", h)
			continue
		}
		var c curve.CompressedEdwardsY
		c.SetEdwardsPoint(p)
		if hex.EncodeToString(c[:]) == h {
			t.Errorf("%s: is canonical, want a non-canonical encoding", h)
		}
	}
}

// TestIdentityKeyForgery is the check the issue asks for: the identity public
// key 01 00…00 with R = identity and S = 0 "verifies" any message under
// crypto/ed25519.Verify (because [0]B − [k]·identity = identity = R), so the
// standard library must never be used alone. Ours refuses it.
func TestIdentityKeyForgery(t *testing.T) {
	pub := pubFromHex(t, "0100000000000000000000000000000000000000000000000000000000000000")
	sig := mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000"+
		"0000000000000000000000000000000000000000000000000000000000000000")
	for _, msg := range [][]byte{nil, []byte("transfer $1,000,000 to mallory"), bytes.Repeat([]byte{0xa5}, 1000)} {
		if !stdlibVerify(pub, msg, sig) {
			t.Errorf("crypto/ed25519.Verify refused the identity-key forgery for %q; this test documents that it accepts it", msg)
		}
		if err := verifySignature(pub, msg, sig); !errors.Is(err, errKeySmallOrder) {
			t.Errorf("verifySignature = %v, want %v", err, errKeySmallOrder)
		}
	}
}

type hostileCase struct {
	name string
	pub  PublicKey
	msg  []byte
	sig  []byte
	want error
	// stdlibAccepts documents a forgery that crypto/ed25519.Verify lets through.
	stdlibAccepts bool
	// cofactoredAccepts documents a signature that RFC 8032 cofactored
	// verification accepts but verify_strict refuses.
	cofactoredAccepts bool
}

// forgeUnderSmallOrderKey finds a message for which R = identity, S = 0
// verifies under crypto/ed25519 for the small-order key encoding enc: that
// needs [k]A = identity, which holds for about 1 in ord(A) messages.
func forgeUnderSmallOrderKey(t *testing.T, enc []byte) ([]byte, []byte, bool) {
	t.Helper()
	var pub PublicKey
	copy(pub[:], enc)
	sig := make([]byte, SignatureSize)
	sig[0] = 1
	for i := 0; i < 256; i++ {
		msg := []byte(fmt.Sprintf("forged message %d", i))
		if stdlibVerify(pub, msg, sig) {
			return msg, sig, true
		}
	}
	return []byte("forged message"), sig, false
}

func hostileCases(t *testing.T) []hostileCase {
	t.Helper()
	signer := testKey(t, 0x01)
	msg := []byte("tenuo-warrant-v1\x01hostile")
	good := signer.Sign(msg)
	var cases []hostileCase

	for _, h := range smallOrderHex {
		m, sig, ok := forgeUnderSmallOrderKey(t, mustHex(t, h))
		cases = append(cases, hostileCase{name: "small-order A " + h[:8] + "…" + h[62:], pub: pubFromHex(t, h), msg: m, sig: sig,
			want: errKeySmallOrder, stdlibAccepts: ok})
		r := mustHex(t, h)
		cases = append(cases, hostileCase{name: "small-order R " + h[:8] + "…" + h[62:], pub: signer.Public(), msg: msg,
			sig: signWithR(t, signer, r, msg), want: errSigRSmallOrder,
			stdlibAccepts:     h == smallOrderHex[0],
			cofactoredAccepts: true})
	}
	for _, h := range nonCanonicalSmallOrderHex {
		m, sig, ok := forgeUnderSmallOrderKey(t, mustHex(t, h))
		cases = append(cases, hostileCase{name: "non-canonical small-order A " + h[:8] + h[62:], pub: pubFromHex(t, h),
			msg: m, sig: sig, want: errKeyNonCanonical, stdlibAccepts: ok})
		cases = append(cases, hostileCase{name: "non-canonical small-order R " + h[:8] + h[62:], pub: signer.Public(),
			msg: msg, sig: signWithR(t, signer, mustHex(t, h), msg), want: errSigRNonCanonical})
	}
	for _, enc := range nonCanonicalLargeOrder(t) {
		cases = append(cases, hostileCase{name: fmt.Sprintf("non-canonical y≥p A %x…%x", enc[0], enc[31]), pub: PublicKey(enc),
			msg: msg, sig: good[:], want: errKeyNonCanonical})
		cases = append(cases, hostileCase{name: fmt.Sprintf("non-canonical y≥p R %x…%x", enc[0], enc[31]), pub: signer.Public(),
			msg: msg, sig: signWithR(t, signer, enc[:], msg), want: errSigRNonCanonical})
	}
	off := notOnCurve(t)
	cases = append(cases,
		hostileCase{name: "A not on the curve", pub: PublicKey(off), msg: msg, sig: good[:], want: errKeyNotOnCurve},
		hostileCase{name: "R not on the curve", pub: signer.Public(), msg: msg,
			sig: append(off[:], good[32:]...), want: errSigRNotOnCurve})

	// S + L: the same signature re-spelled; the equation still holds mod L.
	L := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 252), mustBig(t, "27742317777372353535851937790883648493"))
	sPlusL := append([]byte(nil), good[:]...)
	setLE(sPlusL[32:], new(big.Int).Add(leInt(good[32:]), L))
	cases = append(cases, hostileCase{name: "S+L", pub: signer.Public(), msg: msg, sig: sPlusL, want: errSigSNonCanonical})
	for _, bits := range []byte{0x20, 0x40, 0x80, 0xe0} {
		high := append([]byte(nil), good[:]...)
		high[63] |= bits
		cases = append(cases, hostileCase{name: fmt.Sprintf("S high bits %#x", bits), pub: signer.Public(), msg: msg,
			sig: high, want: errSigSNonCanonical})
	}
	wrongMsg := append([]byte(nil), msg...)
	wrongMsg[len(wrongMsg)-1] ^= 1
	cases = append(cases,
		hostileCase{name: "other message", pub: signer.Public(), msg: wrongMsg, sig: good[:], want: errSignatureMismatch},
		hostileCase{name: "other key", pub: testKey(t, 0x02).Public(), msg: msg, sig: good[:], want: errSignatureMismatch},
		hostileCase{name: "empty signature", pub: signer.Public(), msg: msg, sig: nil, want: errSignatureLength},
		hostileCase{name: "63-byte signature", pub: signer.Public(), msg: msg, sig: good[:63], want: errSignatureLength},
		hostileCase{name: "65-byte signature", pub: signer.Public(), msg: msg, sig: append(good[:], 0), want: errSignatureLength},
	)
	return cases
}

func mustBig(t testing.TB, s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

func leInt(b []byte) *big.Int {
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	return new(big.Int).SetBytes(be)
}

func setLE(dst []byte, v *big.Int) {
	be := v.FillBytes(make([]byte, len(dst)))
	for i := range be {
		dst[len(dst)-1-i] = be[i]
	}
}

func TestVerifyHostile(t *testing.T) {
	var forgeries int
	for _, tc := range hostileCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			err := verifySignature(tc.pub, tc.msg, tc.sig)
			if !errors.Is(err, tc.want) {
				t.Fatalf("verifySignature = %v, want %v", err, tc.want)
			}
			if len(tc.sig) == SignatureSize && voiVerify(tc.pub, tc.msg, tc.sig, voiStrict) {
				t.Errorf("voi with verify_strict options accepts it; the two verifiers disagree")
			}
			if tc.stdlibAccepts {
				forgeries++
				if !stdlibVerify(tc.pub, tc.msg, tc.sig) {
					t.Errorf("expected crypto/ed25519.Verify to accept this forgery")
				}
			}
			if tc.cofactoredAccepts && !voiVerify(tc.pub, tc.msg, tc.sig, voiCofactored) {
				t.Errorf("expected cofactored verification to accept this signature")
			}
		})
	}
	// Each small-order key and each R = identity signature is a real forgery
	// under the standard library; make sure the table exercised some.
	if forgeries < 8 {
		t.Errorf("only %d of the hostile cases are crypto/ed25519 forgeries, want at least 8", forgeries)
	}
}

// TestVerifyDifferential compares ours with crypto/ed25519 and with voi set
// to verify_strict on random keys, messages and mutations.
func TestVerifyDifferential(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'d', 'i', 'f', 'f'}))
	src := rand.NewChaCha8([32]byte{'k', 'e', 'y', 's'})
	L := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 252), mustBig(t, "27742317777372353535851937790883648493"))
	var accepted int
	for i := 0; i < 300; i++ {
		k, err := GenerateSigningKey(src)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, rng.IntN(300))
		_, _ = src.Read(msg)
		s := k.Sign(msg)
		pub := k.Public()
		if err := verifySignature(pub, msg, s[:]); err != nil || !stdlibVerify(pub, msg, s[:]) {
			t.Fatalf("valid signature: ours %v, stdlib %v", err, stdlibVerify(pub, msg, s[:]))
		}
		accepted++

		for j := 0; j < 8; j++ {
			mpub, mmsg, msig := pub, append([]byte(nil), msg...), append([]byte(nil), s[:]...)
			switch rng.IntN(6) {
			case 0: // flip a bit of R or S
				bit := rng.IntN(512)
				msig[bit/8] ^= 1 << (bit % 8)
			case 1: // flip a bit of the key
				bit := rng.IntN(256)
				mpub[bit/8] ^= 1 << (bit % 8)
			case 2: // change the message
				if len(mmsg) == 0 {
					mmsg = append(mmsg, 0)
				} else {
					mmsg[rng.IntN(len(mmsg))] ^= byte(1 + rng.IntN(255))
				}
			case 3: // S + L
				setLE(msig[32:], new(big.Int).Add(leInt(msig[32:]), L))
			case 4: // random R
				_, _ = src.Read(msig[:32])
			case 5: // random key
				_, _ = src.Read(mpub[:])
			}
			ours := verifySignature(mpub, mmsg, msig) == nil
			if ours && !stdlibVerify(mpub, mmsg, msig) {
				t.Fatalf("ours accepts what crypto/ed25519 refuses: pub %x msg %x sig %x", mpub, mmsg, msig)
			}
			if ours != voiVerify(mpub, mmsg, msig, voiStrict) {
				t.Fatalf("ours (%v) and voi verify_strict disagree: pub %x msg %x sig %x", ours, mpub, mmsg, msig)
			}
			if ours {
				t.Fatalf("a mutated signature verifies: pub %x msg %x sig %x", mpub, mmsg, msig)
			}
		}
	}
	if accepted != 300 {
		t.Errorf("accepted %d valid signatures, want 300", accepted)
	}
}

// TestVerifyTenuoVectors verifies the signatures of Tenuo's published
// warrants (signed by ed25519-dalek): every one verifies except the one the
// vectors mark as forged.
func TestVerifyTenuoVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vecDir(t), "warrants.json"))
	if err != nil {
		t.Fatalf("Tenuo vectors: %v", err)
	}
	var file struct {
		Vectors []struct {
			Label        string `json:"label"`
			PayloadHex   string `json:"payload_hex"`
			SignatureHex string `json:"signature_hex"`
			IssuerPubHex string `json:"issuer_pub_hex"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 40 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		msg := append([]byte("tenuo-warrant-v1\x01"), mustHex(t, v.PayloadHex)...)
		pub := pubFromHex(t, v.IssuerPubHex)
		sig := mustHex(t, v.SignatureHex)
		forged := v.Label == "A.14 Forged (Invalid Signature)"
		err := verifySignature(pub, msg, sig)
		if forged {
			if !errors.Is(err, errSignatureMismatch) {
				t.Errorf("%s: verifySignature = %v, want %v", v.Label, err, errSignatureMismatch)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: verifySignature = %v", v.Label, err)
		}
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache(8)
	keys := make([]*SigningKey, 30)
	for i := range keys {
		keys[i] = testKey(t, byte(i+1))
	}
	hot := keys[0]
	msg := []byte("cache")
	hotSig := hot.Sign(msg)
	for i, k := range keys {
		s := k.Sign(msg)
		if err := verifyStrict(&c, k.Public(), msg, s[:]); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if err := verifyStrict(&c, hot.Public(), msg, hotSig[:]); err != nil {
			t.Fatalf("hot key: %v", err)
		}
		if n := c.len(); n > 8 {
			t.Fatalf("cache holds %d entries, bound is 8", n)
		}
	}
	c.mu.Lock()
	_, inCur := c.cur[hot.Public()]
	_, early := c.cur[keys[1].Public()]
	_, earlyOld := c.old[keys[1].Public()]
	c.mu.Unlock()
	if !inCur {
		t.Error("a key used on every call was evicted")
	}
	if early || earlyOld {
		t.Error("a key unused for many calls is still cached")
	}

	// Invalid keys are refused and never cached.
	before := c.len()
	bad := pubFromHex(t, smallOrderHex[0])
	for i := 0; i < 20; i++ {
		if err := verifyStrict(&c, bad, msg, hotSig[:]); !errors.Is(err, errKeySmallOrder) {
			t.Fatalf("small-order key: %v", err)
		}
	}
	if c.len() != before {
		t.Errorf("refused keys changed the cache: %d → %d entries", before, c.len())
	}
}

func TestKeyCacheConcurrent(t *testing.T) {
	c := newKeyCache(4)
	keys := []*SigningKey{testKey(t, 1), testKey(t, 2), testKey(t, 3), testKey(t, 4), testKey(t, 5)}
	msg := []byte("concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 15; i++ {
				k := keys[(g+i)%len(keys)]
				s := k.Sign(msg)
				if err := verifyStrict(&c, k.Public(), msg, s[:]); err != nil {
					errs <- err
					return
				}
				other := keys[(g+i+1)%len(keys)]
				if err := verifyStrict(&c, other.Public(), msg, s[:]); !errors.Is(err, errSignatureMismatch) {
					errs <- fmt.Errorf("wrong key: %v", err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := c.len(); n > 4 {
		t.Errorf("cache holds %d entries, bound is 4", n)
	}
}

// FuzzVerifySignature checks, on any input, that verification never panics,
// agrees with voi's verify_strict configuration, and accepts only what
// crypto/ed25519 accepts too.
func FuzzVerifySignature(f *testing.F) {
	k, _ := NewSigningKeyFromSeed(bytes.Repeat([]byte{7}, SeedSize))
	msg := []byte("fuzz")
	s := k.Sign(msg)
	pub := k.Public()
	f.Add(pub[:], msg, s[:])
	id := mustHex(f, smallOrderHex[0])
	f.Add(id, msg, append(append([]byte(nil), id...), make([]byte, 32)...))
	f.Add(pub[:], msg, append(append([]byte(nil), id...), s[32:]...))
	high := append([]byte(nil), s[:]...)
	high[63] |= 0xf0
	f.Add(pub[:], msg, high)
	f.Add(mustHex(f, nonCanonicalSmallOrderHex[4]), msg, s[:])
	f.Add(pub[:], []byte{}, s[:40])
	f.Fuzz(func(t *testing.T, pubBytes, msg, sig []byte) {
		if len(pubBytes) != PublicKeySize {
			return
		}
		pub := PublicKey(pubBytes)
		err := verifySignature(pub, msg, sig)
		if len(sig) != SignatureSize {
			if !errors.Is(err, errSignatureLength) {
				t.Fatalf("length %d: %v", len(sig), err)
			}
			return
		}
		if (err == nil) != voiVerify(pub, msg, sig, voiStrict) {
			t.Fatalf("ours (%v) and voi verify_strict disagree", err)
		}
		if err == nil && !stdlibVerify(pub, msg, sig) {
			t.Fatal("ours accepts what crypto/ed25519 refuses")
		}
	})
}
