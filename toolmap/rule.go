package toolmap

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
)

// source is where a rule's value comes from (`from:` in the configuration).
type source uint8

const (
	srcBody    source = iota + 1 // the MCP arguments, or an HTTP JSON body
	srcPath                      // an HTTP route's path parameter
	srcQuery                     // an HTTP query parameter
	srcHeader                    // an HTTP header
	srcLiteral                   // the rule's default, always
)

var sourceNames = map[string]source{
	"body":    srcBody,
	"path":    srcPath,
	"query":   srcQuery,
	"header":  srcHeader,
	"literal": srcLiteral,
}

func (s source) String() string {
	for name, v := range sourceNames {
		if v == s {
			return name
		}
	}
	return "unknown"
}

// valueType is a rule's declared `type`.
type valueType uint8

const (
	typeAny valueType = iota // not declared
	typeString
	typeInteger
	typeNumber // integer or float
	typeBoolean
	typeArray
	typeObject
)

// typeNames lists the accepted spellings; "float" and "list" are Tenuo's
// names for number and array.
var typeNames = map[string]valueType{
	"string":  typeString,
	"integer": typeInteger,
	"number":  typeNumber,
	"float":   typeNumber,
	"boolean": typeBoolean,
	"array":   typeArray,
	"list":    typeArray,
	"object":  typeObject,
}

func (t valueType) String() string {
	switch t {
	case typeString:
		return "string"
	case typeInteger:
		return "integer"
	case typeNumber:
		return "number"
	case typeBoolean:
		return "boolean"
	case typeArray:
		return "array"
	case typeObject:
		return "object"
	}
	return "any"
}

// accepts reports whether v has type t. There is no coercion: the string "5"
// is not an integer. The one widening is integer → number.
func (t valueType) accepts(v any) bool {
	switch v.(type) {
	case string:
		return t == typeString
	case int64:
		return t == typeInteger || t == typeNumber
	case float64:
		return t == typeNumber
	case bool:
		return t == typeBoolean
	case []any:
		return t == typeArray
	case map[string]any:
		return t == typeObject
	}
	return false
}

// rule extracts one constraint field.
type rule struct {
	field    string
	from     source
	path     string    // as written: a body path, a header, query or path-parameter name
	segs     []segment // srcBody: the compiled path
	wildcard bool      // srcBody: the path contains "*"; type and allowed_values apply per element
	required bool
	def      any // the default (or the literal), already checked against typ and allowed
	hasDef   bool
	typ      valueType
	allowed  []any // nil: any value
	line     int   // where the rule is, for CheckMCP
	column   int
}

// where says where the rule looks, for messages.
func (r *rule) where() string {
	switch r.from {
	case srcBody:
		return fmt.Sprintf("body path %q", r.path)
	case srcPath:
		return fmt.Sprintf("path parameter %q", r.path)
	case srcQuery:
		return fmt.Sprintf("query parameter %q", r.path)
	case srcHeader:
		return fmt.Sprintf("header %q", r.path)
	}
	return "literal"
}

// check enforces the declared type and allowed values on a value found (or
// a default). For a wildcard path they apply to each element of the list.
func (r *rule) check(v any) error {
	if !r.wildcard {
		return r.checkOne(v)
	}
	a, ok := v.([]any)
	if !ok {
		return fmt.Errorf("got %s, want an array (the path has a wildcard)", value.TypeName(v))
	}
	for i, e := range a {
		if err := r.checkOne(e); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

func (r *rule) checkOne(v any) error {
	if r.typ != typeAny && !r.typ.accepts(v) {
		// The value itself is not named: it may be a secret, and errors
		// reach logs (the audit line carries arguments only when asked).
		return fmt.Errorf("got %s, want %s", value.TypeName(v), r.typ)
	}
	if r.allowed != nil {
		for _, a := range r.allowed {
			// Type-sensitive, as the warrant's Exact is: the integer 1 and
			// the string "1" differ. Integral floats were already turned
			// into integers on both sides.
			if value.Equal(v, a) {
				return nil
			}
		}
		return fmt.Errorf("the %s given is not one of the allowed values %s", value.TypeName(v), describeList(r.allowed))
	}
	return nil
}

func describeList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = describe(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// input is what rules read from: the MCP arguments, or an HTTP request.
type input struct {
	mcp     bool
	body    any      // parsed body or arguments
	hasBody bool     // false: an HTTP request without a body; every body path is missing
	segs    []patSeg // the route's pattern: its parameters' names
	parts   []string // the path's segments, as segs
	query   url.Values
	header  http.Header
}

// lookup finds the rule's value in in.
func (r *rule) lookup(in *input) (any, bool, error) {
	if in.mcp && r.from != srcBody && r.from != srcLiteral {
		return nil, false, fmt.Errorf("comes from the %s, which an MCP call does not carry", r.from)
	}
	switch r.from {
	case srcBody:
		if !in.hasBody {
			return nil, false, nil
		}
		return extract(in.body, r.segs)
	case srcLiteral:
		return deepCopy(r.def), true, nil
	case srcPath:
		for i, s := range in.segs { // a pattern names each parameter once
			if s.param == r.path && i < len(in.parts) {
				return in.parts[i], true, nil
			}
		}
		return nil, false, nil
	case srcQuery:
		if k, found := lookalikeQueryKey(in.query, r.path); found {
			return nil, false, &lookalikeKeyError{key: k, name: r.path, where: "query key"}
		}
		vs, ok := in.query[r.path]
		return single(vs, ok)
	case srcHeader:
		var vs []string
		for k, v := range in.header {
			// Match any spelling: proxies such as Envoy's ext_authz hand
			// over lower-case names that http.Header.Values would miss.
			if strings.EqualFold(k, r.path) {
				vs = append(vs, v...)
			}
		}
		return single(vs, len(vs) > 0)
	}
	return nil, false, fmt.Errorf("unknown source")
}

// single takes the one value of a query parameter or header. Several values
// are refused rather than choosing one: the backend may read another.
func single(vs []string, ok bool) (any, bool, error) {
	switch {
	case !ok || len(vs) == 0:
		return nil, false, nil
	case len(vs) > 1:
		return nil, false, fmt.Errorf("has %d values; exactly one is accepted", len(vs))
	}
	return vs[0], true, nil
}

// applyRules extracts every rule's field, in the rules' order (sorted by
// field name, so the first error reported is stable).
func applyRules(tool string, rules []*rule, in *input) (map[string]any, error) {
	fields := make(map[string]any, len(rules))
	for _, r := range rules {
		v, found, err := r.lookup(in)
		if err != nil {
			if look := (*lookalikeKeyError)(nil); errors.As(err, &look) { // the arguments are ambiguous, not the field wrong
				return nil, fmt.Errorf("%w: tool %q field %q (%s): %w: %v", ErrArguments, tool, r.field, r.where(), ErrAmbiguousKey, err)
			}
			return nil, fmt.Errorf("%w: tool %q field %q (%s): %v", ErrField, tool, r.field, r.where(), err)
		}
		if !found {
			switch {
			case r.required:
				return nil, fmt.Errorf("%w: tool %q: required field %q is missing (%s)", ErrField, tool, r.field, r.where())
			case r.hasDef:
				fields[r.field] = deepCopy(r.def) // checked at load
			}
			continue
		}
		if err := r.check(v); err != nil {
			return nil, fmt.Errorf("%w: tool %q field %q (%s): %v", ErrField, tool, r.field, r.where(), err)
		}
		fields[r.field] = v
	}
	return fields, nil
}
