package authz

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Wire limits (WIRE.md §2). Decoding refuses anything beyond them.
const (
	MaxWarrantBytes      = 64 << 10  // one signed warrant
	MaxStackBytes        = 256 << 10 // a whole stack
	MaxTools             = 256
	MaxConstraintsPerSet = 64
	MaxExtensions        = 64
	MaxExtensionKeyBytes = 255
	MaxExtensionValue    = 8 << 10
	MaxConstraintNesting = 32
	MaxChainDepth        = 64
	MaxTTLSeconds        = 90 * 24 * 3600 // when minting
	DefaultTTLSeconds    = 300
)

// Extension keys Tenuo defines.
const (
	ExtSessionID     = "tenuo.session_id"
	ExtAgentID       = "tenuo.agent_id"
	ExtApprovalGates = "tenuo.approval_gates"
)

// WarrantIDPrefix is the prefix of a warrant id's text form.
const WarrantIDPrefix = "tnu_wrt_"

// WarrantID is a warrant's 16-byte id (a UUIDv7).
type WarrantID [16]byte

// String returns "tnu_wrt_" followed by 32 lowercase hex digits.
func (id WarrantID) String() string { return WarrantIDPrefix + hex.EncodeToString(id[:]) }

// Hex returns the 32 lowercase hex digits without prefix, as PoP signs them.
func (id WarrantID) Hex() string { return hex.EncodeToString(id[:]) }

// WarrantType tells an execution warrant (it grants tool calls) from an
// issuer warrant (it grants the right to mint execution warrants).
type WarrantType uint8

const (
	Execution WarrantType = 0
	Issuer    WarrantType = 1
)

func (t WarrantType) String() string {
	switch t {
	case Execution:
		return "execution"
	case Issuer:
		return "issuer"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// WildcardTool is the tools key that applies to any tool name.
const WildcardTool = "*"

// Payload is the signed content of a warrant (WIRE.md §2). Optional fields
// are nil when absent on the wire.
type Payload struct {
	Version           uint64 // always 1
	ID                WarrantID
	Type              WarrantType
	Tools             map[string]ConstraintSet // execution warrants
	Holder            PublicKey
	Issuer            PublicKey
	IssuedAt          uint64 // Unix seconds
	ExpiresAt         uint64 // Unix seconds
	MaxDepth          uint64
	ParentHash        *[32]byte         // SHA-256 of the parent's payload bytes; nil at a root
	Extensions        map[string][]byte // nil or empty: omitted
	IssuableTools     []string          // issuer warrants; nil: absent
	MaxIssueDepth     *uint64
	ConstraintBounds  *ConstraintSet // issuer warrants
	RequiredApprovers []PublicKey    // nil: absent
	MinApprovals      *uint64
	Clearance         *uint8
	Depth             uint64

	gates *gateCache // parsed approval gates of a decoded warrant
}

// SessionID returns the tenuo.session_id extension, if any.
func (p *Payload) SessionID() (string, bool) {
	v, ok := p.Extensions[ExtSessionID]
	return string(v), ok
}

// Warrant is a decoded, signed warrant. Its payload bytes are the exact bytes
// that were signed: they are never re-encoded.
type Warrant struct {
	Payload
	payloadBytes []byte
	signature    [64]byte
	raw          []byte // the envelope's CBOR, as received or as encoded
}

// PayloadBytes returns the signed payload bytes. Do not modify them.
func (w *Warrant) PayloadBytes() []byte { return w.payloadBytes }

// Signature returns the issuer's Ed25519 signature over the envelope message.
func (w *Warrant) Signature() [64]byte { return w.signature }

// PayloadHash returns SHA-256 of the payload bytes: what a child's
// parent_hash must equal.
func (w *Warrant) PayloadHash() [32]byte { return sha256.Sum256(w.payloadBytes) }

// Bytes returns the warrant's envelope CBOR. Do not modify it.
func (w *Warrant) Bytes() []byte { return w.raw }

// Stack is a delegation chain, root first, leaf last.
type Stack []*Warrant

// Leaf returns the last warrant of the stack, or nil when it is empty.
func (s Stack) Leaf() *Warrant {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

// envelope domain labels (WIRE.md §1, §6, §8).
const (
	domainWarrant  = "tenuo-warrant-v1"
	domainPoP      = "tenuo-pop-v1"
	domainApproval = "tenuo-approval-v1"
	domainSRL      = "tenuo-srl-v1"
)

// envelopeMessage is what an issuer signs: "tenuo-warrant-v1" ‖ 0x01 ‖ payload.
func envelopeMessage(payload []byte) []byte {
	m := make([]byte, 0, len(domainWarrant)+1+len(payload))
	m = append(m, domainWarrant...)
	m = append(m, 1)
	return append(m, payload...)
}
