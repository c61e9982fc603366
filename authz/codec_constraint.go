package authz

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// Constraint sets, constraints and constraint values on the wire
// (WIRE.md §2, §4). A constraint is [type_id, value]; the value's shape is
// the one Tenuo's serde gives each type: struct-built maps keep Tenuo's
// field order when encoded, and are accepted in any order when decoded.

// Keys of the ConstraintSet map.
const (
	keyConstraints  = "constraints"
	keyAllowUnknown = "allow_unknown"
)

// decodeConstraintSet reads {"constraints": {arg: C}, "allow_unknown"?: bool}.
func decodeConstraintSet(v *cbor.Item, path string) (ConstraintSet, error) {
	var cs ConstraintSet
	f, err := mapFields(v, path, keyConstraints, keyAllowUnknown)
	if err != nil {
		return cs, err
	}
	m := f.get(keyConstraints)
	if m == nil {
		return cs, payloadErr("%s: missing key %q", path, keyConstraints)
	}
	if m.Kind != cbor.KindMap {
		return cs, payloadErr("%s.constraints: expected a map, got %s", path, m.Kind)
	}
	if len(m.Pairs) > MaxConstraintsPerSet {
		return cs, tooLarge(CodeTooManyConstraints, "%s: %d constraints exceed the limit of %d", path, len(m.Pairs), MaxConstraintsPerSet)
	}
	if au := f.get(keyAllowUnknown); au != nil {
		if cs.AllowUnknown, err = wantBool(au, path+".allow_unknown"); err != nil {
			return cs, err
		}
	}
	cs.Constraints = make(map[string]Constraint, len(m.Pairs))
	for i := range m.Pairs {
		arg, err := wantText(&m.Pairs[i].Key, path+".constraints: argument name")
		if err != nil {
			return cs, err
		}
		c, err := decodeConstraint(&m.Pairs[i].Value, path+"["+strconv.Quote(arg)+"]", 0)
		if err != nil {
			return cs, err
		}
		cs.Constraints[arg] = c
	}
	return cs, nil
}

// itemFields are the entries of a small CBOR map by text key; absent keys
// are nil. A slice scanned in order: these maps hold a handful of keys, and
// a Go map per constraint was a measurable share of decoding.
type itemFields struct {
	keys []string
	vals []*cbor.Item
}

func (f itemFields) get(key string) *cbor.Item {
	for i, k := range f.keys {
		if k == key {
			return f.vals[i]
		}
	}
	return nil
}

// mapFields checks that v is a map whose keys are all among names, and
// returns its entries by key.
func mapFields(v *cbor.Item, path string, names ...string) (itemFields, error) {
	if v.Kind != cbor.KindMap {
		return itemFields{}, payloadErr("%s: expected a map, got %s", path, v.Kind)
	}
	f := itemFields{keys: make([]string, 0, len(v.Pairs)), vals: make([]*cbor.Item, 0, len(v.Pairs))}
	for i := range v.Pairs {
		k := &v.Pairs[i].Key
		if k.Kind != cbor.KindText {
			return itemFields{}, payloadErr("%s: map key must be text, got %s", path, k.Kind)
		}
		known := ""
		for _, n := range names {
			if n == string(k.Bytes) {
				known = n
				break
			}
		}
		if known == "" {
			return itemFields{}, payloadErr("%s: unknown key %q", path, k.Bytes)
		}
		f.keys = append(f.keys, known)
		f.vals = append(f.vals, &v.Pairs[i].Value)
	}
	return f, nil
}

// require returns the entry for key or an error naming it.
func require(f itemFields, path, key string) (*cbor.Item, error) {
	if v := f.get(key); v != nil {
		return v, nil
	}
	return nil, payloadErr("%s: missing key %q", path, key)
}

// decodeConstraint reads [type_id, value] at the given composite nesting
// level (0 for a constraint directly in a set).
func decodeConstraint(v *cbor.Item, path string, level int) (Constraint, error) {
	if v.Kind != cbor.KindArray || len(v.Items) != 2 {
		return nil, payloadErr("%s: constraint must be an array [type_id, value]", path)
	}
	tid := &v.Items[0]
	if tid.Kind != cbor.KindUint || tid.Uint > math.MaxUint8 {
		return nil, payloadErr("%s: constraint type id must be an integer 0-255", path)
	}
	t := ConstraintType(tid.Uint)
	val := &v.Items[1]
	vpath := path + ": " + t.String()
	c, err := decodeConstraintValue(t, val, vpath, level)
	if err != nil {
		return nil, err
	}
	if err := c.validate(); err != nil {
		var d *Denial
		if errors.As(err, &d) {
			return nil, d
		}
		return nil, payloadErr("%s: invalid constraint: %v", vpath, err)
	}
	return c, nil
}

func decodeConstraintValue(t ConstraintType, val *cbor.Item, path string, level int) (Constraint, error) {
	// single reads a map with exactly one required key.
	single := func(key string) (*cbor.Item, error) {
		f, err := mapFields(val, path, key)
		if err != nil {
			return nil, err
		}
		return require(f, path, key)
	}
	switch t {
	case TypeExact:
		e, err := single("value")
		if err != nil {
			return nil, err
		}
		x, err := decodeValue(e, path+".value", 0)
		if err != nil {
			return nil, err
		}
		return &Exact{Value: x}, nil
	case TypePattern, TypeRegex:
		e, err := single("pattern")
		if err != nil {
			return nil, err
		}
		s, err := wantText(e, path+".pattern")
		if err != nil {
			return nil, err
		}
		if t == TypePattern {
			return &Pattern{Pattern: s}, nil
		}
		return &Regex{Pattern: s}, nil
	case TypeRange:
		return decodeRange(val, path)
	case TypeOneOf, TypeNotOneOf, TypeContains, TypeSubset:
		key := map[ConstraintType]string{TypeOneOf: "values", TypeNotOneOf: "excluded",
			TypeContains: "required", TypeSubset: "allowed"}[t]
		e, err := single(key)
		if err != nil {
			return nil, err
		}
		l, err := decodeValueList(e, path+"."+key)
		if err != nil {
			return nil, err
		}
		switch t {
		case TypeOneOf:
			return &OneOf{Values: l}, nil
		case TypeNotOneOf:
			return &NotOneOf{Excluded: l}, nil
		case TypeContains:
			return &Contains{Required: l}, nil
		}
		return &Subset{Allowed: l}, nil
	case TypeCIDR:
		s, err := wantText(val, path)
		if err != nil {
			return nil, err
		}
		return &CIDR{Network: s}, nil
	case TypeURLPattern:
		s, err := wantText(val, path)
		if err != nil {
			return nil, err
		}
		return &URLPattern{Pattern: s}, nil
	case TypeAll, TypeAny, TypeNot:
		if level >= MaxConstraintNesting {
			return nil, tooLarge(CodeValueTooLarge, "%s: constraint nesting exceeds the limit of %d", path, MaxConstraintNesting)
		}
		if t == TypeNot {
			e, err := single("constraint")
			if err != nil {
				return nil, err
			}
			inner, err := decodeConstraint(e, path+".constraint", level+1)
			if err != nil {
				return nil, err
			}
			return &Not{Constraint: inner}, nil
		}
		e, err := single("constraints")
		if err != nil {
			return nil, err
		}
		if e.Kind != cbor.KindArray {
			return nil, payloadErr("%s.constraints: expected an array, got %s", path, e.Kind)
		}
		if len(e.Items) > MaxConstraintsPerSet {
			return nil, tooLarge(CodeTooManyConstraints, "%s: %d clauses exceed the limit of %d", path, len(e.Items), MaxConstraintsPerSet)
		}
		cs := make([]Constraint, 0, len(e.Items))
		for i := range e.Items {
			c, err := decodeConstraint(&e.Items[i], fmt.Sprintf("%s[%d]", path, i), level+1)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
		if t == TypeAll {
			return &All{Constraints: cs}, nil
		}
		return &Any{Constraints: cs}, nil
	case TypeCEL:
		f, err := mapFields(val, path, "expression", "parent_expression")
		if err != nil {
			return nil, err
		}
		e, err := require(f, path, "expression")
		if err != nil {
			return nil, err
		}
		c := &CEL{}
		if c.Expression, err = wantText(e, path+".expression"); err != nil {
			return nil, err
		}
		if pe := f.get("parent_expression"); pe != nil && pe.Kind != cbor.KindNull {
			s, err := wantText(pe, path+".parent_expression")
			if err != nil {
				return nil, err
			}
			c.ParentExpression = &s
		}
		return c, nil
	case TypeWildcard:
		if val.Kind != cbor.KindNull {
			return nil, payloadErr("%s: expected null, got %s", path, val.Kind)
		}
		return &Wildcard{}, nil
	case TypeSubpath:
		f, err := mapFields(val, path, "root", "case_sensitive", "allow_equal")
		if err != nil {
			return nil, err
		}
		r, err := require(f, path, "root")
		if err != nil {
			return nil, err
		}
		c := &Subpath{}
		if c.Root, err = wantText(r, path+".root"); err != nil {
			return nil, err
		}
		caseSensitive, allowEqual := true, true // absent: Tenuo's defaults
		if err := optBool(f, path, "case_sensitive", &caseSensitive); err != nil {
			return nil, err
		}
		if err := optBool(f, path, "allow_equal", &allowEqual); err != nil {
			return nil, err
		}
		c.CaseInsensitive, c.ExcludeRoot = !caseSensitive, !allowEqual
		return c, nil
	case TypeURLSafe:
		return decodeURLSafe(val, path)
	case TypeShlex:
		e, err := single("allow")
		if err != nil {
			return nil, err
		}
		l, err := decodeTextList(e, path+".allow")
		if err != nil {
			return nil, err
		}
		return &Shlex{Allow: l}, nil
	}
	// Unknown type (6, 19–127, 129–255): kept as raw CBOR; it never matches.
	return &UnknownConstraint{TypeID: t, Raw: append([]byte(nil), val.Raw...)}, nil
}

func optBool(f itemFields, path, key string, dst *bool) error {
	v := f.get(key)
	if v == nil {
		return nil
	}
	b, err := wantBool(v, path+"."+key)
	if err != nil {
		return err
	}
	*dst = b
	return nil
}

func decodeRange(val *cbor.Item, path string) (Constraint, error) {
	f, err := mapFields(val, path, "min", "max", "min_inclusive", "max_inclusive")
	if err != nil {
		return nil, err
	}
	r := &Range{}
	for _, b := range []struct {
		key string
		dst **float64
	}{{"min", &r.Min}, {"max", &r.Max}} {
		v := f.get(b.key)
		if v == nil || v.Kind == cbor.KindNull {
			continue
		}
		if v.Kind != cbor.KindFloat {
			return nil, payloadErr("%s.%s: expected a float or null, got %s", path, b.key, v.Kind)
		}
		x := v.Float
		*b.dst = &x
	}
	for _, b := range []struct {
		key       string
		exclusive *bool
	}{{"min_inclusive", &r.MinExclusive}, {"max_inclusive", &r.MaxExclusive}} {
		v, err := require(f, path, b.key)
		if err != nil {
			return nil, err
		}
		inclusive, err := wantBool(v, path+"."+b.key)
		if err != nil {
			return nil, err
		}
		*b.exclusive = !inclusive
	}
	return r, nil
}

func decodeURLSafe(val *cbor.Item, path string) (Constraint, error) {
	f, err := mapFields(val, path, "schemes", "allow_domains", "deny_domains", "allow_ports",
		"block_private", "block_loopback", "block_metadata", "block_reserved", "block_internal_tlds")
	if err != nil {
		return nil, err
	}
	// Absent keys take Tenuo's defaults (serde defaults), which are the
	// zero values except for the scheme list, kept explicit so that the
	// decoded constraint reads as it would re-encode.
	c := &URLSafe{Schemes: []string{"http", "https"}}
	if v := f.get("schemes"); v != nil {
		if c.Schemes, err = decodeTextList(v, path+".schemes"); err != nil {
			return nil, err
		}
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{"allow_domains", &c.AllowDomains}, {"deny_domains", &c.DenyDomains}} {
		v := f.get(l.key)
		if v == nil || v.Kind == cbor.KindNull {
			continue
		}
		if *l.dst, err = decodeTextList(v, path+"."+l.key); err != nil {
			return nil, err
		}
	}
	if v := f.get("allow_ports"); v != nil && v.Kind != cbor.KindNull {
		if v.Kind != cbor.KindArray {
			return nil, payloadErr("%s.allow_ports: expected an array or null, got %s", path, v.Kind)
		}
		c.AllowPorts = make([]uint16, 0, len(v.Items))
		for i := range v.Items {
			e := &v.Items[i]
			if e.Kind != cbor.KindUint || e.Uint > math.MaxUint16 {
				return nil, payloadErr("%s.allow_ports[%d]: expected a port number 0-65535", path, i)
			}
			c.AllowPorts = append(c.AllowPorts, uint16(e.Uint))
		}
	}
	for _, b := range []struct {
		key   string
		allow *bool // the field is the flag's negation
	}{{"block_private", &c.AllowPrivate}, {"block_loopback", &c.AllowLoopback},
		{"block_metadata", &c.AllowMetadata}, {"block_reserved", &c.AllowReserved}} {
		block := true // absent: Tenuo's default
		if err := optBool(f, path, b.key, &block); err != nil {
			return nil, err
		}
		*b.allow = !block
	}
	if err := optBool(f, path, "block_internal_tlds", &c.BlockInternalTLDs); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeValueList reads an array of constraint values (never nil).
func decodeValueList(v *cbor.Item, path string) ([]any, error) {
	if v.Kind != cbor.KindArray {
		return nil, payloadErr("%s: expected an array, got %s", path, v.Kind)
	}
	out := make([]any, 0, len(v.Items))
	for i := range v.Items {
		x, err := decodeValue(&v.Items[i], fmt.Sprintf("%s[%d]", path, i), 1)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// decodeValue reads an untagged ConstraintValue into the value model: text,
// integer (must fit int64), float, bool, null, list, or map with text keys.
func decodeValue(v *cbor.Item, path string, depth int) (any, error) {
	switch v.Kind {
	case cbor.KindText:
		return v.Text(), nil
	case cbor.KindUint, cbor.KindNeg:
		n, ok := v.Int()
		if !ok {
			return nil, payloadErr("%s: integer is outside the 64-bit signed range", path)
		}
		return n, nil
	case cbor.KindFloat:
		return v.Float, nil
	case cbor.KindBool:
		return v.Bool, nil
	case cbor.KindNull:
		return nil, nil
	case cbor.KindArray, cbor.KindMap:
		if depth >= MaxConstraintNesting {
			return nil, tooLarge(CodeValueTooLarge, "%s: value nesting exceeds the limit of %d", path, MaxConstraintNesting)
		}
		if v.Kind == cbor.KindArray {
			out := make([]any, 0, len(v.Items))
			for i := range v.Items {
				x, err := decodeValue(&v.Items[i], fmt.Sprintf("%s[%d]", path, i), depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, x)
			}
			return out, nil
		}
		out := make(map[string]any, len(v.Pairs))
		for i := range v.Pairs {
			k, err := wantText(&v.Pairs[i].Key, path+": map key")
			if err != nil {
				return nil, err
			}
			x, err := decodeValue(&v.Pairs[i].Value, fmt.Sprintf("%s[%q]", path, k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	}
	return nil, payloadErr("%s: a %s is not a constraint value", path, v.Kind)
}

// appendConstraintSet encodes a ConstraintSet.
func appendConstraintSet(b []byte, cs *ConstraintSet) ([]byte, error) {
	n := 1
	if cs.AllowUnknown {
		n = 2
	}
	b = cbor.AppendMapHeader(b, n)
	b = cbor.AppendText(b, keyConstraints)
	b = cbor.AppendMapHeader(b, len(cs.Constraints))
	var err error
	for _, arg := range cbor.SortedKeys(cs.Constraints) {
		b = cbor.AppendText(b, arg)
		if b, err = appendConstraint(b, cs.Constraints[arg], 0); err != nil {
			return nil, fmt.Errorf("argument %q: %w", arg, err)
		}
	}
	if cs.AllowUnknown {
		b = cbor.AppendText(b, keyAllowUnknown)
		b = cbor.AppendBool(b, true)
	}
	return b, nil
}

var errNilConstraint = errors.New("nil constraint")

// appendConstraint encodes [type_id, value]. level guards against cycles in
// hand-built composites.
func appendConstraint(b []byte, c Constraint, level int) ([]byte, error) {
	if level > MaxConstraintNesting {
		return nil, fmt.Errorf("constraint nesting exceeds the limit of %d", MaxConstraintNesting)
	}
	if c == nil {
		return nil, errNilConstraint
	}
	var err error
	head := func(t ConstraintType) {
		b = cbor.AppendArrayHeader(b, 2)
		b = cbor.AppendUint(b, uint64(t))
	}
	// field starts a struct field: its name as text.
	field := func(name string) { b = cbor.AppendText(b, name) }
	values := func(t ConstraintType, key string, l []any) ([]byte, error) {
		head(t)
		b = cbor.AppendMapHeader(b, 1)
		field(key)
		b = cbor.AppendArrayHeader(b, len(l))
		for _, v := range l {
			if b, err = cbor.AppendValue(b, v); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	switch x := c.(type) {
	case *Exact:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeExact)
		b = cbor.AppendMapHeader(b, 1)
		field("value")
		return cbor.AppendValue(b, x.Value)
	case *Pattern:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypePattern)
		b = cbor.AppendMapHeader(b, 1)
		field("pattern")
		return cbor.AppendText(b, x.Pattern), nil
	case *Regex:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeRegex)
		b = cbor.AppendMapHeader(b, 1)
		field("pattern")
		return cbor.AppendText(b, x.Pattern), nil
	case *Range:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeRange)
		b = cbor.AppendMapHeader(b, 4)
		field("min")
		b = appendOptFloat(b, x.Min)
		field("max")
		b = appendOptFloat(b, x.Max)
		field("min_inclusive")
		b = cbor.AppendBool(b, !x.MinExclusive)
		field("max_inclusive")
		return cbor.AppendBool(b, !x.MaxExclusive), nil
	case *OneOf:
		if x == nil {
			return nil, errNilConstraint
		}
		return values(TypeOneOf, "values", x.Values)
	case *NotOneOf:
		if x == nil {
			return nil, errNilConstraint
		}
		return values(TypeNotOneOf, "excluded", x.Excluded)
	case *Contains:
		if x == nil {
			return nil, errNilConstraint
		}
		return values(TypeContains, "required", x.Required)
	case *Subset:
		if x == nil {
			return nil, errNilConstraint
		}
		return values(TypeSubset, "allowed", x.Allowed)
	case *CIDR:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeCIDR)
		return cbor.AppendText(b, x.Network), nil
	case *URLPattern:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeURLPattern)
		return cbor.AppendText(b, x.Pattern), nil
	case *All, *Any:
		var t ConstraintType
		var cs []Constraint
		if a, ok := x.(*All); ok {
			if a == nil {
				return nil, errNilConstraint
			}
			t, cs = TypeAll, a.Constraints
		} else {
			a := x.(*Any)
			if a == nil {
				return nil, errNilConstraint
			}
			t, cs = TypeAny, a.Constraints
		}
		head(t)
		b = cbor.AppendMapHeader(b, 1)
		field("constraints")
		b = cbor.AppendArrayHeader(b, len(cs))
		for i, inner := range cs {
			if b, err = appendConstraint(b, inner, level+1); err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", t, i, err)
			}
		}
		return b, nil
	case *Not:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeNot)
		b = cbor.AppendMapHeader(b, 1)
		field("constraint")
		if b, err = appendConstraint(b, x.Constraint, level+1); err != nil {
			return nil, fmt.Errorf("Not: %w", err)
		}
		return b, nil
	case *CEL:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeCEL)
		n := 1
		if x.ParentExpression != nil {
			n = 2
		}
		b = cbor.AppendMapHeader(b, n)
		field("expression")
		b = cbor.AppendText(b, x.Expression)
		if x.ParentExpression != nil {
			field("parent_expression")
			b = cbor.AppendText(b, *x.ParentExpression)
		}
		return b, nil
	case *Wildcard:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeWildcard)
		return cbor.AppendNull(b), nil
	case *Subpath:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeSubpath)
		b = cbor.AppendMapHeader(b, 3)
		field("root")
		b = cbor.AppendText(b, x.Root)
		field("case_sensitive")
		b = cbor.AppendBool(b, !x.CaseInsensitive)
		field("allow_equal")
		return cbor.AppendBool(b, !x.ExcludeRoot), nil
	case *URLSafe:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeURLSafe)
		b = cbor.AppendMapHeader(b, 9)
		field("schemes")
		b = appendTextList(b, x.schemes())
		field("allow_domains")
		b = appendOptTextList(b, x.AllowDomains)
		field("deny_domains")
		b = appendOptTextList(b, x.DenyDomains)
		field("allow_ports")
		if x.AllowPorts == nil {
			b = cbor.AppendNull(b)
		} else {
			b = cbor.AppendArrayHeader(b, len(x.AllowPorts))
			for _, p := range x.AllowPorts {
				b = cbor.AppendUint(b, uint64(p))
			}
		}
		for _, f := range []struct {
			name string
			v    bool
		}{{"block_private", !x.AllowPrivate}, {"block_loopback", !x.AllowLoopback},
			{"block_metadata", !x.AllowMetadata}, {"block_reserved", !x.AllowReserved},
			{"block_internal_tlds", x.BlockInternalTLDs}} {
			field(f.name)
			b = cbor.AppendBool(b, f.v)
		}
		return b, nil
	case *Shlex:
		if x == nil {
			return nil, errNilConstraint
		}
		head(TypeShlex)
		b = cbor.AppendMapHeader(b, 1)
		field("allow")
		return appendTextList(b, x.Allow), nil
	case *UnknownConstraint:
		if x == nil {
			return nil, errNilConstraint
		}
		if _, err := cbor.Decode(x.Raw, cbor.Limits{MaxDepth: maxPayloadNesting}); err != nil {
			return nil, fmt.Errorf("unknown constraint type %d: raw value: %w", uint8(x.TypeID), err)
		}
		head(x.TypeID)
		return append(b, x.Raw...), nil
	}
	return nil, fmt.Errorf("cannot encode constraint of type %T", c)
}

func appendOptFloat(b []byte, f *float64) []byte {
	if f == nil {
		return cbor.AppendNull(b)
	}
	return cbor.AppendFloat(b, *f)
}

func appendOptTextList(b []byte, l []string) []byte {
	if l == nil {
		return cbor.AppendNull(b)
	}
	return appendTextList(b, l)
}
