package toolmap

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// A body path is dotted, as in Tenuo: "a.b" names nested object keys, a
// numeric segment ("items.0") indexes an array, and "*" ("items.*.id") maps
// the rest of the path over every element of an array, giving a list.

type segKind uint8

const (
	segField segKind = iota // object key
	segIndex                // array index
	segWild                 // every array element
)

type segment struct {
	kind  segKind
	name  string // segField: the key
	index int    // segIndex: the index
}

// compilePath parses a dotted path. Empty paths and empty segments ("a..b")
// are errors. A segment is an index when Rust's usize parser would take it
// (digits with an optional leading '+', within range), so both sides extract
// the same value; otherwise it is a key.
func compilePath(p string) ([]segment, bool, error) {
	if p == "" {
		return nil, false, fmt.Errorf("empty path")
	}
	parts := strings.Split(p, ".")
	segs := make([]segment, 0, len(parts))
	wild := false
	for i, part := range parts {
		switch {
		case part == "":
			return nil, false, fmt.Errorf("path %q has an empty segment at position %d", p, i+1)
		case part == "*":
			segs = append(segs, segment{kind: segWild})
			wild = true
		default:
			if idx, ok := parseIndex(part); ok {
				segs = append(segs, segment{kind: segIndex, index: idx})
			} else {
				segs = append(segs, segment{kind: segField, name: part})
			}
		}
	}
	return segs, wild, nil
}

func parseIndex(s string) (int, bool) {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" || strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, strconv.IntSize-1)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// wildcardGapError reports an array element that lacks the rest of a
// wildcard path. Tenuo silently drops such elements; we refuse the call,
// since the dropped element would escape the warrant's check.
type wildcardGapError struct {
	index int
}

func (e *wildcardGapError) Error() string {
	return fmt.Sprintf("array element %d has no value at the rest of the path", e.index)
}

// extract follows segs through v. It reports found=false when the path does
// not exist (a key or index absent, a segment applied to the wrong kind of
// value, a wildcard over an empty array or a non-array), as Tenuo does. A
// present JSON null is found, with value nil.
func extract(v any, segs []segment) (any, bool, error) {
	for len(segs) > 0 {
		s := segs[0]
		segs = segs[1:]
		switch s.kind {
		case segField:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false, nil
			}
			if k, found := lookalikeKey(m, s.name); found {
				return nil, false, &lookalikeKeyError{key: k, name: s.name}
			}
			if v, ok = m[s.name]; !ok {
				return nil, false, nil
			}
		case segIndex:
			a, ok := v.([]any)
			if !ok || s.index >= len(a) {
				return nil, false, nil
			}
			v = a[s.index]
		case segWild:
			a, ok := v.([]any)
			if !ok || len(a) == 0 {
				return nil, false, nil
			}
			out := make([]any, 0, len(a))
			for i, e := range a {
				x, found, err := extract(e, segs)
				if err != nil {
					return nil, false, err
				}
				if !found {
					return nil, false, &wildcardGapError{index: i}
				}
				out = append(out, x)
			}
			return out, true, nil
		}
	}
	return v, true, nil
}

// lookalikeKeyError is an object key that is not the configured one but
// that a server could read as it: Go's encoding/json matches names case
// insensitively, and encoding/json/v2's case-insensitive matching also
// ignores '_' and '-'. Without this, {"MaxSize": 99999} would leave the
// field maxSize to its default (or missing) for the check while such a
// server acted on 99999.
//
// A query key likewise (see lookalikeQueryKey): where says which it is
// ("" for an object key).
type lookalikeKeyError struct{ key, name, where string }

func (e *lookalikeKeyError) Error() string {
	if e.where != "" {
		return fmt.Sprintf("%s %q is not %q but a lenient server would read it as that", e.where, e.key, e.name)
	}
	return fmt.Sprintf("key %q is not %q but a case-insensitive server would read it as that", e.key, e.name)
}

// lookalikeKey returns a key of m other than name that a lenient decoder
// would match to it: equal under Unicode case folding once '_' and '-' are
// removed, and cut at a NUL (where a C reader's string ends).
func lookalikeKey(m map[string]any, name string) (string, bool) {
	want := stripDelims(cutNUL(name))
	for k := range m {
		if k != name && strings.EqualFold(stripDelims(cutNUL(k)), want) {
			return k, true
		}
	}
	return "", false
}

func cutNUL(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

func stripDelims(name string) string {
	if !strings.ContainsAny(name, "_-") {
		return name
	}
	return delims.Replace(name)
}

var delims = strings.NewReplacer("_", "", "-", "")

// lookalikeQueryKey returns a key of q other than name that a lenient
// server would read as name (the least, when several would): ASP.NET
// compares query keys in any letter case; PHP drops leading spaces, reads
// '.' and ' ' as '_' and stops at a NUL; readers that match names as
// encoding/json/v2 does ignore '_' and '-'. Alone, such a key would leave
// the field to its default (or missing) for the check while such a server
// acted on its value; beside name, the server could read either.
func lookalikeQueryKey(q url.Values, name string) (string, bool) {
	want := looseQueryName(name)
	var found string
	for k := range q {
		if k != name && strings.EqualFold(looseQueryName(k), want) && (found == "" || k < found) {
			found = k
		}
	}
	return found, found != ""
}

// ReadsAsQueryKey reports which of queryKeys (a route's Reads.QueryKeys) a
// lenient server would read key as, when key names a parameter from
// another part of the request (a form field, a JSON body's top-level key, a
// multipart part): the same key, or another spelling of it (letter case;
// '-', '_', '.' and ' ' changed or dropped; leading spaces; a NUL and what
// follows; a "[...]" suffix, as PHP and Rails read "limit[]"). Servers that
// merge the body's parameters over the query's (Go's Request.FormValue,
// Rails' params, Laravel's input, PHP's $_REQUEST) act on that value, not
// on the query's that was checked.
func ReadsAsQueryKey(key string, queryKeys []string) (string, bool) {
	if len(queryKeys) == 0 {
		return "", false
	}
	k := cutNUL(key)
	if i := strings.IndexByte(k, '['); i > 0 {
		k = k[:i]
	}
	k = looseQueryName(k)
	for _, q := range queryKeys {
		if strings.EqualFold(k, looseQueryName(q)) {
			return q, true
		}
	}
	return "", false
}

// looseQueryName is a query key as the most lenient of those readers sees
// it, before letter case is folded.
func looseQueryName(k string) string {
	k = strings.TrimLeft(cutNUL(k), " ")
	if !strings.ContainsAny(k, "_-. ") {
		return k
	}
	return queryDelims.Replace(k)
}

var queryDelims = strings.NewReplacer("_", "", "-", "", ".", "", " ", "")
