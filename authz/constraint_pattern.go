package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

type globMatcher struct{}

func (c *Pattern) Type() ConstraintType { return TypePattern }
func (c *Pattern) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Pattern) String() string       { return c.Type().String() }
func (c *Pattern) match(v any, ec *evalContext) error {
	return errors.New("Pattern constraints are not supported yet")
}
func (c *Pattern) validate() error                   { return nil }
func (c *Pattern) narrowedBy(child Constraint) error { return incompatible(c, child) }

type regexpMatcher struct{}

func (c *Regex) Type() ConstraintType { return TypeRegex }
func (c *Regex) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Regex) String() string       { return c.Type().String() }
func (c *Regex) match(v any, ec *evalContext) error {
	return errors.New("Regex constraints are not supported yet")
}
func (c *Regex) validate() error                   { return nil }
func (c *Regex) narrowedBy(child Constraint) error { return incompatible(c, child) }
