// Package guardtest is enforce/enforcetest under the name guard's tests (and
// the gateway hooks' tests) use: the shared fixture and table of the front
// ends.
package guardtest

import "github.com/tenuo-mcp/tenuo-mcp/enforce/enforcetest"

type (
	// Fixture is enforcetest.Fixture.
	Fixture = enforcetest.Fixture
	// Case is enforcetest.Case.
	Case = enforcetest.Case
	// SyncBuffer is enforcetest.SyncBuffer.
	SyncBuffer = enforcetest.SyncBuffer
)

// ToolMapYAML is enforcetest.ToolMapYAML.
const ToolMapYAML = enforcetest.ToolMapYAML

var (
	// New is enforcetest.New.
	New = enforcetest.New
	// Key is enforcetest.Key.
	Key = enforcetest.Key
	// Cases is enforcetest.Cases.
	Cases = enforcetest.Cases
)

// ArgsReadAnotherWay are tools/call arguments for a read tool whose path
// the fixture's scoped warrant limits to /data/reports/: each is one that
// a handler could read as another path than the one checked (duplicate,
// case-variant and escaped keys, a lone surrogate, invalid UTF-8, a
// misplaced _tenuo, a wrong type, trailing space). A guarded SDK server
// must never hand its handler a path outside /data/reports/ for any.
var ArgsReadAnotherWay = []string{
	`{"path":"/data/reports/a","path":"/etc/passwd"}`,
	`{"path":"/etc/passwd","path":"/data/reports/a"}`,
	`{"path":"/data/reports/a","PATH":"/etc/passwd"}`,
	`{"path":"/data/reports/a","Path":"/etc/passwd"}`,
	`{"pat\u0068":"/etc/passwd"}`,
	`{"path":"/data/reports/a","pat\u0068":"/etc/passwd"}`,
	`{"path":"/data/reports/a","pat\u0048":"/etc/passwd"}`,
	`{"path":"/data/reports/\ud800"}`,
	"{\"path\":\"/data/reports/\xff\"}",
	`{"path":"/data/reports/a","_tenuo":null}`,
	`{"path":"/etc/passwd","_tenuo":1,"path":"/data/reports/a"}`,
	`{"path":["/data/reports/a"]}`,
	`{"path":"/data/reports/a"} `,
}
