package mcpproxy

import (
	"strings"
	"testing"
)

// foldEqualNoDelims is the allocation-free form of this definition.
func foldEqualNoDelimsRef(a, b string) bool {
	return strings.EqualFold(withoutDelims(a), withoutDelims(b))
}

func TestFoldEqualNoDelims(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"method", "method", true},
		{"Method", "method", true},
		{"METHOD", "method", true},
		{"meth_od", "method", true},
		{"me-th_od", "method", true},
		{"meta", "_meta", true},
		{"_META", "_meta", true},
		{"paramſ", "params", true}, // U+017F folds to s
		{"\u212Aey", "key", true},  // U+212A KELVIN SIGN folds to k
		{"task\u0130d", "taskId", false},
		{"methods", "method", false},
		{"metho", "method", false},
		{"", "", true},
		{"_", "", true},
		{"-_", "__", true},
		{"id", "ID", true},
		{"ib", "id", false},
		{"na\u00e9me", "name", false},
	}
	for _, c := range cases {
		if got := foldEqualNoDelims(c.a, c.b); got != c.want {
			t.Errorf("foldEqualNoDelims(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if ref := foldEqualNoDelimsRef(c.a, c.b); ref != c.want {
			t.Errorf("reference(%q, %q) = %v, want %v (the table is wrong)", c.a, c.b, ref, c.want)
		}
	}
}

func FuzzFoldEqualNoDelims(f *testing.F) {
	for _, s := range [][2]string{{"Method", "method"}, {"paramſ", "params"}, {"me_ta", "_meta"}, {"\u212A", "k"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, name := range append([]string{b}, jsonrpcMembers...) {
			if got, want := foldEqualNoDelims(a, name), foldEqualNoDelimsRef(a, name); got != want {
				t.Fatalf("foldEqualNoDelims(%q, %q) = %v, reference says %v", a, name, got, want)
			}
		}
	})
}

// TestIDKeyPlainIntegers: the plain-integer shortcut keys an id as the
// general rule does (the truncated double), and leaves to it every other
// spelling.
func TestIDKeyPlainIntegers(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{"0", "n:0"}, {"-0", "n:0"}, {"7", "n:7"}, {"-12", "n:-12"},
		{"123456789012345", "n:123456789012345"},
		{"1234567890123456", "n:1234567890123456"},
		{"9007199254740993", "n:9007199254740992"}, // 2^53+1 reads as 2^53
		{"01", ""}, {"-", ""}, {"1.0", "n:1"}, {"1e0", "n:1"}, {"1.5", "n:1"}, {"-0.0", "n:0"},
	} {
		got, ok := idKey([]byte(c.id))
		if c.want == "" {
			if ok {
				t.Errorf("idKey(%s) = %q, want no key", c.id, got)
			}
			continue
		}
		if !ok || got != c.want {
			t.Errorf("idKey(%s) = %q, %v; want %q", c.id, got, ok, c.want)
		}
	}
}

// TestPlainWord: the eight-byte test says plain only when each byte is
// plain by the byte table, for every byte value in every position.
func TestPlainWord(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(w[i])
			}
			if got := plainWord(x); got && !plain[c] {
				t.Fatalf("byte 0x%02x at %d: plainWord says plain", c, pos)
			} else if !got && plain[c] {
				t.Fatalf("byte 0x%02x at %d alone: plainWord says not plain", c, pos)
			}
		}
	}
}
