package authz

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file holds the value constraints: Exact, OneOf, NotOneOf and Range.
// Equality is valueEqual: type-sensitive, so the integer 1 and the float 1.0
// differ, as in Tenuo's ConstraintValue.

// checkModel refuses a value outside the value model (a Go int, a struct…):
// it cannot be compared, so it is an evaluation error rather than a
// non-match that NotOneOf or Not could turn into an allow.
func checkModel(v any) error {
	if !validValue(v) {
		return fmt.Errorf("value of type %T is outside the value model: denied", v)
	}
	return nil
}

func checkModelList(kind string, vs []any) error {
	for i, v := range vs {
		if !validValue(v) {
			return fmt.Errorf("%s: element %d of type %T is outside the value model", kind, i, v)
		}
	}
	return nil
}

// --- Exact ---

func (c *Exact) Type() ConstraintType { return TypeExact }
func (c *Exact) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Exact) String() string {
	if c == nil {
		return "Exact(<nil>)"
	}
	return "Exact(" + formatValue(c.Value) + ")"
}

// match accepts a value equal to c.Value, type-sensitively.
func (c *Exact) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Exact constraint: denied")
	}
	if err := checkModel(v); err != nil {
		return err
	}
	if !valueEqual(c.Value, v) {
		return noMatch("%s is not exactly %s", formatValue(v), formatValue(c.Value))
	}
	return nil
}

func (c *Exact) validate() error {
	if c == nil {
		return errors.New("missing Exact constraint")
	}
	if !validValue(c.Value) {
		return fmt.Errorf("Exact: value of type %T is outside the value model", c.Value)
	}
	return nil
}

// narrowedBy refuses every child: Exact narrows only to an equal Exact,
// which checkNarrowing decides before calling this.
func (c *Exact) narrowedBy(child Constraint) error { return incompatible(c, child) }

// --- OneOf ---

func (c *OneOf) Type() ConstraintType { return TypeOneOf }
func (c *OneOf) Match(v any) error    { return c.match(v, wallClock()) }

func (c *OneOf) String() string {
	if c == nil {
		return "OneOf(<nil>)"
	}
	return "OneOf(" + formatValue(c.Values) + ")"
}

// match accepts a value equal to one of c.Values.
func (c *OneOf) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing OneOf constraint: denied")
	}
	if err := checkModel(v); err != nil {
		return err
	}
	if !valueIn(v, c.Values) {
		return noMatch("%s is not one of %s", formatValue(v), formatValue(c.Values))
	}
	return nil
}

func (c *OneOf) validate() error {
	if c == nil {
		return errors.New("missing OneOf constraint")
	}
	return checkModelList("OneOf", c.Values)
}

// narrowedBy accepts a OneOf whose values are all among the parent's.
// OneOf → NotOneOf is refused (as in Tenuo): a NotOneOf admits values the
// parent's allow list never named.
func (c *OneOf) narrowedBy(child Constraint) error {
	ch, ok := child.(*OneOf)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	for _, v := range ch.Values {
		if !valueIn(v, c.Values) {
			return fmt.Errorf("child OneOf may only keep values of the parent: %s is not in parent %s", formatValue(v), formatValue(c.Values))
		}
	}
	return nil
}

// --- NotOneOf ---

func (c *NotOneOf) Type() ConstraintType { return TypeNotOneOf }
func (c *NotOneOf) Match(v any) error    { return c.match(v, wallClock()) }

func (c *NotOneOf) String() string {
	if c == nil {
		return "NotOneOf(<nil>)"
	}
	return "NotOneOf(" + formatValue(c.Excluded) + ")"
}

// match accepts a value equal to none of c.Excluded.
func (c *NotOneOf) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing NotOneOf constraint: denied")
	}
	if err := checkModel(v); err != nil {
		return err
	}
	if valueIn(v, c.Excluded) {
		return noMatch("%s is excluded by %s", formatValue(v), formatValue(c.Excluded))
	}
	return nil
}

func (c *NotOneOf) validate() error {
	if c == nil {
		return errors.New("missing NotOneOf constraint")
	}
	return checkModelList("NotOneOf", c.Excluded)
}

// narrowedBy accepts a NotOneOf that excludes at least every value the
// parent excludes.
func (c *NotOneOf) narrowedBy(child Constraint) error {
	ch, ok := child.(*NotOneOf)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	for _, v := range c.Excluded {
		if !valueIn(v, ch.Excluded) {
			return fmt.Errorf("child NotOneOf may not remove an exclusion: parent excludes %s, child does not", formatValue(v))
		}
	}
	return nil
}

// --- Range ---

func (c *Range) Type() ConstraintType { return TypeRange }
func (c *Range) Match(v any) error    { return c.match(v, wallClock()) }

// String renders the range as an inequality, e.g. Range(0 <= x <= 100).
func (c *Range) String() string {
	if c == nil {
		return "Range(<nil>)"
	}
	op := func(incl bool) string {
		if incl {
			return "<="
		}
		return "<"
	}
	var b strings.Builder
	b.WriteString("Range(")
	switch {
	case c.Min != nil && c.Max != nil:
		fmt.Fprintf(&b, "%s %s x %s %s", fmtBound(*c.Min), op(!c.MinExclusive), op(!c.MaxExclusive), fmtBound(*c.Max))
	case c.Min != nil:
		fmt.Fprintf(&b, "%s %s x", fmtBound(*c.Min), op(!c.MinExclusive))
	case c.Max != nil:
		fmt.Fprintf(&b, "x %s %s", op(!c.MaxExclusive), fmtBound(*c.Max))
	default:
		b.WriteString("any number")
	}
	b.WriteString(")")
	return b.String()
}

func fmtBound(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// match accepts an integer or float within the bounds; NaN never matches,
// and a value of another type is a plain non-match (Tenuo: Ok(false)).
//
// Tenuo compares in float64, so an integer beyond 2^53 is rounded before the
// comparison: 2^53+1 passes max = 2^53. We accept an integer only when it is
// inside the bounds both exactly and after Tenuo's rounding, so we never
// accept what either the mathematics or Tenuo refuses.
func (c *Range) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Range constraint: denied")
	}
	switch x := v.(type) {
	case int64:
		if !c.containsFloat(float64(x)) || !c.containsInt(x) {
			return noMatch("%d is outside %s", x, c)
		}
		return nil
	case float64:
		if math.IsNaN(x) {
			return noMatch("NaN is never inside %s", c)
		}
		if !c.containsFloat(x) {
			return noMatch("%s is outside %s", formatValue(x), c)
		}
		return nil
	}
	if err := checkModel(v); err != nil {
		return err
	}
	return noMatch("%s is a %s, not a number, so it is outside %s", formatValue(v), typeName(v), c)
}

// containsFloat is Tenuo's float64 comparison; any NaN compares false.
func (c *Range) containsFloat(n float64) bool {
	if math.IsNaN(n) {
		return false
	}
	if c.Min != nil {
		if !c.MinExclusive && !(n >= *c.Min) || c.MinExclusive && !(n > *c.Min) {
			return false
		}
	}
	if c.Max != nil {
		if !c.MaxExclusive && !(n <= *c.Max) || c.MaxExclusive && !(n < *c.Max) {
			return false
		}
	}
	return true
}

// containsInt compares an integer with the float bounds exactly.
func (c *Range) containsInt(n int64) bool {
	if c.Min != nil {
		cmp, ok := cmpIntFloat(n, *c.Min)
		if !ok || cmp < 0 || cmp == 0 && c.MinExclusive {
			return false
		}
	}
	if c.Max != nil {
		cmp, ok := cmpIntFloat(n, *c.Max)
		if !ok || cmp > 0 || cmp == 0 && c.MaxExclusive {
			return false
		}
	}
	return true
}

// cmpIntFloat compares i with f exactly: -1, 0 or +1; ok is false for NaN.
func cmpIntFloat(i int64, f float64) (cmp int, ok bool) {
	switch {
	case math.IsNaN(f):
		return 0, false
	case f >= 0x1p63: // beyond every int64
		return -1, true
	case f < -0x1p63:
		return 1, true
	}
	t := math.Trunc(f) // now exactly representable as an int64
	ti := int64(t)
	switch {
	case i < ti:
		return -1, true
	case i > ti:
		return 1, true
	case f > t: // same integer part; compare the fraction
		return -1, true
	case f < t:
		return 1, true
	}
	return 0, true
}

// validate refuses NaN bounds, which Tenuo's constructors refuse too (a NaN
// bound would make the range match nothing).
func (c *Range) validate() error {
	if c == nil {
		return errors.New("missing Range constraint")
	}
	if c.Min != nil && math.IsNaN(*c.Min) {
		return errors.New("Range: min cannot be NaN")
	}
	if c.Max != nil && math.IsNaN(*c.Max) {
		return errors.New("Range: max cannot be NaN")
	}
	return nil
}

// narrowedBy accepts a Range inside the parent's, with Tenuo's rules: no
// bound may be dropped or widened, and at an equal bound an exclusive parent
// bound may not become inclusive.
func (c *Range) narrowedBy(child Constraint) error {
	ch, ok := child.(*Range)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if c.Min != nil {
		switch {
		case ch.Min == nil:
			return fmt.Errorf("range expanded: child drops the parent's min bound %s", fmtBound(*c.Min))
		case *ch.Min < *c.Min:
			return fmt.Errorf("range expanded: child min %s is below parent min %s", fmtBound(*ch.Min), fmtBound(*c.Min))
		case *ch.Min == *c.Min && c.MinExclusive && !ch.MinExclusive:
			return fmt.Errorf("range inclusivity expanded: parent min %s is exclusive, child makes it inclusive", fmtBound(*c.Min))
		}
	}
	if c.Max != nil {
		switch {
		case ch.Max == nil:
			return fmt.Errorf("range expanded: child drops the parent's max bound %s", fmtBound(*c.Max))
		case *ch.Max > *c.Max:
			return fmt.Errorf("range expanded: child max %s is above parent max %s", fmtBound(*ch.Max), fmtBound(*c.Max))
		case *ch.Max == *c.Max && c.MaxExclusive && !ch.MaxExclusive:
			return fmt.Errorf("range inclusivity expanded: parent max %s is exclusive, child makes it inclusive", fmtBound(*c.Max))
		}
	}
	// A NaN child bound compares false above and would slip through, as in
	// Tenuo; it makes the child match nothing, which is narrower still.
	return nil
}
