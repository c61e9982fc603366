// Package gatewaytest holds the test fixture of the gateway front ends
// (sidecar, ext_authz HTTP and gRPC, and tenuo-authorizer): keys, warrants,
// a gateway.yaml whose routes extract from every source, a decision point,
// signed requests, the table of requests every front end runs, and a real
// redis-server to start (StartRedis). For tests only.
package gatewaytest

import (
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/enforce/enforcetest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// ConfigYAML is the fixture's gateway.yaml (Tenuo's shape): a route per
// source of extraction — path parameters, query, header, JSON body and a
// literal — and one whose body no rule reads (it streams).
const ConfigYAML = `version: "1"
settings:
  debug_mode: false
tools:
  read_file:
    tool: read
    constraints:
      path: {from: query, path: path, required: true}
  scale:
    constraints:
      cluster: {from: path, path: cluster, required: true}
      replicas: {from: body, path: spec.replicas, type: integer, required: true}
      tenant: {from: header, path: X-Tenant-Id, required: true}
      mode: {from: literal, default: "scale"}
  upload:
    constraints:
      name: {from: path, path: name, required: true}
  deploy:
    constraints:
      env: {from: path, path: env, required: true}
  list:
    constraints:
      limit: {from: query, path: limit, default: "10"}
routes:
  - pattern: "/files"
    method: GET
    tool: read_file
  - pattern: "/clusters/{cluster}/scale"
    method: POST
    tool: scale
  - pattern: "/upload/{name}"
    method: [PUT, POST]
    tool: upload
  - pattern: "/deploy/{env}"
    method: POST
    tool: deploy
  - pattern: "/items"
    method: GET
    tool: list
`

// Key returns the signing key of the 32-byte seed of b repeated.
func Key(t testing.TB, b byte) *authz.SigningKey { t.Helper(); return enforcetest.Key(t, b) }

// Fixture: a trusted root; an agent whose warrant grants read (path under
// /data/), scale (cluster staging-*, replicas 1–10, any tenant, mode
// "scale"), upload (any name), deploy and list (limit 10, 20 or 50; the
// route's default is 10); an expired warrant; one from an
// untrusted root; one whose deploy needs an approval.
type Fixture struct {
	Now                        time.Time
	Root, Agent, Rogue, Apprvr *authz.SigningKey
	Agents, Expired, RogueW    authz.Stack
	NeedsApproval              authz.Stack
	ToolMap                    *toolmap.Config
	Authorizer                 *authz.Authorizer
	Point                      *enforce.Point
	Audit                      *SyncBuffer
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes (enforcetest's).
type SyncBuffer = enforcetest.SyncBuffer

func f64(v float64) *float64 { return &v }

// New builds the fixture with warrants issued now, and a Point with no
// replay guard (see NewAuthorizer for one).
func New(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{Now: time.Now().Truncate(time.Second), Root: Key(t, 1), Agent: Key(t, 2), Rogue: Key(t, 4),
		Apprvr: Key(t, 5), Audit: &SyncBuffer{}}
	tools := map[string]authz.ConstraintSet{
		"read": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
		"scale": {Constraints: map[string]authz.Constraint{
			"cluster":  &authz.Pattern{Pattern: "staging-*"},
			"replicas": &authz.Range{Min: f64(1), Max: f64(10)},
			"tenant":   &authz.Pattern{Pattern: "*"},
			"mode":     &authz.Exact{Value: "scale"},
		}},
		"upload": {Constraints: map[string]authz.Constraint{"name": &authz.Pattern{Pattern: "*"}}},
		"deploy": {Constraints: map[string]authz.Constraint{"env": &authz.Pattern{Pattern: "*"}}},
		"list":   {Constraints: map[string]authz.Constraint{"limit": &authz.OneOf{Values: []any{"10", "20", "50"}}}},
	}
	mint := func(issuer *authz.SigningKey, g authz.Grant, at time.Time) authz.Stack {
		t.Helper()
		w, err := authz.Mint(issuer, g, at)
		if err != nil {
			t.Fatal(err)
		}
		return authz.Stack{w}
	}
	f.Agents = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: tools}, f.Now)
	f.Expired = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Minute, Tools: tools}, f.Now.Add(-2*time.Hour))
	f.RogueW = mint(f.Rogue, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: tools}, f.Now)
	one := uint64(1)
	f.NeedsApproval = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour,
		Tools:             map[string]authz.ConstraintSet{"deploy": tools["deploy"]},
		RequiredApprovers: []authz.PublicKey{f.Apprvr.Public()}, MinApprovals: &one}, f.Now)
	var err error
	if f.ToolMap, err = toolmap.Parse([]byte(ConfigYAML), "gateway.yaml"); err != nil {
		t.Fatal(err)
	}
	f.Authorizer = f.NewAuthorizer(t, nil)
	f.Point = f.NewPoint(f.Authorizer)
	return f
}

// NewAuthorizer returns an authorizer trusting the fixture's root, with
// replay (nil: none).
func (f *Fixture) NewAuthorizer(t testing.TB, replay *authz.ReplayGuard) *authz.Authorizer {
	t.Helper()
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{f.Root.Public()}, Replay: replay})
	if err != nil {
		t.Fatal(err)
	}
	return az
}

// NewPoint returns a decision point over az with the fixture's tool map,
// auditing to f.Audit.
func (f *Fixture) NewPoint(az *authz.Authorizer) *enforce.Point {
	return &enforce.Point{Authorizer: az, ToolMap: f.ToolMap, Audit: f.Audit}
}

// PoP signs a proof of possession of stack's leaf with the agent's key for
// the warrant tool and fields (what the route extracts), base64url.
func (f *Fixture) PoP(t testing.TB, stack authz.Stack, tool string, fields map[string]any) string {
	t.Helper()
	sig, err := authz.SignPoP(f.Agent, stack.Leaf().ID, tool, fields, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sig[:])
}

// Sign sets the warrant and a PoP over tool and fields on h.
func (f *Fixture) Sign(t testing.TB, h http.Header, stack authz.Stack, tool string, fields map[string]any) {
	t.Helper()
	h.Set(toolmap.DefaultWarrantHeader, stack.Base64())
	h.Set(toolmap.DefaultPoPHeader, f.PoP(t, stack, tool, fields))
}

// ScaleFields are the fields the scale route extracts from cluster
// staging-1, replicas n and tenant acme.
func ScaleFields(cluster string, n int) map[string]any {
	return map[string]any{"cluster": cluster, "replicas": int64(n), "tenant": "acme", "mode": "scale"}
}
