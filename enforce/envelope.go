package enforce

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Size limits of a Tenuo envelope, checked by every front end before
// anything is decoded further (WIRE.md §7).
const (
	MaxWarrantLen   = 64 << 10 // bytes of the warrant text
	MaxSignatureLen = 4 << 10  // bytes of the signature text
	MaxApprovals    = 64       // approvals in one envelope
	MaxApprovalLen  = 8 << 10  // bytes of one approval's text
)

// Where an Envelope came from.
const (
	SourceMeta      = "_meta"     // MCP params._meta.tenuo
	SourceArguments = "arguments" // MCP params.arguments._tenuo
	SourceHeader    = "header"    // HTTP X-Tenuo-Warrant / X-Tenuo-PoP / X-Tenuo-Approvals
)

// Envelope is the Tenuo credentials a request carries: the warrant (or
// warrant stack), the proof-of-possession signature and any approvals, each
// still text as sent (base64; on HTTP the signature may also be hex).
type Envelope struct {
	Warrant   string
	Signature string // empty on a listing, which proves no possession
	Approvals []string
	// Source is SourceMeta, SourceArguments or SourceHeader.
	Source string
}

// Equal reports whether e and o carry the same credentials (wherever they
// came from).
func (e *Envelope) Equal(o *Envelope) bool {
	return e.Warrant == o.Warrant && e.Signature == o.Signature && slices.Equal(e.Approvals, o.Approvals)
}

// CheckSizes refuses an envelope over the limits.
func (e *Envelope) CheckSizes() error {
	switch {
	case len(e.Warrant) > MaxWarrantLen:
		return fmt.Errorf("the warrant exceeds %d bytes", MaxWarrantLen)
	case len(e.Signature) > MaxSignatureLen:
		return fmt.Errorf("the signature exceeds %d bytes", MaxSignatureLen)
	case len(e.Approvals) > MaxApprovals:
		return fmt.Errorf("%d approvals, more than %d", len(e.Approvals), MaxApprovals)
	}
	for i, a := range e.Approvals {
		if len(a) > MaxApprovalLen {
			return fmt.Errorf("approval %d exceeds %d bytes", i, MaxApprovalLen)
		}
	}
	return nil
}

// decodeSignature reads the PoP text: base64 in either alphabet, padded or
// not (MCP and HTTP), or 128 hex digits (HTTP).
func decodeSignature(s string) ([]byte, error) {
	if len(s) == 128 {
		if b, err := decodeHex(s); err == nil {
			return b, nil
		}
	}
	return authz.DecodeBase64(s)
}

func decodeHex(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := 0; i < len(out); i++ {
		hi, ok1 := hexVal(s[2*i])
		lo, ok2 := hexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return nil, errors.New("not hex")
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

func hexVal(c byte) (byte, bool) {
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
