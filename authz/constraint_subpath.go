package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

func (c *Subpath) Type() ConstraintType { return TypeSubpath }
func (c *Subpath) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Subpath) String() string       { return c.Type().String() }
func (c *Subpath) match(v any, ec *evalContext) error {
	return errors.New("Subpath constraints are not supported yet")
}
func (c *Subpath) validate() error                   { return nil }
func (c *Subpath) narrowedBy(child Constraint) error { return incompatible(c, child) }
