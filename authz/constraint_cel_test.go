package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// celTestNow is the fixed evaluation time of the CEL tests.
var celTestNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestCELMatch(t *testing.T) {
	hundred := make([]any, 100)
	for i := range hundred {
		hundred[i] = int64(i)
	}
	order := map[string]any{
		"amount":   int64(5000),
		"currency": "USD",
		"items":    []any{map[string]any{"sku": "a", "qty": int64(2)}, map[string]any{"sku": "b", "qty": int64(1)}},
		"note":     nil,
	}
	tests := []struct {
		name    string
		expr    string
		value   any
		wantErr string // "" means allowed
	}{
		// Results.
		{"int compare true", "value < 10000", int64(5000), ""},
		{"int compare false", "value < 10000", int64(50000), "is false for 50000"},
		{"string method", "value.startsWith('staging')", "staging-web", ""},
		{"string method false", "value.startsWith('prod')", "staging-web", "is false"},
		{"list membership", "'admin' in value", []any{"admin", "user"}, ""},
		{"list membership false", "'root' in value", []any{"admin", "user"}, "is false"},
		{"boolean logic", "value > 5000 && value < 10000", int64(7500), ""},
		{"null", "value == null", nil, ""},
		{"bool", "value", true, ""},
		{"bool false", "value", false, "is false"},
		{"float", "value > 1.5", 2.0, ""},
		{"float against int literal", "value > 1", 2.5, ""},
		{"int against float literal", "value < 1.5", int64(1), ""},
		{"size", "size(value) <= 3", "abc", ""},
		{"regex", "value.matches('^[a-z]+-[0-9]+$')", "web-12", ""},
		{"list of maps", "value[0].k == 'v'", []any{map[string]any{"k": "v"}}, ""},
		// Binding: an object's fields are variables; anything else is `value`.
		{"object fields", "amount < 10000 && currency == 'USD'", order, ""},
		{"object nested", "items.size() == 2 && items[0].sku == 'a' && items.all(i, i.qty > 0)", order, ""},
		{"object null field", "note == null", order, ""},
		{"object has", "has(order.amount)", map[string]any{"order": map[string]any{"amount": int64(1)}}, ""},
		{"object from spec", "amount < 10000 || (amount < 100000 && approver != '')",
			map[string]any{"amount": int64(75000), "approver": "cfo@company.com"}, ""},
		{"object exposes no value", "value > 1", map[string]any{"amount": int64(1)}, "no such attribute"},
		{"object field named value", "value > 1", map[string]any{"value": int64(2)}, ""},
		{"scalar exposes no fields", "amount > 1", int64(5), "no such attribute"},
		{"missing field", "missing == 1", order, "no such attribute"},
		{"dotted key is not a variable", "a.b", map[string]any{"a.b": true}, "no such attribute"},
		{"dotted key beside object", "a.b", map[string]any{"a.b": false, "a": map[string]any{"b": true}}, ""},
		{"hidden clock is not a field", "time_since('2025-06-01T11:00:00Z') == 3600",
			map[string]any{"@tenuo_now": "2000-01-01T00:00:00Z"}, ""},
		{"clock inside a comprehension", "items.all(i, !time_is_expired(i))",
			map[string]any{"items": []any{"2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"}}, ""},
		// Failures deny.
		{"non-bool result", "value + 1", int64(1), "must return a boolean, got int"},
		{"string result", "'yes'", int64(1), "must return a boolean, got string"},
		{"division by zero", "value / 0 == 1", int64(1), "division by zero"},
		{"type mismatch", "value < 'a'", int64(1), "failed on 1"},
		{"cost limit", "value.all(x, value.all(y, value.all(z, z >= 0)))", hundred, "cost limit exceeded"},
		{"unknown function", "frobnicate(value)", int64(1), "failed on 1"},
		{"time_now takes one argument", "time_now(1, 2) != ''", int64(1), "failed on 1"},
		{"unsupported Go type", "true", 3, "unsupported value type int"},
		{"unsupported nested type", "true", map[string]any{"x": []string{"a"}}, "unsupported value type []string"},
		{"invalid utf-8", "true", "\xff", "not valid UTF-8"},
		// time_now: chrono's to_rfc3339 form of the evaluation time.
		{"time_now", "time_now(0) == '2025-06-01T12:00:00+00:00'", int64(0), ""},
		{"time_now ignores its argument", "time_now(value) == time_now(null)", "x", ""},
		// time_is_expired.
		{"expired", "time_is_expired(value)", "2025-06-01T11:59:59Z", ""},
		{"not expired", "time_is_expired(value)", "2025-06-01T12:00:01Z", "is false"},
		{"not expired, negated", "!time_is_expired(value)", "2025-06-01T12:00:01Z", ""},
		{"expired at now is false", "time_is_expired(value)", "2025-06-01T12:00:00Z", "is false"},
		{"expired with offset", "time_is_expired(value)", "2025-06-01T13:59:59+02:00", ""},
		{"expired lowercase", "time_is_expired(value)", "2025-06-01t11:59:59z", ""},
		{"expired space separator", "time_is_expired(value)", "2025-06-01 11:59:59Z", ""},
		{"expired fraction", "time_is_expired(value)", "2025-06-01T11:59:59.999999999Z", ""},
		{"expired object field", "!time_is_expired(deadline)", map[string]any{"deadline": "2030-01-01T00:00:00Z"}, ""},
		{"expired garbage", "!time_is_expired(value)", "tomorrow", `"tomorrow" is not an RFC 3339 timestamp`},
		{"expired not a string", "!time_is_expired(value)", int64(5), "want an RFC 3339 timestamp string, got int"},
		// time_since.
		{"since", "time_since(value) == 3600", "2025-06-01T11:00:00Z", ""},
		{"since future is negative", "time_since(value) == -60", "2025-06-01T12:01:00Z", ""},
		{"since truncates", "time_since(value) == 1", "2025-06-01T11:59:58.5Z", ""},
		{"since truncates toward zero", "time_since(value) == -1", "2025-06-01T12:00:01.5Z", ""},
		{"since far past", "time_since(value) == 63884376000", "0001-01-01T00:00:00Z", ""},
		{"since garbage", "time_since(value) < 3600", "", "is not an RFC 3339 timestamp"},
		// net_in_cidr.
		{"in cidr", "net_in_cidr(value, '10.0.0.0/8')", "10.1.2.3", ""},
		{"not in cidr", "net_in_cidr(value, '10.0.0.0/8')", "11.0.0.1", "is false"},
		{"in cidr host bits", "net_in_cidr(value, '10.1.2.3/8')", "10.200.0.1", ""},
		{"in cidr netmask", "net_in_cidr(value, '192.168.0.0/255.255.0.0')", "192.168.9.9", ""},
		{"in cidr bare address", "net_in_cidr(value, '10.0.0.1')", "10.0.0.1", ""},
		{"in cidr bare address other", "net_in_cidr(value, '10.0.0.1')", "10.0.0.2", "is false"},
		{"in cidr v6", "net_in_cidr(value, '2001:db8::/32')", "2001:db8::1", ""},
		{"v6 address, v4 block", "net_in_cidr(value, '10.0.0.0/8')", "2001:db8::1", "is false"},
		{"mapped address refused", "!net_in_cidr(value, '10.0.0.0/8')", "::ffff:10.0.0.1", "IPv4-mapped"},
		{"zone refused", "net_in_cidr(value, 'fe80::/10')", "fe80::1%eth0", "is not an IP address"},
		{"leading zeros refused", "!net_in_cidr(value, '10.0.0.0/8')", "010.0.0.1", "is not an IP address"},
		{"cidr garbage ip", "!net_in_cidr(value, '10.0.0.0/8')", "localhost", `"localhost" is not an IP address`},
		{"cidr bad block", "net_in_cidr(value, '10.0.0.0/33')", "10.0.0.1", "is not a CIDR block"},
		{"cidr non-contiguous mask", "net_in_cidr(value, '10.0.0.0/255.0.255.0')", "10.0.0.1", "is not a CIDR block"},
		{"cidr not a string", "net_in_cidr(value, 8)", "10.0.0.1", "want a CIDR string"},
		{"cidr ip not a string", "net_in_cidr(value, '10.0.0.0/8')", int64(1), "want an IP address string"},
		// net_is_private.
		{"private 10", "net_is_private(value)", "10.0.0.1", ""},
		{"private 172.16", "net_is_private(value)", "172.16.0.1", ""},
		{"private 172.31", "net_is_private(value)", "172.31.255.255", ""},
		{"public 172.32", "net_is_private(value)", "172.32.0.1", "is false"},
		{"private 192.168", "net_is_private(value)", "192.168.1.1", ""},
		{"loopback is not private", "net_is_private(value)", "127.0.0.1", "is false"},
		{"public", "!net_is_private(value)", "8.8.8.8", ""},
		{"unique local v6", "net_is_private(value)", "fd00::1", ""},
		{"link local v6 is not private", "net_is_private(value)", "fe80::1", "is false"},
		{"private garbage", "!net_is_private(value)", "metadata.internal", "is not an IP address"},
		{"private mapped", "!net_is_private(value)", "::ffff:192.168.0.1", "IPv4-mapped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &CEL{Expression: tt.expr}
			if err := c.validate(); err != nil {
				t.Fatalf("validate(%q): %v", tt.expr, err)
			}
			err := c.match(tt.value, &evalContext{now: celTestNow})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("match(%s) = %v, want allowed", formatValue(tt.value), err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("match(%s) allowed, want error containing %q", formatValue(tt.value), tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("match(%s) = %q, want it to contain %q", formatValue(tt.value), err, tt.wantErr)
			}
		})
	}
}

func TestCELTimeNowFormat(t *testing.T) {
	tests := []struct {
		now  time.Time
		want string
	}{
		{celTestNow, "2025-06-01T12:00:00+00:00"},
		{celTestNow.Add(123 * time.Millisecond), "2025-06-01T12:00:00.123+00:00"},
		{celTestNow.Add(123456 * time.Microsecond), "2025-06-01T12:00:00.123456+00:00"},
		{celTestNow.Add(1), "2025-06-01T12:00:00.000000001+00:00"},
		{celTestNow.Add(100 * time.Millisecond), "2025-06-01T12:00:00.100+00:00"},
		{time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "2025-06-01T12:00:00+00:00"},
	}
	c := &CEL{Expression: "time_now(0)"}
	for _, tt := range tests {
		eq := &CEL{Expression: "time_now(0) == " + strconv.Quote(tt.want)}
		if err := eq.match(int64(0), &evalContext{now: tt.now}); err != nil {
			t.Errorf("at %v: %v", tt.now, err)
		}
		if got := formatChronoRFC3339(tt.now); got != tt.want {
			t.Errorf("formatChronoRFC3339(%v) = %q, want %q", tt.now, got, tt.want)
		}
	}
	// The clock comes from the evaluation context, not from the wall.
	past := &CEL{Expression: "time_is_expired('2000-01-01T00:00:00Z')"}
	if err := past.match(nil, &evalContext{now: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("time_is_expired used the wall clock instead of the evaluation time")
	}
	if err := c.match(int64(0), &evalContext{}); err == nil || !strings.Contains(err.Error(), "must return a boolean") {
		t.Errorf("zero clock: %v", err)
	}
}

func TestCELValidate(t *testing.T) {
	long := strings.Repeat("1 + ", maxCELExpressionBytes/4) + "1 == 2"
	parentTooLong := strings.Repeat("x", maxCELExpressionBytes+1)
	tests := []struct {
		name    string
		c       *CEL
		wantErr string
	}{
		{"valid", &CEL{Expression: "value < 10"}, ""},
		{"valid with parent", &CEL{Expression: "(value < 10) && (value > 0)", ParentExpression: ptr("value < 10")}, ""},
		{"syntax error", &CEL{Expression: "this is not valid CEL !!!"}, "invalid Cel expression"},
		{"unbalanced", &CEL{Expression: "(value < 10"}, "invalid Cel expression"},
		{"empty", &CEL{Expression: ""}, "Cel expression is empty"},
		{"blank", &CEL{Expression: " \n\t"}, "Cel expression is empty"},
		{"too long", &CEL{Expression: long}, "more than 16384"},
		{"invalid utf-8", &CEL{Expression: "'\xff' == value"}, "not valid UTF-8"},
		{"parent too long", &CEL{Expression: "true", ParentExpression: &parentTooLong}, "parent_expression is"},
		{"unknown function without arguments", &CEL{Expression: "time_now() != ''"}, "no such overload"},
		{"deep nesting", &CEL{Expression: strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + " == 1"}, "invalid Cel expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("validate: %v", err)
			case tt.wantErr == "" && tt.c.prog == nil:
				t.Fatal("validate did not store the program")
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCELWithoutValidate(t *testing.T) {
	// A hand-built constraint compiles on use and is not modified.
	c := &CEL{Expression: "value == 'late'"}
	if err := c.Match("late"); err != nil {
		t.Fatal(err)
	}
	if c.prog != nil {
		t.Error("match stored a program in the receiver")
	}
	bad := &CEL{Expression: "value =="}
	if err := bad.Match("x"); err == nil || !strings.Contains(err.Error(), "invalid Cel expression") {
		t.Errorf("invalid expression matched: %v", err)
	}
	// A program compiled for another expression is not used.
	c.prog, _ = compileCEL("true")
	if err := c.match("other", &evalContext{now: celTestNow}); err == nil {
		t.Error("a stale program was evaluated")
	}
}

func TestCELString(t *testing.T) {
	c := &CEL{Expression: `amount < 10 && name == "x"`}
	if got, want := c.String(), `Cel("amount < 10 && name == \"x\"")`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if c.Type() != TypeCEL {
		t.Errorf("Type() = %v", c.Type())
	}
}

func TestCELCache(t *testing.T) {
	p1, err := compileCEL("value == 100")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := compileCEL("value == 100")
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("the same expression compiled twice")
	}

	c := newCELCache(3)
	for i := range 5 {
		c.put(fmt.Sprint(i), &celProgram{expr: fmt.Sprint(i)})
		if i == 2 {
			c.get("0") // 0 becomes most recently used; 1 is evicted next
		}
	}
	if n := c.len(); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
	for expr, want := range map[string]bool{"0": true, "1": false, "2": false, "3": true, "4": true} {
		if got := c.get(expr) != nil; got != want {
			t.Errorf("cached %q = %v, want %v", expr, got, want)
		}
	}

	// Concurrent use is safe and never exceeds the bound.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := fmt.Sprint((g*7 + i) % 11)
				if c.get(k) == nil {
					c.put(k, &celProgram{expr: k})
				}
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n > 3 {
		t.Errorf("cache grew to %d entries", n)
	}
}

func TestCELConcurrentMatch(t *testing.T) {
	c := &CEL{Expression: "amount < 10000 && time_since(created) < 60"}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				v := map[string]any{"amount": int64(g*5000 + i), "created": "2025-06-01T11:59:30Z"}
				err := c.match(v, &evalContext{now: celTestNow})
				if want := g*5000+i < 10000; (err == nil) != want {
					t.Errorf("amount %d: %v", g*5000+i, err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestCELNarrowing(t *testing.T) {
	tests := []struct {
		name    string
		parent  string
		child   Constraint
		wantErr string // "" means the child narrows the parent
	}{
		{"identical", "amount < 100", &CEL{Expression: "amount < 100"}, ""},
		{"whitespace differs", "amount < 100", &CEL{Expression: " amount<100\n"}, ""},
		{"conjunction", "amount < 100", &CEL{Expression: "(amount < 100) && (currency == 'USD')"}, ""},
		{"conjunction tight", "amount < 100", &CEL{Expression: "(amount<100)&&(currency=='USD')"}, ""},
		{"conjunction spaced", "amount < 100", &CEL{Expression: "( amount < 100 ) &&\n ( currency == 'USD' )"}, ""},
		{"conjunction of a conjunction", "a && b", &CEL{Expression: "(a && b) && (c || d)"}, ""},
		{"grandchild", "(a) && (b)", &CEL{Expression: "((a) && (b)) && (c)"}, ""},
		{"predicate holds &&", "a", &CEL{Expression: "(a) && (b && c)"}, ""},
		{"with time macro", "time_since(created) < 60", &CEL{Expression: "(time_since(created) < 60) && (amount > 0)"}, ""},
		{"parent expression is informational", "a", &CEL{Expression: "(a) && (b)", ParentExpression: ptr("something else")}, ""},
		{"different expression", "amount < 100", &CEL{Expression: "amount < 50"}, "is neither parent"},
		{"parent not parenthesised", "amount < 100", &CEL{Expression: "amount < 100 && currency == 'USD'"}, "is neither parent"},
		{"predicate not parenthesised", "amount < 100", &CEL{Expression: "(amount < 100) && currency == 'USD'"}, "one parenthesised group"},
		{"precedence bypass", "a", &CEL{Expression: "(a) && (b) || (true)"}, "one parenthesised group"},
		{"unparenthesised or", "a", &CEL{Expression: "(a) && b || true"}, "one parenthesised group"},
		{"disjunction", "a", &CEL{Expression: "(a) || (true)"}, "is neither parent"},
		{"empty predicate", "a", &CEL{Expression: "(a) && ()"}, "invalid Cel expression"},
		// Tenuo's textual rule accepts these; the syntax trees show they widen.
		{"parens inside strings", `x == "a"`, &CEL{Expression: `(x == "a") && (y == "(") || (z == ")")`}, "does not parse as"},
		{"whitespace inside a string", `name != "root user"`, &CEL{Expression: `name != "rootuser"`}, "inside a literal"},
		{"whitespace inside a string, conjunction", `name != "root user"`, &CEL{Expression: `(name != "rootuser") && (true)`}, "does not parse as"},
		// General rules.
		{"exact accepted", "value < 100", &Exact{Value: int64(5)}, ""},
		{"exact refused", "value < 100", &Exact{Value: int64(500)}, "is not allowed by parent"},
		{"wildcard", "value < 100", &Wildcard{}, "would expand permissions"},
		{"other type", "value < 100", &Range{}, "incompatible constraint types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := &CEL{Expression: tt.parent}
			if err := parent.validate(); err != nil {
				t.Fatalf("parent: %v", err)
			}
			if ch, ok := tt.child.(*CEL); ok && tt.wantErr == "" {
				if err := ch.validate(); err != nil {
					t.Fatalf("child: %v", err)
				}
			}
			err := checkNarrowing(parent, tt.child)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("narrowing %s to %s: %v", parent, tt.child, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("narrowing %s to %s accepted, want %q", parent, tt.child, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("narrowing %s to %s: %q, want %q", parent, tt.child, err, tt.wantErr)
			}
		})
	}
}

func TestCELWrapped(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"(x>0)", true},
		{"((x>0))", true},
		{"(x>0)&&(y<10)", false},
		{"(x>0)||(y<10)", false},
		{"x>0", false},
		{"(x>0", false},
		{"x>0)", false},
		{"()", true},
		{"(a))(", false},
	}
	for _, tt := range tests {
		if got := celWrapped(tt.in); got != tt.want {
			t.Errorf("celWrapped(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// jsonValue decodes JSON text into the value model, as call arguments are.
func jsonValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	var conv func(any) any
	conv = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if i, err := x.Int64(); err == nil {
				return i
			}
			f, _ := x.Float64()
			return f
		case []any:
			for i := range x {
				x[i] = conv(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = conv(x[k])
			}
		}
		return v
	}
	return conv(raw), nil
}

// FuzzCELInput binds arbitrary JSON values to fixed expressions: evaluation
// never panics and only a boolean true allows.
func FuzzCELInput(f *testing.F) {
	for _, s := range []string{
		`{"amount": 5000, "currency": "USD"}`, `{"amount": 1e300, "currency": null}`, `5`, `"10.0.0.1"`,
		`"2025-06-01T11:00:00Z"`, `[1, 2, [3, {"a": "b"}]]`, `{"items": [{"sku": "a"}], "deadline": "garbage"}`,
		`{"ip": "::ffff:10.0.0.1", "created": "2025-06-01t11:59:59z"}`, `null`, `true`, `-0.0`, `"\u0000"`,
	} {
		f.Add([]byte(s))
	}
	exprs := []*CEL{
		{Expression: "amount < 10000 && currency == 'USD'"},
		{Expression: "value > 3 || size(value) > 2"},
		{Expression: "!time_is_expired(deadline) && time_since(created) < 3600"},
		{Expression: "net_in_cidr(ip, '10.0.0.0/8') || !net_is_private(value)"},
		{Expression: "items.all(i, i.sku.startsWith('a')) && time_now(value) != ''"},
		{Expression: "value"},
	}
	for _, c := range exprs {
		if err := c.validate(); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inputs := []any{string(data)}
		if v, err := jsonValue(data); err == nil {
			inputs = append(inputs, v)
		}
		for _, v := range inputs {
			for _, c := range exprs {
				err := c.match(v, &evalContext{now: celTestNow})
				if err == nil && c.Expression == "value" && v != true {
					t.Fatalf("%s allowed %s", c, formatValue(v))
				}
				// Panics are recovered into errors; none may happen.
				if err != nil && strings.Contains(err.Error(), "internal error") {
					t.Fatalf("%s on %s: %v", c, formatValue(v), err)
				}
			}
		}
	})
}

func BenchmarkMatchCELCached(b *testing.B) {
	c := &CEL{Expression: "amount < 10000 && currency == 'USD'"}
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	v := map[string]any{"amount": int64(5000), "currency": "USD"}
	ec := &evalContext{now: celTestNow}
	b.Run("validated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.match(v, ec); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A constraint built by hand finds its program in the cache.
	hand := &CEL{Expression: c.Expression}
	b.Run("cache lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := hand.match(v, ec); err != nil {
				b.Fatal(err)
			}
		}
	})
}
