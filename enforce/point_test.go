package enforce

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// TestDenialTable pins the one table of denials: each row's JSON-RPC code and
// HTTP statuses, and that authz's own denials land in the row named.
func TestDenialTable(t *testing.T) {
	for _, c := range DenialCases() {
		t.Run(c.Name, func(t *testing.T) {
			if c.Result.Kind != KindNoWarrant && c.Result.Kind != KindNoRoute {
				if k := kindOf(c.Result.Denial); k != c.Result.Kind {
					t.Fatalf("code %d falls in kind %d, the table says %d", c.Result.Denial.Code, k, c.Result.Kind)
				}
			}
			code, msg, data, ok := c.Result.RPCError()
			if !ok || code != c.RPC {
				t.Fatalf("RPC code %d (ok %v), want %d", code, ok, c.RPC)
			}
			var d struct {
				Tenuo struct {
					Code  int    `json:"code"`
					Error string `json:"error"`
					Tool  string `json:"tool"`
				} `json:"tenuo"`
				TenuoCode int `json:"tenuo_code"`
			}
			if err := json.Unmarshal(data, &d); err != nil || d.Tenuo.Code != int(c.Result.Denial.Code) ||
				d.TenuoCode != int(c.Result.Denial.Code) || d.Tenuo.Error != c.Result.Denial.Code.Name() || d.Tenuo.Tool != "t" {
				t.Fatalf("error.data %s (%v)", data, err)
			}
			if !strings.Contains(msg, c.Result.Denial.Message) {
				t.Fatalf("message %q lacks the reason", msg)
			}
			if s := c.Result.HTTPStatus(StyleAuthorizer); s != c.HTTPAuthorizer {
				t.Fatalf("authorizer style: %d, want %d", s, c.HTTPAuthorizer)
			}
			if s := c.Result.HTTPStatus(StyleFastAPI); s != c.HTTPFastAPI {
				t.Fatalf("FastAPI style: %d, want %d", s, c.HTTPFastAPI)
			}
			var body map[string]any
			json.Unmarshal(c.Result.HTTPBody("r1", false), &body)
			if body["authorized"] != false || body["error_code"] != float64(c.Result.Denial.Code) || body["request_id"] != "r1" {
				t.Fatalf("HTTP body %v", body)
			}
		})
	}
	allowed := &Result{Verdict: Allow}
	if _, _, _, ok := allowed.RPCError(); ok || allowed.HTTPStatus(StyleFastAPI) != 200 {
		t.Fatal("an allowed result renders as a denial")
	}
}

func key(t *testing.T, b byte) *authz.SigningKey {
	t.Helper()
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	p     *Point
	stack authz.Stack
	agent *authz.SigningKey
	now   time.Time
	audit *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) lines(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// newFixture: a root, an agent warrant for "ping" (any arguments) and "read"
// (path under /data/*), a Point holding it, and a fixed clock.
func newFixture(t *testing.T, tm *toolmap.Config) *fixture {
	t.Helper()
	f := &fixture{now: time.Unix(1_800_000_000, 0), agent: key(t, 2), audit: &syncBuf{}}
	root := key(t, 1)
	w, err := authz.Mint(root, authz.Grant{Holder: f.agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"ping": {},
		"read": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
	}}, f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.stack = authz.Stack{w}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	held, err := NewHeldWarrant(f.stack, f.agent)
	if err != nil {
		t.Fatal(err)
	}
	f.p = &Point{Authorizer: az, Held: held, ToolMap: tm, Audit: f.audit, Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) envelope(t *testing.T, tool, args string) *Envelope {
	t.Helper()
	canon, err := authz.CanonicalArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := authz.SignPoP(f.agent, f.stack.Leaf().ID, tool, canon, f.now)
	if err != nil {
		t.Fatal(err)
	}
	return &Envelope{Warrant: f.stack.Base64(), Signature: base64.RawURLEncoding.EncodeToString(sig[:]), Source: SourceMeta}
}

func TestPointDecisions(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		call     *Call
		verdict  Verdict
		kind     Kind
		code     authz.Code
		source   string
		verified bool
	}{
		{"held, allowed", &Call{Tool: "read", Arguments: json.RawMessage(`{"path":"/data/a"}`)}, Allow, KindNone, 0, "held", true},
		{"held, no arguments", &Call{Tool: "ping"}, Allow, KindNone, 0, "held", true},
		{"held, constraint", &Call{Tool: "read", Arguments: json.RawMessage(`{"path":"/etc/passwd"}`)}, Deny, KindForbidden, authz.CodeConstraintViolation, "held", true}, // the chain is cached by then: checked first
		{"held, tool not granted", &Call{Tool: "write"}, Deny, KindForbidden, authz.CodeToolNotAuthorized, "held", true},
		{"presented, allowed", &Call{Tool: "read", Arguments: json.RawMessage(`{"path":"/data/a"}`), Envelope: f.envelope(t, "read", `{"path":"/data/a"}`)}, Allow, KindNone, 0, "client", true},
		{"presented, PoP for other arguments", &Call{Tool: "read", Arguments: json.RawMessage(`{"path":"/data/b"}`), Envelope: f.envelope(t, "read", `{"path":"/data/a"}`)}, Deny, KindUnauthentic, authz.CodePopSignatureInvalid, "client", true},
		{"presented, signature not base64", &Call{Tool: "ping", Envelope: &Envelope{Warrant: f.stack.Base64(), Signature: "!!", Source: SourceMeta}}, Deny, KindMalformed, authz.CodePopSignatureInvalid, "client", false},
		{"presented, oversized warrant", &Call{Tool: "ping", Envelope: &Envelope{Warrant: strings.Repeat("A", MaxWarrantLen+1), Signature: "AA", Source: SourceMeta}}, Deny, KindTooLarge, authz.CodeWarrantTooLarge, "client", false},
		{"malformed", &Call{Tool: "ping", Malformed: errors.New("bad params")}, Deny, KindMalformed, authz.CodeInvalidEnvelopeStructure, "none", false},
		{"inexact number", &Call{Tool: "ping", Arguments: json.RawMessage(`{"n":9007199254740993}`)}, Deny, KindMalformed, authz.CodePopChallengeInvalid, "none", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.p.Check(ctx, tc.call)
			if r.Verdict != tc.verdict || r.Kind != tc.kind || r.Source != tc.source {
				t.Fatalf("verdict %v kind %d source %s, want %v %d %s (%v)", r.Verdict, r.Kind, r.Source, tc.verdict, tc.kind, tc.source, r.Denial)
			}
			if tc.code != 0 && (r.Denial == nil || r.Denial.Code != tc.code) {
				t.Fatalf("denial %v, want code %d", r.Denial, tc.code)
			}
			lines := f.audit.lines(t)
			last := lines[len(lines)-1]
			if last["decision"] != tc.verdict.String() || last["warrant_source"] != tc.source || last["chain_verified"] != tc.verified {
				t.Fatalf("audit line %v", last)
			}
			if strings.Contains(f.audit.b.String(), "/etc/passwd") {
				t.Fatal("an argument value reached the audit log without AuditArgs")
			}
		})
	}
	// No warrant at all.
	f.p.Held = nil
	if r := f.p.Check(ctx, &Call{Tool: "ping"}); r.Verdict != Deny || r.Kind != KindNoWarrant || r.HTTPStatus(StyleFastAPI) != 401 {
		t.Fatalf("no warrant: %+v", r)
	}
	// Audit mode: would-deny, forwarded.
	f.p.AuditMode = true
	if r := f.p.Check(ctx, &Call{Tool: "ping"}); r.Verdict != WouldDeny || !r.Forward() || r.Kind != KindNoWarrant {
		t.Fatalf("audit mode: %+v", r)
	}
}

func TestPointFailsClosed(t *testing.T) {
	var p Point // no authorizer
	if r := p.Check(context.Background(), &Call{Tool: "ping"}); r.Verdict != Deny || r.Kind != KindInternal {
		t.Fatalf("zero Point: %+v", r)
	}
	if keep := p.Visible(context.Background(), &ListCall{}); keep("ping") {
		t.Fatal("zero Point lists a tool")
	}
	f := newFixture(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := f.p.Check(ctx, &Call{Tool: "ping"}); r.Verdict != Deny {
		t.Fatalf("cancelled: %+v", r)
	}
	// A panicking observer of a decision (or anything inside) denies.
	f.p.Observe = func(*Call, *Result) {}
	f.p.ToolMap = nil
	f.p.Held.Key = nil // SignPoP with no key panics or errors: either way a denial
	if r := f.p.Check(context.Background(), &Call{Tool: "ping"}); r.Verdict != Deny {
		t.Fatalf("broken held key: %+v", r)
	}
}

func TestPointAuditArgsAndObserve(t *testing.T) {
	f := newFixture(t, nil)
	f.p.AuditArgs = true
	var seen []Verdict
	f.p.Observe = func(_ *Call, r *Result) { seen = append(seen, r.Verdict) }
	f.p.Check(context.Background(), &Call{Front: FrontStdio, RequestID: json.RawMessage(`7`), Tool: "read", Arguments: json.RawMessage(`{"path":"/etc/secret"}`)})
	last := f.audit.lines(t)[0]
	if last["front"] != "stdio" || last["request_id"] != float64(7) || last["argument"] != "path" {
		t.Fatalf("audit line %v", last)
	}
	if !strings.Contains(f.audit.b.String(), "/etc/secret") {
		t.Fatal("AuditArgs: the arguments and the denied value belong in the audit line")
	}
	if len(seen) != 1 || seen[0] != Deny {
		t.Fatalf("Observe saw %v", seen)
	}
}

func TestPointVisible(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	keep := f.p.Visible(ctx, &ListCall{})
	if !keep("ping") || !keep("read") || keep("write") {
		t.Fatal("held warrant: want ping and read only")
	}
	// A presented warrant, without a signature, is the one listed.
	keep = f.p.Visible(ctx, &ListCall{Envelope: &Envelope{Warrant: f.stack.Base64()}})
	if !keep("read") || keep("write") {
		t.Fatal("presented warrant not listed")
	}
	if keep := f.p.Visible(ctx, &ListCall{Envelope: &Envelope{Warrant: "garbage"}}); keep("ping") {
		t.Fatal("a bad warrant lists tools")
	}
	f.now = f.now.Add(2 * time.Hour)
	if keep := f.p.Visible(ctx, &ListCall{}); keep("ping") {
		t.Fatal("an expired warrant lists tools")
	}
	f.p.ListPolicy = ListAll
	if keep := f.p.Visible(ctx, &ListCall{}); !keep("anything") {
		t.Fatal("ListAll")
	}
}

func TestPointHTTPRoutes(t *testing.T) {
	tm, err := toolmap.Parse([]byte(`version: "1"
tools:
  read:
    constraints:
      path: {from: path, path: file}
routes:
  - pattern: "/files/{file}"
    method: GET
    tool: read
`), "routes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, tm)
	req := httptest.NewRequest("GET", "/files/x", nil)
	r := f.p.Check(context.Background(), &Call{Front: FrontSidecar, HTTP: req})
	if r.WarrantTool != "read" {
		t.Fatalf("routed to %q: %v", r.WarrantTool, r.Denial)
	}
	// An encoded slash: a router matching escaped segments would see one
	// segment where the check saw two.
	for _, path := range []string{"/files/a%2Fb", "/files/a%2fb", "/files/a%5Cb"} {
		r := f.p.Check(context.Background(), &Call{Front: FrontSidecar, HTTP: httptest.NewRequest("GET", path, nil)})
		if r.Verdict != Deny || r.Kind != KindMalformed {
			t.Fatalf("%s: %v kind %d %v", path, r.Verdict, r.Kind, r.Denial)
		}
	}
	r = f.p.Check(context.Background(), &Call{Front: FrontSidecar, HTTP: httptest.NewRequest("POST", "/nowhere", nil)})
	if r.Kind != KindNoRoute || r.HTTPStatus(StyleAuthorizer) != 404 {
		t.Fatalf("no route: kind %d %v", r.Kind, r.Denial)
	}
}

func TestPointRefused(t *testing.T) {
	f := newFixture(t, nil)
	f.p.Refused(&Refusal{Front: FrontStdio, Event: "tools/call", Reason: "no id"})
	l := f.audit.lines(t)[0]
	if l["decision"] != "deny" || l["dropped"] != true || l["event"] != "tools/call" || l["chain_verified"] != false {
		t.Fatalf("refusal audit %v", l)
	}
}
