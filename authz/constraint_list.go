package authz

import (
	"errors"
	"fmt"
)

// This file holds the list constraints, Contains and Subset. Their argument
// must be a list; membership uses valueEqual (type-sensitive). Any other
// argument is a plain non-match, as in Tenuo.

// listArg returns v as a list, or why not.
func listArg(kind string, v any) ([]any, error) {
	if err := checkModel(v); err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok {
		return nil, noMatch("%s needs a list argument, got %s %s", kind, typeName(v), formatValue(v))
	}
	return l, nil
}

// --- Contains ---

func (c *Contains) Type() ConstraintType { return TypeContains }
func (c *Contains) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Contains) String() string {
	if c == nil {
		return "Contains(<nil>)"
	}
	return "Contains(" + formatValue(c.Required) + ")"
}

// match accepts a list holding every required value (an empty Required
// accepts any list).
func (c *Contains) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Contains constraint: denied")
	}
	l, err := listArg("Contains", v)
	if err != nil {
		return err
	}
	for _, r := range c.Required {
		if !valueIn(r, l) {
			return noMatch("list %s lacks required value %s", formatValue(l), formatValue(r))
		}
	}
	return nil
}

func (c *Contains) validate() error {
	if c == nil {
		return errors.New("missing Contains constraint")
	}
	return checkModelList("Contains", c.Required)
}

// narrowedBy accepts a Contains requiring at least every value the parent
// requires.
func (c *Contains) narrowedBy(child Constraint) error {
	ch, ok := child.(*Contains)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	for _, r := range c.Required {
		if !valueIn(r, ch.Required) {
			return fmt.Errorf("child Contains may not remove a required value: parent requires %s, child does not", formatValue(r))
		}
	}
	return nil
}

// --- Subset ---

func (c *Subset) Type() ConstraintType { return TypeSubset }
func (c *Subset) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Subset) String() string {
	if c == nil {
		return "Subset(<nil>)"
	}
	return "Subset(" + formatValue(c.Allowed) + ")"
}

// match accepts a list whose every element is allowed (an empty list
// always).
func (c *Subset) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Subset constraint: denied")
	}
	l, err := listArg("Subset", v)
	if err != nil {
		return err
	}
	for _, e := range l {
		if !valueIn(e, c.Allowed) {
			return noMatch("list element %s is not in allowed set %s", formatValue(e), formatValue(c.Allowed))
		}
	}
	return nil
}

func (c *Subset) validate() error {
	if c == nil {
		return errors.New("missing Subset constraint")
	}
	return checkModelList("Subset", c.Allowed)
}

// narrowedBy accepts a Subset whose allowed values are all allowed by the
// parent.
func (c *Subset) narrowedBy(child Constraint) error {
	ch, ok := child.(*Subset)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	for _, a := range ch.Allowed {
		if !valueIn(a, c.Allowed) {
			return fmt.Errorf("child Subset may only allow values the parent allows: %s is not in parent %s", formatValue(a), formatValue(c.Allowed))
		}
	}
	return nil
}
