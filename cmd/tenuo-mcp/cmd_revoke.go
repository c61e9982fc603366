package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

func init() {
	extraCommands = append(extraCommands, newRevokeCmd, newApproveCmd)
}

func newRevokeCmd(e *env) *cobra.Command {
	var keyRef, listPath string
	var remove []string
	var version optUint
	c := &cobra.Command{
		Use:   "revoke --key REVOCATION_KEY --list FILE [WARRANT_ID|WARRANT…] [--remove ID…]",
		Short: "Make or extend a signed revocation list",
		Long: `revoke signs a revocation list (the proxy's and verify's --revocation-list)
with the revocation key and writes it to --list FILE. An existing list is read
first (it must verify under the same key): its ids are kept, the ones named
are added, --remove ones dropped, and the version goes up by one (or to
--version N, which must be higher). Versions only go up: the proxy ignores an
older list. The file is replaced atomically, so a running proxy re-reads a
whole list.

Each argument is a warrant id (tnu_wrt_…) or a warrant (text, file, or -),
whose id is taken: for a delegated stack, its leaf's, the warrant presented.
Public key for the proxy: tenuo-mcp pubkey REVOCATION_KEY.`,
		Example: `  tenuo-mcp revoke --key revocation.key --list revoked.srl agent.warrant
  tenuo-mcp revoke --key revocation.key --list revoked.srl tnu_wrt_0190f5…
  tenuo-mcp revoke --key revocation.key --list revoked.srl --remove tnu_wrt_0190f5…`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listPath == "" {
				return badInput("name the list file the proxy reads: --list revoked.srl", "--list is required")
			}
			key, err := e.loadSigningKey("key", keyRef)
			if err != nil {
				return err
			}
			ids := map[string]bool{}
			var prev *authz.RevocationList
			if b, err := readFileBounded(listPath); err == nil {
				prev, err = authz.ParseRevocationList(b, key.Public())
				if err != nil {
					return badInput("revoke extends a list signed by the same key; to start over, name a new file",
						"--list %s: %v", listPath, err)
				}
				for _, id := range prev.IDs() {
					ids[id] = true
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return badInput("", "--list: %v", err)
			}
			var added, removed []string
			for _, a := range args {
				id, err := e.revocationID(a)
				if err != nil {
					return err
				}
				if !ids[id] {
					ids[id] = true
					added = append(added, id)
				}
			}
			for _, a := range remove {
				id, err := e.revocationID(a)
				if err != nil {
					return err
				}
				if !ids[id] {
					return badInput("", "--remove %s: not on the list", id)
				}
				delete(ids, id)
				removed = append(removed, id)
			}
			next := uint64(1)
			if prev != nil {
				next = prev.Version + 1
			}
			if version.set {
				if prev != nil && version.v <= prev.Version {
					return badInput(fmt.Sprintf("versions only go up: use --version %d or more, or leave it out", prev.Version+1),
						"--version %d is not above the list's version %d", version.v, prev.Version)
				}
				next = version.v
			}
			if prev != nil && len(added) == 0 && len(removed) == 0 && !version.set {
				return badInput("name a warrant id or a warrant to revoke, or --remove ID", "nothing to change: every id named is on the list already")
			}
			list := make([]string, 0, len(ids))
			for id := range ids {
				list = append(list, id)
			}
			sort.Strings(list)
			b, err := authz.NewRevocationList(key, next, list, time.Now())
			if err != nil {
				return badInput("", "%v", err)
			}
			if err := writeAtomic(listPath, b, 0o644); err != nil {
				return badInput("", "--list: %v", err)
			}
			fmt.Fprintf(e.stdout, "%s: version %d, %d revoked", listPath, next, len(list))
			if len(added) > 0 {
				fmt.Fprintf(e.stdout, "; added %s", strings.Join(added, ", "))
			}
			if len(removed) > 0 {
				fmt.Fprintf(e.stdout, "; removed %s", strings.Join(removed, ", "))
			}
			fmt.Fprintf(e.stdout, "\nrevocation key (for --revocation-key): %s\n", key.Public().Hex())
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&keyRef, "key", "", "the revocation key (a file or env:VAR); its public key is the proxy's --revocation-key")
	f.StringVar(&listPath, "list", "", "the signed revocation list `FILE` to make or extend")
	f.StringArrayVar(&remove, "remove", nil, "take a warrant `ID` (or warrant) off the list (repeatable)")
	f.Var(&version, "version", "the new list's version (default: one above the current)")
	return c
}

// revocationID is a warrant id given as itself or as a warrant.
func (e *env) revocationID(ref string) (string, error) {
	if strings.HasPrefix(ref, authz.WarrantIDPrefix) {
		hexPart := strings.TrimPrefix(ref, authz.WarrantIDPrefix)
		if len(hexPart) != 32 || strings.Trim(strings.ToLower(hexPart), "0123456789abcdef") != "" {
			return "", badInput("a warrant id is tnu_wrt_ and 32 hex digits, as inspect shows it", "%q is not a warrant id", ref)
		}
		return strings.ToLower(ref), nil
	}
	s, err := e.loadStack("warrant", ref)
	if err != nil {
		return "", err
	}
	return s.Leaf().ID.String(), nil
}

// writeAtomic replaces path with data through a temporary file in its
// directory, so that a reader sees the old file or the new one.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newApproveCmd(e *env) *cobra.Command {
	var keyRef, warrantRef, tool, argsRef, ttlText, externalID, configPath string
	var yes bool
	c := &cobra.Command{
		Use:   "approve --key APPROVER_KEY --warrant W --tool T --args JSON [--ttl 5m]",
		Short: "Approve one call of a warrant that requires approval",
		Long: `approve signs an approval of exactly one call: this warrant, this tool, these
arguments (the request hash binds all three and the holder). It first shows
what is approved, in readable form, on standard error, and asks for
confirmation when standard input is a terminal (--yes skips the question).
It prints the approval (standard base64) on standard output: give it to
verify --approval, or put it in the call's _meta.tenuo.approvals.

The request hash covers what the warrant sees: the call's own arguments, or,
behind a proxy with a tool map, the warrant tool and the fields the map
extracts. Give approve the proxy's --config for such a call.`,
		Example: `  tenuo-mcp approve --key approver.key --warrant agent.warrant --tool write_file \
    --args '{"path":"/data/report.txt","content":"…"}' --ttl 10m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, s, rawArgs, args, err := e.loadSignedCall(keyRef, warrantRef, tool, argsRef)
			if err != nil {
				return err
			}
			ttl := 5 * time.Minute
			if ttlText != "" {
				if ttl, err = parseTTL(ttlText); err != nil {
					return err
				}
			}
			warrantTool, fields := tool, args
			if configPath != "" {
				cfg, err := toolmap.Load(configPath)
				if err != nil {
					return badInput("", "--config: %v", err)
				}
				m, err := cfg.MapCall(tool, rawArgs)
				if err != nil {
					return badInput("the call must map as the proxy maps it", "--config: %v", err)
				}
				warrantTool, fields = m.Tool, m.Fields
			}
			leaf := s.Leaf()
			listed := false
			for _, k := range leaf.RequiredApprovers {
				listed = listed || k.Equal(key.Public())
			}
			if !listed {
				hint := "this warrant names no approvers: mint it with --approver PUB"
				if len(leaf.RequiredApprovers) > 0 {
					var ks []string
					for _, k := range leaf.RequiredApprovers {
						ks = append(ks, k.Hex())
					}
					hint = "its approvers are " + strings.Join(ks, ", ")
				}
				return badInput(hint, "--key %s is not an approver of warrant %s", key.Public().Hex(), leaf.ID)
			}
			hash, err := authz.RequestHash(leaf.ID, warrantTool, fields, leaf.Holder)
			if err != nil {
				return badInput("", "request hash: %v", err)
			}
			now := time.Now()
			pretty, _ := json.MarshalIndent(json.RawMessage(rawArgs), "    ", "  ")
			w := e.stderr
			fmt.Fprintf(w, "You approve this call, once, for %s (until %s):\n", ttl, now.Add(ttl).UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "  warrant:   %s (expires %s)\n", leaf.ID, time.Unix(int64(leaf.ExpiresAt), 0).UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "  holder:    %s\n", leaf.Holder.Hex())
			fmt.Fprintf(w, "  tool:      %s\n", tool)
			fmt.Fprintf(w, "  arguments: %s\n", pretty)
			if configPath != "" {
				mapped, _ := json.MarshalIndent(fields, "    ", "  ")
				fmt.Fprintf(w, "  checked as warrant tool %s with fields (from %s): %s\n", warrantTool, configPath, mapped)
			}
			fmt.Fprintf(w, "  request:   %x\n", hash)
			if _, granted := leaf.Tools[warrantTool]; !granted && leaf.Type == authz.Execution {
				if _, any := leaf.Tools[authz.WildcardTool]; !any {
					fmt.Fprintf(w, "tenuo-mcp: warning: warrant %s does not grant %q: the call will be refused whatever its approvals\n", leaf.ID, warrantTool)
				}
			}
			if !yes && isTerminal(e.stdin) {
				fmt.Fprint(w, "Approve? [y/N] ")
				var answer string
				fmt.Fscanln(e.stdin, &answer)
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return &exitError{code: exitDenied, msg: "not approved"}
				}
			}
			a, err := authz.NewApproval(key, hash, externalID, now, ttl, nil)
			if err != nil {
				return badInput("", "%v", err)
			}
			fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(a.Bytes()))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&keyRef, "key", "", "the approver's secret key: a file or env:VAR")
	f.StringVar(&warrantRef, "warrant", "", "the warrant or stack of the call (text, file, or -)")
	f.StringVar(&tool, "tool", "", "tool name of the call")
	f.StringVar(&argsRef, "args", "{}", "the call's arguments: a JSON object, or @FILE")
	f.StringVar(&ttlText, "ttl", "", "how long the approval is valid, with its unit (default 5m)")
	f.StringVar(&externalID, "external-id", "", "the approver's identity in its own system, for audit")
	f.BoolVar(&yes, "yes", false, "do not ask for confirmation on a terminal")
	f.StringVar(&configPath, "config", "", "the proxy's tool map `FILE`, when it maps the call")
	return c
}

// isTerminal reports whether r is a character device (a terminal).
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull) // a character device too, but no terminal
	return err != nil || !os.SameFile(st, null)
}
