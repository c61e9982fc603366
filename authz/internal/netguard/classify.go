package netguard

import (
	"net/netip"
	"strings"
)

// Class is a set of special-purpose categories an address or name belongs to.
// The zero Class is an ordinary public address or name.
type Class uint16

// The categories. An address may be in several.
const (
	// Loopback: 127.0.0.0/8, ::1; the names localhost and *.localhost.
	Loopback Class = 1 << iota
	// Private: RFC 1918 (10/8, 172.16/12, 192.168/16), shared CGNAT space
	// 100.64/10, unique local fc00::/7, site-local fec0::/10.
	Private
	// LinkLocal: 169.254/16 and fe80::/10.
	LinkLocal
	// Metadata: cloud instance-metadata endpoints, by address (all of
	// 169.254/16 and the addresses in metadataAddrs) or by name.
	Metadata
	// Unspecified: 0.0.0.0 and ::, which many stacks connect to the local host.
	Unspecified
	// Multicast: 224/4 and ff00::/8.
	Multicast
	// Broadcast: 255.255.255.255.
	Broadcast
	// Reserved: other special-purpose ranges that are not ordinary public
	// destinations: 0/8, 192.0.0/24, documentation, benchmarking, 240/4,
	// 100::/64, 2001:db8::/32, and IPv4-compatible or other prefixes whose
	// embedded address is itself special.
	Reserved
	// InternalName: a name under a TLD used only inside private networks
	// (.internal, .local, .lan, …) or a single-label name, which resolvers
	// complete with a search domain.
	InternalName
)

var classNames = []struct {
	c    Class
	name string
}{
	{Loopback, "loopback"}, {Private, "private"}, {LinkLocal, "link-local"},
	{Metadata, "metadata"}, {Unspecified, "unspecified"}, {Multicast, "multicast"},
	{Broadcast, "broadcast"}, {Reserved, "reserved"}, {InternalName, "internal-name"},
}

// String lists the categories, e.g. "loopback|reserved", or "public".
func (c Class) String() string {
	if c == 0 {
		return "public"
	}
	var parts []string
	for _, n := range classNames {
		if c&n.c != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, "|")
}

type prefixClass struct {
	p netip.Prefix
	c Class
}

var v4Ranges = []prefixClass{
	{netip.MustParsePrefix("0.0.0.0/8"), Reserved},
	{netip.MustParsePrefix("10.0.0.0/8"), Private},
	{netip.MustParsePrefix("100.64.0.0/10"), Private},
	{netip.MustParsePrefix("127.0.0.0/8"), Loopback},
	{netip.MustParsePrefix("169.254.0.0/16"), LinkLocal | Metadata},
	{netip.MustParsePrefix("172.16.0.0/12"), Private},
	{netip.MustParsePrefix("192.0.0.0/24"), Reserved},
	{netip.MustParsePrefix("192.0.2.0/24"), Reserved},
	{netip.MustParsePrefix("192.88.99.0/24"), Reserved}, // deprecated 6to4 relay anycast
	{netip.MustParsePrefix("192.168.0.0/16"), Private},
	{netip.MustParsePrefix("198.18.0.0/15"), Reserved},
	{netip.MustParsePrefix("198.51.100.0/24"), Reserved},
	{netip.MustParsePrefix("203.0.113.0/24"), Reserved},
	{netip.MustParsePrefix("224.0.0.0/4"), Multicast},
	{netip.MustParsePrefix("240.0.0.0/4"), Reserved},
}

var v6Ranges = []prefixClass{
	{netip.MustParsePrefix("100::/64"), Reserved},
	{netip.MustParsePrefix("2001:db8::/32"), Reserved},
	{netip.MustParsePrefix("3fff::/20"), Reserved}, // documentation (RFC 9637)
	{netip.MustParsePrefix("fc00::/7"), Private},
	{netip.MustParsePrefix("fe80::/10"), LinkLocal},
	{netip.MustParsePrefix("fec0::/10"), Private}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), Multicast},
}

// metadataAddrs are cloud metadata endpoints outside 169.254/16.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud (legacy)
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"),    // AWS EKS Pod Identity over IPv6
}

// Prefixes whose addresses carry an IPv4 address in their low 32 bits.
var (
	nat64Prefix      = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052
	nat64LocalPrefix = netip.MustParsePrefix("64:ff9b:1::/48")  // RFC 8215
	siitPrefix       = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765
	compatPrefix     = netip.MustParsePrefix("::/96")           // RFC 4291, deprecated
	sixToFourPrefix  = netip.MustParsePrefix("2002::/16")       // RFC 3056: IPv4 in bits 16–47
	teredoPrefix     = netip.MustParsePrefix("2001::/32")       // RFC 4380
)

// Classify returns the categories of addr. An IPv6 address that embeds an
// IPv4 address (IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo) is
// also classified by the embedded address, since a gateway or the local
// stack may deliver it there. The zone, if any, is ignored.
func Classify(addr netip.Addr) Class {
	if !addr.IsValid() {
		return Reserved
	}
	addr = addr.WithZone("")
	if addr.Is4In6() {
		return classify4(addr.Unmap())
	}
	if addr.Is4() {
		return classify4(addr)
	}
	return classify6(addr)
}

func classify4(a netip.Addr) Class {
	var c Class
	if a == netip.IPv4Unspecified() {
		c |= Unspecified
	}
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		c |= Broadcast
	}
	for _, r := range v4Ranges {
		if r.p.Contains(a) {
			c |= r.c
		}
	}
	for _, m := range metadataAddrs {
		if a == m {
			c |= Metadata
		}
	}
	return c
}

func classify6(a netip.Addr) Class {
	var c Class
	switch a {
	case netip.IPv6Unspecified():
		return Unspecified
	case netip.IPv6Loopback():
		return Loopback
	}
	for _, r := range v6Ranges {
		if r.p.Contains(a) {
			c |= r.c
		}
	}
	for _, m := range metadataAddrs {
		if a == m {
			c |= Metadata
		}
	}
	b := a.As16()
	low := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case compatPrefix.Contains(a), siitPrefix.Contains(a):
		// The embedded address is reachable through the local stack or a
		// translator; classify by it and mark the form itself reserved.
		c |= Reserved | classify4(low)
	case nat64Prefix.Contains(a), nat64LocalPrefix.Contains(a):
		c |= classify4(low)
	case sixToFourPrefix.Contains(a):
		c |= classify4(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	case teredoPrefix.Contains(a):
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		c |= classify4(server) | classify4(client)
	}
	return c
}

// metadataNames are cloud metadata host names.
var metadataNames = map[string]bool{
	"metadata":                     true, // GCP short name, resolvable inside instances
	"metadata.google.internal":     true, // GCP
	"metadata.goog":                true, // GCP
	"instance-data":                true, // AWS
	"instance-data.ec2.internal":   true, // AWS
	"metadata.azure.com":           true, // Azure (defensive)
	"metadata.tencentyun.com":      true, // Tencent Cloud
	"metadata.platformequinix.com": true, // Equinix Metal
	"metadata.packet.net":          true, // Equinix Metal (legacy)
}

// internalTLDs are suffixes used only inside private networks. The list is
// Tenuo's (internal, local, localhost, lan, corp, home, svc, default) and a
// few more.
var internalTLDs = []string{
	"internal", "local", "localhost", "localdomain", "lan", "corp", "home", "home.arpa",
	"intranet", "private", "svc", "default",
}

// dottedInternalTLDs is internalTLDs with a leading dot, for suffix tests.
var dottedInternalTLDs = func() []string {
	d := make([]string, len(internalTLDs))
	for i, t := range internalTLDs {
		d[i] = "." + t
	}
	return d
}()

// ClassifyName returns the categories of a host name as returned by
// [ParseHost] (lower case, no trailing dot): Loopback for localhost and its
// subdomains (RFC 6761) and localhost.localdomain, Metadata for cloud
// metadata names, InternalName for internal TLDs and single-label names.
func ClassifyName(name string) Class {
	var c Class
	if name == "" {
		return Reserved
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") || name == "localhost.localdomain" {
		c |= Loopback
	}
	if metadataNames[name] {
		c |= Metadata
	}
	if !strings.Contains(name, ".") {
		c |= InternalName
	}
	for i, t := range internalTLDs {
		if name == t || strings.HasSuffix(name, dottedInternalTLDs[i]) {
			c |= InternalName
			break
		}
	}
	return c
}
