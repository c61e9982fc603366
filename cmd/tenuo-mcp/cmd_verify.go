package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/revocation"
)

func newSignCmd(e *env) *cobra.Command {
	var keyRef, warrantRef, tool, argsRef, at string
	var asJSON, envelope bool
	c := &cobra.Command{
		Use:   "sign --key HOLDER_KEY --warrant W --tool T --args JSON [--at UNIX]",
		Short: "Sign a tool call (proof of possession)",
		Long: `sign prints the holder's proof-of-possession signature for one call: tool and
arguments, in the current 30-second window (or the one --at falls in). It is
standard base64; --json prints it in base64 and hex with its window, and
--envelope prints the {"tenuo": {...}} object to put in a tools/call's _meta.`,
		Example: `  tenuo-mcp sign --key agent.key --warrant agent.warrant --tool read_file \
    --args '{"path":"/data/report.txt"}'
  tenuo-mcp sign --key env:AGENT_KEY --warrant - --tool search --args @args.json --envelope`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, s, _, args, err := e.loadSignedCall(keyRef, warrantRef, tool, argsRef)
			if err != nil {
				return err
			}
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			leaf := s.Leaf()
			if !key.Public().Equal(leaf.Holder) {
				return badInput("sign with the key of the warrant's holder", "--key %s is not the holder %s of warrant %s",
					key.Public().Hex(), leaf.Holder.Hex(), leaf.ID)
			}
			sig, err := authz.SignPoP(key, leaf.ID, tool, args, now)
			if err != nil {
				return badInput("", "%v", err)
			}
			switch {
			case envelope:
				return writeJSON(e, map[string]any{"tenuo": map[string]any{
					"warrant":   s.Base64(),
					"signature": base64.RawURLEncoding.EncodeToString(sig[:]),
				}})
			case asJSON:
				return writeJSON(e, map[string]any{
					"signature_b64": base64.StdEncoding.EncodeToString(sig[:]),
					"signature_hex": hex.EncodeToString(sig[:]),
					"window":        authz.PoPWindow(now),
				})
			}
			fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(sig[:]))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&keyRef, "key", "", "holder's secret key: a file or env:VAR")
	f.StringVar(&warrantRef, "warrant", "", "the warrant or stack (text, file, or -)")
	f.StringVar(&tool, "tool", "", "tool name")
	f.StringVar(&argsRef, "args", "{}", "arguments: a JSON object, or @FILE")
	f.StringVar(&at, "at", "", "sign for the window of `TIME`: Unix seconds or RFC 3339 (default now)")
	f.BoolVar(&asJSON, "json", false, "print JSON with base64, hex and window")
	f.BoolVar(&envelope, "envelope", false, `print {"tenuo": {...}} for a tools/call's _meta`)
	return c
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkResult is one step of verify's report.
type checkResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

func result(r authz.StepResult) checkResult {
	switch {
	case r.Denial != nil:
		return checkResult{Error: r.Denial.Message, Code: int(r.Denial.Code)}
	case r.Skipped != "":
		return checkResult{Error: "not evaluated: " + r.Skipped}
	}
	return checkResult{OK: true}
}

func newVerifyCmd(e *env) *cobra.Command {
	var warrantRef, tool, argsRef, sigText, at, srlPath, srlKey string
	var roots, approvals []string
	var asJSON, strictSession bool
	var tolerance time.Duration
	c := &cobra.Command{
		Use:   "verify --warrant W --tool T --args JSON --signature S --trusted-root PUB… [flags]",
		Short: "Decide a tool call and report every check",
		Long: `verify decides one call as the proxy would (the same authorizer, with the
same clock tolerance, revocation list and session rule) and reports every
check, even after one fails, so all that is wrong shows at once: size, decode,
tool, arguments, constraints, revocation, chain (trust, signatures, links,
time), PoP, approvals. The decision, its code and message are those of the
first check that fails, in that order (the proxy's).

Exit status: 0 allow, 1 deny, 2 bad input. --at sets the verifier's clock for
every check, the PoP window included.`,
		Example: `  tenuo-mcp verify --warrant agent.warrant --tool read_file \
    --args '{"path":"/data/report.txt"}' --signature "$SIG" --trusted-root ROOT_PUB
  tenuo-mcp verify --warrant - --tool t --args @a.json --signature S --trusted-root root.pub --json < w`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tool == "" {
				return badInput("", "--tool is required")
			}
			if len(roots) == 0 {
				return badInput("pass the public key of the warrant's root issuer", "at least one --trusted-root is required")
			}
			cfg := authz.Config{ClockTolerance: tolerance, StrictSession: strictSession, CacheSize: -1}
			for _, r := range roots {
				k, err := loadPublicKey("--trusted-root", r)
				if err != nil {
					return err
				}
				cfg.TrustedRoots = append(cfg.TrustedRoots, k)
			}
			if tolerance < 0 {
				return badInput("", "--clock-tolerance must not be negative")
			}
			switch {
			case srlPath != "" && srlKey == "":
				return badInput("name the key that signs the list with --revocation-key", "--revocation-list needs --revocation-key")
			case srlPath == "" && srlKey != "":
				return badInput("", "--revocation-key without --revocation-list")
			case srlPath != "":
				k, err := loadPublicKey("--revocation-key", srlKey)
				if err != nil {
					return err
				}
				srl, err := revocation.Load(srlPath, k)
				if err != nil {
					return badInput("", "--revocation-list: %v", err)
				}
				cfg.Revoked = srl.IsRevoked
			}
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			rawArgs, err := readArgs(argsRef)
			if err != nil {
				return err
			}
			if _, err := authz.CanonicalArgs(rawArgs); err != nil {
				return badInput("arguments are one JSON object", "--args: %v", err)
			}
			sig, err := decodeSignature(sigText)
			if err != nil {
				return err
			}
			var approvalBytes [][]byte
			for i, a := range approvals {
				b, err := authz.DecodeBase64(a)
				if err != nil {
					return badInput("", "--approval %d: %v", i+1, err)
				}
				approvalBytes = append(approvalBytes, b)
			}
			text, err := e.readWarrantText("--warrant", warrantRef)
			if err != nil {
				return err
			}
			cfg.Now = func() time.Time { return now }
			az, err := authz.NewAuthorizer(cfg)
			if err != nil {
				return badInput("", "%v", err)
			}
			ex := az.Explain(&authz.Request{
				Warrant:   bytes.TrimSpace(text),
				Tool:      tool,
				Args:      rawArgs,
				Signature: sig,
				Approvals: approvalBytes,
				Now:       now,
			})
			rep := newVerifyReport(ex)
			rep.print(e, asJSON)
			if r, _ := ex.Result(authz.StepDecode); r.Denial != nil {
				return warrantProblem("--warrant", warrantRef, r.Denial)
			}
			if d := ex.Decision.Denial; !ex.Decision.Allowed && d != nil {
				if h := denialHint(d, tool); h != "" {
					fmt.Fprintf(e.stderr, "hint: %s\n", h)
				}
			}
			if rep.Decision != "allow" {
				return &exitError{code: exitDenied}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&warrantRef, "warrant", "", "the warrant or stack (text, file, or -)")
	f.StringVar(&tool, "tool", "", "tool name")
	f.StringVar(&argsRef, "args", "{}", "arguments: a JSON object, or @FILE")
	f.StringVar(&sigText, "signature", "", "PoP signature (base64 or hex)")
	f.StringArrayVar(&roots, "trusted-root", nil, "trusted root public key, hex or file (repeatable)")
	f.StringArrayVar(&approvals, "approval", nil, "signed approval, base64 (repeatable)")
	f.StringVar(&at, "at", "", "verifier clock at `TIME`: Unix seconds or RFC 3339 (default now)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&strictSession, "strict-session", false, "require one session id across the chain")
	f.DurationVar(&tolerance, "clock-tolerance", authz.DefaultClockTolerance, "tolerated clock skew for warrant times")
	f.StringVar(&srlPath, "revocation-list", "", "signed revocation list `FILE`")
	f.StringVar(&srlKey, "revocation-key", "", "public key that signs the revocation list (required with --revocation-list)")
	return c
}

// denialHint says what to do about a denial, one hint per kind of failure.
func denialHint(d *authz.Denial, tool string) string {
	if d.Tool != "" {
		tool = d.Tool
	}
	switch {
	case strings.Contains(d.Message, "does not allow unknown arguments"):
		return fmt.Sprintf("the warrant names the arguments %s may take; to let it take others, mint it with -c %s.ARG=SPEC or --allow-unknown %s. Behind the proxy, a tool map (--config) can map a server's optional arguments instead.", tool, tool, tool)
	}
	switch d.Code {
	case authz.CodeToolNotAuthorized:
		return "the warrant does not grant this tool: 'tenuo-mcp inspect' lists the tools it grants"
	case authz.CodeConstraintViolation:
		return "the arguments are outside the warrant's constraints: 'tenuo-mcp inspect' shows them"
	case authz.CodeWarrantExpired:
		return "the warrant has expired: mint (or ask for) a fresh one; 'tenuo-mcp inspect' shows its expiry"
	case authz.CodeWarrantNotYetValid, authz.CodeIssuedInFuture:
		return "the warrant is not valid yet: check the clocks of the issuer and the verifier (--clock-tolerance)"
	case authz.CodeUntrustedRoot:
		return "--trusted-root must be the public key of the key that minted the root warrant ('tenuo-mcp pubkey root.key')"
	case authz.CodePopSignatureInvalid, authz.CodePopExpired:
		return "sign with the holder's key, for exactly this tool and these arguments, within the last minute ('tenuo-mcp sign')"
	case authz.CodeWarrantRevoked:
		return "the warrant is on the revocation list: 'tenuo-mcp revoke --remove ID' takes it off, or mint a new one"
	case authz.CodeApprovalRequired:
		return "an approver signs this exact call with 'tenuo-mcp approve --key APPROVER_KEY --warrant W --tool T --args JSON'; pass it with --approval"
	case authz.CodeInsufficientApprovals:
		return "each approval must come from a distinct listed approver, for exactly this call, and be unexpired ('tenuo-mcp approve')"
	}
	return ""
}

func decodeSignature(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, badInput("make one with 'tenuo-mcp sign'", "--signature is required")
	}
	if len(s) == 2*authz.SignatureSize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	b, err := authz.DecodeBase64(s)
	if err != nil {
		return nil, badInput("the signature is base64 (either alphabet) or hex", "--signature: %v", err)
	}
	return b, nil
}

type verifyReport struct {
	Decision  string                 `json:"decision"`
	Checks    map[string]checkResult `json:"checks"`
	WarrantID string                 `json:"warrant_id,omitempty"`
	Code      int                    `json:"code,omitempty"`
	Message   string                 `json:"message,omitempty"`
	order     []string               // the checks in the order they ran
}

// newVerifyReport reports ex: every step, and the decision of Check (its
// first failure).
func newVerifyReport(ex *authz.Explanation) *verifyReport {
	r := &verifyReport{Decision: "allow", Checks: map[string]checkResult{}, WarrantID: ex.Decision.WarrantID}
	for _, s := range ex.Steps {
		r.Checks[string(s.Step)] = result(s)
		r.order = append(r.order, string(s.Step))
	}
	if d := ex.Decision.Denial; !ex.Decision.Allowed && d != nil {
		r.Decision, r.Code, r.Message = "deny", int(d.Code), d.Message
		if r.WarrantID == "" {
			r.WarrantID = d.WarrantID
		}
	}
	return r
}

func (r *verifyReport) print(e *env, asJSON bool) {
	if asJSON {
		writeJSON(e, r)
		return
	}
	for _, k := range r.order {
		c := r.Checks[k]
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		line := fmt.Sprintf("%s %-12s", mark, k)
		if c.Error != "" {
			line += " " + c.Error
		}
		fmt.Fprintln(e.stdout, strings.TrimRight(line, " "))
	}
	if r.Decision == "allow" {
		fmt.Fprintf(e.stdout, "decision: allow (warrant %s)\n", r.WarrantID)
		return
	}
	fmt.Fprintf(e.stdout, "decision: deny: %s (%d %s)\n", r.Message, r.Code, authz.Code(r.Code).Name())
}
