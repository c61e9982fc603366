package mcptest

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// Warrant is a warrant stack and its leaf holder's key: what a client
// presents, or what the proxy holds for it.
type Warrant struct {
	Stack authz.Stack
	Key   *authz.SigningKey
}

// Envelope returns the _meta.tenuo object presenting w for one call: the
// stack and a proof of possession signed now over the call's arguments, or,
// with a tool map, over the fields it extracts (as Tenuo's clients sign).
func (w *Warrant) Envelope(tool string, args json.RawMessage, tm *toolmap.Config, now time.Time) (map[string]any, error) {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	var fields map[string]any
	if tm != nil {
		m, err := tm.MapCall(tool, args)
		if err != nil {
			return nil, err
		}
		tool, fields = m.Tool, m.Fields
	} else {
		var err error
		if fields, err = authz.CanonicalArgs(args); err != nil {
			return nil, err
		}
	}
	sig, err := authz.SignPoP(w.Key, w.Stack.Leaf().ID, tool, fields, now)
	if err != nil {
		return nil, err
	}
	return map[string]any{"warrant": w.Stack.Base64(), "signature": base64.RawURLEncoding.EncodeToString(sig[:])}, nil
}

// ListEnvelope returns the _meta.tenuo object presenting w on tools/list (no
// proof of possession).
func (w *Warrant) ListEnvelope() map[string]any {
	return map[string]any{"warrant": w.Stack.Base64()}
}

// Held returns w as a warrant the proxy holds (Point.SetHeld).
func (w *Warrant) Held() (*enforce.HeldWarrant, error) {
	return enforce.NewHeldWarrant(w.Stack, w.Key)
}
