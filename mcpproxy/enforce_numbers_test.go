package mcpproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// numbersFixture: an enforcer holding a warrant whose tool "count" excludes
// n = 2^53 (notoneof:9007199254740992) and allows any q, and whose tool
// "tagged" (reached through the tool map below) excludes the same n.
func numbersFixture(t *testing.T, cfg *toolmap.Config) (*Hooks, *bytes.Buffer) {
	t.Helper()
	now := time.Unix(1_800_000_000, 0)
	root, agent := enfKey(t, 1), enfKey(t, 2)
	notTwo53, err := authz.ParseConstraintJSON([]byte(`{"type":"not_one_of","excluded":[9007199254740992]}`))
	if err != nil {
		t.Fatal(err)
	}
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"count":  {Constraints: map[string]authz.Constraint{"n": notTwo53, "q": &authz.Wildcard{}}},
		"tagged": {Constraints: map[string]authz.Constraint{"n": notTwo53}},
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
	return &Hooks{Point: &enforce.Point{Authorizer: az, Held: held, ToolMap: cfg, Audit: &audit, Now: func() time.Time { return now }}}, &audit
}

// TestEnforcerRefusesInexactNumbers (issue 8, rule 3): a number approved is
// the number the server acts on. 9007199254740993 is not 2^53 to the
// constraint, which reads it exactly, but a JavaScript server reads it as
// 2^53: by default the call is refused before any check, nested numbers too,
// with or without a tool map.
func TestEnforcerRefusesInexactNumbers(t *testing.T) {
	cfg, err := toolmap.Parse([]byte("version: \"1\"\ntools:\n  tag:\n    tool: tagged\n    constraints:\n      n: {path: meta.n}\n"), "numbers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bare, bareAudit := numbersFixture(t, nil)
	mapped, _ := numbersFixture(t, cfg)
	refused := []struct {
		name, tool, args, path, arg string
		e                           *Hooks
	}{
		{"2^53+1", "count", `{"n":9007199254740993,"q":0}`, "$.n", "n", bare},
		{"negative", "count", `{"q":0,"n":-9007199254740993}`, "$.n", "n", bare},
		{"nested, in an argument no constraint reads", "count", `{"n":1,"q":{"ids":[7,9007199254740995]}}`, "$.q.ids[1]", "q", bare},
		{"max int64", "count", `{"n":1,"q":9223372036854775807}`, "$.q", "q", bare},
		{"with a tool map", "tag", `{"meta":{"n":9007199254740993}}`, "$.meta.n", "meta", mapped},
		{"with a tool map, an argument it does not extract", "tag", `{"meta":{"n":1},"other":[9007199254740993]}`, "$.other[0]", "other", mapped},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			v := c.e.AuthorizeCall(context.Background(), &Call{ID: json.RawMessage(`1`), Name: c.tool, Arguments: json.RawMessage(c.args)})
			if v.Allow || v.Code != CodeInvalidParams {
				t.Fatalf("verdict %+v %s, want -32602", v, v.Data)
			}
			if !strings.Contains(v.Message, "argument "+c.path+" ") || !strings.Contains(v.Message, "2^53") {
				t.Errorf("message %q does not name the path %s and the rule", v.Message, c.path)
			}
			if strings.Contains(v.Message, "900719925474099") || strings.Contains(v.Message, "922337203685477") {
				t.Errorf("message %q repeats the value", v.Message)
			}
			var data struct {
				Tenuo struct {
					Code     int    `json:"code"`
					Argument string `json:"argument"`
				} `json:"tenuo"`
			}
			if err := json.Unmarshal(v.Data, &data); err != nil {
				t.Fatal(err)
			}
			if data.Tenuo.Code != int(authz.CodePopChallengeInvalid) || data.Tenuo.Argument != c.arg {
				t.Errorf("error.data %s, want code %d and argument %q", v.Data, authz.CodePopChallengeInvalid, c.arg)
			}
		})
	}
	if !strings.Contains(bareAudit.String(), `"argument":"q"`) {
		t.Errorf("audit does not name the argument:\n%s", bareAudit.String())
	}

	// Numbers both readers read alike are not this rule's business: 2^53
	// itself reaches the constraint, which denies it; 9.007199254740995e15
	// is read as the double 9007199254740996 on both sides; 0.1 and 1.5 too.
	decided := []struct {
		args  string
		allow bool
	}{
		{`{"n":9007199254740992,"q":0}`, false},
		{`{"n":9007199254740994,"q":0}`, true},
		{`{"n":9.007199254740995e15,"q":0}`, true},
		{`{"n":9.007199254740992e15,"q":0}`, false},
		{`{"n":0.1,"q":[1.5,-9007199254740992]}`, true},
	}
	for _, c := range decided {
		v := bare.AuthorizeCall(context.Background(), &Call{ID: json.RawMessage(`2`), Name: "count", Arguments: json.RawMessage(c.args)})
		if v.Allow != c.allow || (!c.allow && v.Code != CodeAccessDenied) {
			t.Errorf("%s: verdict %d %q %s, want allow=%v by the constraint", c.args, v.Code, v.Message, v.Data, c.allow)
		}
	}
}

// TestEnforcerAllowInexactNumbers: for an upstream known to read integers
// exactly, the flag lifts the refusal and authz decides on the exact value.
func TestEnforcerAllowInexactNumbers(t *testing.T) {
	e, _ := numbersFixture(t, nil)
	e.Point.AllowInexactNumbers = true
	call := func(args string) *Verdict {
		return e.AuthorizeCall(context.Background(), &Call{ID: json.RawMessage(`1`), Name: "count", Arguments: json.RawMessage(args)})
	}
	if v := call(`{"n":9007199254740993,"q":0}`); !v.Allow {
		t.Fatalf("2^53+1 with the flag: %q %s", v.Message, v.Data)
	}
	if v := call(`{"n":1,"q":{"ids":[9007199254740995]}}`); !v.Allow {
		t.Fatalf("nested with the flag: %q %s", v.Message, v.Data)
	}
	if v := call(`{"n":9007199254740992,"q":0}`); v.Allow || v.Code != CodeAccessDenied {
		t.Fatalf("2^53 with the flag: %+v %s, want the constraint's denial", v, v.Data)
	}
	// Malformed arguments are still refused by the reader.
	if v := call(`{"n":9007199254740993,"n":1,"q":0}`); v.Allow || v.Code != CodeInvalidParams {
		t.Fatalf("duplicate key with the flag: %+v", v)
	}
}
