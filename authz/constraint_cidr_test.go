package authz

import (
	"strings"
	"testing"
)

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in, want string // want "" for an error
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.1.2.3/8", "10.0.0.0/8"}, // host bits allowed, as ipnetwork
		{"10.1.2.3", "10.1.2.3/32"},  // bare address: one host
		{"10.0.0.0/255.0.0.0", "10.0.0.0/8"},
		{"10.0.0.0/255.255.255.255", "10.0.0.0/32"},
		{"10.0.0.0/0.0.0.0", "0.0.0.0/0"},
		{"10.0.0.0/08", "10.0.0.0/8"}, // Rust's u8 parse allows leading zeros
		{"10.0.0.0/+8", "10.0.0.0/8"}, // and a '+'
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"::1", "::1/128"},
		{"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"},
		{"10.0.0.0/33", ""},
		{"10.0.0.0/255.0.255.0", ""}, // not contiguous
		{"10.0.0.0/-1", ""},
		{"10.0.0.0/", ""},
		{"10.0.0.0/8/", ""},
		{"10.0.0/8", ""},
		{"010.0.0.0/8", ""},
		{"10.0.0.0 /8", ""},
		{"::1/129", ""},
		{"::1/ffff::", ""},
		{"fe80::1%eth0/64", ""},
		{"[::1]/128", ""},
		{"", ""},
		{"/8", ""},
		{"example.com/8", ""},
	}
	for _, tt := range tests {
		p, err := parseCIDR(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("parseCidr(%q) = %v, want error", tt.in, p)
		case tt.want != "" && err != nil:
			t.Errorf("parseCidr(%q): %v", tt.in, err)
		case tt.want != "" && p.Masked().String() != tt.want:
			t.Errorf("parseCidr(%q) = %v, want %s", tt.in, p.Masked(), tt.want)
		}
		c := &CIDR{Network: tt.in}
		if verr := c.validate(); (verr == nil) != (tt.want != "") {
			t.Errorf("Cidr(%q).validate() = %v", tt.in, verr)
		}
	}
}

func TestCIDRMatch(t *testing.T) {
	v4 := &CIDR{Network: "10.0.0.0/8"}
	v6 := &CIDR{Network: "2001:db8::/32"}
	mapped := &CIDR{Network: "::ffff:10.0.0.0/104"}
	tests := []struct {
		name    string
		c       *CIDR
		v       any
		ok      bool
		noMatch bool
	}{
		{"inside", v4, "10.1.2.3", true, false},
		{"network address", v4, "10.0.0.0", true, false},
		{"broadcast", v4, "10.255.255.255", true, false},
		{"outside", v4, "11.0.0.1", false, true},
		{"v6 inside", v6, "2001:db8::1", true, false},
		{"v6 outside", v6, "2001:db9::1", false, true},
		{"v4 under v6 network", v6, "10.1.2.3", false, true},
		{"v6 under v4 network", v4, "::1", false, true},
		// An IPv4-mapped address is IPv6 in Rust: not inside an IPv4 network.
		{"mapped under v4 network", v4, "::ffff:10.1.2.3", false, true},
		{"mapped under mapped network", mapped, "::ffff:10.1.2.3", true, false},
		{"v4 under mapped network", mapped, "10.1.2.3", false, true},
		{"not an IP: evaluation error", v4, "example.com", false, false},
		{"CIDR is not an IP", v4, "10.0.0.0/8", false, false},
		{"leading zeros", v4, "010.0.0.1", false, false},
		{"zone", v6, "2001:db8::1%eth0", false, false},
		{"empty string", v4, "", false, false},
		{"not a string", v4, int64(167772161), false, true},
		{"null", v4, nil, false, true},
		{"list", v4, []any{"10.0.0.1"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch)
			c := &CIDR{Network: tt.c.Network}
			if err := c.validate(); err != nil {
				t.Fatal(err)
			}
			ctCheckMatch(t, c, tt.v, tt.ok, tt.noMatch)
		})
	}
	// An invalid network (struct built by hand) cannot be evaluated.
	err := (&CIDR{Network: "10.0.0.0/99"}).Match("10.0.0.1")
	if err == nil || isNoMatch(err) || !strings.Contains(err.Error(), "invalid CIDR") {
		t.Errorf("invalid network: %v", err)
	}
}
