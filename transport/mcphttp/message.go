package mcphttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// msgInfo is what the transport reads of one JSON-RPC message: enough to
// route answers and check headers, nothing more. The relay above reads the
// message itself, strictly; whatever this reader accepts, it refuses what it
// finds ambiguous.
type msgInfo struct {
	id        json.RawMessage // raw id; nil when absent
	key       string          // idKey(id); "" when the id is absent or unusable
	method    string
	hasMethod bool
	params    json.RawMessage // nil when absent

	// Read once, on first use (paramMembers, metaOf).
	pm, meta   map[string]json.RawMessage
	pmRead     bool
	metaParsed bool
}

// paramMembers returns the members of params (nil when it is not an object
// or cannot be read), reading them once.
func (m *msgInfo) paramMembers() map[string]json.RawMessage {
	if !m.pmRead {
		m.pmRead = true
		if len(m.params) > 0 && m.params[0] == '{' {
			m.pm, _ = members(m.params)
		}
	}
	return m.pm
}

// param returns the string member key of params, and whether it is there
// as a string.
func (m *msgInfo) param(key string) (string, bool) {
	return jsonString(m.paramMembers()[key])
}

// isRequest reports whether m expects an answer.
func (m *msgInfo) isRequest() bool { return m.hasMethod && m.id != nil }

// isResponse reports whether m answers a request of the peer.
func (m *msgInfo) isResponse() bool { return !m.hasMethod && m.id != nil }

// errBody is a POST body this transport cannot route; the text is the
// JSON-RPC error message.
type errBody struct {
	code int
	msg  string
}

func (e *errBody) Error() string { return e.msg }

// parseBody reads a POST body: one JSON-RPC message or (2025-03-26) a
// non-empty batch array of them. A member name that appears twice at the top
// of a message is refused: which "method" or "id" a peer reads would then
// depend on its decoder.
func parseBody(b []byte) (msgs []msgInfo, batch bool, err error) {
	b = bytes.Trim(b, " \t\r\n") // JSON's whitespace: TrimSpace would take a \v that json.Valid refuses
	if !utf8.Valid(b) || !json.Valid(b) {
		return nil, false, &errBody{codeParseError, "Parse error: body is not valid JSON"}
	}
	switch b[0] {
	case '{':
		m, err := parseMessage(b)
		if err != nil {
			return nil, false, err
		}
		return []msgInfo{m}, false, nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			return nil, true, &errBody{codeParseError, "Parse error: body is not valid JSON"}
		}
		if len(elems) == 0 {
			return nil, true, &errBody{codeInvalidRequest, "Invalid Request: empty batch"}
		}
		for _, el := range elems {
			m, err := parseMessage(el)
			if err != nil {
				return nil, true, err
			}
			msgs = append(msgs, m)
		}
		return msgs, true, nil
	}
	return nil, false, &errBody{codeInvalidRequest, "Invalid Request: a message must be a JSON object"}
}

// parseMessage reads the top-level members of one message (valid JSON). It
// walks them with a memberScanner and builds no map: every message crossing
// the transport is read this way, most of them more than once.
func parseMessage(b []byte) (msgInfo, error) {
	var m msgInfo
	var seen dupSet
	var id, method json.RawMessage
	hasAnswer := false
	sc := memberScanner{b: b}
	if !sc.open() {
		return m, &errBody{codeInvalidRequest, "Invalid Request: " + sc.err.Error()}
	}
	for {
		k, v, ok := sc.next()
		if !ok {
			break
		}
		if seen.add(k) {
			return m, &errBody{codeInvalidRequest, "Invalid Request: " + fmt.Sprintf("member %q appears twice", k)}
		}
		switch string(k) {
		case "id":
			id = v
		case "method":
			method = v
		case "params":
			m.params = v
		case "result", "error":
			hasAnswer = true
		}
	}
	if sc.err != nil {
		return m, &errBody{codeInvalidRequest, "Invalid Request: " + sc.err.Error()}
	}
	if id != nil && string(id) != "null" { // null: an answer to an unreadable request; no route
		key, ok := idKey(id)
		if !ok {
			return m, &errBody{codeInvalidRequest, "Invalid Request: id must be a string or a number"}
		}
		m.id, m.key = id, key
	}
	if method != nil {
		s, ok := jsonString(method)
		if !ok {
			return m, &errBody{codeInvalidRequest, "Invalid Request: method must be a string"}
		}
		m.method, m.hasMethod = s, true
	}
	if m.hasMethod && id != nil && m.id == nil {
		// A request's id is never null (MCP): it is no notification either.
		return m, &errBody{codeInvalidRequest, "Invalid Request: id must be a string or a number"}
	}
	if !m.hasMethod && m.id == nil && !hasAnswer {
		return m, &errBody{codeInvalidRequest, "Invalid Request: neither a request, a notification nor a response"}
	}
	return m, nil
}

// dupSet tells whether a member name was seen before in one object: a
// short list compared in place, a map past that (an object of many members
// must not cost their square).
type dupSet struct {
	few  [8][]byte
	n    int
	many map[string]bool
}

// add records k and reports whether it was there already.
func (d *dupSet) add(k []byte) bool {
	if d.many != nil {
		if d.many[string(k)] {
			return true
		}
		d.many[string(k)] = true
		return false
	}
	for _, o := range d.few[:d.n] {
		if bytes.Equal(o, k) {
			return true
		}
	}
	if d.n < len(d.few) {
		d.few[d.n] = k
		d.n++
		return false
	}
	d.many = make(map[string]bool, 2*len(d.few))
	for _, o := range d.few {
		d.many[string(o)] = true
	}
	d.many[string(k)] = true
	return false
}

// memberScanner walks the top-level members of a JSON object (valid JSON)
// without decoding their values: open, then next until it reports false;
// err then says whether the object was malformed. A key comes as its bytes
// when it holds no escape (valid UTF-8), else decoded.
type memberScanner struct {
	b      []byte
	i      int
	err    error
	end    bool
	vstart int // where the value next returned starts in b
}

// open reads the opening brace.
func (s *memberScanner) open() bool {
	s.i = skipWS(s.b, 0)
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		s.err = errors.New("not an object")
		return false
	}
	s.i = skipWS(s.b, s.i+1)
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.end = true
	}
	return true
}

func (s *memberScanner) fail(msg string) ([]byte, json.RawMessage, bool) {
	s.err, s.end = errors.New(msg), true
	return nil, nil, false
}

// next returns the next member.
func (s *memberScanner) next() (key []byte, val json.RawMessage, ok bool) {
	if s.end {
		return nil, nil, false
	}
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return s.fail("object key is not a string")
	}
	end, escaped, ok := stringEnd(b, i)
	if !ok {
		return s.fail("unterminated string")
	}
	key = b[i+1 : end-1]
	if escaped || !utf8.Valid(key) {
		var k string
		if json.Unmarshal(b[i:end], &k) != nil {
			return s.fail("bad object key")
		}
		key = []byte(k)
	}
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return s.fail("missing colon")
	}
	i = skipWS(b, i+1)
	vend, ok := valueEnd(b, i)
	if !ok {
		return s.fail("bad value")
	}
	val, s.vstart = json.RawMessage(b[i:vend]), i
	i = skipWS(b, vend)
	if i >= len(b) {
		return s.fail("unterminated object")
	}
	switch b[i] {
	case ',':
		i = skipWS(b, i+1)
	case '}':
		s.end = true
	default:
		return s.fail("missing comma")
	}
	s.i = i
	return key, val, true
}

// members returns the members of a JSON object by exact name, refusing a
// name that appears twice. b must be valid JSON. It scans the object's
// top level by hand (the values are delimited, not decoded): the
// encoding/json token reader it agrees with (membersSlow, checked by
// FuzzMembers) costs several times as much.
func members(b []byte) (map[string]json.RawMessage, error) {
	sc := memberScanner{b: b}
	if !sc.open() {
		return nil, sc.err
	}
	out := map[string]json.RawMessage{}
	for {
		k, v, ok := sc.next()
		if !ok {
			break
		}
		if _, dup := out[string(k)]; dup {
			return nil, fmt.Errorf("member %q appears twice", k)
		}
		out[string(k)] = v
	}
	if sc.err != nil {
		return nil, sc.err
	}
	return out, nil
}

// member returns members(b)[key] without building a map: false when b is
// no object, has no such member, or names a member twice.
func member(b []byte, key string) (json.RawMessage, bool) {
	sc := memberScanner{b: b}
	if !sc.open() {
		return nil, false
	}
	var seen dupSet
	var found json.RawMessage
	ok := false
	for {
		k, v, more := sc.next()
		if !more {
			break
		}
		if seen.add(k) {
			return nil, false
		}
		if string(k) == key {
			found, ok = v, true
		}
	}
	if sc.err != nil {
		return nil, false
	}
	return found, ok
}

// jsonString decodes the JSON string raw: its bytes as they are when it
// holds no escape, no control character and is valid UTF-8 (what
// encoding/json would return then), else by encoding/json.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i]
// ('"'), and whether it holds an escape.
func stringEnd(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, true
		}
	}
	return 0, false, false
}

// valueEnd returns the index just past the JSON value that starts at b[i].
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := stringEnd(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j, j > i
}

// membersSlow is members by encoding/json's token reader: the reference
// FuzzMembers holds members to.
func membersSlow(b []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not an object")
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("member %q appears twice", k)
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		return nil, err
	}
	return out, nil
}

// idKey is the key under which a request and its answer meet: the decoded
// string for a string id; for a number, the integer a server may answer it
// with. A server echoes an id as it decoded it: JavaScript reads 1.0, 1e0
// and 10e-1 as 1 and 2^53+1 as 2^53, the Go SDK truncates the double to an
// int64. Two ids told apart by their text could so come back as one, and
// one request's answer be taken for the other's (two clients of a caller,
// one sending 1, the other 1.0): numbers are keyed by the truncated double,
// as the relay keys them. A number whose magnitude reaches 2^63 is no
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
		if n, ok := smallInt(id); ok {
			return "n:" + strconv.FormatInt(n, 10), true // -0 is 0
		}
		var n json.Number
		if json.Unmarshal(id, &n) != nil {
			return "", false
		}
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || !(math.Abs(f) < 1<<63) {
			return "", false
		}
		return "n:" + strconv.FormatInt(int64(f), 10), true // -0 is 0
	}
	return "", false
}

// smallInt reads a JSON integer of at most 15 digits (no fraction, no
// exponent), which a double holds exactly: the common id, read without
// encoding/json.
func smallInt(b []byte) (int64, bool) {
	d := b
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || (d[0] == '0' && len(d) > 1) {
		return 0, false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// stringMember returns the string member key of the object raw, and whether
// it is there as a string.
func stringMember(raw json.RawMessage, key string) (string, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return "", false
	}
	v, ok := member(raw, key)
	if !ok {
		return "", false
	}
	return jsonString(v)
}

// JSON-RPC error codes the transport answers with.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInternalError  = -32603
	// CodeHeaderMismatch is the 2026-07-28 error for an Mcp-Method or
	// Mcp-Name header that does not match the body.
	CodeHeaderMismatch = -32020
)

// errorMessage renders a JSON-RPC error answering id (null when nil).
func errorMessage(id json.RawMessage, code int, msg string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	m, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}{"2.0", id, struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, msg}})
	return m
}

// appendEvent appends one SSE event carrying msg as its data. A message that
// holds line breaks (pretty-printed JSON) becomes several data lines, which
// the reader joins with "\n": JSON whitespace, the same value.
func appendEvent(dst []byte, event, id string, msg []byte) []byte {
	if id != "" {
		dst = append(append(append(dst, "id: "...), id...), '\n')
	}
	if event != "" {
		dst = append(append(append(dst, "event: "...), event...), '\n')
	}
	for len(msg) > 0 {
		i := bytes.IndexAny(msg, "\r\n")
		line := msg
		if i >= 0 {
			line = msg[:i]
		}
		dst = append(append(append(dst, "data: "...), line...), '\n')
		if i < 0 {
			break
		}
		if msg[i] == '\r' && i+1 < len(msg) && msg[i+1] == '\n' {
			i++
		}
		msg = msg[i+1:]
	}
	return append(dst, '\n')
}
