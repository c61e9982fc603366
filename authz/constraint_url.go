package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

type urlPatternSpec struct{}

func (c *UrlPattern) Type() ConstraintType { return TypeUrlPattern }
func (c *UrlPattern) Match(v any) error    { return c.match(v, wallClock()) }
func (c *UrlPattern) String() string       { return c.Type().String() }
func (c *UrlPattern) match(v any, ec *evalContext) error {
	return errors.New("UrlPattern constraints are not supported yet")
}
func (c *UrlPattern) validate() error                   { return nil }
func (c *UrlPattern) narrowedBy(child Constraint) error { return incompatible(c, child) }

func (c *UrlSafe) Type() ConstraintType { return TypeUrlSafe }
func (c *UrlSafe) Match(v any) error    { return c.match(v, wallClock()) }
func (c *UrlSafe) String() string       { return c.Type().String() }
func (c *UrlSafe) match(v any, ec *evalContext) error {
	return errors.New("UrlSafe constraints are not supported yet")
}
func (c *UrlSafe) validate() error                   { return nil }
func (c *UrlSafe) narrowedBy(child Constraint) error { return incompatible(c, child) }
