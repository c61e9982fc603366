package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ConstraintJSON returns c in its JSON form: an object naming the type and
// its fields as in WIRE.md §4, e.g. {"type":"subpath","root":"/data",
// "case_sensitive":true,"allow_equal":false}. [ParseConstraintJSON] reads it
// back.
func ConstraintJSON(c Constraint) map[string]any {
	switch x := c.(type) {
	case *Exact:
		return map[string]any{"type": "exact", "value": x.Value}
	case *Pattern:
		return map[string]any{"type": "pattern", "pattern": x.Pattern}
	case *Range:
		return map[string]any{"type": "range", "min": floatOrNil(x.Min), "max": floatOrNil(x.Max),
			"min_inclusive": !x.MinExclusive, "max_inclusive": !x.MaxExclusive}
	case *OneOf:
		return map[string]any{"type": "one_of", "values": nonNil(x.Values)}
	case *Regex:
		return map[string]any{"type": "regex", "pattern": x.Pattern}
	case *NotOneOf:
		return map[string]any{"type": "not_one_of", "excluded": nonNil(x.Excluded)}
	case *CIDR:
		return map[string]any{"type": "cidr", "network": x.Network}
	case *URLPattern:
		return map[string]any{"type": "url_pattern", "pattern": x.Pattern}
	case *Contains:
		return map[string]any{"type": "contains", "required": nonNil(x.Required)}
	case *Subset:
		return map[string]any{"type": "subset", "allowed": nonNil(x.Allowed)}
	case *All:
		return map[string]any{"type": "all", "constraints": constraintsJSON(x.Constraints)}
	case *Any:
		return map[string]any{"type": "any", "constraints": constraintsJSON(x.Constraints)}
	case *Not:
		return map[string]any{"type": "not", "constraint": ConstraintJSON(x.Constraint)}
	case *CEL:
		m := map[string]any{"type": "cel", "expression": x.Expression}
		if x.ParentExpression != nil {
			m["parent_expression"] = *x.ParentExpression
		}
		return m
	case *Wildcard:
		return map[string]any{"type": "wildcard"}
	case *Subpath:
		return map[string]any{"type": "subpath", "root": x.Root, "case_sensitive": !x.CaseInsensitive, "allow_equal": !x.ExcludeRoot}
	case *URLSafe:
		ports := []any(nil)
		if x.AllowPorts != nil {
			ports = []any{}
			for _, p := range x.AllowPorts {
				ports = append(ports, int64(p))
			}
		}
		return map[string]any{"type": "url_safe", "schemes": append([]string(nil), x.schemes()...), "allow_domains": x.AllowDomains,
			"deny_domains": x.DenyDomains, "allow_ports": ports, "block_private": !x.AllowPrivate,
			"block_loopback": !x.AllowLoopback, "block_metadata": !x.AllowMetadata,
			"block_reserved": !x.AllowReserved, "block_internal_tlds": x.BlockInternalTLDs}
	case *Shlex:
		return map[string]any{"type": "shlex", "allow": x.Allow}
	case *UnknownConstraint:
		return map[string]any{"type": "unknown", "type_id": int64(x.TypeID), "cbor_hex": fmt.Sprintf("%x", x.Raw)}
	}
	return map[string]any{"type": "invalid"}
}

func constraintsJSON(cs []Constraint) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, ConstraintJSON(c))
	}
	return out
}

func floatOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}

// ParseConstraintJSON reads a constraint from its JSON form (see
// [ConstraintJSON]). Type names are case-insensitive and may omit
// underscores ("oneof", "one_of"). Unknown fields are errors.
func ParseConstraintJSON(data []byte) (Constraint, error) {
	v, err := decodeJSONValue(data)
	if err != nil {
		return nil, err
	}
	c, err := constraintFromJSON(v, 0)
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid JSON: trailing data after the value")
	}
	return jsonToValue(v)
}

// jsonToValue converts encoding/json output (with UseNumber) to the value
// model: integral literals become int64, others float64.
func jsonToValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s is out of range", x)
		}
		return f, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = jsonToValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = jsonToValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported JSON value %T", v)
}

func constraintFromJSON(v any, depth int) (Constraint, error) {
	if depth > MaxConstraintNesting {
		return nil, fmt.Errorf("constraints nested deeper than %d", MaxConstraintNesting)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a constraint must be a JSON object with a \"type\", got %s", typeName(v))
	}
	typ, _ := m["type"].(string)
	f := jsonFields{m: m, used: map[string]bool{"type": true}}
	var c Constraint
	var err error
	switch strings.ReplaceAll(strings.ToLower(typ), "_", "") {
	case "exact":
		c = &Exact{Value: f.any("value")}
	case "pattern":
		c = &Pattern{Pattern: f.str("pattern")}
	case "range":
		c = &Range{Min: f.optFloat("min"), Max: f.optFloat("max"),
			MinExclusive: !f.boolOr("min_inclusive", true), MaxExclusive: !f.boolOr("max_inclusive", true)}
	case "oneof":
		c = &OneOf{Values: f.list("values")}
	case "regex":
		c = &Regex{Pattern: f.str("pattern")}
	case "notoneof":
		c = &NotOneOf{Excluded: f.list("excluded")}
	case "cidr":
		c = &CIDR{Network: f.str("network")}
	case "urlpattern":
		c = &URLPattern{Pattern: f.str("pattern")}
	case "contains":
		c = &Contains{Required: f.list("required")}
	case "subset":
		c = &Subset{Allowed: f.list("allowed")}
	case "all", "any":
		var cs []Constraint
		for _, e := range f.list("constraints") {
			sub, err := constraintFromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			cs = append(cs, sub)
		}
		if strings.EqualFold(typ, "all") {
			c = &All{Constraints: cs}
		} else {
			c = &Any{Constraints: cs}
		}
	case "not":
		inner, err := constraintFromJSON(f.any("constraint"), depth+1)
		if err != nil {
			return nil, err
		}
		c = &Not{Constraint: inner}
	case "cel":
		cel := &CEL{Expression: f.str("expression")}
		if _, ok := m["parent_expression"]; ok {
			pe := f.str("parent_expression")
			cel.ParentExpression = &pe
		}
		c = cel
	case "wildcard":
		c = &Wildcard{}
	case "subpath":
		c = newSubpathSpec(f.str("root"), f.boolOr("case_sensitive", true), f.boolOr("allow_equal", true))
	case "urlsafe":
		u := &URLSafe{Schemes: f.strList("schemes", []string{"http", "https"}),
			AllowDomains: f.strList("allow_domains", nil), DenyDomains: f.strList("deny_domains", nil),
			AllowPrivate: !f.boolOr("block_private", true), AllowLoopback: !f.boolOr("block_loopback", true),
			AllowMetadata: !f.boolOr("block_metadata", true), AllowReserved: !f.boolOr("block_reserved", true),
			BlockInternalTLDs: f.boolOr("block_internal_tlds", false)}
		f.used["allow_ports"] = true // null: any port
		if ports, ok := m["allow_ports"]; ok && ports != nil {
			list, ok := ports.([]any)
			if !ok {
				f.fail("allow_ports must be a list of port numbers")
			}
			u.AllowPorts = []uint16{}
			for _, p := range list {
				n, ok := p.(int64)
				if !ok || n < 1 || n > 65535 {
					f.fail("allow_ports: %s is not a port number", formatValue(p))
					break
				}
				u.AllowPorts = append(u.AllowPorts, uint16(n))
			}
		}
		c = u
	case "shlex":
		c = &Shlex{Allow: f.strList("allow", nil)}
	case "":
		return nil, fmt.Errorf("constraint object has no \"type\"")
	default:
		return nil, fmt.Errorf("unknown constraint type %q", typ)
	}
	if err = f.finish(typ); err != nil {
		return nil, err
	}
	return c, nil
}

// jsonFields reads fields of a constraint object, remembering the first
// error and which fields were used.
type jsonFields struct {
	m    map[string]any
	used map[string]bool
	err  error
}

func (f *jsonFields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf(format, args...)
	}
}

func (f *jsonFields) any(k string) any {
	f.used[k] = true
	v, ok := f.m[k]
	if !ok {
		f.fail("missing field %q", k)
	}
	return v
}

func (f *jsonFields) str(k string) string {
	v := f.any(k)
	s, ok := v.(string)
	if !ok && f.err == nil {
		f.fail("field %q must be a string, got %s", k, typeName(v))
	}
	return s
}

func (f *jsonFields) list(k string) []any {
	v := f.any(k)
	l, ok := v.([]any)
	if !ok && f.err == nil {
		f.fail("field %q must be a list, got %s", k, typeName(v))
	}
	return l
}

func (f *jsonFields) strList(k string, def []string) []string {
	v, ok := f.m[k]
	f.used[k] = true
	if !ok || v == nil {
		return def
	}
	l, ok := v.([]any)
	if !ok {
		f.fail("field %q must be a list of strings", k)
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			f.fail("field %q must be a list of strings", k)
			return nil
		}
		out = append(out, s)
	}
	return out
}

func (f *jsonFields) boolOr(k string, def bool) bool {
	v, ok := f.m[k]
	f.used[k] = true
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		f.fail("field %q must be true or false", k)
	}
	return b
}

func (f *jsonFields) optFloat(k string) *float64 {
	v, ok := f.m[k]
	f.used[k] = true
	if !ok || v == nil {
		return nil
	}
	switch n := v.(type) {
	case int64:
		x := float64(n)
		return &x
	case float64:
		return &n
	}
	f.fail("field %q must be a number or null", k)
	return nil
}

func (f *jsonFields) finish(typ string) error {
	if f.err != nil {
		return fmt.Errorf("%s constraint: %w", typ, f.err)
	}
	for k := range f.m {
		if !f.used[k] {
			return fmt.Errorf("%s constraint: unknown field %q", typ, k)
		}
	}
	return nil
}

// newSubpathSpec builds a Subpath from text a person wrote: the root is put in
// normal form ("/data/" → "/data", lower case when case-insensitive), since a
// root on the wire is compared as it is written.
func newSubpathSpec(root string, caseSensitive, allowEqual bool) *Subpath {
	if subpathIsAbsolute(root) && strings.IndexByte(root, 0) < 0 {
		root = subpathNormalize(root)
		if !caseSensitive {
			root = strings.ToLower(root)
		}
	}
	return &Subpath{Root: root, CaseInsensitive: !caseSensitive, ExcludeRoot: !allowEqual}
}
