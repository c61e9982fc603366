package guard_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/guardtest"
)

func newGuard(t testing.TB, f *guardtest.Fixture) *guard.Guard {
	t.Helper()
	g, err := guard.NewFromPoint(f.Point)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func creds(t testing.TB, stack authz.Stack, key *authz.SigningKey) context.Context {
	t.Helper()
	ctx, err := guard.WithCredentials(context.Background(), stack, key)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

func TestNewFailsClosed(t *testing.T) {
	if _, err := guard.New(guard.Config{}); err == nil || !strings.Contains(err.Error(), "no trusted roots") {
		t.Fatalf("New without trusted roots: %v", err)
	}
	if _, err := guard.NewFromPoint(nil); err == nil {
		t.Fatal("NewFromPoint(nil) built a guard")
	}
	if _, err := guard.NewFromPoint(&enforce.Point{}); err == nil {
		t.Fatal("NewFromPoint without an authorizer built a guard")
	}
	f := guardtest.New(t)
	g, err := guard.New(guard.Config{TrustedRoots: []authz.PublicKey{f.Root.Public()}, ToolMap: f.ToolMap})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Check(creds(t, f.AgentStack, f.Agent), "read", []byte(`{"path":"/data/x"}`)); err != nil {
		t.Fatalf("a guard from Config denies an allowed call: %v", err)
	}
}

type readArgs struct {
	Path  string `json:"path"`
	Limit int    `json:"limit,omitempty"`
	skip  int
}

func TestFuncForms(t *testing.T) {
	f := guardtest.New(t)
	g := newGuard(t, f)
	ctx := creds(t, f.AgentStack, f.Agent)
	ran := 0
	read := guard.Func(g, "read", func(_ context.Context, a readArgs) (string, error) { ran++; return "contents of " + a.Path, nil })
	if out, err := read(ctx, readArgs{Path: "/data/a"}); err != nil || out != "contents of /data/a" {
		t.Fatalf("struct, allowed: %q %v", out, err)
	}
	out, err := read(ctx, readArgs{Path: "/etc/shadow"})
	var d *authz.Denial
	if !errors.As(err, &d) || d.Code != authz.CodeConstraintViolation || !errors.Is(err, authz.ErrConstraint) || out != "" {
		t.Fatalf("struct, denied: %q %v", out, err)
	}
	if ran != 1 {
		t.Fatalf("the function ran %d times, want 1 (never on a denial)", ran)
	}

	write := guard.Func2(g, "write", [2]string{"path", "data"}, func(_ context.Context, p, data string) (int, error) { ran++; return len(data), nil })
	if n, err := write(ctx, "/data/w", "abc"); err != nil || n != 3 {
		t.Fatalf("named arguments, allowed: %d %v", n, err)
	}
	sub := creds(t, f.SubStack, f.Sub)
	if _, err := write(sub, "/data/reports/w", "abc"); !errors.Is(err, authz.ErrToolNotAuthorized) {
		t.Fatalf("named arguments, tool not granted to the sub-agent: %v", err)
	}
	bad := guard.Func2(g, "write", [2]string{"path", "path"}, func(context.Context, string, string) (int, error) { ran++; return 0, nil })
	if _, err := bad(ctx, "/a", "/b"); !errors.Is(err, authz.ErrMalformed) {
		t.Fatalf("a name given twice: %v", err)
	}

	if err := g.Do(ctx, "write", guard.Args{"path": "/data/x"}, func(context.Context) error { ran++; return nil }); err != nil {
		t.Fatalf("Do, allowed: %v", err)
	}
	if err := g.Do(ctx, "deploy", guard.Args{"env": 3}, func(context.Context) error { ran++; return nil }); !errors.Is(err, authz.ErrConstraint) {
		t.Fatalf("Do, a number where a pattern wants a string: %v", err)
	}
	sentinel := errors.New("the tool failed")
	if err := g.Do(ctx, "write", nil, func(context.Context) error { return sentinel }); err != sentinel {
		t.Fatalf("Do returns the function's own error: %v", err)
	}

	// Arguments that are not a JSON object are a malformed call; so is a
	// value encoding refuses or panics in.
	list := guard.Func(g, "write", func(context.Context, []string) (int, error) { ran++; return 0, nil })
	if _, err := list(ctx, []string{"a"}); !errors.Is(err, authz.ErrMalformed) {
		t.Fatalf("array arguments: %v", err)
	}
	ch := guard.Func(g, "write", func(context.Context, map[string]any) (int, error) { ran++; return 0, nil })
	if _, err := ch(ctx, map[string]any{"c": make(chan int)}); !errors.Is(err, authz.ErrMalformed) {
		t.Fatalf("unencodable arguments: %v", err)
	}
	if _, err := ch(ctx, map[string]any{"path": "/data/a", "PATH": "/etc/passwd"}); !errors.Is(err, authz.ErrMalformed) {
		t.Fatalf("keys differing only in case: %v", err)
	}
	if _, err := ch(ctx, map[string]any{"p": panicky{}}); !errors.Is(err, authz.ErrMalformed) {
		t.Fatalf("panicking encoder: %v", err)
	}
	if ran != 3 {
		t.Fatalf("the functions ran %d times, want 3", ran)
	}
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

func TestNoWarrantAndHeld(t *testing.T) {
	f := guardtest.New(t)
	g := newGuard(t, f)
	err := g.Check(context.Background(), "read", []byte(`{"path":"/data/a"}`))
	var denied *guard.DeniedError
	if !errors.As(err, &denied) || denied.Result.Kind != enforce.KindNoWarrant {
		t.Fatalf("no warrant in scope: %v", err)
	}
	// A warrant without its key: no proof of possession.
	ctx, err := guard.WithWarrant(context.Background(), f.AgentStack)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Check(ctx, "read", []byte(`{"path":"/data/a"}`)); !errors.Is(err, authz.ErrPoP) {
		t.Fatalf("warrant without key: %v", err)
	}
	// The point's held warrant applies when the context has none.
	held, err := enforce.NewHeldWarrant(f.AgentStack, f.Agent)
	if err != nil {
		t.Fatal(err)
	}
	f.Point.Held = held
	if err := g.Check(context.Background(), "read", []byte(`{"path":"/data/a"}`)); err != nil {
		t.Fatalf("held warrant: %v", err)
	}
	// ... and the context's, when it has one, is preferred.
	if err := g.Check(creds(t, f.SubStack, f.Sub), "read", []byte(`{"path":"/data/a"}`)); !errors.Is(err, authz.ErrConstraint) {
		t.Fatalf("the context's narrower warrant was not used: %v", err)
	}
}

func TestAuditMode(t *testing.T) {
	f := guardtest.New(t)
	f.Point.AuditMode = true
	g := newGuard(t, f)
	ran := false
	if err := g.Do(creds(t, f.AgentStack, f.Agent), "read", guard.Args{"path": "/etc/passwd"}, func(context.Context) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("audit mode: %v, ran %v", err, ran)
	}
	if a := f.Audit.String(); !strings.Contains(a, `"decision":"would-deny"`) || !strings.Contains(a, `"front":"guard"`) {
		t.Fatalf("audit line %s", a)
	}
}

func TestScopesNarrowOnly(t *testing.T) {
	f := guardtest.New(t)
	g := newGuard(t, f)
	outer := creds(t, f.AgentStack, f.Agent)

	// The sub-agent's full chain narrows the agent's warrant; so does its
	// leaf alone, joined to the outer chain.
	for name, s := range map[string]authz.Stack{"chain": f.SubStack, "leaf alone": {f.SubStack.Leaf()}} {
		inner, err := guard.WithCredentials(outer, s, f.Sub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, _ := guard.Warrant(inner); len(got) != 2 {
			t.Fatalf("%s: the scope holds %d warrants, want the joined chain of 2", name, len(got))
		}
		if err := g.Check(inner, "read", []byte(`{"path":"/data/reports/a"}`)); err != nil {
			t.Fatalf("%s: inner scope denies what it grants: %v", name, err)
		}
		if err := g.Check(inner, "read", []byte(`{"path":"/data/payroll"}`)); !errors.Is(err, authz.ErrConstraint) {
			t.Fatalf("%s: inner scope allows what only the outer grants: %v", name, err)
		}
	}
	// The outer scope is unchanged.
	if err := g.Check(outer, "read", []byte(`{"path":"/data/payroll"}`)); err != nil {
		t.Fatalf("outer scope changed: %v", err)
	}
	// The same warrant again is no widening.
	if _, err := guard.WithWarrant(outer, f.AgentStack); err != nil {
		t.Fatalf("re-opening the same warrant: %v", err)
	}

	// Anything that is not a delegation of the outer warrant is refused: a
	// sibling root warrant (even from the trusted root), a warrant from
	// another root, the outer's parent seen from a delegated scope.
	sibling, err := authz.Mint(f.Root, authz.Grant{Holder: f.Sub.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"write": {}}}, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	inner := creds(t, f.SubStack, f.Sub)
	for name, tc := range map[string]struct {
		ctx   context.Context
		stack authz.Stack
	}{
		"sibling root":         {outer, authz.Stack{sibling}},
		"other root":           {outer, f.RogueStack},
		"parent from the leaf": {inner, f.AgentStack},
		"empty":                {outer, nil},
	} {
		ctx, err := guard.WithWarrant(tc.ctx, tc.stack)
		if err == nil {
			t.Errorf("%s: the scope opened", name)
		}
		if ctx != tc.ctx {
			t.Errorf("%s: a refused scope changed the context", name)
		}
		if name != "empty" && !errors.Is(err, guard.ErrWiden) {
			t.Errorf("%s: %v is not ErrWiden", name, err)
		}
	}
	// A tampered delegation (a bit of its signature flipped) is refused too.
	raw := append([]byte(nil), f.SubStack.Leaf().Bytes()...)
	raw[len(raw)-3] ^= 1
	forged, err := authz.ParseText(base64.RawURLEncoding.EncodeToString(raw))
	if err != nil {
		t.Fatalf("the forged warrant does not decode: %v", err)
	}
	if _, err := guard.WithWarrant(outer, forged); !errors.Is(err, guard.ErrWiden) || !errors.Is(err, authz.ErrBadSignature) {
		t.Errorf("a forged delegation: %v", err)
	}
	// A key that does not hold the leaf is refused by WithCredentials.
	if _, err := guard.WithCredentials(outer, f.SubStack, f.Agent); err == nil {
		t.Error("WithCredentials accepted a key that is not the leaf's holder")
	}
	if _, err := guard.WithKey(outer, nil); err == nil {
		t.Error("WithKey(nil) opened a scope")
	}
}

// TestConcurrentScopes: goroutines calling one guarded function with
// different warrants in their contexts each get their own decision (run
// with -race).
func TestConcurrentScopes(t *testing.T) {
	f := guardtest.New(t)
	g := newGuard(t, f)
	agent := creds(t, f.AgentStack, f.Agent)
	sub := creds(t, f.SubStack, f.Sub)
	read := guard.Func(g, "read", func(_ context.Context, a map[string]any) (string, error) { return a["path"].(string), nil })
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, who := agent, "agent"
			if i%2 == 1 {
				ctx, who = sub, "sub"
			}
			_, err := read(ctx, map[string]any{"path": fmt.Sprintf("/data/payroll-%d", i)})
			switch {
			case who == "agent" && err != nil:
				errs <- fmt.Errorf("goroutine %d (agent): %v", i, err)
			case who == "sub" && !errors.Is(err, authz.ErrConstraint):
				errs <- fmt.Errorf("goroutine %d (sub-agent): %v, want a constraint denial", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNarrowLoneDelegated: a further delegation of a delegated warrant held
// alone opens no scope (a longer stack must start at a root); with its
// chain in scope it does.
func TestNarrowLoneDelegated(t *testing.T) {
	f := guardtest.New(t)
	lone := creds(t, authz.Stack{f.SubStack.Leaf()}, f.Sub)
	subsub, err := authz.Attenuate(f.SubStack, f.Sub, authz.Grant{Holder: f.Rogue.Public()}, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guard.WithWarrant(lone, authz.Stack{subsub.Leaf()}); !errors.Is(err, guard.ErrWiden) {
		t.Fatalf("narrowing a lone delegated warrant: %v", err)
	}
	if _, err := guard.WithWarrant(creds(t, f.SubStack, f.Sub), authz.Stack{subsub.Leaf()}); err != nil {
		t.Fatalf("narrowing with the chain in scope: %v", err)
	}
}
