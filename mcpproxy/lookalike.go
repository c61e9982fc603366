package mcpproxy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The methods the relay intercepts. Every other method is relayed untouched.
const (
	methodCall   = "tools/call"
	methodList   = "tools/list"
	methodListen = "subscriptions/listen" // checked when it names task ids
	methodTasks  = "tasks/list"           // its answer shows this session's tasks only
)

// taskMethods name a task (params.taskId): the 2026-07-28 tasks extension's
// tasks/get, tasks/update and tasks/cancel, and 2025-11-25's tasks/result.
// The relay lets them through only for a task that a call it let through
// created.
var taskMethods = [...]string{"tasks/get", "tasks/update", "tasks/cancel", "tasks/result"}

func isTaskMethod(method string) bool {
	for _, m := range taskMethods {
		if method == m {
			return true
		}
	}
	return false
}

// intercepted reports whether method is byte for byte one the relay checks.
func intercepted(method string) bool {
	return method == methodCall || method == methodList || method == methodListen || method == methodTasks || isTaskMethod(method)
}

// lookalike returns the intercepted method that method is not, but that a
// lenient server could take it for: equal once both are normalised by
// foldMethod (NFKC, full case folding, no control, format or space
// characters). "tools/call " or "Tools/Call" or a full-width "ｔｏｏｌｓ/call"
// must never reach a server that trims, lower-cases or normalises before it
// dispatches, since the relay would have let it pass unchecked.
func lookalike(method string) (string, bool) {
	if intercepted(method) {
		return "", false
	}
	switch f := foldMethod(method); {
	case f == methodCall, f == methodList, f == methodListen, f == methodTasks, isTaskMethod(f):
		return f, true
	}
	return "", false
}

var folder = cases.Fold()

// foldMethod is method as the most lenient dispatcher could read it: control
// (Cc), format (Cf, e.g. zero-width joiners and BOMs) and white-space
// characters removed wherever they stand, then NFKC, full case folding and
// NFKC again (folding can produce sequences that NFKC composes).
func foldMethod(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c <= ' ' || c == 0x7f || ('A' <= c && c <= 'Z') {
			ascii = false
			break
		}
	}
	if ascii { // the common case: already folded
		return s
	}
	drop := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) ||
				unicode.Is(unicode.Zs, r) || r == utf8.RuneError {
				return -1
			}
			return r
		}, s)
	}
	s = norm.NFKC.String(drop(s))
	s = norm.NFKC.String(folder.String(s))
	return drop(s)
}

// foldKey is the key under which encoding/json-style decoders (Go's
// encoding/json and the servers built on it) match an object member to a
// field: Unicode simple case folding, as bytes.EqualFold compares. Two keys
// with the same foldKey can be taken one for the other: {"name":"a",
// "Name":"b"} is two members here and one field there, whose value is the
// last. Each rune is mapped to the smallest rune of its folding orbit.
func foldKey(s string) string {
	ascii, lower := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		lower = lower || ('a' <= c && c <= 'z')
	}
	if ascii && !lower { // the smallest of an ASCII letter's orbit is its upper case
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}

// jsonrpcMembers are the members of a JSON-RPC 2.0 message.
var jsonrpcMembers = []string{"jsonrpc", "id", "method", "params", "result", "error"}

// misspelledMember returns a key of ms that is none of names but that a
// case-insensitive decoder would take for one of them ("Method", "ID",
// "paramſ"; "meth_od", "na-me" or "meta" for "_meta" to Go's
// encoding/json/v2, whose case-insensitive matching also ignores '_' and
// '-'), with the name it imitates. The relay reads exact names and the
// server could read the other, so such a message is refused, never relayed.
func misspelledMember(ms []member, names []string) (key, want string, bad bool) {
	for _, m := range ms {
		for _, n := range names {
			if m.key != n && foldEqualNoDelims(m.key, n) {
				return m.key, n, true
			}
		}
	}
	return "", "", false
}

// foldEqualNoDelims reports whether a and b are equal under Unicode simple
// case folding once '_' and '-' are removed from both, without allocating
// when both are ASCII (every name the relay reads is).
func foldEqualNoDelims(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] == '_' || a[i] == '-') {
			i++
		}
		for j < len(b) && (b[j] == '_' || b[j] == '-') {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		ca, cb := a[i], b[j]
		if ca >= utf8.RuneSelf || cb >= utf8.RuneSelf {
			// Non-ASCII folds to ASCII in places (U+017F to s, U+212A to
			// k): the general comparison decides.
			return strings.EqualFold(withoutDelims(a), withoutDelims(b))
		}
		if 'A' <= ca && ca <= 'Z' {
			ca += 'a' - 'A'
		}
		if 'A' <= cb && cb <= 'Z' {
			cb += 'a' - 'A'
		}
		if ca != cb {
			return false
		}
		i++
		j++
	}
}

// withoutDelims is s without '_' and '-'.
func withoutDelims(s string) string {
	if !strings.ContainsAny(s, "_-") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '_' && c != '-' {
			b = append(b, c)
		}
	}
	return string(b)
}
