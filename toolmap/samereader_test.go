package toolmap_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// sameReaderConfig extracts the arguments a and b as the fields a and b, so
// that for documents with no other keys the fields a tool map gives are the
// arguments authz canonicalises without one.
const sameReaderConfig = `version: "1"
tools:
  t:
    constraints:
      a: {path: a}
      b: {path: b}
`

func nestArrays(n int, inner string) string {
	return `{"a":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
}

// nestObjects is n objects, the top-level one included: {"a":{"a":…{}…}}.
func nestObjects(n int) string {
	return strings.Repeat(`{"a":`, n-1) + `{}` + strings.Repeat(`}`, n-1)
}

// sameReaderCases are argument documents, hostile and not: ok says whether
// they are accepted (by both paths: that is the point).
var sameReaderCases = []struct {
	name string
	doc  string
	ok   bool
}{
	// Lone surrogates (encoding/json would read U+FFFD).
	{"lone high surrogate in a value", `{"a":"\ud800"}`, false},
	{"lone low surrogate in a value", `{"a":"\udc00"}`, false},
	{"high surrogate then a letter", `{"a":"\ud800\u0041"}`, false},
	{"two high surrogates", `{"a":"\udbff\udbff"}`, false},
	{"lone surrogate in a key", `{"\ud800":1}`, false},
	{"lone surrogate in a nested key", `{"a":{"\udfff":1}}`, false},
	{"lone surrogate in an array", `{"a":["x","\ud834"]}`, false},
	{"surrogate pair", `{"a":"\ud83d\ude00"}`, true},
	// Invalid UTF-8.
	{"invalid UTF-8 in a value", "{\"a\":\"\xff\"}", false},
	{"invalid UTF-8 in a key", "{\"\xfe\":1}", false},
	{"truncated UTF-8", "{\"a\":\"\xe2\x82\"}", false},
	{"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", false},
	{"UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", false},
	{"invalid UTF-8 outside strings", "{\"a\":1\xff}", false},
	{"byte order mark", "\xef\xbb\xbf{}", false},
	{"raw UTF-8", `{"a":"значение 😀"}`, true},
	// Nesting: the object is depth 0, every value must be at depth ≤ 9.
	{"scalar at depth 9", nestArrays(8, "0"), true},
	{"scalar at depth 10", nestArrays(9, "0"), false},
	{"10 objects", nestObjects(10), true},
	{"11 objects", nestObjects(11), false},
	{"32 containers (toolmap's old limit)", nestArrays(31, ""), false},
	{"33 containers", nestArrays(32, ""), false},
	{"33 objects", nestObjects(33), false},
	// Duplicate keys, also after unescaping.
	{"duplicate key", `{"a":1,"a":2}`, false},
	{"duplicate after unescaping", `{"a":1,"\u0061":2}`, false},
	{"duplicate escaped both times", `{"\u0062":1,"\u0062":1}`, false},
	{"duplicate non-ASCII, escaped and raw", `{"a":{"\u00e9":1,"é":2}}`, false},
	{"nested duplicate", `{"a":{"b":1,"\u0062":2}}`, false},
	{"duplicate inside an array", `{"a":[{"x":1},{"x":1,"\u0078":1}]}`, false},
	{"same key in sibling objects", `{"a":{"x":1},"b":{"x":2}}`, true},
	// Integers: int64 exactly, nothing rounded.
	{"max int64", `{"a":9223372036854775807,"b":-9223372036854775808}`, true},
	{"2^63", `{"a":9223372036854775808}`, false},
	{"-2^63-1", `{"a":-9223372036854775809}`, false},
	{"2^64", `{"a":18446744073709551616}`, false},
	{"a hundred digits", `{"a":` + strings.Repeat("9", 100) + `}`, false},
	{"2^63 as a float", `{"a":9223372036854775808.0}`, true},
	{"integral floats", `{"a":1.0,"b":[1e2,-0.0,12e-1]}`, true},
	{"float underflow", `{"a":1e-400}`, true},
	{"float overflow", `{"a":1e400}`, false},
	{"negative float overflow", `{"a":[-1e999]}`, false},
	// NaN and the infinities have no JSON form.
	{"NaN", `{"a":NaN}`, false},
	{"-NaN", `{"a":-NaN}`, false},
	{"nan", `{"a":nan}`, false},
	{"Infinity", `{"a":Infinity}`, false},
	{"-Infinity", `{"a":-Infinity}`, false},
	{"inf", `{"a":inf}`, false},
	{"NaN as a string", `{"a":"NaN"}`, true},
	// Counts and sizes.
	{"4096 values", `{"a":[` + strings.Repeat("["+strings.Repeat("0,", 176)+"0],", 22) + "[" + strings.Repeat("0,", 176) + "0]]}", true},
	{"4097 values", `{"a":[` + strings.Repeat("["+strings.Repeat("0,", 176)+"0],", 22) + "[" + strings.Repeat("0,", 177) + "0]]}", false},
	{"256 items", `{"a":[` + strings.Repeat("1,", 255) + `1]}`, true},
	{"257 items", `{"a":[` + strings.Repeat("1,", 256) + `1]}`, false},
	{"257 members", `{"a":{` + members(257) + `}}`, false},
	{"string of 64 KiB + 1", `{"a":"` + strings.Repeat("x", 64<<10+1) + `"}`, false},
	{"over 256 KiB", `{"a":"x"` + strings.Repeat(" ", 256<<10) + `}`, false},
	// Syntax.
	{"empty object", `{}`, true},
	{"whitespace", " \t\n{ \"a\" : [ ] }\r\n", true},
	{"values of every type", `{"a":[1,2.5,"x",null,true,false,{}],"b":{"c":{"d":-1}}}`, true},
	{"top-level array", `[1]`, false},
	{"top-level null", `null`, false},
	{"two objects", `{}{}`, false},
	{"trailing comma", `{"a":1,}`, false},
	{"comment", `{"a":1 /* c */}`, false},
	{"leading zero", `{"a":01}`, false},
	{"raw newline in a string", "{\"a\":\"x\ny\"}", false},
	{"single quotes", `{'a':1}`, false},
}

func members(n int) string {
	m := make([]string, n)
	for i := range m {
		m[i] = fmt.Sprintf(`"k%d":0`, i)
	}
	return strings.Join(m, ",")
}

// TestOneReaderOfArguments (issue 8, rule 4): with a tool map and without,
// the values constraints see come from one strict reader with one set of
// limits. Every document is refused by both paths or accepted by both with
// equal values.
func TestOneReaderOfArguments(t *testing.T) {
	cfg, err := toolmap.Parse([]byte(sameReaderConfig), "same.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range sameReaderCases {
		t.Run(tc.name, func(t *testing.T) {
			mapped, canon, msg := bothPaths(cfg, []byte(tc.doc))
			if msg != "" {
				t.Fatal(msg)
			}
			if (canon != nil) != tc.ok {
				t.Fatalf("accepted = %v, want %v (fields %v, canonical %v)", canon != nil, tc.ok, mapped, canon)
			}
		})
	}
}

// bothPaths runs doc through toolmap with cfg and through authz without a
// tool map; msg is empty when they agree.
func bothPaths(cfg *toolmap.Config, doc []byte) (fields, canon map[string]any, msg string) {
	m, tmErr := cfg.MapCall("t", doc)
	canon, azErr := authz.CanonicalArgs(doc)
	if errors.Is(tmErr, toolmap.ErrAmbiguousKey) && azErr == nil {
		// Read alike; the tool map then refuses a key that a lenient
		// server would take for a mapped path (TestMapCallLookalikeKeys).
		return nil, nil, ""
	}
	switch {
	case (tmErr == nil) != (azErr == nil):
		return nil, nil, fmt.Sprintf("the paths disagree on %.100q: tool map: %v; authz: %v", doc, tmErr, azErr)
	case tmErr != nil:
		if !errors.Is(tmErr, toolmap.ErrArguments) || !errors.Is(azErr, authz.ErrBadArguments) {
			return nil, nil, fmt.Sprintf("%.100q: errors outside the sentinels: %v; %v", doc, tmErr, azErr)
		}
		if tmErr.Error() != toolmap.ErrArguments.Error()+": "+strings.TrimPrefix(authz.AsDenial(azErr).Message, "invalid call arguments: ") {
			return nil, nil, fmt.Sprintf("%.100q: the paths give different reasons: %v; %v", doc, tmErr, azErr)
		}
		return nil, nil, ""
	}
	// The tool map's fields are the arguments it extracts: a and b.
	want := map[string]any{}
	for _, k := range []string{"a", "b"} {
		if v, ok := canon[k]; ok {
			want[k] = v
		}
	}
	if !value.Equal(m.Fields, want) {
		return nil, nil, fmt.Sprintf("%.100q: tool map fields %#v, authz arguments %#v", doc, m.Fields, canon)
	}
	return m.Fields, canon, ""
}

// FuzzOneReaderOfArguments: whatever the document, the two paths agree.
func FuzzOneReaderOfArguments(f *testing.F) {
	cfg, err := toolmap.Parse([]byte(sameReaderConfig), "same.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range sameReaderCases {
		if len(tc.doc) < 4096 {
			f.Add([]byte(tc.doc))
		}
	}
	f.Add([]byte(`{"u":1,"A":2}`)) // a key a lenient server reads as the mapped "a": found by this target
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(bytes.TrimSpace(doc)) == 0 {
			return // no arguments: both front ends read the empty object
		}
		if _, _, msg := bothPaths(cfg, doc); msg != "" {
			t.Fatal(msg)
		}
	})
}
