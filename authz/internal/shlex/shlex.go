// Package shlex splits a shell command line into words the way Tenuo's
// Shlex constraint does.
//
// The state machine is Tenuo's shell_words tokenizer, itself a port of
// CPython's shlex.shlex(posix=True, punctuation_chars=True): single quotes
// keep everything literally; double quotes keep everything except that a
// backslash escapes a double quote or a backslash (before any other
// character the backslash is kept); outside quotes a backslash makes the next
// character literal; an unquoted run of ( ) ; < > | & is an operator word; and
// '#' begins a comment that runs to the end of the line.
//
// CPython (and so Tenuo) also starts a comment at a '#' in the middle of a
// word, and splits a word at any character that is neither a word character
// nor whitespace, where a POSIX shell keeps reading one word. Split does the
// same, so that its words are Tenuo's words, and records both events on the
// [Word] (CommentAfter, Joined) so that a caller can refuse commands whose
// shell reading differs from the split.
package shlex

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Word is one token of a command line.
type Word struct {
	// Text is the word after quote removal and escape processing.
	Text string
	// Quoted reports whether some of Text came from quotes or a backslash
	// escape. A quoted word is never an operator, and it may be empty ("").
	Quoted bool
	// Operator reports whether the word is an unquoted run of ( ) ; < > | &.
	Operator bool
	// Start and End are byte offsets: the word was read from cmd[Start:End].
	Start, End int
	// Joined reports that the next word starts at End, with no whitespace
	// between them. A POSIX shell reads two joined non-operator words as one
	// word (for example "ls{,}" or "my+tool").
	Joined bool
	// CommentAfter reports that a '#' at End, inside the word, began a
	// comment. A POSIX shell starts comments only at the start of a word: it
	// would have kept the '#' and what follows in the word.
	CommentAfter bool
}

// Errors wrapped by [*SyntaxError].
var (
	ErrNoClosingQuote = errors.New("no closing quotation")
	ErrNoEscapedChar  = errors.New("no escaped character")
)

// SyntaxError is a command line that cannot be split. Offset is the byte
// offset of the opening quote or of the dangling backslash.
type SyntaxError struct {
	Offset int
	Quote  byte // the unclosed quote character, for ErrNoClosingQuote
	Err    error
}

func (e *SyntaxError) Error() string {
	if errors.Is(e.Err, ErrNoClosingQuote) {
		kind := "double"
		if e.Quote == '\'' {
			kind = "single"
		}
		return fmt.Sprintf("%v: %s quote opened at byte %d is never closed", e.Err, kind, e.Offset)
	}
	return fmt.Sprintf("%v: backslash at byte %d ends the command", e.Err, e.Offset)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

type state uint8

const (
	inSpace  state = iota // between words
	inWord                // reading a word
	inPunct               // reading an operator run
	inQuote               // inside quotes
	inEscape              // after a backslash
)

// Split splits cmd into words. It never panics; an unclosed quote or a
// backslash at the end of cmd is a [*SyntaxError]. Bytes that are not valid
// UTF-8 are kept as they are, each one a character that is neither a word
// character nor whitespace.
func Split(cmd string) ([]Word, error) {
	var (
		words    = make([]Word, 0, min(1+strings.Count(cmd, " "), 32))
		buf      = make([]byte, 0, 64) // word text after quote and escape removal
		st       = inSpace
		escBack  = inWord // state to return to after an escape
		quote    byte     // the open quote, while inQuote or escaping inside it
		quoteAt  int      // offset of the open quote
		escAt    int      // offset of the backslash
		start    int      // offset of the current word
		quoted   bool     // the current word had quotes (Tenuo's flag)
		escaped  bool     // the current word had a backslash escape
		operator bool     // the current word is an operator run
	)
	emit := func(end int) {
		text := cmd[start:end] // a word without quotes or escapes is its source
		if quoted || escaped {
			text = string(buf)
		}
		words = append(words, Word{
			Text:     text,
			Quoted:   quoted || escaped,
			Operator: operator,
			Start:    start,
			End:      end,
		})
		buf, quoted, escaped, operator = buf[:0], false, false, false
	}
	i := 0
	for {
		eof := i >= len(cmd)
		var r rune
		size := 0
		if !eof {
			r, size = utf8.DecodeRuneInString(cmd[i:])
		}
		switch st {
		case inSpace:
			switch {
			case eof:
				return link(words), nil
			case isSpace(r):
				i += size
			case r == '#':
				// A '#' glued to the word just emitted (a character that is
				// a word of its own, such as '!') is, to a shell, part of
				// that word: flag it as the mid-word '#' it is.
				if n := len(words); n > 0 && words[n-1].End == i {
					words[n-1].CommentAfter = true
				}
				i = skipComment(cmd, i+1)
			case r == '\\':
				start, escAt, escBack, st = i, i, inWord, inEscape
				i += size
			case isWordChar(r):
				start, st = i, inWord
				buf = append(buf, cmd[i:i+size]...)
				i += size
			case isPunct(r):
				start, st, operator = i, inPunct, true
				buf = append(buf, cmd[i])
				i += size
			case r == '\'' || r == '"':
				start, quote, quoteAt, st = i, byte(r), i, inQuote
				i += size
			default:
				// Any other character is a word of its own.
				start = i
				buf = append(buf, cmd[i:i+size]...)
				i += size
				emit(i)
			}
		case inQuote:
			quoted = true
			switch {
			case eof:
				return nil, &SyntaxError{Offset: quoteAt, Quote: quote, Err: ErrNoClosingQuote}
			case r == rune(quote):
				st = inWord
			case r == '\\' && quote == '"':
				escAt, escBack, st = i, inQuote, inEscape
			default:
				buf = append(buf, cmd[i:i+size]...)
			}
			i += size
		case inEscape:
			if eof {
				return nil, &SyntaxError{Offset: escAt, Err: ErrNoEscapedChar}
			}
			if escBack == inQuote {
				// Inside double quotes only the quote and the backslash
				// itself are escaped; before anything else the backslash stays.
				if r != '\\' && r != rune(quote) {
					buf = append(buf, '\\')
				}
			} else {
				escaped = true
			}
			buf = append(buf, cmd[i:i+size]...)
			i += size
			st = escBack
		case inWord, inPunct:
			punct := st == inPunct
			empty := len(buf) == 0 && !quoted
			switch {
			case eof:
				if !empty {
					emit(i)
				}
				return link(words), nil
			case isSpace(r):
				st = inSpace
				if !empty {
					emit(i)
				}
				i += size
			case r == '#':
				if !empty {
					emit(i)
					if !punct {
						words[len(words)-1].CommentAfter = true
					}
				}
				st = inSpace
				i = skipComment(cmd, i+1)
			case punct && isPunct(r):
				buf = append(buf, cmd[i])
				i += size
			case punct:
				// The operator run ends; r starts the next word.
				st = inSpace
				emit(i)
			case r == '\'' || r == '"':
				quote, quoteAt, st = byte(r), i, inQuote
				i += size
			case r == '\\':
				escAt, escBack, st = i, inWord, inEscape
				i += size
			case isWordChar(r):
				buf = append(buf, cmd[i:i+size]...)
				i += size
			default:
				// The word ends; r starts the next word.
				st = inSpace
				if !empty {
					emit(i)
				}
			}
		}
	}
}

// link sets Joined on every word that the next word follows directly.
func link(words []Word) []Word {
	for k := 0; k+1 < len(words); k++ {
		words[k].Joined = words[k+1].Start == words[k].End
	}
	return words
}

// skipComment returns the offset just past the newline that ends the comment
// starting at i, or len(cmd).
func skipComment(cmd string, i int) int {
	for ; i < len(cmd); i++ {
		if cmd[i] == '\n' {
			return i + 1
		}
	}
	return len(cmd)
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

func isPunct(r rune) bool {
	switch r {
	case '(', ')', ';', '<', '>', '|', '&':
		return true
	}
	return false
}

// isWordChar reports whether r belongs to CPython's POSIX-mode word
// characters with punctuation_chars set: ASCII letters and digits, '_',
// "~-./*?=", and the Latin-1 letters U+00C0–U+00FF except × and ÷.
func isWordChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		return true
	case r == '~', r == '-', r == '.', r == '/', r == '*', r == '?', r == '=':
		return true
	case r >= 0xC0 && r <= 0xFF:
		return r != 0xD7 && r != 0xF7
	}
	return false
}

// Normpath normalises a path lexically as Python's posixpath.normpath does:
// empty and "." components are dropped, ".." removes the previous component
// (and is dropped at the root), two leading slashes are kept while one or
// three or more become one, and an empty result is ".".
func Normpath(p string) string {
	if p == "" {
		return "."
	}
	lead := 0
	if p[0] == '/' {
		lead = 1
		if len(p) > 1 && p[1] == '/' && (len(p) == 2 || p[2] != '/') {
			lead = 2
		}
	}
	var comps []string
	for rest := p; ; {
		var comp string
		k := strings.IndexByte(rest, '/')
		if k < 0 {
			comp = rest
		} else {
			comp = rest[:k]
		}
		switch {
		case comp == "" || comp == ".":
		case comp != ".." || (lead == 0 && len(comps) == 0) || (len(comps) > 0 && comps[len(comps)-1] == ".."):
			comps = append(comps, comp)
		case len(comps) > 0:
			comps = comps[:len(comps)-1]
		}
		if k < 0 {
			break
		}
		rest = rest[k+1:]
	}
	out := make([]byte, 0, len(p))
	for k := 0; k < lead; k++ {
		out = append(out, '/')
	}
	for k, c := range comps {
		if k > 0 {
			out = append(out, '/')
		}
		out = append(out, c...)
	}
	if len(out) == 0 {
		return "."
	}
	return string(out)
}
