package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// CanonicalPath returns the canonical form of an escaped request path (the
// path as sent, before any unescaping), or why it is refused. Escapes are
// normalised as RFC 3986 §6.2.2 says: an escaped unreserved character
// (ALPHA, DIGIT, "-", ".", "_", "~") is decoded, other escapes are
// upper-cased, and a byte that may not appear raw in a path is escaped.
// Refused, because servers resolve them differently from one another (and
// so from the route checked): a dot segment, raw or escaped; an empty
// segment other than a trailing slash; an escaped "/" or "\"; a raw "\"; an
// escaped or raw control character; a ";"; a bad escape; an escaped "%"
// before two hex digits ("%252F", "/" to a server that decodes twice); and
// escapes or bytes that are not UTF-8 (overlong forms: "%C0%AE" is "." to a
// lenient decoder).
func CanonicalPath(escaped string) (string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return "", errors.New("the path does not start with /")
	}
	if isCanonical(escaped) {
		return escaped, nil // the common case, without building a copy
	}
	return canonicalPath(escaped)
}

// canonicalPath is CanonicalPath the long way, for any path starting with
// "/".
func canonicalPath(escaped string) (string, error) {
	var b strings.Builder
	b.Grow(len(escaped))
	segs := strings.Split(escaped[1:], "/")
	for i, seg := range segs {
		b.WriteByte('/')
		if seg == "" {
			if i == len(segs)-1 {
				break // a trailing slash
			}
			return "", errors.New("the path has an empty segment (//)")
		}
		start := b.Len()
		for j := 0; j < len(seg); j++ {
			c := seg[j]
			if c == '%' {
				if j+2 >= len(seg) {
					return "", fmt.Errorf("bad escape in path segment %d", i+1)
				}
				hi, ok1 := unhex(seg[j+1])
				lo, ok2 := unhex(seg[j+2])
				if !ok1 || !ok2 {
					return "", fmt.Errorf("bad escape in path segment %d", i+1)
				}
				c = hi<<4 | lo
				j += 2
				switch {
				case c == '%' && j+2 < len(seg) && isHex(seg[j+1]) && isHex(seg[j+2]):
					return "", fmt.Errorf("an escaped '%%' that begins another escape in path segment %d (servers that decode twice read another path)", i+1)
				case c == '/' || c == '\\':
					return "", fmt.Errorf("an escaped %q in path segment %d (servers disagree on whether it separates segments)", c, i+1)
				case unreserved(c):
					b.WriteByte(c)
				default:
					if err := rawByteOK(c, i); err != nil {
						return "", err
					}
					writeEscape(&b, c)
				}
				continue
			}
			if err := rawByteOK(c, i); err != nil {
				return "", err
			}
			if unreserved(c) || strings.IndexByte("!$&'()*+,=:@", c) >= 0 {
				b.WriteByte(c)
			} else {
				writeEscape(&b, c)
			}
		}
		if s := b.String()[start:]; s == "." || s == ".." {
			return "", errors.New("the path has a dot segment")
		}
	}
	out := b.String()
	if plain, err := url.PathUnescape(out); err != nil || !utf8.ValidString(plain) {
		// Overlong forms above all: "%C0%AE" is "." to a lenient UTF-8
		// decoder, so "%C0%AE%C0%AE" is "..".
		return "", errors.New("the path's escapes are not UTF-8 (a lenient decoder could read other characters, dots among them)")
	}
	return out, nil
}

func isHex(c byte) bool {
	_, ok := unhex(c)
	return ok
}

// isCanonical reports whether a path starting with "/" is its own
// canonical form: only bytes that stay raw, no escape, no empty segment but
// a trailing slash, no dot segment. Anything else takes the long way.
func isCanonical(p string) bool {
	seg := 1 // start of the current segment
	for i := 1; i <= len(p); i++ {
		if i < len(p) {
			c := p[i]
			if c != '/' {
				if !unreserved(c) && strings.IndexByte("!$&'()*+,=:@", c) < 0 {
					return false
				}
				continue
			}
		}
		switch p[seg:i] {
		case "":
			if i < len(p) {
				return false // an empty segment before the end
			}
		case ".", "..":
			return false
		}
		seg = i + 1
	}
	return true
}

// rawByteOK refuses the bytes that are refused whether raw or escaped.
func rawByteOK(c byte, seg int) error {
	switch {
	case c < 0x20 || c == 0x7f:
		return fmt.Errorf("a control character in path segment %d", seg+1)
	case c == '\\':
		return fmt.Errorf("a backslash in path segment %d (some servers take it for /)", seg+1)
	case c == ';':
		return fmt.Errorf("a ';' in path segment %d (path parameters, which some servers strip before routing)", seg+1)
	}
	return nil
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func writeEscape(b *strings.Builder, c byte) {
	const hexDigits = "0123456789ABCDEF"
	b.WriteByte('%')
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&15])
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
