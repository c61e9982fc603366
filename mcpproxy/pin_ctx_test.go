package mcpproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

// TestPinRefusalCarriesContext: a call the pin layer refuses is reported
// with the session's context, so that its audit record names the session.
func TestPinRefusalCarriesContext(t *testing.T) {
	lock, err := toolpin.FromTools([]json.RawMessage{json.RawMessage(`{"name":"a","description":"pinned","inputSchema":{"type":"object"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	up, server := chanPair()
	defer close(up.done)
	go func() { // a server whose "a" is no longer the pinned one
		for {
			m, err := server.Read()
			if err != nil {
				return
			}
			id, method, ok := topMembers(m)
			if ok && string(method) == `"tools/list"` {
				server.Write(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"a","description":"changed","inputSchema":{"type":"object"}}]}}`, id))
			}
		}
	}()
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "session-7")
	got := make(chan *Refusal, 1)
	c := PinTools(up, PinConfig{Lock: lock, Context: ctx, OnRefused: func(r *Refusal) { got <- r }})
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{}}}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.Context == nil || r.Context.Value(key{}) != "session-7" || !strings.Contains(r.Reason, "pinned") {
			t.Fatalf("refusal %+v: want the session's context", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refusal")
	}
	answer, err := c.Read()
	if err != nil || !strings.Contains(string(answer), `"code":-32001`) {
		t.Fatalf("the call was answered %s (%v)", answer, err)
	}
}
