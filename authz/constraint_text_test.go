package authz

import (
	"encoding/json"
	"testing"
)

// TestConstraintJSONRoundTrip: the JSON form of every constraint type, as
// inspect --json prints it, reads back (json: in a -c SPEC) to a constraint
// that encodes identically.
func TestConstraintJSONRoundTrip(t *testing.T) {
	lo, hi := 1.0, 50.0
	pe := "value > 0"
	for _, c := range []Constraint{
		&Exact{Value: int64(5)}, &Pattern{Pattern: "/data/*"}, &Range{Min: &lo, Max: &hi}, &Range{Max: &hi},
		&OneOf{Values: []any{"a", int64(2)}}, &Regex{Pattern: "^a"}, &NotOneOf{Excluded: []any{"x"}},
		&CIDR{Network: "10.0.0.0/8"}, &URLPattern{Pattern: "https://*.example.com/*"},
		&Contains{Required: []any{"a"}}, &Subset{Allowed: []any{"a"}},
		&All{Constraints: []Constraint{&Pattern{Pattern: "a*"}}}, &Any{Constraints: []Constraint{&Wildcard{}}},
		&Not{Constraint: &Exact{Value: "x"}}, &CEL{Expression: "value > 1"}, &CEL{Expression: "(value > 0) && (value < 9)", ParentExpression: &pe},
		&Wildcard{}, &Subpath{Root: "/data"}, &Shlex{Allow: []string{"ls"}},
		defaultURLSafe(), &URLSafe{Schemes: []string{"https"}, AllowDomains: []string{"api.example.com"}, AllowPorts: []uint16{443},
			DenyDomains: []string{"x.example.com"}, BlockInternalTLDs: true},
	} {
		js, err := json.Marshal(ConstraintJSON(c))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConstraintJSON(js)
		if err != nil {
			t.Errorf("%s: %s does not read back: %v", c, js, err)
			continue
		}
		want, _ := appendConstraint(nil, c, 0)
		got, _ := appendConstraint(nil, back, 0)
		if string(got) != string(want) {
			t.Errorf("%s: %s reads back as %s", c, js, back)
		}
	}
}
