package toolmap

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// route is one entry under `routes`, as in Tenuo's gateway configuration.
type route struct {
	pattern string
	segs    []patSeg
	methods []string // upper case; nil: every method
	tool    *tool
	rules   []*rule // the tool's rules with the route's own merged over them, by field
	// bodyKeys are the top-level object keys the body rules read, sorted
	// and without repeats (see Reads.BodyKeys).
	bodyKeys []string
	// queryKeys are the query keys the query rules read, sorted and
	// without repeats (see Reads.QueryKeys).
	queryKeys []string
}

// patSeg is one segment of a route pattern: a literal, or a parameter
// ("{name}") matching one whole, non-empty segment.
type patSeg struct {
	lit   string
	param string
}

func (p *parser) routes(c *Config, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "routes must be a list, not %s", kindName(n))
		return
	}
	shapes := map[string]int{} // skeleton → line of the first route
	for i, rn := range n.Content {
		what := fmt.Sprintf("routes[%d]", i)
		f := p.fields(rn, what, "pattern", "method", "tool", "constraints")
		rt := &route{}
		nerr := len(p.errs)
		if x, ok := f["pattern"]; !ok {
			p.errorf(rn, "%s: missing key \"pattern\"", what)
		} else if s, ok := p.str(x.v, what+".pattern"); ok {
			segs, err := compilePattern(s)
			if err != nil {
				p.errorf(x.v, "%s.pattern %q: %v", what, s, err)
			} else {
				rt.pattern, rt.segs = s, segs
				shape := skeleton(segs)
				if line, dup := shapes[shape]; dup {
					p.errorf(x.v, "%s.pattern %q matches the same paths as the route at line %d", what, s, line)
				}
				shapes[shape] = x.v.Line
			}
		}
		if x, ok := f["method"]; ok {
			ms, _ := p.strList(x.v, what+".method", true)
			for _, m := range ms {
				if !isToken(m.key) {
					p.errorf(m.v, "%s.method: %q is not an HTTP method", what, m.key)
					continue
				}
				rt.methods = append(rt.methods, strings.ToUpper(m.key))
			}
		}
		if x, ok := f["tool"]; !ok {
			p.errorf(rn, "%s: missing key \"tool\"", what)
		} else if s, ok := p.str(x.v, what+".tool"); ok {
			if rt.tool = c.tools[s]; rt.tool == nil {
				p.errorf(x.v, "%s.tool: %q is not defined under tools", what, s)
			}
		}
		var extra []*rule
		if x, ok := f["constraints"]; ok {
			extra = p.rules(x.v, what+".constraints")
		}
		if len(p.errs) > nerr || rt.tool == nil {
			continue
		}
		rt.rules = mergeRules(rt.tool.rules, extra)
		for _, r := range rt.rules {
			if r.from == srcBody && len(r.segs) > 0 && r.segs[0].kind == segField && !slices.Contains(rt.bodyKeys, r.segs[0].name) {
				rt.bodyKeys = append(rt.bodyKeys, r.segs[0].name)
			}
		}
		slices.Sort(rt.bodyKeys)
		for _, r := range rt.rules {
			if r.from == srcQuery && !slices.Contains(rt.queryKeys, r.path) {
				rt.queryKeys = append(rt.queryKeys, r.path)
			}
		}
		slices.Sort(rt.queryKeys)
		params := map[string]bool{}
		for _, s := range rt.segs {
			if s.param != "" {
				params[s.param] = true
			}
		}
		for _, r := range rt.rules {
			if r.from == srcPath && !params[r.path] {
				p.errorf(&yaml.Node{Line: r.line, Column: r.column},
					"field %q reads path parameter %q, which pattern %q (%s) does not have", r.field, r.path, rt.pattern, what)
			}
		}
		c.routes = append(c.routes, rt)
	}
}

// mergeRules returns base with over's rules replacing those of the same
// field, sorted by field.
func mergeRules(base, over []*rule) []*rule {
	byField := map[string]*rule{}
	for _, r := range base {
		byField[r.field] = r
	}
	for _, r := range over {
		byField[r.field] = r
	}
	out := make([]*rule, 0, len(byField))
	for _, r := range byField {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *rule) int { return strings.Compare(a.field, b.field) })
	return out
}

// compilePattern parses a route pattern such as "/api/v1/clusters/{cluster}".
func compilePattern(s string) ([]patSeg, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, fmt.Errorf("must start with /")
	}
	if strings.ContainsAny(s, "?#") {
		return nil, fmt.Errorf("must not contain a query or fragment")
	}
	parts := strings.Split(s[1:], "/")
	segs := make([]patSeg, len(parts))
	seen := map[string]bool{}
	for i, part := range parts {
		if len(part) >= 2 && part[0] == '{' && part[len(part)-1] == '}' {
			name := part[1 : len(part)-1]
			switch {
			case strings.ContainsAny(name, "{}"):
				return nil, fmt.Errorf("nested braces in segment %q", part)
			case name == "":
				return nil, fmt.Errorf("empty parameter name")
			case strings.HasPrefix(name, "*"):
				return nil, fmt.Errorf("catch-all parameter %q is not supported", part)
			case seen[name]:
				return nil, fmt.Errorf("parameter %q appears twice", name)
			}
			seen[name] = true
			segs[i].param = name
			continue
		}
		if strings.ContainsAny(part, "{}") {
			return nil, fmt.Errorf("a parameter must be a whole segment, not %q", part)
		}
		lit, err := url.PathUnescape(part)
		switch {
		case err != nil:
			return nil, fmt.Errorf("bad escape in segment %q", part)
		case lit == "" && i != len(parts)-1:
			return nil, fmt.Errorf("empty segment")
		case lit == "." || lit == "..":
			return nil, fmt.Errorf("dot segment %q", part)
		}
		segs[i].lit = lit
	}
	return segs, nil
}

// skeleton is a pattern with its parameter names erased: two routes with
// the same skeleton match the same paths.
func skeleton(segs []patSeg) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		if s.param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(url.PathEscape(s.lit))
		}
	}
	return b.String()
}

// MapHTTP maps an HTTP request to a warrant tool and its constraint fields
// through the configuration's `routes`, as Tenuo's gateway does.
//
// path is the request's path in its escaped form (r.URL.EscapedPath());
// anything from a '?' on is ignored, as in Tenuo. It is split at '/' before
// unescaping, so "a%2Fb" is one segment whose value is "a/b"; a dot segment
// ("." or "..", also escaped) is [ErrArguments], because the backend may
// resolve it to another path than the one routed. A parameter matches one
// non-empty segment. When several patterns match, the one with a literal
// at the first segment where they differ wins. The route's methods (all
// when it lists none) are compared case-insensitively; a path that matches
// with another method, or matches nothing, is [ErrNoRoute]. A nil Config
// has no routes.
//
// Rules read `from: path` (the route's parameters), `query` and `header`
// (both must occur at most once; several values are [ErrField]; header names
// match in any case; a query key that is not the one a rule reads but that
// a lenient server would read as it — another letter case, '-' or '_'
// changed or dropped, PHP's '.' or ' ' for '_', a leading space, a NUL — is
// [ErrArguments] with [ErrAmbiguousKey], alone or not) and `body`, the
// request body parsed as JSON when any
// rule reads it (any JSON value; an empty body leaves every body path
// missing). A field whose value holds a NUL in a string, at any depth, is
// [ErrArguments] (a server handing it to C acts on less than was checked).
// Everything else is as in [Config.MapCall].
func (c *Config) MapHTTP(method, path string, query url.Values, header http.Header, body []byte) (*Mapping, error) {
	best, parts, err := c.route(method, path)
	if err != nil {
		return nil, err
	}
	in := &input{segs: best.segs, parts: parts, query: query, header: header}
	if len(bytes.TrimSpace(body)) > 0 && slices.ContainsFunc(best.rules, func(r *rule) bool { return r.from == srcBody }) {
		v, err := parseBody(body)
		if err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		in.body, in.hasBody = v, true
	}
	fields, err := applyRules(best.tool.name, best.rules, in)
	if err != nil {
		return nil, err
	}
	for k, v := range fields {
		if hasNUL(v) {
			// A server handing the value to C (a file name) acts on
			// what comes before the NUL, not on the value checked.
			return nil, fmt.Errorf("%w: tool %q field %q: a NUL in a string (a C reader stops there)", ErrArguments, best.tool.name, k)
		}
	}
	return &Mapping{Tool: best.tool.warrant, Fields: fields}, nil
}

// hasNUL reports whether a string in v, at any depth, holds a NUL.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		return slices.ContainsFunc(x, hasNUL)
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// Reads says which parts of an HTTP request a route extracts fields from.
type Reads struct {
	Path, Query, Header, Body bool
	// BodyKeys are the top-level keys of a JSON object body that the
	// route's body rules read ("spec" for spec.replicas), sorted; shared,
	// not to be modified. A front end refuses a query key that a server
	// merging the query into the body's parameters (Rails, Laravel) would
	// read as one of them.
	BodyKeys []string
	// QueryKeys are the query keys the route's query rules read, sorted;
	// shared, not to be modified. A front end refuses a body field that a
	// server merging the body's fields over the query (Go's FormValue,
	// Rails, Laravel, PHP's $_REQUEST) would read as one of them: see
	// [ReadsAsQueryKey].
	QueryKeys []string
}

// RouteReads returns which parts of a request the route that [Config.MapHTTP]
// would choose for method and path reads, so that a front end can refuse
// what its upstream would parse differently (a repeated query key, a form
// body) and stream the bodies no rule reads. The error is MapHTTP's for a
// path it refuses or routes nowhere.
func (c *Config) RouteReads(method, path string) (Reads, error) {
	var buf [8]string // the segments, on the stack: they are not kept
	rt, _, err := c.routeIn(method, path, buf[:0])
	if err != nil {
		return Reads{}, err
	}
	r := Reads{BodyKeys: rt.bodyKeys, QueryKeys: rt.queryKeys}
	for _, rl := range rt.rules {
		switch rl.from {
		case srcPath:
			r.Path = true
		case srcQuery:
			r.Query = true
		case srcHeader:
			r.Header = true
		case srcBody:
			r.Body = true
		}
	}
	return r, nil
}

// route finds the route for method and path, and the path's unescaped
// segments.
func (c *Config) route(method, path string) (*route, []string, error) {
	return c.routeIn(method, path, nil)
}

// routeIn is route, appending the segments to parts (empty; its room is
// used when they fit).
func (c *Config) routeIn(method, path string, parts []string) (*route, []string, error) {
	if c == nil || len(c.routes) == 0 {
		return nil, nil, fmt.Errorf("%w: no routes configured", ErrNoRoute)
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if !strings.HasPrefix(path, "/") {
		return nil, nil, fmt.Errorf("%w: path %q does not start with /", ErrArguments, path)
	}
	// The segments of path[1:] split at '/', as strings.Split would, into
	// one slice sized by a count of the separators.
	rest := path[1:]
	if n := strings.Count(rest, "/") + 1; cap(parts) < n {
		parts = make([]string, 0, n)
	}
	for {
		s, after, more := strings.Cut(rest, "/")
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: bad escape in path segment %q", ErrArguments, s)
		}
		if u == "." || u == ".." {
			return nil, nil, fmt.Errorf("%w: dot segment %q in path", ErrArguments, s)
		}
		parts = append(parts, u)
		if !more {
			break
		}
		rest = after
	}

	var best *route
	for _, rt := range c.routes {
		if matches(rt.segs, parts) && (best == nil || moreSpecific(rt.segs, best.segs)) {
			best = rt
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("%w: %s %s", ErrNoRoute, method, path)
	}
	if best.methods != nil && !slices.Contains(best.methods, strings.ToUpper(method)) {
		return nil, nil, fmt.Errorf("%w: %s %s (route %q allows %s)", ErrNoRoute, method, path, best.pattern, strings.Join(best.methods, ", "))
	}

	return best, parts, nil
}

func matches(segs []patSeg, parts []string) bool {
	if len(segs) != len(parts) {
		return false
	}
	for i, s := range segs {
		if s.param != "" {
			if parts[i] == "" {
				return false
			}
		} else if s.lit != parts[i] {
			return false
		}
	}
	return true
}

// moreSpecific reports whether a has a literal where b has a parameter at
// the first segment where their kinds differ.
func moreSpecific(a, b []patSeg) bool {
	for i := range a {
		la, lb := a[i].param == "", b[i].param == ""
		if la != lb {
			return la
		}
	}
	return false
}
