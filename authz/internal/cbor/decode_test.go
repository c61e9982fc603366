package cbor

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		check func(it Item) bool
	}{
		{"uint 0", []byte{0x00}, func(it Item) bool { return it.Kind == KindUint && it.Uint == 0 }},
		{"uint64 max", []byte{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, func(it Item) bool { return it.Uint == math.MaxUint64 }},
		{"non-minimal uint", []byte{0x18, 0x01}, func(it Item) bool { return it.Kind == KindUint && it.Uint == 1 }},
		{"negative -1", []byte{0x20}, func(it Item) bool { n, ok := it.Int(); return ok && n == -1 }},
		{"int64 min", AppendInt(nil, math.MinInt64), func(it Item) bool { n, ok := it.Int(); return ok && n == math.MinInt64 }},
		{"negative beyond int64", []byte{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}, func(it Item) bool { _, ok := it.Int(); return !ok && it.Kind == KindNeg }},
		{"half float", []byte{0xf9, 0x3c, 0x00}, func(it Item) bool { return it.Kind == KindFloat && it.Float == 1 }},
		{"single float", []byte{0xfa, 0x47, 0xc3, 0x50, 0x00}, func(it Item) bool { return it.Float == 100000 }},
		{"double float", []byte{0xfb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}, func(it Item) bool { return it.Float == 0.1 }},
		{"half NaN", []byte{0xf9, 0x7e, 0x00}, func(it Item) bool { return math.IsNaN(it.Float) }},
		{"half infinity", []byte{0xf9, 0x7c, 0x00}, func(it Item) bool { return math.IsInf(it.Float, 1) }},
		{"booleans and null", []byte{0x83, 0xf4, 0xf5, 0xf6}, func(it Item) bool {
			return it.Items[0].Kind == KindBool && !it.Items[0].Bool && it.Items[1].Bool && it.Items[2].Kind == KindNull
		}},
		{"text", []byte{0x63, 'a', 'b', 'c'}, func(it Item) bool { return it.Kind == KindText && it.Text() == "abc" }},
		{"bytes", []byte{0x42, 0x00, 0xff}, func(it Item) bool { return it.Kind == KindBytes && bytes.Equal(it.Bytes, []byte{0, 0xff}) }},
		{"map keeps wire order and raw", []byte{0xa2, 0x01, 0x02, 0x00, 0x03}, func(it Item) bool {
			return it.Pairs[0].Key.Uint == 1 && it.Pairs[1].Key.Uint == 0 && bytes.Equal(it.Pairs[1].Value.Raw, []byte{0x03})
		}},
		{"same integer as uint and negative keys", []byte{0xa2, 0x00, 0x00, 0x20, 0x00}, func(it Item) bool { return len(it.Pairs) == 2 }},
		{"text and bytes keys with same content", []byte{0xa2, 0x61, 'a', 0x00, 0x41, 'a', 0x00}, func(it Item) bool { return len(it.Pairs) == 2 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := Decode(tc.in, Limits{MaxDepth: 4})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(it.Raw, tc.in) {
				t.Errorf("Raw = %x, want %x", it.Raw, tc.in)
			}
			if !tc.check(it) {
				t.Errorf("decoded %+v", it)
			}
		})
	}
}

func bigMap(n int, dupAt int) []byte {
	b := AppendMapHeader(nil, n)
	for i := 0; i < n; i++ {
		k := i
		if i == dupAt {
			k = 0
		}
		b = AppendUint(b, uint64(k))
		b = AppendNull(b)
	}
	return b
}

func TestDecodeRejects(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x81}, 5), 0x00)
	tests := []struct {
		name   string
		in     []byte
		lim    Limits
		msg    string
		nested bool
	}{
		{"empty", nil, Limits{MaxDepth: 4}, "", false},
		{"trailing byte", []byte{0x00, 0x00}, Limits{MaxDepth: 4}, "", false},
		{"truncated head", []byte{0x19, 0x01}, Limits{MaxDepth: 4}, "", false},
		{"truncated string", []byte{0x43, 0x00}, Limits{MaxDepth: 4}, "", false},
		{"indefinite array", []byte{0x9f, 0xff}, Limits{MaxDepth: 4}, "", false},
		{"indefinite text", []byte{0x7f, 0xff}, Limits{MaxDepth: 4}, "", false},
		{"tag", []byte{0xc0, 0x00}, Limits{MaxDepth: 4}, "", false},
		{"undefined", []byte{0xf7}, Limits{MaxDepth: 4}, "simple value", false},
		{"simple value 16", []byte{0xf0}, Limits{MaxDepth: 4}, "simple value", false},
		{"reserved info 28", []byte{0x1c}, Limits{MaxDepth: 4}, "", false},
		{"invalid UTF-8", []byte{0x62, 0xc3, 0x28}, Limits{MaxDepth: 4}, "UTF-8", false},
		{"duplicate key", []byte{0xa2, 0x00, 0x00, 0x00, 0x01}, Limits{MaxDepth: 4}, "duplicate map key 0", false},
		{"duplicate key, wider", []byte{0xa2, 0x00, 0x00, 0x18, 0x00, 0x01}, Limits{MaxDepth: 4}, "duplicate", false},
		{"duplicate text key", []byte{0xa2, 0x61, 'a', 0x00, 0x61, 'a', 0x01}, Limits{MaxDepth: 4}, `duplicate map key "a"`, false},
		{"duplicate key in a large map", bigMap(100, 77), Limits{MaxDepth: 4}, "duplicate map key 0", false},
		{"nesting beyond the limit", deep, Limits{MaxDepth: 4}, "nesting", true},
		{"too many items", []byte{0x83, 0x00, 0x00, 0x00}, Limits{MaxDepth: 4, MaxItems: 3}, "data items", false},
		{"array count beyond the data", []byte{0x9a, 0xff, 0xff, 0xff, 0xff, 0x00}, Limits{MaxDepth: 4}, "", false},
		{"string length beyond the data", []byte{0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Limits{MaxDepth: 4}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := Decode(tc.in, tc.lim)
			if err == nil {
				t.Fatalf("Decode(%x) = %+v, want an error", tc.in, it)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v (%T) is not a *Error", err, err)
			}
			if !strings.Contains(e.Error(), tc.msg) || e.Nested != tc.nested {
				t.Errorf("error %q (nested %v), want it to mention %q (nested %v)", e, e.Nested, tc.msg, tc.nested)
			}
		})
	}
	if _, err := Decode(bigMap(100, -1), Limits{MaxDepth: 4}); err != nil {
		t.Errorf("a large map without duplicates: %v", err)
	}
}

// TestDecodeReencodes checks that what the writer emits, the reader reads.
func TestDecodeReencodes(t *testing.T) {
	v := map[string]any{"a": []any{int64(-3), 1.5, "x", nil, true}, "b": map[string]any{}, "c": math.MaxFloat64}
	b, err := AppendValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	it, err := Decode(b, Limits{MaxDepth: 8})
	if err != nil {
		t.Fatal(err)
	}
	if it.Kind != KindMap || len(it.Pairs) != 3 || it.Pairs[2].Value.Float != math.MaxFloat64 {
		t.Errorf("decoded %+v", it)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0xa2, 0x00, 0x00, 0x18, 0x00, 0x01})
	f.Add([]byte{0x83, 0xf9, 0x7e, 0x00, 0x62, 0xc3, 0xa9, 0x42, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		it, err := Decode(data, Limits{MaxDepth: 16, MaxItems: 1 << 12})
		if err != nil {
			return
		}
		if !bytes.Equal(it.Raw, data) {
			t.Fatalf("Raw %x is not the input %x", it.Raw, data)
		}
	})
}
