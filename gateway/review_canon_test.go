package gateway_test

import (
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/gateway"
)

// TestCanonicalPathDecodedTwice: a path whose segments a server reads as
// others is refused, as dot segments and escaped slashes are: an escaped
// "%" that begins another escape ("%252F" is "%2F" here, "/" to a server
// that decodes twice), and escapes that are not UTF-8 — overlong forms
// above all ("%C0%AE" is "." to a lenient UTF-8 decoder, as in Tomcat's
// CVE-2008-2938, so "%C0%AE%C0%AE" is ".."). An escaped "%" before
// anything but two hex digits, and UTF-8, stay as they are.
func TestCanonicalPathDecodedTwice(t *testing.T) {
	for _, in := range []string{
		"/a%252Fb", "/a%252fb", "/%252e%252e/x", "/a%2541", "/upload/%C0%AE%C0%AE", "/a%c0%afb",
		"/a%FFb", "/a%e0%80%aeb", "/a%ED%A0%80b", "/a%C3", "/a\xffb", "/a\xc0\xae",
	} {
		if got, err := gateway.CanonicalPath(in); err == nil {
			t.Errorf("CanonicalPath(%q) = %q, want a refusal", in, got)
		}
	}
	for in, want := range map[string]string{
		"/100%25":       "/100%25",
		"/a%25zz":       "/a%25zz",
		"/a%25%41":      "/a%25A",
		"/caf%c3%a9":    "/caf%C3%A9",
		"/caf\u00e9":    "/caf%C3%A9",
		"/%F0%9F%98%80": "/%F0%9F%98%80",
	} {
		if got, err := gateway.CanonicalPath(in); err != nil || got != want {
			t.Errorf("CanonicalPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
