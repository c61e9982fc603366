package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/internal/enforceflags"
	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
	"github.com/tenuo-mcp/tenuo-mcp/transport/mcphttp"
)

func init() { extraCommands = append(extraCommands, newServeCmd) }

// headerWarrant is the header a remote client presents its warrant in.
const headerWarrant = "X-Tenuo-Warrant"

// minTokenLen is the shortest inbound bearer token accepted in a token file.
const minTokenLen = 16

// serveFlags are serve's settings: the enforcement flags every enforcing
// command shares, the stdio server's, and the endpoint's own.
type serveFlags struct {
	enforceflags.Flags
	env, passEnv []string
	maxLine      int
	cpuProfile   string

	upstreamURL       string
	upstreamTransport string
	upstreamHeaders   []string

	listen           string
	allowOrigins     []string
	allowHosts       []string
	tokenFile        string
	callersFile      string
	tlsCert, tlsKey  string
	maxBody          int64
	maxSessions      int
	maxPerClient     int
	maxInFlight      int
	maxInFlightTotal int
	idle             time.Duration
	shutdown         time.Duration
	readHeader       time.Duration
	readBody         time.Duration
	maxConns         int
	maxConnsPerAddr  int
}

func (f *serveFlags) register(c *cobra.Command) {
	fl := c.Flags()
	f.Flags.Register(fl)
	fl.StringArrayVar(&f.env, "env", nil, "set K=V in each server's environment (repeatable)")
	fl.StringArrayVar(&f.passEnv, "pass-env", nil, "pass variable K from the proxy's environment to each server (repeatable)")
	fl.IntVar(&f.maxLine, "max-message", transport.DefaultMaxLine, "largest JSON-RPC message in bytes from a server")
	fl.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of serve to `FILE` (diagnostics)")
	fl.MarkHidden("cpu-profile")
	fl.StringVar(&f.upstreamURL, "upstream-url", "", "relay to the MCP server at `URL` instead of a command: each client session gets its own upstream session")
	fl.StringVar(&f.upstreamTransport, "upstream-transport", "streamable", "the --upstream-url's transport: streamable (HTTP) or sse (legacy HTTP+SSE)")
	fl.StringArrayVar(&f.upstreamHeaders, "upstream-header", nil, "send 'Name: value' to the --upstream-url (its own credentials; the client's are never forwarded; repeatable)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`ADDR` to listen on (loopback unless told otherwise; port 0 picks a free one)")
	fl.StringArrayVar(&f.allowOrigins, "allow-origin", nil, "a browser Origin allowed besides loopback ones, e.g. https://app.example (repeatable)")
	fl.StringArrayVar(&f.allowHosts, "allow-host", nil, "a Host name requests may carry besides loopback ones, e.g. mcp.example behind a reverse proxy (repeatable; when given off loopback, only these)")
	fl.StringVar(&f.tokenFile, "auth-token-file", "", "require a bearer token from `FILE` (one per line, at least 16 characters; # comments)")
	fl.StringVar(&f.callersFile, "callers", "", "require a bearer token from the callers `FILE` (YAML), which maps each token to its caller's own held warrant and key; reloaded when it or a file it names changes, and on SIGHUP")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM; with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the certificate's private key `FILE` (PEM)")
	fl.Int64Var(&f.maxBody, "max-body", mcphttp.DefaultMaxBody, "largest POST body in bytes")
	fl.IntVar(&f.maxSessions, "max-sessions", mcphttp.DefaultMaxSessions, "most open sessions (each has its own server process); past it 503")
	fl.IntVar(&f.maxPerClient, "max-sessions-per-client", mcphttp.DefaultMaxSessionsPerClient, "most open sessions of one client (token, or address); past it 429")
	fl.IntVar(&f.maxInFlight, "max-in-flight", mcphttp.DefaultMaxInFlight, "most requests awaiting answers in one session; past it 429")
	fl.IntVar(&f.maxInFlightTotal, "max-in-flight-total", mcphttp.DefaultMaxInFlightTotal, "most requests awaiting answers in all; past it 503")
	fl.DurationVar(&f.idle, "session-idle-timeout", mcphttp.DefaultIdleTimeout, "close a session (and its server) idle for this long")
	fl.DurationVar(&f.shutdown, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long calls in flight may take to finish")
	fl.DurationVar(&f.readHeader, "read-header-timeout", 10*time.Second, "close a connection that has not sent a request's headers within this long (new connections too)")
	fl.DurationVar(&f.readBody, "read-timeout", 60*time.Second, "answer 400 to a request whose headers and body take longer than this to arrive (an answer may take longer)")
	fl.IntVar(&f.maxConns, "max-connections", defaultMaxConns, "most open client connections; past it 503 with Retry-After")
	fl.IntVar(&f.maxConnsPerAddr, "max-connections-per-client", defaultMaxConnsPerAddr, "most open connections from one client IP address; past it 429 with Retry-After")
}

// endpoint is what serve's own flags built.
type endpoint struct {
	ln      net.Listener
	url     string
	tokens  [][sha256.Size]byte // digests of the accepted bearer tokens
	origins []string
	hosts   []string // --allow-host names, lower case
	tls     *tls.Config
	upHdr   http.Header // sent to an HTTP upstream
	// loopback is set when it listens on a loopback address only.
	loopback bool
	// callers, with --callers, maps bearer tokens to callers and their
	// held warrants.
	callers *callersFile
}

// authenticated reports whether inbound authentication is on.
func (ep *endpoint) authenticated() bool { return ep.tokens != nil || ep.callers != nil }

// clientKey names the caller of r by its bearer token ("" for none).
func (ep *endpoint) clientKey(r *http.Request) string {
	if ep.callers != nil {
		if c := ep.callers.table().match(r); c != nil {
			return c.key
		}
		return ""
	}
	if i := ep.tokenIndex(r); i >= 0 {
		return "token-" + strconv.Itoa(i)
	}
	return ""
}

// heldFor returns the held warrant of the caller a session's key names, nil
// when it has none (or is no longer in the callers file with that token).
func (ep *endpoint) heldFor(client string) *enforce.HeldWarrant {
	if ep.callers == nil {
		return nil
	}
	if c := ep.callers.table().byKey[client]; c != nil {
		return c.held
	}
	return nil
}

// callerGone reports whether a session's client key names a caller the
// callers file in force no longer has (dropped, or its token replaced).
func (ep *endpoint) callerGone(client string) bool {
	return ep.callers != nil && ep.callers.table().byKey[client] == nil
}

// build validates every setting, refusing to start on any doubt.
func (f *serveFlags) build(e *env) (*enforceflags.Enforcement, *endpoint, error) {
	if f.maxLine < 1024 {
		return nil, nil, badInput("", "--max-message must be at least 1024 bytes")
	}
	if f.maxBody < 1024 {
		return nil, nil, badInput("", "--max-body must be at least 1024 bytes")
	}
	for name, v := range map[string]int{"--max-sessions": f.maxSessions, "--max-sessions-per-client": f.maxPerClient, "--max-in-flight": f.maxInFlight, "--max-in-flight-total": f.maxInFlightTotal,
		"--max-connections": f.maxConns, "--max-connections-per-client": f.maxConnsPerAddr} {
		if v < 1 {
			return nil, nil, badInput("", "%s must be at least 1", name)
		}
	}
	if f.idle < time.Second || f.shutdown <= 0 {
		return nil, nil, badInput("", "--session-idle-timeout must be at least 1s and --shutdown-timeout positive")
	}
	if f.readHeader < 100*time.Millisecond || f.readBody < f.readHeader {
		return nil, nil, badInput("", "--read-header-timeout must be at least 100ms and --read-timeout at least as long")
	}
	ep := &endpoint{upHdr: http.Header{}}
	switch f.upstreamTransport {
	case "streamable", "sse":
	default:
		return nil, nil, badInput("", "--upstream-transport must be streamable or sse, got %q", f.upstreamTransport)
	}
	if f.upstreamURL != "" {
		u, err := url.Parse(f.upstreamURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, nil, badInput("e.g. --upstream-url http://127.0.0.1:3001/mcp", "--upstream-url %q is not an http(s) URL without credentials in it", f.upstreamURL)
		}
	}
	for _, h := range f.upstreamHeaders {
		k, v, ok := strings.Cut(h, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return nil, nil, badInput("e.g. --upstream-header 'Authorization: Bearer TOKEN'", "--upstream-header %q is not Name: value", h)
		}
		ep.upHdr.Add(k, strings.TrimSpace(v))
	}
	for _, o := range f.allowOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, nil, badInput("an origin is scheme://host[:port], e.g. https://app.example", "--allow-origin %q is not an origin", o)
		}
		ep.origins = append(ep.origins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	for _, h := range f.allowHosts {
		if h == "" || strings.ContainsAny(h, ":/[]@ \t") {
			return nil, nil, badInput("a host is a name or IPv4 address without port, e.g. mcp.example", "--allow-host %q is not a host name", h)
		}
		ep.hosts = append(ep.hosts, strings.ToLower(strings.TrimSuffix(h, ".")))
	}
	if f.tokenFile != "" && f.callersFile != "" {
		return nil, nil, badInput("put every token in the callers file (a caller without warrant and key presents its own)", "--auth-token-file and --callers both name inbound tokens")
	}
	if f.tokenFile != "" {
		toks, err := readTokens(f.tokenFile)
		if err != nil {
			return nil, nil, err
		}
		ep.tokens = toks
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, nil, badInput("", "--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, nil, badInput("", "--tls-cert/--tls-key: %v", err)
		}
		ep.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return nil, nil, badInput("e.g. --listen 127.0.0.1:8080", "--listen %q: %v", f.listen, err)
	}
	loopback := host != "" && mcphttp.IsLoopbackHost(host)
	f.Flags.HeldPerCaller = f.callersFile != ""
	en, err := f.Flags.Build(loader{e}, e.stderr)
	if u, ok := enforceflags.AsUsage(err); ok {
		return nil, nil, badInput(u.Hint, "%s", u.Msg)
	}
	if err != nil {
		return nil, nil, err
	}
	if f.callersFile != "" {
		if en.Point.Held != nil {
			en.Close()
			return nil, nil, badInput("give each caller its warrant in the callers file", "--callers and a held warrant for everyone (--warrant, TENUO_WARRANT) do not go together")
		}
		cf, err := newCallersFile(f.callersFile, func() *authz.Authorizer { return en.Current().Authorizer }, func(format string, args ...any) { fmt.Fprintf(e.stderr, format, args...) })
		if err != nil {
			en.Close()
			return nil, nil, err
		}
		ep.callers = cf
	}
	if en.Point.Held != nil && !loopback && !ep.authenticated() {
		en.Close()
		return nil, nil, badInput("listen on loopback, or require inbound tokens with --auth-token-file",
			"refusing to hand the held warrant (--warrant) to everyone who can reach %s: a non-loopback address needs inbound authentication", f.listen)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		en.Close()
		return nil, nil, badInput("", "--listen: %v", err)
	}
	ep.ln, ep.loopback = ln, loopback
	scheme := "http"
	if ep.tls != nil {
		scheme = "https"
	}
	ep.url = scheme + "://" + ln.Addr().String()
	if !loopback && ep.tls == nil {
		en.Log.Warn("serving MCP without TLS on a non-loopback address: tokens and warrants cross the network in clear", "listen", f.listen)
	}
	return en, ep, nil
}

// readTokens reads an inbound token file: one token per line, blank lines
// and # comments skipped. Only digests are kept.
func readTokens(path string) ([][sha256.Size]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput("", "--auth-token-file: %v", err)
	}
	var out [][sha256.Size]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(line) < minTokenLen || strings.ContainsAny(line, " \t") {
			return nil, badInput("make tokens long and random, e.g. openssl rand -hex 32", "--auth-token-file line %d: a token is at least %d characters without spaces", n, minTokenLen)
		}
		out = append(out, sha256.Sum256([]byte(line)))
	}
	if len(out) == 0 {
		return nil, badInput("", "--auth-token-file %s holds no token", path)
	}
	return out, nil
}

// tokenIndex returns which token r presents (Authorization: Bearer), or -1.
// Every token is compared, in constant time, whatever matched. A token is
// read from the Authorization header only, never from the URL, where logs
// and browser history keep it.
func (ep *endpoint) tokenIndex(r *http.Request) int {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return -1
	}
	d := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	found := -1
	for i, t := range ep.tokens {
		if subtle.ConstantTimeCompare(d[:], t[:]) == 1 {
			found = i
		}
	}
	return found
}

// hostOK admits a request whose Host names this endpoint: on a loopback
// address, a loopback name or address (or an --allow-host name), so that a
// web page whose own name an attacker re-points at 127.0.0.1 (DNS
// rebinding), whose same-origin GETs carry no Origin, is refused; off
// loopback, with --allow-host, those names (or loopback ones), else any.
func (ep *endpoint) hostOK(r *http.Request) bool {
	if !ep.loopback && ep.hosts == nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host != "" && (mcphttp.IsLoopbackHost(host) || slices.Contains(ep.hosts, host))
}

// originOK admits loopback origins and the --allow-origin ones.
func (ep *endpoint) originOK(u *url.URL, _ *http.Request) bool {
	return mcphttp.IsLoopbackHost(u.Hostname()) || slices.Contains(ep.origins, u.Scheme+"://"+strings.ToLower(u.Host))
}

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve [flags] (--upstream-url URL | -- SERVER_COMMAND [ARGS…])",
		Short: "Serve the MCP security proxy over HTTP (streamable HTTP and SSE) for remote agents",
		Long: `serve is the MCP security proxy as a network endpoint: streamable HTTP at
/mcp (with sessions up to 2025-11-25, and the stateless 2026-07-28) and the
legacy HTTP+SSE transport at /sse. Each client session gets its own server
process (the command after --, with a minimal environment as in proxy) or
its own session with the --upstream-url server; 2026-07-28 requests, which
have no session, share one per caller (bearer token). Every tools/list and
tools/call is enforced as on stdio. Prometheus metrics are at /metrics
(behind the bearer tokens when there are any).

Warrants come from the call (params._meta.tenuo), from an X-Tenuo-Warrant
header on the session's requests (it filters tools/list and completes calls
whose _meta.tenuo carries only the proof of possession), or from a held
warrant: each caller's own with --callers FILE, a YAML file mapping bearer
tokens to callers and their warrant and key files:

  callers:
    - name: alice
      token: 7d3c…             # at least 16 characters
      warrant: alice.warrant   # optional, with key; relative to this file
      key: alice.key

It is read again when it, or a warrant or key file it names, changes
(edited in place, replaced by a rename, or swapped as a Kubernetes secret
volume is; looked at every 2s) and on SIGHUP: a new warrant or key takes
effect at the caller's next request, in the sessions it has open; a caller
dropped, or whose token changed, loses its open sessions and streams at
once; a file that does not hold is logged once and the callers in force
stay. Or one --warrant/--key, which serve hands to every caller, so it
refuses to hold one on a non-loopback address without --auth-token-file or
--callers.

It listens on loopback unless told otherwise, rejects browser Origins that
are not loopback or --allow-origin (403), on a loopback address answers
only requests whose Host is a loopback name or an --allow-host one (403:
a page re-pointed at 127.0.0.1 by DNS rebinding makes GETs without Origin),
and never forwards the client's Authorization header. A connection that has not sent its request's headers
within --read-header-timeout is closed, a request whose body has not arrived
within --read-timeout is answered 400, and connections past
--max-connections (503) or --max-connections-per-client (one IP address,
429) are answered with Retry-After and closed. /healthz and /readyz report
liveness and readiness.`,
		Example: `  tenuo-mcp serve --listen 127.0.0.1:8080 --trusted-root ROOT_PUB \
    -- npx -y @modelcontextprotocol/server-filesystem /data
  tenuo-mcp serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem \
    --auth-token-file tokens.txt --trusted-root root.pub -- ./my-server
  tenuo-mcp serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem \
    --callers callers.yaml --trusted-root root.pub -- ./my-server`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case f.upstreamURL != "" && len(args) > 0:
				return badInput("give one upstream: --upstream-url or a command after --", "both --upstream-url and a server command")
			case f.upstreamURL == "" && (cmd.ArgsLenAtDash() < 0 || len(args) == 0):
				return badInput("put the server command after --, e.g. tenuo-mcp serve --trusted-root KEY -- my-server --flag, or give --upstream-url", "no upstream MCP server")
			case cmd.ArgsLenAtDash() > 0:
				return badInput("flags go before --, the server command after it", "unexpected arguments before --: %q", args[:cmd.ArgsLenAtDash()])
			}
			childEnv, err := transport.MinimalEnv(f.passEnv, f.env)
			if err != nil {
				return badInput("", "%v", err)
			}
			en, ep, err := f.build(e)
			if err != nil {
				return err
			}
			defer en.Close()
			stopProfile, err := startCPUProfile(f.cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// SIGHUP reads the watched files now (the callers file among
			// them) and reopens the audit log (after log rotation).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						en.Reload()
						if ep.callers != nil {
							ep.callers.reload(en.Log, true)
						}
						if err := en.ReopenAudit(); err != nil {
							en.Log.Error("audit log not reopened; writing to the old file", "err", err)
						}
					}
				}
			}()
			return runServe(ctx, e, &f, en, ep, args, childEnv)
		},
	}
	f.register(c)
	return c
}

type sessionKey struct{}

// runServe serves until ctx is done, then shuts down gracefully: no new
// sessions, calls in flight finish within --shutdown-timeout, every server
// process is stopped and reaped.
func runServe(ctx context.Context, e *env, f *serveFlags, en *enforceflags.Enforcement, ep *endpoint, argv, childEnv []string) error {
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	en.Watch(wctx)

	p := &mcpproxy.Proxy{DenyAsResult: en.DenyAsResult, Log: en.Log}
	hooks := &mcpproxy.Hooks{Point: en.Point, Front: enforce.FrontHTTP, Session: func(ctx context.Context) (string, string) {
		if s, ok := ctx.Value(sessionKey{}).(*mcphttp.Session); ok {
			return s.ID(), s.Header(headerWarrant)
		}
		return "", ""
	}}
	if ep.callers != nil {
		// Each caller acts under its own held warrant: the one of the
		// bearer token that opened the session, as the callers file says
		// now.
		hooks.Held = func(ctx context.Context) *enforce.HeldWarrant {
			if s, ok := ctx.Value(sessionKey{}).(*mcphttp.Session); ok {
				return ep.heldFor(s.Client())
			}
			return nil
		}
	}
	hooks.Install(p)

	var metrics *serveMetrics // set before the handler serves
	h := &mcphttp.Handler{
		BoundHeaders:         []string{headerWarrant},
		CheckOrigin:          ep.originOK,
		MaxBody:              f.maxBody,
		MaxSessions:          f.maxSessions,
		MaxSessionsPerClient: f.maxPerClient,
		MaxInFlight:          f.maxInFlight,
		MaxInFlightTotal:     f.maxInFlightTotal,
		IdleTimeout:          f.idle,
		Log:                  en.Log,
		OnRefused: func(r *http.Request, status int, reason string) {
			metrics.refused.WithLabelValues(strconv.Itoa(status)).Inc()
			en.Point.Refused(&enforce.Refusal{Front: enforce.FrontHTTP, Session: r.Header.Get(mcphttp.HeaderSessionID), HTTPStatus: status, Reason: reason})
		},
	}
	metrics = newServeMetrics(h)
	en.Point.Observe = metrics.observe // set before the first request
	// 2026-07-28 has no sessions: its requests share an upstream per
	// caller, and two callers never share one. A caller is its bearer
	// token; without tokens, off loopback, its address; on loopback, the
	// one local user.
	switch {
	case ep.authenticated():
		// A session answers only the token that opened it: another
		// caller's token cannot use it (nor its held warrant).
		h.ClientKey, h.BindClient = ep.clientKey, true
		h.CallerKey = h.ClientKey
	case !ep.loopback:
		h.CallerKey = func(r *http.Request) string {
			host, _, _ := net.SplitHostPort(r.RemoteAddr)
			return "addr-" + host
		}
	}
	if ep.callers != nil {
		// A reload closes what a dropped (or re-tokened) caller holds open;
		// a session registered as the reload ran is caught by Accept's own
		// check below, which reads the table after the session is counted.
		closeGone := func(*callerTable) {
			if n := h.CloseClients(ep.callerGone); n > 0 {
				en.Log.Info("closed the sessions of callers no longer in the callers file", "sessions", n)
			}
		}
		ep.callers.changed.Store(&closeGone)
		ep.callers.watch(wctx, en.Log)
	}
	h.Accept = func(ctx context.Context, s *mcphttp.Session) {
		if ep.callerGone(s.Client()) {
			return
		}
		var up transport.Conn
		if f.upstreamURL != "" {
			opt := mcphttp.DialOptions{Header: ep.upHdr, MaxMessage: int64(f.maxLine), Log: en.Log}
			dial := mcphttp.Dial
			if f.upstreamTransport == "sse" {
				dial = mcphttp.DialSSE
			}
			c, err := dial(ctx, f.upstreamURL, opt)
			if err != nil {
				metrics.upstream.WithLabelValues("start_failed").Inc()
				en.Log.Error("connecting to the MCP server for a session", "session", s.ID(), "err", err)
				return
			}
			defer c.Wait()
			up = c
			en.Log.Info("session started", "session", s.ID(), "legacy_sse", s.Legacy(), "upstream", f.upstreamURL)
		} else {
			proc, err := transport.SpawnStdio(wctx, argv, transport.SpawnOptions{Env: childEnv, MaxLine: f.maxLine, Stderr: e.stderr})
			if err != nil {
				metrics.upstream.WithLabelValues("start_failed").Inc()
				en.Log.Error("starting the MCP server for a session", "session", s.ID(), "err", err)
				return
			}
			up = proc
			en.Log.Info("session started", "session", s.ID(), "legacy_sse", s.Legacy(), "pid", proc.Pid())
		}
		rctx := context.WithValue(ctx, sessionKey{}, s)
		if en.Pin != nil { // each session's server is checked against the lock
			up = mcpproxy.PinTools(up, mcpproxy.PinConfig{Lock: en.Pin, WarnOnly: en.PinWarnOnly,
				DenyAsResult: en.DenyAsResult, Log: en.Log, OnRefused: p.OnRefused, Context: rctx})
		}
		metrics.upstream.WithLabelValues("started").Inc()
		err := p.Relay(rctx, s, up)
		if errors.Is(err, mcpproxy.ErrUpstreamExited) {
			metrics.upstream.WithLabelValues("exited").Inc()
		}
		en.Log.Info("session ended", "session", s.ID(), "err", err)
	}

	var ready atomic.Bool
	ready.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", ep.authenticate(metrics.handler()))
	mcp := ep.authenticate(h)
	mux.Handle("/", mcp)
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ep.hostOK(r) {
			metrics.refused.WithLabelValues("403").Inc()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: the Host header names no name of this endpoint (give the others with --allow-host)"}}` + "\n"))
			return
		}
		if r.URL.Path == "/mcp" {
			// Where the mux sends it (no other pattern matches a clean
			// /mcp), without its lookup on every call.
			mcp.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})

	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: f.readHeader,
		ReadTimeout:       f.readBody, // the streams lift it once the body is read
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    256 << 10, // a warrant header can be 64 KiB
		TLSConfig:         ep.tls,
		ErrorLog:          nil,
	}
	ln := &connLimiter{Listener: ep.ln, max: f.maxConns, perAddr: f.maxConnsPerAddr, tls: ep.tls,
		refused: func(status int) { metrics.refused.WithLabelValues(strconv.Itoa(status)).Inc() }}
	served := make(chan error, 1)
	go func() {
		if ep.tls != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	fmt.Fprintf(e.stderr, "tenuo-mcp: serving MCP on %s/mcp (legacy SSE at %s/sse); held warrant: %v, inbound tokens: %v\n",
		ep.url, ep.url, en.Point.Held != nil || ep.callers != nil, ep.authenticated())

	select {
	case err := <-served:
		h.Close()
		return &exitError{code: 1, msg: "serving: " + err.Error()}
	case <-ctx.Done():
	}
	ready.Store(false)
	en.Log.Info("shutting down", "sessions", h.Sessions(), "in_flight", h.InFlight())
	sctx, scancel := context.WithTimeout(context.Background(), f.shutdown)
	defer scancel()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Shutdown(sctx) }()
	herr := h.Shutdown(sctx) // waits for every session's server to be reaped
	if err := <-srvDone; err != nil {
		srv.Close()
	}
	if herr != nil {
		en.Log.Warn("calls still in flight at the shutdown deadline were cut short", "err", herr)
	}
	return nil
}

const (
	defaultMaxConns        = 2048
	defaultMaxConnsPerAddr = 256
	// refusalWait is how long a connection past a bound has to send its
	// request's headers before it is answered and closed.
	refusalWait = time.Second
)

// connLimiter bounds the open client connections, in all and per client IP
// address. A connection past a bound is answered, 503 (in all) or 429 (one
// address) with Retry-After and a JSON-RPC error, once its request's headers
// are read or refusalWait has passed, and closed: a client that opens
// connections and sends nothing meets a clear refusal, never a hang, and
// the connections within the bounds that send nothing are closed by the
// server's read-header timeout, making room again.
type connLimiter struct {
	net.Listener
	max, perAddr int
	tls          *tls.Config // to answer a refusal over TLS
	refused      func(status int)

	mu     sync.Mutex // guards open and byAddr
	open   int
	byAddr map[string]int

	refusing atomic.Int32 // refusals being answered
}

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		status := 0
		l.mu.Lock()
		switch {
		case l.open >= l.max:
			status = http.StatusServiceUnavailable
		case l.byAddr[addr] >= l.perAddr:
			status = http.StatusTooManyRequests
		default:
			if l.byAddr == nil {
				l.byAddr = map[string]int{}
			}
			l.open++
			l.byAddr[addr]++
		}
		l.mu.Unlock()
		if status == 0 {
			return &limitedConn{Conn: c, l: l, addr: addr}, nil
		}
		l.refuse(c, status)
	}
}

// refuse answers c with status and closes it, in the background; past as
// many refusals at once as connections allowed, it closes c unanswered.
func (l *connLimiter) refuse(c net.Conn, status int) {
	if l.refused != nil {
		l.refused(status)
	}
	if l.refusing.Add(1) > int32(l.max) {
		l.refusing.Add(-1)
		c.Close()
		return
	}
	go func() {
		defer l.refusing.Add(-1)
		defer c.Close()
		c.SetDeadline(time.Now().Add(refusalWait))
		var rw net.Conn = c
		if l.tls != nil {
			cfg := l.tls.Clone()
			cfg.NextProtos = []string{"http/1.1"} // the refusal is written in HTTP/1.1
			tc := tls.Server(c, cfg)
			if tc.Handshake() != nil {
				return
			}
			rw = tc
		}
		// The request's headers, up to a blank line (or the deadline).
		br := bufio.NewReaderSize(rw, 4096)
		for range 128 {
			line, err := br.ReadSlice('\n')
			if err != nil && err != bufio.ErrBufferFull || err == nil && len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
		msg, retry := "Service Unavailable: too many open connections", "5"
		if status == http.StatusTooManyRequests {
			msg, retry = "Too Many Requests: too many open connections from this address", "1"
		}
		body := `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"` + msg + `"}}` + "\n"
		c.SetDeadline(time.Now().Add(refusalWait))
		fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nRetry-After: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
			status, http.StatusText(status), retry, len(body), body)
		// Close the writing side, then read what the client still sends
		// (until the deadline), so that closing does not reset the
		// connection before the client has read the answer.
		if cw, ok := rw.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(rw, 1<<20))
	}()
}

// limitedConn is a connection connLimiter counts until it is closed.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	addr string
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open--
		if c.l.byAddr[c.addr]--; c.l.byAddr[c.addr] == 0 {
			delete(c.l.byAddr, c.addr)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// authenticate requires an inbound bearer token when tokens are configured,
// and in every case keeps credentials out of URLs.
func (ep *endpoint) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for _, k := range []string{"access_token", "token", "auth", "authorization"} {
			if q.Has(k) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: credentials are never read from a URL; send Authorization: Bearer"}}` + "\n"))
				return
			}
		}
		if ep.authenticated() && len(r.Header.Values("Authorization")) > 1 {
			// One request, one caller: with two, a proxy in front and
			// serve could each take another.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: more than one Authorization header"}}` + "\n"))
			return
		}
		if ep.authenticated() && ep.clientKey(r) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tenuo-mcp"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Unauthorized: a valid bearer token is required"}}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
