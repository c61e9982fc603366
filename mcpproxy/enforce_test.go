package mcpproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

func enfKey(t *testing.T, b byte) *authz.SigningKey {
	t.Helper()
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// enfFixture: a root, an agent warrant for "ping" (no arguments) and
// "read" (path under /data/*), an enforcer holding it, and a clock.
func enfFixture(t *testing.T, cfg *toolmap.Config) (*Hooks, authz.Stack, *authz.SigningKey, *bytes.Buffer) {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	root, agent := enfKey(t, 1), enfKey(t, 2)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"ping": {},
		"read": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
	}}, now)
	if err != nil {
		t.Fatal(err)
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	held, err := enforce.NewHeldWarrant(authz.Stack{w}, agent)
	if err != nil {
		t.Fatal(err)
	}
	var audit bytes.Buffer
	return &Hooks{Point: &enforce.Point{Authorizer: az, Held: held, ToolMap: cfg, Audit: &audit, Now: func() time.Time { return now }}},
		authz.Stack{w}, agent, &audit
}

func TestEnforcerCallsWithoutArguments(t *testing.T) {
	e, s, agent, _ := enfFixture(t, nil)
	// Held warrant: the proxy signs for {}.
	if v := e.AuthorizeCall(context.Background(), &Call{ID: json.RawMessage(`1`), Name: "ping"}); !v.Allow {
		t.Fatalf("held, no arguments: %+v", v)
	}
	// Client-presented: the client signed {}.
	sig, err := authz.SignPoP(agent, s.Leaf().ID, "ping", map[string]any{}, e.Point.Now())
	if err != nil {
		t.Fatal(err)
	}
	tm := &enforce.Envelope{Warrant: s.Base64(), Signature: base64.RawURLEncoding.EncodeToString(sig[:]), Source: enforce.SourceMeta}
	if v := e.AuthorizeCall(context.Background(), &Call{ID: json.RawMessage(`2`), Name: "ping", Tenuo: tm}); !v.Allow {
		t.Fatalf("client, no arguments: %+v %s", v, v.Data)
	}
}

func TestEnforcerVerdicts(t *testing.T) {
	e, s, agent, audit := enfFixture(t, nil)
	sign := func(tool, args string) *enforce.Envelope {
		canon, err := authz.CanonicalArgs([]byte(args))
		if err != nil {
			t.Fatal(err)
		}
		sig, _ := authz.SignPoP(agent, s.Leaf().ID, tool, canon, e.Point.Now())
		return &enforce.Envelope{Warrant: s.Base64(), Signature: base64.StdEncoding.EncodeToString(sig[:]), Source: enforce.SourceMeta}
	}
	cases := []struct {
		name  string
		call  *Call
		code  int
		tenuo authz.Code
	}{
		{"constraint", &Call{Name: "read", Arguments: json.RawMessage(`{"path":"/etc/x"}`), Tenuo: sign("read", `{"path":"/etc/x"}`)}, CodeAccessDenied, authz.CodeConstraintViolation},
		{"tool", &Call{Name: "write", Arguments: json.RawMessage(`{}`), Tenuo: sign("write", `{}`)}, CodeAccessDenied, authz.CodeToolNotAuthorized},
		{"warrant not base64", &Call{Name: "ping", Tenuo: &enforce.Envelope{Warrant: "%%%", Signature: "AAAA"}}, CodeInvalidParams, 0},
		{"signature not base64", &Call{Name: "ping", Tenuo: &enforce.Envelope{Warrant: s.Base64(), Signature: "%%%"}}, CodeInvalidParams, authz.CodePopSignatureInvalid},
		{"signature wrong length", &Call{Name: "ping", Tenuo: &enforce.Envelope{Warrant: s.Base64(), Signature: "AAAA"}}, CodeAccessDenied, authz.CodePopSignatureInvalid},
		{"bad arguments", &Call{Name: "read", Arguments: json.RawMessage(`{"path":"/data/a","path":"/data/b"}`), Tenuo: sign("read", `{"path":"/data/a"}`)}, CodeInvalidParams, authz.CodePopChallengeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := e.AuthorizeCall(context.Background(), c.call)
			if v.Allow || v.Code != c.code || v.Message == "" {
				t.Fatalf("verdict %+v, want code %d", v, c.code)
			}
			var data struct {
				Tenuo struct {
					Code  int    `json:"code"`
					Error string `json:"error"`
				} `json:"tenuo"`
				TenuoCode int `json:"tenuo_code"`
			}
			if err := json.Unmarshal(v.Data, &data); err != nil {
				t.Fatalf("error.data: %v %s", err, v.Data)
			}
			if c.tenuo != 0 && (data.Tenuo.Code != int(c.tenuo) || data.TenuoCode != int(c.tenuo) || data.Tenuo.Error != c.tenuo.Name()) {
				t.Fatalf("error.data %s, want code %d", v.Data, c.tenuo)
			}
		})
	}
	if n := bytes.Count(audit.Bytes(), []byte("\n")); n != len(cases) {
		t.Fatalf("%d audit lines for %d decisions", n, len(cases))
	}
	// Audit mode forwards and says so.
	e.Point.AuditMode = true
	if v := e.AuthorizeCall(context.Background(), cases[0].call); v.Allow || !v.AuditOnly {
		t.Fatalf("audit mode: %+v", v)
	}
}

// TestEnforcerReplayGuardHeldWarrant: with replay protection on, a client
// presenting the same PoP twice is refused, but the same call made twice
// through the proxy-held warrant (which the proxy signs itself, identically
// within a window) is not a replay.
func TestEnforcerReplayGuardHeldWarrant(t *testing.T) {
	e, s, agent, _ := enfFixture(t, nil)
	root := enfKey(t, 1)
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: e.Point.Now,
		Replay: authz.NewReplayGuard(0, 0, nil)})
	if err != nil {
		t.Fatal(err)
	}
	e.Point.Authorizer = az
	held := &Call{Name: "read", Arguments: json.RawMessage(`{"path":"/data/a"}`)}
	for i := 0; i < 3; i++ {
		if v := e.AuthorizeCall(context.Background(), held); !v.Allow {
			t.Fatalf("held call %d: %+v %s", i, v, v.Data)
		}
	}
	sig, _ := authz.SignPoP(agent, s.Leaf().ID, "read", map[string]any{"path": "/data/a"}, e.Point.Now())
	client := &Call{Name: "read", Arguments: json.RawMessage(`{"path":"/data/a"}`),
		Tenuo: &enforce.Envelope{Warrant: s.Base64(), Signature: base64.StdEncoding.EncodeToString(sig[:])}}
	if v := e.AuthorizeCall(context.Background(), client); !v.Allow {
		t.Fatalf("first client call: %+v", v)
	}
	if v := e.AuthorizeCall(context.Background(), client); v.Allow {
		t.Fatal("a replayed client PoP must be refused")
	}
}

// TestEnforcerListFollowsWarrantValidity: tools/list shows the held
// warrant's tools while it is valid and nothing once it has expired.
func TestEnforcerListFollowsWarrantValidity(t *testing.T) {
	e, _, _, _ := enfFixture(t, nil)
	keep := e.FilterTools(context.Background(), &ListRequest{})
	if !keep("ping") || !keep("read") || keep("write") {
		t.Fatal("valid held warrant: want ping and read only")
	}
	later := e.Point.Now().Add(2 * time.Hour)
	e.Point.Now = func() time.Time { return later }
	if keep := e.FilterTools(context.Background(), &ListRequest{}); keep("ping") || keep("read") {
		t.Fatal("an expired held warrant must list nothing")
	}
	e.Point.ListPolicy = enforce.ListAll
	if keep := e.FilterTools(context.Background(), &ListRequest{}); !keep("anything") {
		t.Fatal("--list-policy all lists everything")
	}
}
