package mcptest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// NewKey returns a fresh signing key.
func NewKey(t testing.TB) *authz.SigningKey {
	t.Helper()
	k, err := authz.GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Mint mints a root warrant for holder's key, signed by issuer, granting
// tools for ten minutes.
func Mint(t testing.TB, issuer, holder *authz.SigningKey, tools map[string]authz.ConstraintSet) *Warrant {
	t.Helper()
	w, err := authz.Mint(issuer, authz.Grant{Holder: holder.Public(), TTL: 10 * time.Minute, Tools: tools}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &Warrant{Stack: authz.Stack{w}, Key: holder}
}

// Attenuate delegates a narrower warrant from w to holder.
func Attenuate(t testing.TB, w *Warrant, holder *authz.SigningKey, tools map[string]authz.ConstraintSet) *Warrant {
	t.Helper()
	s, err := authz.Attenuate(w.Stack, w.Key, authz.Grant{Holder: holder.Public(), Tools: tools}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return &Warrant{Stack: s, Key: holder}
}

// NewPoint returns an enforcement point trusting roots, its audit lines
// discarded.
func NewPoint(t testing.TB, roots ...authz.PublicKey) *enforce.Point {
	t.Helper()
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return &enforce.Point{Authorizer: az}
}

// Serve starts cfg's server behind the proxy for the test; t.Cleanup shuts
// it down and fails the test if the relay ended with an error.
func Serve(t testing.TB, cfg Config) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the session: %v", err)
		}
	})
	return s
}

// Call calls tool with args (any value encoding/json takes), presenting w
// when not nil, and fails the test if no answer comes.
func (s *Session) Call(t testing.TB, w *Warrant, tool string, args any) *Response {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	if args == nil {
		raw = nil
	}
	var env map[string]any
	if w != nil {
		if env, err = w.Envelope(tool, raw, s.point.ToolMap, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := s.CallTool(ctx, tool, raw, env)
	if err != nil {
		t.Fatalf("tools/call %s: %v", tool, err)
	}
	return r
}

// Tools lists the tool names w may see (the held warrant's when w is nil).
func (s *Session) Tools(t testing.TB, w *Warrant) []string {
	t.Helper()
	var env map[string]any
	if w != nil {
		env = w.ListEnvelope()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tools, err := s.ListTools(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(tools))
	for i, tl := range tools {
		names[i] = tl.Name
	}
	return names
}

// WantAllowed fails the test unless r is a result that was not denied.
func WantAllowed(t testing.TB, r *Response) {
	t.Helper()
	if r.Denied() {
		t.Fatalf("call denied, want allowed: %s", r.Text())
	}
}

// WantDenied fails the test unless r was denied with Tenuo's name (such as
// "constraint-violation"); an empty name accepts any denial.
func WantDenied(t testing.TB, r *Response, name string) {
	t.Helper()
	if !r.Denied() {
		t.Fatalf("call allowed, want denied (%s): %s", name, r.Text())
	}
	if name == "" {
		return
	}
	if got, _ := r.Tenuo(); got.Name != name {
		t.Fatalf("call denied as %q (%d), want %q: %s", got.Name, got.Code, name, r.Text())
	}
}
