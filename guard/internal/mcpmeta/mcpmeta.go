// Package mcpmeta reads the Tenuo envelope of an MCP request, params._meta
// .tenuo as an MCP SDK decoded it (or params.arguments._tenuo), for the MCP server middleware of
// guard/mcpgo and guard/gosdk. The envelope is read as strictly as the MCP
// relay reads it (mcpproxy): an object with a "warrant" string, a
// "signature" string (not on a listing) and optionally an "approvals" array
// of strings; no other member; every length within enforce's limits.
package mcpmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// Key is the _meta member that carries the envelope.
const Key = "tenuo"

// Envelope reads meta[Key]: nil, nil when absent. needSignature is false for
// tools/list (listing proves no possession). A present but malformed
// envelope is an error whose text is the -32602 reason.
func Envelope(meta map[string]any, needSignature bool) (*enforce.Envelope, error) {
	raw, ok := meta[Key]
	if !ok {
		return nil, nil
	}
	const where = "_meta.tenuo"
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s must be an object", where)
	}
	env := &enforce.Envelope{Source: enforce.SourceMeta}
	var haveWarrant, haveSignature bool
	for k, v := range obj {
		switch k {
		case "warrant":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s.warrant must be a string", where)
			}
			env.Warrant, haveWarrant = s, true
		case "signature":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("%s.signature must be a string", where)
			}
			env.Signature, haveSignature = s, true
		case "approvals":
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%s.approvals must be an array of strings", where)
			}
			if len(list) > enforce.MaxApprovals {
				return nil, fmt.Errorf("%s.approvals has %d entries, more than %d", where, len(list), enforce.MaxApprovals)
			}
			env.Approvals = make([]string, 0, len(list))
			for i, a := range list {
				s, ok := a.(string)
				if !ok {
					return nil, fmt.Errorf("%s.approvals[%d] must be a string", where, i)
				}
				if len(s) > enforce.MaxApprovalLen {
					return nil, fmt.Errorf("%s.approvals[%d] exceeds %d bytes", where, i, enforce.MaxApprovalLen)
				}
				env.Approvals = append(env.Approvals, s)
			}
		default:
			return nil, fmt.Errorf("%s has unknown key %q", where, k)
		}
	}
	switch {
	case !haveWarrant:
		return nil, fmt.Errorf("%s.warrant is missing", where)
	case !haveSignature && needSignature:
		return nil, fmt.Errorf("%s.signature is missing", where)
	case len(env.Warrant) > enforce.MaxWarrantLen:
		return nil, fmt.Errorf("%s.warrant exceeds %d bytes", where, enforce.MaxWarrantLen)
	case len(env.Signature) > enforce.MaxSignatureLen:
		return nil, fmt.Errorf("%s.signature exceeds %d bytes", where, enforce.MaxSignatureLen)
	}
	return env, nil
}

// Strip returns meta without the envelope: a copy, so that the request the
// SDK holds is not changed under anyone else; nil when nothing is left.
func Strip(meta map[string]any) map[string]any {
	if _, ok := meta[Key]; !ok {
		return meta
	}
	out := maps.Clone(meta)
	delete(out, Key)
	if len(out) == 0 {
		return nil
	}
	return out
}

// ArgKey is the arguments member that carries the envelope in band, for
// clients that cannot set _meta (the relay accepts it too).
const ArgKey = "_tenuo"

// TakeArguments reads arguments._tenuo from a call's raw arguments: the
// envelope (nil when absent) and the arguments without it. Without the
// member, args is returned as it is; with it, the other members keep their
// bytes (the object is re-encoded around them).
func TakeArguments(args json.RawMessage) (*enforce.Envelope, json.RawMessage, error) {
	if len(args) == 0 || (!bytes.Contains(args, []byte(ArgKey)) && !bytes.Contains(args, []byte(`\u`))) {
		return nil, args, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(args, &members); err != nil {
		return nil, args, nil // not an object: the decision refuses it
	}
	raw, ok := members[ArgKey]
	if !ok {
		return nil, args, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, nil, fmt.Errorf("arguments._tenuo: %v", err)
	}
	env, err := Envelope(map[string]any{Key: v}, true)
	if err != nil {
		return nil, nil, fmt.Errorf("in arguments: %v", err)
	}
	env.Source = enforce.SourceArguments
	delete(members, ArgKey)
	rest, err := json.Marshal(members)
	if err != nil {
		return nil, nil, err
	}
	return env, rest, nil
}

// Pick chooses between the _meta and the in-band envelope as the relay
// does: either alone, or both when they carry the same credentials; two
// different envelopes are refused (which one the PoP covers is ambiguous).
func Pick(meta, inBand *enforce.Envelope) (*enforce.Envelope, error) {
	switch {
	case meta != nil && inBand != nil && !meta.Equal(inBand):
		return nil, errors.New("params._meta.tenuo and params.arguments._tenuo disagree")
	case meta != nil:
		return meta, nil
	}
	return inBand, nil
}
