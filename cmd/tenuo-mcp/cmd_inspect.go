package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

func newInspectCmd(e *env) *cobra.Command {
	var asJSON bool
	var at string
	c := &cobra.Command{
		Use:   "inspect WARRANT [--json]",
		Short: "Show every warrant of a stack, decoded",
		Long: `inspect decodes a warrant or stack (no signature is checked; use verify for
that) and shows each warrant: id, type, tools and constraints, holder, issuer,
issue and expiry times, depth and parent hash.`,
		Example: `  tenuo-mcp inspect "$(cat agent.warrant)"
  tenuo-mcp inspect - --json < agent.warrant`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := e.loadStack("WARRANT", args[0])
			if err != nil {
				return err
			}
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"warrants": stackJSON(s, now)})
			}
			printStackText(e.stdout, s, now)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().StringVar(&at, "at", "", "judge expiry as of `TIME`: Unix seconds or RFC 3339 (default now)")
	return c
}

func stackJSON(s authz.Stack, now time.Time) []any {
	out := make([]any, 0, len(s))
	for _, w := range s {
		m := map[string]any{
			"id":         w.ID.String(),
			"type":       w.Type.String(),
			"holder":     w.Holder.Hex(),
			"issuer":     w.Issuer.Hex(),
			"issued_at":  w.IssuedAt,
			"expires_at": w.ExpiresAt,
			"expired":    int64(w.ExpiresAt) < now.Unix(),
			"depth":      w.Depth,
			"max_depth":  w.MaxDepth,
		}
		if w.ParentHash != nil {
			m["parent_hash"] = hex.EncodeToString(w.ParentHash[:])
		}
		if w.Type == authz.Execution {
			tools := map[string]any{}
			for name, set := range w.Tools {
				tools[name] = setJSON(set)
			}
			m["tools"] = tools
		}
		if w.IssuableTools != nil {
			m["issuable_tools"] = w.IssuableTools
		}
		if w.ConstraintBounds != nil {
			m["constraint_bounds"] = setJSON(*w.ConstraintBounds)
		}
		if w.MaxIssueDepth != nil {
			m["max_issue_depth"] = *w.MaxIssueDepth
		}
		if w.Clearance != nil {
			m["clearance"] = *w.Clearance
		}
		if len(w.RequiredApprovers) > 0 {
			var ks []string
			for _, k := range w.RequiredApprovers {
				ks = append(ks, k.Hex())
			}
			m["required_approvers"] = ks
		}
		if w.MinApprovals != nil {
			m["min_approvals"] = *w.MinApprovals
		}
		if lines, err := authz.ApprovalGateText(&w.Payload); err == nil && lines != nil {
			m["approval_gates"] = lines
		}
		if len(w.Extensions) > 0 {
			ext := map[string]string{}
			for k, v := range w.Extensions {
				ext[k] = extText(v)
			}
			m["extensions"] = ext
		}
		out = append(out, m)
	}
	return out
}

func setJSON(set authz.ConstraintSet) map[string]any {
	cs := map[string]any{}
	for arg, c := range set.Constraints {
		cs[arg] = authz.ConstraintJSON(c)
	}
	return map[string]any{"constraints": cs, "allow_unknown": set.AllowUnknown}
}

// extText shows an extension value as text when it is printable UTF-8, else hex.
func extText(v []byte) string {
	s := string(v)
	printable := true
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			printable = false
		}
	}
	if printable {
		return s
	}
	return "hex:" + hex.EncodeToString(v)
}

func printStackText(w io.Writer, s authz.Stack, now time.Time) {
	for i, wr := range s {
		if i > 0 {
			fmt.Fprintln(w)
		}
		role := "root"
		if i > 0 {
			role = "delegated"
		}
		fmt.Fprintf(w, "warrant %d of %d (%s)\n", i+1, len(s), role)
		fmt.Fprintf(w, "  id:        %s\n", wr.ID)
		fmt.Fprintf(w, "  type:      %s\n", wr.Type)
		fmt.Fprintf(w, "  holder:    %s\n", wr.Holder.Hex())
		fmt.Fprintf(w, "  issuer:    %s\n", wr.Issuer.Hex())
		fmt.Fprintf(w, "  issued:    %s\n", timeText(wr.IssuedAt))
		fmt.Fprintf(w, "  expires:   %s (%s)\n", timeText(wr.ExpiresAt), validity(wr.ExpiresAt, now))
		fmt.Fprintf(w, "  depth:     %d of max %d\n", wr.Depth, wr.MaxDepth)
		if wr.ParentHash != nil {
			fmt.Fprintf(w, "  parent:    sha256:%s\n", hex.EncodeToString(wr.ParentHash[:]))
		}
		if wr.Clearance != nil {
			fmt.Fprintf(w, "  clearance: %d\n", *wr.Clearance)
		}
		for _, k := range sortedKeys(wr.Extensions) {
			if k == authz.ExtApprovalGates {
				if lines, err := authz.ApprovalGateText(&wr.Payload); err == nil {
					fmt.Fprintf(w, "  approval gates (calls that need approval):\n")
					for _, l := range lines {
						fmt.Fprintf(w, "    - %s\n", l)
					}
					continue
				}
			}
			fmt.Fprintf(w, "  extension: %s = %s\n", k, extText(wr.Extensions[k]))
		}
		if len(wr.RequiredApprovers) > 0 {
			need := uint64(len(wr.RequiredApprovers))
			if wr.MinApprovals != nil {
				need = *wr.MinApprovals
			}
			fmt.Fprintf(w, "  approvals: %d of %d approvers\n", need, len(wr.RequiredApprovers))
			for _, k := range wr.RequiredApprovers {
				fmt.Fprintf(w, "    - %s\n", k.Hex())
			}
		}
		if wr.Type == authz.Execution {
			fmt.Fprintf(w, "  tools:\n")
			if len(wr.Tools) == 0 {
				fmt.Fprintf(w, "    (none)\n")
			}
			for _, name := range sortedKeys(wr.Tools) {
				printSet(w, "    "+name, wr.Tools[name])
			}
		} else {
			fmt.Fprintf(w, "  issuable tools: %s\n", strings.Join(wr.IssuableTools, ", "))
			if wr.ConstraintBounds != nil {
				printSet(w, "  bounds", *wr.ConstraintBounds)
			}
		}
	}
}

func printSet(w io.Writer, label string, set authz.ConstraintSet) {
	if len(set.Constraints) == 0 {
		fmt.Fprintf(w, "%s: any arguments\n", label)
		return
	}
	extra := "other arguments: refused"
	if set.AllowUnknown {
		extra = "other arguments: allowed"
	}
	fmt.Fprintf(w, "%s: (%s)\n", label, extra)
	for _, arg := range sortedKeys(set.Constraints) {
		fmt.Fprintf(w, "%s    %s: %s\n", strings.Repeat(" ", len(label)-len(strings.TrimLeft(label, " "))), arg, set.Constraints[arg])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func timeText(t uint64) string {
	if t > 1<<40 {
		return fmt.Sprintf("%d", t)
	}
	return fmt.Sprintf("%s (%d)", time.Unix(int64(t), 0).UTC().Format(time.RFC3339), t)
}

func validity(exp uint64, now time.Time) string {
	d := time.Duration(int64(exp)-now.Unix()) * time.Second
	if d <= 0 {
		return "expired " + humanDuration(-d) + " ago"
	}
	return "valid for " + humanDuration(d)
}

// humanDuration shows days beyond two days, else Go's h/m/s form.
func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%s", days, (d - days*24*time.Hour).Truncate(time.Hour))
	}
	return d.String()
}
