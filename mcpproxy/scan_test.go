package mcpproxy

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

func TestScanDocument(t *testing.T) {
	cases := []struct {
		in          string
		lax, strict bool // accepted without / with nested key checks
	}{
		{`{}`, true, true},
		{` {"a":1,"b":[true,false,null,-0.5e+3,"x\u00e9\n"]} `, true, true},
		{`{"a":{"b":1,"b":2}}`, true, false},
		{`{"a":1,"a":2}`, false, false},
		{`{"a":1,"\u0061":2}`, false, false},
		{`{"a":[{"k":1},{"k":2}]}`, true, true},
		{`{"a":1}{}`, false, false},
		{`{"a":01}`, false, false},
		{`{"a":1.}`, false, false},
		{`{"a":.5}`, false, false},
		{`{"a":1e}`, false, false},
		{`{"a":"\x01"}`, false, false},
		{`{"a":"\q"}`, false, false},
		{`{"a":"\u12"}`, false, false},
		{"{\"a\":\"\xff\"}", true, false},
		{`{"a":tru}`, false, false},
		{`{"a" 1}`, false, false},
		{`{"a":1,}`, false, false},
		{`[1,2,]`, false, false},
		{`{"a":[1 2]}`, false, false},
		{`"unterminated`, false, false},
		{``, false, false},
	}
	for _, c := range cases {
		_, errLax := scanDocument([]byte(c.in), false, false)
		_, errStrict := scanDocument([]byte(c.in), false, true)
		if (errLax == nil) != c.lax || (errStrict == nil) != c.strict {
			t.Errorf("%q: lax %v, strict %v; want %v, %v", c.in, errLax, errStrict, c.lax, c.strict)
		}
	}
	if _, err := scanDocument([]byte(`{"a":{"b":1,"b":2}}`), false, true); !errors.Is(err, errDuplicateKey) {
		t.Fatalf("nested duplicate: %v", err)
	}
	sc, err := scanDocument([]byte(`{"name":"x", "arguments" : {"p":1}}`), true, false)
	if err != nil || len(sc.top) != 2 || sc.top[1].key != "arguments" {
		t.Fatalf("members: %v %+v", err, sc)
	}
}

// FuzzScanDocument checks the scanner against encoding/json: the lenient
// scan accepts exactly what json.Valid accepts (bar top-level duplicate
// keys), and the strict scan accepts nothing that is not valid UTF-8 JSON.
func FuzzScanDocument(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}],"c":"\u00e9"}`, `{"a":1,"a":2}`, `[1,2]`, `{"a":-0.0e-1}`, "{\"a\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, lax := scanDocument(data, false, false)
		if !errors.Is(lax, errDuplicateKey) && (lax == nil) != json.Valid(data) {
			t.Fatalf("%q: scanner %v, json.Valid %v", data, lax, json.Valid(data))
		}
		if _, strict := scanDocument(data, false, true); strict == nil && (!json.Valid(data) || !utf8.Valid(data)) {
			t.Fatalf("%q: strict scan accepted invalid JSON", data)
		}
	})
}
