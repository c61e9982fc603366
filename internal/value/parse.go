// Package value is the one strict reader of JSON argument documents, shared
// by toolmap (which extracts constraint fields from them) and authz (which
// canonicalises them for proofs of possession and checks constraints on
// them), so that the values a constraint sees are read by the same rules and
// the same limits whether or not a tool map is in use. It parses the JSON
// text into the value model as Tenuo canonicalises arguments before it signs
// or checks a proof of possession (WIRE.md §6).
//
// encoding/json cannot serve here: it keeps the last of two duplicate keys,
// replaces lone surrogates and invalid UTF-8 with U+FFFD, and decodes every
// number through float64. A signature must cover exactly one reading of the
// text, so this parser refuses everything a second reader could see
// differently.
//
// # Values
//
// For [Parse] the top level must be exactly one object; [ParseAny] takes any
// one value (an HTTP body). Objects at every depth become map[string]any,
// arrays []any, strings string, true/false bool, null nil.
// A number without fraction or exponent is an int64 and must fit one (no
// rounding, no float fallback). A number with a fraction or exponent is
// parsed as the nearest float64; if that float is integral and inside
// [-2^63, 2^63) it becomes the int64 of the same value, so 1.0, 1e0 and
// -0.0 sign as the integers 1, 1 and 0, while 9223372036854775808.0 (2^63)
// and 1e300 stay float64. A float that overflows (1e400) is an error; one
// that underflows becomes 0.
//
// # Refused
//
// Duplicate keys at any depth, compared after unescaping; invalid UTF-8;
// escaped lone surrogates; raw control characters in strings; for [Parse],
// anything but one object at the top level; and input beyond [Limits].
//
// # Differences from Tenuo
//
// Tenuo reads arguments with serde_json, which turns an integer literal that
// fits no 64-bit integer into a float: 18446744073709551616 is accepted as
// 1.8446744073709552e19, and -9223372036854775809 rounds to -2^63 and signs as
// the integer -2^63. Here every integer literal outside int64 is refused, like
// Tenuo's own refusal of 9223372036854775808. Floats are parsed correctly
// rounded (strconv), which serde_json does only with its float_roundtrip
// feature; Tenuo's tests pin correctly rounded values.
package value

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. Every error from [Parse] is an [*Error] wrapping one of them.
var (
	ErrSyntax       = errors.New("invalid JSON")
	ErrNotObject    = errors.New("arguments are not a JSON object")
	ErrDuplicateKey = errors.New("duplicate JSON key")
	ErrNumber       = errors.New("number out of range")
	ErrLimit        = errors.New("JSON exceeds limit")
)

// Error is a parse failure: what went wrong, at which byte offset of the
// input, and at which key path.
type Error struct {
	Offset int    // byte offset into the input where the problem was found
	Path   string // key path of the value at fault: "$", "$.meta.tags[3]", `$["a b"]`
	Key    string // top-level key whose value is at fault; "" at the top level itself
	Msg    string // what is wrong, for people
	Err    error  // ErrSyntax, ErrNotObject, ErrDuplicateKey, ErrNumber or ErrLimit
}

// Error returns the message with its byte offset and key path.
func (e *Error) Error() string {
	return fmt.Sprintf("%s at byte %d (path %s)", e.Msg, e.Offset, e.Path)
}

// Unwrap returns the sentinel the error wraps.
func (e *Error) Unwrap() error { return e.Err }

// Limits bound the work a parse may do. A zero or negative field means the
// [DefaultLimits] value for it, never "unbounded".
type Limits struct {
	// MaxBytes bounds the input length, checked before parsing.
	MaxBytes int
	// MaxDepth bounds nesting: the top-level object is at depth 0 and a value
	// inside a container at depth d is at depth d+1; every value, scalar or
	// not, must be at depth ≤ MaxDepth. Values above 1000 count as 1000.
	MaxDepth int
	// MaxNodes bounds the number of values (objects, arrays and scalars,
	// the top-level object included; object keys are not counted).
	MaxNodes int
	// MaxStringBytes bounds one decoded string or key, in UTF-8 bytes.
	MaxStringBytes int
	// MaxTotalStringBytes bounds all decoded strings and keys together.
	MaxTotalStringBytes int
	// MaxItems bounds the elements of one array or the members of one object.
	MaxItems int
}

// Tenuo's argument limits (tenuo-core meta_envelope.rs ARGUMENT_LIMITS).
const (
	defaultMaxBytes            = 256 << 10
	defaultMaxDepth            = 9
	defaultMaxNodes            = 4096
	defaultMaxStringBytes      = 64 << 10
	defaultMaxTotalStringBytes = 64 << 10
	defaultMaxItems            = 256

	hardMaxDepth = 1000 // keeps recursion shallow whatever a caller asks for
)

// DefaultLimits are Tenuo's bounds for call arguments: 256 KiB of text,
// depth 9, 4096 values, 64 KiB per string and 64 KiB of strings in all, 256
// items per container.
var DefaultLimits = Limits{
	MaxBytes:            defaultMaxBytes,
	MaxDepth:            defaultMaxDepth,
	MaxNodes:            defaultMaxNodes,
	MaxStringBytes:      defaultMaxStringBytes,
	MaxTotalStringBytes: defaultMaxTotalStringBytes,
	MaxItems:            defaultMaxItems,
}

func (l Limits) normalized() Limits {
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	l.MaxBytes = def(l.MaxBytes, defaultMaxBytes)
	l.MaxDepth = min(def(l.MaxDepth, defaultMaxDepth), hardMaxDepth)
	l.MaxNodes = def(l.MaxNodes, defaultMaxNodes)
	l.MaxStringBytes = def(l.MaxStringBytes, defaultMaxStringBytes)
	l.MaxTotalStringBytes = def(l.MaxTotalStringBytes, defaultMaxTotalStringBytes)
	l.MaxItems = def(l.MaxItems, defaultMaxItems)
	return l
}

// Parse parses data, which must hold exactly one JSON object (surrounded by
// optional whitespace), into a map of the shared value model. It never
// panics; recursion is bounded by lim.MaxDepth before each descent.
func Parse(data []byte, lim Limits) (map[string]any, error) {
	m := make(map[string]any)
	if err := ParseInto(m, data, lim); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInto is [Parse] into m, which must be empty: a caller whose map does
// not outlive the call may keep it off the heap. On error m holds whatever
// members were read before it and must not be used.
func ParseInto(m map[string]any, data []byte, lim Limits) error {
	p := parser{data: data, lim: lim.normalized()}
	if _, err := p.document(true, m); err != nil {
		return p.retrace(err, true)
	}
	return nil
}

// ParseAny is [Parse] for a document whose top level may be any one JSON
// value (an HTTP request body): the same rules and the same limits, the
// top-level value being at depth 0.
func ParseAny(data []byte, lim Limits) (any, error) {
	p := parser{data: data, lim: lim.normalized()}
	v, err := p.document(false, nil)
	if err != nil {
		return nil, p.retrace(err, false)
	}
	return v, nil
}

// retrace returns the error of a parse that did not track where it was
// (the fast path, which keeps no path): it parses the same input again,
// tracking, and returns that parse's error, which is the same failure with
// its path and key. Parsing is deterministic, so the second parse fails at
// the same place; if it somehow did not, the first error stands.
func (p *parser) retrace(err error, object bool) error {
	if p.track {
		return err
	}
	q := parser{data: p.data, lim: p.lim, track: true}
	if _, err2 := q.document(object, nil); err2 != nil {
		return err2
	}
	return err
}

// document parses the whole input: one value (one object when object is
// set) surrounded by optional whitespace. With into set (and object), the
// top-level object's members go into it.
func (p *parser) document(object bool, into map[string]any) (any, error) {
	data := p.data
	if len(data) > p.lim.MaxBytes {
		return nil, p.fail(ErrLimit, p.lim.MaxBytes, "input is %d bytes, over the limit of %d", len(data), p.lim.MaxBytes)
	}
	p.skipSpace()
	if p.pos >= len(data) {
		if object {
			return nil, p.fail(ErrSyntax, p.pos, "empty input: expected a JSON object")
		}
		return nil, p.fail(ErrSyntax, p.pos, "empty input: expected a JSON value")
	}
	if c := data[p.pos]; object && c != '{' {
		return nil, p.fail(ErrNotObject, p.pos, "arguments must be a JSON object, found %s", describe(c))
	}
	var v any
	var err error
	if into != nil && object {
		// value(0)'s charges for the top-level object, which no limit can
		// refuse (depth 0, the first node), then its members.
		p.nodes++
		err = p.members(into, 0)
	} else {
		v, err = p.value(0)
	}
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(data) {
		what := "value"
		if object {
			what = "object"
		}
		return nil, p.fail(ErrSyntax, p.pos, "unexpected data after the top-level %s (found %s)", what, describe(data[p.pos]))
	}
	return v, nil
}

// describe names the token that starts with c, for messages.
func describe(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case c == '{':
		return "an object"
	case c >= 0x20 && c < 0x7f:
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

type segment struct {
	key   string
	index int // used when isKey is false
	isKey bool
}

type parser struct {
	data     []byte
	pos      int
	lim      Limits
	nodes    int
	strBytes int
	path     []segment
	scratch  []byte

	// doc is data as one string, made at the first string that needs no
	// unescaping: such strings and keys are substrings of it, so a document
	// costs one copy of its text rather than one allocation per string.
	doc string
	// track makes the parse keep path, for error messages. The fast path
	// does not; a failed parse is retraced with it (see retrace).
	track bool

	// findInexact makes number stop the parse with errFound at the first
	// integer a double-reading parser would read as another value, after
	// recording where it is in inexact.
	findInexact bool
	inexact     Inexact
}

// push and pop keep path, when the parse tracks it.
func (p *parser) push(s segment) {
	if p.track {
		p.path = append(p.path, s)
	}
}

func (p *parser) pop() {
	if p.track {
		p.path = p.path[:len(p.path)-1]
	}
}

func (p *parser) fail(kind error, offset int, format string, args ...any) *Error {
	e := &Error{Offset: offset, Path: p.pathString(), Msg: fmt.Sprintf(format, args...), Err: kind}
	if len(p.path) > 0 && p.path[0].isKey {
		e.Key = p.path[0].key
	}
	return e
}

func (p *parser) pathString() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p.path {
		if !s.isKey {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if isIdent(s.key) {
			b.WriteByte('.')
			b.WriteString(s.key)
			continue
		}
		b.WriteByte('[')
		b.WriteString(strconv.Quote(truncate(s.key, 64)))
		b.WriteByte(']')
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// truncate shortens s for messages, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos, which sits at the given depth. Limits are
// charged before the value is read, as Tenuo does: depth first, then nodes.
func (p *parser) value(depth int) (any, error) {
	if depth > p.lim.MaxDepth {
		return nil, p.fail(ErrLimit, p.pos, "nesting deeper than %d levels", p.lim.MaxDepth)
	}
	if p.nodes >= p.lim.MaxNodes {
		return nil, p.fail(ErrLimit, p.pos, "more than %d values", p.lim.MaxNodes)
	}
	p.nodes++
	if p.pos >= len(p.data) {
		return nil, p.fail(ErrSyntax, p.pos, "expected a value, found the end of input")
	}
	switch c := p.data[p.pos]; c {
	case '{':
		return p.object(depth)
	case '[':
		return p.array(depth)
	case '"':
		return p.str()
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return nil, p.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return p.number()
		}
		return nil, p.fail(ErrSyntax, p.pos, "expected a value, found %s", describe(c))
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail(ErrSyntax, p.pos, "invalid literal, expected %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *parser) object(depth int) (any, error) {
	m := make(map[string]any)
	if err := p.members(m, depth); err != nil {
		return nil, err
	}
	return m, nil
}

// members parses the object at p.pos, at the given depth, into m.
func (p *parser) members(m map[string]any, depth int) error {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.fail(ErrSyntax, p.pos, "expected an object key, found the end of input")
		}
		if p.data[p.pos] != '"' {
			return p.fail(ErrSyntax, p.pos, "expected an object key, found %s", describe(p.data[p.pos]))
		}
		keyAt := p.pos
		key, err := p.str()
		if err != nil {
			return err
		}
		if len(m) >= p.lim.MaxItems {
			return p.fail(ErrLimit, keyAt, "object has more than %d members", p.lim.MaxItems)
		}
		if _, dup := m[key]; dup {
			p.push(segment{key: key, isKey: true})
			return p.fail(ErrDuplicateKey, keyAt, "duplicate key %s", strconv.Quote(truncate(key, 64)))
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.failExpected("':' after an object key")
		}
		p.pos++
		p.skipSpace()
		p.push(segment{key: key, isKey: true})
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		p.pop()
		m[key] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return p.failExpected("',' or '}' in an object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.failExpected("',' or '}' in an object")
		}
	}
}

func (p *parser) array(depth int) (any, error) {
	p.pos++ // '['
	items := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return items, nil
	}
	for {
		p.skipSpace()
		if len(items) >= p.lim.MaxItems {
			return nil, p.fail(ErrLimit, p.pos, "array has more than %d elements", p.lim.MaxItems)
		}
		p.push(segment{index: len(items)})
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		p.pop()
		items = append(items, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.failExpected("',' or ']' in an array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return items, nil
		default:
			return nil, p.failExpected("',' or ']' in an array")
		}
	}
}

func (p *parser) failExpected(what string) *Error {
	if p.pos >= len(p.data) {
		return p.fail(ErrSyntax, p.pos, "expected %s, found the end of input", what)
	}
	return p.fail(ErrSyntax, p.pos, "expected %s, found %s", what, describe(p.data[p.pos]))
}

// str parses the string at p.pos (which holds '"') and charges it to the
// string budgets.
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	data := p.data
	runStart := p.pos // start of the bytes not yet copied to scratch
	escaped := false
	p.scratch = p.scratch[:0]
	for {
		if p.pos >= len(data) {
			return "", p.fail(ErrSyntax, start, "unterminated string")
		}
		c := data[p.pos]
		switch {
		case c == '"':
			var s string
			if escaped {
				p.scratch = append(p.scratch, data[runStart:p.pos]...)
				s = string(p.scratch)
			} else {
				if len(p.doc) != len(data) {
					p.doc = string(data)
				}
				s = p.doc[runStart:p.pos]
			}
			p.pos++
			return s, p.chargeString(start, s)
		case c == '\\':
			escaped = true
			p.scratch = append(p.scratch, data[runStart:p.pos]...)
			if err := p.escape(); err != nil {
				return "", err
			}
			runStart = p.pos
		case c < 0x20:
			return "", p.fail(ErrSyntax, p.pos, "control character 0x%02x in a string must be escaped", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(data[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.fail(ErrSyntax, p.pos, "invalid UTF-8 in a string")
			}
			p.pos += size
		}
	}
}

func (p *parser) chargeString(at int, s string) error {
	if len(s) > p.lim.MaxStringBytes {
		return p.fail(ErrLimit, at, "string of %d bytes, over the limit of %d", len(s), p.lim.MaxStringBytes)
	}
	p.strBytes += len(s)
	if p.strBytes > p.lim.MaxTotalStringBytes {
		return p.fail(ErrLimit, at, "strings and keys exceed %d bytes in all", p.lim.MaxTotalStringBytes)
	}
	return nil
}

// escape decodes the escape sequence at p.pos (which holds '\') into scratch.
func (p *parser) escape() error {
	at := p.pos
	if p.pos+1 >= len(p.data) {
		return p.fail(ErrSyntax, at, "unterminated escape sequence")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		p.scratch = append(p.scratch, c)
	case 'b':
		p.scratch = append(p.scratch, '\b')
	case 'f':
		p.scratch = append(p.scratch, '\f')
	case 'n':
		p.scratch = append(p.scratch, '\n')
	case 'r':
		p.scratch = append(p.scratch, '\r')
	case 't':
		p.scratch = append(p.scratch, '\t')
	case 'u':
		r, err := p.hex4(at)
		if err != nil {
			return err
		}
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return p.fail(ErrSyntax, at, "lone low surrogate in a \\u escape")
		case r >= 0xd800 && r <= 0xdbff:
			if p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
				return p.fail(ErrSyntax, at, "lone high surrogate in a \\u escape")
			}
			lowAt := p.pos
			p.pos += 2
			lo, err := p.hex4(lowAt)
			if err != nil {
				return err
			}
			if lo < 0xdc00 || lo > 0xdfff {
				return p.fail(ErrSyntax, at, "high surrogate in a \\u escape not followed by a low surrogate")
			}
			r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
		}
		p.scratch = utf8.AppendRune(p.scratch, r)
	default:
		return p.fail(ErrSyntax, at, `invalid escape sequence: a \ must be followed by one of " \ / b f n r t u`)
	}
	return nil
}

// hex4 reads the four hex digits at p.pos of a \u escape that began at at.
func (p *parser) hex4(at int) (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, p.fail(ErrSyntax, at, "truncated \\u escape")
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.fail(ErrSyntax, at, "invalid hex digit in \\u escape")
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, nil
}

// number parses the number at p.pos with JSON's grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and converts it.
func (p *parser) number() (any, error) {
	data := p.data
	start := p.pos
	neg := data[p.pos] == '-'
	if neg {
		p.pos++
	}
	digitsAt := p.pos
	switch {
	case p.pos < len(data) && data[p.pos] == '0':
		p.pos++
		if p.pos < len(data) && isDigit(data[p.pos]) {
			return nil, p.fail(ErrSyntax, start, "number with a leading zero")
		}
	case p.pos < len(data) && data[p.pos] >= '1' && data[p.pos] <= '9':
		p.skipDigits()
	default:
		return nil, p.fail(ErrSyntax, start, "invalid number: expected a digit")
	}
	digitsEnd := p.pos
	integer := true
	if p.pos < len(data) && data[p.pos] == '.' {
		integer = false
		p.pos++
		if p.pos >= len(data) || !isDigit(data[p.pos]) {
			return nil, p.fail(ErrSyntax, start, "invalid number: expected a digit after '.'")
		}
		p.skipDigits()
	}
	if p.pos < len(data) && (data[p.pos] == 'e' || data[p.pos] == 'E') {
		integer = false
		p.pos++
		if p.pos < len(data) && (data[p.pos] == '+' || data[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(data) || !isDigit(data[p.pos]) {
			return nil, p.fail(ErrSyntax, start, "invalid number: expected a digit in the exponent")
		}
		p.skipDigits()
	}
	text := data[start:p.pos]
	if integer {
		n, ok := parseInt(data[digitsAt:digitsEnd], neg)
		if !ok {
			return nil, p.fail(ErrNumber, start, "integer does not fit in a signed 64-bit integer")
		}
		if p.findInexact && !ExactDouble(n) {
			p.inexact = Inexact{Path: p.pathString(), Offset: start}
			if len(p.path) > 0 && p.path[0].isKey {
				p.inexact.Key = p.path[0].key
			}
			return nil, errFound
		}
		return n, nil
	}
	// A number with a fraction or exponent is read as the nearest double,
	// as a double-reading server reads it; the integer it may become below
	// is that double's exact value, so it never needs findInexact.
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, p.fail(ErrSyntax, start, "invalid number")
	}
	v, ok := FromFloat(f)
	if !ok {
		return nil, p.fail(ErrNumber, start, "number is out of the float64 range")
	}
	return v, nil
}

// FromFloat is the value-model form of a finite float: an integral float in
// [-2^63, 2^63) is the int64 of the same value (Tenuo's integral_i64), any
// other finite float itself. ok is false for NaN and the infinities. The
// upper bound is exclusive: 2^63 must not saturate to MaxInt64.
func FromFloat(f float64) (v any, ok bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, false
	}
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return int64(f), true
	}
	return f, true
}

func (p *parser) skipDigits() {
	for p.pos < len(p.data) && isDigit(p.data[p.pos]) {
		p.pos++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseInt converts decimal digits (already validated) to an int64, negated
// when neg; ok is false when the value does not fit.
func parseInt(digits []byte, neg bool) (int64, bool) {
	const limit = uint64(1) << 63 // |MinInt64|
	var u uint64
	for _, c := range digits {
		if u > (limit+9)/10 { // certainly too large after one more digit
			return 0, false
		}
		u = u*10 + uint64(c-'0')
		if u > limit {
			return 0, false
		}
	}
	if neg {
		return int64(-u), true // -(1<<63) wraps to MinInt64, as intended
	}
	if u == limit {
		return 0, false
	}
	return int64(u), true
}
