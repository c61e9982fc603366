package authz

import (
	"errors"
	"fmt"
	"sort"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// ApprovalGate is one tool's entry of the tenuo.approval_gates extension:
// with Args nil every call of the tool needs approval; otherwise a call needs
// approval when one of the gated arguments fires (an absent gated argument
// fires too).
type ApprovalGate struct {
	Args map[string]ArgGate
}

// ArgGate gates one argument: All fires on any value, When on the values it
// matches, Unless on the values it does not match (an exemption). Exactly
// one is set.
type ArgGate struct {
	All    bool
	When   Constraint
	Unless Constraint
}

// AppendApprovalGates returns a tenuo.approval_gates extension value holding
// existing's entries, byte for byte (a delegated warrant must keep its
// parent's gates unchanged), and gates. A tool gated in both is refused.
// existing may be empty.
func AppendApprovalGates(existing []byte, gates map[string]ApprovalGate) ([]byte, error) {
	entries := map[string][]byte{}
	if len(existing) > 0 {
		it, err := cbor.Decode(existing, cbor.Limits{MaxDepth: MaxConstraintNesting + 8})
		if err != nil || it.Kind != cbor.KindMap {
			return nil, fmt.Errorf("existing %s: not a CBOR map", ExtApprovalGates)
		}
		if _, err := parseApprovalGates(existing); err != nil {
			return nil, err
		}
		for i := range it.Pairs {
			entries[it.Pairs[i].Key.Text()] = it.Pairs[i].Value.Raw
		}
	}
	for tool, g := range gates {
		if tool == "" {
			return nil, errors.New("approval gate: empty tool name")
		}
		if _, ok := entries[tool]; ok {
			return nil, fmt.Errorf("tool %q is already gated (a delegated warrant keeps its parent's gate unchanged)", tool)
		}
		b := cbor.AppendMapHeader(nil, 1)
		b = cbor.AppendText(b, "args")
		if g.Args == nil {
			b = cbor.AppendNull(b)
			entries[tool] = b
			continue
		}
		if len(g.Args) == 0 {
			return nil, fmt.Errorf("approval gate on %q: no arguments named (nil Args gates every call)", tool)
		}
		b = cbor.AppendMapHeader(b, len(g.Args))
		for _, arg := range cbor.SortedKeys(g.Args) {
			ag := g.Args[arg]
			n := 0
			for _, set := range []bool{ag.All, ag.When != nil, ag.Unless != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return nil, fmt.Errorf("approval gate on %s.%s: set exactly one of All, When, Unless", tool, arg)
			}
			b = cbor.AppendText(b, arg)
			var err error
			switch {
			case ag.All:
				b = cbor.AppendText(b, "all")
			case ag.When != nil:
				b, err = appendConstraint(b, ag.When, 0)
			default:
				b = cbor.AppendMapHeader(b, 1)
				b = cbor.AppendText(b, "exempt")
				b, err = appendConstraint(b, ag.Unless, 0)
			}
			if err != nil {
				return nil, fmt.Errorf("approval gate on %s.%s: %w", tool, arg, err)
			}
		}
		entries[tool] = b
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)
	out := cbor.AppendMapHeader(nil, len(names))
	for _, n := range names {
		out = cbor.AppendText(out, n)
		out = append(out, entries[n]...)
	}
	if _, err := parseApprovalGates(out); err != nil {
		return nil, err
	}
	return out, nil
}

// ApprovalGateText describes a warrant's tenuo.approval_gates for people,
// one line per tool ("read_file: every call", "write_file: path matches
// Pattern(...)"); nil when it has none.
func ApprovalGateText(p *Payload) ([]string, error) {
	gates, err := p.approvalGates()
	if err != nil || gates == nil {
		return nil, err
	}
	var out []string
	for _, tool := range cbor.SortedKeys(gates) {
		g := gates[tool]
		if g.whole {
			out = append(out, tool+": every call")
			continue
		}
		for _, arg := range cbor.SortedKeys(g.args) {
			ag := g.args[arg]
			switch ag.kind {
			case gateAll:
				out = append(out, fmt.Sprintf("%s: any %s", tool, arg))
			case gateConstraint:
				out = append(out, fmt.Sprintf("%s: %s matching %s", tool, arg, ag.c))
			case gateExempt:
				out = append(out, fmt.Sprintf("%s: %s not matching %s", tool, arg, ag.c))
			}
		}
	}
	return out, nil
}
