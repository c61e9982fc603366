package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// TestCanonicalize: RFC 8785's examples (§3.2.2, §3.2.3, appendix B) and the
// strictness the reader keeps.
func TestCanonicalize(t *testing.T) {
	cases := []struct{ in, want string }{
		// RFC 8785 §3.2.2's sample.
		{`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
		// §3.2.3: sorted by UTF-16 code units (U+1F600 sorts before U+FB33).
		{`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"},
		{` [ ] `, `[]`},
		{`{}`, `{}`},
		{`-0`, `0`},
		{`1.0`, `1`},
		{`100`, `100`},
		{`1e21`, `1e+21`},
		{`1e20`, `100000000000000000000`},
		{`0.000001`, `0.000001`},
		{`0.0000001`, `1e-7`},
		{`-1.5e-10`, `-1.5e-10`},
		{`9007199254740993`, `9007199254740992`},
		{`{"b":[1,{"d":2,"c":3}],"a":"x"}`, `{"a":"x","b":[1,{"c":3,"d":2}]}`},
	}
	for _, c := range cases {
		got, err := Canonicalize([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	for _, bad := range []string{``, `{`, `{"a":1,"a":2}`, `[1,]`, `01`, `1.`, `.5`, `"\ud800"`, `"\udc00"`, "\"\xff\"", `1e400`, `"a` + "\n" + `"`, `nul`, `[1] 2`, `{"a" 1}`, `NaN`, `"\x"`} {
		if got, err := Canonicalize([]byte(bad)); err == nil {
			t.Errorf("%q accepted as %s", bad, got)
		}
	}
}

// TestLimits: nesting to MaxDepth is read, one more is ErrLimit.
func TestLimits(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Canonicalize([]byte(deep)); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	deeper := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	if _, err := Canonicalize([]byte(deeper)); !errors.Is(err, ErrLimit) {
		t.Fatalf("depth %d: %v, want ErrLimit", MaxDepth+1, err)
	}
}

// TestNumbers: the number form agrees with encoding/json's reading back, on
// values across the double's range.
func TestNumbers(t *testing.T) {
	for _, f := range []float64{1, -1, 0.1, 1.0 / 3, 123456789012345680000, 1e21, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 2.5e-8, 12345.678} {
		b := AppendNumber(nil, f)
		var back float64
		if err := json.Unmarshal(b, &back); err != nil || back != f {
			t.Errorf("%v → %s → %v (%v)", f, b, back, err)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\u20ac"`, `1e-7`, `{"b":{},"a":[]}`, `"\ud83d\ude00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		// The canonical form is valid JSON, is its own canonical form, and
		// has the same value as the input when encoding/json reads both
		// (-0 is written 0, as ECMAScript writes it).
		if !json.Valid(out) {
			t.Fatalf("%q → invalid %q", in, out)
		}
		again, err := Canonicalize(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%q → %q → %q (%v)", in, out, again, err)
		}
		var a, b any
		if json.Unmarshal(in, &a) == nil && json.Unmarshal(out, &b) == nil {
			ja, _ := json.Marshal(noNegZero(a))
			jb, _ := json.Marshal(noNegZero(b))
			if !bytes.Equal(ja, jb) {
				t.Fatalf("%q and %q differ in value", in, out)
			}
		}
	})
}

func noNegZero(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return 0.0
		}
	case []any:
		for i := range x {
			x[i] = noNegZero(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = noNegZero(x[k])
		}
	}
	return v
}
