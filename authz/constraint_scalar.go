package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

func (c *Exact) Type() ConstraintType { return TypeExact }
func (c *Exact) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Exact) String() string       { return c.Type().String() }
func (c *Exact) match(v any, ec *evalContext) error {
	return errors.New("Exact constraints are not supported yet")
}
func (c *Exact) validate() error                   { return nil }
func (c *Exact) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *OneOf) Type() ConstraintType { return TypeOneOf }
func (c *OneOf) Match(v any) error    { return c.match(v, wallClock()) }
func (c *OneOf) String() string       { return c.Type().String() }
func (c *OneOf) match(v any, ec *evalContext) error {
	return errors.New("OneOf constraints are not supported yet")
}
func (c *OneOf) validate() error                   { return nil }
func (c *OneOf) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *NotOneOf) Type() ConstraintType { return TypeNotOneOf }
func (c *NotOneOf) Match(v any) error    { return c.match(v, wallClock()) }
func (c *NotOneOf) String() string       { return c.Type().String() }
func (c *NotOneOf) match(v any, ec *evalContext) error {
	return errors.New("NotOneOf constraints are not supported yet")
}
func (c *NotOneOf) validate() error                   { return nil }
func (c *NotOneOf) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *Range) Type() ConstraintType { return TypeRange }
func (c *Range) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Range) String() string       { return c.Type().String() }
func (c *Range) match(v any, ec *evalContext) error {
	return errors.New("Range constraints are not supported yet")
}
func (c *Range) validate() error                   { return nil }
func (c *Range) narrowedBy(child Constraint) error { return incompatible(c, child) }
