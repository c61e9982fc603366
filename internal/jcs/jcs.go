// Package jcs writes JSON in the JSON Canonicalization Scheme of RFC 8785:
// the form made for hashing, in which two documents with the same value have
// the same bytes. Members are sorted by their names' UTF-16 code units,
// strings are escaped minimally, numbers are written as ECMAScript writes a
// double, and there is no whitespace.
//
// The reader is strict where a lax one would let two different texts mean
// one value or one text mean two (RFC 8785 §3.1 requires I-JSON, RFC 7493):
// a duplicate member name, invalid UTF-8, a lone surrogate escape or a
// number beyond a double's range is an error. Its limits are sized for tool
// schemas, which nest deeper and run longer than call arguments: see
// [MaxDepth] and [MaxSize].
package jcs

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Limits of Canonicalize.
const (
	MaxDepth = 128     // nested arrays and objects
	MaxSize  = 8 << 20 // bytes of input
)

// ErrLimit is wrapped by errors for input beyond MaxDepth or MaxSize.
var ErrLimit = errors.New("jcs: limit exceeded")

// Canonicalize returns the RFC 8785 form of one JSON value.
func Canonicalize(in []byte) ([]byte, error) {
	if len(in) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrLimit, len(in), MaxSize)
	}
	r := &reader{in: in}
	r.space()
	out, err := r.value(nil, 0)
	if err != nil {
		return nil, err
	}
	r.space()
	if r.pos != len(r.in) {
		return nil, r.errf("data after the value")
	}
	return out, nil
}

type reader struct {
	in  []byte
	pos int
}

func (r *reader) errf(format string, a ...any) error {
	return fmt.Errorf("jcs: offset %d: %s", r.pos, fmt.Sprintf(format, a...))
}

func (r *reader) space() {
	for r.pos < len(r.in) {
		switch r.in[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *reader) value(out []byte, depth int) ([]byte, error) {
	if r.pos >= len(r.in) {
		return nil, r.errf("unexpected end of input")
	}
	switch c := r.in[r.pos]; {
	case c == '{':
		return r.object(out, depth+1)
	case c == '[':
		return r.array(out, depth+1)
	case c == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return appendString(out, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number(out)
	case r.lit("true"):
		return append(out, "true"...), nil
	case r.lit("false"):
		return append(out, "false"...), nil
	case r.lit("null"):
		return append(out, "null"...), nil
	}
	return nil, r.errf("unexpected character %q", r.in[r.pos])
}

func (r *reader) lit(word string) bool {
	if strings.HasPrefix(string(r.in[r.pos:min(len(r.in), r.pos+len(word))]), word) {
		r.pos += len(word)
		return true
	}
	return false
}

type member struct {
	key   string
	units []uint16
	val   []byte
}

func (r *reader) object(out []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrLimit, MaxDepth)
	}
	r.pos++ // {
	r.space()
	var ms []member
	seen := map[string]bool{}
	if r.pos < len(r.in) && r.in[r.pos] == '}' {
		r.pos++
		return append(out, "{}"...), nil
	}
	for {
		r.space()
		if r.pos >= len(r.in) || r.in[r.pos] != '"' {
			return nil, r.errf("expected a member name")
		}
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, r.errf("duplicate member name %q", k)
		}
		seen[k] = true
		r.space()
		if r.pos >= len(r.in) || r.in[r.pos] != ':' {
			return nil, r.errf("expected ':'")
		}
		r.pos++
		r.space()
		v, err := r.value(nil, depth)
		if err != nil {
			return nil, err
		}
		ms = append(ms, member{key: k, units: utf16.Encode([]rune(k)), val: v})
		r.space()
		if r.pos >= len(r.in) {
			return nil, r.errf("unexpected end of input in an object")
		}
		if r.in[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.in[r.pos] == '}' {
			r.pos++
			break
		}
		return nil, r.errf("expected ',' or '}'")
	}
	// RFC 8785 §3.2.3: sorted by UTF-16 code units.
	sort.Slice(ms, func(i, j int) bool { return lessUnits(ms[i].units, ms[j].units) })
	out = append(out, '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, m.key)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	return append(out, '}'), nil
}

func lessUnits(a, b []uint16) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func (r *reader) array(out []byte, depth int) ([]byte, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrLimit, MaxDepth)
	}
	r.pos++ // [
	r.space()
	out = append(out, '[')
	if r.pos < len(r.in) && r.in[r.pos] == ']' {
		r.pos++
		return append(out, ']'), nil
	}
	for first := true; ; first = false {
		if !first {
			out = append(out, ',')
		}
		r.space()
		var err error
		if out, err = r.value(out, depth); err != nil {
			return nil, err
		}
		r.space()
		if r.pos >= len(r.in) {
			return nil, r.errf("unexpected end of input in an array")
		}
		if r.in[r.pos] == ',' {
			r.pos++
			continue
		}
		if r.in[r.pos] == ']' {
			r.pos++
			return append(out, ']'), nil
		}
		return nil, r.errf("expected ',' or ']'")
	}
}

// str reads a string, returning its value.
func (r *reader) str() (string, error) {
	r.pos++ // "
	var b strings.Builder
	for {
		if r.pos >= len(r.in) {
			return "", r.errf("unterminated string")
		}
		c := r.in[r.pos]
		switch {
		case c == '"':
			r.pos++
			return b.String(), nil
		case c == '\\':
			if r.pos+1 >= len(r.in) {
				return "", r.errf("unterminated escape")
			}
			e := r.in[r.pos+1]
			r.pos += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				u, err := r.hex4()
				if err != nil {
					return "", err
				}
				switch {
				case utf16.IsSurrogate(rune(u)) && u < 0xDC00:
					// A high surrogate needs its low half, escaped.
					if r.pos+2 > len(r.in) || r.in[r.pos] != '\\' || r.in[r.pos+1] != 'u' {
						return "", r.errf("lone surrogate \\u%04x", u)
					}
					r.pos += 2
					lo, err := r.hex4()
					if err != nil {
						return "", err
					}
					if lo < 0xDC00 || lo > 0xDFFF {
						return "", r.errf("lone surrogate \\u%04x", u)
					}
					b.WriteRune(utf16.DecodeRune(rune(u), rune(lo)))
				case utf16.IsSurrogate(rune(u)):
					return "", r.errf("lone surrogate \\u%04x", u)
				default:
					b.WriteRune(rune(u))
				}
			default:
				return "", r.errf("invalid escape \\%c", e)
			}
		case c < 0x20:
			return "", r.errf("control character in a string")
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			r.pos++
		default:
			ru, size := utf8.DecodeRune(r.in[r.pos:])
			if ru == utf8.RuneError && size <= 1 {
				return "", r.errf("invalid UTF-8")
			}
			b.Write(r.in[r.pos : r.pos+size])
			r.pos += size
		}
	}
}

func (r *reader) hex4() (uint16, error) {
	if r.pos+4 > len(r.in) {
		return 0, r.errf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(r.in[r.pos:r.pos+4]), 16, 16)
	if err != nil {
		return 0, r.errf("invalid \\u escape")
	}
	r.pos += 4
	return uint16(v), nil
}

// number reads a number in JSON's grammar and writes its canonical form.
func (r *reader) number(out []byte) ([]byte, error) {
	start := r.pos
	if r.in[r.pos] == '-' {
		r.pos++
	}
	digits := func() int {
		n := 0
		for r.pos < len(r.in) && r.in[r.pos] >= '0' && r.in[r.pos] <= '9' {
			r.pos++
			n++
		}
		return n
	}
	if r.pos < len(r.in) && r.in[r.pos] == '0' {
		r.pos++
	} else if digits() == 0 {
		return nil, r.errf("invalid number")
	}
	if r.pos < len(r.in) && r.in[r.pos] == '.' {
		r.pos++
		if digits() == 0 {
			return nil, r.errf("invalid number")
		}
	}
	if r.pos < len(r.in) && (r.in[r.pos] == 'e' || r.in[r.pos] == 'E') {
		r.pos++
		if r.pos < len(r.in) && (r.in[r.pos] == '+' || r.in[r.pos] == '-') {
			r.pos++
		}
		if digits() == 0 {
			return nil, r.errf("invalid number")
		}
	}
	f, err := strconv.ParseFloat(string(r.in[start:r.pos]), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, r.errf("number %s is beyond a double's range", r.in[start:r.pos])
	}
	return AppendNumber(out, f), nil
}

// AppendNumber appends f as ECMAScript's Number.prototype.toString writes it
// (RFC 8785 §3.2.2.3). f must be finite.
func AppendNumber(out []byte, f float64) []byte {
	if f == 0 {
		return append(out, '0') // -0 too
	}
	if f < 0 {
		out = append(out, '-')
		f = -f
	}
	// Shortest digits that read back as f, and the exponent.
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k := len(digits)
	n := x + 1 // the decimal point's position
	switch {
	case k <= n && n <= 21:
		out = append(out, digits...)
		out = append(out, strings.Repeat("0", n-k)...)
	case 0 < n && n <= 21:
		out = append(out, digits[:n]...)
		out = append(out, '.')
		out = append(out, digits[n:]...)
	case -6 < n && n <= 0:
		out = append(out, "0."...)
		out = append(out, strings.Repeat("0", -n)...)
		out = append(out, digits...)
	default:
		out = append(out, digits[0])
		if k > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		if n-1 >= 0 {
			out = append(out, '+')
		}
		out = strconv.AppendInt(out, int64(n-1), 10)
	}
	return out
}

// appendString writes s with RFC 8785 §3.2.2.2's minimal escaping.
func appendString(out []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			out = append(out, '\\', '"')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xF])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
