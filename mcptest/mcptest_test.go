package mcptest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest"
)

var flipServer string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcptest")
	if err != nil {
		panic(err)
	}
	flipServer = filepath.Join(dir, "flipserver")
	if out, err := exec.Command("go", "build", "-o", flipServer, "../mcpproxy/internal/flipserver").CombinedOutput(); err != nil {
		panic(fmt.Sprintf("building flipserver: %v\n%s", err, out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestSessionDecisions: a presented warrant allows what it grants, a
// constraint and an ungranted tool are denied with Tenuo's names, the
// listing shows what the warrant grants, and a held warrant works without
// any envelope.
func TestSessionDecisions(t *testing.T) {
	root, agent := mcptest.NewKey(t), mcptest.NewKey(t)
	w := mcptest.Mint(t, root, agent, map[string]authz.ConstraintSet{
		"echo": {Constraints: map[string]authz.Constraint{"text": &authz.Pattern{Pattern: "hello*"}}}})
	pt := mcptest.NewPoint(t, root.Public())
	s := mcptest.Serve(t, mcptest.Config{Command: []string{flipServer}, Point: pt})

	r := s.Call(t, w, "echo", map[string]any{"text": "hello there"})
	mcptest.WantAllowed(t, r)
	if r.Text() != "hello there" {
		t.Errorf("echo answered %q", r.Text())
	}
	mcptest.WantDenied(t, s.Call(t, w, "echo", map[string]any{"text": "bye"}), "constraint-violation")
	mcptest.WantDenied(t, s.Call(t, w, "flip", nil), "tool-not-authorized")
	if got := s.Tools(t, w); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("tools/list shows %v, want [echo]", got)
	}
	// No warrant presented and none held.
	mcptest.WantDenied(t, s.Call(t, nil, "echo", map[string]any{"text": "hello"}), "")

	h, err := w.Held()
	if err != nil {
		t.Fatal(err)
	}
	pt.SetHeld(h)
	mcptest.WantAllowed(t, s.Call(t, nil, "echo", map[string]any{"text": "hello held"}))
	if got := s.Tools(t, nil); !slices.Equal(got, []string{"echo"}) {
		t.Errorf("tools/list with the held warrant shows %v", got)
	}
}

// TestSessionNotifications: a server notification reaches the client, and
// WaitNotification returns it without polling.
func TestSessionNotifications(t *testing.T) {
	root, agent := mcptest.NewKey(t), mcptest.NewKey(t)
	w := mcptest.Mint(t, root, agent, map[string]authz.ConstraintSet{"flip": {}})
	s := mcptest.Serve(t, mcptest.Config{Command: []string{flipServer}, Point: mcptest.NewPoint(t, root.Public())})
	mcptest.WantAllowed(t, s.Call(t, w, "flip", nil))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.WaitNotification(ctx, "notifications/tools/list_changed"); err != nil {
		t.Fatal(err)
	}
}

// TestStartFails: a command that does not exist is an error, not a hang.
func TestStartFails(t *testing.T) {
	_, err := mcptest.Start(context.Background(), mcptest.Config{Command: []string{filepath.Join(t.TempDir(), "nope")}, Point: mcptest.NewPoint(t, mcptest.NewKey(t).Public())})
	if err == nil {
		t.Fatal("Start of a missing command succeeded")
	}
}
