// Command tenuo-mcp enforces Tenuo warrants on AI agents' tool calls: it
// makes keys and warrants, signs and verifies calls, and runs the MCP
// security proxy.
//
// This package holds flag parsing and wiring only; the logic lives in the
// authz, toolmap, mcpproxy and transport packages.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK       = 0
	exitDenied   = 1 // verify: the call is denied
	exitBadInput = 2 // bad flags, unreadable input, malformed data
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env abstracts the process environment so tests can run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes the command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.msg != "" {
			printError(stderr, ex.msg, ex.hint)
		}
		return ex.code
	}
	printError(stderr, err.Error(), "")
	return exitBadInput
}

func printError(w io.Writer, msg, hint string) {
	fmt.Fprintf(w, "tenuo-mcp: error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(w, "hint: %s\n", hint)
	}
}

// exitError carries an exit code and an optional message and hint.
type exitError struct {
	code      int
	msg, hint string
}

func (e *exitError) Error() string { return e.msg }

// badInput is an exit-2 error with a hint.
func badInput(hint, format string, args ...any) error {
	return &exitError{code: exitBadInput, msg: fmt.Sprintf(format, args...), hint: hint}
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "tenuo-mcp",
		Short: "Enforce Tenuo warrants on AI agents' tool calls",
		Long: `tenuo-mcp verifies Tenuo warrants (signed, delegable capabilities) and the
holder's proof of possession on every tool call, and blocks what the warrant
does not allow before the tool runs.

Secret keys are files (PKCS#8 PEM as keygen writes them, or a seed in hex or
base64) or env:VAR, never command-line text. Public keys are hex text or files
(hex, base64 or PEM "PUBLIC KEY"); a secret key file is refused where a public
key is expected. A WARRANT is text (any base64 form or PEM), a file holding
it, or - for standard input. Arguments are JSON objects, as text or @file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		newKeygenCmd(e),
		newPubkeyCmd(e),
		newMintCmd(e),
		newAttenuateCmd(e),
		newInspectCmd(e),
		newSignCmd(e),
		newVerifyCmd(e),
	)
	for _, extra := range extraCommands {
		root.AddCommand(extra(e))
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(fmt.Sprintf("see 'tenuo-mcp %s --help'", c.Name()), "%v", err)
	})
	return root
}

// version is the release this binary reports with --version; release builds
// set it with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// extraCommands are registered by other files of this package (proxy, demo).
var extraCommands []func(*env) *cobra.Command
