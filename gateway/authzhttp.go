package gateway

import (
	"net/http"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/guard"
)

// AuthzHandler is the decision service of Envoy's HTTP ext_authz filter:
// Envoy sends it each request's method, path (after PathPrefix), headers
// and, with with_request_body, body, and lets the request through on a 200.
// An allowed request is answered 200 with X-Tenuo-Warrant-Id, for Envoy to
// add to the upstream request (allowed_upstream_headers); a denied one with
// the status and JSON body of the one table, which Envoy passes back to the
// client. Serve nothing else on its port: behind Envoy any 200 means allow,
// so health and metrics live on the admin port ([AdminHandler]).
//
// Envoy's HTTP mode sends only the headers its allowed_headers match
// (besides Host, Method, Path, Content-Length and Authorization): configure it
// to send every header (a safe_regex of ".*"), or the credentials do not
// arrive (denied) and the checks on headers (method and path overrides,
// Connection, Upgrade, Content-Type and Content-Encoding) cannot see what
// the upstream will. The gRPC mode (package extauthz) gets them all.
//
// An allowed answer lists in x-envoy-auth-headers-to-remove, for Envoy to
// remove from the upstream request, the credential headers and, when the
// answer sets no warrant id (audit mode letting a denied request on), a
// client's X-Tenuo-Warrant-Id: Envoy's HTTP mode removes nothing else.
func (c *Checker) AuthzHandler() http.Handler { return c.AuthzHandlerForwarding(false) }

// EnvoyHeadersToRemove is the header of an HTTP ext_authz answer that
// lists, comma-separated, the headers Envoy is to remove from the upstream
// request.
const EnvoyHeadersToRemove = "X-Envoy-Auth-Headers-To-Remove"

// AuthzHandlerForwarding is AuthzHandler, leaving the credential headers
// on the upstream request when forwardCredentials is set.
func (c *Checker) AuthzHandlerForwarding(forwardCredentials bool) http.Handler {
	return c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var remove []string
		if !forwardCredentials {
			for _, h := range CredentialHeaders(r) {
				remove = append(remove, strings.ToLower(h))
			}
		}
		if id := warrantID(guard.ResultFrom(r.Context())); id != "" {
			w.Header().Set(WarrantIDHeader, id)
		} else {
			remove = append(remove, strings.ToLower(WarrantIDHeader))
		}
		if len(remove) > 0 {
			w.Header().Set(EnvoyHeadersToRemove, strings.Join(remove, ", "))
		}
		w.WriteHeader(http.StatusOK)
	}))
}
