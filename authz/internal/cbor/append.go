// Package cbor holds the low-level CBOR writer shared by the warrant codec and
// the PoP challenge: definite lengths, minimal integers, floats in the
// shortest lossless width, and maps whose keys are sorted by their raw bytes
// (Tenuo's order, not RFC 8949's length-first order).
package cbor

import (
	"fmt"
	"math"
	"slices"

	"github.com/x448/float16"
)

// Major types.
const (
	majorUint   = 0
	majorNeg    = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorSimple = 7
)

// AppendHead appends a head of the given major type with argument n, minimally.
func AppendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendUint appends an unsigned integer.
func AppendUint(b []byte, n uint64) []byte { return AppendHead(b, majorUint, n) }

// AppendInt appends a signed integer.
func AppendInt(b []byte, n int64) []byte {
	if n >= 0 {
		return AppendHead(b, majorUint, uint64(n))
	}
	return AppendHead(b, majorNeg, uint64(-(n + 1)))
}

// AppendBytes appends a byte string.
func AppendBytes(b, v []byte) []byte { return append(AppendHead(b, majorBytes, uint64(len(v))), v...) }

// AppendText appends a text string.
func AppendText(b []byte, s string) []byte {
	return append(AppendHead(b, majorText, uint64(len(s))), s...)
}

// AppendArrayHeader appends the head of an array of n items.
func AppendArrayHeader(b []byte, n int) []byte { return AppendHead(b, majorArray, uint64(n)) }

// AppendMapHeader appends the head of a map of n pairs.
func AppendMapHeader(b []byte, n int) []byte { return AppendHead(b, majorMap, uint64(n)) }

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}

// AppendNull appends null.
func AppendNull(b []byte) []byte { return append(b, 0xf6) }

// AppendFloat appends f in the shortest width that holds it exactly: half,
// then single, then double precision. NaN is written as the half-precision
// quiet NaN.
func AppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, 0xf9, 0x7e, 0x00)
	}
	f32 := float32(f)
	if float64(f32) == f {
		h := float16.Fromfloat32(f32)
		if h.Float32() == f32 {
			u := uint16(h)
			return append(b, 0xf9, byte(u>>8), byte(u))
		}
		u := math.Float32bits(f32)
		return append(b, 0xfa, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
	}
	u := math.Float64bits(f)
	return append(b, 0xfb, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32),
		byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// AppendUintArray appends v as an array of small unsigned integers: Tenuo's
// encoding of fixed byte arrays such as parent_hash and extension values.
func AppendUintArray(b, v []byte) []byte {
	b = AppendArrayHeader(b, len(v))
	for _, x := range v {
		b = AppendUint(b, uint64(x))
	}
	return b
}

// SortedKeys returns m's keys sorted by their raw bytes.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go compares strings bytewise
	return keys
}

// AppendValue appends a dynamic value of the shared value model: nil, bool,
// int64, float64, string, []any, map[string]any (keys sorted by raw bytes).
// Other types are an error.
func AppendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return AppendNull(b), nil
	case bool:
		return AppendBool(b, x), nil
	case int64:
		return AppendInt(b, x), nil
	case float64:
		return AppendFloat(b, x), nil
	case string:
		return AppendText(b, x), nil
	case []any:
		b = AppendArrayHeader(b, len(x))
		var err error
		for _, e := range x {
			if b, err = AppendValue(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		return AppendMap(b, x)
	}
	return nil, fmt.Errorf("cbor: cannot encode value of type %T", v)
}

// AppendMap is AppendValue for a map, which it does not retain (a caller's
// map may stay off the heap).
func AppendMap(b []byte, m map[string]any) ([]byte, error) {
	b = AppendMapHeader(b, len(m))
	var err error
	for _, k := range SortedKeys(m) {
		b = AppendText(b, k)
		if b, err = AppendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return b, nil
}
