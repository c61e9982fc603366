package guard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

func exampleKey(b byte) *authz.SigningKey {
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{b}, authz.SeedSize))
	if err != nil {
		panic(err)
	}
	return k
}

// Example guards an agent's file-reading tool: the warrant in the context
// lets it read under /data/ only.
func Example() {
	root, agent := exampleKey(1), exampleKey(2)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
	}}, time.Now())
	if err != nil {
		panic(err)
	}

	g, err := guard.New(guard.Config{TrustedRoots: []authz.PublicKey{root.Public()}})
	if err != nil {
		panic(err)
	}
	type readArgs struct {
		Path string `json:"path"`
	}
	readFile := guard.Func(g, "read_file", func(_ context.Context, a readArgs) (string, error) {
		return "contents of " + a.Path, nil
	})

	ctx, err := guard.WithCredentials(context.Background(), authz.Stack{w}, agent)
	if err != nil {
		panic(err)
	}
	for _, p := range []string{"/data/report.txt", "/etc/passwd"} {
		out, err := readFile(ctx, readArgs{Path: p})
		var denial *authz.Denial
		if errors.As(err, &denial) {
			fmt.Printf("%s: denied, %s\n", p, denial.Code.Name())
			continue
		}
		fmt.Printf("%s: %s\n", p, out)
	}
	// Output:
	// /data/report.txt: contents of /data/report.txt
	// /etc/passwd: denied, constraint-violation
}

// ExampleWithWarrant narrows the scope for a sub-agent: inside, only the
// delegated warrant applies; a warrant that is not a delegation of the
// outer one opens no scope.
func ExampleWithWarrant() {
	root, agent, sub := exampleKey(1), exampleKey(2), exampleKey(3)
	now := time.Now()
	w, _ := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/*"}}},
	}}, now)
	narrowed, _ := authz.Attenuate(authz.Stack{w}, agent, authz.Grant{Holder: sub.Public(), Tools: map[string]authz.ConstraintSet{
		"read_file": {Constraints: map[string]authz.Constraint{"path": &authz.Pattern{Pattern: "/data/reports/*"}}},
	}}, now)
	other, _ := authz.Mint(root, authz.Grant{Holder: sub.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{"rm": {}}}, now)

	g, _ := guard.New(guard.Config{TrustedRoots: []authz.PublicKey{root.Public()}})
	outer, _ := guard.WithCredentials(context.Background(), authz.Stack{w}, agent)
	inner, err := guard.WithCredentials(outer, narrowed, sub)
	fmt.Println("narrowed scope opens:", err == nil)
	_, err = guard.WithCredentials(outer, authz.Stack{other}, sub)
	fmt.Println("unrelated warrant refused:", errors.Is(err, guard.ErrWiden))

	err = g.Do(inner, "read_file", guard.Args{"path": "/data/payroll.csv"}, func(context.Context) error { return nil })
	fmt.Println("inner scope reads /data/payroll.csv:", err == nil)
	err = g.Do(outer, "read_file", guard.Args{"path": "/data/payroll.csv"}, func(context.Context) error { return nil })
	fmt.Println("outer scope reads /data/payroll.csv:", err == nil)
	// Output:
	// narrowed scope opens: true
	// unrelated warrant refused: true
	// inner scope reads /data/payroll.csv: false
	// outer scope reads /data/payroll.csv: true
}

// ExampleHTTP puts a tool API behind the middleware: the route maps the
// request to a warrant tool and its fields; a request without a warrant is
// answered 401 and the handler does not run; the health probe is exempt.
func ExampleHTTP() {
	root := exampleKey(1)
	tm, err := toolmap.Parse([]byte(`version: "1"
tools:
  read_file:
    constraints:
      path: {from: query, path: path, required: true}
routes:
  - pattern: "/files"
    method: GET
    tool: read_file
`), "tools.yaml")
	if err != nil {
		panic(err)
	}
	az, _ := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}})
	mw := &guard.HTTP{Point: &enforce.Point{Authorizer: az, ToolMap: tm}, Exempt: []string{"/healthz"}}
	h := mw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))

	for _, target := range []string{"/healthz", "/files?path=/data/a"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Println(target, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// /healthz 200 ok
	// /files?path=/data/a 401 {"authorized":false,"error":"invalid-envelope-structure","error_code":1001,"message":"invalid-envelope-structure","tool":"read_file"}
}
