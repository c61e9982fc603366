package main

import (
	"encoding/json"
	"errors"
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
	maxDepth      optUint
	typ           string
	issuableTools []string
	clearance     optUint
	session       string
	agent         string
	pem           bool
	approvers     []string
	minApprovals  optUint
	gates         []string
}

// optUint is an integer flag that may be left unset; its help shows no
// default.
type optUint struct {
	v   uint64
	set bool
}

func (o *optUint) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatUint(o.v, 10)
}

func (o *optUint) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number >= 0", s)
	}
	o.v, o.set = n, true
	return nil
}

func (o *optUint) Type() string { return "N" }

func (g *grantFlags) register(c *cobra.Command, keyHelp string) {
	f := c.Flags()
	f.StringVar(&g.key, "key", "", keyHelp)
	f.StringVar(&g.holder, "holder", "", "public key of the new warrant's holder (hex or file)")
	f.StringArrayVar(&g.tools, "tool", nil, "grant tool `NAME` (repeatable)")
	f.StringArrayVarP(&g.constraints, "constraint", "c", nil, "constrain an argument: `TOOL.ARG=SPEC` (repeatable, once per argument; SPEC: exact:V, pattern:GLOB, regex:RE, range:MIN..MAX, oneof:a,b, notoneof:a,b, cidr:NET, urlpattern:P, subpath:ROOT, shlex:p1,p2, wildcard, json:{...})")
	f.StringArrayVar(&g.allowUnknown, "allow-unknown", nil, "let `TOOL` take arguments its constraints do not name (repeatable)")
	f.StringVar(&g.ttl, "ttl", "", "lifetime with its unit, e.g. 90s, 5m, 2h (a root's default is 5m; a child's is its parent's remaining time, and never more)")
	f.Var(&g.maxDepth, "max-depth", "how deep the warrant may be delegated (a root's default is 3, a child's its parent's)")
	f.StringVar(&g.typ, "type", "execution", "warrant type: execution or issuer")
	f.StringArrayVar(&g.issuableTools, "issuable-tool", nil, "issuer warrants: a tool `NAME` it may issue (repeatable)")
	f.Var(&g.clearance, "clearance", "clearance level 0..255 (default: none; a child keeps its parent's)")
	f.StringVar(&g.session, "session", "", "session id (tenuo.session_id)")
	f.StringVar(&g.agent, "agent", "", "agent id (tenuo.agent_id)")
	f.StringArrayVar(&g.approvers, "approver", nil, "public key (hex or file) of a required approver (repeatable); calls need approval (see --approval-gate)")
	f.Var(&g.minApprovals, "min-approvals", "how many of the --approver keys must approve a call (default: all of them)")
	f.StringArrayVar(&g.gates, "approval-gate", nil, "which calls need approval: `TOOL` (every call), TOOL.ARG (any value), TOOL.ARG=SPEC (values SPEC matches) or TOOL.ARG=unless:SPEC (values it does not match); without a gate, every call of a warrant with approvers needs approval (repeatable)")
	f.BoolVar(&g.pem, "pem", false, "print PEM instead of URL-safe base64")
}

// grant turns the flags into an authz.Grant. parentTools, when not nil, are
// the tools a child starts from; parent is the leaf a child delegates.
func (g *grantFlags) grant(parentTools map[string]authz.ConstraintSet, parent *authz.Warrant) (authz.Grant, error) {
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
	if g.maxDepth.set {
		if g.maxDepth.v > authz.MaxChainDepth {
			return out, badInput("", "--max-depth %d exceeds %d", g.maxDepth.v, authz.MaxChainDepth)
		}
		d := g.maxDepth.v
		out.MaxDepth = &d
	}
	if g.clearance.set {
		if g.clearance.v > math.MaxUint8 {
			return out, badInput("", "--clearance must be 0..255, got %d", g.clearance.v)
		}
		c := uint8(g.clearance.v)
		out.Clearance = &c
	}
	out.IssuableTools = g.issuableTools
	out.SessionID, out.AgentID = g.session, g.agent
	if err := g.approvals(&out, parent); err != nil {
		return out, err
	}

	if out.Type == authz.Issuer {
		if len(g.tools) > 0 || len(g.constraints) > 0 {
			return out, badInput("issuer warrants take --issuable-tool", "--tool and -c are for execution warrants")
		}
		if len(g.gates) > 0 {
			return out, badInput("", "--approval-gate is for execution warrants")
		}
		return out, nil
	}
	tools, err := g.toolSets(parentTools)
	if err != nil {
		return out, err
	}
	out.Tools = tools
	if len(g.gates) > 0 {
		if err := g.approvalGates(&out, parent); err != nil {
			return out, err
		}
	}
	return out, nil
}

// approvals sets the required approvers and threshold.
func (g *grantFlags) approvals(out *authz.Grant, parent *authz.Warrant) error {
	for _, a := range g.approvers {
		k, err := loadPublicKey("--approver", a)
		if err != nil {
			return err
		}
		for _, seen := range out.RequiredApprovers {
			if seen.Equal(k) {
				return badInput("name each approver once", "--approver %s is given twice", k.Hex())
			}
		}
		out.RequiredApprovers = append(out.RequiredApprovers, k)
	}
	approvers := len(out.RequiredApprovers)
	if approvers == 0 && parent != nil {
		approvers = len(parent.RequiredApprovers)
	}
	if g.minApprovals.set {
		if approvers == 0 {
			return badInput("name the approvers with --approver PUB", "--min-approvals without any --approver")
		}
		if g.minApprovals.v == 0 || g.minApprovals.v > uint64(approvers) {
			return badInput("", "--min-approvals must be 1..%d (the number of approvers), got %d", approvers, g.minApprovals.v)
		}
		n := g.minApprovals.v
		out.MinApprovals = &n
		if len(out.RequiredApprovers) == 0 && parent != nil {
			out.RequiredApprovers = parent.RequiredApprovers
		}
	}
	if len(g.gates) > 0 && approvers == 0 {
		return badInput("add --approver PUB: a gated call needs someone who can approve it", "--approval-gate without any --approver: every gated call would be refused")
	}
	return nil
}

// approvalGates builds the tenuo.approval_gates extension from --approval-gate,
// on top of the parent's gates.
func (g *grantFlags) approvalGates(out *authz.Grant, parent *authz.Warrant) error {
	gates := map[string]authz.ApprovalGate{}
	for _, spec := range g.gates {
		lhs, rhs, hasSpec := strings.Cut(spec, "=")
		tool, arg := "", ""
		for n := range out.Tools { // longest granted tool name that is lhs or prefixes lhs.
			if (lhs == n || strings.HasPrefix(lhs, n+".")) && len(n) > len(tool) {
				tool = n
			}
		}
		if tool == "" {
			return badInput(suggestTool(lhs, out.Tools, "gate a granted tool: --approval-gate TOOL or TOOL.ARG=SPEC"),
				"--approval-gate %q: no granted tool matches %q", spec, lhs)
		}
		arg = strings.TrimPrefix(strings.TrimPrefix(lhs, tool), ".")
		cur, seen := gates[tool]
		if arg == "" {
			if hasSpec {
				return badInput("gate an argument: --approval-gate TOOL.ARG=SPEC", "--approval-gate %q: a whole-tool gate takes no SPEC", spec)
			}
			if seen {
				return badInput("", "--approval-gate: tool %q is gated twice", tool)
			}
			gates[tool] = authz.ApprovalGate{}
			continue
		}
		if seen && cur.Args == nil {
			return badInput("", "--approval-gate: tool %q is gated twice", tool)
		}
		if cur.Args == nil {
			cur.Args = map[string]authz.ArgGate{}
		}
		if _, dup := cur.Args[arg]; dup {
			return badInput("one gate per argument", "--approval-gate: %s.%s is gated twice", tool, arg)
		}
		var ag authz.ArgGate
		switch {
		case !hasSpec || rhs == "all":
			ag.All = true
		case strings.HasPrefix(rhs, "unless:"):
			c, err := parseConstraintSpec(strings.TrimPrefix(rhs, "unless:"))
			if err != nil {
				return badInput("", "--approval-gate %q: %v", spec, err)
			}
			ag.Unless = c
		default:
			c, err := parseConstraintSpec(rhs)
			if err != nil {
				return badInput("", "--approval-gate %q: %v", spec, err)
			}
			ag.When = c
		}
		cur.Args[arg] = ag
		gates[tool] = cur
	}
	var existing []byte
	if parent != nil {
		existing = parent.Extensions[authz.ExtApprovalGates]
	}
	b, err := authz.AppendApprovalGates(existing, gates)
	if err != nil {
		return badInput("", "--approval-gate: %v", err)
	}
	out.Extensions = map[string][]byte{authz.ExtApprovalGates: b}
	return nil
}

// suggestTool returns a "did you mean" hint naming the granted tool closest
// to what lhs (TOOL or TOOL.ARG) starts with, or fallback.
func suggestTool(lhs string, tools map[string]authz.ConstraintSet, fallback string) string {
	name, rest, _ := strings.Cut(lhs, ".")
	best, bestD := "", 3
	for n := range tools {
		if d := editDistance(name, n); d < bestD || (d == bestD && n < best) {
			best, bestD = n, d
		}
	}
	if best == "" {
		return fallback
	}
	if rest != "" {
		best += "." + rest
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
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
		if _, dup := tools[n]; dup {
			return nil, badInput("name each tool once", "--tool %q is given twice", n)
		}
		set := authz.ConstraintSet{Constraints: map[string]authz.Constraint{}}
		if parentTools != nil {
			p, ok := parentTools[n]
			if !ok {
				p, ok = parentTools[authz.WildcardTool]
			}
			if !ok {
				return nil, badInput(suggestTool(n, parentTools, "a child can only keep or narrow tools its parent grants"),
					"--tool %q is not granted by the parent warrant", n)
			}
			for k, v := range p.Constraints {
				set.Constraints[k] = v
			}
			set.AllowUnknown = p.AllowUnknown
		}
		tools[n] = set
	}
	given := map[string]string{} // TOOL.ARG → the -c that set it
	for _, spec := range g.constraints {
		lhs, rhs, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, badInput("write -c TOOL.ARG=SPEC, e.g. -c 'read_file.path=subpath:/data'", "-c %q: missing '='", spec)
		}
		tool := ""
		for n := range tools { // longest declared tool name that prefixes TOOL.ARG
			if strings.HasPrefix(lhs, n+".") && len(n) > len(tool) {
				tool = n
			}
		}
		if tool == "" {
			return nil, badInput(suggestTool(lhs, tools, "name the tool with --tool first; -c takes TOOL.ARG=SPEC"),
				"-c %q: no granted tool matches %q", spec, lhs)
		}
		arg := strings.TrimPrefix(lhs, tool+".")
		if arg == "" {
			return nil, badInput("", "-c %q: empty argument name", spec)
		}
		if prev, dup := given[tool+"."+arg]; dup {
			return nil, badInput(`one -c per argument; to require both, combine them: -c '`+tool+"."+arg+`=json:{"type":"all","constraints":[…]}'`,
				"-c %q and -c %q both constrain %s.%s", prev, spec, tool, arg)
		}
		given[tool+"."+arg] = spec
		c, err := parseConstraintSpec(rhs)
		if err != nil {
			var se *specError
			if errors.As(err, &se) {
				return nil, badInput(se.hint, "-c %q: %s", spec, se.msg)
			}
			return nil, badInput("", "-c %q: %v", spec, err)
		}
		tools[tool].Constraints[arg] = c
	}
	for _, n := range g.allowUnknown {
		set, ok := tools[n]
		if !ok {
			return nil, badInput(suggestTool(n, tools, ""), "--allow-unknown %q: not a granted tool", n)
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
			grant, err := g.grant(nil, nil)
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
			now := time.Now()
			if !key.Public().Equal(leaf.Holder) {
				return badInput("sign with the key of the parent warrant's holder (the key whose public key it was minted for)",
					"--key %s is not the holder %s of warrant %s", key.Public().Hex(), leaf.Holder.Hex(), leaf.ID)
			}
			if int64(leaf.ExpiresAt) <= now.Unix() {
				return badInput("a child cannot outlive its parent: mint (or ask for) a fresh parent warrant",
					"the parent warrant %s expired at %s", leaf.ID, time.Unix(int64(leaf.ExpiresAt), 0).UTC().Format(time.RFC3339))
			}
			if leaf.Depth >= min(leaf.MaxDepth, authz.MaxChainDepth) {
				return badInput("the parent's max_depth forbids delegating further: its issuer can mint it with a larger --max-depth",
					"the parent warrant %s is at depth %d of max %d and cannot be delegated", leaf.ID, leaf.Depth, leaf.MaxDepth)
			}
			grant, err := g.grant(parentTools, leaf)
			if err != nil {
				return err
			}
			grant.Holder = holder
			s, err := authz.Attenuate(parent, key, grant, now)
			if err != nil {
				hint := "a child may only narrow its parent: fewer tools, tighter constraints, shorter life"
				switch msg := err.Error(); {
				case strings.Contains(msg, "session id"):
					hint = "a child keeps its parent's session id: leave out --session"
				case strings.Contains(msg, "approv"):
					hint = "a child keeps its parent's approval gates and approvers (a subset of them, and at least as many approvals)"
				case strings.Contains(msg, "ttl"):
					hint = "durations look like 30s, 5m, 2h"
				}
				return &exitError{code: exitBadInput, msg: err.Error(), hint: hint}
			}
			if grant.TTL > 0 {
				if got := time.Duration(int64(s.Leaf().ExpiresAt)-now.Unix()) * time.Second; got < grant.TTL {
					fmt.Fprintf(e.stderr, "tenuo-mcp: note: --ttl %s is longer than the parent's remaining life; the child was capped at %s and expires with its parent at %s\n",
						g.ttl, got, time.Unix(int64(s.Leaf().ExpiresAt), 0).UTC().Format(time.RFC3339))
				}
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
		return nil, &specError{
			msg:  fmt.Sprintf("unknown constraint kind %q; did you mean `%s`?", kind, suggestSpec(spec, kind, arg, hasArg)),
			hint: "SPEC is KIND:VALUE, KIND one of " + strings.Join(specKinds, ", ") + ", or wildcard",
		}
	}
	if !hasArg && kind != "wildcard" && kind != "*" {
		return nil, fmt.Errorf("constraint %q needs a value after ':'", kind)
	}
	if lo, okLo := js["min"].(float64); okLo {
		if hi, okHi := js["max"].(float64); okHi && lo > hi {
			return nil, &specError{
				msg:  fmt.Sprintf("range %s is inverted: its minimum is above its maximum; did you mean `range:%s`?", arg, strings.TrimSpace(strings.SplitN(arg, "..", 2)[1])+".."+strings.TrimSpace(strings.SplitN(arg, "..", 2)[0])),
				hint: "range:MIN..MAX, the smaller bound first",
			}
		}
	}
	b, err := json.Marshal(js)
	if err != nil {
		return nil, err
	}
	return authz.ParseConstraintJSON(b)
}

// specError is a refused constraint spec with its own hint.
type specError struct{ msg, hint string }

func (e *specError) Error() string { return e.msg }

// specKinds are the KIND:VALUE forms of a constraint spec.
var specKinds = []string{"exact", "pattern", "regex", "range", "oneof", "notoneof", "cidr", "urlpattern", "subpath", "shlex", "json"}

// suggestSpec guesses the spec that was meant: a misspelt kind, or a bare
// value read by its shape (a path is a subpath, a glob a pattern, a URL a
// urlpattern, MIN..MAX a range, anything else exact).
func suggestSpec(spec, kind, arg string, hasArg bool) string {
	if hasArg && !strings.Contains(spec, "://") {
		best, bestD := "", 3
		for _, k := range specKinds {
			if d := editDistance(kind, k); d < bestD {
				best, bestD = k, d
			}
		}
		if best != "" {
			return best + ":" + arg
		}
	}
	switch {
	case strings.Contains(spec, "://"):
		return "urlpattern:" + spec
	case strings.ContainsAny(spec, "*?"):
		return "pattern:" + spec
	case strings.HasPrefix(spec, "/") || strings.HasPrefix(spec, "~"):
		return "subpath:" + spec
	case strings.Contains(spec, ".."):
		return "range:" + spec
	}
	return "exact:" + spec
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
