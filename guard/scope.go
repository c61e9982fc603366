package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// ErrWiden is returned when a nested scope would not narrow the outer one:
// its warrant is not a delegation of the outer warrant.
var ErrWiden = errors.New("guard: a nested scope may only narrow the outer warrant")

// scope is the credentials of one context: a warrant stack and, once known,
// the key of its leaf holder. It is immutable once opened.
type scope struct {
	stack authz.Stack
	key   *authz.SigningKey
	// held is the stack and key as the decision point takes them, built when
	// the scope opens (nil when the key is missing or does not hold the leaf).
	held *enforce.HeldWarrant
}

type scopeKey struct{}

func fromContext(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(scopeKey{}).(*scope)
	return s
}

// WithWarrant returns a context whose calls are made under stack (root
// first, leaf last). Inside a scope that already has a warrant, stack must
// narrow it: either the outer stack followed by one or more delegations, or
// the delegations alone (they are then joined to the outer chain). Every new
// link is verified now (issuer, parent hash, signature, and that the child
// narrows its parent); a stack that does not narrow the outer one is refused
// with [ErrWiden] and no scope opens. Time, trust and revocation are decided
// at each call, by the guard's authorizer. A delegated warrant held alone
// (its chain not in scope) cannot be narrowed further: a stack of two or
// more must start at a root, so open the outer scope with its whole chain.
//
// A key already in scope is kept when it holds the new leaf and dropped
// otherwise: a delegated warrant is usually held by another key, given with
// [WithKey] or both at once with [WithCredentials].
func WithWarrant(ctx context.Context, stack authz.Stack) (context.Context, error) {
	outer := fromContext(ctx)
	joined, err := narrow(outer, stack)
	if err != nil {
		return ctx, err
	}
	var key *authz.SigningKey
	if outer != nil && outer.key != nil && outer.key.Public().Equal(joined.Leaf().Holder) {
		key = outer.key
	}
	return open(ctx, joined, key), nil
}

// WithKey returns a context whose calls are signed by key: the holder key of
// the scope's warrant (given before or after it). A key proves possession;
// it grants nothing, so replacing it never widens the scope. With no warrant
// in scope yet, it is kept for the next [WithWarrant].
func WithKey(ctx context.Context, key *authz.SigningKey) (context.Context, error) {
	if key == nil {
		return ctx, errors.New("guard: WithKey: no key")
	}
	var stack authz.Stack
	if outer := fromContext(ctx); outer != nil {
		stack = outer.stack
	}
	return open(ctx, stack, key), nil
}

// WithCredentials opens a scope with a warrant and the key of its leaf
// holder at once. It is [WithWarrant] followed by [WithKey], and also
// refuses a key that is not the leaf's holder.
func WithCredentials(ctx context.Context, stack authz.Stack, key *authz.SigningKey) (context.Context, error) {
	if key == nil {
		return ctx, errors.New("guard: WithCredentials: no key")
	}
	joined, err := narrow(fromContext(ctx), stack)
	if err != nil {
		return ctx, err
	}
	if !key.Public().Equal(joined.Leaf().Holder) {
		return ctx, fmt.Errorf("guard: the key %s is not the holder %s of warrant %s",
			key.Public().KeyID(), joined.Leaf().Holder.KeyID(), joined.Leaf().ID)
	}
	return open(ctx, joined, key), nil
}

// Warrant returns the warrant stack in scope, if any.
func Warrant(ctx context.Context) (authz.Stack, bool) {
	s := fromContext(ctx)
	if s == nil || len(s.stack) == 0 {
		return nil, false
	}
	return s.stack, true
}

func open(ctx context.Context, stack authz.Stack, key *authz.SigningKey) context.Context {
	s := &scope{stack: stack, key: key}
	if len(stack) > 0 && key != nil {
		// NewHeldWarrant fails only when key is not the leaf's holder: the
		// scope then proves no possession and every call is denied.
		s.held, _ = enforce.NewHeldWarrant(stack, key)
	}
	return context.WithValue(ctx, scopeKey{}, s)
}

// narrow returns stack joined to the outer scope's chain, after checking
// that it only narrows it.
func narrow(outer *scope, stack authz.Stack) (authz.Stack, error) {
	if len(stack) == 0 {
		return nil, errors.New("guard: WithWarrant: empty warrant stack")
	}
	for i, w := range stack {
		if w == nil {
			return nil, fmt.Errorf("guard: WithWarrant: warrant %d of the stack is nil", i)
		}
	}
	if outer == nil || len(outer.stack) == 0 {
		return append(authz.Stack(nil), stack...), nil
	}
	var joined authz.Stack
	switch {
	case hasPrefix(stack, outer.stack):
		if len(stack) == len(outer.stack) {
			return append(authz.Stack(nil), stack...), nil // the same warrant: nothing widens
		}
		joined = append(authz.Stack(nil), stack...)
	default:
		ph := outer.stack.Leaf().PayloadHash()
		if stack[0].ParentHash == nil || !bytes.Equal(stack[0].ParentHash[:], ph[:]) {
			return nil, fmt.Errorf("%w: warrant %s is not a delegation of the scope's warrant %s",
				ErrWiden, stack[0].ID, outer.stack.Leaf().ID)
		}
		joined = append(append(authz.Stack(nil), outer.stack...), stack...)
	}
	// The whole joined chain is checked, links included; the first
	// warrant's issuer is taken as the root here, because trust is the
	// guard's to decide at each call, and so is time: the clock is set to
	// the latest issue time, where every warrant of a well-formed chain is
	// valid.
	var latest uint64
	for _, w := range joined {
		latest = max(latest, w.IssuedAt)
	}
	if latest > 1<<62 {
		return nil, fmt.Errorf("%w: warrant issue time %d out of range", ErrWiden, latest)
	}
	at := time.Unix(int64(latest), 0)
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{joined[0].Issuer},
		CacheSize: -1, Now: func() time.Time { return at }})
	if err == nil {
		_, err = az.VerifyStack(joined.Bytes(), at)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWiden, err)
	}
	return joined, nil
}

func hasPrefix(s, prefix authz.Stack) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i, w := range prefix {
		if !bytes.Equal(s[i].Bytes(), w.Bytes()) {
			return false
		}
	}
	return true
}

// Held returns the credentials of ctx's scope as the decision point takes
// them, for front ends that pass them with each call (enforce.Call.Held):
// nil when the scope has no warrant, or no key holding its leaf.
func Held(ctx context.Context) *enforce.HeldWarrant {
	if s := fromContext(ctx); s != nil {
		return s.held
	}
	return nil
}
