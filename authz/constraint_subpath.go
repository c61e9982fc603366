package authz

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Subpath follows Tenuo's Subpath (constraints.rs) and is stricter in three
// places, each marked "Stricter than Tenuo" below:
//   - a root that is not in normal form (trailing slash, "." or "..",
//     backslashes after the drive) matches nothing, where Tenuo compares raw
//     text and may accept some paths under it;
//   - case-insensitive matching folds ASCII letters only and needs a root
//     that is already lower case; Tenuo folds with full Unicode rules;
//   - validate rejects a relative root, which Tenuo decodes and never matches.

func (c *Subpath) Type() ConstraintType { return TypeSubpath }
func (c *Subpath) Match(v any) error    { return c.match(v, wallClock()) }

// String renders the constraint, with its flags when they are not the defaults.
func (c *Subpath) String() string {
	if !c.CaseInsensitive && !c.ExcludeRoot {
		return fmt.Sprintf("Subpath(%q)", c.Root)
	}
	return fmt.Sprintf("Subpath(%q, case_sensitive=%t, allow_equal=%t)", c.Root, !c.CaseInsensitive, !c.ExcludeRoot)
}

func (c *Subpath) match(v any, _ *evalContext) error {
	p, ok := v.(string)
	if !ok {
		return noMatch("Subpath needs a string path, got %s %s", typeName(v), formatValue(v))
	}
	return c.contains(p)
}

// contains returns nil when path, lexically normalised, lies inside the root.
func (c *Subpath) contains(path string) error {
	if err := c.checkRoot(); err != nil {
		return err
	}
	if strings.IndexByte(path, 0) >= 0 {
		return fmt.Errorf("path %q contains a NUL byte", path)
	}
	if !subpathIsAbsolute(path) {
		return fmt.Errorf("path %q is not absolute", path)
	}
	n := subpathNormalize(path)
	if c.CaseInsensitive {
		n = asciiLower(n)
	}
	if n == c.Root {
		if !c.ExcludeRoot {
			return nil
		}
		return noMatch("path %q is the root %q itself, which is not allowed", path, c.Root)
	}
	if strings.HasPrefix(n, strings.TrimRight(c.Root, "/")+"/") {
		return nil
	}
	return noMatch("path %q (normalised %q) is not inside root %q", path, n, c.Root)
}

// checkRoot reports a root that can match nothing: relative, with NUL, not in
// normal form, or (case-insensitive) not in lower case.
func (c *Subpath) checkRoot() error {
	if c.Root == "" || !subpathIsAbsolute(c.Root) {
		return fmt.Errorf("Subpath root %q is not an absolute path", c.Root)
	}
	if strings.IndexByte(c.Root, 0) >= 0 {
		return fmt.Errorf("Subpath root %q contains a NUL byte", c.Root)
	}
	// Stricter than Tenuo: Tenuo compares against the root's raw text; a root
	// that normalisation would change is refused here instead of half-working.
	if !subpathIsNormal(c.Root) {
		n := subpathNormalize(c.Root)
		return fmt.Errorf("Subpath root %q is not in normal form (%q): it matches nothing", c.Root, n)
	}
	// Stricter than Tenuo: a case-insensitive root must already be lower
	// case (Tenuo's constructor lower-cases it; the wire may not).
	if c.CaseInsensitive && (!utf8.ValidString(c.Root) || strings.ToLower(c.Root) != c.Root) {
		return fmt.Errorf("case-insensitive Subpath root %q is not in lower case: it matches nothing", c.Root)
	}
	return nil
}

// validate rejects a root that is relative, empty or holds NUL. A root that
// is absolute but not normalised is accepted (Tenuo decodes it) and denies.
func (c *Subpath) validate() error {
	if c.Root == "" {
		return errors.New("Subpath root is empty")
	}
	if strings.IndexByte(c.Root, 0) >= 0 {
		return fmt.Errorf("Subpath root %q contains a NUL byte", c.Root)
	}
	if !subpathIsAbsolute(c.Root) {
		return fmt.Errorf("Subpath root %q is not an absolute path", c.Root)
	}
	return nil
}

// narrowedBy follows Tenuo: the child's root must be a path the parent
// accepts (so a parent with allow_equal=false refuses a child with the same
// root), case sensitivity may not be dropped and allow_equal may not be
// turned on.
func (c *Subpath) narrowedBy(child Constraint) error {
	ch, ok := child.(*Subpath)
	if !ok {
		return incompatible(c, child)
	}
	if err := c.contains(ch.Root); err != nil {
		return fmt.Errorf("child Subpath root is not inside the parent's: %v", err)
	}
	if !c.CaseInsensitive && ch.CaseInsensitive {
		return errors.New("cannot attenuate a case-sensitive Subpath to a case-insensitive one")
	}
	if c.ExcludeRoot && !ch.ExcludeRoot {
		return errors.New("cannot attenuate Subpath allow_equal=false to allow_equal=true")
	}
	return nil
}

// subpathIsAbsolute reports whether p is absolute as Tenuo sees it: it starts
// with '/', or with a drive letter, ':' and a separator ("C:\", "C:/").
func subpathIsAbsolute(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 3 && isASCIILetter(p[0]) && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
}

func isASCIILetter(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }

// subpathNormalize normalises an absolute path lexically, exactly as Tenuo's
// normalize_path does: it keeps the leading "/" or drive prefix ("C:\",
// "C:/"), splits the rest on both '/' and '\', drops empty and "."
// components, lets ".." remove the previous component (never going above the
// prefix), and joins what is left with '/'.
func subpathNormalize(p string) string {
	prefix, rest := "", p
	switch {
	case strings.HasPrefix(p, "/"):
		prefix, rest = "/", p[1:]
	case len(p) >= 2 && p[1] == ':':
		sep := 2
		if len(p) > 2 && (p[2] == '\\' || p[2] == '/') {
			sep = 3
		}
		prefix, rest = p[:sep], p[sep:]
	}
	var stack [16]string
	comps := stack[:0]
	for rest != "" {
		i := strings.IndexAny(rest, `/\`)
		var comp string
		if i < 0 {
			comp, rest = rest, ""
		} else {
			comp, rest = rest[:i], rest[i+1:]
		}
		switch comp {
		case "", ".":
		case "..":
			if len(comps) > 0 {
				comps = comps[:len(comps)-1]
			}
		default:
			comps = append(comps, comp)
		}
	}
	var b strings.Builder
	b.Grow(len(p))
	b.WriteString(prefix)
	for i, comp := range comps {
		if (i > 0 || prefix != "") && !strings.HasSuffix(b.String(), "/") && !strings.HasSuffix(b.String(), `\`) {
			b.WriteByte('/')
		}
		b.WriteString(comp)
	}
	return b.String()
}

// subpathIsNormal reports, without allocating, whether subpathNormalize
// would return p unchanged.
func subpathIsNormal(p string) bool {
	if p == "/" {
		return true
	}
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, '\\') >= 0 {
		return subpathNormalize(p) == p
	}
	for rest := p[1:]; ; {
		i := strings.IndexByte(rest, '/')
		comp := rest
		if i >= 0 {
			comp = rest[:i]
		}
		if comp == "" || comp == "." || comp == ".." {
			return false
		}
		if i < 0 {
			return true
		}
		rest = rest[i+1:]
	}
}

// asciiLower lower-cases ASCII letters only.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
