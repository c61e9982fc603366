package main

import (
	"context"
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
)

type sidecarFlags struct {
	common
	listen   string
	upstream string
}

func newSidecarCmd(ctx context.Context, stderr io.Writer, getenv func(string) string, onListen started) *cobra.Command {
	var f sidecarFlags
	c := &cobra.Command{
		Use:   "sidecar --upstream URL --config gateway.yaml [flags]",
		Short: "Reverse proxy beside the tool service: forwards only the requests a warrant allows",
		Long: `sidecar listens for the tool service's clients, decides each request by the
routes of --config (Tenuo's gateway.yaml) and the warrant, proof of
possession and approvals in its headers, and forwards only allowed requests
to --upstream, without the credential headers and with X-Tenuo-Warrant-Id.
Denials answer with the status and JSON body of Tenuo's authorizer.
--listen unix:/path serves a Unix socket (mode 0660) for same-pod clients.

--config, the --trusted-root files, --revocation-list and a --warrant file
are read again when they change (every --reload-interval) and on SIGHUP:
the new configuration is swapped in whole, requests under way finish on
the one they started with, and one in doubt is refused with the reason
(file:line) in the log while the one in force keeps deciding.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if f.upstream == "" {
				return badInput("the tool service's base URL, e.g. http://127.0.0.1:8000", "--upstream is required")
			}
			up, err := url.Parse(f.upstream)
			if err != nil {
				return badInput("", "--upstream: %v", err)
			}
			b, err := f.build(stderr, getenv, enforce.FrontSidecar)
			if err != nil {
				return err
			}
			defer b.close()
			sc, err := gateway.NewSidecar(gateway.SidecarConfig{Checker: b.checker, Upstream: up,
				ForwardCredentials: f.forwardCreds, Log: b.log})
			if err != nil {
				return badInput("", "--upstream: %v", err)
			}
			l, err := listen(f.listen)
			if err != nil {
				return badInput("", "--listen: %v", err)
			}
			return b.run(ctx, f.admin, onListen, []server{httpServer("sidecar", l, sc)})
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", ":9090", "address to serve on: host:port, or unix:PATH")
	fl.StringVar(&f.upstream, "upstream", "", "the tool service's base URL (required)")
	f.register(c, ":9091")
	return c
}
