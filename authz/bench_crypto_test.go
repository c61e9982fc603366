package authz

import (
	"crypto/ed25519"
	"testing"
)

// benchSigned returns a key, a 256-byte message (about a small warrant
// payload) and its signature.
func benchSigned(b *testing.B, seed byte) (*SigningKey, []byte, []byte) {
	b.Helper()
	k := testKey(b, seed)
	msg := make([]byte, 256)
	for i := range msg {
		msg[i] = byte(i)
	}
	s := k.Sign(msg)
	return k, msg, s[:]
}

// BenchmarkStdlibVerify is the baseline: crypto/ed25519.Verify, which
// expands the public key on every call (and is not strict enough alone).
func BenchmarkStdlibVerify(b *testing.B) {
	k, msg, sig := benchSigned(b, 0x01)
	pk := k.Public()
	pub := ed25519.PublicKey(pk[:])
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("stdlib refused a valid signature")
		}
	}
}

// BenchmarkVerifyStrict is verifySignature with the key already in the
// expanded-key cache, as for the issuer and holder keys the Authorizer sees
// again and again.
func BenchmarkVerifyStrict(b *testing.B) {
	k, msg, sig := benchSigned(b, 0x01)
	pub := k.Public()
	if err := verifySignature(pub, msg, sig); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := verifySignature(pub, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
