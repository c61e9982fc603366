package main

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// grantFlags are the flags mint and attenuate share.
type grantFlags struct {
	key, holder   string
	tools         []string
	constraints   []string
	allowUnknown  []string
	ttl           string
	maxDepth      int
	typ           string
	issuableTools []string
	clearance     int
	session       string
	agent         string
	pem           bool
}

func (g *grantFlags) register(c *cobra.Command, keyHelp string) {
	f := c.Flags()
	f.StringVar(&g.key, "key", "", keyHelp)
	f.StringVar(&g.holder, "holder", "", "public key of the new warrant's holder (hex or file)")
	f.StringArrayVar(&g.tools, "tool", nil, "grant tool `NAME` (repeatable)")
	f.StringArrayVarP(&g.constraints, "constraint", "c", nil, "constrain an argument: `TOOL.ARG=SPEC` (repeatable; SPEC: exact:V, pattern:GLOB, regex:RE, range:MIN..MAX, oneof:a,b, notoneof:a,b, cidr:NET, urlpattern:P, subpath:ROOT, shlex:p1,p2, wildcard, json:{...})")
	f.StringArrayVar(&g.allowUnknown, "allow-unknown", nil, "let `TOOL` take arguments its constraints do not name (repeatable)")
	f.StringVar(&g.ttl, "ttl", "", "lifetime, e.g. 5m or 2h (default 5m for a root; a child's is capped at its parent's)")
	f.IntVar(&g.maxDepth, "max-depth", -1, "how deep the warrant may be delegated (default 3 for a root, the parent's for a child)")
	f.StringVar(&g.typ, "type", "execution", "warrant type: execution or issuer")
	f.StringArrayVar(&g.issuableTools, "issuable-tool", nil, "issuer warrants: a tool `NAME` it may issue (repeatable)")
	f.IntVar(&g.clearance, "clearance", -1, "clearance level 0..255")
	f.StringVar(&g.session, "session", "", "session id (tenuo.session_id)")
	f.StringVar(&g.agent, "agent", "", "agent id (tenuo.agent_id)")
	f.BoolVar(&g.pem, "pem", false, "print PEM instead of URL-safe base64")
}

// grant turns the flags into an authz.Grant. parentTools, when not nil, are
// the tools a child starts from.
func (g *grantFlags) grant(parentTools map[string]authz.ConstraintSet) (authz.Grant, error) {
	var out authz.Grant
	switch strings.ToLower(g.typ) {
	case "execution", "exec":
		out.Type = authz.Execution
	case "issuer":
		out.Type = authz.Issuer
	default:
		return out, badInput("", "--type must be execution or issuer, got %q", g.typ)
	}
	ttl, err := parseTTL(g.ttl)
	if err != nil {
		return out, err
	}
	out.TTL = ttl
	if g.maxDepth >= 0 {
		if g.maxDepth > authz.MaxChainDepth {
			return out, badInput("", "--max-depth %d exceeds %d", g.maxDepth, authz.MaxChainDepth)
		}
		d := uint64(g.maxDepth)
		out.MaxDepth = &d
	}
	if g.clearance >= 0 {
		if g.clearance > math.MaxUint8 {
			return out, badInput("", "--clearance must be 0..255, got %d", g.clearance)
		}
		c := uint8(g.clearance)
		out.Clearance = &c
	}
	out.IssuableTools = g.issuableTools
	out.SessionID, out.AgentID = g.session, g.agent

	if out.Type == authz.Issuer {
		if len(g.tools) > 0 || len(g.constraints) > 0 {
			return out, badInput("issuer warrants take --issuable-tool", "--tool and -c are for execution warrants")
		}
		return out, nil
	}
	tools, err := g.toolSets(parentTools)
	if err != nil {
		return out, err
	}
	out.Tools = tools
	return out, nil
}

// toolSets builds the tools map: the --tool names (or all parent tools), each
// starting from the parent's constraints, with -c constraints set on top.
func (g *grantFlags) toolSets(parentTools map[string]authz.ConstraintSet) (map[string]authz.ConstraintSet, error) {
	names := append([]string(nil), g.tools...)
	if len(names) == 0 && parentTools != nil {
		for n := range parentTools {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	if len(names) == 0 && parentTools == nil {
		return nil, badInput("for example: --tool read_file -c 'read_file.path=subpath:/data'", "at least one --tool is required")
	}
	tools := make(map[string]authz.ConstraintSet, len(names))
	for _, n := range names {
		if n == "" {
			return nil, badInput("", "--tool: empty tool name")
		}
		set := authz.ConstraintSet{Constraints: map[string]authz.Constraint{}}
		if parentTools != nil {
			p, ok := parentTools[n]
			if !ok {
				p, ok = parentTools[authz.WildcardTool]
			}
			if !ok {
				return nil, badInput("a child can only keep or narrow tools its parent grants", "--tool %q is not granted by the parent warrant", n)
			}
			for k, v := range p.Constraints {
				set.Constraints[k] = v
			}
			set.AllowUnknown = p.AllowUnknown
		}
		tools[n] = set
	}
	for _, spec := range g.constraints {
		lhs, rhs, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, badInput("write -c TOOL.ARG=SPEC, e.g. -c 'read_file.path=pattern:/data/*'", "-c %q: missing '='", spec)
		}
		tool := ""
		for n := range tools { // longest declared tool name that prefixes TOOL.ARG
			if strings.HasPrefix(lhs, n+".") && len(n) > len(tool) {
				tool = n
			}
		}
		if tool == "" {
			return nil, badInput("name the tool with --tool first; -c takes TOOL.ARG=SPEC", "-c %q: no granted tool matches %q", spec, lhs)
		}
		arg := strings.TrimPrefix(lhs, tool+".")
		if arg == "" {
			return nil, badInput("", "-c %q: empty argument name", spec)
		}
		c, err := parseConstraintSpec(rhs)
		if err != nil {
			return nil, badInput("", "-c %q: %v", spec, err)
		}
		tools[tool].Constraints[arg] = c
	}
	for _, n := range g.allowUnknown {
		set, ok := tools[n]
		if !ok {
			return nil, badInput("", "--allow-unknown %q: not a granted tool", n)
		}
		set.AllowUnknown = true
		tools[n] = set
	}
	return tools, nil
}

func printStack(e *env, s authz.Stack, pem bool) {
	if pem {
		fmt.Fprint(e.stdout, s.PEM())
		return
	}
	fmt.Fprintln(e.stdout, s.Base64())
}

func newMintCmd(e *env) *cobra.Command {
	var g grantFlags
	c := &cobra.Command{
		Use:   "mint --key ISSUER_KEY --holder PUB --tool NAME [-c TOOL.ARG=SPEC…] [flags]",
		Short: "Mint a root warrant",
		Long: `mint signs a root warrant with the issuer's key and prints it as URL-safe
base64 (or PEM with --pem). Verifiers must trust the issuer's public key.`,
		Example: `  tenuo-mcp mint --key root.key --holder $(cat agent.pub) \
    --tool read_file -c 'read_file.path=subpath:/data' --ttl 1h
  tenuo-mcp mint --key root.key --holder AGENT_PUB --tool search \
    -c 'search.query=pattern:*' -c 'search.limit=range:1..50'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := e.loadSigningKey("key", g.key)
			if err != nil {
				return err
			}
			holder, err := loadPublicKey("--holder", g.holder)
			if err != nil {
				return err
			}
			grant, err := g.grant(nil)
			if err != nil {
				return err
			}
			grant.Holder = holder
			w, err := authz.Mint(key, grant, time.Now())
			if err != nil {
				return badInput("", "%v", err)
			}
			printStack(e, authz.Stack{w}, g.pem)
			return nil
		},
	}
	g.register(c, "issuer's secret key: a file or env:VAR")
	return c
}

func newAttenuateCmd(e *env) *cobra.Command {
	var g grantFlags
	c := &cobra.Command{
		Use:   "attenuate WARRANT --key HOLDER_KEY --holder NEWPUB [--tool …] [-c …] [--ttl …]",
		Short: "Delegate a narrower warrant to a new holder",
		Long: `attenuate signs a child of WARRANT's leaf with the leaf holder's key and
prints the whole stack (parents included). The child keeps the parent's tools
unless --tool names a subset, keeps each tool's constraints unless -c narrows
them, and may only narrow: any child the verifier would refuse is refused here,
with the rule named.`,
		Example: `  tenuo-mcp attenuate "$(cat agent.warrant)" --key agent.key --holder SUBAGENT_PUB \
    --tool read_file -c 'read_file.path=subpath:/data/reports' --ttl 10m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			parent, err := e.loadStack("WARRANT", args[0])
			if err != nil {
				return err
			}
			key, err := e.loadSigningKey("key", g.key)
			if err != nil {
				return err
			}
			holder, err := loadPublicKey("--holder", g.holder)
			if err != nil {
				return err
			}
			leaf := parent.Leaf()
			var parentTools map[string]authz.ConstraintSet
			if leaf.Type == authz.Execution {
				parentTools = leaf.Tools
			} else {
				parentTools = map[string]authz.ConstraintSet{}
				for _, t := range leaf.IssuableTools {
					parentTools[t] = authz.ConstraintSet{}
				}
			}
			if !cmd.Flags().Changed("type") {
				g.typ = leaf.Type.String()
			}
			grant, err := g.grant(parentTools)
			if err != nil {
				return err
			}
			grant.Holder = holder
			s, err := authz.Attenuate(parent, key, grant, time.Now())
			if err != nil {
				return &exitError{code: exitBadInput, msg: err.Error(),
					hint: "a child may only narrow its parent: fewer tools, tighter constraints, shorter life"}
			}
			printStack(e, s, g.pem)
			return nil
		},
	}
	g.register(c, "the parent warrant holder's secret key: a file or env:VAR")
	return c
}

// parseConstraintSpec reads the command line's short constraint forms:
// exact:V, pattern:GLOB, regex:RE, range:MIN..MAX (either side may be
// empty), oneof:a,b, notoneof:a,b, cidr:NET, urlpattern:P, subpath:ROOT,
// shlex:prog1,prog2, wildcard, or json:{…} (authz.ParseConstraintJSON's
// form). In exact, oneof and notoneof a value that parses as a JSON number,
// boolean or null is taken as one; anything else is a string.
//
// This is the grammar only: each form becomes the constraint's JSON form, and
// authz.ParseConstraintJSON gives it Tenuo's defaults (inclusive range
// bounds, a case-sensitive subpath that allows its root) and validates it.
func parseConstraintSpec(spec string) (authz.Constraint, error) {
	kind, arg, hasArg := strings.Cut(spec, ":")
	kind = strings.ToLower(kind)
	var js map[string]any
	switch kind {
	case "wildcard", "*":
		js = map[string]any{"type": "wildcard"}
	case "json":
		if !hasArg {
			break
		}
		return authz.ParseConstraintJSON([]byte(arg))
	case "exact":
		js = map[string]any{"type": "exact", "value": specScalar(arg)}
	case "pattern", "glob":
		js = map[string]any{"type": "pattern", "pattern": arg}
	case "regex":
		js = map[string]any{"type": "regex", "pattern": arg}
	case "range":
		lo, hi, ok := strings.Cut(arg, "..")
		if !ok {
			return nil, fmt.Errorf("range needs MIN..MAX (either side may be empty), got %q", arg)
		}
		js = map[string]any{"type": "range"}
		for _, side := range []struct{ text, key string }{{lo, "min"}, {hi, "max"}} {
			if side.text = strings.TrimSpace(side.text); side.text == "" {
				continue
			}
			f, err := strconv.ParseFloat(side.text, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("range bound %q is not a finite number", side.text)
			}
			js[side.key] = f
		}
	case "oneof":
		js = map[string]any{"type": "one_of", "values": specList(arg)}
	case "notoneof":
		js = map[string]any{"type": "not_one_of", "excluded": specList(arg)}
	case "cidr":
		js = map[string]any{"type": "cidr", "network": arg}
	case "urlpattern", "url":
		js = map[string]any{"type": "url_pattern", "pattern": arg}
	case "subpath":
		js = map[string]any{"type": "subpath", "root": arg}
	case "shlex":
		var allow []string
		for _, p := range strings.Split(arg, ",") {
			if p = strings.TrimSpace(p); p != "" {
				allow = append(allow, p)
			}
		}
		js = map[string]any{"type": "shlex", "allow": allow}
	default:
		return nil, fmt.Errorf("unknown constraint kind %q (want exact, pattern, regex, range, oneof, notoneof, cidr, urlpattern, subpath, shlex, wildcard or json)", kind)
	}
	if !hasArg && kind != "wildcard" && kind != "*" {
		return nil, fmt.Errorf("constraint %q needs a value after ':'", kind)
	}
	b, err := json.Marshal(js)
	if err != nil {
		return nil, err
	}
	return authz.ParseConstraintJSON(b)
}

// specScalar is a value of exact, oneof or notoneof: a JSON number, boolean
// or null when it reads as one (a number kept as written, so that 1.0 stays
// a float and 1 an integer), else the text itself.
func specScalar(s string) any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return s
	}
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return x
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil && !math.IsInf(f, 0) {
			return x
		}
		return s
	case bool, nil:
		return x
	}
	return s
}

func specList(s string) []any {
	out := []any{}
	for _, p := range strings.Split(s, ",") {
		out = append(out, specScalar(strings.TrimSpace(p)))
	}
	return out
}
