package enforce

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// TestCallHeld: a warrant held for one call is used in preference to the
// Point's, and only when the call presents no envelope; a listing likewise.
func TestCallHeld(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// A second agent whose warrant grants only "write".
	other := key(t, 3)
	root := key(t, 1)
	w, err := authz.Mint(root, authz.Grant{Holder: other.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"write": {}}}, f.now)
	if err != nil {
		t.Fatal(err)
	}
	held, err := NewHeldWarrant(authz.Stack{w}, other)
	if err != nil {
		t.Fatal(err)
	}
	if r := f.p.Check(ctx, &Call{Tool: "write", Held: held}); r.Verdict != Allow || r.Source != "held" {
		t.Fatalf("per-call held warrant: %+v %v", r, r.Denial)
	}
	if r := f.p.Check(ctx, &Call{Tool: "ping", Held: held}); r.Verdict != Deny || r.Denial.Code != authz.CodeToolNotAuthorized {
		t.Fatalf("the Point's held warrant was used instead of the call's: %+v", r)
	}
	if r := f.p.Check(ctx, &Call{Tool: "ping"}); r.Verdict != Allow {
		t.Fatalf("without a per-call warrant the Point's applies: %v", r.Denial)
	}
	// A presented envelope wins over both.
	env := f.envelope(t, "read", `{"path":"/data/a"}`)
	if r := f.p.Check(ctx, &Call{Tool: "read", Arguments: json.RawMessage(`{"path":"/data/a"}`), Envelope: env, Held: held}); r.Verdict != Allow || r.Source != "client" {
		t.Fatalf("presented envelope: %+v %v", r, r.Denial)
	}
	// Listings.
	keep := f.p.Visible(ctx, &ListCall{Held: held})
	if !keep("write") || keep("ping") {
		t.Fatal("listing with a per-call held warrant shows the Point's tools")
	}
	f.p.Held = nil
	if r := f.p.Check(ctx, &Call{Tool: "write", Held: held}); r.Verdict != Allow {
		t.Fatalf("per-call held warrant without a Point warrant: %v", r.Denial)
	}
}
