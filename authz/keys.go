package authz

import "encoding/hex"

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
