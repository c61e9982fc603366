package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

func (c *Shlex) Type() ConstraintType { return TypeShlex }
func (c *Shlex) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Shlex) String() string       { return c.Type().String() }
func (c *Shlex) match(v any, ec *evalContext) error {
	return errors.New("Shlex constraints are not supported yet")
}
func (c *Shlex) validate() error                   { return nil }
func (c *Shlex) narrowedBy(child Constraint) error { return incompatible(c, child) }
