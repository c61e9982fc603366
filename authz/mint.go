package authz

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultMaxDepth is the max_depth of a root warrant minted without one.
const DefaultMaxDepth = 3

// Grant describes a warrant to mint with [Mint] or delegate with [Attenuate].
// Unset fields take defaults: for a root, TTL 300 s and max_depth 3; for a
// child, the parent's tools, max_depth, clearance, approvals and extensions.
type Grant struct {
	Type   WarrantType
	Holder PublicKey
	// Tools maps tool names to argument constraints (execution warrants).
	// For Attenuate, nil keeps every parent tool as it is.
	Tools map[string]ConstraintSet
	// TTL is how long the warrant lives. Zero means 300 s for a root and
	// the parent's remaining time for a child; a child's TTL is capped at
	// its parent's expiry, as Tenuo's builder does.
	TTL      time.Duration
	MaxDepth *uint64
	// Issuer warrants.
	IssuableTools    []string
	MaxIssueDepth    *uint64
	ConstraintBounds *ConstraintSet
	// Multi-signature approval.
	RequiredApprovers []PublicKey
	MinApprovals      *uint64
	Clearance         *uint8
	// SessionID and AgentID set the tenuo.session_id / tenuo.agent_id
	// extensions. A child inherits its parent's session and may not change it.
	SessionID, AgentID string
	// Extensions are added as they are (keys other than the two above).
	Extensions map[string][]byte
	// Rand is the source for the warrant id; nil means crypto/rand.
	Rand io.Reader
}

// Mint signs a root warrant with the issuer key.
func Mint(issuer *SigningKey, g Grant, now time.Time) (*Warrant, error) {
	if issuer == nil {
		return nil, errors.New("mint: no issuer key")
	}
	ttl := g.TTL
	if ttl == 0 {
		ttl = DefaultTTLSeconds * time.Second
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	maxDepth := uint64(DefaultMaxDepth)
	if g.MaxDepth != nil {
		maxDepth = *g.MaxDepth
	}
	p, err := payloadFromGrant(g, now, ttl, nil)
	if err != nil {
		return nil, err
	}
	p.Issuer = issuer.Public()
	p.MaxDepth = maxDepth
	if err := validatePayload(p); err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	return signPayload(issuer, p)
}

// Attenuate delegates the leaf of parent to a new holder: it signs a child
// with the leaf holder's key and returns the stack with the child appended.
// It refuses, naming the rule, any child that the verifier would refuse.
func Attenuate(parent Stack, holderKey *SigningKey, g Grant, now time.Time) (Stack, error) {
	leaf := parent.Leaf()
	if leaf == nil {
		return nil, errors.New("attenuate: empty parent stack")
	}
	if holderKey == nil || !holderKey.Public().Equal(leaf.Holder) {
		return nil, fmt.Errorf("attenuate: the signing key is not the holder %s of warrant %s", leaf.Holder.Hex(), leaf.ID)
	}
	if leaf.Depth >= min(leaf.MaxDepth, MaxChainDepth) {
		return nil, deny(CodeDepthExceeded, ErrAttenuation,
			"attenuate: warrant %s is terminal (depth %d, max_depth %d) and cannot be delegated", leaf.ID, leaf.Depth, leaf.MaxDepth)
	}
	remaining := time.Duration(int64(leaf.ExpiresAt)-now.Unix()) * time.Second
	if remaining <= 0 {
		return nil, deny(CodeWarrantExpired, ErrExpired, "attenuate: parent warrant %s has expired", leaf.ID)
	}
	ttl := g.TTL
	if ttl == 0 || ttl > remaining {
		ttl = remaining
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	if g.Tools == nil && g.Type == leaf.Type {
		g.Tools = leaf.Tools
	}
	if g.Type == Issuer && g.IssuableTools == nil {
		g.IssuableTools = leaf.IssuableTools
	}
	if g.Type == Issuer && g.ConstraintBounds == nil {
		g.ConstraintBounds = leaf.ConstraintBounds
	}
	if g.Clearance == nil {
		g.Clearance = leaf.Clearance
	}
	if g.RequiredApprovers == nil && g.MinApprovals == nil {
		g.RequiredApprovers, g.MinApprovals = leaf.RequiredApprovers, leaf.MinApprovals
	}
	if sess, ok := leaf.SessionID(); ok {
		if g.SessionID != "" && g.SessionID != sess {
			return nil, fmt.Errorf("attenuate: session id is inherited from the parent (%q) and cannot change", sess)
		}
		g.SessionID = sess
	}
	p, err := payloadFromGrant(g, now, ttl, leaf.Extensions)
	if err != nil {
		return nil, err
	}
	p.Issuer = leaf.Holder
	p.Depth = leaf.Depth + 1
	p.MaxDepth = leaf.MaxDepth
	if g.MaxDepth != nil {
		p.MaxDepth = *g.MaxDepth
	}
	ph := leaf.PayloadHash()
	p.ParentHash = &ph
	if p.ExpiresAt > leaf.ExpiresAt {
		p.ExpiresAt = leaf.ExpiresAt
	}
	if err := validatePayload(p); err != nil {
		return nil, fmt.Errorf("attenuate: %w", err)
	}
	if err := checkDelegation(&leaf.Payload, p); err != nil {
		return nil, fmt.Errorf("attenuate: %w", err)
	}
	child, err := signPayload(holderKey, p)
	if err != nil {
		return nil, err
	}
	out := make(Stack, 0, len(parent)+1)
	return append(append(out, parent...), child), nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Second {
		return fmt.Errorf("ttl must be at least 1s, got %s", ttl)
	}
	if ttl > MaxTTLSeconds*time.Second {
		return fmt.Errorf("ttl %s exceeds the maximum of 90 days", ttl)
	}
	return nil
}

func payloadFromGrant(g Grant, now time.Time, ttl time.Duration, inherited map[string][]byte) (*Payload, error) {
	if now.Unix() <= 0 {
		return nil, errors.New("mint: clock before 1970")
	}
	id, err := NewWarrantID(g.Rand, now)
	if err != nil {
		return nil, err
	}
	p := &Payload{
		Version:           1,
		ID:                id,
		Type:              g.Type,
		Holder:            g.Holder,
		IssuedAt:          uint64(now.Unix()),
		ExpiresAt:         uint64(now.Unix()) + uint64(ttl/time.Second),
		IssuableTools:     g.IssuableTools,
		MaxIssueDepth:     g.MaxIssueDepth,
		ConstraintBounds:  g.ConstraintBounds,
		RequiredApprovers: g.RequiredApprovers,
		MinApprovals:      g.MinApprovals,
		Clearance:         g.Clearance,
	}
	if g.Type == Execution {
		p.Tools = make(map[string]ConstraintSet, len(g.Tools))
		for name, set := range g.Tools {
			for arg, c := range set.Constraints {
				if c == nil {
					return nil, fmt.Errorf("tool %q argument %q: nil constraint", name, arg)
				}
				if err := c.validate(); err != nil {
					return nil, fmt.Errorf("tool %q argument %q: %w", name, arg, err)
				}
				if hasEmptyAll(c) {
					return nil, fmt.Errorf("tool %q argument %q: %s holds an empty All, which is invalid (it denies every value)", name, arg, c)
				}
			}
			p.Tools[name] = set
		}
	} else if len(g.Tools) > 0 {
		return nil, errors.New("an issuer warrant grants issuable tools, not tools")
	}
	if g.ConstraintBounds != nil {
		for arg, c := range g.ConstraintBounds.Constraints {
			if c != nil && hasEmptyAll(c) {
				return nil, fmt.Errorf("constraint_bounds argument %q: %s holds an empty All, which is invalid (it denies every value)", arg, c)
			}
		}
	}
	ext := make(map[string][]byte, len(inherited)+len(g.Extensions)+2)
	for k, v := range inherited {
		ext[k] = v
	}
	for k, v := range g.Extensions {
		if k == ExtSessionID || k == ExtAgentID {
			return nil, fmt.Errorf("extension %q is set through its own field", k)
		}
		ext[k] = v
	}
	if g.SessionID != "" {
		ext[ExtSessionID] = []byte(g.SessionID)
	}
	if g.AgentID != "" {
		ext[ExtAgentID] = []byte(g.AgentID)
	}
	if len(ext) > 0 {
		p.Extensions = ext
	}
	return p, nil
}

func signPayload(k *SigningKey, p *Payload) (*Warrant, error) {
	b, err := EncodePayload(p)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxWarrantBytes {
		return nil, deny(CodeWarrantTooLarge, ErrTooLarge, "warrant payload of %d bytes exceeds %d", len(b), MaxWarrantBytes)
	}
	sig := k.Sign(envelopeMessage(b))
	w := newWarrant(*p, b, sig)
	// Decode what was encoded, so that a minted warrant is exactly what a
	// verifier will see.
	return ParseWarrant(w.Bytes())
}

// NewWarrantID returns a UUIDv7 for time now with random bits from r (nil:
// crypto/rand).
func NewWarrantID(r io.Reader, now time.Time) (WarrantID, error) {
	if r == nil {
		r = rand.Reader
	}
	var id WarrantID
	if _, err := io.ReadFull(r, id[6:]); err != nil {
		return id, fmt.Errorf("warrant id: %w", err)
	}
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(now.UnixMilli()))
	copy(id[:6], ms[2:])
	id[6] = 0x70 | id[6]&0x0f // version 7
	id[8] = 0x80 | id[8]&0x3f // RFC 4122 variant
	return id, nil
}
