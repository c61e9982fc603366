package toolmap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
)

// MaxConfigSize is the largest configuration file accepted, in bytes.
const MaxConfigSize = 4 << 20

// maxConfigErrors bounds how many problems one Parse reports.
const maxConfigErrors = 20

// maxClockTolerance bounds settings.clock_tolerance_secs: a larger window
// would let expired warrants and stale proofs through for longer.
const maxClockTolerance = time.Hour

// Defaults Tenuo's gateway uses for its settings; [Parse] fills them in when
// the file does not set them.
const (
	DefaultWarrantHeader  = "X-Tenuo-Warrant"
	DefaultPoPHeader      = "X-Tenuo-PoP"
	DefaultApprovalHeader = "X-Tenuo-Approvals"
	DefaultClockTolerance = 30 * time.Second
)

// Config is a loaded, validated configuration. Build it with [Load] or
// [Parse]; a nil *Config is valid and maps every call to itself (see
// [Config.MapCall]). A Config is read-only after loading and safe for
// concurrent use.
type Config struct {
	// Version is the file's `version`; only "1" is accepted.
	Version string

	// TrustedIssuers holds the hex-encoded Ed25519 public keys of
	// settings.trusted_issuers (Tenuo's MCP spelling) followed by those of
	// settings.trusted_roots (its gateway spelling), as written. Each was
	// checked to be 64 hex digits; the caller decodes them. Empty when the
	// file lists none.
	TrustedIssuers []string

	// WarrantHeader, PoPHeader and ApprovalHeader name the HTTP headers that
	// carry the warrant, the proof of possession and the approvals
	// (settings.warrant_header, pop_header, approval_header). Unset, they are
	// Tenuo's defaults, DefaultWarrantHeader and so on. MCP calls ignore them.
	WarrantHeader  string
	PoPHeader      string
	ApprovalHeader string

	// ClockTolerance is settings.clock_tolerance_secs, at most an hour;
	// DefaultClockTolerance when unset.
	ClockTolerance time.Duration

	// DebugMode is settings.debug_mode: Tenuo's gateway then returns
	// detailed denial reasons to the caller. False when unset.
	DebugMode bool

	file   string
	tools  map[string]*tool // by MCP tool name (the key under `tools`)
	routes []*route
}

// tool is one entry under `tools`.
type tool struct {
	name    string  // the key: the MCP tool name
	warrant string  // the warrant's tool name: `tool:` if given, else the key
	rules   []*rule // sorted by field
}

// Load reads and validates the configuration file at path; see [Parse].
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("toolmap: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("toolmap: %w", err)
	}
	return Parse(data, path)
}

// Parse validates a YAML configuration in the shape of Tenuo's
// mcp-config.yaml (and of its gateway.yaml, whose `routes` drive
// [Config.MapHTTP]). filename is used only in error messages.
//
// Validation is complete and strict, because a configuration that is read
// loosely fails open: unknown keys, duplicate keys, unknown `from` sources
// and types, values of the wrong YAML type, bad paths, bad keys, defaults
// that break their own rule and routes naming undefined tools are all
// errors, reported as [*ConfigError] values with file:line:column. YAML
// aliases, merge keys and multiple documents are refused.
func Parse(data []byte, filename string) (*Config, error) {
	p := &parser{file: filename}
	if len(data) > MaxConfigSize {
		p.errorf(nil, "file is larger than %d bytes", MaxConfigSize)
		return nil, p.err()
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errorf(nil, "empty configuration")
		} else {
			p.yamlError(err)
		}
		return nil, p.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			p.yamlError(err)
		} else {
			p.errorf(&extra, "more than one YAML document")
		}
		return nil, p.err()
	}
	if len(doc.Content) != 1 {
		p.errorf(&doc, "empty configuration")
		return nil, p.err()
	}
	root := doc.Content[0]
	if !p.noAliases(root) {
		return nil, p.err()
	}
	c := p.config(root)
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// parser walks the YAML tree, collecting errors.
type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	if len(p.errs) >= maxConfigErrors {
		return
	}
	e := &ConfigError{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	p.errs = append(p.errs, e)
}

func (p *parser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i].(*ConfigError), p.errs[j].(*ConfigError)
		return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
	})
	if len(p.errs) == 1 {
		return p.errs[0]
	}
	return errors.Join(p.errs...)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into a ConfigError with its line.
func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errs = append(p.errs, &ConfigError{File: p.file, Line: line, Msg: "YAML syntax: " + m[2]})
		return
	}
	p.errs = append(p.errs, &ConfigError{File: p.file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

// noAliases refuses aliases anywhere: they make the tree a graph (and a
// "billion laughs" bomb) for no benefit in a file this small.
func (p *parser) noAliases(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.errorf(n, "YAML aliases (*%s) are not supported", n.Value)
		return false
	}
	ok := true
	for _, c := range n.Content {
		ok = p.noAliases(c) && ok
	}
	return ok
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// mapping returns n's key/value pairs in file order. A null (an empty
// value, as in `constraints:`) is an empty mapping. Keys must be plain
// strings and unique.
func (p *parser) mapping(n *yaml.Node, what string) ([]pair, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return nil, false
	}
	pairs := make([]pair, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			p.errorf(k, "YAML merge keys (<<) are not supported")
			ok = false
			continue
		}
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			p.errorf(k, "keys of %s must be strings, not %s", what, kindName(k))
			ok = false
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, prev.Line)
			ok = false
			continue
		}
		seen[k.Value] = k
		pairs = append(pairs, pair{key: k.Value, k: k, v: v})
	}
	return pairs, ok
}

// fields is mapping for a struct-like mapping: every key must be one of
// known. It returns the pairs by key.
func (p *parser) fields(n *yaml.Node, what string, known ...string) map[string]pair {
	pairs, _ := p.mapping(n, what)
	out := make(map[string]pair, len(pairs))
	for _, pr := range pairs {
		if !slices.Contains(known, pr.key) {
			p.errorf(pr.k, "unknown key %q in %s (known keys: %s)", pr.key, what, strings.Join(known, ", "))
			continue
		}
		out[pr.key] = pr
	}
	return out
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, "%s must be a string, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		p.errorf(n, "%s must be true or false, not %s", what, kindName(n))
		return false, false
	}
	return b, true
}

// strings reads a sequence of strings; a single string is a list of one
// when single is true.
func (p *parser) strList(n *yaml.Node, what string, single bool) ([]pair, bool) {
	if single && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		return []pair{{key: n.Value, v: n}}, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s must be a list of strings, not %s", what, kindName(n))
		return nil, false
	}
	out := make([]pair, 0, len(n.Content))
	ok := true
	for _, e := range n.Content {
		s, good := p.str(e, "each entry of "+what)
		if good {
			out = append(out, pair{key: s, v: e})
		}
		ok = ok && good
	}
	return out, ok
}

// kindName describes a node for messages: "a list", "an integer (5)".
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %q", n.Value)
		case "!!int":
			return fmt.Sprintf("the integer %s", n.Value)
		case "!!float":
			return fmt.Sprintf("the number %s", n.Value)
		case "!!bool":
			return fmt.Sprintf("the boolean %s", n.Value)
		}
		return fmt.Sprintf("%s %q", n.ShortTag(), n.Value)
	}
	return "an empty node"
}

// value converts a YAML value (a default, an allowed value) into the value
// model, with numbers normalised as arguments are.
func (p *parser) value(n *yaml.Node, what string, depth int) (any, bool) {
	// Arguments' nesting bound (internal/value): a field value is at depth
	// 1, as a top-level argument is.
	if limit := value.DefaultLimits.MaxDepth; depth > limit {
		p.errorf(n, "%s is nested deeper than %d", what, limit)
		return nil, false
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for _, e := range n.Content {
			v, good := p.value(e, what, depth+1)
			out = append(out, v)
			ok = ok && good
		}
		return out, ok
	case yaml.MappingNode:
		pairs, ok := p.mapping(n, what)
		out := make(map[string]any, len(pairs))
		for _, pr := range pairs {
			v, good := p.value(pr.v, what, depth+1)
			out[pr.key] = v
			ok = ok && good
		}
		return out, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!str":
			return n.Value, true
		case "!!bool":
			return p.boolean(n, what)
		case "!!int":
			var i int64
			if err := n.Decode(&i); err != nil {
				p.errorf(n, "%s: integer %s does not fit in 64 bits", what, n.Value)
				return nil, false
			}
			return i, true
		case "!!float":
			if isIntegerText(n.Value) {
				// YAML resolves an integer too big for int64 as a float;
				// taking it would silently change the value.
				p.errorf(n, "%s: integer %s does not fit in 64 bits", what, n.Value)
				return nil, false
			}
			var f float64
			if err := n.Decode(&f); err != nil {
				p.errorf(n, "%s: bad number %s", what, n.Value)
				return nil, false
			}
			v, ok := value.FromFloat(f)
			if !ok {
				p.errorf(n, "%s: number %s is not finite", what, n.Value)
				return nil, false
			}
			return v, true
		}
	}
	p.errorf(n, "%s: unsupported YAML value %s", what, kindName(n))
	return nil, false
}

func (p *parser) config(root *yaml.Node) *Config {
	c := &Config{
		file:           p.file,
		WarrantHeader:  DefaultWarrantHeader,
		PoPHeader:      DefaultPoPHeader,
		ApprovalHeader: DefaultApprovalHeader,
		ClockTolerance: DefaultClockTolerance,
		tools:          map[string]*tool{},
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "the configuration must be a mapping with version, settings and tools, not %s", kindName(root))
		return c
	}
	top := p.fields(root, "the configuration", "version", "settings", "tools", "routes")

	if pr, ok := top["version"]; !ok {
		p.errorf(root, `missing key "version" (want version: "1")`)
	} else if v := pr.v; v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!str" && v.ShortTag() != "!!int") || v.Value != "1" {
		p.errorf(v, `unsupported version %s (want "1")`, kindName(v))
	} else {
		c.Version = v.Value
	}
	if pr, ok := top["settings"]; ok {
		p.settings(c, pr.v)
	}
	if pr, ok := top["tools"]; !ok {
		p.errorf(root, `missing key "tools" (a mapping from MCP tool names to their constraints)`)
	} else {
		p.tools(c, pr.v)
	}
	if pr, ok := top["routes"]; ok {
		p.routes(c, pr.v)
	}
	return c
}

func (p *parser) settings(c *Config, n *yaml.Node) {
	s := p.fields(n, "settings", "trusted_issuers", "trusted_roots", "warrant_header",
		"pop_header", "approval_header", "clock_tolerance_secs", "debug_mode")
	for _, key := range []string{"trusted_issuers", "trusted_roots"} {
		pr, ok := s[key]
		if !ok {
			continue
		}
		keys, _ := p.strList(pr.v, "settings."+key, false)
		for _, k := range keys {
			if !isHexKey(k.key) {
				// Not echoed: a secret key pasted here by mistake would be
				// printed. The error's position points at it.
				p.errorf(k.v, "settings.%s: entry is not a public key of 64 hex digits (a secret key here would be a mistake: give the public key keygen printed)", key)
				continue
			}
			c.TrustedIssuers = append(c.TrustedIssuers, k.key)
		}
	}
	for key, dst := range map[string]*string{
		"warrant_header":  &c.WarrantHeader,
		"pop_header":      &c.PoPHeader,
		"approval_header": &c.ApprovalHeader,
	} {
		pr, ok := s[key]
		if !ok {
			continue
		}
		if h, ok := p.str(pr.v, "settings."+key); ok {
			if !isToken(h) {
				p.errorf(pr.v, "settings.%s: %q is not a valid HTTP header name", key, h)
			} else {
				*dst = h
			}
		}
	}
	if pr, ok := s["clock_tolerance_secs"]; ok {
		var secs int64
		if pr.v.Kind != yaml.ScalarNode || pr.v.ShortTag() != "!!int" || pr.v.Decode(&secs) != nil ||
			secs < 0 || time.Duration(secs)*time.Second > maxClockTolerance {
			p.errorf(pr.v, "settings.clock_tolerance_secs must be an integer from 0 to %d, not %s",
				int(maxClockTolerance/time.Second), kindName(pr.v))
		} else {
			c.ClockTolerance = time.Duration(secs) * time.Second
		}
	}
	if pr, ok := s["debug_mode"]; ok {
		c.DebugMode, _ = p.boolean(pr.v, "settings.debug_mode")
	}
}

func (p *parser) tools(c *Config, n *yaml.Node) {
	pairs, _ := p.mapping(n, "tools")
	for _, pr := range pairs {
		if pr.key == "" {
			p.errorf(pr.k, "empty tool name")
			continue
		}
		what := "tools." + pr.key
		f := p.fields(pr.v, what, "description", "constraints", "tool")
		t := &tool{name: pr.key, warrant: pr.key}
		if d, ok := f["description"]; ok {
			p.str(d.v, what+".description")
		}
		if w, ok := f["tool"]; ok {
			if s, ok := p.str(w.v, what+".tool"); ok {
				if s == "" {
					p.errorf(w.v, "%s.tool: empty warrant tool name", what)
				}
				t.warrant = s
			}
		}
		if cs, ok := f["constraints"]; ok {
			t.rules = p.rules(cs.v, what+".constraints")
		}
		c.tools[pr.key] = t
	}
}

// rules reads a `constraints` mapping, returning the rules sorted by field.
func (p *parser) rules(n *yaml.Node, what string) []*rule {
	pairs, _ := p.mapping(n, what)
	var out []*rule
	for _, pr := range pairs {
		if pr.key == "" {
			p.errorf(pr.k, "empty field name in %s", what)
			continue
		}
		if r := p.rule(pr, what+"."+pr.key); r != nil {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].field < out[j].field })
	return out
}

func (p *parser) rule(pr pair, what string) *rule {
	n := pr.v
	f := p.fields(n, what, "from", "path", "description", "required", "default", "type", "value_type", "allowed_values")
	r := &rule{field: pr.key, from: srcBody, line: pr.k.Line, column: pr.k.Column}
	nerr := len(p.errs)

	if x, ok := f["from"]; ok {
		if s, ok := p.str(x.v, what+".from"); ok {
			if src, ok := sourceNames[s]; ok {
				r.from = src
			} else {
				p.errorf(x.v, "%s.from: unknown source %q (want body, path, query, header or literal)", what, s)
			}
		}
	}
	if x, ok := f["path"]; ok {
		if s, ok := p.str(x.v, what+".path"); ok {
			r.path = s
			p.rulePath(r, x.v, what)
		}
	} else if r.from != srcLiteral {
		p.errorf(n, "%s: missing key \"path\" (where the value is found)", what)
	}
	if x, ok := f["description"]; ok {
		p.str(x.v, what+".description")
	}
	if x, ok := f["required"]; ok {
		r.required, _ = p.boolean(x.v, what+".required")
	}

	typeKey := "type"
	if _, ok := f["value_type"]; ok {
		if _, both := f["type"]; both {
			p.errorf(f["value_type"].k, "%s: type and value_type are the same setting; give one", what)
		}
		typeKey = "value_type"
	}
	if x, ok := f[typeKey]; ok {
		if s, ok := p.str(x.v, what+"."+typeKey); ok {
			if t, ok := typeNames[s]; ok {
				r.typ = t
			} else {
				p.errorf(x.v, "%s.%s: unknown type %q (want string, integer, number, boolean, array or object)", what, typeKey, s)
			}
		}
		if isStringSource(r.from) && r.typ != typeAny && r.typ != typeString {
			p.errorf(x.v, "%s.%s: a %s value is always a string, never %s", what, typeKey, r.from, r.typ)
		}
	}
	if x, ok := f["allowed_values"]; ok {
		p.allowed(r, x.v, what)
	}
	if x, ok := f["default"]; ok {
		if v, ok := p.value(x.v, what+".default", 1); ok {
			r.def, r.hasDef = v, true
			if err := r.check(v); err != nil {
				p.errorf(x.v, "%s.default does not satisfy the rule: %v", what, err)
			}
		}
		if r.required {
			p.errorf(x.k, "%s: a required field never uses its default; drop one of them", what)
		}
	} else if r.from == srcLiteral {
		p.errorf(n, "%s: a literal needs a default (its value)", what)
	}
	if len(p.errs) > nerr {
		return nil
	}
	return r
}

// rulePath checks the path for the rule's source.
func (p *parser) rulePath(r *rule, n *yaml.Node, what string) {
	switch r.from {
	case srcBody:
		segs, wild, err := compilePath(r.path)
		if err != nil {
			p.errorf(n, "%s.path: %v", what, err)
			return
		}
		r.segs, r.wildcard = segs, wild
	case srcHeader:
		if !isToken(r.path) {
			p.errorf(n, "%s.path: %q is not a valid HTTP header name", what, r.path)
		}
	case srcQuery, srcPath:
		if r.path == "" {
			p.errorf(n, "%s.path: empty %s parameter name", what, r.from)
		}
	}
}

func (p *parser) allowed(r *rule, n *yaml.Node, what string) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s.allowed_values must be a list, not %s", what, kindName(n))
		return
	}
	if len(n.Content) == 0 {
		p.errorf(n, "%s.allowed_values is empty: no value could pass", what)
		return
	}
	if r.typ == typeArray || r.typ == typeObject {
		p.errorf(n, "%s.allowed_values lists scalars; a value of type %s never matches one", what, r.typ)
		return
	}
	r.allowed = make([]any, 0, len(n.Content))
	for _, e := range n.Content {
		v, ok := p.value(e, what+".allowed_values", 1)
		if !ok {
			continue
		}
		switch {
		case !isScalar(v):
			p.errorf(e, "%s.allowed_values: entries must be strings, numbers or booleans, not %s", what, kindName(e))
		case r.typ != typeAny && !r.typ.accepts(v):
			p.errorf(e, "%s.allowed_values: %s is not of the declared type %s", what, kindName(e), r.typ)
		case isStringSource(r.from) && !isString(v):
			p.errorf(e, "%s.allowed_values: a %s value is a string and never equals %s", what, r.from, kindName(e))
		default:
			r.allowed = append(r.allowed, v)
		}
	}
}

// isScalar reports whether v is a string, number or boolean.
func isScalar(v any) bool {
	switch v.(type) {
	case string, int64, float64, bool:
		return true
	}
	return false
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func isIntegerText(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return s != "" && strings.Trim(s, "0123456789_") == ""
}

func isStringSource(s source) bool {
	return s == srcPath || s == srcQuery || s == srcHeader
}

func isHexKey(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the syntax
// of header names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// CheckMCP reports the rules an MCP call cannot satisfy: those reading
// `from: path`, `query` or `header`, which only an HTTP request has, in
// tools that no route uses. Tenuo's validate() warns about these; an MCP
// front end should call CheckMCP at start and refuse to run on an error,
// since such a field is missing from every call. A nil Config has none.
func (c *Config) CheckMCP() error {
	if c == nil {
		return nil
	}
	routed := map[*tool]bool{}
	for _, r := range c.routes {
		routed[r.tool] = true
	}
	p := &parser{file: c.file}
	names := make([]string, 0, len(c.tools))
	for name := range c.tools {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := c.tools[name]
		if routed[t] {
			continue
		}
		for _, r := range t.rules {
			if isStringSource(r.from) {
				p.errorf(&yaml.Node{Line: r.line, Column: r.column},
					"tools.%s.constraints.%s reads the %s, which an MCP call does not carry (use from: body)", name, r.field, r.from)
			}
		}
	}
	return p.err()
}
