package value

import (
	"fmt"
	"math"
)

// Values are Go values of exactly these dynamic types: nil, bool, int64,
// float64, string, []any and map[string]any. Arguments read by [Parse],
// fields extracted from them, and constraint values decoded from a warrant
// all use this model.

// Equal reports whether a and b are the same value, type-sensitively: the
// integer 1 and the float 1.0 differ, as in Tenuo's ConstraintValue, and so
// do the integer 1 and the string "1". NaN equals NaN (a constraint value
// must equal itself); -0.0 equals 0.0. Values outside the model are never
// equal to anything.
func Equal(a, b any) bool {
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
			if !Equal(x[i], y[i]) {
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
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// TypeName names v's type in messages, in Tenuo's words: "null", "boolean",
// "integer", "float", "string", "list", "object". A value outside the model
// is named by its Go type.
func TypeName(v any) string {
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
