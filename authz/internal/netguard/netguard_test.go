package netguard

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in           string
		name         string // expected Name, or "" for an IP
		addr         string // expected Addr, or "" for a name
		alt          string // expected Alt, or ""
		nonCanonical bool
	}{
		{in: "example.com", name: "example.com"},
		{in: "EXAMPLE.com.", name: "example.com"},
		{in: "LOCALHOST", name: "localhost"},
		{in: "localhost.", name: "localhost"},
		{in: "%6c%6fcalhost", name: "localhost"},
		{in: "xn--bcher-kva.example", name: "xn--bcher-kva.example"},
		{in: "under_score.example", name: "under_score.example"},
		{in: "127.0.0.1", addr: "127.0.0.1"},
		{in: "127.0.0.1.", addr: "127.0.0.1"},
		{in: "2130706433", addr: "127.0.0.1", nonCanonical: true},
		{in: "0x7f000001", addr: "127.0.0.1", nonCanonical: true},
		{in: "0X7F000001", addr: "127.0.0.1", nonCanonical: true},
		{in: "0x7f.1", addr: "127.0.0.1", nonCanonical: true},
		{in: "0177.0.0.1", addr: "127.0.0.1", alt: "177.0.0.1", nonCanonical: true},
		{in: "010.0.0.1", addr: "8.0.0.1", alt: "10.0.0.1", nonCanonical: true},
		{in: "00.0.0.0", addr: "0.0.0.0", nonCanonical: true},
		{in: "127.1", addr: "127.0.0.1", nonCanonical: true},
		{in: "10.1.1", addr: "10.1.0.1", nonCanonical: true},
		{in: "0x", addr: "0.0.0.0", nonCanonical: true},
		{in: "0", addr: "0.0.0.0", nonCanonical: true},
		{in: "169.254.169.254", addr: "169.254.169.254"},
		{in: "0xa9.0xfe.0xa9.0xfe", addr: "169.254.169.254", nonCanonical: true},
		{in: "0251.0376.0251.0376", addr: "169.254.169.254", nonCanonical: true},
		{in: "[::1]", addr: "::1"},
		{in: "::1", addr: "::1"},
		{in: "[::ffff:127.0.0.1]", addr: "::ffff:127.0.0.1"},
		{in: "[fe80::1%25eth0]", addr: "fe80::1"},
		{in: "fe80::1%eth0", addr: "fe80::1"},
		{in: "[FD00:EC2::254]", addr: "fd00:ec2::254"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			h, err := ParseHost(tt.in)
			if err != nil {
				t.Fatalf("ParseHost(%q): %v", tt.in, err)
			}
			if h.Name != tt.name {
				t.Errorf("Name = %q, want %q", h.Name, tt.name)
			}
			if tt.addr == "" {
				if h.IsIP() {
					t.Errorf("IsIP() = true for %q", tt.in)
				}
			} else if want := netip.MustParseAddr(tt.addr); h.Addr != want {
				t.Errorf("Addr = %v, want %v", h.Addr, want)
			}
			if tt.alt == "" && h.Alt.IsValid() {
				t.Errorf("Alt = %v, want none", h.Alt)
			}
			if tt.alt != "" && h.Alt != netip.MustParseAddr(tt.alt) {
				t.Errorf("Alt = %v, want %v", h.Alt, tt.alt)
			}
			if h.NonCanonical != tt.nonCanonical {
				t.Errorf("NonCanonical = %v, want %v", h.NonCanonical, tt.nonCanonical)
			}
		})
	}
}

// TestParseHostIDNA: internationalised names are looked up in their IDNA
// ASCII form, so compatibility spellings fold onto the names they mean.
func TestParseHostIDNA(t *testing.T) {
	for in, want := range map[string]string{
		"ｌｏｃａｌｈｏｓｔ":      "localhost",
		"bücher.example": "xn--bcher-kva.example",
		"BÜCHER.example": "xn--bcher-kva.example",
		"%C3%BC.example": "xn--tda.example",
		"ＥＸＡＭＰＬＥ．ｃｏｍ":    "example.com",
	} {
		h, err := ParseHost(in)
		if err != nil || h.Name != want {
			t.Errorf("ParseHost(%q) = %+v, %v; want name %q", in, h, err, want)
		}
	}
	if h, err := ParseHost("ｌｏｃａｌｈｏｓｔ"); err != nil || ClassifyName(h.Name)&Loopback == 0 {
		t.Errorf("full-width localhost must classify as loopback: %+v %v", h, err)
	}
	if h, err := ParseHost("１２７.０.０.１"); err != nil || !h.IsIP() || !h.Addr.IsLoopback() {
		t.Errorf("full-width 127.0.0.1 must be the loopback address: %+v %v", h, err)
	}
}

func TestParseHostErrors(t *testing.T) {
	for _, in := range []string{
		"", ".", "a..b", ".example.com", "example.com..",
		"xn--zz\u200d.example", "bad\x00.example",
		"%256c%256fcalhost", "%zz", "%6", "a b", "a/b", "a@b", "a*b", "a\x00b",
		"256.0.0.1", "1.2.3.4.5", "4294967296", "0x100000000", "08.0.0.1", "1.2.3.09",
		"foo.123", "foo.0x10",
		"[::1", "::1]", "[]", "[1.2.3.4]", "[::g]", "[::1%25]",
		strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com",
	} {
		if h, err := ParseHost(in); err == nil {
			t.Errorf("ParseHost(%q) = %+v, want an error", in, h)
		}
	}
	if _, err := ParseHost(""); !errors.Is(err, ErrEmptyHost) {
		t.Errorf("ParseHost(\"\") = %v, want ErrEmptyHost", err)
	}
	if _, err := ParseHost("a..b"); !errors.Is(err, ErrBadHost) {
		t.Errorf("ParseHost(\"a..b\") = %v, want ErrBadHost", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		addr string
		want Class
	}{
		{"8.8.8.8", 0},
		{"1.1.1.1", 0},
		{"2606:4700:4700::1111", 0},
		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback},
		{"::ffff:7f00:1", Loopback},
		{"::127.0.0.1", Reserved | Loopback},
		{"::ffff:0:127.0.0.1", Reserved | Loopback},
		{"64:ff9b::127.0.0.1", Loopback},
		{"64:ff9b::8.8.8.8", 0},
		{"64:ff9b:1::a00:1", Private},
		{"2002:7f00:1::", Loopback},
		{"2002:a9fe:a9fe::1", LinkLocal | Metadata},
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", Loopback}, // Teredo client 127.0.0.1
		{"10.0.0.1", Private},
		{"172.16.0.1", Private},
		{"172.31.255.255", Private},
		{"172.32.0.1", 0},
		{"192.168.1.1", Private},
		{"100.64.0.1", Private},
		{"100.100.100.200", Private | Metadata},
		{"fc00::1", Private},
		{"fd12:3456::1", Private},
		{"fd00:ec2::254", Private | Metadata},
		{"fec0::1", Private},
		{"169.254.169.254", LinkLocal | Metadata},
		{"169.254.1.1", LinkLocal | Metadata},
		{"fe80::1", LinkLocal},
		{"fe80::1%eth0", LinkLocal},
		{"168.63.129.16", Metadata},
		{"0.0.0.0", Unspecified | Reserved},
		{"0.1.2.3", Reserved},
		{"::", Unspecified},
		{"224.0.0.1", Multicast},
		{"239.255.255.250", Multicast},
		{"ff02::1", Multicast},
		{"255.255.255.255", Broadcast | Reserved},
		{"240.0.0.1", Reserved},
		{"192.0.2.1", Reserved},
		{"198.51.100.7", Reserved},
		{"203.0.113.9", Reserved},
		{"198.18.0.1", Reserved},
		{"192.0.0.8", Reserved},
		{"2001:db8::1", Reserved},
		{"100::1", Reserved},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Classify(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if got := Classify(netip.Addr{}); got != Reserved {
		t.Errorf("Classify(zero Addr) = %v, want reserved", got)
	}
}

func TestClassifyName(t *testing.T) {
	tests := []struct {
		name string
		want Class
	}{
		{"example.com", 0},
		{"api.github.com", 0},
		{"localhost", Loopback | InternalName},
		{"foo.localhost", Loopback | InternalName},
		{"localhost.localdomain", Loopback | InternalName},
		{"localhost.example.com", 0},
		{"metadata.google.internal", Metadata | InternalName},
		{"metadata.goog", Metadata},
		{"metadata", Metadata | InternalName},
		{"instance-data", Metadata | InternalName},
		{"printer.local", InternalName},
		{"db.corp", InternalName},
		{"my-svc.ns.svc", InternalName},
		{"kubernetes.default", InternalName},
		{"router.home.arpa", InternalName},
		{"intranet", InternalName},
		{"local.example.com", 0},
	}
	for _, tt := range tests {
		if got := ClassifyName(tt.name); got != tt.want {
			t.Errorf("ClassifyName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestClassString(t *testing.T) {
	if got := Class(0).String(); got != "public" {
		t.Errorf("Class(0) = %q", got)
	}
	if got := (Loopback | Reserved).String(); got != "loopback|reserved" {
		t.Errorf("Loopback|Reserved = %q", got)
	}
}

func FuzzNetguardParseHost(f *testing.F) {
	for _, s := range []string{
		"example.com", "LOCALHOST.", "%6c%6fcalhost", "0x7f.1", "2130706433", "0177.0.0.1",
		"127.1", "[::ffff:127.0.0.1]", "fe80::1%25eth0", "[fd00:ec2::254]", "010.0.0.1",
		"1.2.3.4.5", "foo.0x10", "%25", "ｌｏｃａｌｈｏｓｔ", "0x", "4294967295",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHost(s)
		if err != nil {
			if h != (Host{}) {
				t.Fatalf("ParseHost(%q) returned %+v with error %v", s, h, err)
			}
			return
		}
		if h.IsIP() == (h.Name != "") {
			t.Fatalf("ParseHost(%q) = %+v: exactly one of Name and Addr must be set", s, h)
		}
		if h.IsIP() {
			if h.Addr.Zone() != "" {
				t.Fatalf("ParseHost(%q) kept zone %q", s, h.Addr.Zone())
			}
			_ = Classify(h.Addr)
			// Re-parsing the canonical form gives the same address.
			h2, err := ParseHost(h.Addr.String())
			if err != nil || h2.Addr != h.Addr {
				t.Fatalf("ParseHost(%q) = %v; re-parse of %q = %v, %v", s, h.Addr, h.Addr.String(), h2.Addr, err)
			}
			return
		}
		if h.Name != strings.ToLower(h.Name) || strings.HasSuffix(h.Name, ".") || len(h.Name) > maxNameLen {
			t.Fatalf("ParseHost(%q) = %q is not normalised", s, h.Name)
		}
		for i := 0; i < len(h.Name); i++ {
			if c := h.Name[i]; c >= 0x80 || c == '%' || c <= ' ' {
				t.Fatalf("ParseHost(%q) = %q holds byte %q", s, h.Name, c)
			}
		}
		_ = ClassifyName(h.Name)
		h2, err := ParseHost(h.Name)
		if err != nil || h2 != h {
			t.Fatalf("ParseHost(%q) = %+v; re-parse gives %+v, %v", s, h, h2, err)
		}
	})
}
