package testfiles

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestProvenance checks that testdata/PROVENANCE.md lists every vendored file
// of tenuo-vectors/ and mcp-schema/ with its current SHA-256, and nothing else.
func TestProvenance(t *testing.T) {
	td := filepath.Join(Root(t), "testdata")
	md, err := os.ReadFile(filepath.Join(td, "PROVENANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]string{}
	for _, m := range regexp.MustCompile("\\| `([^`]+)` \\| `([0-9a-f]{64})` \\|").FindAllStringSubmatch(string(md), -1) {
		listed[m[1]] = m[2]
	}
	seen := 0
	for _, dir := range []string{TenuoVectors(t), MCPSchemas(t)} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(td, p)
			rel = filepath.ToSlash(rel)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			if want, ok := listed[rel]; !ok {
				t.Errorf("%s is not listed in PROVENANCE.md", rel)
			} else if got := hex.EncodeToString(sum[:]); got != want {
				t.Errorf("%s: SHA-256 %s, PROVENANCE.md says %s", rel, got, want)
			}
			seen++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if seen != len(listed) {
		t.Errorf("PROVENANCE.md lists %d files, testdata holds %d", len(listed), seen)
	}
	for _, v := range []string{"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"} {
		Path(t, "mcp-schema", v, "schema.json")
	}
}
