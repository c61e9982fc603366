package authz

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file holds the glob engine behind Pattern (and any other constraint
// that needs Tenuo's glob rules). It reproduces the Rust glob crate (0.3)
// with its default MatchOptions — case-sensitive, no literal separator, no
// literal leading dot — on a Unix host, where '/' is the only separator:
//
//   - '?' matches one character, '/' included;
//   - '*' matches any run of characters, '/' included;
//   - '**' must be a whole path component ("a/**/b", "**/x", "x/**", "**");
//     it matches the empty string, any run that ends with '/', or the whole
//     rest of the input; "a**", "**b" and "***" are invalid;
//   - '[...]' and '[!...]' match one character in (or not in) a set of single
//     characters and ranges "a-z"; a ']' right after '[' or '[!' is a member;
//     a '-' first or last is literal; an unclosed class is invalid;
//   - there is no escape character: '\' is literal, and metacharacters are
//     matched literally with a one-character class such as "[*]".
//
// Characters are Unicode code points, as in Rust's str::chars. The matcher
// runs in O(len(pattern) × len(input)) time with no recursion: the classic
// two-pointer walk that only ever backtracks to the most recent star.

type globKind uint8

const (
	globChar      globKind = iota // one literal code point
	globAnyChar                   // '?'
	globClass                     // '[...]' or '[!...]'
	globStar                      // '*'
	globRecursive                 // '**' as a whole path component
)

// globRange is an inclusive code point range; a single member has lo == hi.
type globRange struct{ lo, hi rune }

type globToken struct {
	kind   globKind
	r      rune        // globChar
	negate bool        // globClass: '[!...]'
	set    []globRange // globClass members
	start  int         // byte offset of the token in the pattern
}

// globMatcher is a compiled glob pattern. It is immutable once built and safe
// for concurrent use.
type globMatcher struct {
	src    string
	tokens []globToken
}

// compileGlob parses pattern with the Rust glob crate's rules and returns the
// same errors it would (as Go errors naming the position).
func compileGlob(pattern string) (*globMatcher, error) {
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("invalid glob %q: not valid UTF-8", pattern)
	}
	// Work on code points, as the Rust crate does, remembering byte offsets.
	chars := []rune(pattern)
	offs := make([]int, 0, len(chars)+1)
	for i := range pattern {
		offs = append(offs, i)
	}
	offs = append(offs, len(pattern))

	g := &globMatcher{src: pattern}
	i := 0
	for i < len(chars) {
		switch chars[i] {
		case '?':
			g.tokens = append(g.tokens, globToken{kind: globAnyChar, start: offs[i]})
			i++
		case '*':
			old := i
			for i < len(chars) && chars[i] == '*' {
				i++
			}
			switch n := i - old; {
			case n > 2:
				return nil, fmt.Errorf("invalid glob %q near position %d: wildcards are either regular '*' or recursive '**'", pattern, old+2)
			case n == 2:
				// "**" must be a whole path component: preceded by the start
				// or '/', followed by '/' (which it absorbs) or the end.
				if old != 0 && chars[old-1] != '/' {
					return nil, fmt.Errorf("invalid glob %q near position %d: recursive wildcards must form a single path component", pattern, old-1)
				}
				switch {
				case i < len(chars) && chars[i] == '/':
					i++
				case i == len(chars):
				default:
					return nil, fmt.Errorf("invalid glob %q near position %d: recursive wildcards must form a single path component", pattern, i)
				}
				// The crate collapses "**/**" into one token except at the
				// very start; either way the language is the same.
				if n := len(g.tokens); !(n > 1 && g.tokens[n-1].kind == globRecursive) {
					g.tokens = append(g.tokens, globToken{kind: globRecursive, start: offs[old]})
				}
			default:
				g.tokens = append(g.tokens, globToken{kind: globStar, start: offs[old]})
			}
		case '[':
			// The member list starts after '[' or '[!' and always takes the
			// next character, so the closing ']' is searched one further on.
			if i+4 <= len(chars) && chars[i+1] == '!' {
				if j := indexRune(chars[i+3:], ']'); j >= 0 {
					g.tokens = append(g.tokens, globToken{kind: globClass, negate: true,
						set: parseGlobSet(chars[i+2 : i+3+j]), start: offs[i]})
					i += j + 4
					continue
				}
			} else if i+3 <= len(chars) && chars[i+1] != '!' {
				if j := indexRune(chars[i+2:], ']'); j >= 0 {
					g.tokens = append(g.tokens, globToken{kind: globClass,
						set: parseGlobSet(chars[i+1 : i+2+j]), start: offs[i]})
					i += j + 3
					continue
				}
			}
			return nil, fmt.Errorf("invalid glob %q near position %d: invalid range pattern", pattern, i)
		default:
			g.tokens = append(g.tokens, globToken{kind: globChar, r: chars[i], start: offs[i]})
			i++
		}
	}
	return g, nil
}

func indexRune(rs []rune, r rune) int {
	for i, x := range rs {
		if x == r {
			return i
		}
	}
	return -1
}

// parseGlobSet reads class members: "x-y" is a range when a character
// follows the '-', anything else a single character.
func parseGlobSet(s []rune) []globRange {
	set := make([]globRange, 0, len(s))
	for i := 0; i < len(s); {
		if i+3 <= len(s) && s[i+1] == '-' {
			set = append(set, globRange{s[i], s[i+2]})
			i += 3
		} else {
			set = append(set, globRange{s[i], s[i]})
			i++
		}
	}
	return set
}

// accepts reports whether a single-character token matches r.
func (t *globToken) accepts(r rune) bool {
	switch t.kind {
	case globChar:
		return r == t.r
	case globAnyChar:
		return true
	case globClass:
		in := false
		for _, m := range t.set {
			if m.lo <= r && r <= m.hi {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}

// match reports whether s (valid UTF-8) matches the whole pattern.
//
// The walk keeps one backtrack point: the latest star and the input offset it
// will absorb up to next. Only the latest star needs revisiting: an earlier
// placement of the text between two stars can only leave the later star more
// to absorb. That holds for '**' too, because the token before a '**' is a
// literal '/' (or another '**'), so whatever extra it absorbs ends in '/'.
func (g *globMatcher) match(s string) bool {
	toks := g.tokens
	p, i := 0, 0
	back, backI := -1, 0
	for {
		if p < len(toks) {
			t := &toks[p]
			if t.kind == globStar || t.kind == globRecursive {
				back, backI = p, i // try the empty run first
				p++
				continue
			}
			if i < len(s) {
				r, w := utf8.DecodeRuneInString(s[i:])
				if t.accepts(r) {
					p++
					i += w
					continue
				}
			}
		} else if i == len(s) {
			return true
		}
		// Mismatch: let the latest star absorb more, or fail.
		if back < 0 || backI >= len(s) {
			return false
		}
		if toks[back].kind == globStar {
			_, w := utf8.DecodeRuneInString(s[backI:])
			backI += w
		} else if j := strings.IndexByte(s[backI:], '/'); j >= 0 {
			backI += j + 1 // '**' resumes only after a separator...
		} else {
			backI = len(s) // ...or swallows the rest of the input
		}
		p, i = back+1, backI
	}
}

// boundaryAt reports whether a token starts at byte offset off of the
// pattern, or off is its end: then the pattern splits there into two globs
// whose languages concatenate.
func (g *globMatcher) boundaryAt(off int) bool {
	if off == len(g.src) {
		return true
	}
	for _, t := range g.tokens {
		if t.start == off {
			return true
		}
		if t.start > off {
			return false
		}
	}
	return false
}
