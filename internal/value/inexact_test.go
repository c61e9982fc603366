package value

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestExactDouble(t *testing.T) {
	tests := []struct {
		n    int64
		want bool
	}{
		{0, true},
		{1 << 53, true},
		{1<<53 + 1, false}, // 9007199254740993: a double reads …992
		{1<<53 + 2, true},
		{-(1 << 53), true},
		{-(1<<53 + 1), false},
		{1<<54 + 2, false}, // spacing 4 beyond 2^54
		{1<<54 + 4, true},
		{math.MaxInt64, false}, // rounds to 2^63, outside int64
		{math.MaxInt64 - 511, false},
		{math.MinInt64, true},
		{math.MinInt64 + 1, false},
		{1 << 62, true},
	}
	for _, tt := range tests {
		if got := ExactDouble(tt.n); got != tt.want {
			t.Errorf("ExactDouble(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestFirstInexactNumber(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		path string // "": none found
		key  string
	}{
		{"none", `{"a":1,"b":[2.5,"9007199254740993"]}`, "", ""},
		{"2^53 is exact", `{"a":9007199254740992}`, "", ""},
		{"2^53+1", `{"a":9007199254740993}`, "$.a", "a"},
		{"negative", `{"a":-9007199254740993}`, "$.a", "a"},
		{"max int64", `{"n":9223372036854775807}`, "$.n", "n"},
		{"min int64 is exact", `{"n":-9223372036854775808}`, "", ""},
		{"nested in an array", `{"q":{"ids":[1,2,9007199254740995]}}`, "$.q.ids[2]", "q"},
		{"first in document order", `{"b":[9007199254740993],"a":9007199254740995}`, "$.b[0]", "b"},
		{"odd key", `{"a b":9007199254740993}`, `$["a b"]`, "a b"},
		{"a top-level number", `9007199254740993`, "$", ""},
		{"a top-level array", `[0,9007199254740993]`, "$[1]", ""},
		// Fractions and exponents are read as the nearest double, which is
		// what a double-reading server reads: no difference to refuse.
		{"integral exponent form", `{"a":9.007199254740995e15}`, "", ""},
		{"integral fraction form", `{"a":9007199254740993.0}`, "", ""},
		{"decimal", `{"a":0.1,"b":1.5,"c":1e300}`, "", ""},
		{"long decimal", `{"a":0.30000000000000000000001}`, "", ""},
		{"digits in a string", `{"a":"9007199254740993"}`, "", ""},
		{"digits in a key", `{"9007199254740993":1}`, "", ""},
		// Not JSON the reader accepts: the reader refuses it on its own.
		{"beyond int64", `{"a":18446744073709551616}`, "", ""},
		{"malformed before", `{"a":x,"b":9007199254740993}`, "", ""},
		{"duplicate before", `{"a":1,"a":2,"b":9007199254740993}`, "", ""},
		// Found before the document goes wrong.
		{"malformed after", `{"a":9007199254740993,`, "$.a", "a"},
		// The scan ignores the argument limits: any size, any depth to 1000.
		{"deep", `{"a":` + strings.Repeat("[", 50) + "9007199254740993" + strings.Repeat("]", 50) + `}`, "$.a" + strings.Repeat("[0]", 50), "a"},
		{"many items", `{"a":[` + strings.Repeat("0,", 5000) + `9007199254740993]}`, "$.a[5000]", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := FirstInexactNumber([]byte(tt.doc))
			if found != (tt.path != "") || got.Path != tt.path || got.Key != tt.key {
				t.Fatalf("FirstInexactNumber = %+v, %v; want path %q key %q", got, found, tt.path, tt.key)
			}
			if found && !strings.HasPrefix(tt.doc[got.Offset:], "9007199254740993") &&
				!strings.HasPrefix(tt.doc[got.Offset:], "-9007199254740993") && !strings.HasPrefix(tt.doc[got.Offset:], "92233720368547758") &&
				!strings.HasPrefix(tt.doc[got.Offset:], "9007199254740995") {
				t.Fatalf("offset %d points at %.20q", got.Offset, tt.doc[got.Offset:])
			}
		})
	}
	// The exponent form reads as the double both sides see.
	m, err := Parse([]byte(`{"a":9.007199254740995e15}`), DefaultLimits)
	if err != nil || m["a"] != int64(9007199254740996) {
		t.Fatalf("9.007199254740995e15 reads as %#v, %v", m["a"], err)
	}
	if f, _ := strconv.ParseFloat("9.007199254740995e15", 64); int64(f) != m["a"] {
		t.Fatalf("the double is %v", f)
	}
}

// FuzzFirstInexactNumber checks FirstInexactNumber against big-number
// arithmetic on encoding/json's reading of every document Parse accepts.
func FuzzFirstInexactNumber(f *testing.F) {
	for _, s := range []string{
		`{"a":9007199254740993}`, `{"a":[1,{"b":-9007199254740993}]}`, `{"a":9.007199254740995e15}`,
		`{"a":9223372036854775807}`, `{"a":1234567890123456789}`, `{"a":"12345678901234567"}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, found := FirstInexactNumber(doc)
		if _, err := ParseAny(doc, DefaultLimits); err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var std any
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if want := anyInexact(std); found != want {
			t.Fatalf("%q: found %v (%+v), big arithmetic says %v", doc, found, got, want)
		}
		if found && !strings.HasPrefix(got.Path, "$") {
			t.Fatalf("path %q", got.Path)
		}
	})
}

// anyInexact reports whether some integer literal in v differs from its
// nearest double, by exact arithmetic.
func anyInexact(v any) bool {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if strings.ContainsAny(s, ".eE") {
			return false
		}
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			panic(s)
		}
		f, _ := new(big.Float).SetInt(n).Float64() // nearest, ties to even
		back, _ := new(big.Float).SetFloat64(f).Int(nil)
		return back.Cmp(n) != 0
	case []any:
		for _, e := range x {
			if anyInexact(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if anyInexact(e) {
				return true
			}
		}
	}
	return false
}
