package mcpproxy

import (
	"encoding/json"
	"fmt"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// envelopeError is a malformed envelope; its text is the -32602 message.
type envelopeError struct{ msg string }

func (e *envelopeError) Error() string { return e.msg }

func badEnvelope(format string, args ...any) error {
	return &envelopeError{msg: fmt.Sprintf(format, args...)}
}

// parseEnvelope reads a Tenuo envelope strictly: an object with a "warrant"
// string (which a call's envelope may leave out, Warrant then being empty)
// and a "signature" string, and optionally an "approvals" array of
// strings; no other key, no duplicate key, every length within its limit. The
// lengths are those of the raw JSON text, checked before decoding it.
//
// A tools/list envelope needs no signature (listing proves no possession;
// Tenuo's clients send the warrant alone): needSignature is false there.
func parseEnvelope(raw json.RawMessage, where string, needSignature bool) (*enforce.Envelope, error) {
	if !isObject(raw) {
		return nil, badEnvelope("%s must be an object", where)
	}
	ms, err := objectMembers(raw)
	if err != nil {
		return nil, badEnvelope("%s: %v", where, err)
	}
	meta := &enforce.Envelope{}
	var haveWarrant, haveSignature bool
	for _, m := range ms {
		v := value(raw, m)
		switch m.key {
		case "warrant":
			if len(v) > enforce.MaxWarrantLen+2 {
				return nil, badEnvelope("%s.warrant exceeds %d bytes", where, enforce.MaxWarrantLen)
			}
			s, ok := jsonString(v)
			if !ok {
				return nil, badEnvelope("%s.warrant must be a string", where)
			}
			meta.Warrant, haveWarrant = s, true
		case "signature":
			if len(v) > enforce.MaxSignatureLen+2 {
				return nil, badEnvelope("%s.signature exceeds %d bytes", where, enforce.MaxSignatureLen)
			}
			s, ok := jsonString(v)
			if !ok {
				return nil, badEnvelope("%s.signature must be a string", where)
			}
			meta.Signature, haveSignature = s, true
		case "approvals":
			if err := parseApprovals(v, where, meta); err != nil {
				return nil, err
			}
		default:
			return nil, badEnvelope("%s has unknown key %q", where, m.key)
		}
	}
	switch {
	case !haveWarrant && !(needSignature && haveSignature):
		// A call's envelope may carry its proof of possession alone: the
		// warrant then comes from the session (an HTTP X-Tenuo-Warrant
		// header), which Hooks supplies, or the call is refused there.
		return nil, badEnvelope("%s.warrant is missing", where)
	case !haveSignature && needSignature:
		return nil, badEnvelope("%s.signature is missing", where)
	case len(meta.Warrant) > enforce.MaxWarrantLen:
		return nil, badEnvelope("%s.warrant exceeds %d bytes", where, enforce.MaxWarrantLen)
	case len(meta.Signature) > enforce.MaxSignatureLen:
		return nil, badEnvelope("%s.signature exceeds %d bytes", where, enforce.MaxSignatureLen)
	}
	return meta, nil
}

func parseApprovals(v json.RawMessage, where string, meta *enforce.Envelope) error {
	if len(v) == 0 || v[0] != '[' {
		return badEnvelope("%s.approvals must be an array of strings", where)
	}
	// Bound the work before decoding: 64 approvals of 8 KiB plus quoting.
	if len(v) > enforce.MaxApprovals*(enforce.MaxApprovalLen+8)+2 {
		return badEnvelope("%s.approvals exceeds %d entries of %d bytes", where, enforce.MaxApprovals, enforce.MaxApprovalLen)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return badEnvelope("%s.approvals must be an array of strings", where)
	}
	if len(items) > enforce.MaxApprovals {
		return badEnvelope("%s.approvals has %d entries, more than %d", where, len(items), enforce.MaxApprovals)
	}
	meta.Approvals = make([]string, 0, len(items))
	for i, it := range items {
		s, ok := jsonString(it)
		if !ok {
			return badEnvelope("%s.approvals[%d] must be a string", where, i)
		}
		if len(s) > enforce.MaxApprovalLen {
			return badEnvelope("%s.approvals[%d] exceeds %d bytes", where, i, enforce.MaxApprovalLen)
		}
		meta.Approvals = append(meta.Approvals, s)
	}
	return nil
}
