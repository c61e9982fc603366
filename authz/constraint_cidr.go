package authz

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// cidrPrefix is a parsed CIDR network, with the host bits cleared.
type cidrPrefix struct {
	net netip.Prefix
}

// parseCIDR parses a network the way Tenuo's ipnetwork crate does:
//
//   - "addr/prefix" or a bare "addr" (a single host: /32 or /128); a second
//     '/' is an error;
//   - IPv4 is tried first: four decimal octets, and a prefix length 0–32 or
//     a contiguous dotted netmask ("10.0.0.0/255.0.0.0");
//   - then IPv6 (no zone, no brackets), prefix length 0–128;
//   - host bits may be set ("10.1.2.3/8" is the network 10.0.0.0/8), as
//     ipnetwork allows;
//   - a prefix length is Rust's u8 syntax: ASCII digits, an optional leading
//     '+', leading zeros allowed.
//
// An IPv4-mapped IPv6 network ("::ffff:10.0.0.0/104") stays IPv6, as in
// Rust.
func parseCIDR(s string) (netip.Prefix, error) {
	addrStr, prefixStr, hasPrefix := strings.Cut(s, "/")
	if hasPrefix && strings.Contains(prefixStr, "/") {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: more than one '/'", s)
	}
	addr, err := parseIP(addrStr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: %v", s, err)
	}
	bits := addr.BitLen()
	if hasPrefix {
		n, ok := parseRustU8(prefixStr)
		switch {
		case ok && int(n) <= addr.BitLen():
			bits = int(n)
		case addr.Is4():
			mask, err := netip.ParseAddr(prefixStr)
			if err != nil || !mask.Is4() {
				return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: bad prefix length", s)
			}
			if bits, ok = maskBits(mask); !ok {
				return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: netmask is not contiguous", s)
			}
		default:
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: bad prefix length", s)
		}
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR %q: %v", s, err)
	}
	return p, nil
}

// parseIP parses an address as Rust's IpAddr::from_str: dotted-quad IPv4
// without leading zeros, or IPv6 without a zone.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address: zones are not accepted", s)
	}
	return a, nil
}

// parseRustU8 parses s as Rust's u8::from_str does.
func parseRustU8(s string) (uint8, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

// maskBits converts a contiguous IPv4 netmask to a prefix length.
func maskBits(mask netip.Addr) (int, bool) {
	b := mask.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for n < 32 && m&(1<<(31-n)) != 0 {
		n++
	}
	if n < 32 && m<<n != 0 {
		return 0, false
	}
	return n, true
}

func (c *CIDR) Type() ConstraintType { return TypeCIDR }
func (c *CIDR) Match(v any) error    { return c.match(v, wallClock()) }

func (c *CIDR) String() string {
	if c == nil {
		return "Cidr(<nil>)"
	}
	return "Cidr(" + strconv.Quote(c.Network) + ")"
}

// network returns the parsed network, parsing into a local when validate
// has not run.
func (c *CIDR) network() (netip.Prefix, error) {
	if c.prefix != nil {
		return c.prefix.net, nil
	}
	p, err := parseCIDR(c.Network)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

// match accepts a string IP address inside the network. A non-string is a
// plain non-match; a string that is not an IP address cannot be evaluated
// (Tenuo returns an error), so it denies even under Not. An IPv4 address
// never lies inside an IPv6 network nor the reverse; an IPv4-mapped IPv6
// address ("::ffff:10.1.2.3") is IPv6 and so is not inside 10.0.0.0/8, as in
// Rust.
func (c *CIDR) match(v any, ec *evalContext) error {
	if c == nil {
		return errors.New("missing Cidr constraint: denied")
	}
	net, err := c.network()
	if err != nil {
		return err
	}
	s, err := needString("Cidr", v)
	if err != nil {
		return err
	}
	addr, err := parseIP(s)
	if err != nil {
		return fmt.Errorf("cannot evaluate %s: %v", c, err)
	}
	if !net.Contains(addr) {
		return noMatch("%s is not inside network %s", strconv.Quote(s), c.Network)
	}
	return nil
}

func (c *CIDR) validate() error {
	if c == nil {
		return errors.New("missing Cidr constraint")
	}
	p, err := parseCIDR(c.Network)
	if err != nil {
		return err
	}
	c.prefix = &cidrPrefix{net: p.Masked()}
	return nil
}

// narrowedBy accepts a CIDR whose network lies inside the parent's (same
// address family, prefix at least as long).
func (c *CIDR) narrowedBy(child Constraint) error {
	ch, ok := child.(*CIDR)
	if !ok || c == nil || ch == nil {
		return incompatible(c, child)
	}
	pn, err := c.network()
	if err != nil {
		return err
	}
	cn, err := ch.network()
	if err != nil {
		return err
	}
	if cn.Addr().Is4() != pn.Addr().Is4() || cn.Bits() < pn.Bits() || !pn.Contains(cn.Addr()) {
		return fmt.Errorf("child Cidr must be a subnet of the parent: %s is not inside %s", ch.Network, c.Network)
	}
	return nil
}
