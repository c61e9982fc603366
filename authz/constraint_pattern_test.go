package authz

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// ctRefGlob is a direct port of the Rust glob crate's recursive matcher
// (Pattern::matches_from with default options, including its early "entire
// pattern does not match" exit and the fall-through after a '**' has eaten
// the input). FuzzGlob checks the linear matcher against it.
func ctRefGlob(toks []globToken, s []rune) bool { return ctRefFrom(toks, s, 0) == 0 }

// ctRefFrom returns 0 match, 1 sub-pattern does not match, 2 entire pattern
// does not match.
func ctRefFrom(toks []globToken, s []rune, ti int) int {
	for k := ti; k < len(toks); k++ {
		t := &toks[k]
		switch t.kind {
		case globStar, globRecursive:
			if r := ctRefFrom(toks, s, k+1); r != 1 {
				return r
			}
			for len(s) > 0 {
				c := s[0]
				s = s[1:]
				if t.kind == globRecursive && c != '/' {
					continue
				}
				if r := ctRefFrom(toks, s, k+1); r != 1 {
					return r
				}
			}
		default:
			if len(s) == 0 {
				return 2
			}
			if !t.accepts(s[0]) {
				return 1
			}
			s = s[1:]
		}
	}
	if len(s) == 0 {
		return 0
	}
	return 1
}

func TestGlobMatch(t *testing.T) {
	type tc struct {
		pattern, input string
		want           bool
	}
	tests := []tc{
		// the glob crate's own cases
		{"a*b", "a_b", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "abcd", false},
		{"a*b*c", "a___b___c", true},
		{"abc*abc*abc", "abcabcabcabcabcabcabc", true},
		{"abc*abc*abc", "abcabcabcabcabcabcabca", false},
		{"a*a*a*a*a*a*a*a*a", strings.Repeat("a", 31), true},
		{"a*b[xyz]c*d", "abxcdbxcddd", true},
		{"some/**/needle.txt", "some/needle.txt", true},
		{"some/**/needle.txt", "some/one/needle.txt", true},
		{"some/**/needle.txt", "some/one/two/needle.txt", true},
		{"some/**/needle.txt", "some/other/notthis.txt", false},
		{"some/**/**/needle.txt", "some/one/two/needle.txt", true},
		{"some/**/**/needle.txt", "some/needle.txt", true},
		{"**", "abcde", true},
		{"**", "", true},
		{"**", ".asdf", true},
		{"**", "/x/.asdf", true},
		{"**/test", "one/two/test", true},
		{"**/test", "one/test", true},
		{"**/test", "test", true},
		{"**/test", "onetest", false},
		{"/**/test", "/one/two/test", true},
		{"/**/test", "/test", true},
		{"/**/test", "/one/notthis", false},
		{"/**/test", "/notthis", false},
		{"**/.*", ".abc", true},
		{"**/.*", "abc/.abc", true},
		{"**/.*", "ab.c", false},
		{"**/.*", "abc/ab.c", false},
		{"x/**", "x/abc", true}, // '**' last swallows the rest
		{"x/**", "x/", true},
		{"x/**", "x", false},
		{"a[0-9]b", "a5b", true},
		{"a[0-9]b", "a_b", false},
		{"a[!0-9]b", "a5b", false},
		{"a[!0-9]b", "a_b", true},
		{"[a-z123]", "q", true},
		{"[1a-z23]", "2", true},
		{"[123a-z]", "Q", false}, // case-sensitive
		{"[abc-]", "-", true},
		{"[-abc]", "-", true},
		{"[a-c-]", "d", false},
		{"[2-1]", "1", false},
		{"[2-1]", "2", false},
		{"[-]", "-", true},
		{"[!-]", "-", false},
		{"[]]", "]", true},
		{"[]a]", "a", true},
		{"[!]]", "]", false},
		{"[!]]", "x", true},
		{"[*]", "*", true},
		{"[*]", "x", false},
		{"[?]", "?", true},
		{"[[]", "[", true},
		{"a]", "a]", true},
		{`a\*`, `a\xyz`, true}, // no escapes: '\' is literal, '*' a star
		{`a\*`, `a*`, false},
		// Tenuo's cases
		{"staging-*", "staging-web", true},
		{"staging-*", "staging-", true},
		{"staging-*", "Staging-web", false},
		{"*@company.com", "cfo@company.com", true},
		{"*@company.com", "cfo@company.com.evil.com", false},
		{"/data/*/file.txt", "/data/reports/file.txt", true},
		{"/data/*/file.txt", "/data/file.txt", false},
		{"/*/reports/*.pdf", "/data/reports/q3.pdf", true},
		{"*-prod-*", "-prod-", true},
		{"*-prod-*", "prod-only", false},
		{"*", "foo/bar/baz", true},
		{"*", "", true},
		{"file?.txt", "file12.txt", false},
		{"env-[psd]*", "env-test", false},
		// '*' and '?' cross '/'
		{"/data/*", "/data/a/b/c", true},
		{"/data/?", "/data//", true},
		// code points, not bytes
		{"?", "é", true},
		{"??", "é", false},
		{"[à-ü]", "é", true},
		{"caf?", "café", true},
		{"", "", true},
		{"", "a", false},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tt.pattern, err)
			continue
		}
		if got := g.match(tt.input); got != tt.want {
			t.Errorf("glob %q on %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
		}
		if ref := ctRefGlob(g.tokens, []rune(tt.input)); ref != tt.want {
			t.Errorf("reference glob %q on %q = %v, want %v", tt.pattern, tt.input, ref, tt.want)
		}
	}
}

func TestGlobInvalid(t *testing.T) {
	for _, p := range []string{
		"a/**b", "a/bc**", "a/*****", "a/b**c**d", "a**b", "***", "**a", "x**",
		"abc[def", "abc[!def", "abc[", "abc[!", "abc[d", "abc[!d", "abc[]", "abc[!]", "[", "[!", "[]", "[!]",
		"a\xffb",
	} {
		if _, err := compileGlob(p); err == nil {
			t.Errorf("compileGlob(%q) succeeded, want error", p)
		}
		if err := (&Pattern{Pattern: p}).validate(); err == nil {
			t.Errorf("Pattern(%q).validate() succeeded, want error", p)
		}
	}
	// Valid forms near the edges.
	for _, p := range []string{"**", "**/", "/**", "a/**/b", "**/**/x", "[]]", "[!]]", "[!a]", "]", "a]b", "[-]"} {
		if _, err := compileGlob(p); err != nil {
			t.Errorf("compileGlob(%q): %v", p, err)
		}
	}
}

// TestGlobLinear runs inputs that make naive backtracking matchers blow up;
// it would not finish if the matcher were exponential.
func TestGlobLinear(t *testing.T) {
	long := strings.Repeat("a", 20000)
	for _, p := range []string{
		strings.Repeat("*a", 30) + "*b",
		strings.Repeat("a*", 30) + "b",
		strings.Repeat("**/", 1) + strings.Repeat("*a", 20) + "b",
	} {
		g, err := compileGlob(p)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", p, err)
		}
		if g.match(long) {
			t.Errorf("glob %q matched a string without 'b'", p)
		}
		if !g.match(long + "b") {
			t.Errorf("glob %q did not match a string ending in 'b'", p)
		}
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		name    string
		c       *Pattern
		v       any
		ok      bool
		noMatch bool // want a plain non-match (else an evaluation error)
	}{
		{"match", &Pattern{Pattern: "/data/*"}, "/data/x/y", true, false},
		{"no match", &Pattern{Pattern: "/data/*"}, "/etc/passwd", false, true},
		{"int", &Pattern{Pattern: "*"}, int64(5), false, true},
		{"nil", &Pattern{Pattern: "*"}, nil, false, true},
		{"list", &Pattern{Pattern: "*"}, []any{"a"}, false, true},
		{"invalid utf8", &Pattern{Pattern: "*"}, "a\xff", false, false},
		{"invalid glob, not validated", &Pattern{Pattern: "a[b"}, "a[b", false, false},
		{"outside value model", &Pattern{Pattern: "*"}, 5, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch)
			if err := tt.c.validate(); err == nil {
				ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch) // compiled form agrees
			}
		})
	}
}

func TestRegexMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		v       any
		ok      bool
		noMatch bool
	}{
		{"anchored", `^prod-[a-z]+$`, "prod-web", true, false},
		{"anchored miss", `^prod-[a-z]+$`, "prod-123", false, true},
		{"unanchored search", `prod`, "my-prod-db", true, false},
		{"digits ascii", `^\d{3}$`, "123", true, false},
		{"digits ascii miss", `^\d{3}$`, "12a", false, true},
		{"perl class on non-ascii denies", `^\w+$`, "héllo", false, false},
		{"perl class on vertical tab denies", `\s`, "a\vb", false, false},
		{"non-ascii without perl classes", `^h.llo$`, "héllo", true, false},
		{"int", `.*`, int64(1), false, true},
		{"bool", `.*`, true, false, true},
		{"invalid utf8", `.*`, "\xff", false, false},
		{"empty string", `^$`, "", true, false},
		{"case fold", `(?i)^ADMIN$`, "admin", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Regex{Pattern: tt.pattern}
			ctCheckMatch(t, c, tt.v, tt.ok, tt.noMatch)
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			ctCheckMatch(t, c, tt.v, tt.ok, tt.noMatch)
		})
	}
}

func TestRegexInvalid(t *testing.T) {
	for _, p := range []string{
		`(`, `[a`, `a{2`, `a{,3}`, `x{`, `\C`, `\Qa\E`, `\1`, `\0`, `[a-z&&[^aeiou]]`, `[a[bc]]`, `[a~~b]`,
		`[a--b]`, `(?x) a`, `(?-u)a`, `\p{Alphabetic}`, `a\`, "\xff",
	} {
		if err := (&Regex{Pattern: p}).validate(); err == nil {
			t.Errorf("Regex(%q).validate() succeeded, want error", p)
		}
		if err := (&Regex{Pattern: p}).Match("a"); err == nil || isNoMatch(err) {
			t.Errorf("Regex(%q).Match = %v, want an evaluation error", p, err)
		}
	}
	for _, p := range []string{`a{2}`, `a{2,}`, `a{2,5}`, `[{]`, `[[:alpha:]]`, `[]a]`, `[^]a]`, `\p{Greek}`, `\pL`, `\x{41}`, `(?P<n>a)`, `a-b`, `[a-]`} {
		if err := (&Regex{Pattern: p}).validate(); err != nil {
			t.Errorf("Regex(%q).validate(): %v", p, err)
		}
	}
}

func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*", ""}, {"a*b*c", "a___b___c"}, {"some/**/needle.txt", "some/one/needle.txt"},
		{"**/.*", "abc/.abc"}, {"x/**", "x/abc"}, {"[!]]*", "a]"}, {"[a-c-]?", "-x"},
		{"*/**/b", "a/x/b"}, {"**/**/a", "x/a"}, {"?*?", "é"}, {"[[]*]", "[]"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, input string) {
		// The matcher is O(len(pattern) × len(input)); keep each run short.
		if len(pattern) > 2048 || len(input) > 2048 {
			return
		}
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		if !utf8.ValidString(input) {
			return
		}
		got := g.match(input)
		// The reference is exponential in the worst case: compare on short
		// inputs only.
		if len(g.tokens) <= 12 && utf8.RuneCountInString(input) <= 16 {
			if want := ctRefGlob(g.tokens, []rune(input)); got != want {
				t.Fatalf("glob %q on %q: linear matcher %v, reference %v", pattern, input, got, want)
			}
		}
		// A pattern without metacharacters matches exactly itself.
		if !strings.ContainsAny(pattern, "*?[") && got != (pattern == input) {
			t.Fatalf("literal glob %q on %q = %v", pattern, input, got)
		}
	})
}

func BenchmarkMatchPattern(b *testing.B) {
	c := &Pattern{Pattern: "/data/*/reports/*.pdf"}
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	hit := "/data/finance/2024/q3/reports/summary-final.pdf"
	miss := "/data/finance/2024/q3/reports/summary-final.docx"
	ec := &evalContext{}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c.match(hit, ec) != nil {
				b.Fatal("unexpected refusal")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if c.match(miss, ec) == nil {
				b.Fatal("unexpected match")
			}
		}
	})
}
