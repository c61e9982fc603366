package authz

import (
	"errors"
	"strings"
	"testing"
)

func TestCompositeMatch(t *testing.T) {
	ex := func(v any) Constraint { return &Exact{Value: v} }
	cidr := &CIDR{Network: "10.0.0.0/8"}
	tests := []struct {
		name    string
		c       Constraint
		v       any
		ok      bool
		noMatch bool
	}{
		// An empty All is invalid: an evaluation error, so Not cannot invert it.
		{"All empty denies", &All{}, "anything", false, false},
		{"All empty denies nil", &All{Constraints: []Constraint{}}, nil, false, false},
		{"Not over empty All denies", &Not{Constraint: &All{}}, "anything", false, false},
		{"Not Not over empty All denies", &Not{Constraint: &Not{Constraint: &All{}}}, "anything", false, false},
		{"empty All nested in All denies", &All{Constraints: []Constraint{&Wildcard{}, &All{}}}, "x", false, false},
		{"empty All as an Any branch denies", &Any{Constraints: []Constraint{&All{}, ex("x")}}, "x", false, false},
		{"Not over empty Any allows", &Not{Constraint: &Any{}}, "x", true, false},
		{"All every clause", &All{Constraints: []Constraint{&Range{Min: ctF(0)}, &Range{Max: ctF(100)}}}, int64(50), true, false},
		{"All one fails", &All{Constraints: []Constraint{&Range{Min: ctF(0)}, &Range{Max: ctF(100)}}}, int64(150), false, true},
		// Tenuo stops at the first non-match: the CIDR is never evaluated.
		{"All stops at first non-match", &All{Constraints: []Constraint{ex("a"), cidr}}, "x", false, true},
		{"All error first", &All{Constraints: []Constraint{cidr, ex("a")}}, "x", false, false},
		{"Any empty fails", &Any{}, "x", false, true},
		{"Any one matches", &Any{Constraints: []Constraint{ex("admin"), ex("root")}}, "root", true, false},
		{"Any none", &Any{Constraints: []Constraint{ex("admin"), ex("root")}}, "user", false, true},
		{"Any match before error", &Any{Constraints: []Constraint{ex("a"), cidr}}, "a", true, false},
		{"Any error before match", &Any{Constraints: []Constraint{cidr, ex("a")}}, "a", false, false},
		{"Not inverts", &Not{Constraint: ex("blocked")}, "allowed", true, false},
		{"Not refuses", &Not{Constraint: ex("blocked")}, "blocked", false, true},
		// A wrong type is a plain non-match, as in Tenuo: Not(Exact(5)) matches "x".
		{"Not over wrong type", &Not{Constraint: ex(int64(5))}, "x", true, false},
		{"Not over Pattern with a number", &Not{Constraint: &Pattern{Pattern: "a*"}}, int64(5), true, false},
		{"Not propagates evaluation errors", &Not{Constraint: cidr}, "not-an-ip", false, false},
		{"Not over Cidr outside", &Not{Constraint: cidr}, "11.0.0.1", true, false},
		{"Not over Unknown denies", &Not{Constraint: &UnknownConstraint{TypeID: 99}}, "x", false, false},
		{"Not Not", &Not{Constraint: &Not{Constraint: ex("a")}}, "a", true, false},
		{"Not Not refuses", &Not{Constraint: &Not{Constraint: ex("a")}}, "b", false, true},
		{"Not missing inner", &Not{}, "x", false, false},
		{"Not of error inside Any", &Not{Constraint: &Any{Constraints: []Constraint{ex("q"), cidr}}}, "x", false, false},
		{"All with nil clause", &All{Constraints: []Constraint{nil}}, "x", false, false},
		{"Wildcard", &Wildcard{}, []any{map[string]any{}}, true, false},
		{"Wildcard outside model", &Wildcard{}, 5, true, false},
		{"Unknown", &UnknownConstraint{TypeID: 42}, "x", false, false},
		{"typed nil All", (*All)(nil), "x", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch)
		})
	}
	err := (&UnknownConstraint{TypeID: 42}).Match("x")
	if err == nil || !strings.Contains(err.Error(), "unknown constraint type 42: denied") {
		t.Errorf("Unknown message = %v", err)
	}
}

// ctNest wraps c in n levels of Not.
func ctNest(n int, c Constraint) Constraint {
	for range n {
		c = &Not{Constraint: c}
	}
	return c
}

func TestCompositeNesting(t *testing.T) {
	leaf := &Exact{Value: "a"}
	ok := ctNest(MaxConstraintNesting, leaf) // even count: matches "a"
	if err := ok.validate(); err != nil {
		t.Fatalf("depth %d: %v", MaxConstraintNesting, err)
	}
	if err := ok.Match("a"); err != nil {
		t.Errorf("depth %d: %v", MaxConstraintNesting, err)
	}
	deep := ctNest(MaxConstraintNesting+1, leaf)
	if err := deep.validate(); err == nil {
		t.Errorf("depth %d validated", MaxConstraintNesting+1)
	}
	deep = ctNest(MaxConstraintNesting+2, leaf)
	if err := deep.Match("a"); err == nil || isNoMatch(err) {
		t.Errorf("depth %d match = %v, want evaluation error", MaxConstraintNesting+2, err)
	}
	wide := &All{Constraints: []Constraint{leaf, &Any{Constraints: []Constraint{ctNest(MaxConstraintNesting, leaf)}}}}
	if err := wide.validate(); err == nil {
		t.Errorf("All(Any(Not^32)) has depth 34 and validated")
	}

	// Cyclic structures built by hand end with an error, never a stack overflow.
	cyc := &All{}
	cyc.Constraints = []Constraint{cyc}
	if err := cyc.validate(); err == nil {
		t.Error("cyclic All validated")
	}
	if err := cyc.Match("x"); err == nil || isNoMatch(err) {
		t.Errorf("cyclic All match = %v", err)
	}
	if err := checkNarrowing(cyc, cyc); err == nil {
		t.Error("cyclic All narrowed")
	}
	ncyc := &Not{}
	ncyc.Constraint = ncyc
	if err := ncyc.Match("x"); err == nil || isNoMatch(err) {
		t.Errorf("cyclic Not match = %v", err)
	}
	if err := checkNarrowing(ncyc, ncyc); err == nil {
		t.Error("cyclic Not narrowed")
	}
}

func TestNoMatchKinds(t *testing.T) {
	e := noMatch("x %d", 1)
	if !isNoMatch(e) || !errors.Is(e, errNoMatch) || e.Error() != "x 1" {
		t.Errorf("noMatch = %v", e)
	}
	if isNoMatch(nil) || isNoMatch(errors.New("boom")) {
		t.Error("plain errors are not non-matches")
	}
	wrapped := (&All{Constraints: []Constraint{&Exact{Value: "a"}}}).Match("b")
	if !isNoMatch(wrapped) {
		t.Errorf("All keeps the kind of its clause's failure: %v", wrapped)
	}
}

func TestCompositeValidate(t *testing.T) {
	bad := []Constraint{
		&All{Constraints: []Constraint{nil}},
		&Any{Constraints: []Constraint{&Pattern{Pattern: "a**"}}},
		&Not{},
		&Not{Constraint: &Regex{Pattern: "("}},
		&All{Constraints: []Constraint{&Any{Constraints: []Constraint{&CIDR{Network: "x"}}}}},
	}
	for _, c := range bad {
		if err := c.validate(); err == nil {
			t.Errorf("%s: validate succeeded", c)
		}
	}
	// validate compiles nested forms.
	p := &Pattern{Pattern: "a*"}
	c := &Not{Constraint: &All{Constraints: []Constraint{p}}}
	if err := c.validate(); err != nil || p.glob == nil {
		t.Errorf("nested Pattern not compiled: %v", err)
	}
}
