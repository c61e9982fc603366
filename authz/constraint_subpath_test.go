package authz

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubpathMatch(t *testing.T) {
	data := &Subpath{Root: "/data"}
	strictEq := &Subpath{Root: "/data", ExcludeRoot: true}
	nocase := &Subpath{Root: "/data", CaseInsensitive: true}
	slash := &Subpath{Root: "/"}
	win := &Subpath{Root: `C:\data`}
	tests := []struct {
		name string
		c    *Subpath
		v    any
		ok   bool
	}{
		{"plain file", data, "/data/file.txt", true},
		{"nested", data, "/data/a/b/c", true},
		{"root itself", data, "/data", true},
		{"root with slash", data, "/data/", true},
		{"dot", data, "/data/./x", true},
		{"dotdot inside", data, "/data/a/../b", true},
		{"repeated slashes", data, "//data///x", true},
		{"backslash separator", data, `/data\x\y`, true},
		{"dotdot out", data, "/data/../etc/passwd", false},
		{"dotdot to root", data, "/data/..", false},
		{"double dotdot", data, "/data/x/../../etc", false},
		{"backslash dotdot", data, `/data\..\etc\passwd`, false},
		{"dotdot above slash", data, "/../../data/x", true},
		{"sibling prefix", data, "/data2/x", false},
		{"sibling exact", data, "/data2", false},
		{"other", data, "/etc/passwd", false},
		{"relative", data, "data/x", false},
		{"relative dot", data, "./data/x", false},
		{"empty", data, "", false},
		{"NUL", data, "/data/x\x00.txt", false},
		{"NUL after", data, "/data/x\x00/../../etc", false},
		{"percent not decoded", data, "/data/%2e%2e/etc", true},
		{"case differs", data, "/DATA/x", false},
		{"not a string", data, int64(1), false},
		{"list", data, []any{"/data/x"}, false},
		{"nil", data, nil, false},
		{"windows path vs unix root", data, `C:\data\x`, false},
		{"allow_equal false: root", strictEq, "/data", false},
		{"allow_equal false: root via dot", strictEq, "/data/x/..", false},
		{"allow_equal false: child", strictEq, "/data/x", true},
		{"case-insensitive upper", nocase, "/DATA/X", true},
		{"case-insensitive root", nocase, "/Data", true},
		{"case-insensitive sibling", nocase, "/DATA2/x", false},
		{"case-insensitive traversal", nocase, "/DATA/../ETC", false},
		{"slash root anything", slash, "/etc/passwd", true},
		{"slash root itself", slash, "/", true},
		{"slash root relative", slash, "etc", false},
		{"windows inside", win, `C:\data\x.txt`, true},
		{"windows forward", win, `C:\data/x.txt`, true},
		{"windows traversal", win, `C:\data\..\Windows`, false},
		{"windows other drive", win, `D:\data\x`, false},
		{"windows lower drive", win, `c:\data\x`, false},
		{"windows drive-relative", win, `C:data\x`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			err := tt.c.Match(tt.v)
			if (err == nil) != tt.ok {
				t.Fatalf("%s.Match(%s) = %v, want ok=%v", tt.c, formatValue(tt.v), err, tt.ok)
			}
			if err != nil && err.Error() == "" {
				t.Fatal("empty error message")
			}
		})
	}
}

// A root that is absolute but not in normal form, or a case-insensitive root
// with capitals, matches nothing (stricter than Tenuo, which compares the
// raw text).
func TestSubpathAbnormalRootDenies(t *testing.T) {
	for _, c := range []*Subpath{
		{Root: "/data/"},
		{Root: "/data/./x"},
		{Root: "/data/x/.."},
		{Root: "//data"},
		{Root: `/data\x`},
		{Root: "/Data", CaseInsensitive: true},
	} {
		if err := c.validate(); err != nil {
			t.Errorf("%s: validate: %v", c, err)
		}
		for _, p := range []string{"/data", "/data/x", "/data/x/y", "/Data/x", "/"} {
			if err := c.Match(p); err == nil {
				t.Errorf("%s.Match(%q) = nil, want a denial", c, p)
			}
		}
	}
}

func TestSubpathValidate(t *testing.T) {
	tests := []struct {
		root string
		ok   bool
	}{
		{"/data", true},
		{"/", true},
		{`C:\data`, true},
		{"C:/data", true},
		{"", false},
		{"data", false},
		{"./data", false},
		{"C:data", false},
		{`\data`, false},
		{"/da\x00ta", false},
	}
	for _, tt := range tests {
		c := &Subpath{Root: tt.root}
		if err := c.validate(); (err == nil) != tt.ok {
			t.Errorf("validate(%q) = %v, want ok=%v", tt.root, err, tt.ok)
		}
	}
}

func TestSubpathNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b"},
		{"//a//b//", "/a/b"},
		{"/a/./b/.", "/a/b"},
		{"/a/../b", "/b"},
		{"/../..", "/"},
		{`/a\b\..\c`, "/a/c"},
		{`C:\a\b`, `C:\a/b`},
		{"C:/a/../b", "C:/b"},
		{`C:\..\..`, `C:\`},
	}
	for _, tt := range tests {
		if got := subpathNormalize(tt.in); got != tt.want {
			t.Errorf("subpathNormalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got, want := subpathIsNormal(tt.in), tt.in == tt.want; got != want {
			t.Errorf("subpathIsNormal(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestSubpathNarrowing(t *testing.T) {
	sp := func(root string, cs, eq bool) *Subpath {
		return &Subpath{Root: root, CaseInsensitive: !cs, ExcludeRoot: !eq}
	}
	tests := []struct {
		name          string
		parent, child Constraint
		ok            bool
	}{
		{"same", sp("/data", true, true), sp("/data", true, true), true},
		{"deeper", sp("/data", true, true), sp("/data/reports", true, true), true},
		{"sibling prefix", sp("/data", true, true), sp("/data2", true, true), false},
		{"outside", sp("/data", true, true), sp("/etc", true, true), false},
		{"traversal", sp("/data", true, true), sp("/data/../etc", true, true), false},
		{"wider", sp("/data/x", true, true), sp("/data", true, true), false},
		{"case loosened", sp("/data", true, true), sp("/data/x", false, true), false},
		{"case tightened", sp("/data", false, true), sp("/data/x", true, true), true},
		{"allow_equal loosened", sp("/data", true, false), sp("/data/x", true, true), false},
		{"allow_equal tightened", sp("/data", true, true), sp("/data/x", true, false), true},
		{"strict parent same root", sp("/data", true, false), sp("/data", true, false), false},
		{"case-insensitive parent", sp("/data", false, true), sp("/DATA/x", true, true), true},
		{"exact inside", sp("/data", true, true), &Exact{Value: "/data/a.txt"}, true},
		{"exact traversal", sp("/data", true, true), &Exact{Value: "/data/../etc/passwd"}, false},
		{"exact non-string", sp("/data", true, true), &Exact{Value: int64(3)}, false},
		{"to wildcard", sp("/data", true, true), &Wildcard{}, false},
		{"to pattern", sp("/data", true, true), &Pattern{Pattern: "/data/*"}, false},
		{"from wildcard", &Wildcard{}, sp("/data", true, true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNarrowing(tt.parent, tt.child)
			if (err == nil) != tt.ok {
				t.Fatalf("checkNarrowing(%s, %s) = %v, want ok=%v", tt.parent, tt.child, err, tt.ok)
			}
		})
	}
}

func TestSubpathString(t *testing.T) {
	if got := (&Subpath{Root: "/data"}).String(); got != `Subpath("/data")` {
		t.Errorf("String() = %s", got)
	}
	got := (&Subpath{Root: "/data", CaseInsensitive: true}).String()
	if got != `Subpath("/data", case_sensitive=false, allow_equal=true)` {
		t.Errorf("String() = %s", got)
	}
}

// TestSubpathVectorA25_2 decodes Tenuo's vector A.25.2 and checks the
// constraint it carries against the inputs its page gives.
func TestSubpathVectorA25_2(t *testing.T) {
	c := vectorConstraint(t, "A.25.2", "write_file", "path")
	sp, ok := c.(*Subpath)
	if !ok {
		t.Fatalf("constraint is %T, want *Subpath", c)
	}
	if sp.Root != "/home/agent/workspace" || sp.CaseInsensitive || sp.ExcludeRoot {
		t.Fatalf("decoded %+v", sp)
	}
	if err := sp.Match("/home/agent/workspace/file.txt"); err != nil {
		t.Errorf("valid input denied: %v", err)
	}
	if err := sp.Match("/home/agent/workspace/../../../etc/passwd"); err == nil {
		t.Error("traversal allowed")
	}
}

// vectorConstraint decodes the payload of the Tenuo vector whose label starts
// with label and returns the constraint on tool's argument arg.
func vectorConstraint(t *testing.T, label, tool, arg string) Constraint {
	t.Helper()
	for _, v := range tenuoVectorPayloads(t) {
		if !strings.HasPrefix(v.Label, label+" ") {
			continue
		}
		b, err := hex.DecodeString(v.PayloadHex)
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodePayloadBytes(b)
		if err != nil {
			t.Fatalf("decode %s: %v", label, err)
		}
		cs, ok := p.Tools[tool]
		if !ok {
			t.Fatalf("%s: no tool %q", label, tool)
		}
		c, ok := cs.Constraints[arg]
		if !ok {
			t.Fatalf("%s: no argument %q", label, arg)
		}
		return c
	}
	t.Fatalf("no vector %s", label)
	return nil
}

// tenuoVectorPayloads reads the labels and payloads of Tenuo's warrant
// vectors from the repository's testdata.
func tenuoVectorPayloads(t *testing.T) []struct{ Label, PayloadHex string } {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vecDir(t), "warrants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Label      string `json:"label"`
			PayloadHex string `json:"payload_hex"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	out := make([]struct{ Label, PayloadHex string }, len(f.Vectors))
	for i, v := range f.Vectors {
		out[i].Label, out[i].PayloadHex = v.Label, v.PayloadHex
	}
	return out
}

func FuzzSubpath(f *testing.F) {
	for _, s := range []string{
		"/data/x", "/data/../etc/passwd", "/data/./x", "/data2/x", "/data/..", "/data/x/../../etc",
		`/data\..\etc`, "/data/x\x00", "data/x", "/DATA/x", `C:\data\x`, "//data//x", "/",
	} {
		f.Add(s, true, true)
		f.Add(s, false, false)
	}
	f.Fuzz(func(t *testing.T, p string, cs, eq bool) {
		if subpathIsAbsolute(p) && subpathIsNormal(p) != (subpathNormalize(p) == p) {
			t.Fatalf("subpathIsNormal(%q) disagrees with subpathNormalize (%q)", p, subpathNormalize(p))
		}
		c := &Subpath{Root: "/data", CaseInsensitive: !cs, ExcludeRoot: !eq}
		if c.Match(p) != nil {
			return
		}
		// A match implies: no NUL, absolute, and the normalised path has the
		// root as a component prefix (an independent normaliser agrees).
		if strings.IndexByte(p, 0) >= 0 || !strings.HasPrefix(p, "/") {
			t.Fatalf("%s matched %q", c, p)
		}
		clean := path.Clean(strings.ReplaceAll(p, `\`, "/"))
		if !cs {
			clean = asciiLower(clean)
		}
		if clean == "/data" {
			if !eq {
				t.Fatalf("%s matched the root via %q", c, p)
			}
			return
		}
		if !strings.HasPrefix(clean, "/data/") {
			t.Fatalf("%s matched %q, which cleans to %q", c, p, clean)
		}
		for _, comp := range strings.Split(clean, "/") {
			if comp == ".." || comp == "." {
				t.Fatalf("%s matched %q with component %q left", c, p, comp)
			}
		}
	})
}

func BenchmarkMatchSubpath(b *testing.B) {
	c := &Subpath{Root: "/home/agent/workspace"}
	if err := c.validate(); err != nil {
		b.Fatal(err)
	}
	v := any("/home/agent/workspace/src/../docs/./report.txt")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Match(v); err != nil {
			b.Fatal(err)
		}
	}
}
