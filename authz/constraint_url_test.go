package authz

import (
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/netguard"
)

// defaultURLSafe is URLSafe with Tenuo's defaults (as the decoder fills them).
func defaultURLSafe() *URLSafe {
	return &URLSafe{Schemes: []string{"http", "https"}}
}

func TestURLSafeMatchDefaults(t *testing.T) {
	c := defaultURLSafe()
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://api.example.com/data", true},
		{"http://example.com", true},
		{"https://api.github.com/repos/x/y?page=2#top", true},
		{"https://8.8.8.8/", true},
		{"https://[2606:4700:4700::1111]/", true},
		{"HTTPS://API.EXAMPLE.COM/", true},
		{"https://example.com./", true},
		{"https://xn--bcher-kva.example/", true},
		{"https://example.com:8443/x", true},
		// Loopback in every spelling.
		{"http://127.0.0.1/", false},
		{"http://127.0.0.1:8080/admin", false},
		{"http://0x7f.1/", false},
		{"http://0x7f000001/", false},
		{"http://2130706433/", false},
		{"http://0177.0.0.1/", false},
		{"http://0177.1/", false},
		{"http://127.1/", false},
		{"http://127.0.0.1./", false},
		{"http://[::1]/", false},
		{"http://[::ffff:127.0.0.1]/", false},
		{"http://[::ffff:7f00:1]/", false},
		{"http://[::127.0.0.1]/", false},
		{"http://[0:0:0:0:0:0:127.0.0.1]/", false},
		{"http://[64:ff9b::7f00:1]/", false},
		{"http://[2002:7f00:1::]/", false},
		{"http://localhost/", false},
		{"http://LOCALHOST/", false},
		{"http://localhost./", false},
		{"http://localhost:3000/", false},
		{"http://foo.localhost/", false},
		{"http://localhost.localdomain/", false},
		{"http://%6c%6fcalhost/", false},
		{"http://%256c%256fcalhost/", false},
		{"http://ｌｏｃａｌｈｏｓｔ/", false},
		{"http://0.0.0.0/", false},
		{"http://0/", false},
		{"http://[::]/", false},
		// Private, link-local, CGNAT.
		{"http://10.0.0.1/", false},
		{"http://012.0.0.1/", false}, // octal 10.0.0.1
		{"http://010.0.0.1/", false}, // 8.0.0.1 or 10.0.0.1: the decimal reading is private
		{"http://172.16.5.4/", false},
		{"http://192.168.0.1/", false},
		{"http://0xc0a80001/", false},
		{"http://100.64.1.1/", false},
		{"http://[fc00::1]/", false},
		{"http://[fd12:3456::1]/", false},
		{"http://[fe80::1%25eth0]/", false},
		{"http://[::ffff:10.0.0.1]/", false},
		// Metadata.
		{"http://169.254.169.254/latest/meta-data", false},
		{"http://169.254.169.254./", false},
		{"http://0xa9fea9fe/", false},
		{"http://2852039166/", false},
		{"http://[::ffff:169.254.169.254]/", false},
		{"http://[fd00:ec2::254]/", false},
		{"http://100.100.100.200/", false},
		{"http://metadata.google.internal/computeMetadata/v1/", false},
		{"http://METADATA.GOOGLE.INTERNAL./", false},
		{"http://metadata/", false},
		{"http://instance-data/", false},
		{"http://user@169.254.169.254/", false},
		// Reserved.
		{"http://224.0.0.1/", false},
		{"http://255.255.255.255/", false},
		{"http://240.0.0.1/", false},
		{"http://192.0.2.1/", false},
		{"http://[ff02::1]/", false},
		{"http://[2001:db8::1]/", false},
		// Malformed or confusing URLs.
		{"http://user@example.com/", false},
		{"http://example.com@evil.com/", false},
		{`http://evil.com\@good.com/`, false},
		{"http://exa mple.com/", false},
		{"http://example.com/\t", false},
		{"http://loc\nalhost/", false},
		{"file:///etc/passwd", false},
		{"gopher://example.com/", false},
		{"ftp://example.com/", false},
		{"javascript:alert(1)", false},
		{"//example.com/", false},
		{"example.com", false},
		{"http:/example.com", false},
		{"http://", false},
		{"http://example.com:99999/", false},
		{"http://example.com:0/", false},
		{"http://foo.123/", false},
		{"http://1.2.3.4.5/", false},
		{"http://256.1.1.1/", false},
		{"http://example.com/a/..%2f..%2fadmin", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := c.Match(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("Match(%q) = %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
	for _, v := range []any{nil, int64(1), []any{"https://example.com/"}, map[string]any{"url": "https://example.com/"}} {
		if err := c.Match(v); err == nil {
			t.Errorf("Match(%s) = nil, want a type error", formatValue(v))
		}
	}
}

func TestURLSafeOptions(t *testing.T) {
	with := func(f func(c *URLSafe)) *URLSafe {
		c := defaultURLSafe()
		f(c)
		return c
	}
	tests := []struct {
		name string
		c    *URLSafe
		url  string
		ok   bool
	}{
		{"allow list hit", with(func(c *URLSafe) { c.AllowDomains = []string{"api.github.com"} }), "https://api.github.com/x", true},
		{"allow list miss", with(func(c *URLSafe) { c.AllowDomains = []string{"api.github.com"} }), "https://github.com/x", false},
		{"allow list wildcard sub", with(func(c *URLSafe) { c.AllowDomains = []string{"*.googleapis.com"} }), "https://storage.googleapis.com/", true},
		{"allow list wildcard apex", with(func(c *URLSafe) { c.AllowDomains = []string{"*.googleapis.com"} }), "https://googleapis.com/", true},
		{"allow list wildcard lookalike", with(func(c *URLSafe) { c.AllowDomains = []string{"*.googleapis.com"} }), "https://evilgoogleapis.com/", false},
		{"allow list trailing dot", with(func(c *URLSafe) { c.AllowDomains = []string{"api.github.com"} }), "https://api.github.com./x", false},
		{"allow list case", with(func(c *URLSafe) { c.AllowDomains = []string{"API.GitHub.com"} }), "https://api.github.com/", true},
		{"allow list blocks IP", with(func(c *URLSafe) { c.AllowDomains = []string{"api.github.com"} }), "https://8.8.8.8/", false},
		{"allow list IP entry", with(func(c *URLSafe) { c.AllowDomains = []string{"8.8.8.8"} }), "https://8.8.8.8/", true},
		{"allow list IP other spelling", with(func(c *URLSafe) { c.AllowDomains = []string{"8.8.8.8"} }), "https://134744072/", true},
		{"empty allow list", with(func(c *URLSafe) { c.AllowDomains = []string{} }), "https://example.com/", false},
		{"allow list does not unblock", with(func(c *URLSafe) { c.AllowDomains = []string{"localhost"} }), "http://localhost/", false},
		{"deny list exact", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }), "https://evil.com/", false},
		{"deny list wildcard", with(func(c *URLSafe) { c.DenyDomains = []string{"*.evil.com"} }), "https://a.b.evil.com/", false},
		{"deny list wildcard apex", with(func(c *URLSafe) { c.DenyDomains = []string{"*.evil.com"} }), "https://evil.com/", false},
		{"deny list trailing dot", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }), "https://evil.com./", false},
		{"deny list other", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }), "https://good.com/", true},
		{"deny wins over allow", with(func(c *URLSafe) {
			c.AllowDomains = []string{"*.example.com"}
			c.DenyDomains = []string{"admin.example.com"}
		}), "https://admin.example.com/", false},
		{"deny list IP", with(func(c *URLSafe) { c.DenyDomains = []string{"1.2.3.4"} }), "http://0x01020304/", false},
		{"ports nil any", defaultURLSafe(), "https://example.com:9999/", true},
		{"ports default https", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), "https://example.com/", true},
		{"ports explicit", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), "https://example.com:443/", true},
		{"ports default http refused", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), "http://example.com/", false},
		{"ports other", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), "https://example.com:8443/", false},
		{"ports empty", with(func(c *URLSafe) { c.AllowPorts = []uint16{} }), "https://example.com/", false},
		{"ports unknown scheme", with(func(c *URLSafe) {
			c.Schemes = []string{"redis"}
			c.AllowPorts = []uint16{6379}
		}), "redis://example.com/", false},
		{"scheme list", with(func(c *URLSafe) { c.Schemes = []string{"https"} }), "http://example.com/", false},
		{"scheme case", with(func(c *URLSafe) { c.Schemes = []string{"HTTPS"} }), "https://example.com/", true},
		{"no schemes", with(func(c *URLSafe) { c.Schemes = []string{} }), "https://example.com/", false},
		{"default schemes", with(func(c *URLSafe) { c.Schemes = nil }), "https://example.com/", true},
		{"loopback allowed", with(func(c *URLSafe) { c.AllowLoopback = true }), "http://127.0.0.1/", true},
		{"loopback allowed name", with(func(c *URLSafe) { c.AllowLoopback = true }), "http://localhost/", true},
		{"private allowed", with(func(c *URLSafe) { c.AllowPrivate = true }), "http://10.1.2.3/", true},
		{"private off, link-local is metadata", with(func(c *URLSafe) { c.AllowPrivate = true }), "http://169.254.1.1/", false},
		{"metadata off, link-local is private", with(func(c *URLSafe) { c.AllowMetadata = true }), "http://169.254.1.1/", false},
		{"metadata off", with(func(c *URLSafe) { c.AllowMetadata = true }), "http://metadata.google.internal/", true},
		{"metadata off, Alibaba is CGNAT", with(func(c *URLSafe) { c.AllowMetadata = true }), "http://100.100.100.200/", false},
		{"reserved off", with(func(c *URLSafe) { c.AllowReserved = true }), "http://224.0.0.1/", true},
		{"reserved off, 0.0.0.0 is loopback", with(func(c *URLSafe) { c.AllowReserved = true }), "http://0.0.0.0/", false},
		{"internal TLDs off", defaultURLSafe(), "http://printer.local/", true},
		{"internal TLDs on", with(func(c *URLSafe) { c.BlockInternalTLDs = true }), "http://printer.local/", false},
		{"internal TLDs on svc", with(func(c *URLSafe) { c.BlockInternalTLDs = true }), "http://api.ns.svc/", false},
		{"internal TLDs on single label", with(func(c *URLSafe) { c.BlockInternalTLDs = true }), "http://intranet/", false},
		{"internal TLDs on public", with(func(c *URLSafe) { c.BlockInternalTLDs = true }), "https://example.com/", true},
		{"all off", &URLSafe{Schemes: []string{"http"}, AllowPrivate: true, AllowLoopback: true, AllowMetadata: true, AllowReserved: true}, "http://127.0.0.1/", true},
		{"all off still parses strictly", &URLSafe{Schemes: []string{"http"}, AllowPrivate: true, AllowLoopback: true, AllowMetadata: true, AllowReserved: true}, "http://user@127.0.0.1/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.validate(); err != nil {
				t.Fatal(err)
			}
			err := tt.c.Match(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("%s.Match(%q) = %v, want ok=%v", tt.c, tt.url, err, tt.ok)
			}
		})
	}
}

func TestURLSafeNarrowing(t *testing.T) {
	with := func(f func(c *URLSafe)) *URLSafe {
		c := defaultURLSafe()
		f(c)
		return c
	}
	tests := []struct {
		name          string
		parent, child Constraint
		ok            bool
	}{
		{"same", defaultURLSafe(), defaultURLSafe(), true},
		{"schemes narrowed", defaultURLSafe(), with(func(c *URLSafe) { c.Schemes = []string{"https"} }), true},
		{"schemes widened", with(func(c *URLSafe) { c.Schemes = []string{"https"} }), defaultURLSafe(), false},
		{"scheme added", defaultURLSafe(), with(func(c *URLSafe) { c.Schemes = []string{"http", "https", "ftp"} }), false},
		{"private off", defaultURLSafe(), with(func(c *URLSafe) { c.AllowPrivate = true }), false},
		{"loopback off", defaultURLSafe(), with(func(c *URLSafe) { c.AllowLoopback = true }), false},
		{"metadata off", defaultURLSafe(), with(func(c *URLSafe) { c.AllowMetadata = true }), false},
		{"reserved off", defaultURLSafe(), with(func(c *URLSafe) { c.AllowReserved = true }), false},
		{"internal on", defaultURLSafe(), with(func(c *URLSafe) { c.BlockInternalTLDs = true }), true},
		{"internal off", with(func(c *URLSafe) { c.BlockInternalTLDs = true }), defaultURLSafe(), false},
		{"flag turned on", with(func(c *URLSafe) { c.AllowPrivate = true }), defaultURLSafe(), true},
		{"allow list added", defaultURLSafe(), with(func(c *URLSafe) { c.AllowDomains = []string{"a.com"} }), true},
		{"allow list dropped", with(func(c *URLSafe) { c.AllowDomains = []string{"a.com"} }), defaultURLSafe(), false},
		{"allow list subset", with(func(c *URLSafe) { c.AllowDomains = []string{"a.com", "b.com"} }),
			with(func(c *URLSafe) { c.AllowDomains = []string{"b.com"} }), true},
		{"allow list new", with(func(c *URLSafe) { c.AllowDomains = []string{"a.com"} }),
			with(func(c *URLSafe) { c.AllowDomains = []string{"a.com", "c.com"} }), false},
		{"allow wildcard covers sub", with(func(c *URLSafe) { c.AllowDomains = []string{"*.a.com"} }),
			with(func(c *URLSafe) { c.AllowDomains = []string{"x.a.com", "*.y.a.com"} }), true},
		{"allow wildcard lookalike", with(func(c *URLSafe) { c.AllowDomains = []string{"*.a.com"} }),
			with(func(c *URLSafe) { c.AllowDomains = []string{"evila.com"} }), false},
		{"allow exact to wildcard", with(func(c *URLSafe) { c.AllowDomains = []string{"a.com"} }),
			with(func(c *URLSafe) { c.AllowDomains = []string{"*.a.com"} }), false},
		{"deny list kept", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }),
			with(func(c *URLSafe) { c.DenyDomains = []string{"EVIL.com", "worse.com"} }), true},
		{"deny list dropped", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }), defaultURLSafe(), false},
		{"deny entry dropped", with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com", "worse.com"} }),
			with(func(c *URLSafe) { c.DenyDomains = []string{"evil.com"} }), false},
		{"ports added", defaultURLSafe(), with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), true},
		{"ports dropped", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }), defaultURLSafe(), false},
		{"ports widened", with(func(c *URLSafe) { c.AllowPorts = []uint16{443} }),
			with(func(c *URLSafe) { c.AllowPorts = []uint16{443, 80} }), false},
		{"exact safe", defaultURLSafe(), &Exact{Value: "https://api.example.com/"}, true},
		{"exact metadata", defaultURLSafe(), &Exact{Value: "http://169.254.169.254/"}, false},
		{"to wildcard", defaultURLSafe(), &Wildcard{}, false},
		{"to url pattern", defaultURLSafe(), &URLPattern{Pattern: "https://example.com/*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNarrowing(tt.parent, tt.child)
			if (err == nil) != tt.ok {
				t.Fatalf("checkNarrowing(%s, %s) = %v, want ok=%v", tt.parent, tt.child, err, tt.ok)
			}
		})
	}
}

func TestURLSafeString(t *testing.T) {
	tests := []struct {
		c    *URLSafe
		want string
	}{
		{defaultURLSafe(), "UrlSafe()"},
		{&URLSafe{Schemes: []string{"https"}, AllowDomains: []string{"a.com"}, AllowPorts: []uint16{443}, BlockInternalTLDs: true, AllowReserved: true},
			`UrlSafe(schemes=["https"], allow_domains=["a.com"], allow_ports=[443], block_reserved=false, block_internal_tlds=true)`},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %s, want %s", got, tt.want)
		}
	}
}

func TestURLPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		url     string
		ok      bool
	}{
		{"https://api.example.com/v1/*", "https://api.example.com/v1/users", true},
		{"https://api.example.com/v1/*", "https://api.example.com/v1/users/7/posts", true},
		{"https://api.example.com/v1/*", "https://API.example.com/v1/users", true},
		{"https://api.example.com/v1/*", "https://api.example.com./v1/users", false},
		{"https://api.example.com/v1/*", "https://api.example.com:443/v1/x", true},
		{"https://api.example.com/v1/*", "https://api.example.com/v2/users", false},
		{"https://api.example.com/v1/*", "https://api.example.com/v1", false},
		{"https://api.example.com/v1/*", "https://api.example.com/v1/../admin", false},
		{"https://api.example.com/v1/*", "https://api.example.com/v1/%2e%2e/admin", false},
		{"https://api.example.com/v1/*", "https://api.example.com/v1/x/..%2f..%2fadmin", false},
		{"https://api.example.com/v1/*", "http://api.example.com/v1/users", false},
		{"https://api.example.com/v1/*", "https://evil.com/api", false},
		{"https://api.example.com/v1/*", "https://api.example.com.evil.com/v1/x", false},
		{"https://api.example.com/v1/*", "https://api.example.com@evil.com/v1/x", false},
		{"https://api.example.com/v1/*", "https://evil@api.example.com/v1/x", false},
		{"https://api.example.com/v1/*", "https://api.example.com:8443/v1/x", false},
		{"https://api.example.com/v1/*", "https://api.example.com/v1/x?redirect=http://evil", true},
		{"https://api.example.com/v1/*", "/v1/users", false},
		{"https://*.example.com/api/*", "https://a.example.com/api/x", true},
		{"https://*.example.com/api/*", "https://a.b.example.com/api/x", true},
		{"https://*.example.com/api/*", "https://example.com/api/x", true},
		{"https://*.example.com/api/*", "https://badexample.com/api/x", false},
		{"https://*.example.com/api/*", "https://example.com.evil.com/api/x", false},
		{"https://*.example.com/api/*", "https://1.2.3.4/api/x", false},
		{"https://example.com", "https://example.com/anything/at/all", true},
		{"https://example.com/", "https://example.com/anything", true},
		{"https://example.com/*", "https://example.com/", true},
		{"https://example.com/exact", "https://example.com/exact", true},
		{"https://example.com/exact", "https://example.com/exact/more", false},
		{"https://example.com/a?/b", "https://example.com/a", true},
		{"https://example.com/f[0-9]", "https://example.com/f7", true},
		{"https://example.com/f[0-9]", "https://example.com/fx", false},
		{"https://example.com/f[0-9", "https://example.com/f[0-9", true},
		{"https://example.com:8443/*", "https://example.com:8443/x", true},
		{"https://example.com:8443/*", "https://example.com/x", false},
		{"https://example.com:443/*", "https://example.com/x", true},
		{"*://example.com/*", "http://example.com/x", true},
		{"*://example.com/*", "https://example.com/x", true},
		{"*://example.com/*", "ftp://example.com/x", true},
		{"*://example.com/*", "http://example.com:8080/x", false},
		{"HTTPS://Example.COM/*", "https://example.com/x", true},
		{"http://127.0.0.1/*", "http://0x7f.1/x", true},
		{"http://127.0.0.1/*", "http://2130706433/x", true},
		{"http://127.0.0.1/*", "http://[::ffff:127.0.0.1]/x", false},
		{"http://127.0.0.1/*", "http://127.0.0.2/x", false},
		{"http://10.0.0.1/*", "http://010.0.0.1/x", false},
		{"http://[::1]/*", "http://[::1]/x", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.url, func(t *testing.T) {
			c := &URLPattern{Pattern: tt.pattern}
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			err := c.Match(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("%s.Match(%q) = %v, want ok=%v", c, tt.url, err, tt.ok)
			}
			// An unvalidated struct built by hand behaves the same.
			if err2 := (&URLPattern{Pattern: tt.pattern}).Match(tt.url); (err2 == nil) != tt.ok {
				t.Fatalf("unvalidated Match(%q) = %v, want ok=%v", tt.url, err2, tt.ok)
			}
		})
	}
	c := &URLPattern{Pattern: "https://example.com/*"}
	for _, v := range []any{nil, true, int64(443), []any{"https://example.com/"}} {
		if err := c.Match(v); err == nil {
			t.Errorf("Match(%s) = nil, want a type error", formatValue(v))
		}
	}
}

// TestURLInternationalisedHosts: hosts are compared in their IDNA ASCII
// form, in patterns, in URLs and in domain lists alike.
func TestURLInternationalisedHosts(t *testing.T) {
	pat := &URLPattern{Pattern: "https://ｅｘａｍｐｌｅ.com/*"}
	if err := pat.validate(); err != nil {
		t.Fatal(err)
	}
	if err := pat.Match("https://example.com/x"); err != nil {
		t.Errorf("full-width pattern host should match its ASCII form: %v", err)
	}
	bucher := &URLPattern{Pattern: "https://bücher.example/*"}
	if err := bucher.validate(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://xn--bcher-kva.example/a", "https://BÜCHER.example/a"} {
		if err := bucher.Match(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	safe := &URLSafe{Schemes: []string{"https"}, AllowDomains: []string{"bücher.example"}}
	if err := safe.validate(); err != nil {
		t.Fatal(err)
	}
	if err := safe.Match("https://xn--bcher-kva.example/"); err != nil {
		t.Errorf("allow list in Unicode must admit the punycode host: %v", err)
	}
	deny := &URLSafe{Schemes: []string{"https"}, DenyDomains: []string{"*.bücher.example"}, AllowPrivate: true, AllowLoopback: true, AllowMetadata: true, AllowReserved: true}
	if err := deny.validate(); err != nil {
		t.Fatal(err)
	}
	if err := deny.Match("https://shop.xn--bcher-kva.example/"); err == nil {
		t.Error("a Unicode deny entry must refuse the punycode host")
	}
	if err := safe.Match("https://ｌｏｃａｌｈｏｓｔ/"); err == nil {
		t.Error("full-width localhost must be refused")
	}
	if err := (&URLSafe{Schemes: []string{}, DenyDomains: []string{"bad\u0080.example"}, AllowPrivate: true, AllowLoopback: true, AllowMetadata: true, AllowReserved: true}).validate(); err == nil {
		t.Error("a deny entry with no ASCII form must be refused at validate")
	}
}

func TestURLPatternValidate(t *testing.T) {
	for _, p := range []string{
		"", "example.com/*", "https:/example.com", "https://", "https:///path",
		"https://*/*", "https://*", "https://a.*.example.com/", "https://*example.com/",
		"https://example.*/", "https://*.1.2.3.4/", "https://user@example.com/",
		"https://example.com:0/", "https://example.com:70000/", "https://example.com:x/",
		`https://example.com\evil/`, "https://exa mple.com/", "https://example.com/files/*.txt",
		"1https://example.com/", "ht tp://example.com/", "https://%65xample.com/",
		"https://example.com./*",
	} {
		if err := (&URLPattern{Pattern: p}).validate(); err == nil {
			t.Errorf("validate(%q) = nil, want an error", p)
		}
		if err := (&URLPattern{Pattern: p}).Match("https://example.com/x"); err == nil {
			t.Errorf("Match under invalid pattern %q = nil, want a denial", p)
		}
	}
}

func TestURLPatternNarrowing(t *testing.T) {
	up := func(p string) *URLPattern { return &URLPattern{Pattern: p} }
	tests := []struct {
		parent, child Constraint
		ok            bool
	}{
		{up("https://api.example.com/v1/*"), up("https://api.example.com/v1/*"), true},
		{up("https://api.example.com/v1/*"), up("https://api.example.com/v1/users/*"), true},
		{up("https://api.example.com/v1/*"), up("https://api.example.com/v1/users"), true},
		{up("https://api.example.com/v1/*"), up("https://api.example.com/v2/*"), false},
		{up("https://api.example.com/v1/*"), up("https://api.example.com/*"), false},
		{up("https://api.example.com/v1/*"), up("https://api.example.com"), false},
		{up("https://api.example.com/v1/*"), up("http://api.example.com/v1/*"), false},
		{up("https://api.example.com/v1/*"), up("*://api.example.com/v1/*"), false},
		{up("*://api.example.com/v1/*"), up("https://api.example.com/v1/*"), true},
		{up("https://*.example.com/*"), up("https://api.example.com/*"), true},
		{up("https://*.example.com/*"), up("https://example.com/*"), true},
		{up("https://*.example.com/*"), up("https://*.api.example.com/*"), true},
		{up("https://*.example.com/*"), up("https://*.example.com/*"), true},
		{up("https://*.example.com/*"), up("https://evilexample.com/*"), false},
		{up("https://*.example.com/*"), up("https://*.com/*"), false},
		{up("https://api.example.com/*"), up("https://*.example.com/*"), false},
		{up("https://api.example.com/*"), up("https://API.EXAMPLE.COM/*"), true},
		{up("https://api.example.com/*"), up("https://api.example.com:8443/*"), false},
		{up("https://api.example.com:8443/*"), up("https://api.example.com/*"), false},
		{up("https://api.example.com:8443/*"), up("https://api.example.com:8443/x/*"), true},
		{up("https://api.example.com:443/*"), up("https://api.example.com/*"), true},
		{up("https://api.example.com"), up("https://api.example.com/anything/*"), true},
		{up("https://api.example.com/exact"), up("https://api.example.com/exact"), true},
		{up("https://api.example.com/exact"), up("https://api.example.com/exact/*"), false},
		{up("https://api.example.com/v[12]/*"), up("https://api.example.com/v[12]/x"), false},
		{up("https://api.example.com/v[12]/*"), up("https://api.example.com/v[12]/*"), true},
		{up("http://127.0.0.1/*"), up("http://127.0.0.1/x/*"), true},
		{up("http://127.0.0.1/*"), up("http://127.0.0.2/*"), false},
		{up("https://*.example.com/*"), up("https://10.0.0.1/*"), false},
		{up("https://api.example.com/v1/*"), &Exact{Value: "https://api.example.com/v1/users"}, true},
		{up("https://api.example.com/v1/*"), &Exact{Value: "https://api.example.com/v1/../admin"}, false},
		{up("https://api.example.com/v1/*"), &Wildcard{}, false},
		{up("https://api.example.com/v1/*"), defaultURLSafe(), false},
		{&Wildcard{}, up("https://api.example.com/v1/*"), true},
	}
	for _, tt := range tests {
		t.Run(tt.parent.String()+" > "+tt.child.String(), func(t *testing.T) {
			for _, c := range []Constraint{tt.parent, tt.child} {
				if err := c.validate(); err != nil {
					t.Fatalf("validate(%s): %v", c, err)
				}
			}
			err := checkNarrowing(tt.parent, tt.child)
			if (err == nil) != tt.ok {
				t.Fatalf("checkNarrowing = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestURLVectors decodes Tenuo's vectors A.25.1 (URLSafe) and A.25.5
// (URLPattern) and checks the constraints they carry against the inputs their
// page gives, plus a few hostile ones.
func TestURLVectors(t *testing.T) {
	safe, ok := vectorConstraint(t, "A.25.1", "http_request", "url").(*URLSafe)
	if !ok {
		t.Fatal("A.25.1: constraint is not *UrlSafe")
	}
	if safe.String() != "UrlSafe()" || safe.AllowDomains != nil || safe.DenyDomains != nil || safe.AllowPorts != nil {
		t.Fatalf("A.25.1 decoded to %s %+v, want the defaults", safe, safe)
	}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://api.example.com/data", true},
		{"http://169.254.169.254/", false},
		{"http://[::ffff:169.254.169.254]/", false},
		{"http://localhost/", false},
	} {
		if err := safe.Match(tt.url); (err == nil) != tt.ok {
			t.Errorf("A.25.1 Match(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
	pat, ok := vectorConstraint(t, "A.25.5", "api_call", "endpoint").(*URLPattern)
	if !ok {
		t.Fatal("A.25.5: constraint is not *UrlPattern")
	}
	if pat.Pattern != "https://api.example.com/v1/*" {
		t.Fatalf("A.25.5 pattern = %q", pat.Pattern)
	}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://api.example.com/v1/users", true},
		{"https://evil.com/api", false},
		{"https://api.example.com/v1/../admin", false},
	} {
		if err := pat.Match(tt.url); (err == nil) != tt.ok {
			t.Errorf("A.25.5 Match(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
	}
}

func FuzzURLSafe(f *testing.F) {
	for _, s := range []string{
		"https://api.example.com/data", "http://0x7f.1/", "http://2130706433/", "http://0177.0.0.1/",
		"http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
		"http://169.254.169.254/latest/meta-data", "http://metadata.google.internal",
		"http://[fd00:ec2::254]/", "http://localhost./", "http://LOCALHOST/", "http://%6c%6fcalhost/",
		"http://user@169.254.169.254/", "http://[fe80::1%25eth0]/", "http://010.0.0.1/",
		"https://example.com:8443/a/../b", "http://[64:ff9b::a9fe:a9fe]/",
	} {
		f.Add(s)
	}
	c := defaultURLSafe()
	pat := &URLPattern{Pattern: "https://*.example.com/api/*"}
	if err := pat.validate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = pat.Match(s)
		if c.Match(s) != nil {
			return
		}
		// A URL that passes the defaults never names a loopback, private,
		// link-local, metadata or reserved host, in any reading.
		tu, err := parseTargetURL(s)
		if err != nil {
			t.Fatalf("Match(%q) passed but the URL does not parse: %v", s, err)
		}
		const bad = netguard.Loopback | netguard.Private | netguard.LinkLocal | netguard.Metadata |
			netguard.Unspecified | netguard.Reserved | netguard.Multicast | netguard.Broadcast
		if tu.host.IsIP() {
			for _, a := range tu.host.Addrs() {
				if cls := netguard.Classify(a); cls&bad != 0 {
					t.Fatalf("Match(%q) passed for %v (%v)", s, a, cls)
				}
				// An oracle independent of netguard's tables: net/netip's own.
				u := a.Unmap()
				if u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsUnspecified() ||
					u.IsMulticast() || u.IsInterfaceLocalMulticast() || u.IsLinkLocalMulticast() {
					t.Fatalf("Match(%q) passed for special address %v", s, a)
				}
			}
		} else {
			if cls := netguard.ClassifyName(tu.host.Name); cls&bad != 0 {
				t.Fatalf("Match(%q) passed for %q (%v)", s, tu.host.Name, cls)
			}
			if n := tu.host.Name; n == "localhost" || strings.HasSuffix(n, ".localhost") || n == "metadata.google.internal" {
				t.Fatalf("Match(%q) passed for %q", s, n)
			}
		}
		if tu.scheme != "http" && tu.scheme != "https" {
			t.Fatalf("Match(%q) passed with scheme %q", s, tu.scheme)
		}
		if strings.ContainsAny(s, "\\\t\n\r ") {
			t.Fatalf("Match(%q) passed with a control character, space or backslash", s)
		}
	})
}

func BenchmarkMatchURLSafe(b *testing.B) {
	c := &URLSafe{Schemes: []string{"http", "https"}, AllowDomains: []string{"*.example.com", "api.github.com"}, DenyDomains: []string{"admin.example.com"}}
	v := any("https://api.example.com/v1/users?page=2")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Match(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchURLPattern(b *testing.B) {
	c := &URLPattern{Pattern: "https://*.example.com/api/*"}
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	v := any("https://a.example.com/api/v1/users")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Match(v); err != nil {
			b.Fatal(err)
		}
	}
}
