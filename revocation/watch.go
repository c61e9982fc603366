// Package revocation keeps a signed revocation list (SRL) loaded from a file
// current: it verifies each version against the configured key, refuses
// rollbacks, and swaps lists atomically so that calls in flight are never
// dropped or left unchecked.
package revocation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// List holds the current revocation list of one file.
type List struct {
	path    string
	key     authz.PublicKey
	current atomic.Pointer[authz.RevocationList]
	raw     []byte // last bytes loaded; only the Watch goroutine touches it

	// OnChange is called after a newer list replaced the current one (e.g.
	// to invalidate an authorizer's chain cache). Set it before Watch.
	OnChange func(*authz.RevocationList)
	// OnError is told why a changed file was not taken (the old list stays).
	OnError func(error)
}

// Load reads and verifies the list at path, signed by key. A list that cannot
// be loaded at start is an error: an enforcement point must not start with
// revocation silently off.
func Load(path string, key authz.PublicKey) (*List, error) {
	l := &List{path: path, key: key}
	b, err := readFile(path)
	if err != nil {
		return nil, err
	}
	srl, err := authz.ParseRevocationList(b, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l.current.Store(srl)
	l.raw = b
	return l, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, authz.MaxRevocationListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("revocation list %s: %w", path, err)
	}
	if len(b) > authz.MaxRevocationListBytes {
		return nil, fmt.Errorf("revocation list %s is larger than %d bytes", path, authz.MaxRevocationListBytes)
	}
	return b, nil
}

// Current returns the list in force.
func (l *List) Current() *authz.RevocationList { return l.current.Load() }

// IsRevoked reports whether id is on the list in force.
func (l *List) IsRevoked(id authz.WarrantID) bool { return l.current.Load().IsRevoked(id) }

// Reload reads the file again and, when it changed, verifies it and takes it
// if its version is not older than the one in force. It reports whether the
// list was replaced. On any error the list in force stays.
func (l *List) Reload() (bool, error) {
	b, err := readFile(l.path)
	if err != nil {
		return false, err
	}
	if bytes.Equal(b, l.raw) {
		return false, nil
	}
	next, err := authz.ParseRevocationList(b, l.key)
	if err != nil {
		return false, fmt.Errorf("%s: %w", l.path, err)
	}
	if err := authz.CheckRollback(l.current.Load(), next); err != nil {
		return false, fmt.Errorf("%s: %w", l.path, err)
	}
	l.current.Store(next)
	l.raw = b
	if l.OnChange != nil {
		l.OnChange(next)
	}
	return true, nil
}

// Watch reloads the file every interval until ctx ends. Call it once.
func (l *List) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := l.Reload(); err != nil && l.OnError != nil {
				l.OnError(err)
			}
		}
	}
}
