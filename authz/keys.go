package authz

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PublicKeySize and SignatureSize are Ed25519's sizes; SeedSize is the size
// of an Ed25519 secret key (RFC 8032's 32-byte private key, the "seed").
const (
	PublicKeySize = 32
	SignatureSize = 64
	SeedSize      = 32
)

// PublicKey is an Ed25519 public key (wire form [1, bstr(32)]).
//
// The zero value and any other 32 bytes are representable; whether the bytes
// are a usable key is decided by [ParsePublicKey] and by verification, which
// reject points that are not on the curve, non-canonical or of small order.
type PublicKey [PublicKeySize]byte

// Hex returns the key as 64 lowercase hex digits.
func (k PublicKey) Hex() string { return hex.EncodeToString(k[:]) }

// String returns the key as 64 lowercase hex digits, like [PublicKey.Hex].
func (k PublicKey) String() string { return k.Hex() }

// KeyID returns a short identifier of the key for logs: its first 8 bytes as
// 16 lowercase hex digits. It is the fingerprint Tenuo's SDK prints for a key
// (PublicKey.fingerprint), so log lines on both sides can be matched, and it
// is a prefix of [PublicKey.Hex], so it can be searched for in key files. It
// identifies; it does not authenticate: never compare keys by KeyID.
func (k PublicKey) KeyID() string { return hex.EncodeToString(k[:8]) }

// Equal reports whether k and other are the same key, in constant time.
func (k PublicKey) Equal(other PublicKey) bool {
	return subtle.ConstantTimeCompare(k[:], other[:]) == 1
}

// PEM returns the key as a PEM "PUBLIC KEY" block (X.509 SubjectPublicKeyInfo),
// the form Tenuo's PublicKey.to_pem and OpenSSL write.
func (k PublicKey) PEM() string {
	der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(k[:]))
	if err != nil { // unreachable for an ed25519.PublicKey
		return ""
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// ErrSecretKey is wrapped by the error [ParsePublicKey] returns for a text
// that is a secret key (see [IsSecretKeyText]).
var ErrSecretKey = errors.New("this is a secret key, not a public key")

// IsSecretKeyText reports whether text holds a PEM block whose type names a
// private key ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY",
// "EC PRIVATE KEY", …): such a text is a secret key whatever else it holds.
// A bare 32-byte value in hex or base64 is not reported: the same text may be
// a seed or a public key, and only where it came from can tell.
func IsSecretKeyText(text []byte) bool {
	rest := text
	for {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			return false
		}
		rest = rest[i+len("-----BEGIN "):]
		j := bytes.Index(rest, []byte("-----"))
		if j < 0 {
			return false
		}
		if bytes.HasSuffix(bytes.TrimSpace(rest[:j]), []byte("PRIVATE KEY")) {
			return true
		}
		rest = rest[j+len("-----"):]
	}
}

// ParsePublicKey reads an Ed25519 public key written as 64 hex digits, as
// base64 of 32 bytes (standard or URL-safe alphabet, padded or not), or as a
// PEM "PUBLIC KEY" block (SubjectPublicKeyInfo). Surrounding whitespace is
// ignored. The key must be a canonical encoding of a curve point that is not
// of small order: any other key could never verify a signature here, so it
// is refused when it is configured rather than at the first request.
//
// A secret key in PEM form is refused with an error wrapping [ErrSecretKey].
// Errors never hold the text or the decoded bytes: a text given as a public
// key may be a seed by mistake.
func ParsePublicKey(text string) (PublicKey, error) {
	var k PublicKey
	s := strings.TrimSpace(text)
	var raw []byte
	switch {
	case s == "":
		return k, errors.New("public key: empty input")
	case IsSecretKeyText([]byte(s)):
		return k, fmt.Errorf("public key: a PEM private key block: %w", ErrSecretKey)
	case strings.HasPrefix(s, "-----BEGIN"):
		b, err := parsePublicPEM([]byte(s))
		if err != nil {
			return k, err
		}
		raw = b
	default:
		b, err := decodeKeyText(s, "public key", PublicKeySize)
		if err != nil {
			return k, err
		}
		raw = b
	}
	copy(k[:], raw)
	if _, err := expandPublicKey(k); err != nil {
		// The bytes are not shown: a seed given by mistake lands here about
		// half the time (random 32 bytes are a curve point half the time).
		return PublicKey{}, fmt.Errorf("public key: %w", err)
	}
	return k, nil
}

func parsePublicPEM(s []byte) ([]byte, error) {
	block, rest := pem.Decode(s)
	if block == nil {
		return nil, errors.New("public key: PEM: no complete PEM block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("public key: PEM: unexpected data after the PEM block")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("public key: PEM block is %q, want \"PUBLIC KEY\" (SubjectPublicKeyInfo)", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("public key: PEM: headers are not allowed in a \"PUBLIC KEY\" block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: PEM: %w", err)
	}
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: PEM holds a %s key, want Ed25519", keyTypeName(pub))
	}
	if len(edPub) != PublicKeySize { // x509 guarantees it; checked anyway
		return nil, fmt.Errorf("public key: PEM: Ed25519 key is %d bytes, want %d", len(edPub), PublicKeySize)
	}
	return edPub, nil
}

func keyTypeName(k any) string {
	switch k.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA"
	case *ecdh.PublicKey:
		return "X25519 (key agreement)"
	}
	return fmt.Sprintf("%T", k)
}

// SigningKey is an Ed25519 secret key (a 32-byte seed) and its public key.
//
// Printing a SigningKey with fmt (any verb, %v, %+v and %#v included) shows
// only its public key, as "SigningKey(<public key hex>)". The seed is held
// behind a pointer, so even a struct that embeds a SigningKey in an unexported
// field prints an address, not the seed. The zero value holds no key: its
// Public key is all zeros and it cannot sign.
type SigningKey struct {
	secret *signingSecret // nil in the zero value
	pub    PublicKey
}

// signingSecret is kept behind a pointer so that fmt's reflection never
// reaches the bytes (fmt prints nested pointers as addresses).
type signingSecret struct {
	priv ed25519.PrivateKey // seed ‖ public key
}

// NewSigningKeyFromSeed returns the key for a 32-byte seed.
func NewSigningKeyFromSeed(seed []byte) (*SigningKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("ed25519 seed must be %d bytes, got %d", SeedSize, len(seed))
	}
	k := &SigningKey{secret: &signingSecret{priv: ed25519.NewKeyFromSeed(seed)}}
	copy(k.pub[:], k.secret.priv[SeedSize:])
	return k, nil
}

// GenerateSigningKey returns a new key whose seed is read from rand; a nil
// rand means crypto/rand.Reader.
func GenerateSigningKey(rand io.Reader) (*SigningKey, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var seed [SeedSize]byte
	if _, err := io.ReadFull(rand, seed[:]); err != nil {
		return nil, fmt.Errorf("generating ed25519 key: reading randomness: %w", err)
	}
	return NewSigningKeyFromSeed(seed[:])
}

// ParseSigningKey reads an Ed25519 secret key: a 32-byte seed written as 64
// hex digits or as base64 (standard or URL-safe alphabet, padded or not), or
// a PEM "PRIVATE KEY" block (PKCS#8 v1, or v2 with the public key, whose
// public key must then match). Surrounding whitespace is ignored. Errors say
// which form was tried and what length was found; they never hold the key.
func ParseSigningKey(text []byte) (*SigningKey, error) {
	s := bytes.TrimSpace(text)
	switch {
	case len(s) == 0:
		return nil, errors.New("secret key: empty input")
	case bytes.HasPrefix(s, []byte("-----BEGIN")):
		return parsePrivatePEM(s)
	}
	seed, err := decodeKeyText(string(s), "secret key", SeedSize)
	if err != nil {
		return nil, err
	}
	return NewSigningKeyFromSeed(seed)
}

func parsePrivatePEM(s []byte) (*SigningKey, error) {
	block, rest := pem.Decode(s)
	if block == nil {
		return nil, errors.New("secret key: PEM: no complete PEM block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("secret key: PEM: unexpected data after the PEM block")
	}
	switch block.Type {
	case "PRIVATE KEY":
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("secret key: PEM: encrypted PKCS#8 is not supported; decrypt it first (openssl pkey -in key.pem)")
	case "OPENSSH PRIVATE KEY":
		return nil, errors.New("secret key: PEM: OpenSSH keys are not supported; convert to PKCS#8 (ssh-keygen -p -m PKCS8 -f key)")
	default:
		return nil, fmt.Errorf("secret key: PEM block is %q, want \"PRIVATE KEY\" (PKCS#8)", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("secret key: PEM: headers are not allowed in a \"PRIVATE KEY\" block")
	}
	seed, pub, err := parsePKCS8Ed25519(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("secret key: PKCS#8: %w", err)
	}
	k, err := NewSigningKeyFromSeed(seed)
	if err != nil {
		return nil, fmt.Errorf("secret key: PKCS#8: %w", err)
	}
	if pub != nil && !bytes.Equal(pub, k.pub[:]) {
		return nil, errors.New("secret key: PKCS#8: the embedded public key does not match the private key")
	}
	return k, nil
}

// Object identifiers named in PKCS#8 errors (RFC 8410, RFC 8017, RFC 5480).
var (
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidNames   = map[string]string{
		"1.3.101.110":          "X25519 (key agreement, not signing)",
		"1.3.101.111":          "X448",
		"1.3.101.113":          "Ed448",
		"1.2.840.113549.1.1.1": "RSA",
		"1.2.840.10045.2.1":    "ECDSA",
		"1.2.840.10040.4.1":    "DSA",
	}
)

// parsePKCS8Ed25519 reads a DER OneAsymmetricKey (RFC 5958) holding an
// Ed25519 key (RFC 8410 §7). It returns the seed, and the public key when the
// structure carries one (version 2). Trailing or unknown fields are errors.
func parsePKCS8Ed25519(der []byte) (seed, pub []byte, err error) {
	input := cryptobyte.String(der)
	var key cryptobyte.String
	if !input.ReadASN1(&key, cbasn1.SEQUENCE) || !input.Empty() {
		return nil, nil, errors.New("not a DER SEQUENCE")
	}
	var version int64
	if !key.ReadASN1Integer(&version) {
		return nil, nil, errors.New("malformed version")
	}
	if version != 0 && version != 1 {
		return nil, nil, fmt.Errorf("unsupported version %d (want 0 or 1)", version)
	}
	var algo cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !key.ReadASN1(&algo, cbasn1.SEQUENCE) || !algo.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, errors.New("malformed algorithm identifier")
	}
	if !oid.Equal(oidEd25519) {
		name := oidNames[oid.String()]
		if name == "" {
			name = "unknown"
		}
		return nil, nil, fmt.Errorf("key algorithm is %s (OID %s), want Ed25519 (OID %s)", name, oid, oidEd25519)
	}
	if !algo.Empty() {
		return nil, nil, errors.New("the Ed25519 algorithm identifier must have no parameters")
	}
	var privOctets, inner cryptobyte.String
	if !key.ReadASN1(&privOctets, cbasn1.OCTET_STRING) ||
		!privOctets.ReadASN1(&inner, cbasn1.OCTET_STRING) || !privOctets.Empty() {
		return nil, nil, errors.New("malformed private key field (want an OCTET STRING holding an OCTET STRING)")
	}
	if len(inner) != SeedSize {
		return nil, nil, fmt.Errorf("Ed25519 private key is %d bytes, want %d", len(inner), SeedSize)
	}
	if !key.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, nil, errors.New("malformed attributes")
	}
	var pubBits cryptobyte.String
	var hasPub bool
	if !key.ReadOptionalASN1(&pubBits, &hasPub, cbasn1.Tag(1).ContextSpecific()) {
		return nil, nil, errors.New("malformed public key field")
	}
	if hasPub {
		if version != 1 {
			return nil, nil, errors.New("a public key field requires version 1 (PKCS#8 v2)")
		}
		// A BIT STRING: one byte of unused bits (0), then the key.
		if len(pubBits) != 1+PublicKeySize || pubBits[0] != 0 {
			return nil, nil, fmt.Errorf("embedded public key is %d bytes, want a %d-byte BIT STRING", len(pubBits), 1+PublicKeySize)
		}
		pub = append([]byte(nil), pubBits[1:]...)
	}
	if !key.Empty() {
		return nil, nil, errors.New("unexpected data after the key fields")
	}
	return append([]byte(nil), inner...), pub, nil
}

// decodeKeyText decodes size bytes written as hex (2·size digits) or base64
// (any alphabet, padded or not). what names the key in errors, which report
// the form tried and the length found but never the text itself, since it
// may be a secret.
func decodeKeyText(s, what string, size int) ([]byte, error) {
	hexLen := 2 * size
	if len(s) == hexLen {
		b, err := decodeHex(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %d characters, read as hex: %w", what, len(s), err)
		}
		return b, nil
	}
	b64Len := base64.RawStdEncoding.EncodedLen(size)
	if len(s) == b64Len || len(s) == base64.StdEncoding.EncodedLen(size) {
		b, err := decodeBase64(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %d characters, read as base64: %w", what, len(s), err)
		}
		if len(b) != size {
			return nil, fmt.Errorf("%s: base64 decodes to %d bytes, want %d", what, len(b), size)
		}
		return b, nil
	}
	// Neither length fits: say what the text looks like and how long it is.
	if isHexText(s) {
		if len(s)%2 != 0 {
			return nil, fmt.Errorf("%s: found an odd number (%d) of hex digits, want %d hex digits (%d bytes)", what, len(s), hexLen, size)
		}
		hint := ""
		if len(s) == 4*size && what == "secret key" {
			hint = "; this looks like a 64-byte seed‖public key: give the seed (the first 32 bytes)"
		}
		return nil, fmt.Errorf("%s: found %d hex digits (%d bytes), want %d hex digits (%d bytes)%s", what, len(s), len(s)/2, hexLen, size, hint)
	}
	if b, err := decodeBase64(s); err == nil {
		return nil, fmt.Errorf("%s: base64 decodes to %d bytes, want %d", what, len(b), size)
	}
	return nil, fmt.Errorf("%s: unrecognised form of %d characters: want %d hex digits, base64 of %d bytes (%d or %d characters), or a PEM block",
		what, len(s), hexLen, size, b64Len, base64.StdEncoding.EncodedLen(size))
}

func isHexText(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexValue(s[i]); !ok {
			return false
		}
	}
	return true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeHex decodes an even-length hex string. Unlike encoding/hex, its error
// names the offset of a bad character but not the character, which may be
// part of a secret.
func decodeHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number (%d) of hex digits", len(s))
	}
	out := make([]byte, len(s)/2)
	for i := 0; i < len(s); i += 2 {
		hi, ok1 := hexValue(s[i])
		lo, ok2 := hexValue(s[i+1])
		if !ok1 {
			return nil, fmt.Errorf("character at offset %d is not a hex digit", i)
		}
		if !ok2 {
			return nil, fmt.Errorf("character at offset %d is not a hex digit", i+1)
		}
		out[i/2] = hi<<4 | lo
	}
	return out, nil
}

// decodeBase64 decodes standard or URL-safe base64, padded or not. Padding,
// when present, must be complete; the two alphabets may not be mixed; unused
// trailing bits must be zero (so that one key has one spelling per alphabet).
func decodeBase64(s string) ([]byte, error) {
	raw := strings.TrimRight(s, "=")
	if pad := len(s) - len(raw); pad > 0 && (pad > 2 || len(s)%4 != 0) {
		return nil, errors.New("bad padding")
	}
	std := strings.ContainsAny(raw, "+/")
	url := strings.ContainsAny(raw, "-_")
	if std && url {
		return nil, errors.New("mixes the standard (+/) and URL-safe (-_) alphabets")
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	b, err := enc.Strict().DecodeString(raw)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return nil, fmt.Errorf("invalid character or length at offset %d", int64(corrupt))
		}
		return nil, errors.New("invalid base64")
	}
	return b, nil
}

// Public returns the key's public half.
func (k *SigningKey) Public() PublicKey { return k.pub }

// Seed returns a copy of the 32-byte seed, or nil for the zero SigningKey.
func (k *SigningKey) Seed() []byte {
	if k == nil || k.secret == nil {
		return nil
	}
	return append([]byte(nil), k.secret.priv[:SeedSize]...)
}

// SeedHex returns the seed as 64 lowercase hex digits, the form
// [ParseSigningKey] reads; it is "" for the zero SigningKey.
func (k *SigningKey) SeedHex() string {
	if k == nil || k.secret == nil {
		return ""
	}
	return hex.EncodeToString(k.secret.priv[:SeedSize])
}

// MarshalPEM returns the key as a PEM "PRIVATE KEY" block (PKCS#8 v1, RFC
// 8410), which Tenuo's SigningKey.from_pem and OpenSSL read.
func (k *SigningKey) MarshalPEM() ([]byte, error) {
	if k == nil || k.secret == nil {
		return nil, errors.New("marshal secret key: the SigningKey holds no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.secret.priv)
	if err != nil {
		return nil, fmt.Errorf("marshal secret key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// Sign signs msg (plain Ed25519, RFC 8032). The zero SigningKey returns an
// all-zero signature, which no verifier accepts (its R is a small-order point).
func (k *SigningKey) Sign(msg []byte) [SignatureSize]byte {
	var s [SignatureSize]byte
	if k == nil || k.secret == nil {
		return s
	}
	copy(s[:], ed25519.Sign(k.secret.priv, msg))
	return s
}

// String returns "SigningKey(<public key hex>)"; it never shows the seed.
func (k SigningKey) String() string { return "SigningKey(" + k.pub.Hex() + ")" }

// GoString returns the same text as String, so that %#v hides the seed too.
func (k SigningKey) GoString() string { return k.String() }

// Format writes the same text as String for every verb, so that no fmt verb
// (%x and %+v included) prints the seed.
func (k SigningKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }
