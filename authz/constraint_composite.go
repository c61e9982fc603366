package authz

import (
	"errors"
	"fmt"
	"strings"
)

// Two kinds of failure come out of a constraint's match:
//
//   - a plain non-match, made with [noMatch]: the value was evaluated and does
//     not satisfy the rule ("x" is not 5; 7 is outside 0..5; a number given
//     to Pattern). It wraps errNoMatch, and Not turns it into a match.
//   - anything else is an evaluation error: the constraint could not decide
//     (an unparsable IP under CIDR, an invalid glob, an unknown constraint
//     type, a value outside the value model, nesting too deep). Not passes it
//     on unchanged, so a failure to evaluate can never become an allow.
//
// This mirrors Tenuo, whose matches returns Ok(false) for the first kind and
// Err for the second, with Not computing !inner? (errors propagate). A
// value of the wrong type is a plain non-match there too, so Not(Exact(5))
// matches the string "x" and Not(Pattern("a*")) matches the number 5.
//
// Constraint families that return plain errors for their non-matches are
// treated as unevaluable under Not and deny: safe, but they should use
// noMatch for ordinary non-matches.

// An evaluation error that depends on the constraint alone, never on the
// value (an empty All, an unknown type, nesting too deep), is a *ruleError:
// its text may be shown in a denial's message, which never quotes the
// argument's value.
type ruleError struct{ msg string }

func (e *ruleError) Error() string { return e.msg }

// invalidRule returns a *ruleError; the message is formatted like
// fmt.Sprintf and must not mention the value being checked.
func invalidRule(format string, args ...any) error {
	return &ruleError{msg: fmt.Sprintf(format, args...)}
}

// errNoMatch is wrapped by every plain non-match; test with isNoMatch.
var errNoMatch = errors.New("value does not satisfy the constraint")

// mismatchError is a plain non-match with its reason.
type mismatchError struct{ msg string }

func (e *mismatchError) Error() string        { return e.msg }
func (e *mismatchError) Is(target error) bool { return target == errNoMatch }

// noMatch returns a plain non-match error; the message is formatted like
// fmt.Sprintf and should name the value and the rule.
func noMatch(format string, args ...any) error {
	return &mismatchError{msg: fmt.Sprintf(format, args...)}
}

// isNoMatch reports whether err is a plain non-match rather than an
// evaluation error.
func isNoMatch(err error) bool { return err != nil && errors.Is(err, errNoMatch) }

// nestingDepth returns the composite nesting depth of c as Tenuo counts it
// (All, Any and Not add one, every other type is 0), stopping once it passes
// limit so that a cyclic structure built by hand still terminates.
func nestingDepth(c Constraint, limit int) int {
	if limit < 0 {
		return 0
	}
	deepest := func(cs []Constraint) int {
		d := 0
		for _, k := range cs {
			if n := nestingDepth(k, limit-1); n > d {
				d = n
			}
			if d >= limit {
				break
			}
		}
		return 1 + d
	}
	switch x := c.(type) {
	case *All:
		if x != nil {
			return deepest(x.Constraints)
		}
	case *Any:
		if x != nil {
			return deepest(x.Constraints)
		}
	case *Not:
		if x != nil {
			return 1 + nestingDepth(x.Constraint, limit-1)
		}
	}
	return 0
}

// checkNesting refuses a composite nested deeper than MaxConstraintNesting.
func checkNesting(c Constraint) error {
	if d := nestingDepth(c, MaxConstraintNesting+1); d > MaxConstraintNesting {
		return fmt.Errorf("%s nested deeper than %d levels", c.Type(), MaxConstraintNesting)
	}
	return nil
}

// matchNested evaluates a clause of a composite at the given nesting depth,
// so that evaluation of a structure never validated (even a cyclic one) ends.
func matchNested(c Constraint, v any, ec *evalContext, depth int) error {
	if depth > MaxConstraintNesting {
		return invalidRule("constraint nested deeper than %d levels: denied", MaxConstraintNesting)
	}
	switch x := c.(type) {
	case nil:
		return invalidRule("missing constraint: denied")
	case *All:
		return x.matchAt(v, ec, depth)
	case *Any:
		return x.matchAt(v, ec, depth)
	case *Not:
		return x.matchAt(v, ec, depth)
	}
	return c.match(v, ec)
}

// validateClauses validates the clauses of a composite.
func validateClauses(kind string, cs []Constraint) error {
	for i, k := range cs {
		if k == nil {
			return fmt.Errorf("%s: clause %d is missing", kind, i)
		}
		if err := k.validate(); err != nil {
			return fmt.Errorf("%s: clause %d: %w", kind, i, err)
		}
	}
	return nil
}

func clausesString(kind string, cs []Constraint) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteString("([")
	for i, k := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		if k == nil {
			b.WriteString("<nil>")
		} else {
			b.WriteString(k.String())
		}
	}
	b.WriteString("])")
	return b.String()
}

// --- All ---

func (c *All) Type() ConstraintType { return TypeAll }
func (c *All) Match(v any) error    { return c.match(v, wallClock()) }

func (c *All) String() string {
	if c == nil {
		return "All(<nil>)"
	}
	return clausesString("All", c.Constraints)
}

func (c *All) match(v any, ec *evalContext) error { return matchNested(c, v, ec, 0) }

// matchAt evaluates the clauses in order and stops at the first that fails,
// as Tenuo does: a later clause is not evaluated after a non-match. An empty
// All is invalid and denies every value, as Tenuo's current verifier does;
// it is an evaluation error, not a non-match, so that Not(All([])) denies
// too instead of allowing everything.
func (c *All) matchAt(v any, ec *evalContext, depth int) error {
	if c == nil {
		return invalidRule("missing All constraint: denied")
	}
	if len(c.Constraints) == 0 {
		return errEmptyAll
	}
	for i, k := range c.Constraints {
		if err := matchNested(k, v, ec, depth+1); err != nil {
			return fmt.Errorf("All clause %d: %w", i, err)
		}
	}
	return nil
}

// errEmptyAll is the evaluation error of an empty All.
var errEmptyAll = invalidRule("All([]) is invalid: an empty All denies every value")

// hasEmptyAll reports whether c is or contains (at any nesting depth within
// the limit) an empty All.
func hasEmptyAll(c Constraint) bool { return hasEmptyAllAt(c, 0) }

func hasEmptyAllAt(c Constraint, depth int) bool {
	if depth > MaxConstraintNesting {
		return false
	}
	switch x := c.(type) {
	case *All:
		if x == nil {
			return false
		}
		if len(x.Constraints) == 0 {
			return true
		}
		for _, k := range x.Constraints {
			if hasEmptyAllAt(k, depth+1) {
				return true
			}
		}
	case *Any:
		if x == nil {
			return false
		}
		for _, k := range x.Constraints {
			if hasEmptyAllAt(k, depth+1) {
				return true
			}
		}
	case *Not:
		if x != nil {
			return hasEmptyAllAt(x.Constraint, depth+1)
		}
	}
	return false
}

// validate accepts an empty All: a warrant that holds one still decodes, and
// the constraint denies when it is evaluated and refuses any delegation. The
// builders refuse to mint one (Mint and Attenuate).
func (c *All) validate() error {
	if c == nil {
		return errors.New("missing All constraint")
	}
	if err := checkNesting(c); err != nil {
		return err
	}
	return validateClauses("All", c.Constraints)
}

// narrowedBy accepts an All whose clauses narrow every parent clause: each
// parent clause must be narrowed by some child clause (Tenuo's rule; the
// child may add clauses). Any other child type is incompatible.
func (c *All) narrowedBy(child Constraint) error {
	ch, ok := child.(*All)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if err := checkNestingPair(c, ch); err != nil {
		return err
	}
	// Every parent clause must be narrowed by some child clause.
	if i := firstUncovered(c.Constraints, ch.Constraints, func(pc, cc Constraint) bool { return checkNarrowing(pc, cc) == nil }); i >= 0 {
		return fmt.Errorf("child All must keep every parent clause: parent clause %d %s is narrowed by no child clause", i, constraintString(c.Constraints[i]))
	}
	return nil
}

// checkNestingPair checks both sides of a narrowing against the nesting limit.
func checkNestingPair(parent, child Constraint) error {
	if err := checkNesting(parent); err != nil {
		return err
	}
	return checkNesting(child)
}

// firstUncovered returns the index of the first element of each that no
// element of by covers, or -1 when every one is covered.
func firstUncovered(each, by []Constraint, covers func(e, b Constraint) bool) int {
	for i, e := range each {
		found := false
		for _, b := range by {
			if covers(e, b) {
				found = true
				break
			}
		}
		if !found {
			return i
		}
	}
	return -1
}

// --- Any ---

func (c *Any) Type() ConstraintType { return TypeAny }
func (c *Any) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Any) String() string {
	if c == nil {
		return "Any(<nil>)"
	}
	return clausesString("Any", c.Constraints)
}

func (c *Any) match(v any, ec *evalContext) error { return matchNested(c, v, ec, 0) }

// matchAt evaluates the clauses in order: the first match wins, and an
// evaluation error met before any match denies, as in Tenuo. An empty Any
// matches nothing.
func (c *Any) matchAt(v any, ec *evalContext, depth int) error {
	if c == nil {
		return invalidRule("missing Any constraint: denied")
	}
	if len(c.Constraints) == 0 {
		return noMatch("%s matches no alternative of an empty Any", formatValue(v))
	}
	var reasons []string
	for i, k := range c.Constraints {
		err := matchNested(k, v, ec, depth+1)
		if err == nil {
			return nil
		}
		if !isNoMatch(err) {
			return fmt.Errorf("Any clause %d: %w", i, err)
		}
		if len(reasons) < 4 {
			reasons = append(reasons, err.Error())
		}
	}
	return noMatch("%s matches none of %d alternatives (%s)", formatValue(v), len(c.Constraints), strings.Join(reasons, "; "))
}

func (c *Any) validate() error {
	if c == nil {
		return errors.New("missing Any constraint")
	}
	if err := checkNesting(c); err != nil {
		return err
	}
	return validateClauses("Any", c.Constraints)
}

// narrowedBy accepts an Any each of whose branches narrows some parent
// branch (Tenuo's rule: the child may only drop or narrow alternatives). Any
// other child type is incompatible.
func (c *Any) narrowedBy(child Constraint) error {
	ch, ok := child.(*Any)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if err := checkNestingPair(c, ch); err != nil {
		return err
	}
	// Every child branch must narrow some parent branch.
	if i := firstUncovered(ch.Constraints, c.Constraints, func(cc, pc Constraint) bool { return checkNarrowing(pc, cc) == nil }); i >= 0 {
		return fmt.Errorf("each child Any branch must narrow some parent branch: child branch %d %s narrows none", i, constraintString(ch.Constraints[i]))
	}
	return nil
}

// --- Not ---

func (c *Not) Type() ConstraintType { return TypeNot }
func (c *Not) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Not) String() string {
	if c == nil {
		return "Not(<nil>)"
	}
	return "Not(" + constraintString(c.Constraint) + ")"
}

func (c *Not) match(v any, ec *evalContext) error { return matchNested(c, v, ec, 0) }

// matchAt matches when the inner constraint does not match; an inner
// evaluation error is passed on (it denies), never inverted.
func (c *Not) matchAt(v any, ec *evalContext, depth int) error {
	if c == nil {
		return invalidRule("missing Not constraint: denied")
	}
	err := matchNested(c.Constraint, v, ec, depth+1)
	switch {
	case err == nil:
		return noMatch("%s is excluded by %s", formatValue(v), c)
	case isNoMatch(err):
		return nil
	default:
		return fmt.Errorf("Not: inner constraint cannot be evaluated: %w", err)
	}
}

func (c *Not) validate() error {
	if c == nil || c.Constraint == nil {
		return errors.New("Not: missing inner constraint")
	}
	if err := checkNesting(c); err != nil {
		return err
	}
	if err := c.Constraint.validate(); err != nil {
		return fmt.Errorf("Not: %w", err)
	}
	return nil
}

// narrowedBy accepts Not(B) under Not(A) when B is at least as broad as A,
// that is, A narrows B: excluding more is narrowing. Any other child type is
// incompatible.
func (c *Not) narrowedBy(child Constraint) error {
	ch, ok := child.(*Not)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if err := checkNestingPair(c, ch); err != nil {
		return err
	}
	if err := checkNarrowing(ch.Constraint, c.Constraint); err != nil {
		return fmt.Errorf("Not attenuation requires the child's inner constraint to be at least as broad as the parent's: %v", err)
	}
	return nil
}

// --- Wildcard ---

func (c *Wildcard) Type() ConstraintType { return TypeWildcard }
func (c *Wildcard) Match(v any) error    { return c.match(v, wallClock()) }
func (c *Wildcard) String() string       { return "Wildcard" }

// match accepts any value.
func (c *Wildcard) match(v any, ec *evalContext) error { return nil }
func (c *Wildcard) validate() error                    { return nil }

// narrowedBy accepts anything: a Wildcard parent admits every child (the
// general rule in checkNarrowing already says so).
func (c *Wildcard) narrowedBy(child Constraint) error { return nil }

// --- UnknownConstraint ---

func (c *UnknownConstraint) Type() ConstraintType {
	if c == nil {
		return 0
	}
	return c.TypeID
}
func (c *UnknownConstraint) Match(v any) error { return c.match(v, wallClock()) }
func (c *UnknownConstraint) String() string {
	return fmt.Sprintf("Unknown(%d)", uint8(c.Type()))
}

// match never matches: an unknown type is an evaluation error (fail closed),
// so Not(Unknown) denies too.
func (c *UnknownConstraint) match(v any, ec *evalContext) error {
	return invalidRule("unknown constraint type %d: denied", uint8(c.Type()))
}

func (c *UnknownConstraint) validate() error { return nil }

// narrowedBy refuses every child: nothing is known to be narrower than an
// unknown rule (Tenuo: incompatible).
func (c *UnknownConstraint) narrowedBy(child Constraint) error { return incompatible(c, child) }

// constraintString renders c, or "<nil>".
func constraintString(c Constraint) string {
	if c == nil {
		return "<nil>"
	}
	return c.String()
}
