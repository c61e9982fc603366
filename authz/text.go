package authz

import (
	"encoding/base64"
	"errors"
	"strings"
)

// Text forms of warrants and stacks (WIRE.md §3). Tenuo emits URL-safe
// unpadded base64 in some places and standard padded base64 in others, and PEM
// blocks of 64-character lines; all of them are accepted.

// PEM block labels.
const (
	pemWarrant = "TENUO WARRANT"
	pemChain   = "TENUO WARRANT CHAIN"
)

// maxTextBytes bounds the text ParseText reads: the base64 of a full stack
// plus generous room for line breaks and PEM armour. Checked before any
// decoding.
var maxTextBytes = base64.RawURLEncoding.EncodedLen(MaxStackBytes)*5/4 + 4096

// errBase64 is the cause behind every base64 failure.
var errBase64 = errors.New("invalid base64")

// DecodeBase64 decodes base64 text in either alphabet (standard or URL-safe,
// not mixed), padded or not; ASCII whitespace anywhere is ignored. Trailing
// bits must be zero, so that every byte string has one text form per
// alphabet.
func DecodeBase64(s string) ([]byte, error) {
	// A signature's or a key's text fits the stack buffer; a warrant's
	// (hundreds of bytes) takes one allocation more.
	var stackBuf [128]byte
	clean := stackBuf[:0]
	if len(s) > len(stackBuf) {
		clean = make([]byte, 0, len(s))
	}
	std, url := false, false
	pad := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			continue
		case c == '=':
			pad++
			continue
		case pad > 0:
			return nil, errors.New("invalid base64: data after padding")
		case c == '+' || c == '/':
			std = true
		case c == '-' || c == '_':
			url = true
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			return nil, errors.New("invalid base64: unexpected character")
		}
		clean = append(clean, c)
	}
	if std && url {
		return nil, errors.New("invalid base64: mixes the standard and URL-safe alphabets")
	}
	if pad > 2 || (pad > 0 && (len(clean)+pad)%4 != 0) {
		return nil, errors.New("invalid base64: wrong padding")
	}
	enc := strictRawURL
	if std {
		enc = strictRawStd
	}
	out := make([]byte, enc.DecodedLen(len(clean)))
	n, err := enc.Decode(out, clean)
	if err != nil {
		return nil, errBase64
	}
	return out[:n], nil
}

// The strict raw encodings DecodeBase64 decodes with (made once: Strict
// returns a new Encoding each time it is called).
var (
	strictRawURL = base64.RawURLEncoding.Strict()
	strictRawStd = base64.RawStdEncoding.Strict()
)

// ParseText decodes the text form of a warrant or a stack: base64 (either
// alphabet, padded or not, with whitespace) of a single warrant or of a
// stack; one "TENUO WARRANT" PEM block (a warrant) or several in a row (a
// stack, root first); or one "TENUO WARRANT CHAIN" PEM block (a stack).
//
// Every error is a [*Denial] wrapping [ErrMalformed] or [ErrTooLarge].
func ParseText(s string) (Stack, error) {
	if len(s) > maxTextBytes {
		return nil, deny(CodeChainTooLarge, ErrTooLarge, "warrant text: %d bytes exceed the limit of %d", len(s), maxTextBytes)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "warrant text: empty input")
	}
	if !strings.HasPrefix(t, "-----") {
		b, err := decodeBounded(t, MaxStackBytes, "warrant text")
		if err != nil {
			return nil, err
		}
		return ParseStack(b)
	}
	blocks, err := pemBlocks(t)
	if err != nil {
		return nil, err
	}
	if blocks[0].label == pemChain {
		if len(blocks) != 1 {
			return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "warrant text: a %s block must stand alone", pemChain)
		}
		b, err := decodeBounded(blocks[0].body, MaxStackBytes, "warrant chain PEM")
		if err != nil {
			return nil, err
		}
		return ParseStack(b)
	}
	if len(blocks) > maxStackLen {
		return nil, deny(CodeChainTooLarge, ErrTooLarge, "warrant text: %d warrants exceed the limit of %d", len(blocks), maxStackLen)
	}
	stack := make(Stack, 0, len(blocks))
	total := 0
	for i, blk := range blocks {
		if blk.label != pemWarrant {
			return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "warrant text: block %d is a %s block among %s blocks", i, blk.label, pemWarrant)
		}
		b, err := decodeBounded(blk.body, MaxWarrantBytes, "warrant PEM")
		if err != nil {
			return nil, err
		}
		if total += len(b); total > MaxStackBytes {
			return nil, deny(CodeChainTooLarge, ErrTooLarge, "warrant text: warrants exceed the stack limit of %d bytes", MaxStackBytes)
		}
		w, err := ParseWarrant(b)
		if err != nil {
			return nil, err
		}
		stack = append(stack, w)
	}
	return stack, nil
}

// decodeBounded decodes base64 text whose decoded size must not exceed max,
// checking the text's length before decoding.
func decodeBounded(s string, max int, what string) ([]byte, error) {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '=' {
			n++
		}
	}
	if n*3/4 > max {
		code := CodeChainTooLarge
		if max == MaxWarrantBytes {
			code = CodeWarrantTooLarge
		}
		return nil, deny(code, ErrTooLarge, "%s: about %d bytes exceed the limit of %d", what, n*3/4, max)
	}
	b, err := DecodeBase64(s)
	if err != nil {
		return nil, deny(CodeInvalidEnvelopeStructure, ErrMalformed, "%s: %v", what, err)
	}
	return b, nil
}

type pemBlock struct {
	label string
	body  string
}

// pemBlocks splits text into PEM blocks that follow one another, separated
// only by whitespace. Only the two Tenuo labels are accepted, and a block's
// body is its base64 text (no headers).
func pemBlocks(s string) ([]pemBlock, error) {
	bad := func(format string, args ...any) error {
		return deny(CodeInvalidEnvelopeStructure, ErrMalformed, "warrant PEM: "+format, args...)
	}
	var out []pemBlock
	for {
		s = strings.TrimLeft(s, " \t\r\n\f\v")
		if s == "" {
			break
		}
		if len(out) > maxStackLen {
			return nil, deny(CodeChainTooLarge, ErrTooLarge, "warrant PEM: more than %d blocks", maxStackLen)
		}
		label, ok := pemLine(s, "-----BEGIN ")
		if !ok {
			return nil, bad("expected a BEGIN line")
		}
		if label != pemWarrant && label != pemChain {
			return nil, bad("unexpected block label %q", label)
		}
		s = s[len("-----BEGIN ")+len(label)+len("-----"):]
		end := "-----END " + label + "-----"
		i := strings.Index(s, end)
		if i < 0 {
			return nil, bad("missing %q", end)
		}
		body := s[:i]
		if strings.Contains(body, "-----") || strings.Contains(body, ":") {
			return nil, bad("unexpected content inside the %s block", label)
		}
		out = append(out, pemBlock{label: label, body: body})
		s = s[i+len(end):]
	}
	if len(out) == 0 {
		return nil, bad("no block found")
	}
	return out, nil
}

// pemLine reads "<prefix>LABEL-----" at the start of s and returns LABEL.
func pemLine(s, prefix string) (string, bool) {
	if !strings.HasPrefix(s, prefix) {
		return "", false
	}
	rest := s[len(prefix):]
	i := strings.Index(rest, "-----")
	if i < 0 || strings.ContainsAny(rest[:i], "\r\n") {
		return "", false
	}
	return rest[:i], true
}

// Base64 returns the stack's CBOR in URL-safe base64 without padding, as
// Tenuo's clients send it in the X-Tenuo-Warrant header and MCP _meta.
func (s Stack) Base64() string { return base64.RawURLEncoding.EncodeToString(s.Bytes()) }

// PEM returns the stack as one "TENUO WARRANT CHAIN" PEM block, as Tenuo's
// encode_pem_stack writes it: URL-safe unpadded base64 in lines of 64
// characters, each line ending in a newline.
func (s Stack) PEM() string { return pemEncode(pemChain, s.Bytes()) }

// Base64 returns the warrant's envelope in URL-safe base64 without padding.
func (w *Warrant) Base64() string { return base64.RawURLEncoding.EncodeToString(w.raw) }

// PEM returns the warrant as one "TENUO WARRANT" PEM block, as Tenuo's
// encode_pem writes it.
func (w *Warrant) PEM() string { return pemEncode(pemWarrant, w.raw) }

func pemEncode(label string, b []byte) string {
	enc := base64.RawURLEncoding.EncodeToString(b)
	var sb strings.Builder
	sb.Grow(len(enc) + len(enc)/64 + 2*len(label) + 32)
	sb.WriteString("-----BEGIN " + label + "-----\n")
	for len(enc) > 64 {
		sb.WriteString(enc[:64])
		sb.WriteByte('\n')
		enc = enc[64:]
	}
	if enc != "" {
		sb.WriteString(enc)
		sb.WriteByte('\n')
	}
	sb.WriteString("-----END " + label + "-----\n")
	return sb.String()
}
