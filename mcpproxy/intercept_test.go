package mcpproxy

import (
	"encoding/json"
	"errors"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"strings"
	"testing"
)

func TestParseCall(t *testing.T) {
	env := `{"warrant":"W","signature":"S","approvals":["A1"]}`
	tests := []struct {
		name     string
		params   string
		wantErr  string // substring of the error; "" for success
		wantFwd  string // forwarded params
		wantArgs string // Call.Arguments ("" for nil)
		wantSrc  string // Call.Tenuo.Source ("" for nil)
	}{
		{name: "no envelope kept byte for byte",
			params:  `{"name":"t", "arguments": {"a":1} ,"_meta":{"progressToken":1}}`,
			wantFwd: `{"name":"t", "arguments": {"a":1} ,"_meta":{"progressToken":1}}`, wantArgs: `{"a":1}`},
		{name: "meta envelope removed, other meta kept",
			params:  `{"name":"t","_meta":{"progressToken":"p","tenuo":` + env + `,"x":{"y":[1, 2]}},"arguments":{"a":1}}`,
			wantFwd: `{"name":"t","_meta":{"progressToken":"p","x":{"y":[1, 2]}},"arguments":{"a":1}}`, wantArgs: `{"a":1}`, wantSrc: enforce.SourceMeta},
		{name: "meta holding only the envelope removed",
			params:  `{"_meta":{"tenuo":` + env + `},"name":"t"}`,
			wantFwd: `{"name":"t"}`, wantSrc: enforce.SourceMeta},
		{name: "meta envelope first of several",
			params:  `{"name":"t","_meta":{"tenuo":` + env + `, "z":1}}`,
			wantFwd: `{"name":"t","_meta":{"z":1}}`, wantSrc: enforce.SourceMeta},
		{name: "arguments envelope removed",
			params:  `{"name":"t","arguments":{"path":"/x","_tenuo":` + env + `}}`,
			wantFwd: `{"name":"t","arguments":{"path":"/x"}}`, wantArgs: `{"path":"/x"}`, wantSrc: enforce.SourceArguments},
		{name: "both carriers agree",
			params:  `{"name":"t","arguments":{"_tenuo":` + env + `,"p":1},"_meta":{"tenuo":` + env + `}}`,
			wantFwd: `{"name":"t","arguments":{"p":1}}`, wantArgs: `{"p":1}`, wantSrc: enforce.SourceMeta},
		{name: "both carriers disagree",
			params:  `{"name":"t","arguments":{"_tenuo":{"warrant":"X","signature":"S"}},"_meta":{"tenuo":` + env + `}}`,
			wantErr: "disagree"},
		{name: "name missing", params: `{"arguments":{}}`, wantErr: "params.name is missing"},
		{name: "name not a string", params: `{"name":1}`, wantErr: "params.name must be a non-empty string"},
		{name: "name lone surrogate", params: `{"name":"a\ud800"}`, wantErr: "params.name must be a non-empty string"},
		{name: "duplicate name", params: `{"name":"ok","name":"evil"}`, wantErr: `duplicate key "name"`},
		{name: "duplicate nested argument", params: `{"name":"t","arguments":{"p":{"a":1,"a":2}}}`, wantErr: `duplicate key "a"`},
		{name: "arguments not an object", params: `{"name":"t","arguments":[1]}`, wantErr: "params.arguments must be an object"},
		{name: "meta not an object", params: `{"name":"t","_meta":"x"}`, wantErr: "params._meta must be an object"},
		{name: "warrant not a string", params: `{"name":"t","_meta":{"tenuo":{"warrant":1,"signature":"s"}}}`, wantErr: "params._meta.tenuo.warrant must be a string"},
		{name: "signature missing", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w"}}}`, wantErr: "params._meta.tenuo.signature is missing"},
		{name: "unknown envelope key", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","extra":1}}}`, wantErr: `unknown key "extra"`},
		{name: "envelope not an object", params: `{"name":"t","arguments":{"_tenuo":"w"}}`, wantErr: "params.arguments._tenuo must be an object"},
		{name: "warrant too long", params: `{"name":"t","_meta":{"tenuo":{"warrant":"` + strings.Repeat("w", enforce.MaxWarrantLen+1) + `","signature":"s"}}}`, wantErr: "warrant exceeds 65536 bytes"},
		{name: "signature too long", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"` + strings.Repeat("s", enforce.MaxSignatureLen+1) + `"}}}`, wantErr: "signature exceeds 4096 bytes"},
		{name: "approval too long", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","approvals":["` + strings.Repeat("a", enforce.MaxApprovalLen+1) + `"]}}}`, wantErr: "approvals[0] exceeds 8192 bytes"},
		{name: "too many approvals", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","approvals":[` + strings.Repeat(`"a",`, enforce.MaxApprovals) + `"a"]}}}`, wantErr: "approvals has 65 entries"},
		{name: "approval not a string", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","approvals":[1]}}}`, wantErr: "approvals[0] must be a string"},
		{name: "approvals null", params: `{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","approvals":null}}}`, wantErr: "approvals must be an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			call, fwd, err := parseCall(json.RawMessage(`7`), json.RawMessage(tc.params))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(fwd) != tc.wantFwd {
				t.Fatalf("forwarded %s\nwant      %s", fwd, tc.wantFwd)
			}
			if string(call.Arguments) != tc.wantArgs {
				t.Fatalf("Arguments %s, want %s", call.Arguments, tc.wantArgs)
			}
			if string(call.Params) != tc.params || string(call.ID) != "7" {
				t.Fatal("Params or ID not the original")
			}
			switch {
			case tc.wantSrc == "" && call.Tenuo != nil:
				t.Fatalf("Tenuo = %+v, want nil", call.Tenuo)
			case tc.wantSrc != "":
				if call.Tenuo == nil || call.Tenuo.Source != tc.wantSrc || call.Tenuo.Warrant != "W" || call.Tenuo.Signature != "S" || len(call.Tenuo.Approvals) != 1 {
					t.Fatalf("Tenuo = %+v", call.Tenuo)
				}
			}
			if !json.Valid(fwd) {
				t.Fatal("forwarded params are not valid JSON")
			}
		})
	}
}

func TestFilterToolsList(t *testing.T) {
	keep := func(n string) bool { return n != "deny" }
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{"other keys and kept tools byte-identical",
			`{"jsonrpc":"2.0","id":1,"result":{"_meta":{"a":1},"tools":[ {"name":"ok", "inputSchema":{"$schema":"x","anyOf":[]}} ,{"name":"deny"},{"title":"t","name":"ok2"}], "nextCursor":"n"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"_meta":{"a":1},"tools":[{"name":"ok", "inputSchema":{"$schema":"x","anyOf":[]}},{"title":"t","name":"ok2"}], "nextCursor":"n"}}`, false},
		{"nothing removed: unchanged",
			`{"id":1,"jsonrpc":"2.0","result":{"tools":[ {"name":"ok"} ]}}`,
			`{"id":1,"jsonrpc":"2.0","result":{"tools":[ {"name":"ok"} ]}}`, false},
		{"2026-07-28 cacheScope becomes private",
			`{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[{"name":"ok"}],"ttlMs":60000,"cacheScope":"public"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","tools":[{"name":"ok"}],"ttlMs":60000,"cacheScope":"private"}}`, false},
		{"cacheScope before tools, tool removed",
			`{"jsonrpc":"2.0","id":1,"result":{"cacheScope":"public","tools":[{"name":"deny"},{"name":"ok"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"cacheScope":"private","tools":[{"name":"ok"}]}}`, false},
		{"nameless and malformed tools dropped",
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"x"},1,{"name":2},{"name":"ok","name":"deny"},{"name":"ok"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"}]}}`, false},
		{"no tools key", `{"jsonrpc":"2.0","id":1,"result":{}}`, "", true},
		{"tools not an array", `{"jsonrpc":"2.0","id":1,"result":{"tools":{}}}`, "", true},
		{"duplicate tools key", `{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"deny"}]}}`, "", true},
		{"result not an object", `{"jsonrpc":"2.0","id":1,"result":[]}`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := objectMembers([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := filterToolsList([]byte(tc.in), ms[find(ms, "result")], keep, nil)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; got %s", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestIDKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{`1`, `1`, true},
		{`"1"`, `1`, false},
		{`"a"`, `"\u0061"`, true},
		{`1`, `2`, false},
	}
	for _, tc := range tests {
		ka, _ := idKey(json.RawMessage(tc.a))
		kb, _ := idKey(json.RawMessage(tc.b))
		if (ka == kb) != tc.same {
			t.Errorf("idKey(%s) vs idKey(%s): same=%v", tc.a, tc.b, ka == kb)
		}
	}
	for _, bad := range []string{`null`, `{}`, `[]`, `true`, ``} {
		if _, ok := idKey(json.RawMessage(bad)); ok {
			t.Errorf("idKey(%s) accepted", bad)
		}
	}
}

func FuzzParseCall(f *testing.F) {
	f.Add([]byte(`{"name":"t","arguments":{"_tenuo":{"warrant":"w","signature":"s"}},"_meta":{"tenuo":{"warrant":"w","signature":"s"},"k":1}}`))
	f.Add([]byte(`{"name":"t","_meta":{"tenuo":{"warrant":"w","signature":"s","approvals":["a"]}}}`))
	f.Add([]byte(`{"name":"a\ud800","name":1}`))
	f.Fuzz(func(t *testing.T, params []byte) {
		if !json.Valid(params) {
			return
		}
		call, fwd, err := parseCall(json.RawMessage(`1`), params)
		if err != nil {
			return
		}
		if !json.Valid(fwd) {
			t.Fatalf("forwarded invalid JSON %s", fwd)
		}
		if strings.Contains(string(fwd), `"_tenuo"`) && call.Tenuo != nil && call.Tenuo.Source == enforce.SourceArguments {
			ms, _ := objectMembers(fwd)
			if ai := find(ms, "arguments"); ai >= 0 {
				ams, _ := objectMembers(value(fwd, ms[ai]))
				if find(ams, "_tenuo") >= 0 {
					t.Fatalf("envelope not stripped: %s", fwd)
				}
			}
		}
		if call.Arguments != nil && !json.Valid(call.Arguments) {
			t.Fatalf("Arguments invalid JSON %s", call.Arguments)
		}
	})
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":null}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseMessage(raw)
		if err != nil {
			var inv *invalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if !json.Valid(m.raw) {
			t.Fatalf("message became invalid JSON: %s", m.raw)
		}
		if m.isCall == m.isReply {
			t.Fatal("message is both or neither a call and a reply")
		}
		scanPrefix(raw) // must not panic
	})
}
