package enforceflags

import (
	"reflect"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// TestReloadCarriesEveryPointSetting: a configuration reload builds a new
// enforce.Point from the policy and carries every other setting over from
// the point in force (policyFile.build). A setting added to Point later
// and not carried would silently fall back to its zero value on the first
// reload: this test names it.
func TestReloadCarriesEveryPointSetting(t *testing.T) {
	handled := map[string]bool{
		// from the reloaded policy
		"Authorizer": true, "ToolMap": true,
		// carried from the point in force
		"Held": true, "ListPolicy": true, "AuditMode": true, "AllowInexactNumbers": true,
		"Audit": true, "AuditArgs": true, "Observe": true, "Now": true,
	}
	rt := reflect.TypeFor[enforce.Point]()
	for i := range rt.NumField() {
		if f := rt.Field(i); f.IsExported() && !handled[f.Name] {
			t.Errorf("enforce.Point.%s is not carried over by a configuration reload: add it to policyFile.build and here", f.Name)
		}
	}
}
