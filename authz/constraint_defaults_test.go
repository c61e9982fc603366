package authz

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// TestConstraintZeroValuesAreTenuoDefaults: every constraint type built with
// its required fields only behaves as Tenuo's constructor with no options
// (Range::new inclusive, Subpath case-sensitive and allowing its root,
// UrlSafe::new refusing private, loopback, metadata and reserved hosts), so
// that a Go literal cannot open what a Tenuo warrant of the same text keeps
// shut. Each is encoded as Tenuo encodes its default, and decodes back to
// the same value.
func TestConstraintZeroValuesAreTenuoDefaults(t *testing.T) {
	f0, f100 := 0.0, 100.0
	cases := []struct {
		name  string
		c     Constraint
		allow []any
		deny  []any
	}{
		{"Range: bounds inclusive", &Range{Min: &f0, Max: &f100}, []any{int64(0), 0.0, int64(100), 100.0, 50.5}, []any{-0.5, 100.5, "50"}},
		{"Range: one bound inclusive", &Range{Max: &f100}, []any{int64(100), int64(-1000)}, []any{100.01}},
		{"Subpath: case-sensitive, root allowed", &Subpath{Root: "/data"},
			[]any{"/data", "/data/", "/data/x", "/data/a/../b"},
			[]any{"/DATA/secret", "/Data/x", "/data2", "/data/../etc/passwd", "/etc"}},
		{"URLSafe: SSRF guard on", &URLSafe{},
			[]any{"https://api.example.com/data", "http://example.com/", "http://example.com:8080/", "https://svc.internal/"},
			[]any{"http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/", "http://127.0.0.1/", "http://localhost/",
				"http://[::1]/", "http://10.0.0.1/", "http://192.168.1.1/", "http://172.16.0.1/", "http://224.0.0.1/", "http://0.0.0.0/",
				"http://2130706433/", "ftp://example.com/", "file:///etc/passwd", "gopher://example.com/"}},
		{"URLSafe with a domain list keeps the guard", &URLSafe{AllowDomains: []string{"api.example.com", "127.0.0.1"}},
			[]any{"https://api.example.com/x"}, []any{"https://other.example.com/", "http://127.0.0.1/"}},
		{"Exact", &Exact{Value: "a"}, []any{"a"}, []any{"b"}},
		{"Pattern", &Pattern{Pattern: "/data/*"}, []any{"/data/a/b"}, []any{"/DATA/a"}},
		{"Regex", &Regex{Pattern: "^a+$"}, []any{"aaa"}, []any{"b"}},
		{"OneOf", &OneOf{Values: []any{"a"}}, []any{"a"}, []any{"b"}},
		{"NotOneOf", &NotOneOf{Excluded: []any{"a"}}, []any{"b"}, []any{"a"}},
		{"CIDR", &CIDR{Network: "10.0.0.0/8"}, []any{"10.1.2.3"}, []any{"11.0.0.1"}},
		{"URLPattern", &URLPattern{Pattern: "https://*.example.com/api/*"}, []any{"https://a.example.com/api/x"}, []any{"http://a.example.com/api/x"}},
		{"Contains", &Contains{Required: []any{"a"}}, []any{[]any{"a", "b"}}, []any{[]any{"b"}}},
		{"Subset", &Subset{Allowed: []any{"a", "b"}}, []any{[]any{"a"}}, []any{[]any{"c"}}},
		{"All", &All{Constraints: []Constraint{&Pattern{Pattern: "a*"}}}, []any{"ab"}, []any{"b"}},
		{"Any", &Any{Constraints: []Constraint{&Pattern{Pattern: "a*"}}}, []any{"ab"}, []any{"b"}},
		{"Not", &Not{Constraint: &Pattern{Pattern: "a*"}}, []any{"b"}, []any{"ab"}},
		{"CEL: no parent expression", &CEL{Expression: "value > 1"}, []any{int64(2)}, []any{int64(1)}},
		{"Wildcard", &Wildcard{}, []any{"x", nil}, nil},
		{"Shlex", &Shlex{Allow: []string{"ls"}}, []any{"ls -l"}, []any{"rm -rf /", "ls; rm x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			for _, v := range c.allow {
				if err := c.c.Match(v); err != nil {
					t.Errorf("%s refuses %#v: %v", c.c, v, err)
				}
			}
			for _, v := range c.deny {
				if err := c.c.Match(v); err == nil {
					t.Errorf("%s allows %#v", c.c, v)
				}
			}
			enc, err := appendConstraint(nil, c.c, 0)
			if err != nil {
				t.Fatal(err)
			}
			back := decodeTestConstraint(t, enc)
			again, err := appendConstraint(nil, back, 0)
			if err != nil || !bytes.Equal(again, enc) {
				t.Fatalf("decoded %s re-encodes differently (%v)", back, err)
			}
			if back.String() != c.c.String() {
				t.Errorf("decoded %s, built %s", back, c.c)
			}
			// The JSON form, with absent fields, reads back to the same
			// constraint.
			js, _ := json.Marshal(ConstraintJSON(c.c))
			fromJSON, err := ParseConstraintJSON(js)
			if err != nil {
				t.Fatalf("JSON %s: %v", js, err)
			}
			if b, _ := appendConstraint(nil, fromJSON, 0); !bytes.Equal(b, enc) {
				t.Errorf("JSON %s reads back as %s", js, fromJSON)
			}
		})
	}
	// Written with no flags at all, the JSON form means the same defaults.
	for js, want := range map[string]Constraint{
		`{"type":"subpath","root":"/data"}`:  &Subpath{Root: "/data"},
		`{"type":"url_safe"}`:                &URLSafe{},
		`{"type":"range","min":0,"max":100}`: &Range{Min: &f0, Max: &f100},
	} {
		c, err := ParseConstraintJSON([]byte(js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		got, _ := appendConstraint(nil, c, 0)
		exp, _ := appendConstraint(nil, want, 0)
		if !bytes.Equal(got, exp) {
			t.Errorf("%s reads as %s, want %s", js, c, want)
		}
	}
	// The zero ConstraintSet is closed: an argument it does not name is
	// denied once it constrains any (Tenuo's allow_unknown defaults to false).
	set := ConstraintSet{Constraints: map[string]Constraint{"path": &Subpath{Root: "/data"}}}
	if err := checkConstraints(set, map[string]any{"path": "/data/a", "mode": "w"}, time.Now()); err == nil {
		t.Error("an unnamed argument passes a zero-value ConstraintSet")
	}
}

// TestConstraintZeroValuesEncodeAsTenuo: the zero-value Range, Subpath and
// URLSafe encode byte for byte as the constraints of Tenuo's vectors A.19.1
// (Range::between(0, 100)), A.25.2 (Subpath::new) and A.25.1
// (UrlSafe::new()).
func TestConstraintZeroValuesEncodeAsTenuo(t *testing.T) {
	f := vecLoad(t)
	f0, f100 := 0.0, 100.0
	for _, c := range []struct {
		label string
		zero  Constraint
	}{
		{"A.19.1 Range", &Range{Min: &f0, Max: &f100}},
		{"A.25.2 Subpath", &Subpath{Root: "/home/agent/workspace"}},
		{"A.25.1 UrlSafe", &URLSafe{}},
	} {
		w := chStack(t, f, c.label).Leaf()
		tools := sortedToolNames(w.Tools)
		set := w.Tools[tools[0]]
		if len(set.Constraints) != 1 {
			t.Fatalf("%s: %d constraints", c.label, len(set.Constraints))
		}
		for _, tenuo := range set.Constraints {
			want, err := appendConstraint(nil, tenuo, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(w.PayloadBytes(), want) {
				t.Fatalf("%s: the constraint does not re-encode as in the vector", c.label)
			}
			got, err := appendConstraint(nil, c.zero, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: the zero value %s encodes as %x, Tenuo's default as %x", c.label, c.zero, got, want)
			}
		}
	}
}

func decodeTestConstraint(t *testing.T, enc []byte) Constraint {
	t.Helper()
	it, err := cbor.Decode(enc, cbor.Limits{MaxDepth: maxPayloadNesting})
	if err != nil {
		t.Fatal(err)
	}
	c, err := decodeConstraint(&it, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
