// Command tenuo-authorizer enforces Tenuo warrants in front of HTTP
// services: as a sidecar reverse proxy beside the tool service
// (tenuo-authorizer sidecar), or as the decision service of Envoy's
// ext_authz filter over gRPC and HTTP (tenuo-authorizer ext-authz), for
// one replica or many sharing a Redis replay store.
//
// This package holds flags and wiring only; the logic lives in gateway,
// gateway/extauthz, gateway/redisreplay and the decision point, enforce.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1 // a server failed while running
	exitBadInput = 2 // bad flags or configuration: refused to start
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, nil)
	stop()
	os.Exit(code)
}

// usageError is a setting the command refuses to start with.
type usageError struct{ hint, msg string }

func (e *usageError) Error() string { return e.msg }

func badInput(hint, format string, args ...any) error {
	return &usageError{hint: hint, msg: fmt.Sprintf(format, args...)}
}

// started, when set, is told the addresses the servers listen on (tests).
type started func(name, addr string)

// run runs the command line args until ctx is done or a server fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, onListen started) int {
	root := &cobra.Command{
		Use:           "tenuo-authorizer",
		Short:         "Enforce Tenuo warrants in front of HTTP services: sidecar or Envoy ext_authz",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.AddCommand(newSidecarCmd(ctx, stderr, getenv, onListen), newExtAuthzCmd(ctx, stderr, getenv, onListen))
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var u *usageError
	if errors.As(err, &u) || isFlagError(err) {
		fmt.Fprintf(stderr, "tenuo-authorizer: error: %v\n", err)
		if u != nil && u.hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", u.hint)
		}
		return exitBadInput
	}
	fmt.Fprintf(stderr, "tenuo-authorizer: error: %v\n", err)
	return exitFailed
}

// isFlagError reports whether cobra refused the command line itself.
func isFlagError(err error) bool {
	var fe *flagError
	return errors.As(err, &fe)
}

type flagError struct{ error }

func (e *flagError) Unwrap() error { return e.error }
