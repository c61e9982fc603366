package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

func (c *Contains) Type() ConstraintType { return TypeContains }
func (c *Contains) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Contains) String() string       { return c.Type().String() }
func (c *Contains) match(v any, ec *evalContext) error {
	return errors.New("Contains constraints are not supported yet")
}
func (c *Contains) validate() error                   { return nil }
func (c *Contains) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *Subset) Type() ConstraintType { return TypeSubset }
func (c *Subset) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Subset) String() string       { return c.Type().String() }
func (c *Subset) match(v any, ec *evalContext) error {
	return errors.New("Subset constraints are not supported yet")
}
func (c *Subset) validate() error                   { return nil }
func (c *Subset) narrowedBy(child Constraint) error { return incompatible(c, child) }
