package authz

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
)

// Proof of possession (WIRE.md §6, Tenuo 0.3): the leaf's holder signs each
// call with
//
//	"tenuo-warrant-v1" ‖ "tenuo-pop-v1" ‖ CBOR([id hex, tool, [[key, value]…], window])
//
// where the argument pairs are sorted by key bytes, nested objects are maps
// with keys sorted by bytes, and window is the start of the 30-second window
// holding the signing time. A verifier tries its own window first, then one
// and two windows back and forward, so clocks may disagree by about a minute.

// PoPWindowSeconds is the width of a proof-of-possession time window.
const PoPWindowSeconds = 30

// PoPMaxWindows is the number of windows a verifier tries: offsets 0, −1, +1,
// −2, +2, that is the signing time may be about ±60 s from the verifier's.
const PoPMaxWindows = 5

// ErrBadArguments is wrapped by the [*Denial] (code 1602,
// pop-challenge-invalid) for call arguments that cannot be canonicalised:
// malformed JSON, a duplicate key, a number out of range, text over a limit,
// or a value outside the value model. Bad input, not a bad signature; a front
// end reports it as invalid parameters (JSON-RPC -32602). When a size limit
// was the cause, the error also wraps [ErrTooLarge].
var ErrBadArguments = errors.New("invalid call arguments")

// popOffsets are the window offsets tried, in Tenuo's order.
var popOffsets = [PoPMaxWindows]int64{0, -1, 1, -2, 2}

// maxArgDepth bounds the nesting of an argument map handed to [PoPMessage],
// [SignPoP] or verifyPoP directly (JSON text is bounded tighter by
// [CanonicalArgs]); it also stops a map that contains itself.
const maxArgDepth = 64

// CanonicalArgs parses the JSON text of a call's arguments into the map that
// proofs of possession sign and constraints check: one JSON object, objects
// at every depth as maps, integers as int64 (they must fit), other numbers
// as float64 except that an integral float inside the int64 range becomes
// the integer (1.0 is 1), null kept as nil. It refuses duplicate keys at any
// depth (also when they differ only by escaping), invalid UTF-8, lone
// surrogates, control characters in strings, NaN, infinities and overflowing
// floats, and text beyond Tenuo's bounds: 256 KiB, nesting depth 9 (the
// object itself is depth 0), 4096 values, 256 items per array or object,
// 64 KiB of string and key bytes.
//
// Every error is a [*Denial] with code 1602 wrapping [ErrBadArguments]; its
// message says what is wrong and where (byte offset and key path), and Arg
// names the top-level argument at fault when there is one.
func CanonicalArgs(jsonText []byte) (map[string]any, error) {
	m := make(map[string]any)
	if err := parseArgsInto(m, jsonText); err != nil {
		return nil, err
	}
	return m, nil
}

// parseArgsInto is CanonicalArgs into m, which must be empty; on error m is
// not to be used.
func parseArgsInto(m map[string]any, jsonText []byte) error {
	err := value.ParseInto(m, jsonText, value.DefaultLimits)
	if err == nil {
		return nil
	}
	d := &Denial{
		Code:    CodePopChallengeInvalid,
		Message: "invalid call arguments: " + err.Error(),
		Err:     fmt.Errorf("%w: %w", ErrBadArguments, err),
	}
	if errors.Is(err, value.ErrLimit) {
		d.Err = fmt.Errorf("%w: %w: %w", ErrBadArguments, ErrTooLarge, err)
	}
	var pe *value.Error
	if errors.As(err, &pe) {
		d.Arg = pe.Key
	}
	return d
}

// PoPWindow returns the start of the 30-second window holding t, in Unix
// seconds: floor(unix / 30) × 30. (Tenuo truncates toward zero; the two
// differ only before 1970.)
func PoPWindow(t time.Time) int64 {
	u := t.Unix()
	w := u / PoPWindowSeconds
	if u%PoPWindowSeconds < 0 {
		w--
	}
	return w * PoPWindowSeconds
}

// PoPMessage returns the bytes the holder signs for a call of tool with args
// in the window starting at window (Unix seconds, see [PoPWindow]):
// "tenuo-warrant-v1" ‖ "tenuo-pop-v1" ‖ CBOR([id.Hex(), tool, pairs, window]).
//
// args must hold only the value model's types (nil, bool, int64, finite
// float64, string, []any, map[string]any) with valid UTF-8 text, nested at
// most 64 deep; otherwise the error is a [*Denial] with code 1602 wrapping
// [ErrBadArguments].
func PoPMessage(id WarrantID, tool string, args map[string]any, window int64) ([]byte, error) {
	prefix, err := popPrefix(id, tool, args)
	if err != nil {
		return nil, err
	}
	return cbor.AppendInt(prefix, window), nil
}

// popPrefix returns the PoP message up to, not including, the window: the
// part that does not change between the windows a verifier tries. It has
// room for the window's encoding (at most 9 bytes) so appending it does not
// reallocate.
func popPrefix(id WarrantID, tool string, args map[string]any) ([]byte, error) {
	return appendPoPPrefix(make([]byte, 0, 160), id, tool, args)
}

// popBufs holds buffers for the PoP messages verifyPoP builds and drops.
var popBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// maxPooledPoP bounds the buffers popBufs keeps: a call with large
// arguments does not pin its buffer.
const maxPooledPoP = 16 << 10

// appendPoPPrefix is popPrefix appending to b.
func appendPoPPrefix(b []byte, id WarrantID, tool string, args map[string]any) ([]byte, error) {
	if !utf8.ValidString(tool) {
		return nil, badArgs("", "tool name is not valid UTF-8")
	}
	for k, v := range args {
		if !utf8.ValidString(k) {
			return nil, badArgs("", "argument name %q is not valid UTF-8", k)
		}
		if err := checkArg(v, 1); err != nil {
			return nil, badArgs(k, "argument %q: %v", k, err)
		}
	}
	b = append(b, domainWarrant...)
	b = append(b, domainPoP...)
	b = cbor.AppendArrayHeader(b, 4)
	b = cbor.AppendText(b, id.Hex())
	b = cbor.AppendText(b, tool)
	b = cbor.AppendArrayHeader(b, len(args))
	var err error
	var kb [16]string // most calls have fewer arguments: no allocation
	keys := kb[:0]
	for k := range args {
		keys = append(keys, k)
	}
	slices.Sort(keys) // bytewise, as cbor.SortedKeys
	for _, k := range keys {
		b = cbor.AppendArrayHeader(b, 2)
		b = cbor.AppendText(b, k)
		if b, err = cbor.AppendValue(b, args[k]); err != nil {
			return nil, badArgs(k, "argument %q: %v", k, err)
		}
	}
	if cap(b)-len(b) < 9 {
		b = append(make([]byte, 0, len(b)+9), b...)
	}
	return b, nil
}

func badArgs(arg, format string, a ...any) *Denial {
	d := deny(CodePopChallengeInvalid, ErrBadArguments, "invalid call arguments: "+format, a...)
	d.Arg = arg
	return d
}

// checkArg reports why v is not a value PoP can sign: a type outside the
// value model, a NaN or infinite float (JSON has none), invalid UTF-8, or
// nesting deeper than maxArgDepth.
func checkArg(v any, depth int) error {
	if depth > maxArgDepth {
		return fmt.Errorf("nested deeper than %d levels", maxArgDepth)
	}
	switch x := v.(type) {
	case nil, bool, int64:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("float %v is not a JSON number", x)
		}
		return nil
	case string:
		if !utf8.ValidString(x) {
			return errors.New("string is not valid UTF-8")
		}
		return nil
	case []any:
		for _, e := range x {
			if err := checkArg(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				return errors.New("object key is not valid UTF-8")
			}
			if err := checkArg(e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("value of Go type %T is outside the value model", v)
}

// SignPoP signs a call of tool with args for the warrant id at time now: the
// holder's proof of possession, as Tenuo's SDK makes it. Errors are those of
// [PoPMessage], or a key that holds no secret.
func SignPoP(k *SigningKey, id WarrantID, tool string, args map[string]any, now time.Time) ([SignatureSize]byte, error) {
	if k == nil || k.secret == nil {
		return [SignatureSize]byte{}, errors.New("sign proof of possession: the SigningKey holds no key")
	}
	msg, err := PoPMessage(id, tool, args, PoPWindow(now))
	if err != nil {
		return [SignatureSize]byte{}, err
	}
	return k.Sign(msg), nil
}

// verifyPoP checks that sig is holder's proof of possession for a call of
// tool with args under the warrant id, made within about a minute of now:
// the windows at offsets 0, −1, +1, −2, +2 from now's are tried in turn,
// with strict Ed25519 verification.
//
// A signature that is not 64 bytes, a malformed signature or holder key, or
// a signature that verifies in no window is a [*Denial] with code 1600
// wrapping [ErrPoP]; arguments outside the value model are a 1602 denial
// wrapping [ErrBadArguments].
func verifyPoP(holder PublicKey, id WarrantID, tool string, args map[string]any, sig []byte, now time.Time) error {
	if len(sig) != SignatureSize {
		return popDenial(id, tool, "PoP signature must be %d bytes, got %d", SignatureSize, len(sig))
	}
	bp := popBufs.Get().(*[]byte)
	prefix, err := appendPoPPrefix((*bp)[:0], id, tool, args)
	defer func() {
		if cap(prefix) <= maxPooledPoP {
			*bp = prefix[:0]
			popBufs.Put(bp)
		}
	}()
	if err != nil {
		d := AsDenial(err)
		d.WarrantID, d.Tool = id.String(), tool
		return d
	}
	base := PoPWindow(now)
	n := len(prefix)
	for _, off := range popOffsets {
		w, ok := shiftWindow(base, off)
		if !ok {
			continue
		}
		// prefix has spare capacity: only the window's bytes are rewritten.
		msg := cbor.AppendInt(prefix[:n], w)
		err := verifySignature(holder, msg, sig)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errSignatureMismatch) {
			// A malformed key or signature fails the same way in every window.
			return popDenial(id, tool, "PoP signature cannot verify under holder key %s: %v", holder.Hex(), err)
		}
	}
	return popDenial(id, tool, "PoP signature for tool %q does not verify under holder key %s in any %d-second window within ±%d s of %d",
		tool, holder.Hex(), PoPWindowSeconds, PoPWindowSeconds*(PoPMaxWindows/2), now.Unix())
}

func popDenial(id WarrantID, tool, format string, a ...any) *Denial {
	d := deny(CodePopSignatureInvalid, ErrPoP, format, a...)
	d.WarrantID, d.Tool = id.String(), tool
	return d
}

// shiftWindow returns base moved by off windows, or false if that overflows.
func shiftWindow(base, off int64) (int64, bool) {
	d := off * PoPWindowSeconds
	if (d > 0 && base > math.MaxInt64-d) || (d < 0 && base < math.MinInt64-d) {
		return 0, false
	}
	return base + d, true
}
