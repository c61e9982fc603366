package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// syncBuffer collects a command's standard error.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// writeConfig writes the fixture's gateway.yaml with its root in
// settings.trusted_roots (honoured, unlike Tenuo's authorizer).
func writeConfig(t *testing.T, f *gatewaytest.Fixture) string {
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	y := strings.Replace(gatewaytest.ConfigYAML, "settings:\n", fmt.Sprintf("settings:\n  trusted_roots: [%q]\n", f.Root.Public().Hex()), 1)
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the command until the test ends and returns the addresses
// its want servers listen on, by name.
func start(t *testing.T, want int, args ...string) (map[string]string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := map[string]string{}
	var mu sync.Mutex
	ready := make(chan struct{})
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, io.Discard, stderr, func(string) string { return "" }, func(name, addr string) {
			mu.Lock()
			defer mu.Unlock()
			addrs[name] = addr
			if len(addrs) == want {
				close(ready)
			}
		})
	}()
	select {
	case <-ready:
	case code := <-done:
		t.Fatalf("exited %d before listening: %s", code, stderr)
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d after shutdown: %s", code, stderr)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	return addrs, stderr
}

func send(t *testing.T, f *gatewaytest.Fixture, base string, c gatewaytest.Case) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(c.Request(t, f, base))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestSidecarCommand(t *testing.T) {
	f := gatewaytest.New(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Warrant-Seen", r.Header.Get("X-Tenuo-Warrant-Id"))
	}))
	defer up.Close()
	addrs, stderr := start(t, 2, "sidecar", "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--upstream", up.URL,
		"--config", writeConfig(t, f), "--max-body", "256", "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	base := "http://" + addrs["sidecar"]
	for _, c := range gatewaytest.Cases() {
		if resp := send(t, f, base, c); resp.StatusCode != c.Status {
			t.Errorf("%s: %d, want %d", c.Name, resp.StatusCode, c.Status)
		} else if c.Status == 200 && resp.Header.Get("X-Warrant-Seen") != f.Agents.Leaf().ID.String() {
			t.Errorf("%s: the upstream saw warrant id %q", c.Name, resp.Header.Get("X-Warrant-Seen"))
		}
	}
	resp, err := http.Get("http://" + addrs["admin"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `tenuo_decisions_total{front="sidecar",verdict="allow",kind="none"}`) {
		t.Fatalf("metrics: %s", b)
	}
	if resp := send(t, f, base, gatewaytest.Case{Method: "GET", Target: "/healthz"}); resp.StatusCode != 404 {
		t.Fatalf("the decision port answers /healthz itself: %d", resp.StatusCode)
	}
	_ = stderr
}

func TestExtAuthzCommand(t *testing.T) {
	f := gatewaytest.New(t)
	addrs, _ := start(t, 3, "ext-authz", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0",
		"--config", writeConfig(t, f), "--path-prefix", "/authz", "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
	c := gatewaytest.Cases()[0]
	// HTTP mode: Envoy's request with the path prefix.
	hc := c
	hc.Target = "/authz" + c.Target
	if resp := send(t, f, "http://"+addrs["http"], hc); resp.StatusCode != 200 || resp.Header.Get("X-Tenuo-Warrant-Id") == "" {
		t.Fatalf("HTTP mode: %d", resp.StatusCode)
	}
	// The decision ports serve no health: only the admin port does.
	if resp := send(t, f, "http://"+addrs["http"], gatewaytest.Case{Method: "GET", Target: "/healthz"}); resp.StatusCode == 200 {
		t.Fatal("the HTTP decision port answers /healthz with 200: Envoy would allow")
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addrs["admin"] + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("admin %s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	// gRPC: a real client.
	cc, err := grpc.NewClient(addrs["grpc"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := authv3.NewAuthorizationClient(cc)
	h := c.Headers(t, f)
	headers := map[string]string{}
	for k := range h {
		headers[strings.ToLower(k)] = h.Get(k)
	}
	mk := func(hs map[string]string) *authv3.CheckRequest {
		return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: c.Method, Path: c.Target, Headers: hs}}}}
	}
	resp, err := client.Check(t.Context(), mk(headers))
	if err != nil || resp.Status.Code != int32(codes.OK) {
		t.Fatalf("gRPC allowed: %v %v", resp, err)
	}
	resp, err = client.Check(t.Context(), mk(map[string]string{}))
	if err != nil || resp.Status.Code != int32(codes.PermissionDenied) || resp.GetDeniedResponse().Status.Code != 401 {
		t.Fatalf("gRPC without a warrant: %v %v", resp, err)
	}
}

// TestReplicasShareRedis: two ext-authz replicas with --replay-store over
// one real Redis: a PoP used at the first is refused at the second.
func TestReplicasShareRedis(t *testing.T) {
	srv := gatewaytest.StartRedis(t)
	f := gatewaytest.New(t)
	cfg := writeConfig(t, f)
	var bases []string
	for range 2 {
		addrs, _ := start(t, 2, "ext-authz", "--grpc", "", "--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--config", cfg,
			"--replay-store", srv.URL, "--audit-log", filepath.Join(t.TempDir(), "audit.jsonl"))
		bases = append(bases, "http://"+addrs["http"])
	}
	c := gatewaytest.Cases()[0]
	if resp := send(t, f, bases[0], c); resp.StatusCode != 200 {
		t.Fatalf("replica 1: %d", resp.StatusCode)
	}
	if resp := send(t, f, bases[1], c); resp.StatusCode != 401 {
		t.Fatalf("the PoP replayed at replica 2: %d, want 401", resp.StatusCode)
	}
}

func TestUsageErrors(t *testing.T) {
	f := gatewaytest.New(t)
	cfg := writeConfig(t, f)
	for _, args := range [][]string{
		{"sidecar", "--upstream", "http://127.0.0.1:1"},
		{"sidecar", "--config", cfg},
		{"sidecar", "--config", cfg, "--upstream", "ftp://x"},
		{"sidecar", "--config", cfg, "--upstream", "http://127.0.0.1:1", "--replay-fail-open"},
		{"ext-authz", "--config", cfg, "--replay-store", "http://not-redis"},
		{"ext-authz", "--config", cfg, "--grpc", "", "--http", ""},
		{"ext-authz", "--config", cfg, "--path-prefix", "authz/"},
		{"ext-authz", "--config", cfg, "--mode", "permissive"},
		{"ext-authz", "--no-such-flag"},
	} {
		var stderr bytes.Buffer
		if code := run(t.Context(), args, io.Discard, &stderr, func(string) string { return "" }, nil); code != exitBadInput ||
			!strings.Contains(stderr.String(), "tenuo-authorizer: error:") {
			t.Errorf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	// A configuration in doubt refuses to start.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: \"1\"\nsettings:\n  debug_mod: true\n"), 0o644)
	var stderr bytes.Buffer
	if code := run(t.Context(), []string{"sidecar", "--config", bad, "--upstream", "http://127.0.0.1:1"}, io.Discard, &stderr, func(string) string { return "" }, nil); code != exitBadInput ||
		!strings.Contains(stderr.String(), "bad.yaml:3") {
		t.Errorf("unknown key: exit %d: %s", code, stderr.String())
	}
}
