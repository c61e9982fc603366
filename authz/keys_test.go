package authz

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Tenuo's key material (docs/spec/test-vectors.md, "Key Material"): seeds and
// the public keys ed25519-dalek derives from them.
var tenuoKeys = []struct{ role, seed, pub string }{
	{"control plane", strings.Repeat("01", 32), "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"},
	{"orchestrator", strings.Repeat("02", 32), "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"},
	{"worker", strings.Repeat("03", 32), "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1"},
	{"worker2", strings.Repeat("04", 32), "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c"},
	{"attacker", strings.Repeat("ff", 32), "76a1592044a6e4f511265bca73a604d90b0529d1df602be30a19a9257660d1f5"},
}

func TestTenuoKeyDerivation(t *testing.T) {
	for _, tc := range tenuoKeys {
		t.Run(tc.role, func(t *testing.T) {
			k, err := ParseSigningKey([]byte(tc.seed))
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Public().Hex(); got != tc.pub {
				t.Errorf("public key %s, want %s", got, tc.pub)
			}
			if got := k.SeedHex(); got != tc.seed {
				t.Errorf("SeedHex %s, want %s", got, tc.seed)
			}
			if got := k.Public().KeyID(); got != tc.pub[:16] {
				t.Errorf("KeyID %s, want Tenuo's fingerprint %s", got, tc.pub[:16])
			}
		})
	}
}

// RFC 8410 §10.3: the example Ed25519 private key, as PKCS#8 v1 and as v2
// with attributes and the public key (§10.1's example key).
const (
	rfc8410Seed = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842"
	rfc8410Pub  = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
	rfc8410V1   = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"
	rfc8410V2   = "-----BEGIN PRIVATE KEY-----\nMHICAQEwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n" +
		"oB8wHQYKKoZIhvcNAQkJFDEPDA1DdXJkbGUgQ2hhaXJzgSEAGb9ECWmEzf6FQbrB\nZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PRIVATE KEY-----\n"
	rfc8410SPKI = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
)

func pemText(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// pkcs8 builds a OneAsymmetricKey by hand, to make malformed ones.
type pkcs8 struct {
	version   int64
	oid       []int
	params    bool   // add a NULL parameter
	inner     []byte // the CurvePrivateKey octets
	attrs     bool
	pub       []byte // nil: absent
	unusedBit byte
	trailing  bool
}

func (p pkcs8) der(t testing.TB) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(p.version)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(p.oid)
			if p.params {
				b.AddASN1NULL()
			}
		})
		b.AddASN1(cbasn1.OCTET_STRING, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(p.inner)
		})
		if p.attrs {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {})
		}
		if p.pub != nil {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddUint8(p.unusedBit)
				b.AddBytes(p.pub)
			})
		}
		if p.trailing {
			b.AddASN1Int64(7)
		}
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseSigningKey(t *testing.T) {
	seedHex := strings.Repeat("01", 32)
	seed := mustHex(t, seedHex)
	want := tenuoKeys[0].pub
	randSeed := mustHex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60") // RFC 8032 test 1
	randPub := "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
	std := base64.StdEncoding.EncodeToString(randSeed)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test seed must exercise the standard alphabet: %s", std)
	}
	url := base64.URLEncoding.EncodeToString(randSeed)
	ed := ed25519.NewKeyFromSeed(seed)
	v1, err := x509.MarshalPKCS8PrivateKey(ed)
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		name, text, pub string
	}{
		{"hex", seedHex, want},
		{"hex upper case", strings.ToUpper(hex.EncodeToString(randSeed)), randPub},
		{"hex with whitespace", "\n\t " + seedHex + " \r\n", want},
		{"base64 padded", std, randPub},
		{"base64 unpadded", strings.TrimRight(std, "="), randPub},
		{"base64url padded", url, randPub},
		{"base64url unpadded", strings.TrimRight(url, "="), randPub},
		{"base64 with newline", std + "\n", randPub},
		{"PKCS#8 v1 (Go)", pemText("PRIVATE KEY", v1), want},
		{"PKCS#8 v1 (RFC 8410)", rfc8410V1, rfc8410Pub},
		{"PKCS#8 v2 with attributes and public key (RFC 8410)", rfc8410V2, rfc8410Pub},
		{"PKCS#8 v2 with public key", pemText("PRIVATE KEY", pkcs8{version: 1, oid: []int{1, 3, 101, 112}, inner: seed, pub: mustHex(t, want)}.der(t)), want},
		{"PEM with surrounding whitespace", "\n  " + rfc8410V1 + "\n\n", rfc8410Pub},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseSigningKey([]byte(tc.text))
			if err != nil {
				t.Fatalf("ParseSigningKey: %v", err)
			}
			if got := k.Public().Hex(); got != tc.pub {
				t.Errorf("public key %s, want %s", got, tc.pub)
			}
		})
	}

	rsaKey, err := rsa.GenerateKey(rand.NewChaCha8([32]byte{1}), 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaPKCS8, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.NewChaCha8([32]byte{2}))
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	xKey, _ := ecdh.X25519().NewPrivateKey(seed)
	xPKCS8, _ := x509.MarshalPKCS8PrivateKey(xKey)
	edOID := []int{1, 3, 101, 112}
	otherPub := tenuoKeys[1].pub
	bad := []struct {
		name, text string
		want       []string // substrings the error must hold
	}{
		{"empty", "", []string{"empty"}},
		{"whitespace only", " \n\t", []string{"empty"}},
		{"63 hex digits", seedHex[:63], []string{"odd number (63) of hex digits", "want 64"}},
		{"62 hex digits", seedHex[:62], []string{"found 62 hex digits (31 bytes)", "want 64"}},
		{"66 hex digits", seedHex + "01", []string{"found 66 hex digits (33 bytes)"}},
		{"128 hex digits (seed‖public)", seedHex + want, []string{"128 hex digits (64 bytes)", "give the seed"}},
		{"64 characters, not hex", seedHex[:10] + "g" + seedHex[11:], []string{"read as hex", "offset 10 is not a hex digit"}},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(randSeed[:31]), []string{"decodes to 31 bytes, want 32"}},
		{"base64 of 33 bytes", base64.StdEncoding.EncodeToString(append(randSeed, 1)), []string{"decodes to 33 bytes, want 32"}},
		{"base64 of 64 bytes", base64.StdEncoding.EncodeToString(ed), []string{"decodes to 64 bytes, want 32"}},
		{"base64 with both alphabets", "-" + strings.TrimRight(std, "=")[1:], []string{"read as base64", "mixes"}},
		{"base64 with non-zero trailing bits", strings.TrimRight(std, "=")[:42] + "B", []string{"read as base64"}},
		{"base64 bad padding", strings.TrimRight(std, "=")[:42] + "=", []string{"read as base64", "bad padding"}},
		{"base64 padding inside", strings.TrimRight(std, "=")[:20] + "=" + strings.TrimRight(std, "=")[21:], []string{"read as base64", "offset 20"}},
		{"base64 with a bad character", "*" + strings.TrimRight(std, "=")[1:], []string{"read as base64", "offset 0"}},
		{"garbage", "not a key at all", []string{"unrecognised form of 16 characters"}},
		{"PEM public key", rfc8410SPKI, []string{`PEM block is "PUBLIC KEY", want "PRIVATE KEY"`}},
		{"RSA PKCS#1 PEM", pemText("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), []string{`"RSA PRIVATE KEY"`}},
		{"RSA PKCS#8", pemText("PRIVATE KEY", rsaPKCS8), []string{"RSA", "1.2.840.113549.1.1.1", "want Ed25519"}},
		{"ECDSA PKCS#8", pemText("PRIVATE KEY", ecPKCS8), []string{"ECDSA", "want Ed25519"}},
		{"X25519 PKCS#8", pemText("PRIVATE KEY", xPKCS8), []string{"X25519", "want Ed25519"}},
		{"encrypted PKCS#8", pemText("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), []string{"encrypted PKCS#8 is not supported"}},
		{"OpenSSH", pemText("OPENSSH PRIVATE KEY", []byte{0}), []string{"OpenSSH keys are not supported"}},
		{"PEM headers", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: v1})), []string{"headers"}},
		{"data after PEM", pemText("PRIVATE KEY", v1) + "extra", []string{"after the PEM block"}},
		{"two PEM blocks", pemText("PRIVATE KEY", v1) + pemText("PRIVATE KEY", v1), []string{"after the PEM block"}},
		{"truncated PEM", pemText("PRIVATE KEY", v1)[:40], []string{"no complete PEM block"}},
		{"PKCS#8 not DER", pemText("PRIVATE KEY", []byte("hello")), []string{"PKCS#8", "not a DER SEQUENCE"}},
		{"PKCS#8 31-byte key", pemText("PRIVATE KEY", pkcs8{oid: edOID, inner: seed[:31]}.der(t)), []string{"private key is 31 bytes, want 32"}},
		{"PKCS#8 64-byte key", pemText("PRIVATE KEY", pkcs8{oid: edOID, inner: ed}.der(t)), []string{"private key is 64 bytes, want 32"}},
		{"PKCS#8 version 2", pemText("PRIVATE KEY", pkcs8{version: 2, oid: edOID, inner: seed}.der(t)), []string{"unsupported version 2"}},
		{"PKCS#8 with parameters", pemText("PRIVATE KEY", pkcs8{oid: edOID, params: true, inner: seed}.der(t)), []string{"no parameters"}},
		{"PKCS#8 Ed448", pemText("PRIVATE KEY", pkcs8{oid: []int{1, 3, 101, 113}, inner: seed}.der(t)), []string{"Ed448"}},
		{"PKCS#8 trailing field", pemText("PRIVATE KEY", pkcs8{oid: edOID, inner: seed, trailing: true}.der(t)), []string{"unexpected data after the key fields"}},
		{"PKCS#8 v1 with public key", pemText("PRIVATE KEY", pkcs8{oid: edOID, inner: seed, pub: mustHex(t, want)}.der(t)), []string{"requires version 1"}},
		{"PKCS#8 v2 wrong public key", pemText("PRIVATE KEY", pkcs8{version: 1, oid: edOID, inner: seed, pub: mustHex(t, otherPub)}.der(t)), []string{"does not match"}},
		{"PKCS#8 v2 short public key", pemText("PRIVATE KEY", pkcs8{version: 1, oid: edOID, inner: seed, pub: mustHex(t, want)[:31]}.der(t)), []string{"embedded public key is 32 bytes"}},
		{"PKCS#8 v2 bad unused bits", pemText("PRIVATE KEY", pkcs8{version: 1, oid: edOID, inner: seed, pub: mustHex(t, want), unusedBit: 1}.der(t)), []string{"embedded public key"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseSigningKey([]byte(tc.text))
			if err == nil {
				t.Fatalf("ParseSigningKey accepted it (public key %s)", k.Public())
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			assertNoSecret(t, msg, tc.text, seed, randSeed)
		})
	}
}

// assertNoSecret fails if msg holds the input text or a seed in any common
// spelling.
func assertNoSecret(t *testing.T, msg, input string, seeds ...[]byte) {
	t.Helper()
	if in := strings.TrimSpace(input); len(in) >= 16 && strings.Contains(msg, in) {
		t.Errorf("error %q holds the input", msg)
	}
	for _, s := range seeds {
		for _, spelling := range []string{
			hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
			base64.RawStdEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s),
			hex.EncodeToString(s[:8]), string(s),
		} {
			if strings.Contains(msg, spelling) {
				t.Errorf("error %q holds a seed", msg)
			}
		}
	}
}

func TestParsePublicKey(t *testing.T) {
	k := testKey(t, 0x05)
	pub := k.Public()
	ok := []struct{ name, text string }{
		{"hex", pub.Hex()},
		{"hex upper case", strings.ToUpper(pub.Hex())},
		{"hex with whitespace", " " + pub.Hex() + "\n"},
		{"base64", base64.StdEncoding.EncodeToString(pub[:])},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(pub[:])},
		{"base64url", base64.URLEncoding.EncodeToString(pub[:])},
		{"base64url unpadded (Tenuo's JSON form)", base64.RawURLEncoding.EncodeToString(pub[:])},
		{"SPKI PEM", pub.PEM()},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKey(tc.text)
			if err != nil {
				t.Fatalf("ParsePublicKey: %v", err)
			}
			if !got.Equal(pub) {
				t.Errorf("got %s, want %s", got, pub)
			}
		})
	}
	got, err := ParsePublicKey(rfc8410SPKI)
	if err != nil || got.Hex() != rfc8410Pub {
		t.Errorf("RFC 8410 SPKI: %v, %v", got, err)
	}

	rsaKey, err := rsa.GenerateKey(rand.NewChaCha8([32]byte{3}), 1024)
	if err != nil {
		t.Fatal(err)
	}
	rsaSPKI, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.NewChaCha8([32]byte{4}))
	ecSPKI, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	xKey, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{9}, 32))
	xSPKI, _ := x509.MarshalPKIXPublicKey(xKey.PublicKey())
	off := notOnCurve(t)
	bad := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", []string{"empty"}},
		{"62 hex digits", pub.Hex()[:62], []string{"public key: found 62 hex digits (31 bytes), want 64"}},
		{"66 hex digits", pub.Hex() + "00", []string{"found 66 hex digits (33 bytes)"}},
		{"64 non-hex characters", "x" + pub.Hex()[1:], []string{"read as hex", "offset 0"}},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(pub[:31]), []string{"decodes to 31 bytes, want 32"}},
		{"identity (small order)", smallOrderHex[0], []string{"small-order"}},
		{"order-8 point", smallOrderHex[4], []string{"small-order"}},
		{"non-canonical", nonCanonicalSmallOrderHex[4], []string{"non-canonical"}},
		{"not on the curve", hex.EncodeToString(off[:]), []string{"not a point on the curve"}},
		{"private key PEM", rfc8410V1, []string{"PEM private key", ErrSecretKey.Error()}},
		{"private key PEM after text", "Bag Attributes\n" + rfc8410V1, []string{ErrSecretKey.Error()}},
		{"OpenSSH private key", pemText("OPENSSH PRIVATE KEY", []byte("openssh-key-v1")), []string{ErrSecretKey.Error()}},
		{"RSA public key", pemText("PUBLIC KEY", rsaSPKI), []string{"RSA key, want Ed25519"}},
		{"RSA PKCS#1 public key", pemText("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)), []string{`"RSA PUBLIC KEY"`}},
		{"ECDSA public key", pemText("PUBLIC KEY", ecSPKI), []string{"ECDSA key, want Ed25519"}},
		{"X25519 public key", pemText("PUBLIC KEY", xSPKI), []string{"X25519"}},
		{"bad DER", pemText("PUBLIC KEY", []byte{1, 2, 3}), []string{"public key: PEM:"}},
		{"data after PEM", pub.PEM() + "x", []string{"after the PEM block"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePublicKey(tc.text)
			if err == nil {
				t.Fatalf("ParsePublicKey accepted it: %s", got)
			}
			if got != (PublicKey{}) {
				t.Errorf("returned a key with an error: %s", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestSigningKeyRoundTrip(t *testing.T) {
	src := rand.NewChaCha8([32]byte{'r', 't'})
	for i := 0; i < 20; i++ {
		k, err := GenerateSigningKey(src)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range [][]byte{[]byte(k.SeedHex()), pemBytes, []byte(base64.StdEncoding.EncodeToString(k.Seed()))} {
			k2, err := ParseSigningKey(text)
			if err != nil {
				t.Fatalf("%s: %v", text, err)
			}
			if !k2.Public().Equal(k.Public()) || !bytes.Equal(k2.Seed(), k.Seed()) {
				t.Fatalf("round trip through %q changed the key", text)
			}
		}
		// Go's own PKCS#8 reader agrees with the PEM we write.
		block, _ := pem.Decode(pemBytes)
		std, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil || !bytes.Equal(std.(ed25519.PrivateKey).Seed(), k.Seed()) {
			t.Fatalf("x509 reads our PEM as %v, %v", std, err)
		}
		msg := []byte(fmt.Sprintf("message %d", i))
		sig := k.Sign(msg)
		if !bytes.Equal(sig[:], ed25519.Sign(ed25519.NewKeyFromSeed(k.Seed()), msg)) {
			t.Fatal("Sign differs from crypto/ed25519")
		}
		if err := verifySignature(k.Public(), msg, sig[:]); err != nil {
			t.Fatal(err)
		}
		pub, err := ParsePublicKey(k.Public().PEM())
		if err != nil || !pub.Equal(k.Public()) {
			t.Fatalf("public PEM round trip: %v, %v", pub, err)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestGenerateSigningKey(t *testing.T) {
	if _, err := GenerateSigningKey(failingReader{}); err == nil || !strings.Contains(err.Error(), "entropy exhausted") {
		t.Errorf("failing reader: %v", err)
	}
	if _, err := GenerateSigningKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("a reader with 31 bytes made a key")
	}
	a, err := GenerateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateSigningKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Public().Equal(b.Public()) {
		t.Error("two keys from crypto/rand are equal")
	}
	det, err := GenerateSigningKey(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil || det.Public().Hex() != tenuoKeys[0].pub {
		t.Errorf("seed from reader: %v, %v", det, err)
	}
}

func TestNewSigningKeyFromSeedLength(t *testing.T) {
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := NewSigningKeyFromSeed(make([]byte, n)); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("got %d", n)) {
			t.Errorf("%d-byte seed: %v", n, err)
		}
	}
}

// TestSigningKeyFormatHidesSeed prints keys every way fmt can and checks the
// seed never shows.
func TestSigningKeyFormatHidesSeed(t *testing.T) {
	k := testKey(t, 0xab)
	seed := k.Seed()
	type holder struct {
		Exported   *SigningKey
		unexported SigningKey
		ptr        *SigningKey
	}
	h := holder{Exported: k, unexported: *k, ptr: k}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		for _, arg := range []any{k, *k, h, &h, []*SigningKey{k}, map[string]SigningKey{"k": *k}} {
			outs = append(outs, fmt.Sprintf(verb, arg))
		}
	}
	outs = append(outs, k.String(), k.GoString(), fmt.Sprint(k), fmt.Sprintln(*k))
	for _, out := range outs {
		assertNoSecret(t, out, "", seed)
		if strings.Contains(out, fmt.Sprint(seed)) || strings.Contains(out, fmt.Sprintf("%v", seed[:4])) {
			t.Errorf("output %q holds the seed bytes", out)
		}
	}
	if got, want := fmt.Sprintf("%v", k), "SigningKey("+k.Public().Hex()+")"; got != want {
		t.Errorf("%%v = %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%#v", *k); !strings.Contains(got, k.Public().Hex()) {
		t.Errorf("%%#v = %q, want the public key", got)
	}
}

func TestZeroSigningKey(t *testing.T) {
	var k SigningKey
	if s := k.Sign([]byte("m")); s != ([SignatureSize]byte{}) {
		t.Errorf("zero key signed: %x", s)
	}
	s := k.Sign([]byte("m"))
	if err := verifySignature(k.Public(), []byte("m"), s[:]); err == nil {
		t.Error("the zero key's signature verifies")
	}
	if k.Seed() != nil || k.SeedHex() != "" {
		t.Error("zero key has a seed")
	}
	if _, err := k.MarshalPEM(); err == nil {
		t.Error("zero key marshalled")
	}
	var nilKey *SigningKey
	if nilKey.Seed() != nil || nilKey.SeedHex() != "" {
		t.Error("nil key has a seed")
	}
	if s := nilKey.Sign(nil); s != ([SignatureSize]byte{}) {
		t.Error("nil key signed")
	}
}

func TestPublicKeyEqualAndKeyID(t *testing.T) {
	a, b := testKey(t, 1).Public(), testKey(t, 2).Public()
	for _, tc := range []struct {
		x, y PublicKey
		want bool
	}{{a, a, true}, {a, b, false}, {PublicKey{}, PublicKey{}, true}, {a, PublicKey{}, false}} {
		if got := tc.x.Equal(tc.y); got != tc.want {
			t.Errorf("%s.Equal(%s) = %v", tc.x.KeyID(), tc.y.KeyID(), got)
		}
	}
	if id := a.KeyID(); len(id) != 16 || !strings.HasPrefix(a.Hex(), id) || id == b.KeyID() {
		t.Errorf("KeyID %q", id)
	}
	if !strings.HasPrefix(a.PEM(), "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("PEM %q", a.PEM())
	}
}

func FuzzParseSigningKey(f *testing.F) {
	seed := strings.Repeat("01", 32)
	for _, s := range []string{seed, " " + seed + "\n", base64.StdEncoding.EncodeToString(make([]byte, 32)),
		base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), rfc8410V1, rfc8410V2, rfc8410SPKI,
		seed[:63], seed + seed, "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParseSigningKey(text)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with an error")
			}
			if in := bytes.TrimSpace(text); len(in) >= 16 && strings.Contains(err.Error(), string(in)) {
				t.Fatalf("error %q holds the input", err)
			}
			return
		}
		again, err := ParseSigningKey([]byte(k.SeedHex()))
		if err != nil || !again.Public().Equal(k.Public()) {
			t.Fatalf("SeedHex round trip: %v", err)
		}
		p, err := k.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		again, err = ParseSigningKey(p)
		if err != nil || !again.Public().Equal(k.Public()) {
			t.Fatalf("PEM round trip: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	pub := tenuoKeys[0].pub
	for _, s := range []string{pub, strings.ToUpper(pub), base64.RawURLEncoding.EncodeToString(mustHex(f, pub)),
		rfc8410SPKI, rfc8410V1, smallOrderHex[0], nonCanonicalSmallOrderHex[4], "", "-----BEGIN PUBLIC KEY-----"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		k, err := ParsePublicKey(text)
		if err != nil {
			if k != (PublicKey{}) {
				t.Fatal("key returned with an error")
			}
			return
		}
		for _, form := range []string{k.Hex(), k.PEM(), base64.StdEncoding.EncodeToString(k[:])} {
			again, err := ParsePublicKey(form)
			if err != nil || !again.Equal(k) {
				t.Fatalf("round trip through %q: %v", form, err)
			}
		}
		if _, err := expandPublicKey(k); err != nil {
			t.Fatalf("ParsePublicKey accepted a key verification refuses: %v", err)
		}
	})
}

func TestIsSecretKeyText(t *testing.T) {
	k, err := GenerateSigningKey(rand.NewChaCha8([32]byte{'i', 's'}))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := k.MarshalPEM()
	for _, text := range []string{
		string(p), rfc8410V1, "comment line\n" + rfc8410V1, k.Public().PEM() + string(p),
		pemText("ENCRYPTED PRIVATE KEY", []byte{1}), pemText("OPENSSH PRIVATE KEY", []byte{1}),
		pemText("EC PRIVATE KEY", []byte{1}), pemText("RSA PRIVATE KEY", []byte{1}),
		"-----BEGIN PRIVATE KEY-----\ntruncated",
	} {
		if !IsSecretKeyText([]byte(text)) {
			t.Errorf("not recognised as a secret key:\n%s", text)
		}
		_, err := ParsePublicKey(text)
		if !errors.Is(err, ErrSecretKey) {
			t.Errorf("ParsePublicKey: %v, want ErrSecretKey", err)
		}
	}
	for _, text := range []string{
		k.SeedHex(), base64.StdEncoding.EncodeToString(k.Seed()), k.Public().Hex(), k.Public().PEM(),
		pemText("CERTIFICATE", []byte{1}), "", "PRIVATE KEY", "-----BEGIN PRIVATE KEY",
	} {
		if IsSecretKeyText([]byte(text)) {
			t.Errorf("taken for a secret key: %q", text)
		}
	}
}

// TestParsePublicKeyErrorsHideInput checks that no error of ParsePublicKey
// shows the text or its bytes: the text may be a seed given by mistake.
func TestParsePublicKeyErrorsHideInput(t *testing.T) {
	src := rand.NewChaCha8([32]byte{'h', 'i'})
	offCurve := 0
	for i := 0; i < 64; i++ {
		var b [32]byte
		src.Read(b[:])
		h := hex.EncodeToString(b[:])
		wellFormed := []string{h, strings.ToUpper(h), base64.StdEncoding.EncodeToString(b[:]), base64.RawURLEncoding.EncodeToString(b[:])}
		malformed := []string{h[:63], h + "00", h[:62] + "zz", base64.StdEncoding.EncodeToString(b[:31])}
		for j, text := range append(wellFormed, malformed...) {
			_, err := ParsePublicKey(text)
			if err == nil {
				continue
			}
			if j < len(wellFormed) {
				offCurve++
			}
			msg := strings.ToLower(err.Error())
			for _, leak := range []string{h[:16], h[32:48], strings.ToLower(base64.RawStdEncoding.EncodeToString(b[:12]))} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error shows the input: %v", err)
				}
			}
		}
	}
	if offCurve == 0 {
		t.Fatal("no well-formed input was refused: the off-curve error was not exercised")
	}
}
