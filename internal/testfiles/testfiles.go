// Package testfiles finds the data files the tests read, all of which live in
// the repository's testdata/ directory (see testdata/PROVENANCE.md). Tests
// never look outside the repository: a bare clone has everything they need.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the repository root: the nearest ancestor of the working
// directory (a test runs in its package's directory) that holds go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testfiles: %v", err)
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testfiles: no go.mod above the package directory")
		}
		dir = parent
	}
}

// Path returns <root>/testdata/<elem...> and fails the test when it does not
// exist.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Root(t), "testdata"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("testfiles: %v", err)
	}
	return p
}

// TenuoVectors returns testdata/tenuo-vectors: Tenuo's warrant and PoP test
// vectors.
func TenuoVectors(t testing.TB) string {
	t.Helper()
	return Path(t, "tenuo-vectors")
}

// MCPSchemas returns testdata/mcp-schema, which holds <version>/schema.json
// for every MCP protocol version.
func MCPSchemas(t testing.TB) string {
	t.Helper()
	return Path(t, "mcp-schema")
}
