package authz

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the string-shape constraints: Pattern (a glob, see
// glob.go) and Regex.

// --- Pattern ---

func (c *Pattern) Type() ConstraintType { return TypePattern }
func (c *Pattern) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Pattern) String() string {
	if c == nil {
		return "Pattern(<nil>)"
	}
	return "Pattern(" + strconv.Quote(c.Pattern) + ")"
}

// compiled returns the glob, compiling into a local when validate has not
// run (the receiver is never written outside validate).
func (c *Pattern) compiled() (*globMatcher, error) {
	if c.glob != nil {
		return c.glob, nil
	}
	return compileGlob(c.Pattern)
}

// match accepts a string the glob matches. Another type is a plain
// non-match (Tenuo: Ok(false)); an invalid glob, or a string that is not
// valid UTF-8 (Rust strings always are), cannot be evaluated.
func (c *Pattern) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Pattern constraint: denied")
	}
	g, err := c.compiled()
	if err != nil {
		return err
	}
	s, err := needString("Pattern", v)
	if err != nil {
		return err
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("cannot evaluate %s: value is not valid UTF-8", c)
	}
	// The matcher is O(pattern × input). A presented warrant's constraints are
	// evaluated before its signatures (cheap checks first), so a forged
	// warrant must not be able to buy seconds of CPU with a huge pattern.
	if len(c.Pattern)*len(s) > maxGlobWork {
		return fmt.Errorf("cannot evaluate %s on a %d-byte value: pattern × value exceeds the matching budget", c, len(s))
	}
	if !g.match(s) {
		return noMatch("%s does not match pattern %s", strconv.Quote(s), strconv.Quote(c.Pattern))
	}
	return nil
}

// validate compiles the glob; what the Rust glob crate refuses is an error.
func (c *Pattern) validate() error {
	if c == nil {
		return errors.New("missing Pattern constraint")
	}
	g, err := compileGlob(c.Pattern)
	if err != nil {
		return fmt.Errorf("Pattern: %w", err)
	}
	c.glob = g
	return nil
}

// patternShape classifies a glob for narrowing as Tenuo does, by its count
// of '*' characters (wherever they are): none is exact, one at the end a
// prefix pattern "P*", one at the start a suffix pattern "*S", anything else
// complex.
type patternShape uint8

const (
	shapeExact patternShape = iota
	shapePrefix
	shapeSuffix
	shapeComplex
)

func classifyPattern(p string) (patternShape, string) {
	switch strings.Count(p, "*") {
	case 0:
		return shapeExact, p
	case 1:
		if strings.HasSuffix(p, "*") {
			return shapePrefix, p[:len(p)-1]
		}
		if strings.HasPrefix(p, "*") {
			return shapeSuffix, p[1:]
		}
	}
	return shapeComplex, p
}

// narrowedBy follows Tenuo's Pattern rules: an identical pattern always;
// a prefix pattern "P*" to "PQ*" or to a star-free "PQ"; a suffix pattern
// "*S" to "*RS" or to a star-free "RS"; nothing else.
//
// Tenuo compares the raw text only, which is unsafe for suffixes: "*a]" to
// "*[a]" passes its check, yet "[a]" is a class and the child matches "xa",
// which the parent refuses. We also require the child's tokens to split
// exactly where the parent's text starts (suffix) or ends (prefix), so that
// the shared text is the same glob in both; otherwise we refuse.
func (c *Pattern) narrowedBy(child Constraint) error {
	ch, ok := child.(*Pattern)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if _, err := c.compiled(); err != nil {
		return err
	}
	cg, err := ch.compiled()
	if err != nil {
		return err
	}
	if ch.Pattern == c.Pattern {
		return nil
	}
	refuse := func(rule string) error {
		return fmt.Errorf("pattern expanded: %s cannot narrow to %s: %s", c, ch, rule)
	}
	pShape, pText := classifyPattern(c.Pattern)
	cShape, cText := classifyPattern(ch.Pattern)
	switch pShape {
	case shapeExact:
		return refuse("a pattern without '*' narrows only to itself")
	case shapeComplex:
		return refuse("a pattern with a middle or several '*' narrows only to itself")
	case shapePrefix:
		if cShape != shapePrefix && cShape != shapeExact {
			return refuse("a prefix pattern narrows only to a longer prefix pattern or a pattern without '*'")
		}
		if !strings.HasPrefix(cText, pText) {
			return refuse(fmt.Sprintf("child does not start with the parent's prefix %q", pText))
		}
		if !cg.boundaryAt(len(pText)) {
			return refuse(fmt.Sprintf("the prefix %q is not a whole glob in the child", pText))
		}
		return nil
	case shapeSuffix:
		if cShape != shapeSuffix && cShape != shapeExact {
			return refuse("a suffix pattern narrows only to a longer suffix pattern or a pattern without '*'")
		}
		if !strings.HasSuffix(cText, pText) {
			return refuse(fmt.Sprintf("child does not end with the parent's suffix %q", pText))
		}
		if !cg.boundaryAt(len(ch.Pattern) - len(pText)) {
			return refuse(fmt.Sprintf("the suffix %q is not a whole glob in the child", pText))
		}
		return nil
	}
	return refuse("unknown pattern shape")
}

// --- Regex ---

// regexpMatcher is a compiled Regex.
type regexpMatcher struct {
	re *regexp.Regexp
	// perl is set when the pattern uses \d \D \w \W \s \S \b or \B. Go
	// gives them ASCII meanings and Rust's regex crate Unicode ones, so such
	// a pattern is evaluated only on input where both agree (see match).
	perl bool
}

// compileRegex compiles an expression of Rust's regex crate with Go's RE2
// engine, refusing the constructs whose meaning differs between the two.
func compileRegex(p string) (*regexpMatcher, error) {
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("invalid regex %q: not valid UTF-8", p)
	}
	perl, err := checkRustRegex(p)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %v", p, err)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("invalid regex %q: %v", p, err)
	}
	return &regexpMatcher{re: re, perl: perl}, nil
}

// checkRustRegex scans p for syntax that Go and Rust's regex crate read
// differently, and reports whether it uses Perl classes. Refused: nested
// classes and the set operators "&&", "--", "~~" inside a class (Rust set
// algebra, literal text to Go); "\C", "\Q" and escaped digits (Go-only or
// octal); and a '{' that does not open a counted repetition "{n}", "{n,}" or
// "{n,m}" (an error in Rust, a literal in Go). Go refuses on its own what it
// does not know (flags x and u, Rust-only escapes and properties).
func checkRustRegex(p string) (perl bool, err error) {
	inClass := false
	classStart := 0 // byte offset where the current class's members begin
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\':
			if i+1 >= len(p) {
				return false, errors.New("trailing backslash")
			}
			i++
			switch e := p[i]; {
			case strings.IndexByte("dDwWsSbB", e) >= 0:
				perl = true
			case e == 'C' || e == 'Q' || e == 'E':
				return false, fmt.Errorf(`escape \%c is not supported`, e)
			case e >= '0' && e <= '9':
				return false, fmt.Errorf(`escape \%c is not supported`, e)
			case (e == 'p' || e == 'P' || e == 'x') && i+1 < len(p) && p[i+1] == '{':
				j := strings.IndexByte(p[i+1:], '}')
				if j < 0 {
					return false, errors.New("unclosed escape braces")
				}
				i += j + 1
			}
		case inClass:
			switch {
			case ch == ']' && i > classStart:
				inClass = false
			case ch == '[' && i+1 < len(p) && p[i+1] == ':':
				j := strings.Index(p[i+2:], ":]")
				if j < 0 {
					return false, errors.New("unclosed POSIX class")
				}
				i += j + 3
			case ch == '[':
				return false, errors.New("nested character classes are not supported")
			case i+1 < len(p) && (ch == '&' || ch == '-' || ch == '~') && p[i+1] == ch:
				return false, fmt.Errorf("class set operator %q is not supported", p[i:i+2])
			}
		case ch == '[':
			inClass = true
			classStart = i + 1
			if classStart < len(p) && p[classStart] == '^' {
				classStart++
			}
		case ch == '{':
			j := strings.IndexByte(p[i:], '}')
			if j < 0 || !countedRepeat(p[i+1:i+j]) {
				return false, errors.New("'{' must open a counted repetition {n}, {n,} or {n,m}")
			}
			i += j
		}
	}
	if inClass {
		return false, errors.New("unclosed character class")
	}
	return perl, nil
}

// countedRepeat reports whether s is "n", "n," or "n,m" in ASCII digits.
func countedRepeat(s string) bool {
	lo, hi, comma := strings.Cut(s, ",")
	digits := func(t string) bool {
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return false
			}
		}
		return true
	}
	return lo != "" && digits(lo) && (!comma || digits(hi))
}

// perlSafe reports whether Go's ASCII Perl classes agree with Rust's
// Unicode ones on s: s is ASCII without \v (which Rust's \s holds and
// Go's does not).
func perlSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || s[i] == '\v' {
			return false
		}
	}
	return true
}

func (c *Regex) Type() ConstraintType { return TypeRegex }
func (c *Regex) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Regex) String() string {
	if c == nil {
		return "Regex(<nil>)"
	}
	return "Regex(" + strconv.Quote(c.Pattern) + ")"
}

func (c *Regex) compiled() (*regexpMatcher, error) {
	if c.re != nil {
		return c.re, nil
	}
	return compileRegex(c.Pattern)
}

// match accepts a string containing a match of the expression (unanchored
// search, as Rust's Regex::is_match; anchor with ^ and $). Another type is a
// plain non-match. A pattern using Perl classes or word boundaries is not
// evaluated on non-ASCII input, where Go and Rust disagree: that denies.
func (c *Regex) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Regex constraint: denied")
	}
	m, err := c.compiled()
	if err != nil {
		return err
	}
	s, err := needString("Regex", v)
	if err != nil {
		return err
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("cannot evaluate %s: value is not valid UTF-8", c)
	}
	if m.perl && !perlSafe(s) {
		return fmt.Errorf("cannot evaluate %s on non-ASCII input: its Perl classes differ between Go and Rust", c)
	}
	if !m.re.MatchString(s) {
		return noMatch("%s does not match regex %s", strconv.Quote(s), strconv.Quote(c.Pattern))
	}
	return nil
}

func (c *Regex) validate() error {
	if c == nil {
		return errors.New("missing Regex constraint")
	}
	m, err := compileRegex(c.Pattern)
	if err != nil {
		return fmt.Errorf("Regex: %w", err)
	}
	c.re = m
	return nil
}

// narrowedBy accepts only an identical expression: regular language
// inclusion is not checked (Tenuo's rule; narrow to Exact instead).
func (c *Regex) narrowedBy(child Constraint) error {
	ch, ok := child.(*Regex)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	if ch.Pattern != c.Pattern {
		return fmt.Errorf("regex attenuation requires an identical pattern: %s cannot narrow to %s (use Exact for specific values)", c, ch)
	}
	return nil
}

// maxGlobWork bounds len(pattern) × len(value) for one glob match (about
// 10 ms of work); beyond it the match is an evaluation error (deny).
const maxGlobWork = 1 << 24

// needString returns v as a string. Another type of the value model is a
// plain non-match ("<what> string, got …"); a value outside the model is an
// evaluation error.
func needString(what string, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	if err := checkModel(v); err != nil {
		return "", err
	}
	return "", noMatch("%s needs a string, got %s %s", what, typeName(v), formatValue(v))
}
