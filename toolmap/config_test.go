package toolmap

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const issuer = "f32e74b5a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8"

// mcpConfig is in the shape of Tenuo's examples/mcp-config.yaml.
const mcpConfig = `version: "1"
settings:
  trusted_issuers:
    - "` + issuer + `"
tools:
  filesystem_read:
    description: "Read files"
    constraints:
      path:
        from: body
        path: "path"
        description: "File to read"
        required: true
      max_size:
        from: body
        path: "maxSize"
        type: integer
        default: 1048576
  database_query:
    tool: db_query
    constraints:
      table:
        from: body
        path: "query.table"
        required: true
      operation:
        path: "query.operation"
        allowed_values: ["select", "insert"]
      ids:
        path: "query.rows.*.id"
        type: integer
      first:
        path: "query.rows.0.id"
      source:
        from: literal
        default: "agent"
  transfer:
    constraints:
      amount:
        from: body
        path: amount
        required: true
        value_type: number
`

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, c *Config)
	}{
		{"mcp example", mcpConfig, func(t *testing.T, c *Config) {
			if c.Version != "1" || len(c.TrustedIssuers) != 1 || c.TrustedIssuers[0] != issuer {
				t.Errorf("version %q issuers %v", c.Version, c.TrustedIssuers)
			}
			if len(c.tools) != 3 || c.tools["database_query"].warrant != "db_query" || c.tools["transfer"].warrant != "transfer" {
				t.Errorf("tools %+v", c.tools)
			}
			if c.WarrantHeader != DefaultWarrantHeader || c.ClockTolerance != DefaultClockTolerance {
				t.Errorf("defaults not filled: %q %v", c.WarrantHeader, c.ClockTolerance)
			}
			r := c.tools["transfer"].rules[0]
			if r.typ != typeNumber || !r.required {
				t.Errorf("value_type not read: %+v", r)
			}
		}},
		{"gateway settings and routes", `version: 1
settings:
  trusted_roots: ["` + strings.ToUpper(issuer) + `"]
  warrant_header: X-Warrant
  pop_header: X-PoP
  approval_header: X-Approvals
  clock_tolerance_secs: 10
  debug_mode: true
tools:
  manage:
    description: k8s
    constraints:
      cluster: {from: path, path: cluster, required: true}
      tenant: {from: header, path: X-Tenant-Id}
routes:
  - pattern: "/api/v1/clusters/{cluster}/{action}"
    method: [POST, put]
    tool: manage
    constraints:
      ns: {from: query, path: namespace, default: "default"}
`, func(t *testing.T, c *Config) {
			if c.WarrantHeader != "X-Warrant" || c.PoPHeader != "X-PoP" || c.ApprovalHeader != "X-Approvals" ||
				c.ClockTolerance != 10*time.Second || !c.DebugMode || len(c.TrustedIssuers) != 1 {
				t.Errorf("settings %+v", c)
			}
			if len(c.routes) != 1 || len(c.routes[0].rules) != 3 || c.routes[0].methods[1] != "PUT" {
				t.Errorf("routes %+v", c.routes[0])
			}
		}},
		{"empty containers", "version: \"1\"\nsettings:\ntools:\n  ping:\n", func(t *testing.T, c *Config) {
			if c.tools["ping"] == nil || len(c.tools["ping"].rules) != 0 {
				t.Errorf("tools %+v", c.tools)
			}
		}},
		{"defaults of every kind", `version: "1"
tools:
  t:
    constraints:
      a: {path: a, default: [1, 2.5, "x", true, null, {k: v}]}
      b: {path: b, type: number, default: 2.0}
      c: {path: c, type: array, default: []}
      d: {path: "d.*", type: string, default: ["x"]}
`, func(t *testing.T, c *Config) {
			rs := c.tools["t"].rules
			if got := describeList(rs[0].def.([]any)); got != `[1, 2.5, "x", true, <nil>, object of 1 keys]` {
				t.Errorf("default a = %s", got)
			}
			if v, ok := rs[1].def.(int64); !ok || v != 2 {
				t.Errorf("default b = %#v, want int64 2", rs[1].def)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			if err := c.CheckMCP(); err != nil && tc.name != "gateway settings and routes" {
				t.Errorf("CheckMCP: %v", err)
			}
		})
	}
}

// wantPos splits ":line:col: fragment" into the position and the fragment.
var wantPos = regexp.MustCompile(`^(:\d+(?::\d+)?:) ?(.*)$`)

func TestParseErrors(t *testing.T) {
	const head = "version: \"1\"\ntools:\n  t:\n    constraints:\n"
	tests := []struct {
		name string
		yaml string
		want string // "line:col: message fragment"
	}{
		{"syntax", "version: \"1\"\ntools: [\n", ":2: YAML syntax"},
		{"empty", "", "empty configuration"},
		{"two documents", "version: \"1\"\ntools: {}\n---\nversion: \"1\"\n", ":3:"},
		{"not a mapping", "- a\n", ":1:1: the configuration must be a mapping"},
		{"unknown top key", "version: \"1\"\ntools: {}\ntool: {}\n", ":3:1: unknown key \"tool\""},
		{"missing version", "tools: {}\n", ":1:1: missing key \"version\""},
		{"bad version", "version: \"2\"\ntools: {}\n", ":1:10: unsupported version"},
		{"missing tools", "version: \"1\"\n", "missing key \"tools\""},
		{"duplicate key", "version: \"1\"\ntools:\n  a: {}\n  a: {}\n", ":4:3: duplicate key \"a\" in tools (first at line 3)"},
		{"alias", "version: \"1\"\nx: &a {}\ntools: *a\n", ":3:8: YAML aliases"},
		{"merge key", "version: \"1\"\ntools:\n  <<: {}\n", ":3:3: YAML merge keys"},
		{"unknown settings key", "version: \"1\"\nsettings:\n  trusted_issuer: []\ntools: {}\n", ":3:3: unknown key \"trusted_issuer\" in settings"},
		{"bad issuer", "version: \"1\"\nsettings:\n  trusted_issuers: [\"abcd\"]\ntools: {}\n", ":3:21: settings.trusted_issuers: entry is not a public key"},
		{"issuers not a list", "version: \"1\"\nsettings:\n  trusted_issuers: abc\ntools: {}\n", ":3:20: settings.trusted_issuers must be a list"},
		{"bad header", "version: \"1\"\nsettings:\n  pop_header: \"X PoP\"\ntools: {}\n", ":3:15: settings.pop_header"},
		{"bad tolerance", "version: \"1\"\nsettings:\n  clock_tolerance_secs: 99999\ntools: {}\n", ":3:25: settings.clock_tolerance_secs"},
		{"negative tolerance", "version: \"1\"\nsettings:\n  clock_tolerance_secs: -1\ntools: {}\n", ":3:25: settings.clock_tolerance_secs"},
		{"debug not bool", "version: \"1\"\nsettings:\n  debug_mode: yes\ntools: {}\n", ":3:15: settings.debug_mode must be true or false"},
		{"tools a list", "version: \"1\"\ntools: [a]\n", ":2:8: tools must be a mapping"},
		{"unknown tool key", "version: \"1\"\ntools:\n  t:\n    constraint: {}\n", ":4:5: unknown key \"constraint\" in tools.t"},
		{"empty warrant tool", "version: \"1\"\ntools:\n  t:\n    tool: \"\"\n", ":4:11: tools.t.tool: empty warrant tool name"},
		{"unknown rule key", head + "      a: {path: a, requird: true}\n", ":5:20: unknown key \"requird\" in tools.t.constraints.a"},
		{"unknown source", head + "      a: {from: bdy, path: a}\n", ":5:17: tools.t.constraints.a.from: unknown source \"bdy\""},
		{"missing path", head + "      a: {from: body}\n", ":5:10: tools.t.constraints.a: missing key \"path\""},
		{"empty path segment", head + "      a: {path: \"a..b\"}\n", ":5:17: tools.t.constraints.a.path: path \"a..b\" has an empty segment"},
		{"path not string", head + "      a: {path: 3}\n", ":5:17: tools.t.constraints.a.path must be a string"},
		{"required not bool", head + "      a: {path: a, required: \"true\"}\n", ":5:30: tools.t.constraints.a.required must be true or false"},
		{"unknown type", head + "      a: {path: a, type: int}\n", ":5:26: unknown type \"int\""},
		{"type and value_type", head + "      a: {path: a, type: string, value_type: string}\n", ":5:34: type and value_type"},
		{"header typed integer", head + "      a: {from: header, path: X-A, type: integer}\n", ":5:42: tools.t.constraints.a.type: a header value is always a string"},
		{"bad header name", head + "      a: {from: header, path: \"X A\"}\n", ":5:31: tools.t.constraints.a.path: \"X A\" is not a valid HTTP header name"},
		{"default wrong type", head + "      a: {path: a, type: integer, default: \"x\"}\n", ":5:44: tools.t.constraints.a.default does not satisfy the rule: got string"},
		{"default not allowed", head + "      a: {path: a, allowed_values: [x], default: y}\n", ":5:50: not one of the allowed values"},
		{"default for wildcard not a list", head + "      a: {path: \"a.*\", default: 1}\n", ":5:33: want an array"},
		{"required with default", head + "      a: {path: a, required: true, default: 1}\n", ":5:36: a required field never uses its default"},
		{"literal without default", head + "      a: {from: literal}\n", ":5:10: a literal needs a default"},
		{"allowed empty", head + "      a: {path: a, allowed_values: []}\n", ":5:36: allowed_values is empty"},
		{"allowed not list", head + "      a: {path: a, allowed_values: x}\n", ":5:36: allowed_values must be a list"},
		{"allowed wrong type", head + "      a: {path: a, type: string, allowed_values: [1]}\n", ":5:51: is not of the declared type string"},
		{"allowed non-scalar", head + "      a: {path: a, allowed_values: [[1]]}\n", ":5:37: entries must be strings"},
		{"allowed for array type", head + "      a: {path: a, type: array, allowed_values: [1]}\n", ":5:49: a value of type array never matches"},
		{"allowed number for query", head + "      a: {from: query, path: q, allowed_values: [1]}\n", ":5:50: a query value is a string"},
		{"infinite default", head + "      a: {path: a, default: .inf}\n", ":5:29: not finite"},
		{"huge integer default", head + "      a: {path: a, default: 99999999999999999999}\n", ":5:29: does not fit in 64 bits"},
		{"binary default", head + "      a: {path: a, default: !!binary aGk=}\n", ":5:29: unsupported YAML value"},
		{"routes not list", "version: \"1\"\ntools: {}\nroutes: {}\n", ":3:9: routes must be a list"},
		{"route unknown tool", "version: \"1\"\ntools: {}\nroutes:\n  - {pattern: /a, tool: x}\n", ":4:25: routes[0].tool: \"x\" is not defined"},
		{"route missing pattern", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {tool: t}\n", ":4:5: routes[0]: missing key \"pattern\""},
		{"route bad pattern", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: \"/a/{}\", tool: t}\n", ":4:15: routes[0].pattern \"/a/{}\": empty parameter name"},
		{"route partial param", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: \"/a/x{id}\", tool: t}\n", "must be a whole segment"},
		{"route relative", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: \"a\", tool: t}\n", "must start with /"},
		{"route dot", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: \"/a/../b\", tool: t}\n", "dot segment"},
		{"route duplicate shape", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: \"/a/{x}\", tool: t}\n  - {pattern: \"/a/{y}\", tool: t}\n", ":5:15: routes[1].pattern \"/a/{y}\" matches the same paths as the route at line 4"},
		{"route bad method", "version: \"1\"\ntools: {t: {}}\nroutes:\n  - {pattern: /a, tool: t, method: [\"GE T\"]}\n", "is not an HTTP method"},
		{"route path param missing", "version: \"1\"\ntools:\n  t:\n    constraints:\n      c: {from: path, path: cluster}\nroutes:\n  - {pattern: \"/a/{x}\", tool: t}\n", ":5:7: field \"c\" reads path parameter \"cluster\""},
		{"deep default", head + "      a: {path: a, default: " + strings.Repeat("[", 40) + strings.Repeat("]", 40) + "}\n", "nested deeper than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), "test.yaml")
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", c)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != "test.yaml" {
				t.Errorf("error %v is not a *ConfigError for test.yaml", err)
			}
			pos, frag := "", tc.want
			if m := wantPos.FindStringSubmatch(tc.want); m != nil {
				pos, frag = "test.yaml"+m[1], m[2]
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.Contains(line, pos) && strings.Contains(line, frag)
			}
			if !found {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tc.want)
			}
		})
	}
}

func TestParseReportsAllErrors(t *testing.T) {
	y := "version: \"1\"\ntools:\n  t:\n    constraints:\n      b: {path: b, type: int}\n      a: {from: x, path: a}\n"
	_, err := Parse([]byte(y), "f.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	i, j := strings.Index(msg, "f.yaml:5:"), strings.Index(msg, "f.yaml:6:")
	if i < 0 || j < 0 || i > j {
		t.Errorf("want both errors in line order, got:\n%s", msg)
	}
}

func TestCheckMCP(t *testing.T) {
	y := "version: \"1\"\ntools:\n  t:\n    constraints:\n      tenant: {from: header, path: X-Tenant}\n  u:\n    constraints:\n      c: {from: path, path: c}\nroutes:\n  - {pattern: \"/u/{c}\", tool: u}\n"
	c, err := Parse([]byte(y), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckMCP()
	if err == nil || !strings.Contains(err.Error(), "f.yaml:5:7: tools.t.constraints.tenant reads the header") {
		t.Errorf("CheckMCP = %v", err)
	}
	if strings.Contains(err.Error(), "tools.u") {
		t.Errorf("CheckMCP flagged a routed tool: %v", err)
	}
	var nilConfig *Config
	if err := nilConfig.CheckMCP(); err != nil {
		t.Errorf("nil CheckMCP = %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "mcp-config.yaml")
	if err := os.WriteFile(good, []byte(mcpConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(good); err != nil {
		t.Errorf("Load: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: \"1\"\ntools:\n  t: {descripton: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":3:7: unknown key") {
		t.Errorf("Load(bad) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load(missing) succeeded")
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxConfigSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v", err)
	}
}

// TestConfigErrorsHideKeyMaterial: a secret key pasted where a public key
// belongs is refused without being printed.
func TestConfigErrorsHideKeyMaterial(t *testing.T) {
	secrets := []string{
		"q6vN3Y3bN1lqk6bQxJtP0mC2Yh7o1Qv4xWZt5u8sK0E=",                  // base64 seed
		"-----BEGIN PRIVATE KEY-----MC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAA", // PEM text
	}
	for _, sec := range secrets {
		_, err := Parse([]byte("version: \"1\"\nsettings:\n  trusted_issuers: [\""+sec+"\"]\ntools: {}\n"), "c.yaml")
		if err == nil || strings.Contains(err.Error(), sec[:20]) {
			t.Fatalf("error %v for a secret in trusted_issuers", err)
		}
	}
}
