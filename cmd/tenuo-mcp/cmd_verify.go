package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
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
			key, err := e.loadSigningKey("key", keyRef)
			if err != nil {
				return err
			}
			text, err := e.readWarrantText("--warrant", warrantRef)
			if err != nil {
				return err
			}
			s, err := authz.ParsePresented([]byte(strings.TrimSpace(string(text))))
			if err != nil {
				return badInput("", "--warrant: %v", err)
			}
			if tool == "" {
				return badInput("", "--tool is required")
			}
			rawArgs, err := readArgs(argsRef)
			if err != nil {
				return err
			}
			args, err := authz.CanonicalArgs(rawArgs)
			if err != nil {
				return badInput("arguments are one JSON object, e.g. '{\"path\":\"/data/x\"}'", "--args: %v", err)
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
	f.StringVar(&at, "at", "", "sign for the window of `UNIX` seconds (default now)")
	f.BoolVar(&asJSON, "json", false, "print JSON with base64, hex and window")
	f.BoolVar(&envelope, "envelope", false, `print {"tenuo": {...}} for a tools/call's _meta`)
	return c
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkResult is one independent check of verify.
type checkResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

func result(err error) checkResult {
	if err == nil {
		return checkResult{OK: true}
	}
	r := checkResult{Error: err.Error()}
	var d *authz.Denial
	if errors.As(err, &d) {
		r.Error, r.Code = d.Message, int(d.Code)
	}
	return r
}

var errNotEvaluated = errors.New("not evaluated")

func notEvaluated(why string) checkResult {
	return checkResult{Error: "not evaluated: " + why}
}

func newVerifyCmd(e *env) *cobra.Command {
	var warrantRef, tool, argsRef, sigText, at string
	var roots, approvals []string
	var asJSON, strictSession bool
	c := &cobra.Command{
		Use:   "verify --warrant W --tool T --args JSON --signature S --trusted-root PUB… [flags]",
		Short: "Decide a tool call and report every check",
		Long: `verify decides one call as the proxy would and reports every check on its own,
even after one fails, so all that is wrong shows at once: decode, chain (trust,
signatures, links, time), tool, constraints, PoP, approvals.

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
			var trusted []authz.PublicKey
			for _, r := range roots {
				k, err := loadPublicKey("--trusted-root", r)
				if err != nil {
					return err
				}
				trusted = append(trusted, k)
			}
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			rawArgs, err := readArgs(argsRef)
			if err != nil {
				return err
			}
			args, err := authz.CanonicalArgs(rawArgs)
			if err != nil {
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

			rep := verifyReport{Checks: map[string]checkResult{}}
			stack, decErr := authz.ParsePresented([]byte(strings.TrimSpace(string(text))))
			rep.Checks["decode"] = result(decErr)
			if decErr != nil {
				why := "the warrant did not decode"
				for _, k := range []string{"chain", "tool", "constraints", "pop", "approvals"} {
					rep.Checks[k] = notEvaluated(why)
				}
				rep.finish(decErr)
				rep.print(e, asJSON)
				return badInput("the warrant must be base64 (standard or URL-safe) or PEM of a Tenuo warrant or stack", "--warrant: %v", decErr)
			}
			leaf := stack.Leaf()
			rep.WarrantID = leaf.ID.String()
			_, chainErr := authz.VerifyChain(stack, authz.ChainOptions{TrustedRoots: trusted, Now: now,
				ClockTolerance: authz.DefaultClockTolerance, StrictSession: strictSession})
			rep.Checks["chain"] = result(chainErr)
			set, toolErr := authz.ToolPolicy(&leaf.Payload, tool)
			rep.Checks["tool"] = result(toolErr)
			var conErr error = errNotEvaluated
			if toolErr == nil {
				conErr = authz.CheckConstraints(set, args, now)
				rep.Checks["constraints"] = result(conErr)
			} else {
				rep.Checks["constraints"] = notEvaluated("the tool is not granted")
			}
			popErr := authz.VerifyPoP(leaf.Holder, leaf.ID, tool, args, sig, now)
			rep.Checks["pop"] = result(popErr)
			apprErr := authz.CheckApprovals(&leaf.Payload, tool, args, approvalBytes, now, authz.DefaultClockTolerance)
			rep.Checks["approvals"] = result(apprErr)
			rep.finish(chainErr, toolErr, conErr, popErr, apprErr)
			rep.print(e, asJSON)
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
	f.StringVar(&at, "at", "", "verifier clock, `UNIX` seconds (default now)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&strictSession, "strict-session", false, "require one session id across the chain")
	return c
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
}

// finish sets the decision from the first failing check, in check order.
func (r *verifyReport) finish(errs ...error) {
	r.Decision = "allow"
	for _, err := range errs {
		if err == nil {
			continue
		}
		if errors.Is(err, errNotEvaluated) {
			continue
		}
		r.Decision = "deny"
		d := authz.AsDenial(err)
		r.Code, r.Message = int(d.Code), d.Message
		return
	}
}

var checkOrder = []string{"decode", "chain", "tool", "constraints", "pop", "approvals"}

func (r *verifyReport) print(e *env, asJSON bool) {
	if asJSON {
		writeJSON(e, r)
		return
	}
	for _, k := range checkOrder {
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
