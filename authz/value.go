package authz

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Values are Go values of exactly these dynamic types: nil, bool, int64,
// float64, string, []any and map[string]any. Constraint values decoded from a
// warrant and call arguments canonicalised from JSON both use this model.

// valueEqual reports whether a and b are the same value, type-sensitively:
// the integer 1 and the float 1.0 differ, as in Tenuo's ConstraintValue.
func valueEqual(a, b any) bool {
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
		return ok && (x == y || (math.IsNaN(x) && math.IsNaN(y)))
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
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
			if !ok || !valueEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// valueIn reports whether v equals some element of set.
func valueIn(v any, set []any) bool {
	for _, s := range set {
		if valueEqual(v, s) {
			return true
		}
	}
	return false
}

// validValue reports whether v is made only of the value model's types.
func validValue(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return true
	case []any:
		for _, e := range x {
			if !validValue(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !validValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

// formatValue renders v for people: JSON-like, strings quoted, map keys sorted.
func formatValue(v any) string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func writeValue(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") { // keep 1.0 visibly a float
			s += ".0"
		}
		b.WriteString(s)
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(k))
			b.WriteString(": ")
			writeValue(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "<%T>", v)
	}
}

// typeName names v's type in messages ("string", "integer", …).
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func sortStrings(s []string) { sort.Strings(s) }
