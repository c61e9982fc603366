package main

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/extauthz"
)

type extAuthzFlags struct {
	common
	grpcAddr, httpAddr string
	pathPrefix         string
}

func newExtAuthzCmd(ctx context.Context, stderr io.Writer, getenv func(string) string, onListen started) *cobra.Command {
	var f extAuthzFlags
	c := &cobra.Command{
		Use:   "ext-authz --config gateway.yaml [--grpc :9191] [--http :9192] [--admin :9193]",
		Short: "Envoy external authorization service (gRPC and HTTP) for Tenuo warrants",
		Long: `ext-authz decides the requests Envoy's ext_authz filter sends it: over gRPC
(envoy.service.auth.v3.Authorization/Check) on --grpc and in Envoy's HTTP
mode on --http (empty: off). Allowed requests go on with X-Tenuo-Warrant-Id
and without the credential headers; denied ones are answered with Tenuo's
status and JSON body. Health, readiness and metrics are served on --admin
only: behind Envoy's HTTP mode any 200 on a decision port would be an allow.
Run as many replicas as needed, with --replay-store redis://… to share
replay protection.

--config, the --trusted-root files, --revocation-list and a --warrant file
are read again when they change (every --reload-interval) and on SIGHUP:
the new configuration is swapped in whole, requests under way finish on
the one they started with, and one in doubt is refused with the reason
(file:line) in the log while the one in force keeps deciding.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if f.grpcAddr == "" && f.httpAddr == "" {
				return badInput("", "give --grpc, --http or both")
			}
			if f.pathPrefix != "" && (!strings.HasPrefix(f.pathPrefix, "/") || strings.HasSuffix(f.pathPrefix, "/")) {
				return badInput("as Envoy's path_prefix, e.g. /authz", "--path-prefix must start with / and not end with one")
			}
			b, err := f.build(stderr, getenv, enforce.FrontExtAuthz)
			if err != nil {
				return err
			}
			defer b.close()
			b.checker.EnvoyPartialBody = true
			var servers []server
			closeAll := func() {
				for _, s := range servers {
					s.l.Close()
				}
			}
			if f.grpcAddr != "" {
				l, err := listen(f.grpcAddr)
				if err != nil {
					return badInput("", "--grpc: %v", err)
				}
				g := grpc.NewServer(extauthz.ServerOptions(int(f.maxBody) + 1<<20)...)
				extauthz.New(extauthz.Config{Checker: b.checker, ForwardCredentials: f.forwardCreds}).Register(g)
				servers = append(servers, server{name: "grpc", l: l, srv: g, shutdown: func(ctx context.Context) error {
					done := make(chan struct{})
					go func() { g.GracefulStop(); close(done) }()
					select {
					case <-done:
					case <-ctx.Done():
						g.Stop()
					}
					return nil
				}})
			}
			if f.httpAddr != "" {
				l, err := listen(f.httpAddr)
				if err != nil {
					closeAll()
					return badInput("", "--http: %v", err)
				}
				hc := b.checker
				hc.PathPrefix = f.pathPrefix
				servers = append(servers, httpServer("http", l, hc.AuthzHandlerForwarding(f.forwardCreds)))
			}
			return b.run(ctx, f.admin, onListen, servers)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.grpcAddr, "grpc", ":9191", "address of the gRPC Authorization service (empty: none)")
	fl.StringVar(&f.httpAddr, "http", ":9192", "address of Envoy's HTTP ext_authz mode (empty: none)")
	fl.StringVar(&f.pathPrefix, "path-prefix", "", "the path_prefix Envoy's HTTP mode puts before each path")
	f.register(c, ":9193")
	return c
}
