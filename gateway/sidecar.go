package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/guard"
)

// Sidecar is a reverse proxy that forwards to Upstream only the requests
// its Checker lets through: the tool service's own enforcement point, in
// the same pod. Build it with [NewSidecar].
type Sidecar struct {
	checker            *Checker
	upstream           *url.URL
	forwardCredentials bool
	handler            http.Handler
}

// SidecarConfig configures [NewSidecar].
type SidecarConfig struct {
	// Checker decides; its Front defaults to enforce.FrontSidecar.
	Checker Checker
	// Upstream is the tool service's base URL (http or https). A path, if
	// it has one, is put before every request's path.
	Upstream *url.URL
	// ForwardCredentials forwards the warrant, PoP and approval headers to
	// the upstream. The zero value removes them (the upstream needs only
	// X-Tenuo-Warrant-Id).
	ForwardCredentials bool
	// Transport makes the upstream requests; nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Log receives upstream errors; nil discards them.
	Log *slog.Logger
	// FlushInterval is the reverse proxy's (see httputil.ReverseProxy);
	// event streams are flushed as they come whatever it is.
	FlushInterval time.Duration
}

// NewSidecar returns the sidecar for cfg. It fails without an absolute
// http or https upstream, or with an upstream path that is not canonical.
func NewSidecar(cfg SidecarConfig) (*Sidecar, error) {
	u := cfg.Upstream
	if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("gateway: the upstream must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("gateway: the upstream URL must have no query, fragment or user")
	}
	base := strings.TrimSuffix(u.EscapedPath(), "/")
	if base != "" {
		if c, err := CanonicalPath(base); err != nil || c != base {
			return nil, fmt.Errorf("gateway: the upstream path %q is not canonical", u.EscapedPath())
		}
	}
	s := &Sidecar{checker: &cfg.Checker, upstream: u, forwardCredentials: cfg.ForwardCredentials}
	log := cfg.Log
	target := &url.URL{Scheme: u.Scheme, Host: u.Host}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the upstream sees the Host the client asked for
			pr.SetXForwarded()
			p := preparedFrom(pr.In.Context())
			// The path forwarded is the canonical path that was routed.
			path, _ := url.PathUnescape(base + p.canon)
			pr.Out.URL.Path, pr.Out.URL.RawPath = path, base+p.canon
			pr.Out.Method = p.method
			// Request trailers (header fields after a chunked body) were
			// not checked: none is forwarded, as a server that merges them
			// into the headers would read a tenant or an override the
			// check never saw.
			pr.Out.Trailer = nil
			h := pr.Out.Header
			if !s.forwardCredentials {
				// The headers of the configuration that decided it.
				for _, k := range credentialHeaders(configOf(p.point)) {
					h.Del(k)
				}
			}
			h.Del(WarrantIDHeader)
			if id := warrantID(guard.ResultFrom(pr.In.Context())); id != "" {
				h.Set(WarrantIDHeader, id)
			}
		},
		Transport:     cfg.Transport,
		FlushInterval: cfg.FlushInterval,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if log != nil {
				log.Warn("upstream request failed", "err", err)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"error":"upstream unavailable"}`))
		},
	}
	s.handler = cfg.Checker.Wrap(rp)
	return s, nil
}

// ServeHTTP decides the request and forwards it when it goes on.
func (s *Sidecar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
