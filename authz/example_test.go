package authz_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// Example mints a warrant, delegates a narrower one to a sub-agent, and
// decides calls made with it.
func Example() {
	now := time.Unix(1_800_000_000, 0)
	key := func(b byte) *authz.SigningKey {
		k, _ := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
		return k
	}
	root, agent, sub := key(1), key(2), key(3)

	// The root lets the agent read files under /data for an hour.
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: "/data"}}},
	}}, now)
	if err != nil {
		panic(err)
	}
	// The agent narrows it to /data/reports for a sub-agent.
	stack, err := authz.Attenuate(authz.Stack{w}, agent, authz.Grant{Holder: sub.Public(), Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Subpath{Root: "/data/reports"}}},
	}}, now)
	if err != nil {
		panic(err)
	}

	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	call := func(args string) {
		canon, err := authz.CanonicalArgs([]byte(args))
		if err != nil {
			panic(err)
		}
		sig, _ := authz.SignPoP(sub, stack.Leaf().ID, "read_file", canon, now)
		d := az.Check(&authz.Request{Warrant: []byte(stack.Base64()), Tool: "read_file", Args: []byte(args), Signature: sig[:]})
		if d.Allowed {
			fmt.Printf("%s: allowed at depth %d\n", args, d.Depth)
			return
		}
		fmt.Printf("%s: denied, %s (%d)\n", args, d.Denial.Code.Name(), d.Denial.Code)
	}
	call(`{"path":"/data/reports/q3.pdf"}`)
	call(`{"path":"/data/reports/../payroll.csv"}`)
	call(`{"path":"/etc/passwd"}`)
	// Output:
	// {"path":"/data/reports/q3.pdf"}: allowed at depth 1
	// {"path":"/data/reports/../payroll.csv"}: denied, constraint-violation (1501)
	// {"path":"/etc/passwd"}: denied, constraint-violation (1501)
}
