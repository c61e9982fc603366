package revocation

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

func key(t *testing.T, b byte) *authz.SigningKey {
	t.Helper()
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func id(t *testing.T, b byte) authz.WarrantID {
	t.Helper()
	var w authz.WarrantID
	w[0], w[15] = 0x01, b
	return w
}

func writeList(t *testing.T, path string, k *authz.SigningKey, version uint64, ids ...authz.WarrantID) {
	t.Helper()
	var text []string
	for _, i := range ids {
		text = append(text, i.String())
	}
	b, err := authz.NewRevocationList(k, version, text, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadReloadAndRollback(t *testing.T) {
	cp := key(t, 1)
	path := filepath.Join(t.TempDir(), "srl.cbor")
	writeList(t, path, cp, 3, id(t, 1))
	l, err := Load(path, cp.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !l.IsRevoked(id(t, 1)) || l.IsRevoked(id(t, 2)) || l.Current().Version != 3 {
		t.Fatal("initial list not in force")
	}
	var changes atomic.Int32
	l.OnChange = func(*authz.RevocationList) { changes.Add(1) }

	// Unchanged file: nothing happens.
	if changed, err := l.Reload(); changed || err != nil {
		t.Fatalf("unchanged: %v %v", changed, err)
	}
	// A newer version is taken.
	writeList(t, path, cp, 4, id(t, 2))
	if changed, err := l.Reload(); !changed || err != nil {
		t.Fatalf("newer: %v %v", changed, err)
	}
	if l.IsRevoked(id(t, 1)) || !l.IsRevoked(id(t, 2)) || changes.Load() != 1 {
		t.Fatal("newer list not in force")
	}
	// An older version is refused and the list in force stays.
	writeList(t, path, cp, 2)
	if _, err := l.Reload(); !errors.Is(err, authz.ErrRevoked) {
		t.Fatalf("rollback: %v", err)
	}
	if !l.IsRevoked(id(t, 2)) {
		t.Fatal("rollback replaced the list")
	}
	// A list signed by another key is refused.
	writeList(t, path, key(t, 9), 10)
	if _, err := l.Reload(); err == nil || !l.IsRevoked(id(t, 2)) {
		t.Fatalf("foreign list: %v", err)
	}
	// Garbage is refused.
	os.WriteFile(path, []byte("not cbor"), 0o644)
	if _, err := l.Reload(); err == nil || !l.IsRevoked(id(t, 2)) {
		t.Fatalf("garbage: %v", err)
	}
	// A missing file at start is an error: no silent "nothing revoked".
	if _, err := Load(filepath.Join(t.TempDir(), "missing"), cp.Public()); err == nil {
		t.Fatal("missing file accepted")
	}
	os.WriteFile(path, []byte("junk"), 0o644)
	if _, err := Load(path, cp.Public()); err == nil {
		t.Fatal("junk accepted at start")
	}
}

func TestWatchPicksUpChanges(t *testing.T) {
	cp := key(t, 1)
	path := filepath.Join(t.TempDir(), "srl.cbor")
	writeList(t, path, cp, 1)
	l, err := Load(path, cp.Public())
	if err != nil {
		t.Fatal(err)
	}
	changed := make(chan uint64, 4)
	l.OnChange = func(r *authz.RevocationList) { changed <- r.Version }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Watch(ctx, 20*time.Millisecond)
	writeList(t, path, cp, 2, id(t, 7))
	select {
	case v := <-changed:
		if v != 2 || !l.IsRevoked(id(t, 7)) {
			t.Fatalf("version %d", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not pick up the new list")
	}
}

func TestConcurrentReadsDuringReload(t *testing.T) {
	cp := key(t, 1)
	path := filepath.Join(t.TempDir(), "srl.cbor")
	writeList(t, path, cp, 1, id(t, 1))
	l, err := Load(path, cp.Public())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for v := uint64(2); v < 40; v++ {
			writeList(t, path, cp, v, id(t, 1), id(t, byte(v)))
			l.Reload()
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
			if !l.IsRevoked(id(t, 1)) {
				t.Fatal("a warrant revoked in every version was seen as not revoked")
			}
		}
	}
}
