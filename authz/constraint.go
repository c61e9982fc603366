package authz

import (
	"fmt"
	"time"
)

// ConstraintType is a constraint's wire type id (WIRE.md §4).
type ConstraintType uint8

// The constraint types Tenuo v1 defines. Ids 6, 19–127 and 129–255 are
// unknown: they decode as [*UnknownConstraint], which never matches.
const (
	TypeExact      ConstraintType = 1
	TypePattern    ConstraintType = 2
	TypeRange      ConstraintType = 3
	TypeOneOf      ConstraintType = 4
	TypeRegex      ConstraintType = 5
	TypeNotOneOf   ConstraintType = 7
	TypeCIDR       ConstraintType = 8
	TypeURLPattern ConstraintType = 9
	TypeContains   ConstraintType = 10
	TypeSubset     ConstraintType = 11
	TypeAll        ConstraintType = 12
	TypeAny        ConstraintType = 13
	TypeNot        ConstraintType = 14
	TypeCEL        ConstraintType = 15
	TypeWildcard   ConstraintType = 16
	TypeSubpath    ConstraintType = 17
	TypeURLSafe    ConstraintType = 18
	TypeShlex      ConstraintType = 128
)

var typeNames = map[ConstraintType]string{
	TypeExact: "Exact", TypePattern: "Pattern", TypeRange: "Range", TypeOneOf: "OneOf",
	TypeRegex: "Regex", TypeNotOneOf: "NotOneOf", TypeCIDR: "Cidr", TypeURLPattern: "UrlPattern",
	TypeContains: "Contains", TypeSubset: "Subset", TypeAll: "All", TypeAny: "Any", TypeNot: "Not",
	TypeCEL: "Cel", TypeWildcard: "Wildcard", TypeSubpath: "Subpath", TypeURLSafe: "UrlSafe",
	TypeShlex: "Shlex",
}

func (t ConstraintType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Unknown(%d)", uint8(t))
}

// Constraint restricts one argument of a tool call. The set of
// implementations is closed: the types of this package.
//
// Match returns nil when v satisfies the constraint, and otherwise an error
// that says why, naming the value and the rule (a [*Denial] built from it
// keeps that text in Detail, out of its Message). A value of the wrong type, a
// constraint that cannot be evaluated, or any internal failure is an error
// too: constraints fail closed.
type Constraint interface {
	// Type returns the wire type id.
	Type() ConstraintType
	// Match reports whether v satisfies the constraint (nil) or why not.
	Match(v any) error
	// String renders the constraint for people, e.g. Pattern("/data/*").
	String() string

	// match is Match with an explicit evaluation context (the verifier's clock).
	match(v any, ec *evalContext) error
	// validate checks the fields and prepares any compiled form. The decoder
	// and the builders call it; a constraint that fails it is never used.
	validate() error
	// narrowedBy returns nil when child, a constraint of a type the receiver
	// can be narrowed to, allows nothing the receiver denies. The general rules
	// (Wildcard, narrowing to Exact) are applied before it is called, by
	// [checkNarrowing].
	narrowedBy(child Constraint) error
}

// evalContext carries what evaluation may depend on besides the value.
type evalContext struct {
	now time.Time
}

func wallClock() *evalContext { return &evalContext{now: time.Now()} }

// ConstraintSet is the argument policy of one tool. An empty set allows any
// arguments. A non-empty set is a closed world: every named argument must be
// present and satisfy its constraint, and an argument it does not name is
// denied unless AllowUnknown is set.
type ConstraintSet struct {
	Constraints  map[string]Constraint
	AllowUnknown bool
}

// Exact matches one value, type-sensitively.
type Exact struct{ Value any }

// Pattern matches a string against a glob with the Rust glob crate's default
// rules: '*' matches any run of characters including '/', '?' one character,
// '[...]' and '[!...]' classes; case-sensitive.
type Pattern struct {
	Pattern string
	glob    *globMatcher // compiled by validate; nil means compile per match
}

// Range matches a number within bounds. A nil bound is open. The zero
// value of each flag is Tenuo's default (Range::new): bounds are inclusive.
type Range struct {
	Min, Max *float64
	// MinExclusive and MaxExclusive make a bound exclusive (on the wire:
	// min_inclusive / max_inclusive false). Default false: inclusive.
	MinExclusive, MaxExclusive bool
}

// OneOf matches a value equal to one of Values.
type OneOf struct{ Values []any }

// Regex matches a string that contains a match of an RE2 expression
// (unanchored search).
type Regex struct {
	Pattern string
	re      *regexpMatcher // compiled by validate
}

// NotOneOf matches a value equal to none of Excluded.
type NotOneOf struct{ Excluded []any }

// CIDR matches an IP address inside Network ("10.0.0.0/8").
type CIDR struct {
	Network string
	prefix  *cidrPrefix // parsed by validate
}

// URLPattern matches a URL by scheme, host ('*.d' wildcard), port and path glob.
type URLPattern struct {
	Pattern string
	parsed  *urlPatternSpec // parsed by validate
}

// Contains matches a list that contains every value of Required.
type Contains struct{ Required []any }

// Subset matches a list whose every element is in Allowed.
type Subset struct{ Allowed []any }

// All matches when every clause matches. An empty All is invalid: it denies
// every value (an evaluation error, so Not cannot invert it), and no
// delegation may start from or lead to one.
type All struct{ Constraints []Constraint }

// Any matches when some clause matches (an empty Any matches nothing).
type Any struct{ Constraints []Constraint }

// Not matches when its inner constraint does not; an inner evaluation error
// is not a non-match and denies.
type Not struct{ Constraint Constraint }

// CEL matches when a CEL expression evaluates to true. ParentExpression is
// nil when absent on the wire.
type CEL struct {
	Expression       string
	ParentExpression *string
	prog             *celProgram // compiled by validate
}

// Wildcard matches anything. No constraint narrows to it.
type Wildcard struct{}

// Subpath matches an absolute path that, lexically normalised, lies inside Root.
// The zero value of each flag is Tenuo's default.
type Subpath struct {
	Root string
	// CaseInsensitive compares paths with ASCII letters folded (on the
	// wire: case_sensitive false); Root must then be in lower case. Default
	// false: case-sensitive, so /DATA/x is not inside /data.
	CaseInsensitive bool
	// ExcludeRoot refuses the root itself, allowing only paths strictly
	// under it (on the wire: allow_equal false). Default false: the root
	// itself matches.
	ExcludeRoot bool
}

// URLSafe matches a URL that is safe to fetch from a server (SSRF guard).
// Its zero value is Tenuo's UrlSafe::new(): schemes http and https, any
// domain and port, private, loopback, cloud metadata and reserved addresses
// refused, internal TLDs allowed. Each field's zero value is that default.
type URLSafe struct {
	// Schemes are the schemes allowed (case-insensitive). Nil means Tenuo's
	// default, http and https (encoded as such); an empty, non-nil list
	// allows none.
	Schemes []string
	// AllowDomains, when not nil, are the only hosts allowed ("d" or
	// "*.d"). Nil: any (null on the wire).
	AllowDomains []string
	// DenyDomains are hosts refused after every other check ("d" or
	// "*.d"), IPs included as text. Nil: none (null on the wire).
	DenyDomains []string
	// AllowPorts, when not nil, are the only ports allowed. Nil: any.
	AllowPorts []uint16
	// AllowPrivate lets private addresses through (RFC 1918, link-local,
	// CGNAT, IPv6 ULA; on the wire: block_private false). Default false:
	// refused.
	AllowPrivate bool
	// AllowLoopback lets loopback addresses and localhost names through
	// (block_loopback false). Default false: refused.
	AllowLoopback bool
	// AllowMetadata lets cloud metadata endpoints through (169.254.169.254,
	// metadata.google.internal, …; block_metadata false). Default false:
	// refused.
	AllowMetadata bool
	// AllowReserved lets reserved, multicast, broadcast and unspecified
	// addresses through (block_reserved false). Default false: refused.
	AllowReserved bool
	// BlockInternalTLDs refuses hosts under internal TLDs (.internal,
	// .local, .lan, .corp, .svc, …). Default false, as Tenuo's.
	BlockInternalTLDs bool
}

// defaultSchemes are the schemes a URLSafe with nil Schemes allows.
var defaultSchemes = []string{"http", "https"}

// schemes returns the schemes c allows, Tenuo's default for nil.
func (c *URLSafe) schemes() []string {
	if c.Schemes == nil {
		return defaultSchemes
	}
	return c.Schemes
}

// Shlex matches a shell command line that is one plain invocation of a program
// whose basename is in Allow.
type Shlex struct{ Allow []string }

// UnknownConstraint is a constraint of a type id this implementation does not
// know. It is kept (Raw is the CBOR of its value) so the warrant re-encodes
// byte for byte, and it never matches: unknown types fail closed.
type UnknownConstraint struct {
	TypeID ConstraintType
	Raw    []byte
}

// Compile-time checks that every type is a Constraint.
var (
	_ Constraint = (*Exact)(nil)
	_ Constraint = (*Pattern)(nil)
	_ Constraint = (*Range)(nil)
	_ Constraint = (*OneOf)(nil)
	_ Constraint = (*Regex)(nil)
	_ Constraint = (*NotOneOf)(nil)
	_ Constraint = (*CIDR)(nil)
	_ Constraint = (*URLPattern)(nil)
	_ Constraint = (*Contains)(nil)
	_ Constraint = (*Subset)(nil)
	_ Constraint = (*All)(nil)
	_ Constraint = (*Any)(nil)
	_ Constraint = (*Not)(nil)
	_ Constraint = (*CEL)(nil)
	_ Constraint = (*Wildcard)(nil)
	_ Constraint = (*Subpath)(nil)
	_ Constraint = (*URLSafe)(nil)
	_ Constraint = (*Shlex)(nil)
	_ Constraint = (*UnknownConstraint)(nil)
)

// checkNarrowing returns nil when child allows nothing that parent denies,
// applying the rules common to every type (WIRE.md §5) before the per-type
// rule: a Wildcard parent admits anything; nothing narrows to Wildcard; any
// parent narrows to an Exact value it accepts; otherwise the types must be
// compatible and the parent's own rule decides.
func checkNarrowing(parent, child Constraint) error {
	if parent == nil || child == nil {
		return fmt.Errorf("missing constraint")
	}
	// An empty All is invalid on either side of a delegation: a parent that
	// holds one grants nothing to narrow, and a child may not be given one
	// (not even under a Wildcard parent).
	if hasEmptyAll(parent) {
		return fmt.Errorf("parent %s holds an empty All, which is invalid: it cannot be delegated", parent)
	}
	if hasEmptyAll(child) {
		return fmt.Errorf("child %s holds an empty All, which is invalid", child)
	}
	if _, ok := parent.(*Wildcard); ok {
		return nil
	}
	if _, ok := child.(*Wildcard); ok {
		return fmt.Errorf("cannot attenuate %s to Wildcard: this would expand permissions", parent.Type())
	}
	if ex, ok := child.(*Exact); ok {
		if err := parent.match(ex.Value, &evalContext{}); err != nil {
			return fmt.Errorf("child Exact(%s) is not allowed by parent %s: %v", formatValue(ex.Value), parent, err)
		}
		return nil
	}
	return parent.narrowedBy(child)
}

// incompatible is the error for a child of a type the parent cannot narrow to.
func incompatible(parent, child Constraint) error {
	return fmt.Errorf("incompatible constraint types: cannot attenuate %s to %s", parent.Type(), child.Type())
}

// checkSetNarrowing returns nil when child narrows parent (WIRE.md §5):
// allow_unknown may not turn on; every parent argument is present in the
// child and narrowed; a non-empty parent admits no new argument.
func checkSetNarrowing(parent, child ConstraintSet) error {
	if child.AllowUnknown && !parent.AllowUnknown && len(parent.Constraints) > 0 {
		return fmt.Errorf("allow_unknown may not be turned on by a child")
	}
	// A child may not be given an empty All, not even on an argument the
	// parent leaves open (checkNarrowing covers the arguments both name).
	for _, name := range sortedConstraintNames(child.Constraints) {
		if hasEmptyAll(child.Constraints[name]) {
			return fmt.Errorf("argument %q: child %s holds an empty All, which is invalid", name, child.Constraints[name])
		}
	}
	if len(parent.Constraints) == 0 {
		return nil
	}
	for name, pc := range parent.Constraints {
		cc, ok := child.Constraints[name]
		if !ok {
			return fmt.Errorf("argument %q: constraint %s dropped by child", name, pc)
		}
		if err := checkNarrowing(pc, cc); err != nil {
			return fmt.Errorf("argument %q: %w", name, err)
		}
	}
	for name := range child.Constraints {
		if _, ok := parent.Constraints[name]; !ok && !parent.AllowUnknown {
			return fmt.Errorf("argument %q: not constrained by the parent, which admits no new arguments", name)
		}
	}
	return nil
}

func sortedConstraintNames(m map[string]Constraint) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sortStrings(names)
	return names
}
