package authz

import "testing"

// BenchmarkConstraintMatch measures one matched value per constraint type,
// each constraint validated (compiled) once beforehand.
func BenchmarkConstraintMatch(b *testing.B) {
	lo, hi := 0.0, 100.0
	parent := "(amount < 1000)"
	cases := []struct {
		name string
		c    Constraint
		v    any
	}{
		{"Exact", &Exact{Value: "prod"}, "prod"},
		{"Pattern", &Pattern{Pattern: "/data/*/report-*.pdf"}, "/data/2026/report-q3.pdf"},
		{"Range", &Range{Min: &lo, Max: &hi}, int64(42)},
		{"OneOf", &OneOf{Values: []any{"a", "b", "c", "d"}}, "c"},
		{"NotOneOf", &NotOneOf{Excluded: []any{"x", "y"}}, "c"},
		{"Regex", &Regex{Pattern: `^[a-z]+-[0-9]{3}$`}, "deploy-123"},
		{"Cidr", &CIDR{Network: "10.0.0.0/8"}, "10.1.2.3"},
		{"UrlPattern", &URLPattern{Pattern: "https://*.example.com/api/*"}, "https://eu.example.com/api/v1/items"},
		{"Contains", &Contains{Required: []any{"read"}}, []any{"read", "write"}},
		{"Subset", &Subset{Allowed: []any{"read", "write", "list"}}, []any{"read", "list"}},
		{"All", &All{Constraints: []Constraint{&Pattern{Pattern: "/data/*"}, &Not{Constraint: &Pattern{Pattern: "*.key"}}}}, "/data/a.txt"},
		{"Any", &Any{Constraints: []Constraint{&Exact{Value: "a"}, &Pattern{Pattern: "b*"}}}, "bee"},
		{"Cel", &CEL{Expression: "amount < 1000 && currency == 'EUR'", ParentExpression: &parent}, map[string]any{"amount": int64(10), "currency": "EUR"}},
		{"Wildcard", &Wildcard{}, "anything"},
		{"Subpath", &Subpath{Root: "/data"}, "/data/reports/../q3.pdf"},
		{"UrlSafe", &URLSafe{Schemes: []string{"https"}}, "https://api.example.com/v1?q=1"},
		{"Shlex", &Shlex{Allow: []string{"ls", "cat", "grep"}}, `grep -n "a;b" /var/log/app.log`},
	}
	for _, c := range cases {
		if err := c.c.validate(); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		ec := &evalContext{now: azNow}
		if err := c.c.match(c.v, ec); err != nil {
			b.Fatalf("%s should match %v: %v", c.name, c.v, err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := c.c.match(c.v, ec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
