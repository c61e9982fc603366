package enforce

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Followup carries what one decision leaves for the front end to act on
// once the server has answered: how long a filtered listing may be cached,
// and (for calls) what a later message about the same call needs. A front
// end that needs it attaches one to the request's context with
// WithFollowup before asking Check or Visible; the Point fills it in. It
// rides in the context so that the hook layer between a front end and the
// Point passes it on without knowing of it. Safe for concurrent use.
type Followup struct {
	// RequestState is the call's MCP requestState (2026-07-28), set by the
	// front end before Check: a retry of a call the server answered
	// input_required carries the first attempt's PoP, which the replay
	// check lets through once for exactly the state a grant names.
	RequestState authz.RequestState

	mu sync.Mutex

	retry   func(authz.RequestState) error // set when an allowed call's PoP was claimed
	recheck func() error                   // set when a call was allowed

	listSet     bool // Visible recorded what bounds the listing
	listBounded bool
	listLeft    time.Duration // the warrant's remaining life at listAt
	listAt      time.Time     // when listLeft was measured (monotonic)
}

// RequestState is the requestState an MCP call carries (authz's, so that
// front ends need not import authz).
type RequestState = authz.RequestState

type followupKey struct{}

// WithFollowup returns ctx carrying f.
func WithFollowup(ctx context.Context, f *Followup) context.Context {
	return context.WithValue(ctx, followupKey{}, f)
}

func followupOf(ctx context.Context) *Followup {
	f, _ := ctx.Value(followupKey{}).(*Followup)
	return f
}

// ListTTL says how long the listing Visible filtered may be cached: bounded
// is true when the warrant that filtered it (or the absence of one) bounds
// it, left being what remains of that warrant's life now (0 once expired,
// and 0 when no warrant verified: a listing that shows nothing is not to be
// cached). bounded is false when nothing about the caller bounds it (the
// "all" list policy). When Visible recorded nothing (it did not run: the
// listing was refused before it), the listing is bounded to 0.
func (f *Followup) ListTTL() (left time.Duration, bounded bool) {
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.listSet {
		return 0, true
	}
	if !f.listBounded {
		return 0, false
	}
	left = f.listLeft - time.Since(f.listAt)
	if left < 0 {
		left = 0
	}
	return left, true
}

// boundList records that the listing may live for left from now.
func (f *Followup) boundList(left time.Duration) {
	if f == nil {
		return
	}
	if left < 0 {
		left = 0
	}
	f.mu.Lock()
	f.listSet, f.listBounded, f.listLeft, f.listAt = true, true, left, time.Now()
	f.mu.Unlock()
}

// unboundList records that nothing about the caller bounds the listing.
func (f *Followup) unboundList() {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.listSet, f.listBounded = true, false
	f.mu.Unlock()
}

// AllowRetry records that the server answered the allowed call with
// input_required and requestState state: a retry of that call with the same
// PoP and exactly that state may pass the replay check once
// (authz.ReplayGuard.AllowRetry). Nothing is needed, and nil returned, when
// no replay check ran (no guard, a held warrant, an idempotent tool).
func (f *Followup) AllowRetry(state authz.RequestState) error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	retry := f.retry
	f.mu.Unlock()
	if retry == nil {
		return nil
	}
	return retry(state)
}

// Recheck verifies again, now, the warrant that allowed the call (trust,
// signatures, expiry, revocation; no proof of possession, which a later
// message about the call does not carry). It returns nil when the warrant
// still verifies, or when no warrant allowed the call (audit mode).
func (f *Followup) Recheck() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	recheck := f.recheck
	f.mu.Unlock()
	if recheck == nil {
		return nil
	}
	return recheck()
}

// Rechecks reports whether Recheck verifies a warrant (false: it always
// passes).
func (f *Followup) Rechecks() bool {
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.recheck != nil
}

var errNoFollowup = errors.New("no decision to follow up")

// allowed records what an allowed call leaves for later: the warrant that
// allowed it, verified again by Recheck, and, when its PoP was claimed by a
// replay guard, the grant of a retry.
func (p *Point) allowed(f *Followup, req *authz.Request, dec *authz.Decision) {
	if f == nil || dec == nil || !dec.Allowed {
		return
	}
	warrant := req.Warrant
	az := p.Authorizer
	recheck := func() error {
		if az == nil {
			return errNoFollowup
		}
		_, err := az.VerifyStack(warrant, p.now())
		return err
	}
	var retry func(authz.RequestState) error
	if g := az.ReplayGuard(); g != nil && req.Holder == nil && !req.SelfSigned && len(req.Signature) > 0 {
		id, tool, sig := dec.WarrantID, req.Tool, req.Signature
		retry = func(st authz.RequestState) error { return g.AllowRetry(id, tool, sig, st, p.now()) }
	}
	f.mu.Lock()
	f.recheck, f.retry = recheck, retry
	f.mu.Unlock()
}
