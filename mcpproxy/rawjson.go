package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// member is one key of a raw JSON object, with byte offsets into the object.
type member struct {
	key      string // decoded key
	keyStart int    // offset of the key's opening quote
	valStart int    // offset of the value's first byte
	valEnd   int    // offset just past the value
}

// errDuplicateKey is returned for an object that names a key twice. We refuse
// such objects where we read them: a duplicate "name" or "tenuo" could make the
// check see one value while the server acts on the other.
var errDuplicateKey = errors.New("duplicate key")

// objectMembers scans obj, which must be exactly one JSON object (surrounding
// whitespace allowed), and returns its members in order. Keys are compared
// exactly: encoding/json's case-insensitive struct matching would let "NAME"
// stand in for "name" here and not at the server.
func objectMembers(obj []byte) ([]member, error) {
	sc, err := scanDocument(obj, true, false)
	if err != nil {
		return nil, err
	}
	return sc.top, nil
}

// find returns the index of key in ms, or -1.
func find(ms []member, key string) int {
	for i, m := range ms {
		if m.key == key {
			return i
		}
	}
	return -1
}

// value returns the raw value of member i of obj.
func value(obj []byte, m member) json.RawMessage { return obj[m.valStart:m.valEnd] }

// removeMember returns a copy of obj without member i, every other byte kept.
func removeMember(obj []byte, ms []member, i int) []byte {
	var from, to int
	switch {
	case i > 0: // from the end of the previous value, taking the comma
		from, to = ms[i-1].valEnd, ms[i].valEnd
	case len(ms) > 1: // the first of several: up to the next key
		from, to = ms[0].keyStart, ms[1].keyStart
	default:
		from, to = ms[0].keyStart, ms[0].valEnd
	}
	out := make([]byte, 0, len(obj)-(to-from))
	out = append(out, obj[:from]...)
	return append(out, obj[to:]...)
}

// replaceValue returns a copy of obj with the value of m replaced by v.
func replaceValue(obj []byte, m member, v []byte) []byte {
	out := make([]byte, 0, len(obj)-(m.valEnd-m.valStart)+len(v))
	out = append(out, obj[:m.valStart]...)
	out = append(out, v...)
	return append(out, obj[m.valEnd:]...)
}

// idKey turns a raw JSON-RPC id into a map key: strings and numbers never
// collide, a string id is compared by its decoded value, and a number by
// the integer a server could answer it with. Servers echo ids as they
// decode them: JavaScript reads 1.0, 1e0 and 10e-1 as 1, -0 as 0 and 2^53+1
// as 2^53; the Go SDK truncates the double to an int64 (1.5 is 1). Two ids
// the relay told apart by their text could so be answered with the same id,
// and one request's answer (an unfiltered tools/list) taken for the
// other's: ids are keyed by the truncated double, which every such pair
// shares. A number whose magnitude reaches 2^63 (which an int64 does not
// hold, and a double beyond its range JavaScript answers as null) is no
// usable id.
func idKey(id json.RawMessage) (string, bool) {
	if len(id) == 0 {
		return "", false
	}
	switch c := id[0]; {
	case c == '"':
		s, ok := jsonString(id)
		if !ok {
			return "", false
		}
		return "s:" + s, true
	case c == '-' || (c >= '0' && c <= '9'):
		if plainInteger(id) {
			// The common case: the integer is its own text ("-0" is 0).
			if string(id) == "-0" {
				return "n:0", true
			}
			return "n:" + string(id), true
		}
		sc := scanner{data: id}
		if sc.number() != nil || sc.off != len(id) {
			return "", false
		}
		f, err := strconv.ParseFloat(string(id), 64)
		if err != nil || !(math.Abs(f) < 1<<63) {
			return "", false
		}
		return "n:" + strconv.FormatInt(int64(f), 10), true // -0 is 0
	}
	return "", false
}

// plainInteger reports whether id is an integer written without a leading
// zero, fraction or exponent, short enough (15 digits) that a double holds
// it exactly: its idKey is its own text.
func plainInteger(id []byte) bool {
	d := id
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jsonString decodes a raw JSON string, refusing invalid UTF-8 and escapes
// that decode to the replacement character (lone surrogates): both would make
// the string we check differ from the one a server reads.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || !utf8.Valid(raw) {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
		// No escapes: the string is its bytes, once they are known to be a
		// string (no quote or control character inside).
		for _, c := range inner {
			if c < 0x20 || c == '"' {
				return "", false
			}
		}
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	if !bytes.Contains(raw, []byte("\uFFFD")) && bytes.ContainsRune([]byte(s), utf8.RuneError) {
		return "", false
	}
	return s, true
}

// isObject reports whether raw is a JSON object (leading byte '{').
func isObject(raw json.RawMessage) bool { return len(raw) > 0 && raw[0] == '{' }

// trimSpace removes JSON white space around a message.
func trimSpace(b []byte) []byte {
	isWS := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// topMembers checks that raw is one JSON value at any depth, without
// recursion, and returns the raw values of the top-level object's "id" and
// "method" members (nil when absent, or when either is named twice). ok is
// false when raw is not JSON or not an object. It serves messages the
// recursive scanner refuses, so that they are still answered by id.
func topMembers(raw []byte) (id, method json.RawMessage, ok bool) {
	id, method, _, _, ok = topFields(raw)
	return id, method, ok
}

// topFields is topMembers, and also says what the object is shaped as: an
// answer (a "result" or an "error" member, and no "method"), or a request
// or notification (a "method" member, even named twice).
func topFields(raw []byte) (id, method json.RawMessage, answer, request, ok bool) {
	raw = trimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' || !utf8.Valid(raw) {
		return nil, nil, false, false, false
	}
	answerish := false
	const (
		stValue = iota // a value starts at i
		stKey          // a member's key starts at i
		stAfter        // a value ended just before i
	)
	var (
		stack    []byte // open containers, '{' or '['
		i        int
		st       = stValue
		key      string
		valStart int
		idN      int
		methodN  int
	)
	ws := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
			i++
		}
	}
	for {
		ws()
		if i >= len(raw) && !(st == stAfter && len(stack) == 0) {
			return nil, nil, false, false, false
		}
		switch st {
		case stValue:
			switch c := raw[i]; c {
			case '{', '[':
				i++
				ws()
				if i < len(raw) && raw[i] == c+2 { // '}' is '{'+2, ']' is '['+2
					i++
					st = stAfter
				} else if stack = append(stack, c); c == '{' {
					st = stKey
				}
			case '"':
				if !skipString(raw, &i) {
					return nil, nil, false, false, false
				}
				st = stAfter
			default:
				if !skipScalar(raw, &i) {
					return nil, nil, false, false, false
				}
				st = stAfter
			}
		case stKey:
			ks := i
			if raw[i] != '"' || !skipString(raw, &i) {
				return nil, nil, false, false, false
			}
			if len(stack) == 1 && json.Unmarshal(raw[ks:i], &key) != nil {
				return nil, nil, false, false, false
			}
			ws()
			if i >= len(raw) || raw[i] != ':' {
				return nil, nil, false, false, false
			}
			i++
			ws()
			if st = stValue; len(stack) == 1 {
				valStart = i
			}
		case stAfter:
			if len(stack) == 0 {
				if i != len(raw) {
					return nil, nil, false, false, false
				}
				if idN > 1 {
					id = nil
				}
				if methodN > 1 {
					method = nil
				}
				return id, method, answerish && methodN == 0, methodN > 0, true
			}
			if len(stack) == 1 && valStart > 0 { // a top-level member's value ended
				switch key {
				case "id":
					id, idN = trimSpace(raw[valStart:i]), idN+1
				case "method":
					method, methodN = trimSpace(raw[valStart:i]), methodN+1
				case "result", "error":
					answerish = true
				}
				valStart = 0
			}
			top := stack[len(stack)-1]
			switch c := raw[i]; {
			case c == ',':
				i++
				st = stValue
				if top == '{' {
					st = stKey
				}
			case c == top+2:
				i++
				stack = stack[:len(stack)-1]
			default:
				return nil, nil, false, false, false
			}
		}
	}
}

// skipString moves *i past the JSON string starting there.
func skipString(raw []byte, i *int) bool {
	j := *i + 1
	for j < len(raw) {
		switch c := raw[j]; {
		case c == '"':
			*i = j + 1
			return true
		case c == '\\':
			if j+1 >= len(raw) {
				return false
			}
			switch raw[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(raw) || !isHex4(raw[j+2:j+6]) {
					return false
				}
				j += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		default:
			j++
		}
	}
	return false
}

// skipScalar moves *i past the number or literal starting there.
func skipScalar(raw []byte, i *int) bool {
	j := *i
	for j < len(raw) && !strings.ContainsRune(",]} \t\r\n", rune(raw[j])) {
		j++
	}
	v := raw[*i:j]
	*i = j
	switch string(v) {
	case "true", "false", "null":
		return true
	}
	sc := scanner{data: v}
	return len(v) > 0 && (v[0] == '-' || ('0' <= v[0] && v[0] <= '9')) && sc.number() == nil && sc.off == len(v)
}
