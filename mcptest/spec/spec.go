// Package spec reads and runs `tenuo-mcp test` specs: declarative YAML files
// of keys, warrants, an optional tool map, the server under test and cases,
// each a tool call with the warrant it uses and the outcome expected. The
// runner starts the real server behind the real relay and enforcement point
// (package mcptest), runs the cases in order and reports each; it can also
// record and compare a snapshot of the server's tool definitions (package
// toolpin).
//
// # The spec
//
//	server:
//	  command: [npx, -y, "@modelcontextprotocol/server-filesystem", /data]
//	  env: {LOG_LEVEL: warn}        # added to the proxy's minimal environment
//	  # or url: https://mcp.example.com/mcp, transport: sse, headers: {…}
//	keys: [root, agent]             # generated per run; or name: {file: PATH} / {env: VAR}
//	trusted_roots: [root]           # default: the issuers of minted warrants
//	tool_map: mcp-config.yaml       # optional, relative to the spec
//	warrants:
//	  reader:
//	    issuer: root                # minted by root …
//	    holder: agent
//	    ttl: 10m
//	    tools:
//	      read_text_file: {path: "subpath:/data"}   # the CLI's -c SPEC syntax
//	      list_directory:
//	        path: {type: subpath, root: /data}      # or the JSON form
//	    allow_unknown: [list_directory]
//	  narrow:
//	    from: reader                # … or attenuated from another warrant
//	    holder: sub
//	    tools: {read_text_file: {path: "subpath:/data/reports"}}
//	cases:
//	  - name: reads inside /data
//	    call: read_text_file
//	    args: {path: /data/a.txt}
//	    warrant: reader             # presented in _meta.tenuo with a PoP
//	    expect: allow
//	    text_contains: hello        # or a list; also is_error, json: {PATH: VALUE}
//	  - name: a held warrant outside /data
//	    call: read_text_file
//	    args: {path: /etc/passwd}
//	    warrant: reader
//	    held: true                  # the proxy holds it (--warrant/--key)
//	    expect: deny
//	    code: constraint-violation  # Tenuo's name or number
//
// ${SPEC_DIR} in any value is the spec's own directory (absolute). Every key
// is checked: an unknown one, a missing one or a wrong type is an [*Error]
// naming the file and line.
package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// MaxSpecSize bounds a spec file.
const MaxSpecSize = 4 << 20

// Error is a spec that cannot be run, with where.
type Error struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Spec is a parsed spec file.
type Spec struct {
	File string // as given
	Dir  string // the spec's directory, for relative paths

	Server       Server
	Keys         []*Key
	TrustedRoots []string // key names; nil means the issuers of minted warrants
	ToolMap      string   // path of a tool map, resolved against Dir; "" for none
	Warrants     []*Warrant
	Cases        []*Case
}

// Server is the server under test.
type Server struct {
	Command []string
	Env     map[string]string
	PassEnv []string
	Dir     string // resolved against the spec's directory
	// URL is an HTTP server's MCP endpoint, instead of Command; SSE says it
	// is a legacy SSE one; Headers go with every request to it.
	URL     string
	SSE     bool
	Headers map[string]string
	Line    int
}

// Key is a named signing key: generated per run, or read from a file or an
// environment variable.
type Key struct {
	Name      string
	File, Env string
	Line      int
}

// Warrant is a named warrant: minted by Issuer, or attenuated From another.
type Warrant struct {
	Name         string
	Issuer, From string
	Holder       string
	TTL          time.Duration
	MaxDepth     *uint64
	Tools        map[string]map[string]authz.Constraint // nil: the parent's tools (attenuation)
	ToolOrder    []string
	AllowUnknown []string
	Line         int
}

// Case is one call and its expected outcome.
type Case struct {
	Name    string
	Tool    string
	Args    json.RawMessage // nil: no arguments
	Warrant string          // "" for none
	Held    bool
	Expect  string // "allow" or "deny"

	Contains []string
	IsError  *bool
	JSON     []JSONExpect

	Code     int    // 0: any
	CodeName string // "": any
	Line     int
}

// JSONExpect is one path of the result and the value it must equal.
type JSONExpect struct {
	Path  string
	Value json.RawMessage
	Line  int
}

// ConstraintParser reads the CLI's SPEC syntax (exact:V, subpath:ROOT, …).
type ConstraintParser func(spec string) (authz.Constraint, error)

// Load reads and checks a spec file. parse reads constraints written as
// strings; when nil, only the JSON form (a mapping) is accepted.
func Load(path string, parse ConstraintParser) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	buf := make([]byte, MaxSpecSize+1)
	n, _ := readFull(f, buf)
	if n > MaxSpecSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes", MaxSpecSize)}
	}
	return Parse(buf[:n], path, parse)
}

func readFull(f *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// parser holds what Parse needs while it walks the document.
type parser struct {
	file  string
	parse ConstraintParser
}

func (p *parser) errf(n *yaml.Node, format string, a ...any) error {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, a...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

// Parse reads a spec from data; file names it in errors and its directory
// anchors relative paths.
func Parse(data []byte, file string, parse ConstraintParser) (s *Spec, err error) {
	p := &parser{file: file, parse: parse}
	defer func() {
		if r := recover(); r != nil { // the YAML decoder on hostile input
			s, err = nil, &Error{File: file, Msg: fmt.Sprintf("unreadable YAML (%v)", r)}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, p.yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{File: file, Msg: "empty spec"}
	}
	s = &Spec{File: file, Dir: filepath.Dir(file)}
	if abs, err := filepath.Abs(s.Dir); err == nil {
		expandSpecDir(doc.Content[0], abs, 0)
	}
	top, err := p.mapping(doc.Content[0], "the spec", []string{"server", "cases"}, "server", "keys", "trusted_roots", "tool_map", "warrants", "cases")
	if err != nil {
		return nil, err
	}
	if err := p.server(top["server"], s); err != nil {
		return nil, err
	}
	if n := top["keys"]; n != nil {
		if s.Keys, err = p.keys(n); err != nil {
			return nil, err
		}
	}
	keyNames := map[string]bool{}
	for _, k := range s.Keys {
		keyNames[k.Name] = true
	}
	if n := top["trusted_roots"]; n != nil {
		if s.TrustedRoots, err = p.strings(n, "trusted_roots"); err != nil {
			return nil, err
		}
		for i, r := range s.TrustedRoots {
			if !keyNames[r] {
				return nil, p.errf(n.Content[i], "trusted_roots: %q is not a key declared under keys", r)
			}
		}
	}
	if n := top["tool_map"]; n != nil {
		if s.ToolMap, err = p.str(n, "tool_map"); err != nil {
			return nil, err
		}
		s.ToolMap = s.resolve(s.ToolMap)
	}
	warrants := map[string]*Warrant{}
	if n := top["warrants"]; n != nil {
		if n.Kind != yaml.MappingNode {
			return nil, p.errf(n, "warrants must be a mapping of names to warrants")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			if warrants[name] != nil {
				return nil, p.errf(n.Content[i], "warrant %q is declared twice", name)
			}
			w, err := p.warrant(name, n.Content[i+1], keyNames, warrants)
			if err != nil {
				return nil, err
			}
			warrants[name] = w
			s.Warrants = append(s.Warrants, w)
		}
	}
	cases := top["cases"]
	if cases.Kind != yaml.SequenceNode || len(cases.Content) == 0 {
		return nil, p.errf(cases, "cases must be a non-empty list")
	}
	names := map[string]bool{}
	for _, cn := range cases.Content {
		c, err := p.testCase(cn, warrants)
		if err != nil {
			return nil, err
		}
		if names[c.Name] {
			return nil, p.errf(cn, "case %q is declared twice", c.Name)
		}
		names[c.Name] = true
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}

// expandSpecDir replaces ${SPEC_DIR} in every scalar with the spec's
// absolute directory, so that a spec can name files beside it in a server's
// arguments, a call's arguments and constraints.
func expandSpecDir(n *yaml.Node, dir string, depth int) {
	if depth > 1000 {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${SPEC_DIR}") {
		n.Value = strings.ReplaceAll(n.Value, "${SPEC_DIR}", dir)
		return
	}
	for _, c := range n.Content {
		expandSpecDir(c, dir, depth+1)
	}
}

func (s *Spec) resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.Dir, path)
}

func (p *parser) yamlError(err error) error {
	msg := err.Error()
	// "yaml: line 7: mapping values are not allowed in this context"
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return &Error{File: p.file, Line: line, Msg: tail}
			}
		}
	}
	return &Error{File: p.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// mapping checks that n is a mapping with only known keys, each once, and
// the required ones present.
func (p *parser) mapping(n *yaml.Node, what string, required []string, known ...string) (map[string]*yaml.Node, error) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, p.errf(n, "%s must be a mapping", what)
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !contains(known, k.Value) {
			return nil, p.errf(k, "%s: unknown key %q (known: %s)", what, k.Value, strings.Join(known, ", "))
		}
		if out[k.Value] != nil {
			return nil, p.errf(k, "%s: key %q appears twice", what, k.Value)
		}
		out[k.Value] = n.Content[i+1]
	}
	for _, r := range required {
		if out[r] == nil {
			return nil, p.errf(n, "%s: %q is required", what, r)
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s must be a string", what)
	}
	return n.Value, nil
}

func (p *parser) nonEmpty(n *yaml.Node, what string) (string, error) {
	s, err := p.str(n, what)
	if err == nil && s == "" {
		err = p.errf(n, "%s must not be empty", what)
	}
	return s, err
}

func (p *parser) strings(n *yaml.Node, what string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, p.errf(n, "%s must be a list of strings", what)
	}
	out := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		s, err := p.nonEmpty(e, what+" entry")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, error) {
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		return false, p.errf(n, "%s must be true or false", what)
	}
	return b, nil
}

func (p *parser) server(n *yaml.Node, s *Spec) error {
	m, err := p.mapping(n, "server", nil, "command", "env", "pass_env", "dir", "url", "transport", "headers")
	if err != nil {
		return err
	}
	s.Server.Line = n.Line
	if (m["command"] == nil) == (m["url"] == nil) {
		return p.errf(n, "server: give command (a stdio server) or url (an HTTP one), exactly one")
	}
	if u := m["url"]; u != nil {
		if s.Server.URL, err = p.nonEmpty(u, "server.url"); err != nil {
			return err
		}
		if !strings.HasPrefix(s.Server.URL, "http://") && !strings.HasPrefix(s.Server.URL, "https://") {
			return p.errf(u, "server.url must be an http:// or https:// URL")
		}
		for _, k := range []string{"env", "pass_env", "dir"} {
			if m[k] != nil {
				return p.errf(m[k], "server.%s goes with command, not url", k)
			}
		}
		if t := m["transport"]; t != nil {
			v, err := p.str(t, "server.transport")
			if err != nil || (v != "streamable" && v != "sse") {
				return p.errf(t, "server.transport must be streamable or sse")
			}
			s.Server.SSE = v == "sse"
		}
		if h := m["headers"]; h != nil {
			if h.Kind != yaml.MappingNode {
				return p.errf(h, "server.headers must be a mapping of header names to values")
			}
			s.Server.Headers = map[string]string{}
			for i := 0; i+1 < len(h.Content); i += 2 {
				v, err := p.str(h.Content[i+1], "server.headers."+h.Content[i].Value)
				if err != nil {
					return err
				}
				s.Server.Headers[h.Content[i].Value] = v
			}
		}
		return nil
	}
	for _, k := range []string{"transport", "headers"} {
		if m[k] != nil {
			return p.errf(m[k], "server.%s goes with url, not command", k)
		}
	}
	if s.Server.Command, err = p.strings(m["command"], "server.command"); err != nil {
		return err
	}
	if len(s.Server.Command) == 0 {
		return p.errf(m["command"], "server.command must not be empty")
	}
	if e := m["env"]; e != nil {
		if e.Kind != yaml.MappingNode {
			return p.errf(e, "server.env must be a mapping of names to values")
		}
		s.Server.Env = map[string]string{}
		for i := 0; i+1 < len(e.Content); i += 2 {
			v, err := p.str(e.Content[i+1], "server.env."+e.Content[i].Value)
			if err != nil {
				return err
			}
			s.Server.Env[e.Content[i].Value] = v
		}
	}
	if e := m["pass_env"]; e != nil {
		if s.Server.PassEnv, err = p.strings(e, "server.pass_env"); err != nil {
			return err
		}
	}
	if d := m["dir"]; d != nil {
		dir, err := p.nonEmpty(d, "server.dir")
		if err != nil {
			return err
		}
		s.Server.Dir = s.resolve(dir)
	}
	return nil
}

func (p *parser) keys(n *yaml.Node) ([]*Key, error) {
	var out []*Key
	seen := map[string]bool{}
	add := func(k *Key, at *yaml.Node) error {
		if seen[k.Name] {
			return p.errf(at, "key %q is declared twice", k.Name)
		}
		seen[k.Name] = true
		out = append(out, k)
		return nil
	}
	switch n.Kind {
	case yaml.SequenceNode: // names only: each generated per run
		for _, e := range n.Content {
			name, err := p.nonEmpty(e, "keys entry")
			if err != nil {
				return nil, err
			}
			if err := add(&Key{Name: name, Line: e.Line}, e); err != nil {
				return nil, err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn, v := n.Content[i], n.Content[i+1]
			k := &Key{Name: kn.Value, Line: kn.Line}
			if v.Tag != "!!null" {
				m, err := p.mapping(v, "key "+kn.Value, nil, "file", "env")
				if err != nil {
					return nil, err
				}
				if f := m["file"]; f != nil {
					if k.File, err = p.nonEmpty(f, "file"); err != nil {
						return nil, err
					}
				}
				if e := m["env"]; e != nil {
					if k.Env, err = p.nonEmpty(e, "env"); err != nil {
						return nil, err
					}
				}
				if k.File != "" && k.Env != "" {
					return nil, p.errf(v, "key %s: give file or env, not both", kn.Value)
				}
			}
			if err := add(k, kn); err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.errf(n, "keys must be a list of names or a mapping of names to {file: PATH} or {env: VAR}")
	}
	return out, nil
}

func (p *parser) warrant(name string, n *yaml.Node, keys map[string]bool, known map[string]*Warrant) (*Warrant, error) {
	what := "warrant " + name
	m, err := p.mapping(n, what, []string{"holder"}, "issuer", "from", "holder", "ttl", "max_depth", "tools", "allow_unknown")
	if err != nil {
		return nil, err
	}
	w := &Warrant{Name: name, Line: n.Line, TTL: 10 * time.Minute}
	switch is, fr := m["issuer"], m["from"]; {
	case (is == nil) == (fr == nil):
		return nil, p.errf(n, "%s: give issuer (to mint it) or from (to attenuate another warrant), exactly one", what)
	case is != nil:
		if w.Issuer, err = p.nonEmpty(is, what+": issuer"); err != nil {
			return nil, err
		}
		if !keys[w.Issuer] {
			return nil, p.errf(is, "%s: issuer %q is not a key declared under keys", what, w.Issuer)
		}
		if m["tools"] == nil {
			return nil, p.errf(n, "%s: a minted warrant needs tools", what)
		}
	default:
		if w.From, err = p.nonEmpty(fr, what+": from"); err != nil {
			return nil, err
		}
		if known[w.From] == nil {
			return nil, p.errf(fr, "%s: from %q is not a warrant declared above it", what, w.From)
		}
		if _, ok := m["ttl"]; !ok {
			w.TTL = 0 // the parent's
		}
	}
	if w.Holder, err = p.nonEmpty(m["holder"], what+": holder"); err != nil {
		return nil, err
	}
	if !keys[w.Holder] {
		return nil, p.errf(m["holder"], "%s: holder %q is not a key declared under keys", what, w.Holder)
	}
	if t := m["ttl"]; t != nil {
		s, err := p.nonEmpty(t, what+": ttl")
		if err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, p.errf(t, "%s: ttl %q is not a positive duration such as 10m", what, s)
		}
		w.TTL = d
	}
	if d := m["max_depth"]; d != nil {
		v, err := strconv.ParseUint(d.Value, 10, 8)
		if d.Kind != yaml.ScalarNode || d.Tag != "!!int" || err != nil || v > authz.MaxChainDepth {
			return nil, p.errf(d, "%s: max_depth must be an integer 0..%d", what, authz.MaxChainDepth)
		}
		w.MaxDepth = &v
	}
	if t := m["tools"]; t != nil {
		if t.Kind != yaml.MappingNode || len(t.Content) == 0 {
			return nil, p.errf(t, "%s: tools must be a mapping of tool names to their argument constraints", what)
		}
		w.Tools = map[string]map[string]authz.Constraint{}
		for i := 0; i+1 < len(t.Content); i += 2 {
			tool, cons := t.Content[i].Value, t.Content[i+1]
			if tool == "" {
				return nil, p.errf(t.Content[i], "%s: empty tool name", what)
			}
			if _, dup := w.Tools[tool]; dup {
				return nil, p.errf(t.Content[i], "%s: tool %q appears twice", what, tool)
			}
			set := map[string]authz.Constraint{}
			if cons.Tag != "!!null" {
				if cons.Kind != yaml.MappingNode {
					return nil, p.errf(cons, "%s: tool %s: constraints must be a mapping of argument names to constraints (or empty)", what, tool)
				}
				for j := 0; j+1 < len(cons.Content); j += 2 {
					arg := cons.Content[j].Value
					if _, dup := set[arg]; dup {
						return nil, p.errf(cons.Content[j], "%s: %s.%s appears twice", what, tool, arg)
					}
					c, err := p.constraint(cons.Content[j+1])
					if err != nil {
						return nil, p.errf(cons.Content[j+1], "%s: %s.%s: %v", what, tool, arg, err)
					}
					set[arg] = c
				}
			}
			w.Tools[tool] = set
			w.ToolOrder = append(w.ToolOrder, tool)
		}
	}
	if a := m["allow_unknown"]; a != nil {
		if w.AllowUnknown, err = p.strings(a, what+": allow_unknown"); err != nil {
			return nil, err
		}
		for i, tool := range w.AllowUnknown {
			if w.Tools != nil {
				if _, ok := w.Tools[tool]; !ok {
					return nil, p.errf(a.Content[i], "%s: allow_unknown %q is not one of its tools", what, tool)
				}
			}
		}
	}
	return w, nil
}

// constraint reads a constraint: the CLI's SPEC syntax as a string, or the
// JSON form as a mapping.
func (p *parser) constraint(n *yaml.Node) (authz.Constraint, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if p.parse == nil {
			if rest, ok := strings.CutPrefix(n.Value, "json:"); ok {
				return authz.ParseConstraintJSON([]byte(rest))
			}
			return nil, fmt.Errorf("write the constraint in its JSON form (a mapping such as {type: subpath, root: /data})")
		}
		return p.parse(n.Value)
	case yaml.MappingNode:
		js, err := nodeJSON(n)
		if err != nil {
			return nil, err
		}
		return authz.ParseConstraintJSON(js)
	}
	return nil, fmt.Errorf("a constraint is a SPEC string (subpath:/data) or its JSON form as a mapping")
}

// nodeJSON converts a YAML value to JSON text.
func nodeJSON(n *yaml.Node) (json.RawMessage, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	v, err := jsonable(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// jsonable turns what yaml.v3 decodes into what encoding/json encodes:
// mappings with string keys only.
func jsonable(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("mapping key %v is not a string", k)
			}
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[ks] = j
		}
		return out, nil
	case []any:
		for i, e := range x {
			j, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	case float64:
		if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
	case time.Time:
		return x.Format(time.RFC3339Nano), nil
	}
	return v, nil
}

func (p *parser) testCase(n *yaml.Node, warrants map[string]*Warrant) (*Case, error) {
	m, err := p.mapping(n, "case", []string{"name", "call", "expect"}, "name", "call", "args", "warrant", "held", "expect",
		"text_contains", "is_error", "json", "code")
	if err != nil {
		return nil, err
	}
	c := &Case{Line: n.Line}
	if c.Name, err = p.nonEmpty(m["name"], "case name"); err != nil {
		return nil, err
	}
	what := "case " + strconv.Quote(c.Name)
	if c.Tool, err = p.nonEmpty(m["call"], what+": call"); err != nil {
		return nil, err
	}
	if a := m["args"]; a != nil {
		if a.Kind != yaml.MappingNode {
			return nil, p.errf(a, "%s: args must be a mapping (the tool's arguments object)", what)
		}
		if c.Args, err = nodeJSON(a); err != nil {
			return nil, p.errf(a, "%s: args: %v", what, err)
		}
	}
	if w := m["warrant"]; w != nil {
		if c.Warrant, err = p.nonEmpty(w, what+": warrant"); err != nil {
			return nil, err
		}
		if warrants[c.Warrant] == nil {
			return nil, p.errf(w, "%s: warrant %q is not declared under warrants", what, c.Warrant)
		}
	}
	if h := m["held"]; h != nil {
		if c.Held, err = p.boolean(h, what+": held"); err != nil {
			return nil, err
		}
		if c.Held && c.Warrant == "" {
			return nil, p.errf(h, "%s: held needs a warrant", what)
		}
	}
	e := m["expect"]
	if c.Expect, err = p.str(e, what+": expect"); err != nil || (c.Expect != "allow" && c.Expect != "deny") {
		return nil, p.errf(e, "%s: expect must be allow or deny", what)
	}
	allowOnly := []string{"text_contains", "is_error", "json"}
	for _, k := range allowOnly {
		if m[k] != nil && c.Expect != "allow" {
			return nil, p.errf(m[k], "%s: %s goes with expect: allow", what, k)
		}
	}
	if tc := m["text_contains"]; tc != nil {
		if tc.Kind == yaml.SequenceNode {
			c.Contains, err = p.strings(tc, what+": text_contains")
		} else {
			var s string
			s, err = p.str(tc, what+": text_contains")
			c.Contains = []string{s}
		}
		if err != nil {
			return nil, err
		}
	}
	if ie := m["is_error"]; ie != nil {
		b, err := p.boolean(ie, what+": is_error")
		if err != nil {
			return nil, err
		}
		c.IsError = &b
	}
	if j := m["json"]; j != nil {
		if j.Kind != yaml.MappingNode {
			return nil, p.errf(j, "%s: json must be a mapping of result paths (such as content.0.text) to values", what)
		}
		for i := 0; i+1 < len(j.Content); i += 2 {
			path := j.Content[i].Value
			if _, err := splitPath(path); err != nil {
				return nil, p.errf(j.Content[i], "%s: json path %q: %v", what, path, err)
			}
			v, err := nodeJSON(j.Content[i+1])
			if err != nil {
				return nil, p.errf(j.Content[i+1], "%s: json %s: %v", what, path, err)
			}
			c.JSON = append(c.JSON, JSONExpect{Path: path, Value: v, Line: j.Content[i].Line})
		}
	}
	if cd := m["code"]; cd != nil {
		if c.Expect != "deny" {
			return nil, p.errf(cd, "%s: code goes with expect: deny", what)
		}
		if cd.Kind != yaml.ScalarNode || cd.Value == "" {
			return nil, p.errf(cd, "%s: code must be Tenuo's code number (1501) or name (constraint-violation)", what)
		}
		if n, err := strconv.Atoi(cd.Value); err == nil {
			if n < 0 || n > 65535 || strings.HasPrefix(authz.Code(n).Name(), "error-") {
				return nil, p.errf(cd, "%s: code %d is not one of Tenuo's codes", what, n)
			}
			c.Code = n
		} else {
			if !knownName(cd.Value) {
				return nil, p.errf(cd, "%s: code %q is not one of Tenuo's error names (such as constraint-violation, tool-not-authorized)", what, cd.Value)
			}
			c.CodeName = cd.Value
		}
	}
	return c, nil
}

// knownName reports whether name is the kebab-case name of a Tenuo code.
func knownName(name string) bool {
	for c := authz.Code(1000); c < 2200; c++ {
		if n := c.Name(); n == name && !strings.HasPrefix(n, "error-") {
			return true
		}
	}
	return false
}
