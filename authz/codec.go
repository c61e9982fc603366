package authz

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// The wire codec (WIRE.md §1, §2). Decoding is strict and never re-encodes
// what it was given: a Warrant keeps the exact payload bytes that were signed.
// Encoding reproduces Tenuo's bytes (ciborium over serde) exactly.

// Wire constants of the envelope.
const (
	envelopeVersion = 1
	algEd25519      = 1
	payloadVersion  = 1
	maxStackLen     = MaxChainDepth + 1 // warrants in one stack: depths 0…64
)

// maxPayloadNesting bounds how deeply arrays and maps may nest in a payload.
// The deepest legitimate item is a constraint value inside 32 levels of
// composite constraints (3 CBOR levels each) under payload, tools, set and
// constraints maps, with a value nested up to 32 levels: about 140.
const maxPayloadNesting = 160

// maxEnvelopeItems bounds the data items of an envelope or a stack decoded
// before their payloads: an envelope has 6, so a stack of the largest
// size has under 400. The bound keeps a hostile stack from costing memory
// in proportion to its item count before it is refused.
const maxEnvelopeItems = 4096

// Payload map keys (WIRE.md §2).
const (
	keyVersion           = 0
	keyID                = 1
	keyType              = 2
	keyTools             = 3
	keyHolder            = 4
	keyIssuer            = 5
	keyIssuedAt          = 6
	keyExpiresAt         = 7
	keyMaxDepth          = 8
	keyParentHash        = 9
	keyExtensions        = 10
	keyIssuableTools     = 11
	keyRemoved           = 12 // trust_ceiling in early Tenuo; now refused
	keyMaxIssueDepth     = 13
	keyConstraintBounds  = 14
	keyRequiredApprovers = 15
	keyMinApprovals      = 16
	keyClearance         = 17
	keyDepth             = 18
)

var payloadKeyNames = [...]string{
	keyVersion: "version", keyID: "id", keyType: "type", keyTools: "tools", keyHolder: "holder",
	keyIssuer: "issuer", keyIssuedAt: "issued_at", keyExpiresAt: "expires_at", keyMaxDepth: "max_depth",
	keyParentHash: "parent_hash", keyExtensions: "extensions", keyIssuableTools: "issuable_tools",
	keyRemoved: "removed", keyMaxIssueDepth: "max_issue_depth", keyConstraintBounds: "constraint_bounds",
	keyRequiredApprovers: "required_approvers", keyMinApprovals: "min_approvals", keyClearance: "clearance",
	keyDepth: "depth",
}

// ParseWarrant decodes one signed warrant (the envelope
// [1, bstr payload, [1, bstr64]]) and its payload. It checks structure and
// limits only: the signature is not verified here.
//
// Every error is a [*Denial] wrapping [ErrMalformed] or [ErrTooLarge].
func ParseWarrant(data []byte) (*Warrant, error) {
	if len(data) > MaxWarrantBytes {
		return nil, deny(CodeWarrantTooLarge, ErrTooLarge, "warrant: %d bytes exceed the limit of %d", len(data), MaxWarrantBytes)
	}
	if len(data) == 0 {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "warrant: empty input")
	}
	buf := append([]byte(nil), data...) // the Warrant keeps slices of it
	it, err := cbor.Decode(buf, cbor.Limits{MaxDepth: 8, MaxItems: maxEnvelopeItems})
	if err != nil {
		return nil, cborDenial("envelope", err)
	}
	return parseEnvelope(&it, "envelope")
}

// ParseStack decodes a warrant stack (a CBOR array of envelopes, root first)
// or a single warrant, which becomes a stack of one. The two are told apart
// by their first element: an unsigned integer starts an envelope, an array
// starts a stack.
//
// Every error is a [*Denial] wrapping [ErrMalformed] or [ErrTooLarge].
func ParseStack(data []byte) (Stack, error) {
	if len(data) > MaxStackBytes {
		return nil, deny(CodeChainTooLarge, ErrTooLarge, "stack: %d bytes exceed the limit of %d", len(data), MaxStackBytes)
	}
	if len(data) == 0 {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "stack: empty input")
	}
	buf := append([]byte(nil), data...)
	it, err := cbor.Decode(buf, cbor.Limits{MaxDepth: 8, MaxItems: maxEnvelopeItems})
	if err != nil {
		return nil, cborDenial("stack", err)
	}
	if it.Kind != cbor.KindArray {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "stack: expected an array, got %s", it.Kind)
	}
	if len(it.Items) == 0 {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "stack: empty stack")
	}
	if it.Items[0].Kind != cbor.KindArray {
		// A single envelope.
		if len(data) > MaxWarrantBytes {
			return nil, deny(CodeWarrantTooLarge, ErrTooLarge, "warrant: %d bytes exceed the limit of %d", len(data), MaxWarrantBytes)
		}
		w, err := parseEnvelope(&it, "envelope")
		if err != nil {
			return nil, err
		}
		return Stack{w}, nil
	}
	if len(it.Items) > maxStackLen {
		return nil, deny(CodeChainTooLarge, ErrTooLarge, "stack: %d warrants exceed the limit of %d", len(it.Items), maxStackLen)
	}
	s := make(Stack, 0, len(it.Items))
	for i := range it.Items {
		e := &it.Items[i]
		what := fmt.Sprintf("stack[%d]", i)
		if len(e.Raw) > MaxWarrantBytes {
			return nil, deny(CodeWarrantTooLarge, ErrTooLarge, "%s: %d bytes exceed the limit of %d", what, len(e.Raw), MaxWarrantBytes)
		}
		w, err := parseEnvelope(e, what)
		if err != nil {
			return nil, err
		}
		s = append(s, w)
	}
	return s, nil
}

// cborDenial turns a reader error into a denial: nesting beyond the limits
// is a size verdict, anything else malformed CBOR.
func cborDenial(what string, err error) *Denial {
	var ce *cbor.Error
	if errors.As(err, &ce) && ce.Nested {
		return deny(CodeValueTooLarge, ErrTooLarge, "%s: CBOR nesting exceeds the limit", what)
	}
	return deny(CodeMalformedCBOR, ErrMalformed, "%s: malformed CBOR: %s", what, trimCBOR(err.Error()))
}

func trimCBOR(s string) string {
	if len(s) > 6 && s[:6] == "cbor: " {
		return s[6:]
	}
	return s
}

// parseEnvelope checks an envelope item and decodes its payload.
func parseEnvelope(it *cbor.Item, what string) (*Warrant, error) {
	bad := func(format string, args ...any) error {
		return deny(CodeInvalidEnvelopeStructure, ErrMalformed, what+": "+format, args...)
	}
	if it.Kind != cbor.KindArray {
		return nil, bad("expected an array of 3 items, got %s", it.Kind)
	}
	if len(it.Items) > 0 && it.Items[0].Kind == cbor.KindArray {
		return nil, bad("got a warrant stack where a single warrant was expected")
	}
	if len(it.Items) != 3 {
		return nil, bad("expected an array of 3 items, got %d", len(it.Items))
	}
	ver, sig, pl := &it.Items[0], &it.Items[2], &it.Items[1]
	if ver.Kind != cbor.KindUint {
		return nil, bad("envelope_version must be an unsigned integer, got %s", ver.Kind)
	}
	if ver.Uint != envelopeVersion {
		return nil, deny(CodeUnsupportedEnvelopeVersion, ErrMalformed, "%s: unsupported envelope_version %d", what, ver.Uint)
	}
	if pl.Kind != cbor.KindBytes {
		return nil, bad("payload must be a byte string, got %s", pl.Kind)
	}
	if sig.Kind != cbor.KindArray || len(sig.Items) != 2 {
		return nil, bad("signature must be an array [alg, bytes]")
	}
	if sig.Items[0].Kind != cbor.KindUint {
		return nil, bad("signature algorithm must be an unsigned integer, got %s", sig.Items[0].Kind)
	}
	if sig.Items[0].Uint != algEd25519 {
		return nil, deny(CodeUnsupportedAlgorithm, ErrMalformed, "%s: unsupported signature algorithm %d", what, sig.Items[0].Uint)
	}
	if sig.Items[1].Kind != cbor.KindBytes {
		return nil, bad("signature must be a byte string, got %s", sig.Items[1].Kind)
	}
	if n := len(sig.Items[1].Bytes); n != SignatureSize {
		return nil, deny(CodeInvalidSignatureLength, ErrMalformed, "%s: signature must be %d bytes, got %d", what, SignatureSize, n)
	}
	p, err := decodePayloadBytes(pl.Bytes)
	if err != nil {
		return nil, err
	}
	w := &Warrant{Payload: *p, payloadBytes: pl.Bytes, raw: it.Raw}
	copy(w.signature[:], sig.Items[1].Bytes)
	return w, nil
}

// decodePayloadBytes decodes signed payload bytes.
func decodePayloadBytes(b []byte) (*Payload, error) {
	it, err := cbor.Decode(b, cbor.Limits{MaxDepth: maxPayloadNesting})
	if err != nil {
		return nil, cborDenial("payload", err)
	}
	return decodePayload(&it)
}

// payloadErr is the denial for a payload whose structure is wrong.
func payloadErr(format string, args ...any) *Denial {
	return deny(CodeInvalidPayloadStructure, ErrMalformed, format, args...)
}

func tooLarge(code Code, format string, args ...any) *Denial {
	return deny(code, ErrTooLarge, format, args...)
}

// decodePayload decodes the payload map (WIRE.md §2).
func decodePayload(it *cbor.Item) (*Payload, error) {
	if it.Kind != cbor.KindMap {
		return nil, payloadErr("payload: expected a map, got %s", it.Kind)
	}
	var seen [keyDepth + 1]bool
	p := &Payload{gates: &gateCache{}}
	for i := range it.Pairs {
		k, v := &it.Pairs[i].Key, &it.Pairs[i].Value
		if k.Kind != cbor.KindUint {
			return nil, deny(CodeUnknownPayloadField, ErrMalformed, "payload: key must be an unsigned integer, got %s", k.Kind)
		}
		if k.Uint == keyRemoved {
			return nil, deny(CodeUnknownPayloadField, ErrMalformed, "payload key 12 (removed field) is not allowed")
		}
		if k.Uint > keyDepth {
			return nil, deny(CodeUnknownPayloadField, ErrMalformed, "payload: unknown key %d", k.Uint)
		}
		seen[k.Uint] = true
		if err := decodePayloadField(p, k.Uint, v); err != nil {
			return nil, err
		}
	}
	for k := keyVersion; k <= keyMaxDepth; k++ {
		if !seen[k] {
			return nil, deny(CodeMissingRequiredField, ErrMalformed, "payload: missing required key %d (%s)", k, payloadKeyNames[k])
		}
	}
	return p, nil
}

func decodePayloadField(p *Payload, key uint64, v *cbor.Item) error {
	name := payloadKeyNames[key]
	switch key {
	case keyVersion:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if n != payloadVersion {
			return deny(CodeUnsupportedPayloadVersion, ErrMalformed, "payload: unsupported version %d", n)
		}
		p.Version = n
	case keyID:
		b, err := wantBytes(v, name)
		if err != nil {
			return err
		}
		if len(b) != len(p.ID) {
			return payloadErr("id: must be %d bytes, got %d", len(p.ID), len(b))
		}
		copy(p.ID[:], b)
	case keyType:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if n != uint64(Execution) && n != uint64(Issuer) {
			return payloadErr("type: unknown warrant type %d", n)
		}
		p.Type = WarrantType(n)
	case keyTools:
		if v.Kind != cbor.KindMap {
			return payloadErr("tools: expected a map, got %s", v.Kind)
		}
		if len(v.Pairs) > MaxTools {
			return tooLarge(CodeTooManyTools, "tools: %d tools exceed the limit of %d", len(v.Pairs), MaxTools)
		}
		p.Tools = make(map[string]ConstraintSet, len(v.Pairs))
		for i := range v.Pairs {
			tool, err := wantText(&v.Pairs[i].Key, "tools: tool name")
			if err != nil {
				return err
			}
			cs, err := decodeConstraintSet(&v.Pairs[i].Value, fmt.Sprintf("tools[%q]", tool))
			if err != nil {
				return err
			}
			p.Tools[tool] = cs
		}
	case keyHolder:
		k, err := decodePublicKey(v, name)
		if err != nil {
			return err
		}
		p.Holder = k
	case keyIssuer:
		k, err := decodePublicKey(v, name)
		if err != nil {
			return err
		}
		p.Issuer = k
	case keyIssuedAt, keyExpiresAt:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if key == keyIssuedAt {
			p.IssuedAt = n
		} else {
			p.ExpiresAt = n
		}
	case keyMaxDepth, keyDepth:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if n > MaxChainDepth {
			return tooLarge(CodeValueTooLarge, "%s: %d exceeds the limit of %d", name, n, MaxChainDepth)
		}
		if key == keyMaxDepth {
			p.MaxDepth = n
		} else {
			p.Depth = n
		}
	case keyParentHash:
		b, err := decodeByteArray(v, name, 32)
		if err != nil {
			return err
		}
		if len(b) != 32 {
			return payloadErr("parent_hash: must be 32 bytes, got %d", len(b))
		}
		var h [32]byte
		copy(h[:], b)
		p.ParentHash = &h
	case keyExtensions:
		return decodeExtensions(p, v)
	case keyIssuableTools:
		if v.Kind != cbor.KindArray {
			return payloadErr("issuable_tools: expected an array, got %s", v.Kind)
		}
		if len(v.Items) > MaxTools {
			return tooLarge(CodeTooManyTools, "issuable_tools: %d tools exceed the limit of %d", len(v.Items), MaxTools)
		}
		tools, err := decodeTextList(v, name)
		if err != nil {
			return err
		}
		p.IssuableTools = tools
	case keyMaxIssueDepth, keyMinApprovals:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if n > math.MaxUint32 {
			return payloadErr("%s: %d is out of range", name, n)
		}
		if key == keyMaxIssueDepth {
			p.MaxIssueDepth = &n
		} else {
			p.MinApprovals = &n
		}
	case keyConstraintBounds:
		cs, err := decodeConstraintSet(v, name)
		if err != nil {
			return err
		}
		p.ConstraintBounds = &cs
	case keyRequiredApprovers:
		if v.Kind != cbor.KindArray {
			return payloadErr("required_approvers: expected an array, got %s", v.Kind)
		}
		keys := make([]PublicKey, 0, len(v.Items))
		for i := range v.Items {
			k, err := decodePublicKey(&v.Items[i], fmt.Sprintf("required_approvers[%d]", i))
			if err != nil {
				return err
			}
			keys = append(keys, k)
		}
		p.RequiredApprovers = keys
	case keyClearance:
		n, err := wantUint(v, name)
		if err != nil {
			return err
		}
		if n > math.MaxUint8 {
			return payloadErr("clearance: %d is out of range (0-255)", n)
		}
		c := uint8(n)
		p.Clearance = &c
	}
	return nil
}

func decodeExtensions(p *Payload, v *cbor.Item) error {
	if v.Kind != cbor.KindMap {
		return payloadErr("extensions: expected a map, got %s", v.Kind)
	}
	if len(v.Pairs) > MaxExtensions {
		return tooLarge(CodeExtensionTooLarge, "extensions: %d keys exceed the limit of %d", len(v.Pairs), MaxExtensions)
	}
	p.Extensions = make(map[string][]byte, len(v.Pairs))
	for i := range v.Pairs {
		key, err := wantText(&v.Pairs[i].Key, "extensions: key")
		if err != nil {
			return err
		}
		if len(key) > MaxExtensionKeyBytes {
			return tooLarge(CodeExtensionTooLarge, "extensions: key of %d bytes exceeds the limit of %d", len(key), MaxExtensionKeyBytes)
		}
		what := fmt.Sprintf("extensions[%q]", key)
		val, err := decodeByteArray(&v.Pairs[i].Value, what, MaxExtensionValue)
		if err != nil {
			return err
		}
		// Tenuo reads these two as UTF-8 strings and refuses the warrant
		// when they are not.
		if (key == ExtSessionID || key == ExtAgentID) && !utf8.Valid(val) {
			return payloadErr("%s: value is not valid UTF-8", what)
		}
		p.Extensions[key] = val
	}
	return nil
}

// decodeByteArray reads a byte string, or an array of unsigned integers
// 0–255 (how Tenuo emits fixed byte arrays), of at most max bytes.
func decodeByteArray(v *cbor.Item, what string, max int) ([]byte, error) {
	switch v.Kind {
	case cbor.KindBytes:
		if len(v.Bytes) > max {
			return nil, byteArrayTooLarge(what, len(v.Bytes), max)
		}
		return append([]byte{}, v.Bytes...), nil
	case cbor.KindArray:
		if len(v.Items) > max {
			return nil, byteArrayTooLarge(what, len(v.Items), max)
		}
		b := make([]byte, len(v.Items))
		for i := range v.Items {
			e := &v.Items[i]
			if e.Kind != cbor.KindUint || e.Uint > math.MaxUint8 {
				return nil, payloadErr("%s: element %d is not a byte (0-255)", what, i)
			}
			b[i] = byte(e.Uint)
		}
		return b, nil
	}
	return nil, payloadErr("%s: expected a byte string or an array of bytes, got %s", what, v.Kind)
}

func byteArrayTooLarge(what string, n, max int) *Denial {
	if max == MaxExtensionValue {
		return tooLarge(CodeExtensionTooLarge, "%s: value of %d bytes exceeds the limit of %d", what, n, max)
	}
	return payloadErr("%s: must be %d bytes, got %d", what, max, n)
}

func decodePublicKey(v *cbor.Item, what string) (PublicKey, error) {
	var k PublicKey
	if v.Kind != cbor.KindArray || len(v.Items) != 2 {
		return k, payloadErr("%s: public key must be an array [alg, bytes]", what)
	}
	alg, b := &v.Items[0], &v.Items[1]
	if alg.Kind != cbor.KindUint {
		return k, payloadErr("%s: key algorithm must be an unsigned integer, got %s", what, alg.Kind)
	}
	if alg.Uint != algEd25519 {
		return k, deny(CodeUnsupportedAlgorithm, ErrMalformed, "%s: unsupported key algorithm %d", what, alg.Uint)
	}
	if b.Kind != cbor.KindBytes {
		return k, payloadErr("%s: public key must be a byte string, got %s", what, b.Kind)
	}
	if len(b.Bytes) != PublicKeySize {
		return k, deny(CodeInvalidKeyLength, ErrMalformed, "%s: public key must be %d bytes, got %d", what, PublicKeySize, len(b.Bytes))
	}
	copy(k[:], b.Bytes)
	return k, nil
}

func wantUint(v *cbor.Item, what string) (uint64, error) {
	if v.Kind != cbor.KindUint {
		return 0, payloadErr("%s: expected an unsigned integer, got %s", what, v.Kind)
	}
	return v.Uint, nil
}

func wantBytes(v *cbor.Item, what string) ([]byte, error) {
	if v.Kind != cbor.KindBytes {
		return nil, payloadErr("%s: expected a byte string, got %s", what, v.Kind)
	}
	return v.Bytes, nil
}

func wantText(v *cbor.Item, what string) (string, error) {
	if v.Kind != cbor.KindText {
		return "", payloadErr("%s: expected a text string, got %s", what, v.Kind)
	}
	return v.Text(), nil
}

func wantBool(v *cbor.Item, what string) (bool, error) {
	if v.Kind != cbor.KindBool {
		return false, payloadErr("%s: expected a boolean, got %s", what, v.Kind)
	}
	return v.Bool, nil
}

// decodeTextList reads an array of text strings (never nil).
func decodeTextList(v *cbor.Item, what string) ([]string, error) {
	if v.Kind != cbor.KindArray {
		return nil, payloadErr("%s: expected an array of text, got %s", what, v.Kind)
	}
	out := make([]string, 0, len(v.Items))
	for i := range v.Items {
		s, err := wantText(&v.Items[i], fmt.Sprintf("%s[%d]", what, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// EncodePayload encodes p as Tenuo does: keys ascending, optional keys
// omitted when nil (extensions also when empty), depth always present, maps
// keyed by strings sorted by their raw bytes, parent_hash and extension
// values as arrays of small integers, floats in their shortest lossless width.
func EncodePayload(p *Payload) ([]byte, error) {
	if p == nil {
		return nil, errors.New("encode payload: nil payload")
	}
	n := 10 // keys 0–8 and 18
	if p.ParentHash != nil {
		n++
	}
	if len(p.Extensions) > 0 {
		n++
	}
	for _, present := range []bool{p.IssuableTools != nil, p.MaxIssueDepth != nil, p.ConstraintBounds != nil,
		p.RequiredApprovers != nil, p.MinApprovals != nil, p.Clearance != nil} {
		if present {
			n++
		}
	}
	b := make([]byte, 0, 256)
	b = cbor.AppendMapHeader(b, n)
	b = cbor.AppendUint(b, keyVersion)
	b = cbor.AppendUint(b, p.Version)
	b = cbor.AppendUint(b, keyID)
	b = cbor.AppendBytes(b, p.ID[:])
	b = cbor.AppendUint(b, keyType)
	b = cbor.AppendUint(b, uint64(p.Type))
	b = cbor.AppendUint(b, keyTools)
	b = cbor.AppendMapHeader(b, len(p.Tools))
	var err error
	for _, tool := range cbor.SortedKeys(p.Tools) {
		b = cbor.AppendText(b, tool)
		cs := p.Tools[tool]
		if b, err = appendConstraintSet(b, &cs); err != nil {
			return nil, fmt.Errorf("encode payload: tools[%q]: %w", tool, err)
		}
	}
	b = cbor.AppendUint(b, keyHolder)
	b = appendPublicKey(b, p.Holder)
	b = cbor.AppendUint(b, keyIssuer)
	b = appendPublicKey(b, p.Issuer)
	b = cbor.AppendUint(b, keyIssuedAt)
	b = cbor.AppendUint(b, p.IssuedAt)
	b = cbor.AppendUint(b, keyExpiresAt)
	b = cbor.AppendUint(b, p.ExpiresAt)
	b = cbor.AppendUint(b, keyMaxDepth)
	b = cbor.AppendUint(b, p.MaxDepth)
	if p.ParentHash != nil {
		b = cbor.AppendUint(b, keyParentHash)
		b = cbor.AppendUintArray(b, p.ParentHash[:])
	}
	if len(p.Extensions) > 0 {
		b = cbor.AppendUint(b, keyExtensions)
		b = cbor.AppendMapHeader(b, len(p.Extensions))
		for _, k := range cbor.SortedKeys(p.Extensions) {
			b = cbor.AppendText(b, k)
			b = cbor.AppendUintArray(b, p.Extensions[k])
		}
	}
	if p.IssuableTools != nil {
		b = cbor.AppendUint(b, keyIssuableTools)
		b = appendTextList(b, p.IssuableTools)
	}
	if p.MaxIssueDepth != nil {
		b = cbor.AppendUint(b, keyMaxIssueDepth)
		b = cbor.AppendUint(b, *p.MaxIssueDepth)
	}
	if p.ConstraintBounds != nil {
		b = cbor.AppendUint(b, keyConstraintBounds)
		if b, err = appendConstraintSet(b, p.ConstraintBounds); err != nil {
			return nil, fmt.Errorf("encode payload: constraint_bounds: %w", err)
		}
	}
	if p.RequiredApprovers != nil {
		b = cbor.AppendUint(b, keyRequiredApprovers)
		b = cbor.AppendArrayHeader(b, len(p.RequiredApprovers))
		for _, k := range p.RequiredApprovers {
			b = appendPublicKey(b, k)
		}
	}
	if p.MinApprovals != nil {
		b = cbor.AppendUint(b, keyMinApprovals)
		b = cbor.AppendUint(b, *p.MinApprovals)
	}
	if p.Clearance != nil {
		b = cbor.AppendUint(b, keyClearance)
		b = cbor.AppendUint(b, uint64(*p.Clearance))
	}
	b = cbor.AppendUint(b, keyDepth)
	b = cbor.AppendUint(b, p.Depth)
	return b, nil
}

func appendPublicKey(b []byte, k PublicKey) []byte {
	b = cbor.AppendArrayHeader(b, 2)
	b = cbor.AppendUint(b, algEd25519)
	return cbor.AppendBytes(b, k[:])
}

func appendTextList(b []byte, l []string) []byte {
	b = cbor.AppendArrayHeader(b, len(l))
	for _, s := range l {
		b = cbor.AppendText(b, s)
	}
	return b
}

// newWarrant assembles a signed warrant from its payload, the payload's
// encoding and the issuer's signature over envelopeMessage(payloadBytes).
func newWarrant(p Payload, payloadBytes []byte, sig [64]byte) *Warrant {
	raw := make([]byte, 0, len(payloadBytes)+80)
	raw = cbor.AppendArrayHeader(raw, 3)
	raw = cbor.AppendUint(raw, envelopeVersion)
	raw = cbor.AppendBytes(raw, payloadBytes)
	raw = cbor.AppendArrayHeader(raw, 2)
	raw = cbor.AppendUint(raw, algEd25519)
	raw = cbor.AppendBytes(raw, sig[:])
	return &Warrant{Payload: p, payloadBytes: append([]byte(nil), payloadBytes...), signature: sig, raw: raw}
}

// Bytes returns the stack's CBOR: an array of the warrants' envelopes, root
// first. Nil entries are skipped.
func (s Stack) Bytes() []byte {
	n, size := 0, 9
	for _, w := range s {
		if w != nil {
			n++
			size += len(w.raw)
		}
	}
	b := make([]byte, 0, size)
	b = cbor.AppendArrayHeader(b, n)
	for _, w := range s {
		if w != nil {
			b = append(b, w.raw...)
		}
	}
	return b
}
