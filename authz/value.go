package authz

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
)

// Values are Go values of exactly these dynamic types: nil, bool, int64,
// float64, string, []any and map[string]any. Constraint values decoded from a
// warrant and call arguments canonicalised from JSON both use this model
// (internal/value, which reads arguments for toolmap too).

// valueEqual is [value.Equal]: type-sensitive, so the integer 1 and the
// float 1.0 differ, as in Tenuo's ConstraintValue.
func valueEqual(a, b any) bool { return value.Equal(a, b) }

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

// typeName is [value.TypeName]: v's type in messages ("string", "integer",
// "float", "list", …).
func typeName(v any) string { return value.TypeName(v) }

func sortStrings(s []string) { sort.Strings(s) }
