package authz

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// wireField is one encoded payload entry: an integer key and its value's CBOR.
type wireField struct {
	key uint64
	val []byte
}

// cxMap encodes a payload map from fields, in the order given.
func cxMap(fs []wireField) []byte {
	b := cbor.AppendMapHeader(nil, len(fs))
	for _, f := range fs {
		b = cbor.AppendUint(b, f.key)
		b = append(b, f.val...)
	}
	return b
}

func cxKey(seed byte) *SigningKey {
	k, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{seed}, SeedSize))
	if err != nil {
		panic(err)
	}
	return k
}

func cxPub(k PublicKey) []byte { return appendPublicKey(nil, k) }

func cxUint(n uint64) []byte { return cbor.AppendUint(nil, n) }

// cxTools1 encodes {"read_file": {"constraints": {"path": C}}} with C's CBOR.
func cxTools1(constraint []byte) []byte {
	b := cbor.AppendMapHeader(nil, 1)
	b = cbor.AppendText(b, "read_file")
	b = cbor.AppendMapHeader(b, 1)
	b = cbor.AppendText(b, "constraints")
	b = cbor.AppendMapHeader(b, 1)
	b = cbor.AppendText(b, "path")
	return append(b, constraint...)
}

// cxWildcard is [16, null].
var cxWildcard = []byte{0x82, 0x10, 0xf6}

// cxBaseFields returns the fields of a minimal valid execution payload.
func cxBaseFields() []wireField {
	id := bytes.Repeat([]byte{0x01}, 16)
	return []wireField{
		{0, cxUint(1)},
		{1, cbor.AppendBytes(nil, id)},
		{2, cxUint(0)},
		{3, cxTools1(cxWildcard)},
		{4, cxPub(cxKey(3).Public())},
		{5, cxPub(cxKey(1).Public())},
		{6, cxUint(1704067200)},
		{7, cxUint(1704070800)},
		{8, cxUint(3)},
		{18, cxUint(0)},
	}
}

// cxWith replaces (or appends) key's value; a nil val removes the key.
func cxWith(fs []wireField, key uint64, val []byte) []wireField {
	out := make([]wireField, 0, len(fs)+1)
	done := false
	for _, f := range fs {
		if f.key == key {
			done = true
			if val != nil {
				out = append(out, wireField{key, val})
			}
			continue
		}
		out = append(out, f)
	}
	if !done && val != nil {
		// Insert in key order, as an encoder would.
		i := 0
		for i < len(out) && out[i].key < key {
			i++
		}
		out = append(out[:i], append([]wireField{{key, val}}, out[i:]...)...)
	}
	return out
}

// cxSig encodes [alg, bstr sig].
func cxSig(alg uint64, sig []byte) []byte {
	return cbor.AppendBytes(cbor.AppendUint(cbor.AppendArrayHeader(nil, 2), alg), sig)
}

// cxEnvelope encodes [ver, bstr payload, [alg, bstr sig]] from raw parts.
func cxEnvelope(ver uint64, payload []byte, alg uint64, sig []byte) []byte {
	b := cbor.AppendArrayHeader(nil, 3)
	b = cbor.AppendUint(b, ver)
	b = cbor.AppendBytes(b, payload)
	b = cbor.AppendArrayHeader(b, 2)
	b = cbor.AppendUint(b, alg)
	return cbor.AppendBytes(b, sig)
}

var cxZeroSig = make([]byte, 64)

func cxEnv(fs []wireField) []byte { return cxEnvelope(1, cxMap(fs), 1, cxZeroSig) }

func cxEnvPayload(payload []byte) []byte { return cxEnvelope(1, payload, 1, cxZeroSig) }

// nested wraps inner in n Not constraints.
func cxNestedNot(n int, inner []byte) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = cbor.AppendArrayHeader(b, 2)
		b = cbor.AppendUint(b, uint64(TypeNot))
		b = cbor.AppendMapHeader(b, 1)
		b = cbor.AppendText(b, "constraint")
	}
	return append(b, inner...)
}

// cxConstraint encodes [type, value] with value's CBOR given.
func cxConstraint(t uint64, value []byte) []byte {
	b := cbor.AppendArrayHeader(nil, 2)
	b = cbor.AppendUint(b, t)
	return append(b, value...)
}

func cxMap1(k string, v []byte) []byte {
	b := cbor.AppendMapHeader(nil, 1)
	b = cbor.AppendText(b, k)
	return append(b, v...)
}

func cxManyTools(n int) []byte {
	b := cbor.AppendMapHeader(nil, n)
	for i := 0; i < n; i++ {
		b = cbor.AppendText(b, fmt.Sprintf("tool%03d", i))
		b = append(b, cxMap1("constraints", cbor.AppendMapHeader(nil, 0))...)
	}
	return b
}

func cxManyConstraints(n int) []byte {
	m := cbor.AppendMapHeader(nil, n)
	for i := 0; i < n; i++ {
		m = cbor.AppendText(m, fmt.Sprintf("arg%03d", i))
		m = append(m, cxWildcard...)
	}
	b := cbor.AppendMapHeader(nil, 1)
	b = cbor.AppendText(b, "t")
	return append(b, cxMap1("constraints", m)...)
}

func cxExtensions(n, keyLen, valLen int) []byte {
	b := cbor.AppendMapHeader(nil, n)
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%03d", i)
		if keyLen > len(k) {
			k += strings.Repeat("x", keyLen-len(k))
		}
		b = cbor.AppendText(b, k)
		b = cbor.AppendBytes(b, make([]byte, valLen))
	}
	return b
}

func TestParseWarrantHostile(t *testing.T) {
	base := cxBaseFields()
	bigInt := cbor.AppendHead(nil, 0, math.MaxInt64+1)
	tests := []struct {
		name     string
		in       []byte
		code     Code
		sentinel error
		msg      string // substring of the message, when pinned
	}{
		{"empty", nil, CodeInvalidEnvelopeStructure, ErrMalformed, "empty"},
		{"too large", append(cxEnv(base), make([]byte, MaxWarrantBytes)...), CodeWarrantTooLarge, ErrTooLarge, ""},
		{"not an array", cxUint(1), CodeInvalidEnvelopeStructure, ErrMalformed, "expected an array"},
		{"array of 2", []byte{0x82, 0x01, 0x40}, CodeInvalidEnvelopeStructure, ErrMalformed, "got 2"},
		{"a stack", append([]byte{0x81}, cxEnv(base)...), CodeInvalidEnvelopeStructure, ErrMalformed, "stack"},
		{"envelope_version 2", cxEnvelope(2, cxMap(base), 1, cxZeroSig), CodeUnsupportedEnvelopeVersion, ErrMalformed, "envelope_version 2"},
		{"envelope_version 0", cxEnvelope(0, cxMap(base), 1, cxZeroSig), CodeUnsupportedEnvelopeVersion, ErrMalformed, ""},
		{"envelope_version text", append([]byte{0x83, 0x61, '1'}, cxEnv(base)[2:]...), CodeInvalidEnvelopeStructure, ErrMalformed, "envelope_version"},
		{"payload as text", append([]byte{0x83, 0x01, 0x60}, cxSig(1, cxZeroSig)...), CodeInvalidEnvelopeStructure, ErrMalformed, "payload must be a byte string"},
		{"signature alg 2", cxEnvelope(1, cxMap(base), 2, cxZeroSig), CodeUnsupportedAlgorithm, ErrMalformed, "algorithm 2"},
		{"signature 63 bytes", cxEnvelope(1, cxMap(base), 1, cxZeroSig[:63]), CodeInvalidSignatureLength, ErrMalformed, "got 63"},
		{"signature 65 bytes", cxEnvelope(1, cxMap(base), 1, make([]byte, 65)), CodeInvalidSignatureLength, ErrMalformed, ""},
		{"trailing bytes", append(cxEnv(base), 0x00), CodeMalformedCBOR, ErrMalformed, ""},
		{"truncated", cxEnv(base)[:40], CodeMalformedCBOR, ErrMalformed, ""},
		{"indefinite envelope", append(append([]byte{0x9f}, cxEnv(base)[1:]...), 0xff), CodeMalformedCBOR, ErrMalformed, ""},
		{"tagged envelope", append([]byte{0xd8, 0x18}, cxEnv(base)...), CodeMalformedCBOR, ErrMalformed, ""},

		{"payload not a map", cxEnvPayload(cxUint(1)), CodeInvalidPayloadStructure, ErrMalformed, "expected a map"},
		{"payload truncated", cxEnvPayload(cxMap(base)[:20]), CodeMalformedCBOR, ErrMalformed, "payload"},
		{"payload trailing bytes", cxEnvPayload(append(cxMap(base), 0xf6)), CodeMalformedCBOR, ErrMalformed, ""},
		{"duplicate key", cxEnv(append(base, wireField{0, cxUint(1)})), CodeMalformedCBOR, ErrMalformed, "duplicate map key 0"},
		{"duplicate key, wider encoding", cxEnv(append(base[1:], wireField{0, cxUint(1)}, wireField{0, []byte{0x01}})), CodeMalformedCBOR, ErrMalformed, "duplicate"},
		{"key 12", cxEnv(cxWith(base, 12, cxUint(30))), CodeUnknownPayloadField, ErrMalformed, "payload key 12 (removed field) is not allowed"},
		{"key 19", cxEnv(cxWith(base, 19, cxUint(0))), CodeUnknownPayloadField, ErrMalformed, "unknown key 19"},
		{"text key", cxEnvPayload(append(append([]byte{0xab}, cxMap(base)[1:]...), 0x61, 'x', 0x00)), CodeUnknownPayloadField, ErrMalformed, "key must be an unsigned integer"},
		{"version 2", cxEnv(cxWith(base, 0, cxUint(2))), CodeUnsupportedPayloadVersion, ErrMalformed, "version 2"},
		{"version text", cxEnv(cxWith(base, 0, cbor.AppendText(nil, "1"))), CodeInvalidPayloadStructure, ErrMalformed, "version"},
		{"id 15 bytes", cxEnv(cxWith(base, 1, cbor.AppendBytes(nil, make([]byte, 15)))), CodeInvalidPayloadStructure, ErrMalformed, "id: must be 16 bytes, got 15"},
		{"type 2", cxEnv(cxWith(base, 2, cxUint(2))), CodeInvalidPayloadStructure, ErrMalformed, "unknown warrant type 2"},
		{"tools not a map", cxEnv(cxWith(base, 3, []byte{0x80})), CodeInvalidPayloadStructure, ErrMalformed, "tools"},
		{"holder alg 2", cxEnv(cxWith(base, 4, append([]byte{0x82, 0x02}, cbor.AppendBytes(nil, make([]byte, 32))...))), CodeUnsupportedAlgorithm, ErrMalformed, "holder"},
		{"holder 31 bytes", cxEnv(cxWith(base, 4, append([]byte{0x82, 0x01}, cbor.AppendBytes(nil, make([]byte, 31))...))), CodeInvalidKeyLength, ErrMalformed, "holder: public key must be 32 bytes, got 31"},
		{"issuer 33 bytes", cxEnv(cxWith(base, 5, append([]byte{0x82, 0x01}, cbor.AppendBytes(nil, make([]byte, 33))...))), CodeInvalidKeyLength, ErrMalformed, "issuer"},
		{"holder as bytes", cxEnv(cxWith(base, 4, cbor.AppendBytes(nil, make([]byte, 32)))), CodeInvalidPayloadStructure, ErrMalformed, "holder"},
		{"issued_at negative", cxEnv(cxWith(base, 6, cbor.AppendInt(nil, -1))), CodeInvalidPayloadStructure, ErrMalformed, "issued_at"},
		{"expires_at float", cxEnv(cxWith(base, 7, cbor.AppendFloat(nil, 1.5))), CodeInvalidPayloadStructure, ErrMalformed, "expires_at"},
		{"max_depth 65", cxEnv(cxWith(base, 8, cxUint(65))), CodeValueTooLarge, ErrTooLarge, "max_depth: 65 exceeds the limit of 64"},
		{"depth 65", cxEnv(cxWith(base, 18, cxUint(65))), CodeValueTooLarge, ErrTooLarge, "depth: 65"},
		{"parent_hash 31 bytes", cxEnv(cxWith(base, 9, cbor.AppendBytes(nil, make([]byte, 31)))), CodeInvalidPayloadStructure, ErrMalformed, "parent_hash"},
		{"parent_hash 33 elements", cxEnv(cxWith(base, 9, cbor.AppendUintArray(nil, make([]byte, 33)))), CodeInvalidPayloadStructure, ErrMalformed, "parent_hash"},
		{"parent_hash element 256", cxEnv(cxWith(base, 9, cbor.AppendUint(append(cbor.AppendArrayHeader(nil, 32), make([]byte, 31)...), 256))), CodeInvalidPayloadStructure, ErrMalformed, "element 31"},
		{"parent_hash null", cxEnv(cxWith(base, 9, []byte{0xf6})), CodeInvalidPayloadStructure, ErrMalformed, "parent_hash"},
		{"257 tools", cxEnv(cxWith(base, 3, cxManyTools(257))), CodeTooManyTools, ErrTooLarge, "tools: 257 tools exceed the limit of 256"},
		{"65 constraints", cxEnv(cxWith(base, 3, cxManyConstraints(65))), CodeTooManyConstraints, ErrTooLarge, "65 constraints exceed the limit of 64"},
		{"65 extensions", cxEnv(cxWith(base, 10, cxExtensions(65, 0, 1))), CodeExtensionTooLarge, ErrTooLarge, "65 keys"},
		{"extension key 256 bytes", cxEnv(cxWith(base, 10, cxExtensions(1, 256, 1))), CodeExtensionTooLarge, ErrTooLarge, "key of 256 bytes"},
		{"extension value 8193 bytes", cxEnv(cxWith(base, 10, cxExtensions(1, 0, MaxExtensionValue+1))), CodeExtensionTooLarge, ErrTooLarge, "8193"},
		{"extension value text", cxEnv(cxWith(base, 10, cxMap1("k", cbor.AppendText(nil, "v")))), CodeInvalidPayloadStructure, ErrMalformed, "extensions"},
		{"session_id not UTF-8", cxEnv(cxWith(base, 10, cxMap1(ExtSessionID, cbor.AppendBytes(nil, []byte{0xff})))), CodeInvalidPayloadStructure, ErrMalformed, "UTF-8"},
		{"issuable_tools not text", cxEnv(cxWith(base, 11, cbor.AppendUintArray(nil, []byte{1}))), CodeInvalidPayloadStructure, ErrMalformed, "issuable_tools[0]"},
		{"clearance 256", cxEnv(cxWith(base, 17, cxUint(256))), CodeInvalidPayloadStructure, ErrMalformed, "clearance"},
		{"min_approvals beyond u32", cxEnv(cxWith(base, 16, cxUint(1<<32))), CodeInvalidPayloadStructure, ErrMalformed, "min_approvals"},
		{"required_approvers bad key", cxEnv(cxWith(base, 15, append([]byte{0x81, 0x82, 0x01}, cbor.AppendBytes(nil, make([]byte, 5))...))), CodeInvalidKeyLength, ErrMalformed, "required_approvers[0]"},
		{"constraint_bounds not a set", cxEnv(cxWith(base, 14, cxUint(0))), CodeInvalidPayloadStructure, ErrMalformed, "constraint_bounds"},

		{"constraint nesting 33", cxEnv(cxWith(base, 3, cxTools1(cxNestedNot(33, cxWildcard)))), CodeValueTooLarge, ErrTooLarge, "nesting exceeds the limit of 32"},
		{"CBOR nesting beyond the reader's limit", cxEnv(cxWith(base, 3, cxTools1(cxNestedNot(60, cxWildcard)))), CodeValueTooLarge, ErrTooLarge, "nesting"},
		{"value nesting 40", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(1, cxMap1("value", append(bytes.Repeat([]byte{0x81}, 40), 0x01)))))), CodeValueTooLarge, ErrTooLarge, "value nesting"},
		{"constraint not an array", cxEnv(cxWith(base, 3, cxTools1(cxUint(16)))), CodeInvalidPayloadStructure, ErrMalformed, "[type_id, value]"},
		{"constraint type 256", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(256, []byte{0xf6})))), CodeInvalidPayloadStructure, ErrMalformed, "type id"},
		{"wildcard not null", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(16, cxUint(0))))), CodeInvalidPayloadStructure, ErrMalformed, "expected null"},
		{"pattern unknown key", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(2, append(append([]byte{0xa2}, cxMap1("pattern", cbor.AppendText(nil, "a"))[1:]...), cxMap1("extra", []byte{0xf5})[1:]...))))), CodeInvalidPayloadStructure, ErrMalformed, `unknown key "extra"`},
		{"pattern missing key", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(2, []byte{0xa0})))), CodeInvalidPayloadStructure, ErrMalformed, `missing key "pattern"`},
		{"range integer bound", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(3, cxRange(cxUint(1), []byte{0xf6}))))), CodeInvalidPayloadStructure, ErrMalformed, "float or null"},
		{"range missing inclusive", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(3, cxMap1("min", []byte{0xf6}))))), CodeInvalidPayloadStructure, ErrMalformed, "min_inclusive"},
		{"exact integer beyond i64", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(1, cxMap1("value", bigInt))))), CodeInvalidPayloadStructure, ErrMalformed, "64-bit signed range"},
		{"exact bytes value", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(1, cxMap1("value", cbor.AppendBytes(nil, []byte("x"))))))), CodeInvalidPayloadStructure, ErrMalformed, "not a constraint value"},
		{"one_of not a list", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(4, cxMap1("values", cxUint(1)))))), CodeInvalidPayloadStructure, ErrMalformed, "values"},
		{"cidr not text", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(8, cxUint(1))))), CodeInvalidPayloadStructure, ErrMalformed, "Cidr"},
		{"url_safe port 65536", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(18, cxMap1("allow_ports", cbor.AppendUint(cbor.AppendArrayHeader(nil, 1), 65536)))))), CodeInvalidPayloadStructure, ErrMalformed, "allow_ports[0]"},
		{"allow_unknown not bool", cxEnv(cxWith(base, 3, func() []byte {
			b := cbor.AppendMapHeader(nil, 1)
			b = cbor.AppendText(b, "t")
			b = cbor.AppendMapHeader(b, 2)
			b = cbor.AppendText(b, "constraints")
			b = cbor.AppendMapHeader(b, 0)
			b = cbor.AppendText(b, "allow_unknown")
			return cbor.AppendUint(b, 1)
		}())), CodeInvalidPayloadStructure, ErrMalformed, "allow_unknown"},
		{"invalid UTF-8 text", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(2, cxMap1("pattern", []byte{0x61, 0xff}))))), CodeMalformedCBOR, ErrMalformed, "UTF-8"},
		{"indefinite map in payload", cxEnv(cxWith(base, 3, []byte{0xbf, 0xff})), CodeMalformedCBOR, ErrMalformed, ""},
		{"tag in payload", cxEnv(cxWith(base, 6, []byte{0xc1, 0x1a, 0x65, 0x92, 0x00, 0x80})), CodeMalformedCBOR, ErrMalformed, ""},
		{"undefined in payload", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(16, []byte{0xf7})))), CodeMalformedCBOR, ErrMalformed, ""},
	}
	for k := uint64(0); k <= 8; k++ {
		tests = append(tests, struct {
			name     string
			in       []byte
			code     Code
			sentinel error
			msg      string
		}{fmt.Sprintf("missing key %d", k), cxEnv(cxWith(base, k, nil)), CodeMissingRequiredField, ErrMalformed,
			fmt.Sprintf("missing required key %d (%s)", k, payloadKeyNames[k])})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWarrant(tc.in)
			if err == nil {
				t.Fatalf("ParseWarrant accepted %x as %+v", tc.in, w.Payload)
			}
			var d *Denial
			if !errors.As(err, &d) {
				t.Fatalf("error %v (%T) is not a *Denial", err, err)
			}
			if d.Code != tc.code {
				t.Errorf("code = %v, want %v (%v)", d.Code, tc.code, err)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tc.sentinel)
			}
			if !strings.Contains(d.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", d.Message, tc.msg)
			}
		})
	}
}

// cxRange encodes Range's four keys with given min and max CBOR.
func cxRange(min, max []byte) []byte {
	b := cbor.AppendMapHeader(nil, 4)
	b = cbor.AppendText(b, "min")
	b = append(b, min...)
	b = cbor.AppendText(b, "max")
	b = append(b, max...)
	b = cbor.AppendText(b, "min_inclusive")
	b = cbor.AppendBool(b, true)
	b = cbor.AppendText(b, "max_inclusive")
	return cbor.AppendBool(b, true)
}

// TestParseWarrantAccepts covers inputs that are unusual but valid.
func TestParseWarrantAccepts(t *testing.T) {
	base := cxBaseFields()
	hash := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name  string
		in    []byte
		check func(t *testing.T, w *Warrant)
		// reencodes is true when EncodePayload gives back the same bytes.
		reencodes bool
	}{
		{"minimal", cxEnv(base), nil, true},
		{"parent_hash as uint array", cxEnv(cxWith(base, 9, cbor.AppendUintArray(nil, hash))), func(t *testing.T, w *Warrant) {
			if w.ParentHash == nil || !bytes.Equal(w.ParentHash[:], hash) {
				t.Errorf("parent_hash = %v", w.ParentHash)
			}
		}, true},
		{"parent_hash as byte string", cxEnv(cxWith(base, 9, cbor.AppendBytes(nil, hash))), func(t *testing.T, w *Warrant) {
			if w.ParentHash == nil || !bytes.Equal(w.ParentHash[:], hash) {
				t.Errorf("parent_hash = %v", w.ParentHash)
			}
		}, false},
		{"extension as byte string", cxEnv(cxWith(base, 10, cxMap1(ExtSessionID, cbor.AppendBytes(nil, []byte("sess-1"))))), func(t *testing.T, w *Warrant) {
			if s, ok := w.SessionID(); !ok || s != "sess-1" {
				t.Errorf("session id = %q, %v", s, ok)
			}
		}, false},
		{"extension as uint array", cxEnv(cxWith(base, 10, cxMap1(ExtSessionID, cbor.AppendUintArray(nil, []byte("sess-1"))))), func(t *testing.T, w *Warrant) {
			if s, _ := w.SessionID(); s != "sess-1" {
				t.Errorf("session id = %q", s)
			}
		}, true},
		{"depth absent means 0", cxEnv(cxWith(base, 18, nil)), func(t *testing.T, w *Warrant) {
			if w.Depth != 0 {
				t.Errorf("depth = %d", w.Depth)
			}
		}, false},
		{"keys in any order", cxEnv(append(base[5:], base[:5]...)), nil, false},
		{"max_depth and depth 64", cxEnv(cxWith(cxWith(base, 8, cxUint(64)), 18, cxUint(64))), nil, true},
		{"nesting 32", cxEnv(cxWith(base, 3, cxTools1(cxNestedNot(32, cxWildcard)))), nil, true},
		{"unknown constraint type 6", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(6, cxMap1("custom", cbor.AppendText(nil, "data")))))), func(t *testing.T, w *Warrant) {
			c, ok := w.Tools["read_file"].Constraints["path"].(*UnknownConstraint)
			if !ok || c.TypeID != 6 || !bytes.Equal(c.Raw, cxMap1("custom", cbor.AppendText(nil, "data"))) {
				t.Errorf("constraint = %#v", w.Tools["read_file"].Constraints["path"])
			}
		}, true},
		{"unknown constraint type 200", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(200, cbor.AppendBytes(nil, []byte{1, 2}))))), nil, true},
		{"integer values at the i64 bounds", cxEnv(cxWith(base, 3, cxTools1(cxConstraint(4, cxMap1("values", func() []byte {
			b := cbor.AppendArrayHeader(nil, 3)
			b = cbor.AppendInt(b, math.MaxInt64)
			b = cbor.AppendInt(b, math.MinInt64)
			return cbor.AppendFloat(b, 1)
		}()))))), func(t *testing.T, w *Warrant) {
			c := w.Tools["read_file"].Constraints["path"].(*OneOf)
			want := []any{int64(math.MaxInt64), int64(math.MinInt64), float64(1)}
			for i := range want {
				if !valueEqual(c.Values[i], want[i]) {
					t.Errorf("values[%d] = %#v, want %#v", i, c.Values[i], want[i])
				}
			}
		}, true},
		{"allow_unknown false spelled out", cxEnv(cxWith(base, 3, func() []byte {
			b := cbor.AppendMapHeader(nil, 1)
			b = cbor.AppendText(b, "t")
			b = cbor.AppendMapHeader(b, 2)
			b = cbor.AppendText(b, "constraints")
			b = cbor.AppendMapHeader(b, 0)
			b = cbor.AppendText(b, "allow_unknown")
			return cbor.AppendBool(b, false)
		}())), nil, false},
		{"subpath and url_safe defaults", cxEnv(cxWith(base, 3, func() []byte {
			b := cbor.AppendMapHeader(nil, 2)
			b = cbor.AppendText(b, "a")
			b = append(b, cxMap1("constraints", cxMap1("p", cxConstraint(17, cxMap1("root", cbor.AppendText(nil, "/data")))))...)
			b = cbor.AppendText(b, "b")
			return append(b, cxMap1("constraints", cxMap1("u", cxConstraint(18, []byte{0xa0})))...)
		}())), func(t *testing.T, w *Warrant) {
			sp := w.Tools["a"].Constraints["p"].(*Subpath)
			if sp.Root != "/data" || sp.CaseInsensitive || sp.ExcludeRoot {
				t.Errorf("subpath = %+v", sp)
			}
			us := w.Tools["b"].Constraints["u"].(*URLSafe)
			if strings.Join(us.Schemes, ",") != "http,https" || us.AllowPrivate || us.AllowLoopback ||
				us.AllowMetadata || us.AllowReserved || us.BlockInternalTLDs || us.AllowPorts != nil || us.AllowDomains != nil {
				t.Errorf("url_safe = %+v", us)
			}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ParseWarrant(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, w)
			}
			re, err := EncodePayload(&w.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Equal(re, w.PayloadBytes()); got != tc.reencodes {
				t.Errorf("re-encoding gives the same bytes: %v, want %v\n got %x\nfrom %x", got, tc.reencodes, re, w.PayloadBytes())
			}
			// Whatever the input's spelling, the canonical form is a fixed point.
			p2, err := decodePayloadBytes(re)
			if err != nil {
				t.Fatalf("re-encoded payload does not decode: %v", err)
			}
			re2, err := EncodePayload(p2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re, re2) {
				t.Errorf("encoding is not stable:\n%x\n%x", re, re2)
			}
		})
	}
}

func cxF64(x float64) *float64 { return &x }

// cxFullPayload builds an issuer-ish payload that uses every
// constraint type and every optional wireField.
func cxFullPayload() Payload {
	parent := "value > 0"
	cs := ConstraintSet{Constraints: map[string]Constraint{
		"exact":      &Exact{Value: map[string]any{"b": []any{int64(1), 1.5, "x", true, nil}, "a": int64(-7)}},
		"pattern":    &Pattern{Pattern: "/data/*"},
		"range":      &Range{Min: cxF64(0), Max: cxF64(100.25), MaxExclusive: true},
		"range_open": &Range{Max: cxF64(1e300), MinExclusive: true},
		"one_of":     &OneOf{Values: []any{"a", int64(2), 3.0}},
		"regex":      &Regex{Pattern: "^[a-z]+$"},
		"not_one_of": &NotOneOf{Excluded: []any{"prod"}},
		"cidr":       &CIDR{Network: "10.0.0.0/8"},
		"url":        &URLPattern{Pattern: "https://*.example.com/api/*"},
		"contains":   &Contains{Required: []any{"admin"}},
		"subset":     &Subset{Allowed: []any{"read", "write"}},
		"all":        &All{Constraints: []Constraint{&Pattern{Pattern: "a*"}, &Not{Constraint: &Exact{Value: "ab"}}}},
		"any":        &Any{Constraints: []Constraint{&Exact{Value: int64(1)}, &Range{Min: cxF64(10), MinExclusive: true, MaxExclusive: true}}},
		"empty_any":  &Any{Constraints: []Constraint{}},
		"cel":        &CEL{Expression: "(value > 0) && (value < 10)", ParentExpression: &parent},
		"cel_plain":  &CEL{Expression: "value > 0"},
		"wildcard":   &Wildcard{},
		"subpath":    &Subpath{Root: "/data", CaseInsensitive: true},
		"url_safe":   &URLSafe{Schemes: []string{"https"}, AllowDomains: []string{"*.example.com"}, AllowPorts: []uint16{443, 8443}, BlockInternalTLDs: true},
		"url_safe_0": &URLSafe{Schemes: []string{}, DenyDomains: []string{"evil.com"}, AllowPrivate: true, AllowLoopback: true, AllowMetadata: true, AllowReserved: true},
		"shlex":      &Shlex{Allow: []string{"ls", "git"}},
		"unknown":    &UnknownConstraint{TypeID: 42, Raw: cxMap1("x", cxUint(1))},
	}, AllowUnknown: true}
	hash := [32]byte{1, 2, 3, 250}
	mid, mina := uint64(2), uint64(1)
	clr := uint8(30)
	return Payload{
		Version:    1,
		ID:         WarrantID{0x01, 0x94, 0x71, 0xf8, 0x70, 0x00, 0x80},
		Type:       Execution,
		Tools:      map[string]ConstraintSet{"tool": cs, "*": {}, "Zed": {Constraints: map[string]Constraint{"x": &Wildcard{}}}},
		Holder:     cxKey(3).Public(),
		Issuer:     cxKey(2).Public(),
		IssuedAt:   1704067200,
		ExpiresAt:  1704070800,
		MaxDepth:   5,
		ParentHash: &hash,
		Extensions: map[string][]byte{
			ExtSessionID: []byte("sess-abc"), ExtAgentID: []byte("agent"), "z": {0, 255, 7}, "empty": {},
		},
		IssuableTools:     []string{"read_file", "write_file"},
		MaxIssueDepth:     &mid,
		ConstraintBounds:  &ConstraintSet{Constraints: map[string]Constraint{"path": &Subpath{Root: "/"}}},
		RequiredApprovers: []PublicKey{cxKey(0x11).Public(), cxKey(0x12).Public()},
		MinApprovals:      &mina,
		Clearance:         &clr,
		Depth:             1,
	}
}

func TestRoundTripEveryConstraint(t *testing.T) {
	p := cxFullPayload()
	pb, err := EncodePayload(&p)
	if err != nil {
		t.Fatal(err)
	}
	issuer := cxKey(2)
	w := newWarrant(p, pb, issuer.Sign(envelopeMessage(pb)))
	got, err := ParseWarrant(w.Bytes())
	if err != nil {
		t.Fatalf("ParseWarrant: %v", err)
	}
	re, err := EncodePayload(&got.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re, pb) {
		t.Fatalf("payload changed in a round trip:\n got %x\nwant %x", re, pb)
	}
	if !bytes.Equal(got.Bytes(), w.Bytes()) || got.Signature() != w.Signature() {
		t.Error("envelope changed in a round trip")
	}
	cs := got.Tools["tool"]
	if !cs.AllowUnknown || len(cs.Constraints) != len(p.Tools["tool"].Constraints) {
		t.Fatalf("tool set = %+v", cs)
	}
	for name, c := range p.Tools["tool"].Constraints {
		if cs.Constraints[name] == nil || cs.Constraints[name].Type() != c.Type() {
			t.Errorf("%s: decoded as %v, want type %v", name, cs.Constraints[name], c.Type())
		}
	}
	r := cs.Constraints["range"].(*Range)
	if r.Min == nil || *r.Min != 0 || r.Max == nil || *r.Max != 100.25 || r.MinExclusive || !r.MaxExclusive {
		t.Errorf("range = %+v", r)
	}
	if c := cs.Constraints["cel"].(*CEL); c.ParentExpression == nil || *c.ParentExpression != "value > 0" {
		t.Errorf("cel = %+v", c)
	}
	if c := cs.Constraints["cel_plain"].(*CEL); c.ParentExpression != nil {
		t.Errorf("cel_plain = %+v", c)
	}
	if !valueEqual(cs.Constraints["exact"].(*Exact).Value, p.Tools["tool"].Constraints["exact"].(*Exact).Value) {
		t.Errorf("exact = %#v", cs.Constraints["exact"])
	}
	if got.Clearance == nil || *got.Clearance != 30 || got.MinApprovals == nil || *got.MinApprovals != 1 ||
		got.MaxIssueDepth == nil || *got.MaxIssueDepth != 2 || len(got.RequiredApprovers) != 2 ||
		got.ParentHash == nil || *got.ParentHash != *p.ParentHash || string(got.Extensions["z"]) != "\x00\xff\x07" {
		t.Errorf("optional fields did not survive: %+v", got.Payload)
	}
}

// TestEncodePayloadShape pins Tenuo's choices the vectors do not all show.
func TestEncodePayloadShape(t *testing.T) {
	p := cxFullPayload()
	minimal := Payload{Version: 1, Tools: map[string]ConstraintSet{}}
	tests := []struct {
		name string
		p    *Payload
		want []byte // substring of the encoding
	}{
		{"empty tools map emitted", &minimal, []byte{0x03, 0xa0}},
		{"depth always emitted", &minimal, []byte{0x12, 0x00}},
		{"10 keys when nothing optional", &minimal, []byte{0xaa}},
		{"18 keys with every optional field", &p, []byte{0xb2}},
		{"parent_hash as uint array", &p, append([]byte{0x09, 0x98, 0x20, 0x01, 0x02, 0x03, 0x18, 0xfa}, make([]byte, 28)...)},
		{"extension value as uint array", &p, append(cbor.AppendText(nil, "z"), 0x83, 0x00, 0x18, 0xff, 0x07)},
		{"empty extension value", &p, append(cbor.AppendText(nil, "empty"), 0x80)},
		{"range in field order", &p, func() []byte {
			b := cbor.AppendMapHeader(nil, 4)
			b = cbor.AppendFloat(cbor.AppendText(b, "min"), 0)
			b = cbor.AppendFloat(cbor.AppendText(b, "max"), 100.25)
			b = cbor.AppendBool(cbor.AppendText(b, "min_inclusive"), true)
			return cbor.AppendBool(cbor.AppendText(b, "max_inclusive"), false)
		}()},
		{"floats in the shortest width", &p, append(cbor.AppendText(nil, "max"), 0xf9, 0x56, 0x44)},
		{"open range bound is null", &p, append(cbor.AppendText(nil, "min"), 0xf6)},
		{"wildcard is null", &p, []byte{0x82, 0x10, 0xf6}},
		{"allow_unknown only when set", &p, append(cbor.AppendText(nil, "allow_unknown"), 0xf5)},
		{"url_safe absent lists are null", &p, append(cbor.AppendText(nil, "allow_domains"), 0xf6)},
		{"shlex type id 128", &p, []byte{0x82, 0x18, 0x80, 0xa1}},
		{"unknown constraint raw", &p, []byte{0x82, 0x18, 0x2a, 0xa1, 0x61, 'x', 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodePayload(tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, tc.want) {
				t.Errorf("encoding lacks %x:\n%x", tc.want, b)
			}
		})
	}
	// Keys sorted by raw bytes: "*" < "Zed" < "tool".
	b, _ := EncodePayload(&p)
	i1, i2, i3 := bytes.Index(b, cbor.AppendText(nil, "*")), bytes.Index(b, cbor.AppendText(nil, "Zed")), bytes.Index(b, cbor.AppendText(nil, "tool"))
	if !(i1 >= 0 && i1 < i2 && i2 < i3) {
		t.Errorf("tools not in byte order: %d %d %d", i1, i2, i3)
	}
	if !bytes.Contains(b, cbor.AppendText(nil, "allow_unknown")) || bytes.Count(b, cbor.AppendText(nil, "allow_unknown")) != 1 {
		t.Error("allow_unknown must appear once, for the one set that has it")
	}
}

func TestEncodePayloadErrors(t *testing.T) {
	cyc := &Not{}
	cyc.Constraint = cyc
	tests := []struct {
		name string
		c    Constraint
	}{
		{"nil constraint", nil},
		{"typed nil", (*Pattern)(nil)},
		{"not with nil inner", &Not{}},
		{"cycle", cyc},
		{"bad value", &Exact{Value: int(1)}},
		{"unknown without raw", &UnknownConstraint{TypeID: 99}},
		{"unknown with broken raw", &UnknownConstraint{TypeID: 99, Raw: []byte{0x82, 0x01}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Payload{Version: 1, Tools: map[string]ConstraintSet{"t": {Constraints: map[string]Constraint{"a": tc.c}}}}
			if b, err := EncodePayload(&p); err == nil {
				t.Errorf("EncodePayload accepted it: %x", b)
			}
		})
	}
	if _, err := EncodePayload(nil); err == nil {
		t.Error("EncodePayload(nil) succeeded")
	}
}

func TestParseStackHostile(t *testing.T) {
	env := cxEnv(cxBaseFields())
	stackOf := func(n int, e []byte) []byte {
		b := cbor.AppendArrayHeader(nil, n)
		for i := 0; i < n; i++ {
			b = append(b, e...)
		}
		return b
	}
	tests := []struct {
		name     string
		in       []byte
		code     Code
		sentinel error
		msg      string
	}{
		{"empty input", nil, CodeInvalidEnvelopeStructure, ErrMalformed, "empty"},
		{"empty stack", []byte{0x80}, CodeInvalidEnvelopeStructure, ErrMalformed, "empty stack"},
		{"not an array", cxUint(1), CodeInvalidEnvelopeStructure, ErrMalformed, "expected an array"},
		{"66 warrants", stackOf(66, env), CodeChainTooLarge, ErrTooLarge, "66 warrants exceed the limit of 65"},
		{"over 256 KiB", append(stackOf(1, env), make([]byte, MaxStackBytes)...), CodeChainTooLarge, ErrTooLarge, ""},
		{"element not an envelope", []byte{0x82, 0x80, 0x01}, CodeInvalidEnvelopeStructure, ErrMalformed, "stack[0]"},
		{"bad second warrant", append(append(cbor.AppendArrayHeader(nil, 2), env...), cxEnvelope(2, cxMap(cxBaseFields()), 1, cxZeroSig)...), CodeUnsupportedEnvelopeVersion, ErrMalformed, "stack[1]"},
		{"trailing bytes", append(stackOf(1, env), 0x00), CodeMalformedCBOR, ErrMalformed, ""},
		{"nested stack", cbor.AppendArrayHeader(nil, 1), CodeMalformedCBOR, ErrMalformed, ""},
	}
	tests[len(tests)-1].in = append(cbor.AppendArrayHeader(nil, 1), stackOf(1, env)...)
	tests[len(tests)-1].code, tests[len(tests)-1].msg = CodeInvalidEnvelopeStructure, "stack[0]"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStack(tc.in)
			var d *Denial
			if !errors.As(err, &d) {
				t.Fatalf("error %v is not a *Denial", err)
			}
			if d.Code != tc.code || !errors.Is(err, tc.sentinel) || !strings.Contains(d.Message, tc.msg) {
				t.Errorf("got %v (code %d), want code %d, %v, message with %q", err, d.Code, tc.code, tc.sentinel, tc.msg)
			}
		})
	}
}

func TestParseStackForms(t *testing.T) {
	env := cxEnv(cxBaseFields())
	env2 := cxEnv(cxWith(cxBaseFields(), 18, cxUint(1)))
	tests := []struct {
		name string
		in   []byte
		want [][]byte
	}{
		{"single warrant", env, [][]byte{env}},
		{"stack of one", append([]byte{0x81}, env...), [][]byte{env}},
		{"stack of two", append(append([]byte{0x82}, env...), env2...), [][]byte{env, env2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseStack(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) != len(tc.want) {
				t.Fatalf("got %d warrants, want %d", len(s), len(tc.want))
			}
			for i := range s {
				if !bytes.Equal(s[i].Bytes(), tc.want[i]) {
					t.Errorf("warrant %d differs", i)
				}
			}
			again, err := ParseStack(s.Bytes())
			if err != nil || len(again) != len(s) {
				t.Fatalf("Stack.Bytes does not parse back: %v", err)
			}
		})
	}
	if got := (Stack{nil}).Bytes(); !bytes.Equal(got, []byte{0x80}) {
		t.Errorf("Stack{nil}.Bytes() = %x", got)
	}
}

// TestParseDoesNotAlias checks that the decoded warrant does not share memory
// with the caller's buffer.
func TestParseDoesNotAlias(t *testing.T) {
	env := cxEnv(cxBaseFields())
	w, err := ParseWarrant(env)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), w.PayloadBytes()...)
	for i := range env {
		env[i] = 0
	}
	if !bytes.Equal(w.PayloadBytes(), want) || w.Bytes()[0] != 0x83 {
		t.Error("warrant aliases the input buffer")
	}
}

// cxCheckStable is the fuzz property: a decoded warrant re-encodes to
// a payload that decodes again to the same encoding.
func cxCheckStable(t *testing.T, s Stack) {
	t.Helper()
	for i, w := range s {
		re, err := EncodePayload(&w.Payload)
		if err != nil {
			t.Fatalf("warrant %d: EncodePayload of a decoded payload failed: %v", i, err)
		}
		p2, err := decodePayloadBytes(re)
		if err != nil {
			t.Fatalf("warrant %d: re-encoded payload does not decode: %v\n%x", i, err, re)
		}
		re2, err := EncodePayload(p2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(re, re2) {
			t.Fatalf("warrant %d: re-encoding is not stable:\n%x\n%x", i, re, re2)
		}
	}
	again, err := ParseStack(s.Bytes())
	if err != nil || len(again) != len(s) {
		t.Fatalf("Stack.Bytes does not parse back: %v", err)
	}
}

func FuzzParseStack(f *testing.F) {
	vf := vecLoad(f)
	for _, v := range vf.Vectors {
		env := vecEnvelope(f, v)
		f.Add(env)
		f.Add(append([]byte{0x81}, env...))
	}
	f.Add(cxEnv(cxBaseFields()))
	p := cxFullPayload()
	if pb, err := EncodePayload(&p); err == nil {
		f.Add(cxEnvPayload(pb))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStack(data)
		if err != nil {
			var d *Denial
			if !errors.As(err, &d) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("error %v is not a malformed/too-large denial", err)
			}
			return
		}
		if len(s) == 0 {
			t.Fatal("ParseStack returned an empty stack without error")
		}
		cxCheckStable(t, s)
	})
}
