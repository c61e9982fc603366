package mcpproxy

import (
	"bytes"
	le "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxScanDepth bounds the nesting of a scanned JSON value.
const maxScanDepth = 512

// scanner is a single-pass JSON validator over raw bytes: it checks the
// grammar (strings valid UTF-8 without raw control characters), refuses any
// object that names a key twice (keys compared after unescaping), and records
// the members of the top-level object. It replaces encoding/json's token
// stream on the tools/call path, where it is several times faster and
// allocates little.
type scanner struct {
	data []byte
	off  int
	top  []member // members of the top-level object, when recorded
	// nestedKeys refuses duplicate keys at every depth; without it only the
	// top-level object's keys are checked (the relay stays transparent for
	// what it does not interpret).
	nestedKeys bool
}

// errTooDeep is JSON nested deeper than maxScanDepth: still JSON.
var errTooDeep = fmt.Errorf("nesting deeper than %d", maxScanDepth)

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.off, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.off < len(s.data) {
		switch s.data[s.off] {
		case ' ', '\t', '\n', '\r':
			s.off++
		default:
			return
		}
	}
}

// scanDocument checks that data is exactly one JSON value, with whitespace
// around it only. With record, the value must be an object and its members
// are kept in s.top.
func scanDocument(data []byte, record, nestedKeys bool) (scanner, error) {
	s := scanner{data: data, nestedKeys: nestedKeys}
	s.ws()
	if record && (s.off >= len(data) || data[s.off] != '{') {
		return scanner{}, errors.New("not an object")
	}
	if err := s.value(0, record); err != nil {
		return scanner{}, err
	}
	s.ws()
	if s.off != len(data) {
		return scanner{}, s.errorf("data after the value")
	}
	return s, nil
}

func (s *scanner) value(depth int, record bool) error {
	if depth > maxScanDepth {
		return errTooDeep
	}
	if s.off >= len(s.data) {
		return s.errorf("unexpected end of input")
	}
	switch c := s.data[s.off]; {
	case c == '{':
		return s.object(depth, record)
	case c == '[':
		s.off++
		s.ws()
		if s.off < len(s.data) && s.data[s.off] == ']' {
			s.off++
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth+1, false); err != nil {
				return err
			}
			s.ws()
			if s.off >= len(s.data) {
				return s.errorf("unterminated array")
			}
			if s.data[s.off] == ']' {
				s.off++
				return nil
			}
			if s.data[s.off] != ',' {
				return s.errorf("expected ',' or ']' in an array")
			}
			s.off++
		}
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.data)-s.off >= len(lit) && string(s.data[s.off:s.off+len(lit)]) == lit {
				s.off += len(lit)
				return nil
			}
		}
		return s.errorf("unexpected character %q", c)
	}
}

func (s *scanner) object(depth int, record bool) error {
	s.off++ // '{'
	s.ws()
	if s.off < len(s.data) && s.data[s.off] == '}' {
		s.off++
		return nil
	}
	checkKeys := depth == 0 || s.nestedKeys
	// The keys seen so far, as bytes of the document (or their unescaped
	// form): most objects have a few, held on the stack.
	var keyBuf [8][]byte
	keys := keyBuf[:0]
	var seen map[string]string
	if record && s.top == nil {
		s.top = make([]member, 0, 4)
	}
	for {
		s.ws()
		if s.off >= len(s.data) || s.data[s.off] != '"' {
			return s.errorf("expected a string key")
		}
		keyStart := s.off
		raw, escaped, err := s.str()
		if err != nil {
			return err
		}
		var key []byte
		if checkKeys || record {
			key = raw[1 : len(raw)-1]
			if escaped {
				var k string
				if err := json.Unmarshal(raw, &k); err != nil {
					return s.errorf("bad key: %v", err)
				}
				key = []byte(k)
			}
		}
		if checkKeys {
			// Keys are compared as case-insensitive decoders match them
			// (Unicode simple folding, strings.EqualFold): {"path":…,
			// "PATH":…} is one field to Go's encoding/json, whose value is
			// the last, so the check could see one and the server the other.
			if seen == nil && len(keys) >= 16 {
				seen = make(map[string]string, 2*len(keys))
				for _, k := range keys {
					seen[foldKey(string(k))] = string(k)
				}
			}
			prev, dup := "", false
			if seen != nil {
				fk := foldKey(string(key))
				if prev, dup = seen[fk]; !dup {
					seen[fk] = string(key)
				}
			} else {
				for _, k := range keys {
					if bytes.EqualFold(k, key) {
						prev, dup = string(k), true
						break
					}
				}
			}
			switch {
			case dup && prev == string(key):
				return fmt.Errorf("%w %q", errDuplicateKey, key)
			case dup:
				return fmt.Errorf("%w: %q and %q differ only in letter case", errDuplicateKey, prev, key)
			}
			keys = append(keys, key)
		}
		s.ws()
		if s.off >= len(s.data) || s.data[s.off] != ':' {
			return s.errorf("expected ':' after a key")
		}
		s.off++
		s.ws()
		valStart := s.off
		if err := s.value(depth+1, false); err != nil {
			return err
		}
		if record {
			s.top = append(s.top, member{key: internKey(key), keyStart: keyStart, valStart: valStart, valEnd: s.off})
		}
		s.ws()
		if s.off >= len(s.data) {
			return s.errorf("unterminated object")
		}
		if s.data[s.off] == '}' {
			s.off++
			return nil
		}
		if s.data[s.off] != ',' {
			return s.errorf("expected ',' or '}' in an object")
		}
		s.off++
	}
}

// internKey returns key as a string, without allocating for the member
// names the relay reads (the compiler matches a switch on string(key)
// without converting it).
func internKey(key []byte) string {
	switch string(key) {
	case "jsonrpc":
		return "jsonrpc"
	case "id":
		return "id"
	case "method":
		return "method"
	case "params":
		return "params"
	case "result":
		return "result"
	case "error":
		return "error"
	case "name":
		return "name"
	case "arguments":
		return "arguments"
	case "_meta":
		return "_meta"
	case "tenuo":
		return "tenuo"
	case "_tenuo":
		return "_tenuo"
	case "content":
		return "content"
	case "isError":
		return "isError"
	case "structuredContent":
		return "structuredContent"
	case "progressToken":
		return "progressToken"
	case "task":
		return "task"
	case "taskId":
		return "taskId"
	case "requestState":
		return "requestState"
	case "resultType":
		return "resultType"
	case "tools":
		return "tools"
	case "nextCursor":
		return "nextCursor"
	case "cursor":
		return "cursor"
	case "protocolVersion":
		return "protocolVersion"
	}
	return string(key)
}

// plain marks the bytes a string holds as they are: not '"', '\\', a
// control character or a byte of a multi-byte UTF-8 sequence.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainWord reports whether none of the eight bytes in x is '"', '\\', a
// control character or a byte of a multi-byte UTF-8 sequence (so every one
// is plain). The tests may report a byte that is plain as not (a borrow from
// a lower byte that is not), never the other way round.
func plainWord(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) bool { return (v-lo)&^v&hi != 0 }
	return x&hi == 0 && // no byte >= 0x80
		(x-lo*0x20)&^x&hi == 0 && // no byte < 0x20
		!hasZero(x^(lo*'"')) && !hasZero(x^(lo*'\\'))
}

// str scans a string and returns its raw bytes (quotes included) and
// whether it holds escapes.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	start := s.off
	d := s.data
	i := s.off + 1 // after the opening quote
	high := false
	for i < len(d) {
		// Eight plain bytes at a time (a warrant is a long base64 string),
		// then byte by byte from the first word that holds anything else.
		for i+8 <= len(d) && plainWord(le.LittleEndian.Uint64(d[i:])) {
			i += 8
		}
		for i < len(d) && plain[d[i]] {
			i++
		}
		if i >= len(d) {
			break
		}
		switch c := d[i]; {
		case c == '"':
			s.off = i + 1
			if high && s.nestedKeys && !utf8.Valid(d[start:s.off]) {
				// Relayed messages keep encoding/json's leniency about
				// bytes that are not UTF-8; the strict scan (tools/call)
				// refuses them.
				s.off = start
				return nil, false, s.errorf("invalid UTF-8 in a string")
			}
			return d[start:s.off], escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				s.off = i
				return nil, false, s.errorf("unterminated escape")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					s.off = i
					return nil, false, s.errorf("bad \\u escape")
				}
				i += 6
			default:
				s.off = i
				return nil, false, s.errorf("bad escape \\%c", d[i+1])
			}
		case c < 0x20:
			s.off = i
			return nil, false, s.errorf("control character 0x%02x in a string", c)
		default: // a byte of a multi-byte sequence
			high = true
			i++
		}
	}
	s.off = i
	return nil, false, s.errorf("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) number() error {
	d := s.data
	i := s.off
	if d[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case digits() == 0:
		s.off = i
		return s.errorf("bad number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			s.off = i
			return s.errorf("bad number: no digits after '.'")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.off = i
			return s.errorf("bad number: no digits in the exponent")
		}
	}
	s.off = i
	return nil
}
