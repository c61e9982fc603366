package gateway_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/gateway"
)

func TestCanonicalPath(t *testing.T) {
	ok := map[string]string{
		"/":                 "/",
		"/files":            "/files",
		"/files/":           "/files/",
		"/%66iles":          "/files",
		"/a%7eb":            "/a~b",
		"/caf%c3%a9":        "/caf%C3%A9",
		"/caf\u00e9":        "/caf%C3%A9",
		"/a%20b":            "/a%20b",
		"/a+b:c@d!$&'()*,=": "/a+b:c@d!$&'()*,=",
		"/a|b":              "/a%7Cb",
		"/a%3Fb":            "/a%3Fb",
		"/...":              "/...",
		"/.well-known/x":    "/.well-known/x",
	}
	for in, want := range ok {
		got, err := gateway.CanonicalPath(in)
		if err != nil || got != want {
			t.Errorf("CanonicalPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	refused := []string{
		"", "files", "//files", "/a//b", "/a/./b", "/a/../b", "/a/..", "/.", "/%2e%2e/x", "/%2E/x", "/.%2e/x",
		"/a%2Fb", "/a%2fb", "/a%5Cb", "/a\\b", "/a;b", "/a%3Bb", "/a%00b", "/a%0Ab", "/a\tb", "/a%", "/a%4", "/a%zz",
	}
	for _, in := range refused {
		if got, err := gateway.CanonicalPath(in); err == nil {
			t.Errorf("CanonicalPath(%q) = %q, want a refusal", in, got)
		}
	}
}

// FuzzCanonicalPath: never panics; a canonical path is its own canonical
// form, has no empty or dot segment, and unescapes to the same segments
// whether split before or after unescaping (no hidden separator).
func FuzzCanonicalPath(f *testing.F) {
	for _, s := range []string{"/", "/a/b", "/%2e%2e", "/a%2Fb", "/caf%c3%a9", "/a//b", "/a;b", "/%zz"} {
		f.Add(s)
	}
	for _, s := range []string{"/a/", "/a/.", "/./a", "/a/..", "/a/.../b", "/.a", "/a@b:c!$&'()*+,=", "/a b", "/a?b", "/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		// The fast test takes only paths the long way leaves unchanged.
		if strings.HasPrefix(in, "/") && gateway.IsCanonical(in) {
			if slow, err := gateway.CanonicalPathSlow(in); err != nil || slow != in {
				t.Fatalf("%q taken as canonical; the long way gives %q, %v", in, slow, err)
			}
		}
		out, err := gateway.CanonicalPath(in)
		if err != nil {
			return
		}
		again, err := gateway.CanonicalPath(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		plain, err := url.PathUnescape(out)
		if err != nil {
			t.Fatalf("canonical %q does not unescape: %v", out, err)
		}
		raw := strings.Split(out[1:], "/")
		dec := strings.Split(plain[1:], "/")
		if len(raw) != len(dec) {
			t.Fatalf("%q: an escaped separator survived", out)
		}
		for i, s := range dec {
			if s == "." || s == ".." || (s == "" && i != len(dec)-1) || strings.ContainsAny(s, "\\;") {
				t.Fatalf("%q: segment %q", out, s)
			}
		}
	})
}

// TestQueryKeys: on a route that reads the query, keys another server
// could read as one (or as a structure) are refused; distinct keys pass.
func TestQueryKeys(t *testing.T) {
	for q, refused := range map[string]bool{
		"":                         false,
		"path=/data/a":             false,
		"path=/data/a&other=1":     false,
		"a_b=1&ab=2&a-b=3":         false,
		"Path=/data/a":             false,
		"path=&x=":                 false,
		"p%61th=/data/a&x=1":       false,
		"path=1&path=2":            true,
		"path=1&p%61th=2":          true,
		"path=1&path[]=2":          true,
		"path[]=1":                 true,
		"a[b]=1":                   true,
		"a]=1":                     true,
		"path=1&PATH=2":            true,
		"path=1&%20path=2":         true,
		"path=1&%20%20Path=2":      true,
		"my_key=1&my.key=2":        true,
		"my_key=1&my+key=2":        true,
		"path=1&path%00x=2":        true,
		"x=1&path=1&y=2&pAtH%00=3": true,
	} {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		if err := gateway.QueryKeys(v); (err != nil) != refused {
			t.Errorf("%q: %v, want refused: %v", q, err, refused)
		}
		if err := gateway.CheckQuery(q); (err != nil) != refused {
			t.Errorf("CheckQuery(%q): %v, want refused: %v", q, err, refused)
		}
	}
}

// TestCheckQueryNUL: a NUL in a value is refused whether it comes escaped
// or raw (net/url refuses a raw one in a request target, so only a caller
// that hands the check a query of its own could send one).
func TestCheckQueryNUL(t *testing.T) {
	for _, q := range []string{"path=/etc/passwd%00.txt", "path=/etc/passwd\x00.txt", "a=1&path=x\x00"} {
		if err := gateway.CheckQuery(q); err == nil || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("CheckQuery(%q) = %v, want a NUL refused", q, err)
		}
	}
}

// FuzzCheckQuery: the check of a query where it lies refuses exactly what
// parsing it first does: a query that does not parse, a value with a NUL,
// and what QueryKeys refuses.
func FuzzCheckQuery(f *testing.F) {
	for _, q := range []string{"path=/data/a", "a=1&A=2", "a[]=1", "a=1&&b=2&", "x=%zz", "a=1;b=2", "a.b=1&a_b=2", "=1&=2", "a&a", "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		want := error(nil)
		v, err := url.ParseQuery(q)
		if err == nil {
			want = gateway.QueryKeys(v)
			for _, vs := range v {
				if slices.ContainsFunc(vs, func(s string) bool { return strings.Contains(s, "\x00") }) {
					want = errors.New("a NUL in a value")
				}
			}
		}
		if got := gateway.CheckQuery(q); (got != nil) != (err != nil || want != nil) {
			t.Fatalf("%q: CheckQuery %v, ParseQuery %v then QueryKeys %v", q, got, err, want)
		}
	})
}
