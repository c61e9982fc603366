package authz

import "errors"

// Placeholder: this family is being written; until then it decodes and denies.

type cidrPrefix struct{}

func (c *Cidr) Type() ConstraintType { return TypeCidr }
func (c *Cidr) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Cidr) String() string       { return c.Type().String() }
func (c *Cidr) match(v any, ec *evalContext) error {
	return errors.New("Cidr constraints are not supported yet")
}
func (c *Cidr) validate() error                   { return nil }
func (c *Cidr) narrowedBy(child Constraint) error { return incompatible(c, child) }
