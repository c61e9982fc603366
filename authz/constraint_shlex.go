package authz

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/shlex"
)

// The Shlex constraint follows Tenuo's shell_words::command_allowed (v0.3):
//
//  1. the raw command must be non-empty and hold no control character and
//     no '$' or '`' anywhere, even inside quotes;
//  2. it is split by [shlex.Split] (CPython's POSIX shlex with
//     punctuation_chars); an unclosed quote or a dangling backslash denies;
//  3. a command with no words denies;
//  4. an unquoted operator run, or a word spelled like an operator even when
//     quoted (";", "|", "&&", …: Tenuo keeps the old exact-token list),
//     denies;
//  5. the first word, normalised like posixpath.normpath when it holds a '/',
//     must equal an allow entry, or its last path component must.
//
// It is stricter than Tenuo where Tenuo's split differs from what a POSIX
// shell would run, each time denying a command Tenuo allows:
//   - Tenuo rejects only NUL, LF, CR, VT, FF, BEL, BS and DEL; we reject every
//     C0 control except tab (which both treat as a blank), C1 controls and
//     U+2028/U+2029, and commands that are not valid UTF-8.
//   - Tenuo (like CPython) starts a comment at a '#' inside a word, so it
//     allows "ls foo#; rm -rf /", which a shell runs as two commands because
//     '#' inside a word is an ordinary character. We deny an unquoted '#'
//     inside a word.
//   - Tenuo splits a word at any character that is not a word character, so
//     it reads the program of "git{-shell,}" or "my+tool" as "git" or "my"
//     while a shell runs "git-shell" or "my+tool". We deny a program word
//     joined to the next word.
//   - An empty program word ("" or "/") never matches, even an empty entry.

// shlexOperatorWords are the words Tenuo rejects by spelling, quoted or not.
var shlexOperatorWords = []string{"|", "||", "&", "&&", ";", ">", ">>", "<", "<<", "<<<", "(", ")"}

func (c *Shlex) Type() ConstraintType { return TypeShlex }
func (c *Shlex) Match(v any) error    { return c.match(v, wallClock()) }

func (c *Shlex) String() string {
	var b strings.Builder
	b.WriteString("Shlex([")
	for i, a := range c.Allow {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(a))
	}
	b.WriteString("])")
	return b.String()
}

func (c *Shlex) match(v any, _ *evalContext) error {
	cmd, ok := v.(string)
	if !ok {
		return noMatch("%s expects a command string, got %s %s", c, typeName(v), formatValue(v))
	}
	if cmd == "" {
		return fmt.Errorf("empty command is not allowed by %s", c)
	}
	if !utf8.ValidString(cmd) {
		return fmt.Errorf("command %s is not valid UTF-8", strconv.Quote(cmd))
	}
	for i, r := range cmd {
		switch {
		case r == '$' || r == '`':
			return fmt.Errorf("command %s contains %q at byte %d: shell expansion is not allowed, even inside quotes", strconv.Quote(cmd), r, i)
		case shlexForbiddenRune(r):
			return fmt.Errorf("command %s contains control character %U at byte %d", strconv.Quote(cmd), r, i)
		}
	}
	words, err := shlex.Split(cmd)
	if err != nil {
		return fmt.Errorf("command %s cannot be split: %v", strconv.Quote(cmd), err)
	}
	if len(words) == 0 {
		return fmt.Errorf("command %s is empty: it holds only blanks or a comment", strconv.Quote(cmd))
	}
	for _, w := range words {
		switch {
		case w.Operator:
			return fmt.Errorf("command %s contains the shell operator %q at byte %d", strconv.Quote(cmd), w.Text, w.Start)
		case slices.Contains(shlexOperatorWords, w.Text):
			return fmt.Errorf("command %s contains the word %q at byte %d, which is refused as an operator even when quoted", strconv.Quote(cmd), w.Text, w.Start)
		case w.CommentAfter:
			return fmt.Errorf("command %s has '#' inside a word at byte %d: a shell keeps it in the word, so what follows is not a comment", strconv.Quote(cmd), w.End)
		}
	}
	prog := words[0]
	if prog.Joined {
		return fmt.Errorf("command %s: program word %q is joined to %q at byte %d, which a shell would read as one word", strconv.Quote(cmd), prog.Text, words[1].Text, prog.End)
	}
	name, base := shlexProgram(prog.Text)
	if base == "" {
		return fmt.Errorf("command %s has an empty program name", strconv.Quote(cmd))
	}
	for _, a := range c.Allow {
		if a == name || a == base {
			return nil
		}
	}
	return noMatch("program %q of command %s is not allowed by %s", name, strconv.Quote(cmd), c)
}

// shlexProgram returns the program word as compared with the allow list:
// normalised when it holds a '/', and its last path component.
func shlexProgram(word string) (name, base string) {
	name = word
	if strings.Contains(word, "/") {
		name = shlex.Normpath(word)
	}
	return name, name[strings.LastIndexByte(name, '/')+1:]
}

// shlexForbiddenRune reports whether r may not appear in a command. Tab is
// allowed: Tenuo and the shell both treat it as a blank.
func shlexForbiddenRune(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20 || r == 0x7f: // C0 controls and DEL
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls, NEL among them
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// validate accepts any allow list, as Tenuo does: an empty list is valid and
// allows no command.
func (c *Shlex) validate() error { return nil }

func (c *Shlex) narrowedBy(child Constraint) error {
	ch, ok := child.(*Shlex)
	if !ok {
		return incompatible(c, child)
	}
	for _, a := range ch.Allow {
		if !slices.Contains(c.Allow, a) {
			return fmt.Errorf("child %s allows program %q, which parent %s does not", ch, a, c)
		}
	}
	return nil
}
