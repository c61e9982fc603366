package authz

import (
	"math"
	"strings"
	"testing"
)

// ctCheckMatch asserts c's verdict on v: a match, a plain non-match
// (noMatch), or an evaluation error. It also checks Match agrees with match.
func ctCheckMatch(t *testing.T, c Constraint, v any, ok, noMatch bool) {
	t.Helper()
	err := c.match(v, &evalContext{})
	switch {
	case ok && err != nil:
		t.Errorf("%s on %s: %v, want match", c, formatValue(v), err)
	case !ok && err == nil:
		t.Errorf("%s on %s matched, want refusal", c, formatValue(v))
	case !ok && isNoMatch(err) != noMatch:
		t.Errorf("%s on %s: %v; plain non-match = %v, want %v", c, formatValue(v), err, isNoMatch(err), noMatch)
	}
	if pub := c.Match(v); (pub == nil) != (err == nil) {
		t.Errorf("%s on %s: Match = %v, match = %v", c, formatValue(v), pub, err)
	}
}

func ctF(x float64) *float64 { return &x }

func TestExactMatch(t *testing.T) {
	tests := []struct {
		name    string
		want    any
		v       any
		ok      bool
		noMatch bool
	}{
		{"string", "x", "x", true, false},
		{"string differs", "x", "y", false, true},
		{"int", int64(5), int64(5), true, false},
		{"int is not float", int64(1), 1.0, false, true},
		{"float is not int", 1.0, int64(1), false, true},
		{"wrong type", int64(5), "5", false, true},
		{"bool", true, true, true, false},
		{"null", nil, nil, true, false},
		{"null vs string", nil, "", false, true},
		{"list", []any{"a", int64(1)}, []any{"a", int64(1)}, true, false},
		{"list order", []any{"a", "b"}, []any{"b", "a"}, false, true},
		{"map", map[string]any{"k": "v"}, map[string]any{"k": "v"}, true, false},
		{"nested", []any{map[string]any{"k": []any{nil}}}, []any{map[string]any{"k": []any{nil}}}, true, false},
		{"huge int", int64(math.MaxInt64), int64(math.MaxInt64), true, false},
		{"huge int vs float", int64(1 << 53), float64(1 << 53), false, true},
		{"NaN equals NaN in the value model", math.NaN(), math.NaN(), true, false},
		{"outside the model", int64(5), 5, false, false},
		{"outside the model nested", []any{"a"}, []any{struct{}{}}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, &Exact{Value: tt.want}, tt.v, tt.ok, tt.noMatch)
		})
	}
}

func TestOneOfNotOneOfMatch(t *testing.T) {
	set := []any{"a", int64(1), nil, []any{"x"}}
	tests := []struct {
		name string
		v    any
		in   bool
	}{
		{"string", "a", true},
		{"int", int64(1), true},
		{"float 1.0 is not int 1", 1.0, false},
		{"null", nil, true},
		{"list", []any{"x"}, true},
		{"other list", []any{"x", "y"}, false},
		{"other string", "b", false},
		{"bool", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, &OneOf{Values: set}, tt.v, tt.in, true)
			ctCheckMatch(t, &NotOneOf{Excluded: set}, tt.v, !tt.in, true)
		})
	}
	// A value outside the model is an evaluation error for both, so that
	// NotOneOf cannot allow what it cannot compare.
	ctCheckMatch(t, &OneOf{Values: set}, 1, false, false)
	ctCheckMatch(t, &NotOneOf{Excluded: set}, 1, false, false)
	ctCheckMatch(t, &OneOf{}, "a", false, true)
	ctCheckMatch(t, &NotOneOf{}, "a", true, false)
}

func TestRangeMatch(t *testing.T) {
	r := func(min, max *float64, minIncl, maxIncl bool) *Range {
		return &Range{Min: min, Max: max, MinExclusive: !minIncl, MaxExclusive: !maxIncl}
	}
	const two53 = 1 << 53
	tests := []struct {
		name    string
		c       *Range
		v       any
		ok      bool
		noMatch bool
	}{
		{"inside", r(ctF(0), ctF(100), true, true), int64(50), true, false},
		{"min inclusive", r(ctF(0), ctF(100), true, true), int64(0), true, false},
		{"max inclusive", r(ctF(0), ctF(100), true, true), int64(100), true, false},
		{"min exclusive", r(ctF(0), ctF(100), false, true), int64(0), false, true},
		{"max exclusive", r(ctF(0), ctF(100), true, false), 100.0, false, true},
		{"below", r(ctF(10), ctF(100), true, true), int64(5), false, true},
		{"above", r(ctF(10), ctF(100), true, true), 150.5, false, true},
		{"float inside", r(ctF(0), ctF(1), true, true), 0.5, true, false},
		{"open max", r(ctF(0), nil, true, false), int64(math.MaxInt64), true, false},
		{"open min", r(nil, ctF(0), false, true), int64(math.MinInt64), true, false},
		{"no bounds", r(nil, nil, false, false), -1e300, true, false},
		{"NaN never", r(nil, nil, false, false), math.NaN(), false, true},
		{"+Inf above finite max", r(nil, ctF(1e308), false, true), math.Inf(1), false, true},
		{"+Inf within infinite max", r(nil, ctF(math.Inf(1)), false, true), math.Inf(1), true, false},
		{"string", r(ctF(0), ctF(100), true, true), "50", false, true},
		{"bool", r(ctF(0), ctF(100), true, true), true, false, true},
		{"null", r(ctF(0), ctF(100), true, true), nil, false, true},
		{"list", r(ctF(0), ctF(100), true, true), []any{int64(1)}, false, true},
		{"outside the model", r(ctF(0), ctF(100), true, true), 50, false, false},
		// Integers beyond 2^53 are compared exactly and after Tenuo's
		// rounding; both must pass.
		{"2^53+1 above max 2^53 (Tenuo rounds it in)", r(nil, ctF(two53), false, true), int64(two53 + 1), false, true},
		{"2^53 at max 2^53", r(nil, ctF(two53), false, true), int64(two53), true, false},
		{"MaxInt64 below exclusive 2^63 (Tenuo rounds it onto the bound)", r(nil, ctF(0x1p63), false, false), int64(math.MaxInt64), false, true},
		{"MaxInt64 below inclusive 2^63", r(nil, ctF(0x1p63), false, true), int64(math.MaxInt64), true, false},
		{"MinInt64 at min -2^63", r(ctF(-0x1p63), nil, true, false), int64(math.MinInt64), true, false},
		{"fraction: 3 > 2.5", r(nil, ctF(2.5), false, true), int64(3), false, true},
		{"fraction: 2 < 2.5", r(nil, ctF(2.5), false, true), int64(2), true, false},
		{"negative fraction: -3 < -2.5", r(ctF(-2.5), nil, true, false), int64(-3), false, true},
		{"NaN bound (unvalidated) never matches", r(ctF(math.NaN()), nil, true, false), int64(1), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch)
		})
	}
}

func TestCmpIntFloat(t *testing.T) {
	tests := []struct {
		i    int64
		f    float64
		want int
		ok   bool
	}{
		{0, 0, 0, true},
		{0, math.Copysign(0, -1), 0, true},
		{1, 0.5, 1, true},
		{0, 0.5, -1, true},
		{-1, -0.5, -1, true},
		{math.MaxInt64, 0x1p63, -1, true},
		{math.MinInt64, -0x1p63, 0, true},
		{math.MinInt64, -0x1p64, 1, true},
		{1<<53 + 1, 1 << 53, 1, true},
		{5, math.Inf(1), -1, true},
		{5, math.Inf(-1), 1, true},
		{5, math.NaN(), 0, false},
	}
	for _, tt := range tests {
		got, ok := cmpIntFloat(tt.i, tt.f)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cmpIntFloat(%d, %v) = %d, %v; want %d, %v", tt.i, tt.f, got, ok, tt.want, tt.ok)
		}
	}
}

func TestScalarValidate(t *testing.T) {
	bad := []Constraint{
		&Range{Min: ctF(math.NaN()), MinExclusive: true, MaxExclusive: true},
		&Range{Max: ctF(math.NaN()), MinExclusive: true, MaxExclusive: true},
		&Exact{Value: 5},
		&OneOf{Values: []any{"a", 1}},
		&NotOneOf{Excluded: []any{struct{}{}}},
		&Contains{Required: []any{[]int{1}}},
		&Subset{Allowed: []any{map[string]int{}}},
	}
	for _, c := range bad {
		if err := c.validate(); err == nil {
			t.Errorf("%s: validate succeeded, want error", c)
		}
	}
	good := []Constraint{
		&Range{}, &Range{Min: ctF(math.Inf(-1)), Max: ctF(math.Inf(1)), MinExclusive: true, MaxExclusive: true}, &Range{Min: ctF(5), Max: ctF(1), MinExclusive: true, MaxExclusive: true},
		&Exact{}, &Exact{Value: []any{map[string]any{"a": nil}}}, &OneOf{}, &NotOneOf{Excluded: []any{}},
	}
	for _, c := range good {
		if err := c.validate(); err != nil {
			t.Errorf("%s: validate: %v", c, err)
		}
	}
}

func TestConstraintStrings(t *testing.T) {
	tests := []struct {
		c    Constraint
		want string
	}{
		{&Exact{Value: "x"}, `Exact("x")`},
		{&Exact{Value: 1.0}, `Exact(1.0)`},
		{&Pattern{Pattern: "/data/*"}, `Pattern("/data/*")`},
		{&Regex{Pattern: `^a\d$`}, `Regex("^a\\d$")`},
		{&Range{Min: ctF(0), Max: ctF(100)}, `Range(0 <= x <= 100)`},
		{&Range{Min: ctF(0.5), MinExclusive: true}, `Range(0.5 < x)`},
		{&Range{Max: ctF(1e21)}, `Range(x <= 1e+21)`},
		{&Range{}, `Range(any number)`},
		{&OneOf{Values: []any{"a", "b"}}, `OneOf(["a", "b"])`},
		{&NotOneOf{Excluded: []any{int64(1)}}, `NotOneOf([1])`},
		{&Contains{Required: []any{"admin"}}, `Contains(["admin"])`},
		{&Subset{Allowed: []any{}}, `Subset([])`},
		{&CIDR{Network: "10.0.0.0/8"}, `Cidr("10.0.0.0/8")`},
		{&All{Constraints: []Constraint{&Exact{Value: "a"}, &Wildcard{}}}, `All([Exact("a"), Wildcard])`},
		{&Any{}, `Any([])`},
		{&Not{Constraint: &Exact{Value: int64(5)}}, `Not(Exact(5))`},
		{&Not{}, `Not(<nil>)`},
		{&UnknownConstraint{TypeID: 200}, `Unknown(200)`},
		{(*Exact)(nil), `Exact(<nil>)`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
	// Messages name the value and the rule.
	err := (&Range{Max: ctF(100)}).Match(int64(150))
	if err == nil || !strings.Contains(err.Error(), "150") || !strings.Contains(err.Error(), "x <= 100") {
		t.Errorf("Range message = %v", err)
	}
}

func BenchmarkMatchRange(b *testing.B) {
	c := &Range{Min: ctF(0), Max: ctF(10000), MaxExclusive: true}
	ec := &evalContext{}
	vals := []any{int64(5000), 99.5, int64(20000), int64(1<<62 + 1)}
	b.ReportAllocs()
	for b.Loop() {
		for _, v := range vals[:2] {
			if c.match(v, ec) != nil {
				b.Fatal("unexpected refusal")
			}
		}
	}
}
