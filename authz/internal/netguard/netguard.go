// Package netguard classifies the host of a URL for server-side request
// forgery (SSRF) checks, without any I/O.
//
// [ParseHost] turns the host part of a URL into a [Host]: a normalised DNS
// name or an IP address, whatever spelling the address was written in
// (dotted quad, one 32-bit number, hex, octal, short forms, IPv6 with an
// embedded IPv4 address, zone identifiers). [Classify] and [ClassifyName]
// then say which special-purpose ranges or names the host belongs to.
//
// Nothing here resolves names: a public name that resolves to a private
// address (DNS rebinding, wildcard DNS services) is not detected. That must
// be enforced where the connection is made.
package netguard

import (
	"unicode/utf8"

	"errors"
	"fmt"
	"golang.org/x/net/idna"
	"net/netip"
	"strings"
)

// Errors returned by [ParseHost]. Each means the host must be refused.
var (
	// ErrEmptyHost is returned for an empty host.
	ErrEmptyHost = errors.New("empty host")
	// ErrBadHost is returned for a host that is neither a valid DNS name nor an
	// IP address in a spelling this package understands.
	ErrBadHost = errors.New("invalid host")
)

// maxNameLen is the longest DNS name (RFC 1035 §2.3.4), without the final dot.
const maxNameLen = 253

// Host is a parsed URL host: either a DNS name or an IP address.
type Host struct {
	// Name is the host name in lower case without a trailing dot; empty
	// when the host is an IP address.
	Name string
	// Addr is the address when the host is an IP address (zone removed);
	// the zero Addr otherwise.
	Addr netip.Addr
	// Alt is a second reading of an ambiguous IPv4 spelling: the decimal
	// reading of parts written with leading zeros ("010.0.0.1" is 8.0.0.1 to
	// WHATWG and inet_aton, 10.0.0.1 to some other parsers). It is the zero
	// Addr when the spelling has a single reading.
	Alt netip.Addr
	// NonCanonical is true when an IPv4 address was written other than as
	// four plain decimal numbers.
	NonCanonical bool
}

// IsIP reports whether h is an IP address.
func (h Host) IsIP() bool { return h.Addr.IsValid() }

// String returns the name, or the address in its canonical text form.
func (h Host) String() string {
	if h.IsIP() {
		return h.Addr.String()
	}
	return h.Name
}

// Addrs returns every address h may denote: none for a name, Addr, and Alt
// when the spelling is ambiguous.
func (h Host) Addrs() []netip.Addr {
	switch {
	case !h.IsIP():
		return nil
	case h.Alt.IsValid():
		return []netip.Addr{h.Addr, h.Alt}
	default:
		return []netip.Addr{h.Addr}
	}
}

// ParseHost parses the host part of a URL: a DNS name, an IPv4 address in
// any spelling a URL parser or inet_aton accepts, or an IPv6 address with or
// without brackets and with an optional zone ("fe80::1%eth0" or
// "fe80::1%25eth0").
//
// A name is percent-decoded once, mapped to its ASCII form (IDNA/UTS #46
// lookup, which lower-cases it and folds full-width and other compatibility
// characters, so "ｌｏｃａｌｈｏｓｔ" is "localhost") and stripped of one
// trailing dot. It must then be made of labels of letters, digits, '-' and
// '_', 1 to 63 bytes each, at most 253 bytes in all. As in the WHATWG URL
// standard, a name whose last label is a number ("1.2.3.4", "foo.0x10") must
// be a valid IPv4 address, or it is an error.
func ParseHost(host string) (Host, error) {
	if host == "" {
		return Host{}, ErrEmptyHost
	}
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		if len(host) < 2 || host[0] != '[' || host[len(host)-1] != ']' {
			return Host{}, fmt.Errorf("%w: unbalanced brackets in %q", ErrBadHost, host)
		}
		return parseIPv6(host[1 : len(host)-1])
	}
	if strings.IndexByte(host, ':') >= 0 {
		return parseIPv6(host)
	}
	name, err := percentDecode(host)
	if err != nil {
		return Host{}, err
	}
	return parseName(name)
}

// parseIPv6 parses an IPv6 literal with an optional zone.
func parseIPv6(s string) (Host, error) {
	// RFC 6874 writes the zone separator as "%25" inside a URL.
	if i := strings.Index(s, "%25"); i >= 0 {
		s = s[:i] + "%" + s[i+3:]
	}
	if strings.IndexByte(s, ':') < 0 {
		return Host{}, fmt.Errorf("%w: %q is not an IPv6 address", ErrBadHost, s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return Host{}, fmt.Errorf("%w: %q is not an IPv6 address", ErrBadHost, s)
	}
	return Host{Addr: a.WithZone("")}, nil
}

// percentDecode decodes %XX escapes once. A '%' not followed by two hex
// digits, or one that remains after decoding (double encoding), is an error:
// parsers disagree on such hosts.
func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("%w: bad percent-encoding in %q", ErrBadHost, s)
		}
		b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
		i += 2
	}
	if strings.IndexByte(string(b), '%') >= 0 {
		return "", fmt.Errorf("%w: doubly percent-encoded host %q", ErrBadHost, s)
	}
	return string(b), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// parseName validates and normalises a decoded host that is not an IPv6
// literal; a numeric last label makes it an IPv4 address.
func parseName(s string) (Host, error) {
	a, err := ASCIIName(s)
	if err != nil {
		return Host{}, err
	}
	s = a
	if strings.HasSuffix(s, ".") {
		s = s[:len(s)-1]
	}
	if s == "" {
		return Host{}, ErrEmptyHost
	}
	if len(s) > maxNameLen {
		return Host{}, fmt.Errorf("%w: host longer than %d bytes", ErrBadHost, maxNameLen)
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if endsInNumber(last) {
		a, alt, canonical, err := parseIPv4(s)
		if err != nil {
			return Host{}, err
		}
		return Host{Addr: a, Alt: alt, NonCanonical: !canonical}, nil
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return Host{}, fmt.Errorf("%w: bad label in %q", ErrBadHost, s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return Host{}, fmt.Errorf("%w: character %q in %q", ErrBadHost, c, s)
			}
		}
	}
	return Host{Name: s}, nil
}

// endsInNumber reports whether a last label makes a host an IPv4 address
// under the WHATWG URL standard: all decimal digits, or "0x" and hex digits.
func endsInNumber(label string) bool {
	if label == "" {
		return false
	}
	if allDigits(label) {
		return true
	}
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		for i := 2; i < len(label); i++ {
			if !isHex(label[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseIPv4 parses an IPv4 address the way the WHATWG URL standard and
// inet_aton do: one to four parts separated by dots, each decimal, octal
// (leading 0) or hex (leading 0x); the last part fills the remaining bytes.
// It also returns the decimal reading of an all-digit spelling with leading
// zeros (alt), and whether the spelling was the canonical dotted quad.
func parseIPv4(s string) (a, alt netip.Addr, canonical bool, err error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return a, alt, false, fmt.Errorf("%w: %q has too many parts for an IPv4 address", ErrBadHost, s)
	}
	nums := make([]uint64, len(parts))
	decimal := make([]uint64, len(parts))
	canonical = len(parts) == 4
	ambiguous, decimalOK := false, true
	for i, p := range parts {
		n, base, ok := parseIPv4Part(p)
		if !ok {
			return a, alt, false, fmt.Errorf("%w: %q is not an IPv4 address", ErrBadHost, s)
		}
		nums[i] = n
		if base != 10 {
			canonical = false
		}
		if base == 8 && allDigits(p) {
			ambiguous = true
		}
		if allDigits(p) && len(p) <= 19 {
			var d uint64
			for j := 0; j < len(p); j++ {
				d = d*10 + uint64(p[j]-'0')
			}
			decimal[i] = d
		} else {
			decimalOK = false
		}
	}
	a, ok := assembleIPv4(nums)
	if !ok {
		return a, alt, false, fmt.Errorf("%w: %q is out of range for an IPv4 address", ErrBadHost, s)
	}
	if ambiguous && decimalOK {
		if d, ok := assembleIPv4(decimal); ok && d != a {
			alt = d
		}
	}
	return a, alt, canonical, nil
}

// parseIPv4Part parses one part and reports its base. Values are capped so
// that huge inputs cannot overflow; anything above 2^32 is out of range.
func parseIPv4Part(p string) (n uint64, base int, ok bool) {
	if p == "" {
		return 0, 0, false
	}
	base = 10
	digits := p
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, digits = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, digits = 8, p[1:]
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, 0, false
		}
		if d >= uint64(base) {
			return 0, 0, false
		}
		n = n*uint64(base) + d
		if n > 1<<33 {
			n = 1 << 33 // out of range whatever follows
		}
	}
	return n, base, true
}

// assembleIPv4 combines parsed parts: every part but the last is one byte;
// the last fills the remaining 5-len(parts) bytes.
func assembleIPv4(nums []uint64) (netip.Addr, bool) {
	var v uint64
	for i, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
		v |= n << (8 * (3 - i))
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v |= last
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// ASCIIName returns a DNS name in the form it is looked up under: lower
// case, and internationalised labels in punycode ("xn--…") by the IDNA
// (UTS #46) lookup profile. A name that IDNA refuses is an error.
func ASCIIName(s string) (string, error) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s), nil
	}
	a, err := idna.Lookup.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("%w: internationalised host %q: %v", ErrBadHost, s, err)
	}
	return strings.ToLower(a), nil
}
