package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/internal/enforceflags"
)

// The callers file (serve --callers) names who may call and under which
// held warrant each acts:
//
//	callers:
//	  - name: alice                # in logs; unique
//	    token: 7d3c…               # the bearer token (≥ 16 characters, no spaces)
//	    warrant: alice.warrant     # optional, with key: the held warrant, a file
//	    key: alice.key             #   and its holder's key file, both relative to this file
//	  - name: ci
//	    token: 91ab…               # no warrant: presents its own on each call
//
// Anything else (an unknown key, a missing or repeated value, a token two
// callers share, a warrant not chaining to a trusted root, a key that does
// not hold its warrant) refuses the file with FILE:LINE.

// caller is one entry of a loaded callers file.
type caller struct {
	name   string
	digest [sha256.Size]byte // of the token: only digests are kept
	held   *enforce.HeldWarrant
	// key names the caller's sessions (mcphttp ClientKey): its name and
	// its token's digest, so that a session opened with a token the file
	// no longer has is no one's.
	key string
}

// callerTable is one loaded callers file.
type callerTable struct {
	callers []caller
	byName  map[string]*caller
	byKey   map[string]*caller
}

// match returns the caller whose token r presents (Authorization: Bearer),
// or nil. Every token is compared, in constant time, whatever matched.
func (t *callerTable) match(r *http.Request) *caller {
	d, ok := bearerDigest(r)
	if !ok {
		return nil
	}
	var found *caller
	for i := range t.callers {
		if subtle.ConstantTimeCompare(d[:], t.callers[i].digest[:]) == 1 {
			found = &t.callers[i]
		}
	}
	return found
}

// bearerDigest returns the SHA-256 of the bearer token r presents.
func bearerDigest(r *http.Request) ([sha256.Size]byte, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256([]byte(strings.TrimSpace(tok))), true
}

// callersFile is the callers file in force, kept current: a changed file,
// or a changed warrant or key file it names (edited in place or replaced by
// a rename or a symlink swap, as editors and Kubernetes secret volumes do),
// is read and verified entirely before it replaces the one in force; on any
// doubt the one in force stays.
type callersFile struct {
	path string
	az   func() *authz.Authorizer // the one in force (trusted roots may be reloaded)
	warn func(format string, args ...any)
	cur  atomic.Pointer[callerTable]

	mu sync.Mutex // serialises reloads; guards seen
	// seen is what the last reading (taken or refused) was made of: a
	// reload is tried again only when one of those files changes, so a
	// bad file is reported once, not at every look.
	seen callersSnapshot

	// changed, when set, is told of each table that replaces the one in
	// force (serve closes the sessions of the callers it no longer has).
	changed atomic.Pointer[func(*callerTable)]
}

// fileSum is what one file read held: the SHA-256 of its content, or the
// reason it could not be read.
type fileSum struct {
	path string
	sum  [sha256.Size]byte
	err  string
}

// callersSnapshot is the files one reading of the callers file read: the
// file itself, then each warrant and key file, in the order read.
type callersSnapshot struct {
	files []fileSum
}

// recorder reads files for one reading of the callers file and records
// what each held.
type recorder struct{ snap *callersSnapshot }

func (r recorder) read(path string) ([]byte, error) {
	b, err := readFileBounded(path)
	f := fileSum{path: path}
	if err != nil {
		f.err = err.Error()
	} else {
		f.sum = sha256.Sum256(b)
	}
	r.snap.files = append(r.snap.files, f)
	return b, err
}

// current reports whether every file of s still holds what it held.
func (s *callersSnapshot) current() bool {
	if len(s.files) == 0 {
		return false
	}
	for _, f := range s.files {
		var now callersSnapshot
		recorder{&now}.read(f.path)
		if now.files[0] != f {
			return false
		}
	}
	return true
}

func newCallersFile(path string, az func() *authz.Authorizer, warn func(string, ...any)) (*callersFile, error) {
	cf := &callersFile{path: path, az: az, warn: warn}
	var snap callersSnapshot
	rec := recorder{&snap}
	b, err := rec.read(path)
	if err != nil {
		return nil, badInput("", "--callers: %s", fileProblem("callers file", path, err))
	}
	t, err := parseCallersWith(path, b, az(), warn, time.Now(), rec.read)
	if err != nil {
		return nil, badInput("see 'tenuo-mcp serve --help' for the callers file's form", "--callers: %v", err)
	}
	cf.cur.Store(t)
	cf.seen = snap
	return cf, nil
}

// table returns the callers in force.
func (cf *callersFile) table() *callerTable { return cf.cur.Load() }

// reload reads the callers file again, with the warrant and key files it
// names, and takes it when any of them changed (or force is set, as on
// SIGHUP) and it holds. A file that does not hold is logged, and the one in
// force stays.
func (cf *callersFile) reload(log *slog.Logger, force bool) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if !force && cf.seen.current() {
		return
	}
	var snap callersSnapshot
	rec := recorder{&snap}
	b, err := rec.read(cf.path)
	if err != nil {
		cf.seen = snap // a file that cannot be read is reported once too
		log.Error("callers file not reloaded; the one in force stays", "err", fileProblem("callers file", cf.path, err))
		return
	}
	t, err := parseCallersWith(cf.path, b, cf.az(), cf.warn, time.Now(), rec.read)
	cf.seen = snap
	if err != nil {
		log.Error("callers file not reloaded; the one in force stays", "err", err.Error())
		return
	}
	cf.cur.Store(t)
	log.Info("callers file reloaded", "callers", len(t.callers))
	if f := cf.changed.Load(); f != nil {
		(*f)(t)
	}
}

// watch reloads the file every enforceflags.WatchInterval until ctx is done.
func (cf *callersFile) watch(ctx context.Context, log *slog.Logger) {
	go func() {
		t := time.NewTicker(enforceflags.WatchInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				cf.reload(log, false)
			}
		}
	}()
}

// callersError is a refusal of the callers file at a line.
func callersError(path string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
}

// parseCallers reads a callers file (b, read from path) strictly.
func parseCallers(path string, b []byte, az *authz.Authorizer, warn func(string, ...any), now time.Time) (*callerTable, error) {
	return parseCallersWith(path, b, az, warn, now, readFileBounded)
}

// parseCallersWith is parseCallers reading the warrant and key files with
// read.
func parseCallersWith(path string, b []byte, az *authz.Authorizer, warn func(string, ...any), now time.Time, read func(string) ([]byte, error)) (*callerTable, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, callersError(path, max(doc.Line, 1), "the file must be a mapping with one key, callers")
	}
	top := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch {
		case k.Value != "callers":
			return nil, callersError(path, k.Line, "unknown key %q (the only one is callers)", k.Value)
		case list != nil:
			return nil, callersError(path, k.Line, "callers appears twice")
		case v.Kind != yaml.SequenceNode:
			return nil, callersError(path, v.Line, "callers must be a list")
		}
		list = v
	}
	if list == nil || len(list.Content) == 0 {
		return nil, callersError(path, top.Line, "no callers")
	}
	dir := filepath.Dir(path)
	t := &callerTable{byName: map[string]*caller{}}
	tokens := map[[sha256.Size]byte]int{} // digest → line
	names := map[string]bool{}
	for _, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, callersError(path, item.Line, "a caller is a mapping of name, token, warrant and key")
		}
		fields := map[string]*yaml.Node{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if !slices.Contains([]string{"name", "token", "warrant", "key"}, k.Value) {
				return nil, callersError(path, k.Line, "unknown key %q (a caller has name, token, warrant and key)", k.Value)
			}
			if fields[k.Value] != nil {
				return nil, callersError(path, k.Line, "%s appears twice", k.Value)
			}
			if v.Kind != yaml.ScalarNode || v.Tag != "!!str" && v.Tag != "!!int" || v.Value == "" {
				return nil, callersError(path, v.Line, "%s must be a non-empty string", k.Value)
			}
			fields[k.Value] = v
		}
		name, tok := fields["name"], fields["token"]
		switch {
		case name == nil:
			return nil, callersError(path, item.Line, "a caller needs a name")
		case tok == nil:
			return nil, callersError(path, item.Line, "caller %q needs a token", name.Value)
		case names[name.Value]:
			return nil, callersError(path, name.Line, "two callers are named %q", name.Value)
		case len(tok.Value) < minTokenLen || strings.ContainsAny(tok.Value, " \t\r\n"):
			return nil, callersError(path, tok.Line, "caller %q: a token is at least %d characters without spaces (e.g. openssl rand -hex 32)", name.Value, minTokenLen)
		case (fields["warrant"] == nil) != (fields["key"] == nil):
			return nil, callersError(path, item.Line, "caller %q: warrant and key go together", name.Value)
		}
		names[name.Value] = true
		c := caller{name: name.Value, digest: sha256.Sum256([]byte(tok.Value))}
		if l, dup := tokens[c.digest]; dup {
			return nil, callersError(path, tok.Line, "caller %q has the token of the caller on line %d", name.Value, l)
		}
		tokens[c.digest] = tok.Line
		if w := fields["warrant"]; w != nil {
			h, err := loadCallerWarrant(dir, w.Value, fields["key"].Value, az, warn, now, read)
			if err != nil {
				return nil, callersError(path, w.Line, "caller %q: %v", name.Value, err)
			}
			c.held = h
		}
		t.callers = append(t.callers, c)
	}
	t.byKey = map[string]*caller{}
	for i := range t.callers {
		c := &t.callers[i]
		c.key = "caller:" + c.name + "/" + hex.EncodeToString(c.digest[:8])
		t.byName[c.name] = c
		t.byKey[c.key] = c
	}
	return t, nil
}

// loadCallerWarrant reads a caller's warrant and key files (relative to dir)
// and checks the warrant chains to a trusted root now and the key holds it.
func loadCallerWarrant(dir, wpath, kpath string, az *authz.Authorizer, warn func(string, ...any), now time.Time, read func(string) ([]byte, error)) (*enforce.HeldWarrant, error) {
	rel := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	wpath, kpath = rel(wpath), rel(kpath)
	text, err := read(wpath)
	if err != nil {
		return nil, fmt.Errorf("warrant: %s", fileProblem("warrant file", wpath, err))
	}
	kb, err := read(kpath)
	if err != nil {
		return nil, fmt.Errorf("key: %s", fileProblem("key file", kpath, err))
	}
	if st, err := os.Stat(kpath); err == nil && st.Mode().Perm()&0o077 != 0 {
		warn("tenuo-mcp: warning: key file %s is readable by others (mode %04o); chmod 600 it\n", kpath, st.Mode().Perm())
	}
	key, err := authz.ParseSigningKey(kb)
	if err != nil {
		return nil, fmt.Errorf("key %s: %v", kpath, err)
	}
	vc, err := az.VerifyStack(bytes.TrimSpace(text), now)
	if err != nil {
		return nil, fmt.Errorf("warrant %s must chain to a --trusted-root and be valid now: %v", wpath, err)
	}
	h, err := enforce.NewHeldWarrant(vc.Stack, key)
	if err != nil {
		return nil, err
	}
	return h, nil
}
