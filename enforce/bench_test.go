package enforce_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/enforce/enforcetest"
)

// BenchmarkPointCheckPresented is one allowed MCP call with a presented
// warrant and PoP, warm chain, through the decision point (tool map,
// envelope decoding, authz, the audit record to io.Discard); compare
// BenchmarkAuthzCheckSame, authz's Check of the same call: the difference
// is what the decision point itself costs per call.
//
//	go test ./enforce -run '^$' -bench 'PointCheck|AuthzCheckSame' -benchmem
func BenchmarkPointCheckPresented(b *testing.B) {
	f := enforcetest.New(b)
	f.Point.Audit = io.Discard
	c := enforcetest.Cases()[0]
	call := &enforce.Call{Front: enforce.FrontStdio, RequestID: json.RawMessage(`7`), Tool: c.Tool,
		Arguments: json.RawMessage(c.Args), Envelope: c.Envelope(b, f)}
	if r := f.Point.Check(b.Context(), call); r.Verdict != enforce.Allow {
		b.Fatal(r.Denial)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := f.Point.Check(b.Context(), call); r.Verdict != enforce.Allow {
			b.Fatal(r.Denial)
		}
	}
}

// BenchmarkAuthzCheckSame is the baseline of BenchmarkPointCheckPresented:
// authz's Check of the same call, chain cached.
func BenchmarkAuthzCheckSame(b *testing.B) {
	f := enforcetest.New(b)
	c := enforcetest.Cases()[0]
	m, err := f.ToolMap.MapCall(c.Tool, []byte(c.Args))
	if err != nil {
		b.Fatal(err)
	}
	env := c.Envelope(b, f)
	sig, err := authz.DecodeBase64(env.Signature)
	if err != nil {
		b.Fatal(err)
	}
	req := &authz.Request{Warrant: []byte(env.Warrant), Tool: m.Tool, Fields: m.Fields, Signature: sig, Now: f.Now}
	if d := f.Point.Authorizer.Check(req); !d.Allowed {
		b.Fatal(d.Denial)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if d := f.Point.Authorizer.Check(req); !d.Allowed {
			b.Fatal(d.Denial)
		}
	}
}
