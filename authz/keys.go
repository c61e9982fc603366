package authz

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
)

// PublicKeySize and SignatureSize are Ed25519's sizes.
const (
	PublicKeySize = 32
	SignatureSize = 64
	SeedSize      = 32
)

// PublicKey is an Ed25519 public key (wire form [1, bstr(32)]).
type PublicKey [PublicKeySize]byte

// Hex returns the key as 64 lowercase hex digits.
func (k PublicKey) Hex() string { return hex.EncodeToString(k[:]) }

func (k PublicKey) String() string { return k.Hex() }

// SigningKey is an Ed25519 secret key (a 32-byte seed).
//
// Placeholder implementation on crypto/ed25519 so that dependants compile;
// the strict verifier and the key text forms replace it.
type SigningKey struct {
	priv ed25519.PrivateKey
	pub  PublicKey
}

// NewSigningKeyFromSeed returns the key for a 32-byte seed.
func NewSigningKeyFromSeed(seed []byte) (*SigningKey, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("ed25519 seed must be %d bytes, got %d", SeedSize, len(seed))
	}
	k := &SigningKey{priv: ed25519.NewKeyFromSeed(seed)}
	copy(k.pub[:], k.priv[32:])
	return k, nil
}

// Public returns the key's public half.
func (k *SigningKey) Public() PublicKey { return k.pub }

// Sign signs msg.
func (k *SigningKey) Sign(msg []byte) [SignatureSize]byte {
	var s [SignatureSize]byte
	copy(s[:], ed25519.Sign(k.priv, msg))
	return s
}

// verifySignature checks sig over msg under pub; nil means valid.
func verifySignature(pub PublicKey, msg, sig []byte) error {
	if len(sig) != SignatureSize {
		return fmt.Errorf("signature must be %d bytes, got %d", SignatureSize, len(sig))
	}
	if !ed25519.Verify(pub[:], msg, sig) {
		return fmt.Errorf("ed25519 signature does not verify")
	}
	return nil
}
