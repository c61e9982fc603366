package depgate

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/tenuo-mcp/tenuo-mcp"

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T) map[string]*pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", mod+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")] = &p
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// within reports whether path is the package dir or one below it.
func within(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

func ours(path string) (string, bool) {
	if path == mod || strings.HasPrefix(path, mod+"/") {
		return strings.TrimPrefix(strings.TrimPrefix(path, mod), "/"), true
	}
	return "", false
}

// Forbidden dependencies of each part of the house: direct imports, or any
// dependency when transitive is true.
var rules = []struct {
	dir        string
	forbidden  []string // import path prefixes
	transitive bool
}{
	// authz: no I/O, no MCP, no HTTP, no logger, no YAML.
	{"authz", []string{"net/http", "os/exec", "log", "github.com/rs/zerolog", "go.yaml.in/yaml", "gopkg.in/yaml", "github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "google.golang.org/grpc"}, false},
	{"authz", []string{"net/http", "os/exec", "github.com/rs/zerolog", "github.com/mark3labs/mcp-go", "google.golang.org/grpc"}, true},
	// The decision point and the protocol-neutral front ends: no MCP SDK, no gRPC.
	{"enforce", []string{"github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "google.golang.org/grpc"}, true},
	// guard itself links no MCP SDK: each SDK's adapter lives in its own
	// package, and links only its SDK, so users link only theirs.
	{"guard", []string{"github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "google.golang.org/grpc"}, true},
	{"guard/mcpgo", []string{"github.com/modelcontextprotocol", "google.golang.org/grpc"}, true},
	{"guard/gosdk", []string{"github.com/mark3labs/mcp-go", "google.golang.org/grpc"}, true},
	// gateway (the sidecar) links no gRPC, even transitively: the gRPC
	// ext_authz service lives in gateway/extauthz, and Redis in
	// gateway/redisreplay, so that sidecar users link neither.
	{"gateway", []string{"github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "google.golang.org/grpc", "github.com/redis"}, true},
	{"gateway/extauthz", []string{"github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "github.com/redis"}, true},
	{"gateway/redisreplay", []string{"github.com/mark3labs/mcp-go", "github.com/modelcontextprotocol", "google.golang.org/grpc"}, true},
	{"internal/value", []string{"net/http", "os/exec", "github.com/rs/zerolog"}, true},
}

// except lists, for a rule's dir, the packages below it that its rules do
// not apply to: the MCP SDK adapters of guard and the gRPC and Redis parts
// of gateway (their own rules above).
var except = map[string][]string{"guard": {"guard/mcpgo", "guard/gosdk"}, "gateway": {"gateway/extauthz", "gateway/redisreplay"}}

// layers, lowest first: a package may import ours only from its own layer or
// below (and never cmd).
var layers = [][]string{
	{"internal/value", "internal/testfiles", "internal/npmpeers", "internal/depgate", "internal/jcs", "internal/workpool", "transport"},
	{"authz", "toolmap", "toolpin"},
	{"revocation", "enforce"},
	{"mcpproxy", "transport/mcphttp", "guard", "gateway", "internal/enforceflags", "examples"},
	{"mcptest"}, // a proxied server in a test, and the spec runner
	{"cmd"},
}

func layerOf(p string) int {
	best, at := -1, -1
	for i, l := range layers {
		for _, d := range l {
			if within(p, d) && len(d) > best {
				best, at = len(d), i
			}
		}
	}
	return at
}

func TestDeps(t *testing.T) {
	pkgs := list(t)
	for name, p := range pkgs {
		for _, r := range rules {
			if !within(name, r.dir) || slices.ContainsFunc(except[r.dir], func(e string) bool { return within(name, e) }) {
				continue
			}
			deps := p.Imports
			if r.transitive {
				deps = p.Deps
			}
			for _, d := range deps {
				for _, f := range r.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s (forbidden for %s)", name, d, r.dir)
					}
				}
			}
		}
		// transport imports nothing of ours.
		if within(name, "transport") && !within(name, "transport/mcphttp") {
			for _, d := range p.Imports {
				if o, ok := ours(d); ok && !within(o, "transport") {
					t.Errorf("transport package %s imports %s", name, o)
				}
			}
		}
		// One way: nothing imports from a higher layer.
		li := layerOf(name)
		if li < 0 {
			t.Errorf("package %s is in no layer of the house; place it", name)
			continue
		}
		for _, d := range p.Imports {
			o, ok := ours(d)
			if !ok || within(o, name) {
				continue
			}
			if lo := layerOf(o); lo > li {
				t.Errorf("%s (layer %d) imports %s (layer %d): imports run one way", name, li, o, lo)
			}
		}
	}
	// The decision point is asked by the front ends, never bypassed: the
	// MCP relay's policy comes from enforce, not from authz.
	if p := pkgs["mcpproxy"]; p != nil {
		for _, d := range p.Imports {
			if o, ok := ours(d); ok && within(o, "authz") {
				t.Errorf("mcpproxy imports %s: a front end asks enforce, not authz", o)
			}
		}
	}
}
