package authz

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/netguard"
)

// URLPattern and URLSafe follow Tenuo's constraints.rs. Where Tenuo is weak
// this file is stricter; each such place is marked "Stricter than Tenuo".
// Common to both, a URL is refused when it:
//   - holds a control character, a space or a backslash (WHATWG parsers drop
//     tabs and newlines and read '\' as '/', so the fetcher may see another
//     URL than we do);
//   - carries userinfo ("http://good.com@evil.com/"), which Tenuo ignores;
//   - writes its host with percent-escapes (internationalised names are
//     mapped to punycode by IDNA first, then checked like any other);
//   - has a path whose percent-decoded segments hide "." or ".." components
//     ("/a/..%2f..%2fadmin").
// Dot segments ("..", "%2e%2e") are removed from paths as WHATWG does before
// any comparison, because Go's net/url keeps them.

// targetURL is a URL a tool would fetch, parsed and normalised.
type targetURL struct {
	scheme string        // lower case
	host   netguard.Host // normalised name or address
	port   uint16        // explicit port, or the scheme's default; 0 if neither
	path   string        // escaped path, dot segments removed, "/" at least
	// trailingDot is set when the host was written with a final dot
	// ("example.com."): the same DNS name, but Tenuo's string comparisons
	// see another host, so allow lists and patterns refuse it.
	trailingDot bool
}

// defaultPort is the default port of the WHATWG special schemes.
func defaultPort(scheme string) uint16 {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	case "ftp":
		return 21
	}
	return 0
}

// parseTargetURL parses s strictly (see the file comment).
func parseTargetURL(s string) (targetURL, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return targetURL{}, fmt.Errorf("URL %q contains a control character, space or backslash", s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return targetURL{}, fmt.Errorf("URL %q does not parse: %v", s, errors.Unwrap(err))
	}
	if u.Scheme == "" || u.Opaque != "" {
		return targetURL{}, fmt.Errorf("URL %q is not an absolute URL with a host", s)
	}
	if u.User != nil {
		return targetURL{}, fmt.Errorf("URL %q carries userinfo, which is not allowed", s)
	}
	hostname := u.Hostname()
	if hostname == "" {
		return targetURL{}, fmt.Errorf("URL %q has no host", s)
	}
	if strings.IndexByte(hostname, '%') >= 0 && strings.IndexByte(hostname, ':') < 0 {
		return targetURL{}, fmt.Errorf("URL %q has a percent-encoded host", s)
	}
	h, err := netguard.ParseHost(hostname)
	if err != nil {
		return targetURL{}, fmt.Errorf("URL %q: %v", s, err)
	}
	t := targetURL{scheme: strings.ToLower(u.Scheme), host: h, trailingDot: strings.HasSuffix(hostname, ".")}
	if ps := u.Port(); ps != "" {
		p, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || p == 0 {
			return targetURL{}, fmt.Errorf("URL %q has an invalid port %q", s, ps)
		}
		t.port = uint16(p)
	} else {
		t.port = defaultPort(t.scheme)
	}
	t.path, err = cleanURLPath(u.EscapedPath())
	if err != nil {
		return targetURL{}, fmt.Errorf("URL %q: %v", s, err)
	}
	return t, nil
}

// cleanURLPath removes dot segments the way WHATWG does ("." and ".." also
// when percent-encoded, in any case; a final dot segment leaves a trailing
// slash), then refuses a segment that percent-decodes to something holding
// a separator next to a dot component.
func cleanURLPath(p string) (string, error) {
	if p == "" || p == "/" {
		return "/", nil
	}
	if p[0] == '/' && !strings.Contains(p, "/.") && strings.IndexByte(p, '%') < 0 {
		return p, nil // no dot segment, plain or encoded
	}
	if p[0] != '/' {
		p = "/" + p
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		last := i == len(segs)-1
		switch {
		case isDotDotSegment(seg):
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case isDotSegment(seg):
			if last {
				out = append(out, "")
			}
		default:
			if strings.IndexByte(seg, '%') >= 0 {
				if dec, err := url.PathUnescape(seg); err == nil {
					for comp := range strings.SplitSeq(strings.ReplaceAll(dec, `\`, "/"), "/") {
						if comp == "." || comp == ".." {
							return "", fmt.Errorf("path segment %q hides a dot segment behind an encoded separator", seg)
						}
					}
				}
			}
			out = append(out, seg)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

func isDotSegment(s string) bool { return s == "." || strings.EqualFold(s, "%2e") }

func isDotDotSegment(s string) bool {
	switch strings.ToLower(s) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}

// sameAddr compares addresses ignoring IPv4-mapped IPv6 form.
func sameAddr(a, b netip.Addr) bool { return a.Unmap() == b.Unmap() }

// ---------------------------------------------------------------------------
// URLPattern

// urlPatternSpec is a parsed URLPattern.
type urlPatternSpec struct {
	anyScheme bool          // "*://"
	scheme    string        // lower case, when !anyScheme
	wildcard  bool          // host "*.suffix"; host.Name is the suffix
	host      netguard.Host // exact host, or the wildcard's suffix
	port      uint16        // 0: the URL's scheme default
	path      string        // glob; "" means any path
	glob      *globMatcher  // path compiled; nil when the glob does not compile
}

func (c *URLPattern) Type() ConstraintType { return TypeURLPattern }
func (c *URLPattern) Match(v any) error    { return c.match(v, wallClock()) }

// String renders the constraint, e.g. UrlPattern("https://*.example.com/api/*").
func (c *URLPattern) String() string { return fmt.Sprintf("UrlPattern(%q)", c.Pattern) }

func (c *URLPattern) spec() (*urlPatternSpec, error) {
	if c.parsed != nil {
		return c.parsed, nil
	}
	return parseURLPattern(c.Pattern)
}

func (c *URLPattern) validate() error {
	sp, err := parseURLPattern(c.Pattern)
	if err != nil {
		return err
	}
	c.parsed = sp
	return nil
}

// parseURLPattern parses "scheme://host[:port][/path]". The scheme may be
// "*"; the host may start with one "*." label; the path is a glob, and an
// empty path or "/" allows any path (as in Tenuo). Query and fragment are
// ignored, as in Tenuo.
func parseURLPattern(pat string) (*urlPatternSpec, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid UrlPattern %q: %s", pat, fmt.Sprintf(format, args...))
	}
	for i := 0; i < len(pat); i++ {
		if c := pat[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return nil, bad("control character, space or backslash")
		}
	}
	sp := &urlPatternSpec{}
	i := strings.Index(pat, "://")
	if i < 0 {
		return nil, bad("missing scheme (expected 'scheme://')")
	}
	scheme, rest := pat[:i], pat[i+3:]
	parseScheme := scheme
	if scheme == "*" {
		sp.anyScheme, parseScheme = true, "https"
	} else {
		if !validScheme(scheme) {
			return nil, bad("invalid scheme %q", scheme)
		}
		sp.scheme = strings.ToLower(scheme)
		parseScheme = sp.scheme
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.IndexByte(authority, '@') >= 0 {
		return nil, bad("userinfo is not allowed")
	}
	hostport := authority
	if strings.HasPrefix(hostport, "*.") {
		sp.wildcard = true
		hostport = hostport[2:]
	}
	// Stricter than Tenuo: a '*' anywhere else in the host (a bare "*", or
	// "a.*.example.com") makes Tenuo's pattern match nothing; it is refused.
	if strings.IndexByte(hostport, '*') >= 0 {
		return nil, bad("host wildcard must be a single leading '*.' label")
	}
	u, err := url.Parse(parseScheme + "://" + hostport)
	if err != nil || u.Host != hostport || u.User != nil {
		return nil, bad("invalid host or port %q", authority)
	}
	hostname := u.Hostname()
	if strings.IndexByte(hostname, '%') >= 0 && strings.IndexByte(hostname, ':') < 0 {
		return nil, bad("percent-encoded host")
	}
	h, err := netguard.ParseHost(hostname)
	if err != nil {
		return nil, bad("%v", err)
	}
	if sp.wildcard && h.IsIP() {
		return nil, bad("a wildcard host needs a domain name")
	}
	// Stricter than Tenuo: a host with a final dot matches only URLs with
	// one there; it is refused rather than given a second meaning.
	if strings.HasSuffix(hostname, ".") {
		return nil, bad("host with a trailing dot")
	}
	sp.host = h
	if ps := u.Port(); ps != "" {
		p, err := strconv.ParseUint(ps, 10, 16)
		if err != nil || p == 0 {
			return nil, bad("invalid port %q", ps)
		}
		// As Tenuo's URL parser does, an explicit default port is no port.
		if uint16(p) != defaultPort(parseScheme) {
			sp.port = uint16(p)
		}
	}
	if q := strings.IndexAny(tail, "?#"); q >= 0 {
		tail = tail[:q]
	}
	pu, err := url.Parse("https://h" + tail)
	if err != nil {
		return nil, bad("invalid path %q", tail)
	}
	path, err := cleanURLPath(pu.EscapedPath())
	if err != nil {
		return nil, bad("%v", err)
	}
	// Stricter than Tenuo: Tenuo rewrites every "*." in the pattern to a
	// host placeholder before parsing, so a path such as "/files/*.txt"
	// can never match there; it is refused here.
	if strings.Contains(path, "*.") {
		return nil, bad(`"*." in the path, which Tenuo can never match`)
	}
	if path != "/" {
		sp.path = path
		sp.glob, _ = compileGlob(path) // Tenuo compares a bad glob literally
	}
	return sp, nil
}

func validScheme(s string) bool {
	if s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func (c *URLPattern) match(v any, _ *evalContext) error {
	s, ok := v.(string)
	if !ok {
		return noMatch("UrlPattern needs a string URL, got %s %s", typeName(v), formatValue(v))
	}
	sp, err := c.spec()
	if err != nil {
		return err
	}
	t, err := parseTargetURL(s)
	if err != nil {
		return err
	}
	if !sp.anyScheme && t.scheme != sp.scheme {
		return noMatch("URL %q: scheme %q is not %q", s, t.scheme, sp.scheme)
	}
	// Stricter than Tenuo in one respect: the same address in IPv4-mapped
	// IPv6 form is not the same host (Tenuo's URL parser keeps it IPv6).
	if t.trailingDot || !sp.matchHost(t.host) {
		return noMatch("URL %q: host %q does not match %s", s, t.host, sp.hostString())
	}
	// Stricter than Tenuo: a pattern without a port allows only the
	// scheme's default port; Tenuo allows any port.
	want := sp.port
	if want == 0 {
		want = defaultPort(t.scheme)
	}
	if t.port != want {
		return noMatch("URL %q: port %d is not the allowed port %d", s, t.port, want)
	}
	if sp.glob != nil && len(sp.path)*len(t.path) > maxGlobWork {
		return fmt.Errorf("cannot evaluate %s on a %d-byte path: pattern × path exceeds the matching budget", c, len(t.path))
	}
	if sp.path != "" && sp.path != "/*" && !sp.matchPath(t.path) {
		return noMatch("URL %q: path %q does not match %q", s, t.path, sp.path)
	}
	return nil
}

func (sp *urlPatternSpec) hostString() string {
	if sp.wildcard {
		return "*." + sp.host.Name
	}
	return sp.host.String()
}

// matchHost follows Tenuo: "*.example.com" matches example.com itself and
// every name under it; an exact host matches itself. An IP host matches only
// the same address, in every reading of its spelling.
func (sp *urlPatternSpec) matchHost(h netguard.Host) bool {
	if sp.wildcard {
		return !h.IsIP() && (h.Name == sp.host.Name || strings.HasSuffix(h.Name, "."+sp.host.Name))
	}
	if sp.host.IsIP() != h.IsIP() {
		return false
	}
	if !h.IsIP() {
		return h.Name == sp.host.Name
	}
	for _, a := range h.Addrs() {
		if a != sp.host.Addr {
			return false
		}
	}
	return true
}

// narrowedBy follows Tenuo where Tenuo is sound: the child's scheme is the
// parent's (or the parent allows any), its host is covered by the parent's,
// its port is the same, and its path is under the parent's.
func (c *URLPattern) narrowedBy(child Constraint) error {
	ch, ok := child.(*URLPattern)
	if !ok {
		return incompatible(c, child)
	}
	p, err := c.spec()
	if err != nil {
		return err
	}
	k, err := ch.spec()
	if err != nil {
		return err
	}
	if !p.anyScheme && (k.anyScheme || k.scheme != p.scheme) {
		return fmt.Errorf("child UrlPattern %q widens the scheme of %q", ch.Pattern, c.Pattern)
	}
	if !p.coversHost(k) {
		return fmt.Errorf("child UrlPattern host %s is not covered by %s", k.hostString(), p.hostString())
	}
	if p.port != k.port {
		return fmt.Errorf("child UrlPattern %q changes the port of %q", ch.Pattern, c.Pattern)
	}
	if !urlPathCovers(p.path, k.path) {
		return fmt.Errorf("child UrlPattern path %q is not under %q", k.path, p.path)
	}
	return nil
}

func (sp *urlPatternSpec) coversHost(k *urlPatternSpec) bool {
	if !sp.wildcard {
		if k.wildcard || sp.host.IsIP() != k.host.IsIP() {
			return false
		}
		if sp.host.IsIP() {
			return sp.host.Addr == k.host.Addr && !k.host.Alt.IsValid()
		}
		return sp.host.Name == k.host.Name
	}
	if k.host.IsIP() {
		return false
	}
	return k.host.Name == sp.host.Name || strings.HasSuffix(k.host.Name, "."+sp.host.Name)
}

// urlPathCovers reports whether every path the child glob matches is matched
// by the parent glob. Stricter than Tenuo: Tenuo also lets "/api" narrow to
// "/api/*", which widens; and a parent "P/*" covers only children that start
// with P when P itself has no glob characters.
func urlPathCovers(parent, child string) bool {
	if parent == "" || parent == "*" || parent == "/*" {
		return true
	}
	if child == "" {
		return false
	}
	if parent == child {
		return true
	}
	if strings.HasSuffix(parent, "/*") {
		prefix := parent[:len(parent)-1]
		return !strings.ContainsAny(prefix, "*?[]") && strings.HasPrefix(child, prefix)
	}
	return false
}

// matchPath matches a URL path against the pattern's glob with the Rust
// glob crate's default options, as Tenuo does ('*' crosses '/'). A glob the
// crate refuses is compared literally, as Tenuo does when its glob fails to
// compile.
func (sp *urlPatternSpec) matchPath(p string) bool {
	if sp.glob == nil {
		return sp.path == p
	}
	return sp.glob.match(p)
}

// ---------------------------------------------------------------------------
// URLSafe

func (c *URLSafe) Type() ConstraintType { return TypeURLSafe }
func (c *URLSafe) Match(v any) error    { return c.match(v, wallClock()) }

// String renders the constraint like Tenuo, listing what differs from the
// defaults, e.g. UrlSafe() or UrlSafe(allow_domains=["api.github.com"]).
func (c *URLSafe) String() string {
	var opts []string
	if s := c.schemes(); !(len(s) == 2 && s[0] == "http" && s[1] == "https") {
		opts = append(opts, "schemes="+formatStrings(s))
	}
	if c.AllowDomains != nil {
		opts = append(opts, "allow_domains="+formatStrings(c.AllowDomains))
	}
	if c.DenyDomains != nil {
		opts = append(opts, "deny_domains="+formatStrings(c.DenyDomains))
	}
	if c.AllowPorts != nil {
		ps := make([]string, len(c.AllowPorts))
		for i, p := range c.AllowPorts {
			ps[i] = strconv.Itoa(int(p))
		}
		opts = append(opts, "allow_ports=["+strings.Join(ps, ", ")+"]")
	}
	for _, f := range []struct {
		name string
		on   bool
		def  bool
	}{
		{"block_private", !c.AllowPrivate, true}, {"block_loopback", !c.AllowLoopback, true},
		{"block_metadata", !c.AllowMetadata, true}, {"block_reserved", !c.AllowReserved, true},
		{"block_internal_tlds", c.BlockInternalTLDs, false},
	} {
		if f.on != f.def {
			opts = append(opts, fmt.Sprintf("%s=%t", f.name, f.on))
		}
	}
	return "UrlSafe(" + strings.Join(opts, ", ") + ")"
}

func formatStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// asciiDomainEntry returns a domain list entry ("d" or "*.d") with d in its
// IDNA ASCII form, lower case and without a trailing dot. validate made sure
// every entry has that form.
func asciiDomainEntry(e string) string {
	wild, d := "", e
	if rest, ok := strings.CutPrefix(e, "*."); ok {
		wild, d = "*.", rest
	}
	if a, err := netguard.ASCIIName(d); err == nil {
		d = a
	} else {
		d = strings.ToLower(d)
	}
	return wild + strings.TrimSuffix(d, ".")
}

// validate refuses a domain list entry with no ASCII (IDNA) form: such an
// entry could never match, and in deny_domains that would silently let the
// domain through.
func (c *URLSafe) validate() error {
	for _, list := range [][]string{c.AllowDomains, c.DenyDomains} {
		for _, e := range list {
			if _, err := netguard.ASCIIName(strings.TrimPrefix(e, "*.")); err != nil || strings.ContainsRune(e, 0) {
				return fmt.Errorf("UrlSafe domain %q: %v", e, err)
			}
		}
	}
	return nil
}

// blocked returns the host categories the flags refuse. Stricter than Tenuo:
// 0.0.0.0 and :: count as loopback as well as reserved (most stacks connect
// them to the local host); link-local 169.254/16 counts as private as well
// as metadata; CGNAT 100.64/10 is private; IPv6 multicast, documentation and
// other special ranges are reserved; addresses embedded in NAT64, 6to4,
// Teredo and IPv4-compatible IPv6 are classified too; every name under
// .localhost is loopback.
func (c *URLSafe) blocked() netguard.Class {
	var b netguard.Class
	if !c.AllowLoopback {
		b |= netguard.Loopback | netguard.Unspecified
	}
	if !c.AllowPrivate {
		b |= netguard.Private | netguard.LinkLocal
	}
	if !c.AllowMetadata {
		b |= netguard.Metadata
	}
	if !c.AllowReserved {
		b |= netguard.Reserved | netguard.Multicast | netguard.Broadcast | netguard.Unspecified
	}
	if c.BlockInternalTLDs {
		b |= netguard.InternalName
	}
	return b
}

func (c *URLSafe) match(v any, _ *evalContext) error {
	s, ok := v.(string)
	if !ok {
		return noMatch("UrlSafe needs a string URL, got %s %s", typeName(v), formatValue(v))
	}
	t, err := parseTargetURL(s)
	if err != nil {
		return err
	}
	schemeOK := false
	for _, sc := range c.schemes() {
		if strings.EqualFold(sc, t.scheme) {
			schemeOK = true
			break
		}
	}
	if !schemeOK {
		return noMatch("URL %q: scheme %q is not allowed", s, t.scheme)
	}
	// Stricter than Tenuo: with a port allow list, a URL whose port is
	// unknown (no port and a scheme without a default) is refused.
	if c.AllowPorts != nil {
		portOK := false
		for _, p := range c.AllowPorts {
			if p == t.port && t.port != 0 {
				portOK = true
				break
			}
		}
		if !portOK {
			return noMatch("URL %q: port %d is not allowed", s, t.port)
		}
	}
	var cls netguard.Class
	if t.host.IsIP() {
		for _, a := range t.host.Addrs() {
			cls |= netguard.Classify(a)
		}
	} else {
		cls = netguard.ClassifyName(t.host.Name)
	}
	if hit := cls & c.blocked(); hit != 0 {
		return noMatch("URL %q: host %q is %s", s, t.host, hit)
	}
	// Stricter than Tenuo: the allow list applies to IP hosts too (an IP
	// must be listed literally); Tenuo lets any unblocked IP through.
	// Stricter than Tenuo (which compares strings) in the other direction
	// too: "example.com." does not match an allow entry "example.com".
	if c.AllowDomains != nil && (t.trailingDot || !domainListMatches(c.AllowDomains, t.host, true)) {
		return noMatch("URL %q: host %q is not in allow_domains", s, t.host)
	}
	if c.DenyDomains != nil && domainListMatches(c.DenyDomains, t.host, false) {
		return noMatch("URL %q: host %q is in deny_domains", s, t.host)
	}
	return nil
}

// domainListMatches reports whether h matches an entry of list: "*.d" matches
// d and every name under it (as in Tenuo), another entry matches the same
// name (case and a trailing dot ignored) or, for an IP host, the same
// address. For an ambiguous IP spelling, every reading must match when all
// is set (allow lists) and any reading when it is not (deny lists).
func domainListMatches(list []string, h netguard.Host, all bool) bool {
	for _, e := range list {
		e = asciiDomainEntry(e)
		if suffix, ok := strings.CutPrefix(e, "*."); ok {
			if !h.IsIP() && (h.Name == suffix || strings.HasSuffix(h.Name, "."+suffix)) {
				return true
			}
			continue
		}
		if !h.IsIP() {
			if h.Name == e {
				return true
			}
			continue
		}
		eh, err := netguard.ParseHost(e)
		if err != nil || !eh.IsIP() || eh.Alt.IsValid() {
			continue
		}
		n := 0
		for _, a := range h.Addrs() {
			if sameAddr(a, eh.Addr) {
				n++
			}
		}
		if n > 0 && (!all || n == len(h.Addrs())) {
			return true
		}
	}
	return false
}

// narrowedBy follows Tenuo: schemes ⊆, no block flag turned off, a port
// allow list kept and ⊆, a domain allow list kept and each child entry
// covered by a parent entry (equal, or under a parent "*.d"), and every
// parent deny entry kept.
func (c *URLSafe) narrowedBy(child Constraint) error {
	ch, ok := child.(*URLSafe)
	if !ok {
		return incompatible(c, child)
	}
	for _, cs := range ch.schemes() {
		if !containsFold(c.schemes(), cs) {
			return fmt.Errorf("child UrlSafe scheme %q is not in the parent's schemes", cs)
		}
	}
	for _, f := range []struct {
		name          string
		parent, child bool
	}{
		{"block_private", !c.AllowPrivate, !ch.AllowPrivate},
		{"block_loopback", !c.AllowLoopback, !ch.AllowLoopback},
		{"block_metadata", !c.AllowMetadata, !ch.AllowMetadata},
		{"block_reserved", !c.AllowReserved, !ch.AllowReserved},
		{"block_internal_tlds", c.BlockInternalTLDs, ch.BlockInternalTLDs},
	} {
		if f.parent && !f.child {
			return fmt.Errorf("child UrlSafe cannot disable %s", f.name)
		}
	}
	if c.AllowPorts != nil {
		if ch.AllowPorts == nil {
			return errors.New("child UrlSafe must keep the parent's port allow list")
		}
		for _, cp := range ch.AllowPorts {
			found := false
			for _, pp := range c.AllowPorts {
				found = found || pp == cp
			}
			if !found {
				return fmt.Errorf("child UrlSafe port %d is not in the parent's allow_ports", cp)
			}
		}
	}
	if c.AllowDomains != nil {
		if ch.AllowDomains == nil {
			return errors.New("child UrlSafe must keep the parent's domain allow list")
		}
		for _, cd := range ch.AllowDomains {
			if !domainCovered(c.AllowDomains, cd) {
				return fmt.Errorf("child UrlSafe domain %q is not covered by the parent's allow_domains", cd)
			}
		}
	}
	if c.DenyDomains != nil {
		if ch.DenyDomains == nil {
			return errors.New("child UrlSafe must keep the parent's deny_domains")
		}
		for _, pd := range c.DenyDomains {
			if !containsFold(ch.DenyDomains, pd) {
				return fmt.Errorf("child UrlSafe drops denied domain %q", pd)
			}
		}
	}
	return nil
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// domainCovered reports whether a child allow entry is covered by a parent
// entry, as Tenuo decides: equal ignoring case, or the parent is "*.d" and
// the child ends with ".d" ("x.d" or "*.x.d").
func domainCovered(parents []string, child string) bool {
	cd := asciiDomainEntry(child)
	for _, pd := range parents {
		pd = asciiDomainEntry(pd)
		if pd == cd {
			return true
		}
		if strings.HasPrefix(pd, "*.") && strings.HasSuffix(cd, pd[1:]) {
			return true
		}
	}
	return false
}
