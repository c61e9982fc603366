package mcpproxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/mcpproxy"
	"github.com/tenuo-mcp/tenuo-mcp/mcptest"
	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

var (
	flipOnce sync.Once
	flipPath string
	flipErr  error
)

// flipServer builds mcpproxy/internal/flipserver once.
func flipServer(t *testing.T) string {
	t.Helper()
	flipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flipserver")
		if err != nil {
			flipErr = err
			return
		}
		flipPath = filepath.Join(dir, "flipserver")
		if out, err := exec.Command("go", "build", "-o", flipPath, "./internal/flipserver").CombinedOutput(); err != nil {
			flipErr = fmt.Errorf("building flipserver: %v\n%s", err, out)
		}
	})
	if flipErr != nil {
		t.Fatal(flipErr)
	}
	return flipPath
}

// syncBuf is a buffer for audit lines written from the relay's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type pinWorld struct {
	t     *testing.T
	w     *mcptest.Warrant
	s     *mcptest.Session
	audit *syncBuf
}

// lockOf lists the server's tools (unpinned) and returns them as a lock.
func lockOf(t *testing.T, argv ...string) *toolpin.Lock {
	t.Helper()
	root := mcptest.NewKey(t)
	pt := mcptest.NewPoint(t, root.Public())
	pt.ListPolicy = enforce.ListAll
	s := mcptest.Serve(t, mcptest.Config{Command: argv, Point: pt})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tools, err := s.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	for _, tl := range tools {
		raw = append(raw, tl.Raw)
	}
	l, err := toolpin.FromTools(raw)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newPinWorld(t *testing.T, lock *toolpin.Lock, warn bool, argv ...string) *pinWorld {
	t.Helper()
	root, agent := mcptest.NewKey(t), mcptest.NewKey(t)
	pw := &pinWorld{t: t, audit: &syncBuf{}}
	pw.w = mcptest.Mint(t, root, agent, map[string]authz.ConstraintSet{"echo": {AllowUnknown: true}, "flip": {}, "extra": {}})
	pt := mcptest.NewPoint(t, root.Public())
	pt.Audit = pw.audit
	pw.s = mcptest.Serve(t, mcptest.Config{Command: argv, Point: pt, Pin: &mcpproxy.PinConfig{Lock: lock, WarnOnly: warn}})
	return pw
}

func (pw *pinWorld) waitListChanged() {
	pw.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := pw.s.WaitNotification(ctx, "notifications/tools/list_changed"); err != nil {
		pw.t.Fatal(err)
	}
}

// TestPinRugPull: a server changes echo's description after start. Before
// any tools/list, a call is checked against the list the proxy fetches
// itself; after the change (and its list_changed) echo is hidden from
// tools/list and its calls refused with the difference named, and audited.
func TestPinRugPull(t *testing.T) {
	t.Parallel()
	srv := flipServer(t)
	lock := lockOf(t, srv)
	pw := newPinWorld(t, lock, false, srv)

	r := pw.s.Call(t, pw.w, "echo", map[string]any{"text": "before"})
	mcptest.WantAllowed(t, r)
	if r.Text() != "before" {
		t.Fatalf("echo answered %q", r.Text())
	}
	mcptest.WantAllowed(t, pw.s.Call(t, pw.w, "flip", nil))
	pw.waitListChanged()

	r = pw.s.Call(t, pw.w, "echo", map[string]any{"text": "after"})
	if r.Error == nil || r.Error.Code != mcpproxy.CodeAccessDenied || !strings.Contains(r.Error.Message, `tool "echo" is pinned (--pin) and its definition differs from the pinned one (description: "Echoes its text." → "Echoes its text. Also`) {
		t.Fatalf("echo after the rug pull: %+v", r)
	}
	if got := pw.s.Tools(t, pw.w); !slices.Equal(got, []string{"flip"}) {
		t.Fatalf("tools/list after the rug pull shows %v, want [flip]", got)
	}
	if a := pw.audit.String(); !strings.Contains(a, `is pinned (--pin) and its definition differs`) {
		t.Fatalf("the refusal is not audited:\n%s", a)
	}
	// flip, unchanged, still works.
	mcptest.WantAllowed(t, pw.s.Call(t, pw.w, "flip", nil))
}

// TestPinStartsChanged: a server whose tools differ from the lock from the
// start (one changed, one added) is caught on the first call, made before
// any tools/list, and by its first listing.
func TestPinStartsChanged(t *testing.T) {
	t.Parallel()
	srv := flipServer(t)
	lock := lockOf(t, srv)
	pw := newPinWorld(t, lock, false, srv, "-flipped", "-add", "-schema")

	r := pw.s.Call(t, pw.w, "echo", map[string]any{"text": "x"})
	if r.Error == nil || !strings.Contains(r.Error.Message, "inputSchema.properties.cc: added") {
		t.Fatalf("first call of a changed echo: %+v", r)
	}
	r = pw.s.Call(t, pw.w, "extra", nil)
	if r.Error == nil || !strings.Contains(r.Error.Message, "it is not in the pin lock") {
		t.Fatalf("a tool absent from the lock: %+v", r)
	}
	if got := pw.s.Tools(t, pw.w); !slices.Equal(got, []string{"flip"}) {
		t.Fatalf("tools/list shows %v, want [flip]", got)
	}
}

// TestPinWarn: --pin-mode warn hides and refuses nothing.
func TestPinWarn(t *testing.T) {
	t.Parallel()
	srv := flipServer(t)
	lock := lockOf(t, srv)
	pw := newPinWorld(t, lock, true, srv, "-add")
	mcptest.WantAllowed(t, pw.s.Call(t, pw.w, "flip", nil))
	pw.waitListChanged()
	mcptest.WantAllowed(t, pw.s.Call(t, pw.w, "echo", map[string]any{"text": "x"}))
	mcptest.WantAllowed(t, pw.s.Call(t, pw.w, "extra", nil))
	if got := pw.s.Tools(t, pw.w); !slices.Equal(got, []string{"echo", "extra", "flip"}) {
		t.Fatalf("tools/list shows %v", got)
	}
}
