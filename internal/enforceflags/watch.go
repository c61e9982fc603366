package enforceflags

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// WatchInterval is how often watched files are read again.
const WatchInterval = 2 * time.Second

// reloader is a file kept current: Reload reads it and, when it changed,
// verifies it and takes it, keeping what is in force on any doubt.
type reloader interface {
	Reload() (changed bool, err error)
}

// watched is one file of the one watcher, with what to say about it.
type watched struct {
	what string // "revocation list", "held warrant"
	r    reloader
}

// Watch keeps every watched file current (the revocation list, the held
// warrant's file, and with Flags.HotReload the configuration and the root
// files) and the held warrant's lifetime in view, until ctx is done: one
// goroutine for all of them, reading them every Flags.WatchEvery.
func (en *Enforcement) Watch(ctx context.Context) {
	if len(en.watched) == 0 && en.held == nil {
		return
	}
	interval := en.interval
	if interval <= 0 {
		interval = WatchInterval
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		en.tick(time.Now())
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				en.tick(now)
			}
		}
	}()
}

// Reload reads every watched file now, as the watcher does on its next
// look (SIGHUP), and returns when it is done.
func (en *Enforcement) Reload() { en.tick(time.Now()) }

func (en *Enforcement) tick(now time.Time) {
	en.tickMu.Lock()
	defer en.tickMu.Unlock()
	for _, w := range en.watched {
		if _, err := w.r.Reload(); err != nil {
			en.Log.Error(w.what+" not reloaded; the one in force stays", "err", err)
		}
	}
	if en.held != nil {
		en.held.checkLifetime(now)
	}
}

// heldFile keeps the held warrant's file current: a replaced file is
// verified (it must chain to a trusted root, be valid now and be held by the
// key given) before it replaces the warrant in force.
type heldFile struct {
	path  string
	key   *authz.SigningKey
	point func() *enforce.Point // the point in force
	log   *slog.Logger
	raw   []byte // the bytes in force
	// tolerance is the authorizer's clock tolerance: a warrant is refused
	// once its expiry is that far past.
	tolerance time.Duration

	warned, expired string // warrant ids already warned about
}

// ReadBoundedFile reads a small file the enforcement flags name (a key,
// a warrant, a revocation list, a config): at most 1 MiB, a larger one is
// an error rather than a truncated read.
func ReadBoundedFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s is larger than 1 MiB", path)
	}
	return b, nil
}

func (h *heldFile) Reload() (bool, error) {
	b, err := ReadBoundedFile(h.path)
	if err != nil {
		return false, err
	}
	if bytes.Equal(b, h.raw) {
		return false, nil
	}
	point := h.point()
	vc, err := point.Authorizer.VerifyStack(bytes.TrimSpace(stripBOM(b)), time.Time{})
	if err != nil {
		return false, fmt.Errorf("%s: the new warrant does not verify: %w", h.path, err)
	}
	next, err := enforce.NewHeldWarrant(vc.Stack, h.key)
	if err != nil {
		return false, fmt.Errorf("%s: %w", h.path, err)
	}
	point.SetHeld(next)
	h.raw = b
	leaf := next.Stack.Leaf()
	h.log.Info("held warrant reloaded", "file", h.path, "warrant_id", leaf.ID.String(),
		"expires_at", time.Unix(int64(leaf.ExpiresAt), 0).UTC().Format(time.RFC3339))
	return true, nil
}

// checkLifetime warns once when the held warrant nears its end (less than a
// tenth of its lifetime or ten minutes left, whichever is less), and says
// clearly once when it has expired.
func (h *heldFile) checkLifetime(now time.Time) {
	cur := h.point().HeldNow()
	if cur == nil {
		return
	}
	leaf := cur.Stack.Leaf()
	id := leaf.ID.String()
	issued, expires := time.Unix(int64(leaf.IssuedAt), 0), time.Unix(int64(leaf.ExpiresAt), 0)
	// authz refuses once now's Unix second is past expiry plus tolerance.
	left := expires.Add(h.tolerance + time.Second).Sub(now)
	soon := min(expires.Sub(issued)/10, 10*time.Minute)
	switch {
	case left <= 0 && h.expired != id:
		h.expired = id
		h.log.Error("the held warrant has expired: tools/list shows nothing and every call is denied until its file is replaced",
			"file", h.path, "warrant_id", id, "expired_at", expires.UTC().Format(time.RFC3339))
	case left > 0 && left <= soon && h.warned != id:
		h.warned = id
		h.log.Warn("the held warrant expires soon; replace its file with a new one (it is reloaded when it changes)",
			"file", h.path, "warrant_id", id, "refused_in", left.Round(time.Second).String(),
			"expires_at", expires.UTC().Format(time.RFC3339))
	}
}

func stripBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
