package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/jsonkeys"
	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// DefaultMaxBody is the largest request body the middleware reads when
// HTTP.MaxBody is zero.
const DefaultMaxBody = 1 << 20

// HTTP is net/http middleware: each request is decided by Point, from the
// warrant, proof of possession and approvals in its headers and the tool
// and fields its route maps to (the tool map's routes: path parameters,
// query, headers and the JSON body), before the handler runs. A denied
// request is answered with the status of enforce's one table of denials
// and a JSON body carrying Tenuo's code; the handler never runs. A JSON
// body with an integer no IEEE-754 double holds (beyond ±2^53) is refused
// as malformed unless Point.AllowInexactNumbers: a handler reading numbers
// as doubles would act on another value than the one checked.
//
// Set the fields before the first request and don't change them
// afterwards. The zero value denies every request (no decision point).
type HTTP struct {
	// Point decides. Nil denies everything (403).
	Point *enforce.Point
	// AuthorizerStyle answers "approval required" with 403 and the approval
	// fields, as Tenuo's authorizer does (sidecar, ext_authz). The zero
	// value answers 409, as Tenuo's FastAPI adapter does.
	AuthorizerStyle bool
	// WarrantHeader, PoPHeader and ApprovalHeader name the headers; empty
	// means the tool map's settings (warrant_header, …), or Tenuo's
	// defaults X-Tenuo-Warrant, X-Tenuo-PoP and X-Tenuo-Approvals.
	WarrantHeader, PoPHeader, ApprovalHeader string
	// Exempt lists paths served without any check (health and readiness
	// probes), compared exactly with the request's URL path. A request to an
	// exempt path is not audited.
	Exempt []string
	// MaxBody caps the request body read for the decision (and handed on);
	// zero means DefaultMaxBody. A larger body is refused with 413.
	MaxBody int64
	// Debug puts the human reason in denial bodies (Tenuo's debug_mode);
	// the code and its name are always there. The zero value follows the
	// tool map's debug_mode setting.
	Debug bool
	// RequestID returns the id to answer with and audit; nil reads the
	// X-Request-Id header.
	RequestID func(*http.Request) string

	// Front names the front end in audit records; empty means
	// enforce.FrontHTTP (gateways set enforce.FrontSidecar or FrontExtAuthz).
	Front string
	// Precheck, when set, looks at each request before anything is read: a
	// non-nil error refuses it as malformed (400), decided and audited by
	// Point like any other request. Gateways use it to refuse what their
	// upstream would parse differently from what was checked. Nil refuses
	// nothing.
	Precheck func(*http.Request) error
	// BodyCheck, when set, looks at each body read for the decision that
	// is JSON, after the middleware's own checks: a non-nil error refuses
	// the request as malformed, as Precheck's does. Gateways use it to
	// refuse what their upstream would read in the body beyond the fields
	// checked (a method override). Nil refuses nothing.
	BodyCheck func(body []byte) error
	// StreamBodies leaves unread the body of a request whose route extracts
	// nothing from it (or that routes nowhere, and so is denied): the
	// decision does not depend on it, and the handler reads it as it arrives
	// (a reverse proxy streams it on). The zero value reads every body
	// under MaxBody.
	StreamBodies bool
}

type resultKey struct{}

// ResultFrom returns the decision that let the request of ctx through the
// middleware (allowed, or audit mode), for the handler behind it; nil
// outside one.
func ResultFrom(ctx context.Context) *enforce.Result {
	r, _ := ctx.Value(resultKey{}).(*enforce.Result)
	return r
}

func (m *HTTP) front() string {
	if m.Front != "" {
		return m.Front
	}
	return enforce.FrontHTTP
}

// readsBody reports whether the decision needs the request's body, and
// the query keys its route extracts (see bodyShadowsQuery).
func (m *HTTP) readsBody(r *http.Request) (read bool, queryKeys []string) {
	if r.URL == nil {
		return !m.StreamBodies, nil // denied: no URL to route by
	}
	if !m.StreamBodies && !mergeableBody(r) {
		// Every body is read, and this one no server merges with the
		// query: no route lookup is needed (the decision makes its own).
		return true, nil
	}
	reads, err := m.config().RouteReads(r.Method, r.URL.Path)
	if err != nil {
		return !m.StreamBodies, nil
	}
	if !m.StreamBodies || reads.Body {
		return true, reads.QueryKeys
	}
	// A body the route extracts nothing from still streams, unless a
	// server could read its fields as the query's.
	return len(reads.QueryKeys) > 0 && mergeableBody(r), reads.QueryKeys
}

// Wrap returns next behind the middleware.
func (m *HTTP) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.serve(w, r, next)
	})
}

// Serve decides r and, when it goes on, serves it with next: what the
// handler Wrap returns does, for a caller that picks the middleware per
// request (a gateway whose configuration is reloaded).
func (m *HTTP) Serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	m.serve(w, r, next)
}

func (m *HTTP) config() *toolmap.Config {
	if m.Point == nil {
		return nil
	}
	return m.Point.ToolMap
}

func (m *HTTP) header(set string, fromConfig func(*toolmap.Config) string, def string) string {
	if set != "" {
		return set
	}
	if c := m.config(); c != nil {
		if h := fromConfig(c); h != "" {
			return h
		}
	}
	return def
}

func (m *HTTP) style() enforce.HTTPStyle {
	if m.AuthorizerStyle {
		return enforce.StyleAuthorizer
	}
	return enforce.StyleFastAPI
}

func (m *HTTP) requestID(r *http.Request) string {
	if m.RequestID != nil {
		return m.RequestID(r)
	}
	return r.Header.Get("X-Request-Id")
}

func (m *HTTP) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	res, ok := m.decide(w, r)
	switch {
	case !ok:
	case res == nil: // an exempt path
		next.ServeHTTP(w, r)
	default:
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), resultKey{}, res)))
	}
}

// Decide decides r as the middleware does, for a front end that answers
// for itself instead of calling a handler (Envoy's gRPC ext_authz): a
// denial is written to w and Decide returns false; a request that goes on
// (allowed, or audit mode) gets true and the decision, with r's body
// replaced by the very bytes decided when they were read. An exempt path
// goes on undecided (nil, true). Nothing is written to w then.
func (m *HTTP) Decide(w http.ResponseWriter, r *http.Request) (*enforce.Result, bool) {
	return m.decide(w, r)
}

func (m *HTTP) decide(w http.ResponseWriter, r *http.Request) (*enforce.Result, bool) {
	if r.URL != nil && slices.Contains(m.Exempt, r.URL.Path) {
		return nil, true
	}
	rid := m.requestID(r)
	if m.Point == nil {
		res := &enforce.Result{Verdict: enforce.Deny, Kind: enforce.KindInternal,
			Denial: &authz.Denial{Code: authz.CodeInvalidEnvelopeStructure, Err: authz.ErrInternal, Message: "no decision point configured"}}
		m.deny(w, res, rid)
		return nil, false
	}
	var precheck error
	if m.Precheck != nil {
		precheck = m.Precheck(r)
	}
	readBody, queryKeys := false, []string(nil)
	if precheck == nil {
		readBody, queryKeys = m.readsBody(r)
	}
	var body []byte
	var err error
	if readBody {
		body, err = m.readBody(r)
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			res := &enforce.Result{Verdict: enforce.Deny, Kind: enforce.KindTooLarge,
				Denial: &authz.Denial{Code: authz.CodeValueTooLarge, Err: authz.ErrTooLarge,
					Message: fmt.Sprintf("the request body exceeds %d bytes", tooLarge.Limit)}}
			m.Point.Refused(&enforce.Refusal{Front: m.front(), RequestID: jsonString(rid), Event: "http",
				HTTPStatus: res.HTTPStatus(m.style()), Reason: res.Denial.Message})
			m.deny(w, res, rid)
			return nil, false
		}
		// An unreadable body is a malformed request, decided (and audited)
		// as one.
		body, err = nil, fmt.Errorf("the request body could not be read: %v", err)
	}
	if err == nil && len(body) > 0 && json.Valid(body) {
		// The handler may decode the body as encoding/json does, matching
		// keys in any letter case: keys that differ only so are refused.
		if kerr := jsonkeys.Check(body); kerr != nil {
			err = fmt.Errorf("request body: %v", kerr)
		} else if !m.Point.AllowInexactNumbers {
			// As for MCP arguments: a handler reading numbers as doubles
			// (any JavaScript server) would act on another integer than
			// the one checked.
			if n, found := value.FirstInexactNumber(body); found {
				err = fmt.Errorf("request body: %s is an integer beyond ±2^53 that a server reading JSON numbers as doubles would act on as another value than the one checked; refused unless the decision point allows inexact numbers", n.Path)
			}
		}
		if err == nil && m.BodyCheck != nil {
			err = m.BodyCheck(body)
		}
	}
	if err == nil && readBody {
		err = bodyShadowsQuery(r, body, queryKeys)
	}
	if precheck != nil {
		err = precheck
	}
	ce := &callEnvelope{call: enforce.Call{Front: m.front(), RequestID: jsonString(rid), HTTP: r, Body: body, Malformed: err}}
	c := &ce.call
	if err == nil {
		c.Envelope, c.Malformed = m.envelope(r, &ce.env)
	}
	res := m.Point.Check(r.Context(), c)
	if !res.Forward() {
		m.deny(w, res, rid)
		return nil, false
	}
	if readBody {
		// The handler reads the very bytes that were decided.
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return res, true
}

func (m *HTTP) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	limit := m.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return b, nil
}

// callEnvelope is a request's call and its envelope, in one allocation.
type callEnvelope struct {
	call enforce.Call
	env  enforce.Envelope
}

// envelope reads the credentials headers into env: nil when the request
// carries no warrant (the point then uses its held warrant, or denies: no
// warrant).
func (m *HTTP) envelope(r *http.Request, env *enforce.Envelope) (*enforce.Envelope, error) {
	wh := m.header(m.WarrantHeader, func(c *toolmap.Config) string { return c.WarrantHeader }, toolmap.DefaultWarrantHeader)
	ph := m.header(m.PoPHeader, func(c *toolmap.Config) string { return c.PoPHeader }, toolmap.DefaultPoPHeader)
	ah := m.header(m.ApprovalHeader, func(c *toolmap.Config) string { return c.ApprovalHeader }, toolmap.DefaultApprovalHeader)
	warrants := headerValues(r.Header, wh)
	pops := headerValues(r.Header, ph)
	switch {
	case len(warrants) == 0:
		if len(pops) > 0 {
			return nil, fmt.Errorf("%s without %s", ph, wh)
		}
		return nil, nil
	case len(warrants) > 1:
		return nil, fmt.Errorf("%s given %d times", wh, len(warrants))
	case len(pops) > 1:
		return nil, fmt.Errorf("%s given %d times", ph, len(pops))
	}
	*env = enforce.Envelope{Warrant: strings.TrimSpace(warrants[0]), Source: enforce.SourceHeader}
	if len(pops) == 1 {
		env.Signature = strings.TrimSpace(pops[0])
	}
	// Each approvals header value is base64 CBOR of one approval or an
	// array of them (WIRE.md §3); several may be given, one per header line
	// or separated by commas (no base64 alphabet has one).
	for _, v := range headerValues(r.Header, ah) {
		for a := range strings.SplitSeq(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				env.Approvals = append(env.Approvals, a)
			}
		}
	}
	return env, nil
}

// canonicalDefaults are Tenuo's header names as net/http keys them
// (X-Tenuo-PoP is X-Tenuo-Pop), worked out once rather than per request.
var canonicalDefaults = map[string]string{
	toolmap.DefaultWarrantHeader:  http.CanonicalHeaderKey(toolmap.DefaultWarrantHeader),
	toolmap.DefaultPoPHeader:      http.CanonicalHeaderKey(toolmap.DefaultPoPHeader),
	toolmap.DefaultApprovalHeader: http.CanonicalHeaderKey(toolmap.DefaultApprovalHeader),
}

// headerValues is h.Values(name).
func headerValues(h http.Header, name string) []string {
	if k, ok := canonicalDefaults[name]; ok {
		return h[k]
	}
	return h.Values(name)
}

// Deny answers res as the middleware answers a denial: the status of
// enforce's one table in the middleware's style, Tenuo's JSON body (with the
// human reason only in debug mode) and requestID. Gateways that decide
// without the middleware's handler (ext_authz) render through it too.
func (m *HTTP) Deny(w http.ResponseWriter, res *enforce.Result, requestID string) {
	m.deny(w, res, requestID)
}

func (m *HTTP) deny(w http.ResponseWriter, res *enforce.Result, rid string) {
	debug := m.Debug
	if c := m.config(); c != nil && c.DebugMode {
		debug = true
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(res.HTTPStatus(m.style()))
	_, _ = w.Write(res.HTTPBody(rid, debug))
}

// jsonString is the request id as the audit record's raw JSON (nil when
// there is none).
func jsonString(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain { // what json.Marshal would write, in one allocation
		b := make([]byte, 0, len(s)+2)
		return append(append(append(b, '"'), s...), '"')
	}
	b, _ := json.Marshal(s)
	return b
}
