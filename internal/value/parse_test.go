package value

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// equal compares values of the model type-sensitively (int64 1 ≠ float64 1).
func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]any
	}{
		{"empty object", `{}`, map[string]any{}},
		{"whitespace around", " \t\r\n{ \"a\" : 1 }\n ", map[string]any{"a": int64(1)}},
		{"vector args", `{"limit":1,"note":null,"path":"/data/ok"}`,
			map[string]any{"limit": int64(1), "note": nil, "path": "/data/ok"}},
		{"booleans", `{"t":true,"f":false}`, map[string]any{"t": true, "f": false}},
		{"nested", `{"m":{"a":[1,"x",{"b":null}],"e":{},"l":[]}}`,
			map[string]any{"m": map[string]any{"a": []any{int64(1), "x", map[string]any{"b": nil}}, "e": map[string]any{}, "l": []any{}}}},
		{"min int64", `{"n":-9223372036854775808}`, map[string]any{"n": int64(math.MinInt64)}},
		{"max int64", `{"n":9223372036854775807}`, map[string]any{"n": int64(math.MaxInt64)}},
		{"zero", `{"a":0,"b":-0}`, map[string]any{"a": int64(0), "b": int64(0)}},
		{"integral float is int", `{"n":1.0}`, map[string]any{"n": int64(1)}},
		{"exponent is int", `{"n":1e2,"m":1E+2,"k":12e-1}`, map[string]any{"n": int64(100), "m": int64(100), "k": 1.2}},
		{"negative zero float is int 0", `{"n":-0.0}`, map[string]any{"n": int64(0)}},
		{"fraction", `{"n":1.5,"m":-0.25}`, map[string]any{"n": 1.5, "m": -0.25}},
		{"2^63 as float stays float", `{"n":9223372036854775808.0}`, map[string]any{"n": 9223372036854775808.0}},
		{"-2^63 as float is int", `{"n":-9223372036854775808.0}`, map[string]any{"n": int64(math.MinInt64)}},
		{"large integral float stays float", `{"n":1e300}`, map[string]any{"n": 1e300}},
		{"underflow is 0", `{"n":1e-400}`, map[string]any{"n": int64(0)}},
		{"adjacent doubles stay apart", `{"a":0.9384646938271072,"b":0.9384646938271073}`,
			map[string]any{"a": 0.9384646938271072, "b": 0.9384646938271073}},
		{"escapes", `{"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00"}`,
			map[string]any{"s": "\"\\/\b\f\n\r\tAé€😀"}},
		{"escaped NUL", `{"s":"a\u0000b"}`, map[string]any{"s": "a\x00b"}},
		{"raw UTF-8", `{"ключ":"значение 😀"}`, map[string]any{"ключ": "значение 😀"}},
		{"DEL is not a control character", "{\"s\":\"\x7f\"}", map[string]any{"s": "\x7f"}},
		{"keys differ after unescaping", `{"a":1,"\u0062":2}`, map[string]any{"a": int64(1), "b": int64(2)}},
		{"same key in sibling objects", `{"x":{"a":1},"y":{"a":2}}`,
			map[string]any{"x": map[string]any{"a": int64(1)}, "y": map[string]any{"a": int64(2)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in), DefaultLimits)
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.in, err)
			}
			if !equal(got, tt.want) {
				t.Fatalf("Parse(%s) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		kind   error
		offset int    // -1: not checked
		path   string // "": not checked
	}{
		{"empty", ``, ErrSyntax, 0, "$"},
		{"only whitespace", "  \n", ErrSyntax, 3, "$"},
		{"array", `[]`, ErrNotObject, 0, "$"},
		{"null", `null`, ErrNotObject, 0, "$"},
		{"number", ` 1`, ErrNotObject, 1, "$"},
		{"string", `"a"`, ErrNotObject, 0, "$"},
		{"two objects", `{}{}`, ErrSyntax, 2, "$"},
		{"trailing garbage", `{"a":1} x`, ErrSyntax, 8, "$"},
		{"trailing comma", `{"a":1,}`, ErrSyntax, 7, "$"},
		{"trailing comma in array", `{"a":[1,]}`, ErrSyntax, 8, "$.a[1]"},
		{"missing colon", `{"a" 1}`, ErrSyntax, 5, "$"},
		{"unquoted key", `{a:1}`, ErrSyntax, 1, "$"},
		{"single quotes", `{'a':1}`, ErrSyntax, 1, "$"},
		{"unterminated object", `{"a":1`, ErrSyntax, 6, "$"},
		{"unterminated string", `{"a":"x`, ErrSyntax, 5, "$.a"},
		{"bad literal", `{"a":tru}`, ErrSyntax, 5, "$.a"},
		{"NaN", `{"a":NaN}`, ErrSyntax, 5, "$.a"},
		{"Infinity", `{"a":Infinity}`, ErrSyntax, 5, "$.a"},
		{"negative Infinity", `{"a":-Infinity}`, ErrSyntax, 5, "$.a"},
		{"leading zero", `{"a":01}`, ErrSyntax, 5, "$.a"},
		{"leading plus", `{"a":+1}`, ErrSyntax, 5, "$.a"},
		{"bare dot", `{"a":.5}`, ErrSyntax, 5, "$.a"},
		{"dot without digits", `{"a":1.}`, ErrSyntax, 5, "$.a"},
		{"exponent without digits", `{"a":1e}`, ErrSyntax, 5, "$.a"},
		{"hex number", `{"a":0x10}`, ErrSyntax, 6, "$"},
		{"int64 overflow", `{"n":9223372036854775808}`, ErrNumber, 5, "$.n"},
		{"int64 underflow", `{"n":-9223372036854775809}`, ErrNumber, 5, "$.n"},
		{"u64 overflow", `{"n":18446744073709551616}`, ErrNumber, 5, "$.n"},
		{"float overflow", `{"n":1e400}`, ErrNumber, 5, "$.n"},
		{"negative float overflow", `{"n":[-1e400]}`, ErrNumber, 6, "$.n[0]"},
		{"duplicate key", `{"a":1,"a":2}`, ErrDuplicateKey, 7, "$.a"},
		{"duplicate after unescaping", `{"a":1,"\u0061":2}`, ErrDuplicateKey, 7, "$.a"},
		{"nested duplicate", `{"meta":{"a":1,"a":2}}`, ErrDuplicateKey, 15, "$.meta.a"},
		{"duplicate inside array", `{"l":[{"k":1},{"k":1,"k":2}]}`, ErrDuplicateKey, 21, "$.l[1].k"},
		{"duplicate odd key", `{"a b":1,"a b":2}`, ErrDuplicateKey, 9, `$["a b"]`},
		{"raw newline in string", "{\"a\":\"x\ny\"}", ErrSyntax, 7, "$.a"},
		{"raw tab in string", "{\"a\":\"\t\"}", ErrSyntax, 6, "$.a"},
		{"raw NUL in key", "{\"\x00\":1}", ErrSyntax, 2, "$"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", ErrSyntax, 6, "$.a"},
		{"truncated UTF-8", "{\"a\":\"\xe2\x82\"}", ErrSyntax, 6, "$.a"},
		{"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", ErrSyntax, 6, "$.a"},
		{"UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", ErrSyntax, 6, "$.a"},
		{"invalid UTF-8 outside strings", "{\xff}", ErrSyntax, 1, "$"},
		{"byte order mark", "\xef\xbb\xbf{}", ErrNotObject, 0, "$"},
		{"lone high surrogate", `{"a":"\ud800"}`, ErrSyntax, 6, "$.a"},
		{"lone high surrogate then text", `{"a":"\ud800x"}`, ErrSyntax, 6, "$.a"},
		{"high surrogate then non-surrogate", `{"a":"\ud800\u0041"}`, ErrSyntax, 6, "$.a"},
		{"two high surrogates", `{"a":"\ud800\ud800"}`, ErrSyntax, 6, "$.a"},
		{"lone low surrogate", `{"a":"\udc00"}`, ErrSyntax, 6, "$.a"},
		{"lone surrogate in key", `{"\udfff":1}`, ErrSyntax, 2, "$"},
		{"bad escape", `{"a":"\x"}`, ErrSyntax, 6, "$.a"},
		{"bad hex", `{"a":"\u00g0"}`, ErrSyntax, 6, "$.a"},
		{"truncated hex", `{"a":"\u00`, ErrSyntax, 6, "$.a"},
		{"comment", `{"a":1 /* c */}`, ErrSyntax, 7, "$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkReject(t, []byte(tt.in), DefaultLimits, tt.kind, tt.offset, tt.path)
		})
	}
}

func checkReject(t *testing.T, in []byte, lim Limits, kind error, offset int, path string) {
	t.Helper()
	got, err := Parse(in, lim)
	if err == nil {
		t.Fatalf("Parse(%.80q) = %v, want an error", in, got)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("Parse(%.80q): %v, want %v", in, err, kind)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse(%.80q): %T is not *Error", in, err)
	}
	if offset >= 0 && e.Offset != offset {
		t.Errorf("Parse(%.80q): offset %d, want %d (%v)", in, e.Offset, offset, err)
	}
	if path != "" && e.Path != path {
		t.Errorf("Parse(%.80q): path %q, want %q (%v)", in, e.Path, path, err)
	}
}

// nest wraps inner in n arrays under key "x": {"x":[[…inner…]]}.
func nest(n int, inner string) string {
	return `{"x":` + strings.Repeat("[", n) + inner + strings.Repeat("]", n) + `}`
}

// nestObjects nests n objects under key "a": {"a":{"a":…{}…}}.
func nestObjects(n int) string {
	return strings.Repeat(`{"a":`, n) + `{}` + strings.Repeat(`}`, n)
}

// rows builds {"r":[[0,…],…]} with k inner arrays of n zeros: 2+k(n+1) values.
func rows(k, n int) string {
	row := "[" + strings.Repeat("0,", n-1) + "0]"
	return `{"r":[` + strings.Repeat(row+",", k-1) + row + `]}`
}

func TestParseLimits(t *testing.T) {
	const kib = 1 << 10
	accept := []struct {
		name string
		in   string
	}{
		// The top-level object is depth 0, so 8 arrays put the scalar at depth 9.
		{"scalar at depth 9", nest(8, "0")},
		{"empty array at depth 9", nest(9, "")},
		{"object at depth 9", nestObjects(9)},
		{"exactly 4096 values", rows(23, 177)}, // 2 + 23×178
		{"256 array items", `{"a":[` + strings.Repeat("1,", 255) + `1]}`},
		{"string budget used by one string", `{"content":"` + strings.Repeat("x", 64*kib-len("content")) + `"}`},
		{"one string of 64 KiB", `{"":"` + strings.Repeat("x", 64*kib) + `"}`},
		{"escapes count decoded", `{"":"` + strings.Repeat(`\u00e9`, 32*kib) + `"}`}, // 64 KiB decoded
	}
	for _, tt := range accept {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in), DefaultLimits); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
	objects257 := make([]string, 257)
	for i := range objects257 {
		objects257[i] = fmt.Sprintf(`"k%d":0`, i)
	}
	reject := []struct {
		name string
		in   string
		path string
	}{
		{"scalar at depth 10", nest(9, "0"), "$.x[0][0][0][0][0][0][0][0][0]"},
		{"Tenuo's deep vector", nest(10, "0"), "$.x[0][0][0][0][0][0][0][0][0]"},
		{"empty array at depth 10", nest(10, ""), "$.x[0][0][0][0][0][0][0][0][0]"},
		{"object at depth 10", nestObjects(10), "$.a.a.a.a.a.a.a.a.a.a"},
		{"4097 values", rows(23, 177)[:len(rows(23, 177))-3] + `,0]]}`, "$.r[22][177]"},
		{"Tenuo's node vector", rows(17, 256), ""},
		{"257 array items", `{"a":[` + strings.Repeat("1,", 256) + `1]}`, "$.a"},
		{"257 object members", `{` + strings.Join(objects257, ",") + `}`, "$"},
		{"string of 64 KiB + 1", `{"":"` + strings.Repeat("x", 64*kib+1) + `"}`, `$[""]`},
		{"key counts toward the budget", `{"c":"` + strings.Repeat("x", 64*kib) + `"}`, "$.c"},
		{"Tenuo's string vector", `{"rows":[` + strings.Repeat(`"`+strings.Repeat("x", 8*kib)+`",`, 8) + `"` + strings.Repeat("x", 8*kib) + `"]}`, ""},
		{"over 256 KiB", `{"a":"` + strings.Repeat(" ", 256*kib) + `"}`, "$"},
		{"over 256 KiB of anything", strings.Repeat("!", 256*kib+1), "$"},
	}
	for _, tt := range reject {
		t.Run(tt.name, func(t *testing.T) {
			checkReject(t, []byte(tt.in), DefaultLimits, ErrLimit, -1, tt.path)
		})
	}
}

func TestParseCustomLimits(t *testing.T) {
	small := Limits{MaxBytes: 16, MaxDepth: 1, MaxNodes: 3, MaxStringBytes: 4, MaxTotalStringBytes: 6, MaxItems: 2}
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a":[]}`, true},
		{`{"a":[1]}`, false},    // depth 2
		{`{"a":1,"b":2}`, true}, // 3 values
		{`{"a":1,"b":2,"c":3}`, false},
		{`{"abcd":1}`, true},
		{`{"abcde":1}`, false},    // string of 5
		{`{"abc":"def"}`, true},   // 6 string bytes
		{`{"abc":"defg"}`, false}, // 7
		{`{"a":[1,2,3]}`, false},  // depth and items
		{`{"a":1}         `, true},
		{`{"a":1}          `, false}, // 17 bytes
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in), small)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%s) error %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrLimit) {
			t.Errorf("Parse(%s): %v, want ErrLimit", tt.in, err)
		}
	}
	// A zero Limits means the defaults, never "unbounded".
	if _, err := Parse([]byte(nest(9, "0")), Limits{}); !errors.Is(err, ErrLimit) {
		t.Errorf("zero Limits accepted depth 10: %v", err)
	}
	// A huge MaxDepth is capped, so recursion stays bounded.
	deep := nest(hardMaxDepth+5, "")
	if _, err := Parse([]byte(deep), Limits{MaxDepth: 1 << 30, MaxBytes: 1 << 20, MaxItems: 10}); !errors.Is(err, ErrLimit) {
		t.Errorf("depth %d accepted: %v", hardMaxDepth+5, err)
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := Parse([]byte(`{"meta":{"a":1,"a":2}}`), DefaultLimits)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if e.Key != "meta" {
		t.Errorf("Key = %q, want meta", e.Key)
	}
	want := `duplicate key "a" at byte 15 (path $.meta.a)`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestParseInt(t *testing.T) {
	tests := []struct {
		digits string
		neg    bool
		want   int64
		ok     bool
	}{
		{"0", false, 0, true},
		{"0", true, 0, true},
		{"9223372036854775807", false, math.MaxInt64, true},
		{"9223372036854775808", false, 0, false},
		{"9223372036854775808", true, math.MinInt64, true},
		{"9223372036854775809", true, 0, false},
		{"922337203685477581", false, 922337203685477581, true},
		{"9223372036854775810", false, 0, false},
		{"99999999999999999999", false, 0, false},
		{"18446744073709551615", true, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseInt([]byte(tt.digits), tt.neg)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseInt(%s, %v) = %d, %v; want %d, %v", tt.digits, tt.neg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseAny(t *testing.T) {
	accept := []struct {
		in   string
		want any
	}{
		{`null`, nil},
		{` [1, 2.5, "x"] `, []any{int64(1), 2.5, "x"}},
		{`"s"`, "s"},
		{`1.0`, int64(1)},
		{`{"a":{}}`, map[string]any{"a": map[string]any{}}},
		{strings.Repeat("[", 9) + strings.Repeat("]", 9), nil}, // depth 0…8
	}
	for _, tt := range accept {
		got, err := ParseAny([]byte(tt.in), DefaultLimits)
		if err != nil {
			t.Errorf("ParseAny(%s): %v", tt.in, err)
			continue
		}
		if tt.want != nil && !equal(got, tt.want) {
			t.Errorf("ParseAny(%s) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	// The same rules and limits as Parse: the top-level value is depth 0.
	for _, in := range []string{``, ` `, `[1,]`, `[] []`, `["\ud800"]`, "[\"\xff\"]", `[{"a":1,"\u0061":2}]`,
		strings.Repeat("[", 11) + strings.Repeat("]", 11), `[` + strings.Repeat("1,", 256) + `1]`, `NaN`, `9223372036854775808`} {
		if _, err := ParseAny([]byte(in), DefaultLimits); err == nil {
			t.Errorf("ParseAny(%.40q) accepted", in)
		}
	}
}

func TestEqualAndTypeName(t *testing.T) {
	same := [][2]any{
		{nil, nil}, {true, true}, {int64(1), int64(1)}, {1.5, 1.5}, {math.NaN(), math.NaN()}, {"x", "x"},
		{[]any{int64(1), "a"}, []any{int64(1), "a"}}, {map[string]any{"k": []any{}}, map[string]any{"k": []any{}}},
	}
	for _, p := range same {
		if !Equal(p[0], p[1]) {
			t.Errorf("Equal(%#v, %#v) = false", p[0], p[1])
		}
	}
	differ := [][2]any{
		{int64(1), 1.0}, {int64(1), "1"}, {nil, false}, {"", nil}, {[]any{int64(1)}, []any{1.0}},
		{map[string]any{"a": nil}, map[string]any{"b": nil}}, {map[string]any{}, []any{}}, {int(1), int(1)},
	}
	for _, p := range differ {
		if Equal(p[0], p[1]) {
			t.Errorf("Equal(%#v, %#v) = true", p[0], p[1])
		}
	}
	names := map[string]any{"null": nil, "boolean": false, "integer": int64(0), "float": 0.5, "string": "",
		"list": []any{}, "object": map[string]any{}, "int": 3}
	for want, v := range names {
		if got := TypeName(v); got != want {
			t.Errorf("TypeName(%#v) = %q, want %q", v, got, want)
		}
	}
}

// TestErrorsDoNotQuoteValues: a refused value is named by its path and the
// problem, never shown (an argument may hold a secret), whatever its kind.
func TestErrorsDoNotQuoteValues(t *testing.T) {
	const secret = "73914286"
	for _, in := range []string{
		`{"n":` + secret + `73914286739142867391428673914286}`,
		`{"n":-` + secret + `739142867391428673914286}`,
		`{"n":` + secret + `e99999}`,
		`{"n":[1,-` + secret + `.5e400]}`,
		`{"s":"` + secret + `\q"}`,
		`{"s":"` + secret + `\ud800"}`,
		`{"s":"` + secret + `\udc00"}`,
		`{"s":"` + secret + `\ud800\u0041"}`,
	} {
		_, err := Parse([]byte(in), DefaultLimits)
		if err == nil {
			t.Fatalf("%s parsed", in)
		}
		var e *Error
		if !errors.As(err, &e) || e.Path == "$" {
			t.Fatalf("%s: %v does not name the value's path", in, err)
		}
		if strings.Contains(err.Error(), secret[:4]) || strings.Contains(err.Error(), "d800") || strings.Contains(err.Error(), "dc00") {
			t.Errorf("%s: the error quotes the value: %v", in, err)
		}
	}
}

// TestErrorsNameTheirPath: the fast path keeps no path, so a failure is
// parsed again to name it; the path and key are those of the failing value,
// at any depth, in objects and arrays alike.
func TestErrorsNameTheirPath(t *testing.T) {
	for _, tc := range []struct{ doc, path, key string }{
		{`{"a":{"b":[1,{"c":tru}]}}`, `$.a.b[1].c`, "a"},
		{`{"x":1,"x":2}`, `$.x`, "x"},
		{`{"q":"ok","n":{"deep":[[["\u00zz"]]]}}`, `$.n.deep[0][0][0]`, "n"},
		{`{"s":"` + "\x01" + `"}`, `$.s`, "s"},
	} {
		_, err := Parse([]byte(tc.doc), DefaultLimits)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v is not *Error", tc.doc, err)
		}
		if e.Path != tc.path || e.Key != tc.key {
			t.Errorf("%s: path %q key %q, want %q %q (%v)", tc.doc, e.Path, e.Key, tc.path, tc.key, err)
		}
		sameFailure(t, []byte(tc.doc))
	}
}
