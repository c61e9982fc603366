// Package npmpeers gives end-to-end tests the pinned npm packages they drive
// (the official MCP TypeScript SDK client and reference MCP servers, pinned
// in testdata/npm/package-lock.json), running `npm ci` once when they are
// missing. A test that needs them fails, never skips, when that is not
// possible.
package npmpeers

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Packages are the npm packages every caller may rely on.
var Packages = []string{"@modelcontextprotocol/conformance", "@modelcontextprotocol/sdk",
	"@modelcontextprotocol/server-everything", "@modelcontextprotocol/server-filesystem", "json-rpc-2.0"}

var (
	once  sync.Once
	dir   string
	ciErr error
	ciOut []byte
)

// Dir returns the absolute path of testdata/npm with its packages installed.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			ciErr = os.ErrNotExist
			return
		}
		dir = filepath.Join(filepath.Dir(file), "..", "..", "testdata", "npm")
		if installed(dir) == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		ciOut, ciErr = cmd.CombinedOutput()
	})
	if ciErr != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, ciErr, ciOut)
	}
	if err := installed(dir); err != nil {
		t.Fatalf("testdata/npm/node_modules is incomplete: %v (run npm ci there)", err)
	}
	return dir
}

func installed(dir string) error {
	for _, pkg := range Packages {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg), "package.json")); err != nil {
			return err
		}
	}
	return nil
}
