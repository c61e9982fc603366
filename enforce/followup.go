package enforce

import (
	"context"
	"sync"
	"time"
)

// Followup carries what one decision leaves for the front end to act on
// once the server has answered: how long a filtered listing may be cached,
// and (for calls) what a later message about the same call needs. A front
// end that needs it attaches one to the request's context with
// WithFollowup before asking Check or Visible; the Point fills it in. It
// rides in the context so that the hook layer between a front end and the
// Point passes it on without knowing of it. Safe for concurrent use.
type Followup struct {
	mu sync.Mutex

	listBounded bool
	listLeft    time.Duration // the warrant's remaining life at listAt
	listAt      time.Time     // when listLeft was measured (monotonic)
}

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
// "all" list policy).
func (f *Followup) ListTTL() (left time.Duration, bounded bool) {
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
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
	f.listBounded, f.listLeft, f.listAt = true, left, time.Now()
	f.mu.Unlock()
}
