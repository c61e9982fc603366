package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	dec := json.NewDecoder(bytes.NewReader(obj))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	var ms []member
	seen := map[string]bool{}
	for dec.More() {
		prevEnd := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if seen[key] {
			return nil, fmt.Errorf("%w %q", errDuplicateKey, key)
		}
		seen[key] = true
		keyStart := prevEnd + bytes.IndexByte(obj[prevEnd:], '"')
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		ms = append(ms, member{key: key, keyStart: keyStart, valStart: end - len(raw), valEnd: end})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if len(bytes.TrimSpace(obj[dec.InputOffset():])) != 0 {
		return nil, errors.New("data after the object")
	}
	return ms, nil
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

// checkNoDuplicateKeys walks v and fails on any object, at any depth, that
// names a key twice. Parsers disagree on which copy wins, so the arguments
// the check sees could differ from those the server acts on.
func checkNoDuplicateKeys(v []byte) error {
	dec := json.NewDecoder(bytes.NewReader(v))
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // next token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return fmt.Errorf("%w %q", errDuplicateKey, k)
				}
				top.keys[k] = true
				top.expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.object {
				top.expect = true
			}
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			if top != nil && top.object {
				top.expect = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object {
			top.expect = true // a scalar value was read
		}
	}
}

// idKey turns a raw JSON-RPC id into a map key: strings and numbers never
// collide, and a string id is compared by its decoded value.
func idKey(id json.RawMessage) (string, bool) {
	if len(id) == 0 {
		return "", false
	}
	switch c := id[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(id, &s) != nil {
			return "", false
		}
		return "s:" + s, true
	case c == '-' || (c >= '0' && c <= '9'):
		var n json.Number
		if json.Unmarshal(id, &n) != nil {
			return "", false
		}
		return "n:" + n.String(), true
	}
	return "", false
}

// jsonString decodes a raw JSON string, refusing invalid UTF-8 and escapes
// that decode to the replacement character (lone surrogates): both would make
// the string we check differ from the one a server reads.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' || !utf8.Valid(raw) {
		return "", false
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
