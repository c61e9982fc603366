// Command httpapi is an HTTP tool API behind guard's net/http middleware:
// every request is decided from its X-Tenuo-Warrant and X-Tenuo-PoP headers
// and the tool its route maps to before the handler runs; /healthz is exempt.
//
//	go run ./examples/httpapi                         # demonstration: serve, call, exit
//	go run ./examples/httpapi -serve :8080 -root HEX  # serve, trusting the root key HEX
//
// The demonstration serves on a loopback port and calls it as an agent
// holding a warrant for read_file on reports/* and write_note.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// routes maps the API to warrant tools and the fields their constraints see.
const routes = `version: "1"
tools:
  read_file:
    constraints:
      name: {from: path, path: name, required: true}
  write_note:
    constraints:
      title: {path: title, required: true, type: string}
      body: {path: body, type: string}
routes:
  - pattern: "/files/{name}"
    method: GET
    tool: read_file
  - pattern: "/notes"
    method: POST
    tool: write_note
`

// newHandler returns the API behind the middleware, trusting root.
func newHandler(root authz.PublicKey, audit io.Writer) (http.Handler, error) {
	tm, err := toolmap.Parse([]byte(routes), "routes.yaml")
	if err != nil {
		return nil, err
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root}})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "contents of %s\n", r.PathValue("name"))
	})
	mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body) // the very bytes the middleware decided
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "stored %d bytes\n", len(b))
	})
	mw := &guard.HTTP{Point: &enforce.Point{Authorizer: az, ToolMap: tm, Audit: audit}, Exempt: []string{"/healthz"}}
	return mw.Wrap(mux), nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "httpapi: error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("httpapi", flag.ContinueOnError)
	serve := fs.String("serve", "", "serve on this address instead of the demonstration")
	rootHex := fs.String("root", "", "trusted root public key (hex), with -serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *serve != "" {
		root, err := authz.ParsePublicKey(*rootHex)
		if err != nil {
			return fmt.Errorf("-root: %w", err)
		}
		h, err := newHandler(root, os.Stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
		srv := &http.Server{Addr: *serve, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return demo(ctx, out)
}

func demoKey(b byte) *authz.SigningKey {
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
	if err != nil {
		panic(err) // a 32-byte seed is always a key
	}
	return k
}

func demo(ctx context.Context, out io.Writer) error {
	issuer, agent := demoKey(1), demoKey(2)
	w, err := authz.Mint(issuer, authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{
		"read_file":  {Constraints: map[string]authz.Constraint{"name": &authz.Pattern{Pattern: "report-*"}}},
		"write_note": {Constraints: map[string]authz.Constraint{"title": &authz.Pattern{Pattern: "*"}, "body": &authz.Pattern{Pattern: "*"}}},
	}}, time.Now())
	if err != nil {
		return err
	}
	stack := authz.Stack{w}
	h, err := newHandler(issuer.Public(), io.Discard)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	// call makes a request as the agent: the PoP covers the fields the
	// route extracts (Tenuo's HTTP clients sign those, not the raw body).
	call := func(method, path, body string, fields map[string]any, tool string, withWarrant bool) error {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		if withWarrant {
			sig, err := authz.SignPoP(agent, stack.Leaf().ID, tool, fields, time.Now())
			if err != nil {
				return err
			}
			req.Header.Set("X-Tenuo-Warrant", stack.Base64())
			req.Header.Set("X-Tenuo-PoP", base64.RawURLEncoding.EncodeToString(sig[:]))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %s -> %d %s\n", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
		return nil
	}
	for _, err := range []error{
		call("GET", "/healthz", "", nil, "", false),
		call("GET", "/files/report-q3.pdf", "", map[string]any{"name": "report-q3.pdf"}, "read_file", true),
		call("GET", "/files/payroll.csv", "", map[string]any{"name": "payroll.csv"}, "read_file", true),
		call("POST", "/notes", `{"title":"q3","body":"up 4%"}`, map[string]any{"title": "q3", "body": "up 4%"}, "write_note", true),
		call("GET", "/files/report-q3.pdf", "", nil, "", false),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
