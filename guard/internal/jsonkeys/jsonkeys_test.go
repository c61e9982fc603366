package jsonkeys

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{`{}`, `{"a":1,"b":{"a":2}}`, `[{"path":1},{"PATH":2}]`, `"x"`, `{"straße":1,"strasse":2}`} {
		if err := Check([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		`{"path":"/data/a","PATH":"/etc/passwd"}`,
		`{"x":{"Path":1,"pATH":2}}`,
		`[{"k":1,"K":2}]`,
		`{"s":1,"ſ":2}`, // U+017F LATIN SMALL LETTER LONG S folds to s
		`{"k":1,"K":2}`, // U+212A KELVIN SIGN folds to k
		`{"A":1,"A":2}`,
		`{"path":1,"\u0050\u0061\u0074\u0068":2}`, // an escaped P: no upper-case byte in the text
	} {
		if err := Check([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		} else if !strings.Contains(bad, `"A":1,"A"`) && !errors.Is(err, ErrFoldedKeys) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, bad := range []string{`{"a":`, `{"a":1} x`, strings.Repeat("[", MaxDepth+2) + `"A"` + strings.Repeat("]", MaxDepth+2)} {
		if err := Check([]byte(bad)); err == nil {
			t.Errorf("%.40s accepted", bad)
		}
	}
}
