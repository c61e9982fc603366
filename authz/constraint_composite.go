package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

func (c *All) Type() ConstraintType { return TypeAll }
func (c *All) Match(v any) error    { return c.match(v, wallClock()) }
func (c *All) String() string       { return c.Type().String() }
func (c *All) match(v any, ec *evalContext) error {
	return errors.New("All constraints are not supported yet")
}
func (c *All) validate() error                   { return nil }
func (c *All) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *Any) Type() ConstraintType { return TypeAny }
func (c *Any) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Any) String() string       { return c.Type().String() }
func (c *Any) match(v any, ec *evalContext) error {
	return errors.New("Any constraints are not supported yet")
}
func (c *Any) validate() error                   { return nil }
func (c *Any) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *Not) Type() ConstraintType { return TypeNot }
func (c *Not) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Not) String() string       { return c.Type().String() }
func (c *Not) match(v any, ec *evalContext) error {
	return errors.New("Not constraints are not supported yet")
}
func (c *Not) validate() error                   { return nil }
func (c *Not) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *Wildcard) Type() ConstraintType { return TypeWildcard }
func (c *Wildcard) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Wildcard) String() string       { return c.Type().String() }
func (c *Wildcard) match(v any, ec *evalContext) error {
	return errors.New("Wildcard constraints are not supported yet")
}
func (c *Wildcard) validate() error                   { return nil }
func (c *Wildcard) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *UnknownConstraint) Type() ConstraintType { return c.TypeID }
func (c *UnknownConstraint) Match(v any) error    { return c.match(v, wallClock()) }
func (c *UnknownConstraint) String() string       { return c.Type().String() }
func (c *UnknownConstraint) match(v any, ec *evalContext) error {
	return errors.New("UnknownConstraint constraints are not supported yet")
}
func (c *UnknownConstraint) validate() error                   { return nil }
func (c *UnknownConstraint) narrowedBy(child Constraint) error { return incompatible(c, child) }
