package authz

import (
	"testing"
)

// TestCheckWithHeldKey: with the holder's key held by the enforcement point,
// possession is proven by the key being the leaf's holder: no PoP is needed,
// another key is refused, and every other check still runs.
func TestCheckWithHeldKey(t *testing.T) {
	az, req := benchFixture(t, 1, 0)
	holder := azKey(t, 0x10) // benchFixture's leaf holder
	held := &Request{Warrant: req.Warrant, Tool: "search", Args: req.Args, Holder: holder}
	if d := az.Check(held); !d.Allowed || !d.ChainVerified {
		t.Fatalf("held key: %v", d.Denial)
	}
	other := *held
	other.Holder = azKey(t, 0x77)
	if d := az.Check(&other); d.Allowed || d.Denial.Code != CodePopSignatureInvalid {
		t.Fatalf("another key: %+v", d)
	}
	forbidden := *held
	forbidden.Args = []byte(`{"query":"secret","limit":10}`)
	if d := az.Check(&forbidden); d.Allowed || d.Denial.Code != CodeConstraintViolation {
		t.Fatalf("constraints still apply: %+v", d)
	}
	ungranted := *held
	ungranted.Tool = "delete"
	if d := az.Check(&ungranted); d.Allowed || d.Denial.Code != CodeToolNotAuthorized {
		t.Fatalf("tools still apply: %+v", d)
	}
	// Explain says the same.
	if ex := az.Explain(held); !ex.Decision.Allowed {
		t.Fatalf("Explain: %+v", ex.Decision.Denial)
	}
}

// BenchmarkCheckWarmHeldKey: Check with the chain cached and the holder's
// key held: no curve operation per call (compare BenchmarkCheckWarm).
func BenchmarkCheckWarmHeldKey(b *testing.B) {
	az, req := benchFixture(b, 1, 0)
	held := &Request{Warrant: req.Warrant, Tool: "search", Args: req.Args, Holder: azKey(b, 0x10)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := az.Check(held); !d.Allowed || !d.Cached {
			b.Fatal(d.Denial)
		}
	}
}
