package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// seen is what the upstream received.
type seen struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

// upstream is a real HTTP server on 127.0.0.1 recording each request.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen // guarded by mu
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("upstream reading the body: %v", err)
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.RequestURI, r.Header.Clone(), b})
		u.mu.Unlock()
		w.Header().Set("X-Upstream", "yes")
		_, _ = io.WriteString(w, "upstream says hi")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last(t *testing.T) seen {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return u.reqs[len(u.reqs)-1]
}

func (u *upstream) count() int { u.mu.Lock(); defer u.mu.Unlock(); return len(u.reqs) }

func newSidecar(t *testing.T, p *enforce.Point, up string, maxBody int64) *httptest.Server {
	t.Helper()
	u, _ := url.Parse(up)
	sc, err := gateway.NewSidecar(gateway.SidecarConfig{Checker: gateway.Checker{Point: p, MaxBody: maxBody}, Upstream: u})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(sc)
	t.Cleanup(s.Close)
	return s
}

// toolSidecar is a sidecar deciding by the tool map mapYAML, in front of a
// recording upstream, and stack a warrant of the fixture's agent granting
// tools: the setup of a test of one route's rules.
func toolSidecar(t *testing.T, f *gatewaytest.Fixture, mapYAML string, tools map[string]authz.ConstraintSet) (p *enforce.Point, up *upstream, sc *httptest.Server, stack func(*gatewaytest.Fixture) authz.Stack) {
	t.Helper()
	tm, err := toolmap.Parse([]byte(mapYAML), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w, err := authz.Mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: tools}, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	p = f.NewPoint(f.Authorizer)
	p.ToolMap = tm
	up = newUpstream(t)
	sc = newSidecar(t, p, up.URL, 0)
	return p, up, sc, func(*gatewaytest.Fixture) authz.Stack { return authz.Stack{w} }
}

// wantStatus sends c through the sidecar at sc and wants status, and the
// upstream to receive the request exactly when it is allowed (200).
func wantStatus(t *testing.T, f *gatewaytest.Fixture, sc *httptest.Server, up *upstream, c gatewaytest.Case, status int) {
	t.Helper()
	before := up.count()
	resp, m := do(t, f, sc.URL, c)
	if resp.StatusCode != status {
		t.Errorf("%s: %d %v, want %d", c.Body, resp.StatusCode, m, status)
	}
	if got := up.count() - before; (status == http.StatusOK) != (got == 1) {
		t.Errorf("%s: the upstream got %d requests", c.Body, got)
	}
}

// req is a request of a test, in the shape of the shared table's cases.
func req(method, target, body string, header map[string]string, stack func(*gatewaytest.Fixture) authz.Stack, tool string, fields map[string]any) gatewaytest.Case {
	return gatewaytest.Case{Method: method, Target: target, Body: body, Header: header, Stack: stack, Tool: tool, Fields: fields}
}

func agent(f *gatewaytest.Fixture) authz.Stack { return f.Agents }

func do(t *testing.T, f *gatewaytest.Fixture, base string, c gatewaytest.Case) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(c.Request(t, f, base))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if resp.StatusCode != 200 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("denial body %q: %v", b, err)
		}
	}
	return resp, m
}

var jsonCT = map[string]string{"Content-Type": "application/json", "X-Tenant-Id": "acme"}

const anyCode = gatewaytest.AnyCode

func gatewayCases() []gatewaytest.Case { return gatewaytest.Cases() }

// TestSidecar: a real upstream behind the sidecar, every case of the
// table: allowed requests reach it as checked, denied ones never do.
func TestSidecar(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 256)
	for _, tc := range gatewayCases() {
		t.Run(tc.Name, func(t *testing.T) {
			before := up.count()
			h := map[string]string{"X-Tenuo-Warrant-Id": "forged"}
			for k, v := range tc.Header {
				h[k] = v
			}
			tc.Header = h
			resp, body := do(t, f, sc.URL, tc)
			if resp.StatusCode != tc.Status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.Status, body)
			}
			if tc.Status != 200 {
				if up.count() != before {
					t.Fatal("a denied request reached the upstream")
				}
				if body["authorized"] != false || (tc.Code != anyCode && body["error_code"] != float64(tc.Code)) || body["request_id"] != "rid-1" {
					t.Fatalf("denial body %v, want code %d", body, tc.Code)
				}
				return
			}
			got := up.last(t)
			if got.Method != tc.Method {
				t.Errorf("upstream saw %s, sent %s", got.Method, tc.Method)
			}
			if got.Header.Get("X-Tenuo-Warrant") != "" || got.Header.Get("X-Tenuo-PoP") != "" {
				t.Error("the credentials reached the upstream")
			}
			if id := got.Header.Values("X-Tenuo-Warrant-Id"); len(id) != 1 || id[0] != f.Agents.Leaf().ID.String() {
				t.Errorf("upstream X-Tenuo-Warrant-Id %v, want %s", id, f.Agents.Leaf().ID)
			}
			wantURI, _ := gateway.CanonicalPath(strings.SplitN(tc.Target, "?", 2)[0])
			if q := strings.SplitN(tc.Target, "?", 2); len(q) == 2 {
				wantURI += "?" + q[1]
			}
			if got.URI != wantURI {
				t.Errorf("upstream got %s, want %s", got.URI, wantURI)
			}
			if tc.Method != "HEAD" && string(got.Body) != tc.Body {
				t.Errorf("upstream body %q, want the bytes sent %q", got.Body, tc.Body)
			}
			if tc.Method != "HEAD" && resp.Header.Get("X-Upstream") != "yes" {
				t.Error("the upstream's answer did not come back")
			}
		})
	}
}

// TestSidecarDenialTable runs enforce's one table of denials through the
// sidecar's rendering.
func TestSidecarDenialTable(t *testing.T) {
	c := &gateway.Checker{}
	for _, dc := range enforce.DenialCases() {
		rec := httptest.NewRecorder()
		gateway.RenderDenial(c, rec, dc.Result, "r1")
		if rec.Code != dc.HTTPAuthorizer {
			t.Errorf("%s: %d, want %d", dc.Name, rec.Code, dc.HTTPAuthorizer)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body["error_code"] != float64(dc.Result.Denial.Code) ||
			body["authorized"] != false || body["request_id"] != "r1" || body["error"] != dc.Result.Denial.Code.Name() {
			t.Errorf("%s: body %s (%v)", dc.Name, rec.Body, err)
		}
	}
}

func TestSidecarOptions(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	// Credentials forwarded when asked; an upstream base path is put first.
	u, _ := url.Parse(up.URL + "/base")
	sc, err := gateway.NewSidecar(gateway.SidecarConfig{Checker: gateway.Checker{Point: f.Point}, Upstream: u, ForwardCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(sc)
	defer s.Close()
	resp, _ := do(t, f, s.URL, req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"}))
	if got := up.last(t); resp.StatusCode != 200 || got.URI != "/base/files?path=/data/a" || got.Header.Get("X-Tenuo-Warrant") == "" {
		t.Fatalf("%d %s %v", resp.StatusCode, got.URI, got.Header)
	}
	// Bad upstreams refuse to build.
	for _, bad := range []string{"ftp://x", "/relative", "http://h/a/../b", "http://h/?q=1", "http://u@h/"} {
		u, _ := url.Parse(bad)
		if _, err := gateway.NewSidecar(gateway.SidecarConfig{Upstream: u}); err == nil {
			t.Errorf("upstream %q accepted", bad)
		}
	}
	// An unreachable upstream is a 502 for an allowed request.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	s2 := newSidecar(t, f.Point, dead, 0)
	resp, _ = do(t, f, s2.URL, req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"}))
	if resp.StatusCode != 502 {
		t.Fatalf("dead upstream: %d", resp.StatusCode)
	}
	// The zero checker denies.
	s3 := httptest.NewServer(mustSidecar(t, gateway.SidecarConfig{Upstream: mustURL(up.URL)}))
	defer s3.Close()
	if resp, _ := do(t, f, s3.URL, req("GET", "/files?path=/data/a", "", nil, nil, "", nil)); resp.StatusCode != 403 {
		t.Fatalf("zero checker: %d", resp.StatusCode)
	}
	// Every decision is audited as the sidecar's.
	if !strings.Contains(f.Audit.String(), `"front":"sidecar"`) {
		t.Fatalf("audit: %s", f.Audit)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func mustSidecarFor(t testing.TB, f *gatewaytest.Fixture, up string) *gateway.Sidecar {
	return mustSidecar(t, gateway.SidecarConfig{Checker: gateway.Checker{Point: f.Point}, Upstream: mustURL(up)})
}

func mustSidecar(t testing.TB, cfg gateway.SidecarConfig) *gateway.Sidecar {
	s, err := gateway.NewSidecar(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSidecarConcurrent: allowed and denied requests at once, under -race.
func TestSidecarConcurrent(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := i%10 + 1
			if i%3 == 0 {
				n = 50 // denied
			}
			body := fmt.Sprintf(`{"spec":{"replicas":%d}}`, n)
			hr, _ := http.NewRequest("POST", sc.URL+"/clusters/staging-1/scale", strings.NewReader(body))
			hr.Header.Set("Content-Type", "application/json")
			hr.Header.Set("X-Tenant-Id", "acme")
			f.Sign(t, hr.Header, f.Agents, "scale", gatewaytest.ScaleFields("staging-1", n))
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if want := map[bool]int{true: 403, false: 200}[n == 50]; resp.StatusCode != want {
				errs <- fmt.Errorf("replicas %d: %d, want %d", n, resp.StatusCode, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSidecarUnixSocket: the same-pod listener, owner and group only.
func TestSidecarUnixSocket(t *testing.T) {
	f := gatewaytest.New(t)
	up := newUpstream(t)
	path := filepath.Join(t.TempDir(), "tenuo.sock")
	os.WriteFile(path, nil, 0o600)
	if _, err := gateway.ListenUnix(path, 0); err == nil {
		t.Fatal("a regular file was replaced by the socket")
	}
	os.Remove(path)
	if _, err := gateway.ListenUnix(path, 0o666); err == nil {
		t.Fatal("world-writable socket permissions accepted")
	}
	l, err := gateway.ListenUnix(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o660 || st.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket mode %v, %v", st.Mode(), err)
	}
	srv := &http.Server{Handler: mustSidecar(t, gateway.SidecarConfig{Checker: gateway.Checker{Point: f.Point}, Upstream: mustURL(up.URL)})}
	go srv.Serve(l)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	hr, _ := http.NewRequest("GET", "http://sidecar/files?path=/data/a", nil)
	f.Sign(t, hr.Header, f.Agents, "read", map[string]any{"path": "/data/a"})
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("over the socket: %d", resp.StatusCode)
	}
	// A stale socket is replaced; closing removes it.
	srv.Close()
	l2, err := gateway.ListenUnix(path, 0)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l2.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the socket outlived its listener: %v", err)
	}
}

func TestAdmin(t *testing.T) {
	f := gatewaytest.New(t)
	m := &gateway.Metrics{}
	f.Point.Observe = m.Observe
	up := newUpstream(t)
	sc := newSidecar(t, f.Point, up.URL, 0)
	do(t, f, sc.URL, req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"}))
	do(t, f, sc.URL, req("GET", "/files?path=/data/a", "", nil, nil, "", nil))
	notReady := fmt.Errorf("warming up")
	var readyErr error = notReady
	adm := httptest.NewServer(gateway.AdminHandler(func() error { return readyErr }, m))
	defer adm.Close()
	get := func(p string) (int, string) {
		resp, err := http.Get(adm.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, _ := get("/healthz"); c != 200 {
		t.Fatalf("healthz %d", c)
	}
	if c, b := get("/readyz"); c != 503 || !strings.Contains(b, "warming up") {
		t.Fatalf("readyz %d %s", c, b)
	}
	readyErr = nil
	if c, _ := get("/readyz"); c != 200 {
		t.Fatalf("readyz %d", c)
	}
	c, b := get("/metrics")
	for _, want := range []string{
		`tenuo_decisions_total{front="sidecar",verdict="allow",kind="none"} 1`,
		`tenuo_decisions_total{front="sidecar",verdict="deny",kind="no_warrant"} 1`,
		`tenuo_decision_duration_seconds_count{front="sidecar"} 2`,
	} {
		if c != 200 || !strings.Contains(b, want) {
			t.Errorf("metrics lack %s:\n%s", want, b)
		}
	}
	if c, _ := get("/files"); c != 404 {
		t.Fatalf("the admin port serves other paths: %d", c)
	}
}

// FuzzChecker: any method, path, query, headers and body: no panic, never
// a 5xx, and nothing reaches the handler without a warrant.
func FuzzChecker(f *testing.F) {
	f.Add("GET", "/files?path=/data/a", "", "", "")
	f.Add("POST", "/clusters/staging-1/scale", "application/json", "{\"spec\":{\"replicas\":3}}", "")
	f.Add("HEAD", "/%2e%2e/x", "text/plain", "", "DELETE")
	fx := gatewaytest.New(f)
	c := &gateway.Checker{Point: fx.Point, MaxBody: 128, EnvoyPartialBody: true}
	h := c.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("reached without a warrant") }))
	f.Fuzz(func(t *testing.T, method, target, ct, body, override string) {
		r, err := http.NewRequest(method, "http://h"+target, bytes.NewReader([]byte(body)))
		if err != nil {
			return
		}
		r.Header.Set("Content-Type", ct)
		r.Header.Set("X-HTTP-Method-Override", override)
		r.Header.Set(gateway.EnvoyPartialBodyHeader, "true")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code >= 500 || rec.Code == 200 {
			t.Fatalf("%s %q: %d", method, target, rec.Code)
		}
	})
}
