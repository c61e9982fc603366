// Package enforcetest holds the test fixture every front end's tests share:
// keys, warrants, a tool map with HTTP routes, a decision point, and the one
// table of warrants, proofs and calls that the MCP relay, the HTTP
// middleware, a guarded function and the MCP server middleware must all
// decide as enforce.Point.Check does.
package enforcetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// Key returns the signing key of a seed of 32 bytes b.
func Key(t testing.TB, b byte) *authz.SigningKey {
	t.Helper()
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Fixture: a trusted root; an agent whose warrant grants read (path under
// /data/), write (any arguments) and deploy; a sub-agent holding read
// narrowed to /data/reports/; an expired warrant, one from an untrusted
// root, one whose deploy needs an approval; and a decision point with a tool
// map whose routes put the same tools on HTTP (POST /read, /write, /deploy
// with the arguments as the JSON body).
type Fixture struct {
	Now                                 time.Time
	Root, Agent, Sub, Rogue, Approver   *authz.SigningKey
	AgentStack, SubStack                authz.Stack
	ExpiredStack, RogueStack, Approvals authz.Stack
	ToolMap                             *toolmap.Config
	Point                               *enforce.Point
	Audit                               *SyncBuffer
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *SyncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// ToolMapYAML is the fixture's tool map.
const ToolMapYAML = `version: "1"
tools:
  read:
    constraints:
      path: {path: path, required: true}
  write:
    constraints:
      path: {path: path}
      data: {path: data}
  deploy:
    constraints:
      env: {path: env}
routes:
  - pattern: "/files/{file}"
    method: GET
    tool: read
    constraints:
      path: {from: query, path: path, required: true}
  - pattern: "/read"
    method: POST
    tool: read
  - pattern: "/write"
    method: POST
    tool: write
  - pattern: "/deploy"
    method: POST
    tool: deploy
`

// New builds the fixture, its warrants issued now.
func New(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{Now: time.Now().Truncate(time.Second), Root: Key(t, 1), Agent: Key(t, 2), Sub: Key(t, 3),
		Rogue: Key(t, 4), Approver: Key(t, 5), Audit: &SyncBuffer{}}
	tools := map[string]authz.ConstraintSet{
		"read":   {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
		"write":  {},
		"deploy": {Constraints: map[string]authz.Constraint{"env": &authz.Pattern{Pattern: "*"}}},
	}
	mint := func(issuer *authz.SigningKey, g authz.Grant, at time.Time) authz.Stack {
		t.Helper()
		w, err := authz.Mint(issuer, g, at)
		if err != nil {
			t.Fatal(err)
		}
		return authz.Stack{w}
	}
	f.AgentStack = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: tools}, f.Now)
	var err error
	f.SubStack, err = authz.Attenuate(f.AgentStack, f.Agent, authz.Grant{Holder: f.Sub.Public(), Tools: map[string]authz.ConstraintSet{
		"read": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/reports/*"}}},
	}}, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.ExpiredStack = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Minute, Tools: tools}, f.Now.Add(-2*time.Hour))
	f.RogueStack = mint(f.Rogue, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: tools}, f.Now)
	one := uint64(1)
	f.Approvals = mint(f.Root, authz.Grant{Holder: f.Agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"deploy": tools["deploy"],
	}, RequiredApprovers: []authz.PublicKey{f.Approver.Public()}, MinApprovals: &one}, f.Now)
	f.ToolMap, err = toolmap.Parse([]byte(ToolMapYAML), "fixture.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A fixed clock: decisions (and the reasons they give, which name the
	// time) do not depend on when each front end asked.
	clock := func() time.Time { return f.Now }
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{f.Root.Public()}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	f.Point = &enforce.Point{Authorizer: az, ToolMap: f.ToolMap, Audit: f.Audit, AllowInexactNumbers: true, Now: clock}
	return f
}

// PoP signs a proof of possession of stack's leaf with key for a call of
// the MCP tool with args (JSON), over the fields the tool map extracts (a
// call the map refuses is signed over nothing: it is refused before any
// PoP is checked).
func (f *Fixture) PoP(t testing.TB, stack authz.Stack, key *authz.SigningKey, tool, args string) string {
	t.Helper()
	wt, fields := tool, map[string]any{}
	if m, err := f.ToolMap.MapCall(tool, []byte(args)); err == nil {
		wt, fields = m.Tool, m.Fields
	}
	sig, err := authz.SignPoP(key, stack.Leaf().ID, wt, fields, f.Now)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(sig[:])
}

// Case is one row of the shared table.
type Case struct {
	Name string
	// Stack and Key are the credentials (nil Stack: no warrant at all).
	Stack func(*Fixture) authz.Stack
	Key   func(*Fixture) *authz.SigningKey
	Tool  string
	Args  string
	// Want is the verdict and, when denied, Tenuo's code.
	Want enforce.Verdict
	Code authz.Code
}

// Cases returns the shared table.
func Cases() []Case {
	agent := func(f *Fixture) authz.Stack { return f.AgentStack }
	agentKey := func(f *Fixture) *authz.SigningKey { return f.Agent }
	sub := func(f *Fixture) authz.Stack { return f.SubStack }
	subKey := func(f *Fixture) *authz.SigningKey { return f.Sub }
	return []Case{
		{"allowed", agent, agentKey, "read", `{"path":"/data/a.txt"}`, enforce.Allow, 0},
		{"allowed, other tool", agent, agentKey, "write", `{"path":"/data/b","data":"x"}`, enforce.Allow, 0},
		{"constraint violated", agent, agentKey, "read", `{"path":"/etc/passwd"}`, enforce.Deny, authz.CodeConstraintViolation},
		{"required field missing", agent, agentKey, "read", `{}`, enforce.Deny, authz.CodeConstraintViolation},
		{"delegated, allowed", sub, subKey, "read", `{"path":"/data/reports/q3"}`, enforce.Allow, 0},
		{"delegated, outside the narrowing", sub, subKey, "read", `{"path":"/data/payroll"}`, enforce.Deny, authz.CodeConstraintViolation},
		{"delegated, tool not granted", sub, subKey, "write", `{"path":"/data/reports/x"}`, enforce.Deny, authz.CodeToolNotAuthorized},
		{"wrong holder key", agent, func(f *Fixture) *authz.SigningKey { return f.Rogue }, "read", `{"path":"/data/a"}`, enforce.Deny, authz.CodePopSignatureInvalid},
		{"delegated warrant, parent's key", sub, agentKey, "read", `{"path":"/data/reports/q3"}`, enforce.Deny, authz.CodePopSignatureInvalid},
		{"expired", func(f *Fixture) authz.Stack { return f.ExpiredStack }, agentKey, "read", `{"path":"/data/a"}`, enforce.Deny, authz.CodeWarrantExpired},
		{"untrusted root", func(f *Fixture) authz.Stack { return f.RogueStack }, agentKey, "read", `{"path":"/data/a"}`, enforce.Deny, authz.CodeUntrustedRoot},
		{"approval required", func(f *Fixture) authz.Stack { return f.Approvals }, agentKey, "deploy", `{"env":"prod"}`, enforce.Deny, authz.CodeApprovalRequired},
		{"no warrant", nil, nil, "read", `{"path":"/data/a"}`, enforce.Deny, authz.CodeInvalidEnvelopeStructure},
	}
}

// Envelope returns the case's credentials as a Tenuo MCP envelope (nil for
// no warrant), with stack and key resolved in f.
func (c *Case) Envelope(t testing.TB, f *Fixture) *enforce.Envelope {
	if c.Stack == nil {
		return nil
	}
	s := c.Stack(f)
	return &enforce.Envelope{Warrant: s.Base64(), Signature: f.PoP(t, s, c.Key(f), c.Tool, c.Args), Source: enforce.SourceMeta}
}

// Reference is the decision point's answer to the case, asked as the MCP
// relay asks it; it fails t when that is not the table's.
func (c *Case) Reference(t testing.TB, f *Fixture) *enforce.Result {
	t.Helper()
	r := f.Point.Check(t.Context(), &enforce.Call{Front: enforce.FrontStdio, Tool: c.Tool, Arguments: json.RawMessage(c.Args), Envelope: c.Envelope(t, f)})
	if r.Verdict != c.Want || (c.Want == enforce.Deny && (r.Denial == nil || r.Denial.Code != c.Code)) {
		t.Fatalf("decision point: %v %v, the table says %v %d", r.Verdict, r.Denial, c.Want, c.Code)
	}
	return r
}
