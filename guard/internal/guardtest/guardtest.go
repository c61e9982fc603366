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
