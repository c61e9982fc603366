// Package toolpin pins MCP tool definitions: a lock file records, for each
// tool a server lists, a SHA-256 hash of its definition in RFC 8785 (JCS)
// canonical form, and the definition itself so that a change can be shown.
// `tenuo-mcp test --snapshot` writes and compares locks; `tenuo-mcp proxy
// --pin` hides and refuses tools whose definition differs from the lock
// (a server "pulling the rug" after its tools were approved).
//
// A tool's definition is every member of its tools/list entry but name:
// title, description, inputSchema, outputSchema, annotations and whatever
// else the server sends, since any of it may reach the model.
package toolpin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/internal/jcs"
)

// Version is the lock format's version.
const Version = 1

// MaxLockSize bounds a lock file.
const MaxLockSize = 16 << 20

// Lock is the pinned definitions, by tool name.
type Lock struct {
	Tools map[string]Entry
}

// Entry is one pinned tool.
type Entry struct {
	// Hash is "sha256:" and the hex SHA-256 of Definition.
	Hash string `json:"hash"`
	// Definition is the canonical definition (JCS), without name.
	Definition json.RawMessage `json:"definition"`
}

// Define returns a tools/list entry's name and its entry in a lock.
func Define(tool json.RawMessage) (string, Entry, error) {
	canon, err := jcs.Canonicalize(tool)
	if err != nil {
		return "", Entry{}, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(canon, &m); err != nil {
		return "", Entry{}, errors.New("toolpin: a tool must be an object")
	}
	var name string
	if err := json.Unmarshal(m["name"], &name); err != nil || name == "" {
		return "", Entry{}, errors.New("toolpin: a tool needs a non-empty string name")
	}
	delete(m, "name")
	// Members of canonical text re-joined in the same (sorted) order stay
	// canonical: encoding/json sorts map keys by bytes, which for the ASCII
	// names MCP uses is the UTF-16 order; re-canonicalise to be exact.
	b, err := json.Marshal(m)
	if err != nil {
		return "", Entry{}, err
	}
	if b, err = jcs.Canonicalize(b); err != nil {
		return "", Entry{}, err
	}
	sum := sha256.Sum256(b)
	return name, Entry{Hash: "sha256:" + hex.EncodeToString(sum[:]), Definition: b}, nil
}

// FromTools builds a lock from tools/list entries. A tool listed twice is
// an error.
func FromTools(tools []json.RawMessage) (*Lock, error) {
	l := &Lock{Tools: map[string]Entry{}}
	for i, t := range tools {
		name, e, err := Define(t)
		if err != nil {
			return nil, fmt.Errorf("tool %d: %v", i, err)
		}
		if _, dup := l.Tools[name]; dup {
			return nil, fmt.Errorf("tool %q is listed twice", name)
		}
		l.Tools[name] = e
	}
	return l, nil
}

type lockFile struct {
	Version int              `json:"version"`
	Tools   map[string]Entry `json:"tools"`
}

// Marshal returns the lock file's text: indented JSON, tools sorted.
func (l *Lock) Marshal() []byte {
	b, _ := json.MarshalIndent(lockFile{Version: Version, Tools: l.Tools}, "", "  ")
	return append(b, '\n')
}

// Parse reads a lock file's text, checking every hash.
func Parse(data []byte) (*Lock, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f lockFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("toolpin: lock: %v", err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("toolpin: lock version %d, want %d", f.Version, Version)
	}
	if f.Tools == nil {
		return nil, errors.New("toolpin: lock has no tools member")
	}
	for name, e := range f.Tools {
		canon, err := jcs.Canonicalize(e.Definition)
		if err != nil {
			return nil, fmt.Errorf("toolpin: lock: tool %q: %v", name, err)
		}
		sum := sha256.Sum256(canon)
		if e.Hash != "sha256:"+hex.EncodeToString(sum[:]) {
			return nil, fmt.Errorf("toolpin: lock: tool %q: hash does not match its definition", name)
		}
		f.Tools[name] = Entry{Hash: e.Hash, Definition: canon}
	}
	return &Lock{Tools: f.Tools}, nil
}

// Load reads a lock file.
func Load(path string) (*Lock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxLockSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLockSize {
		return nil, fmt.Errorf("toolpin: %s is larger than %d bytes", path, MaxLockSize)
	}
	l, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// Check compares one listed tool with the lock: "" when it matches, else
// why not (absent from the lock, or what changed).
func (l *Lock) Check(tool json.RawMessage) (name, mismatch string) {
	name, e, err := Define(tool)
	if err != nil {
		return name, "its definition cannot be read: " + err.Error()
	}
	pinned, ok := l.Tools[name]
	switch {
	case !ok:
		return name, "it is not in the pin lock"
	case pinned.Hash != e.Hash:
		return name, "its definition differs from the pinned one (" + strings.Join(Diff(pinned.Definition, e.Definition), "; ") + ")"
	}
	return name, ""
}

// ChangeKind says how a tool changed.
type ChangeKind string

// The kinds of change.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one tool that differs between two locks.
type Change struct {
	Tool string     `json:"tool"`
	Kind ChangeKind `json:"kind"`
	// Fields says what changed in a changed tool's definition, one line per
	// member path.
	Fields []string `json:"fields,omitempty"`
}

func (c Change) String() string {
	if c.Kind != Changed {
		return fmt.Sprintf("tool %q %s", c.Tool, c.Kind)
	}
	return fmt.Sprintf("tool %q changed: %s", c.Tool, strings.Join(c.Fields, "; "))
}

// Compare lists the tools that differ from want in got, sorted by name.
func Compare(want, got *Lock) []Change {
	var out []Change
	for name, w := range want.Tools {
		g, ok := got.Tools[name]
		switch {
		case !ok:
			out = append(out, Change{Tool: name, Kind: Removed})
		case g.Hash != w.Hash:
			out = append(out, Change{Tool: name, Kind: Changed, Fields: Diff(w.Definition, g.Definition)})
		}
	}
	for name := range got.Tools {
		if _, ok := want.Tools[name]; !ok {
			out = append(out, Change{Tool: name, Kind: Added})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tool < out[j].Tool })
	return out
}

// Diff says what differs between two JSON values, one line per member
// path (such as `inputSchema.properties.cc: added`), at most 20 lines.
func Diff(a, b json.RawMessage) []string {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return []string{"unreadable"}
	}
	var out []string
	diff("", x, y, &out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("and %d more", len(out)-20))
	}
	if len(out) == 0 {
		out = []string{"the canonical forms differ"}
	}
	return out
}

func diff(path string, x, y any, out *[]string) {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch a := x.(type) {
	case map[string]any:
		if b, ok := y.(map[string]any); ok {
			keys := map[string]bool{}
			for k := range a {
				keys[k] = true
			}
			for k := range b {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				va, ina := a[k]
				vb, inb := b[k]
				switch {
				case !ina:
					*out = append(*out, at(k)+": added "+brief(vb))
				case !inb:
					*out = append(*out, at(k)+": removed (was "+brief(va)+")")
				default:
					diff(at(k), va, vb, out)
				}
			}
			return
		}
	case []any:
		if b, ok := y.([]any); ok && len(a) == len(b) {
			for i := range a {
				diff(at(fmt.Sprint(i)), a[i], b[i], out)
			}
			return
		}
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	if !bytes.Equal(ja, jb) {
		p := path
		if p == "" {
			p = "(definition)"
		}
		*out = append(*out, p+": "+brief(x)+" → "+brief(y))
	}
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
