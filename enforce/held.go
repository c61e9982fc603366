package enforce

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// HeldWarrant is a warrant the enforcement point holds for callers that know
// nothing of warrants: it signs the proof of possession for their calls.
type HeldWarrant struct {
	Stack authz.Stack
	Key   *authz.SigningKey // the leaf holder's key
	text  []byte
}

// NewHeldWarrant checks that key holds the stack's leaf.
func NewHeldWarrant(s authz.Stack, key *authz.SigningKey) (*HeldWarrant, error) {
	if len(s) == 0 || key == nil {
		return nil, errors.New("held warrant: a warrant and its holder key are both required")
	}
	if !key.Public().Equal(s.Leaf().Holder) {
		return nil, fmt.Errorf("held warrant: the key %s is not the holder %s of warrant %s",
			key.Public().Hex(), s.Leaf().Holder.Hex(), s.Leaf().ID)
	}
	return &HeldWarrant{Stack: s, Key: key, text: s.Bytes()}, nil
}

// apply fills req with the held warrant and its holder's key: possession is
// proven by the key being the leaf's holder (checked by authz on every
// call), so no PoP is signed or verified per call. The fields checked are
// the mapped ones, or the canonical arguments (a call without arguments is
// checked as {}).
func (h *HeldWarrant) apply(req *authz.Request, args json.RawMessage) error {
	req.Warrant = h.text
	if req.Fields == nil {
		if len(args) == 0 {
			args = json.RawMessage("{}")
		}
		canon, err := authz.CanonicalArgs(args)
		if err != nil {
			return err
		}
		req.Fields = canon
	}
	req.Holder = h.Key
	return nil
}
