package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/mcptest/spec"
)

func init() { extraCommands = append(extraCommands, newTestCmd) }

func newTestCmd(e *env) *cobra.Command {
	var (
		junit, snapshot, runRE string
		asJSON, update, stderr bool
	)
	c := &cobra.Command{
		Use:   "test SPEC.yaml [flags] [-- SERVER_COMMAND [ARGS…]]",
		Short: "Run warrant policies as tests against a real MCP server",
		Long: `test reads a spec of keys, warrants and cases, starts the MCP server it
names (or the command after --) behind the proxy's relay and enforcement
point, and makes each case's tool call with the warrant it names, presented
in _meta.tenuo or held by the proxy. Each case expects allow (optionally a
text, a JSON value or isError in the result) or deny (optionally Tenuo's
code or name). Constraints take the -c SPEC syntax or the JSON form.

--snapshot FILE records each tool's name and the hash of its canonical
definition the first time, and fails later runs when the server adds,
removes or changes a tool; --update-snapshot rewrites it.

Exit status: 0 when every case passes, 1 when one fails or the server does
not start, 2 for a spec that cannot be run (with file:line).`,
		Example: `  tenuo-mcp test policy.yaml
  tenuo-mcp test policy.yaml --junit report.xml --snapshot tools.lock
  tenuo-mcp test policy.yaml --run 'outside' -- node ./server.js`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var server []string
			if at := cmd.ArgsLenAtDash(); at >= 0 {
				if at != 1 {
					return badInput("write tenuo-mcp test SPEC.yaml [-- SERVER_COMMAND…]", "test takes one spec file before --")
				}
				server = args[1:]
				if len(server) == 0 {
					return badInput("", "no server command after --")
				}
			} else if len(args) != 1 {
				return badInput("put the server command after --: tenuo-mcp test SPEC.yaml -- my-server", "test takes one spec file")
			}
			s, err := spec.Load(args[0], parseConstraintSpec)
			if err != nil {
				return badInput("", "%v", err)
			}
			opt := spec.Options{Command: server, Snapshot: snapshot, UpdateSnapshot: update, Getenv: e.getenv}
			if update && snapshot == "" {
				return badInput("", "--update-snapshot needs --snapshot FILE")
			}
			if runRE != "" {
				if opt.Run, err = regexp.Compile(runRE); err != nil {
					return badInput("", "--run: %v", err)
				}
			}
			if stderr {
				opt.Stderr = e.stderr
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := spec.Run(ctx, s, opt)
			if err != nil {
				var se *spec.Error
				if errors.As(err, &se) {
					return badInput("", "%v", err)
				}
				return &exitError{code: 1, msg: err.Error(), hint: "run with --server-stderr to see what the server said"}
			}
			if len(rep.Cases) == 0 && opt.Run != nil {
				return badInput("", "--run %q selects no case", runRE)
			}
			if asJSON {
				if err := rep.WriteJSON(e.stdout); err != nil {
					return err
				}
			} else {
				rep.WriteText(e.stdout)
			}
			if junit != "" {
				if err := writeFileWith(junit, rep.WriteJUnit); err != nil {
					return &exitError{code: 1, msg: "--junit: " + err.Error()}
				}
			}
			if rep.Failed() > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&junit, "junit", "", "also write a JUnit XML report to `FILE`")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringVar(&runRE, "run", "", "run only the cases whose name matches `REGEX`")
	f.StringVar(&snapshot, "snapshot", "", "compare the server's tool definitions with the lock `FILE` (written when absent)")
	f.BoolVar(&update, "update-snapshot", false, "rewrite the --snapshot lock from what the server lists")
	f.BoolVar(&stderr, "server-stderr", false, "show the server's standard error")
	return c
}

// writeFileWith writes a file through write, removing it on failure.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
