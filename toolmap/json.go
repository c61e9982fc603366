package toolmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on the JSON this package parses (MCP arguments and HTTP bodies).
// They bound the work an untrusted caller can cause; [authz] applies its own,
// stricter bounds to what it signs and checks.
const (
	// MaxArgumentsSize is the largest JSON text accepted, in bytes.
	MaxArgumentsSize = 256 << 10
	// MaxDepth is the deepest nesting of arrays and objects accepted; the
	// top-level object is depth 1.
	MaxDepth = 32
)

// parseJSON decodes one JSON value into the value model (nil, bool, int64,
// float64, string, []any, map[string]any). It is strict where a lenient
// reader would let two parties see different values: duplicate keys (also
// after unescaping), invalid UTF-8, trailing data, integers beyond int64 and
// non-finite numbers are errors. Numbers become int64 when integral and in
// range ("1.0" and "1e3" included), as the PoP canonicalisation does, and
// float64 otherwise.
func parseJSON(data []byte) (any, error) {
	if len(data) > MaxArgumentsSize {
		return nil, fmt.Errorf("%w: %d bytes of JSON, limit %d", ErrArguments, len(data), MaxArgumentsSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%w: JSON is not valid UTF-8", ErrArguments)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrArguments)
	}
	return v, nil
}

// parseObject is parseJSON for MCP arguments: the top level must be an
// object. Empty input (arguments absent) is the empty object.
func parseObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: arguments must be a JSON object, not %s", ErrArguments, typeOf(v))
	}
	return m, nil
}

func readValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if t != '{' && t != '[' {
			return nil, fmt.Errorf("%w: unexpected %q", ErrArguments, string(t))
		}
		if depth+1 > MaxDepth {
			return nil, fmt.Errorf("%w: nesting deeper than %d", ErrArguments, MaxDepth)
		}
		if t == '[' {
			arr := []any{}
			for dec.More() {
				e, err := readValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonErr(err)
			}
			return arr, nil
		}
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, jsonErr(err)
			}
			k, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("%w: object key is not a string", ErrArguments)
			}
			if _, dup := obj[k]; dup {
				return nil, fmt.Errorf("%w: duplicate key %q", ErrArguments, k)
			}
			e, err := readValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			obj[k] = e
		}
		if _, err := dec.Token(); err != nil {
			return nil, jsonErr(err)
		}
		return obj, nil
	case json.Number:
		return convertNumber(string(t))
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("%w: unexpected token %v", ErrArguments, tok)
}

func jsonErr(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %v", ErrArguments, err)
}

// convertNumber turns a JSON number's text into int64 or float64.
func convertNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: integer %s does not fit in 64 bits", ErrArguments, s)
		}
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, fmt.Errorf("%w: bad number %s", ErrArguments, s)
	}
	if err != nil {
		// Overflow (1e400). Underflow (1e-400) reads as 0, as in serde_json.
		return nil, fmt.Errorf("%w: number %s is out of range", ErrArguments, s)
	}
	return normalizeFloat(f)
}

// normalizeFloat makes an integral float within int64 an int64 and refuses
// NaN and infinities.
func normalizeFloat(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: number %v is not finite", ErrArguments, f)
	}
	// -2^63 is exact in float64; 2^63 is the first value beyond int64.
	if f == math.Trunc(f) && f >= -(1<<63) && f < (1<<63) {
		return int64(f), nil
	}
	return f, nil
}

// typeOf names v's type in the words of the configuration's `type` key.
func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", x)
	}
}

// describe renders v briefly for error messages, JSON-like.
func describe(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case []any:
		return fmt.Sprintf("array of %d", len(x))
	case map[string]any:
		return fmt.Sprintf("object of %d keys", len(x))
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		s = fmt.Sprint(x)
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}

// deepCopy copies a value-model value so a caller may modify the result
// without touching the original (a configured default).
func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}
