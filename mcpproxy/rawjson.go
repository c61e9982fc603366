package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
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

// checkNoDuplicateKeys walks v and fails on any object, at any depth, that
// names a key twice. Parsers disagree on which copy wins, so the arguments
// the check sees could differ from those the server acts on.
func checkNoDuplicateKeys(v []byte) error {
	_, err := scanDocument(v, false, true)
	return err
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
