package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
)

// fakeUpstream is a server that answers the pin layer's own tools/list with
// a result given by the test, and passes through what else it is fed.
type fakeUpstream struct {
	in     chan []byte
	result []byte
	mu     sync.Mutex
	wrote  [][]byte
	closed chan struct{}
	once   sync.Once
}

func (f *fakeUpstream) Read() ([]byte, error) {
	select {
	case m := <-f.in:
		return m, nil
	case <-f.closed:
		return nil, errors.New("closed")
	}
}

func (f *fakeUpstream) Write(msg []byte) error {
	f.mu.Lock()
	f.wrote = append(f.wrote, msg)
	f.mu.Unlock()
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(msg, &m) == nil && m.Method == "tools/list" && bytes.Contains(m.ID, []byte("tenuo-mcp-pin")) {
		reply := []byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":` + string(f.result) + `}`)
		if !json.Valid(f.result) {
			reply = f.result
		}
		select {
		case f.in <- reply:
		case <-f.closed:
		}
	}
	return nil
}

func (f *fakeUpstream) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

// FuzzPinTools: whatever the server sends (its own tools/list answer, other
// messages) and whatever the relay writes, the pin layer never panics, and
// every tools/call it is given is either passed on or answered.
func FuzzPinTools(f *testing.F) {
	f.Add([]byte(`{"tools":[{"name":"echo","description":"x"}]}`), []byte(`{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`), "echo")
	f.Add([]byte(`{"tools":[{"name":"echo"}],"nextCursor":"c"}`), []byte(`[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}]`), "echo")
	f.Add([]byte(`not json`), []byte(`{"id":"x"`), "")
	lock, err := toolpin.FromTools([]json.RawMessage{json.RawMessage(`{"name":"echo","description":"x"}`)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, listResult, upstreamMsg []byte, tool string) {
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzPinTools: stuck") })
		defer watchdog.Stop()
		up := &fakeUpstream{in: make(chan []byte, 16), result: listResult, closed: make(chan struct{})}
		c := PinTools(up, PinConfig{Lock: lock, FetchTimeout: 5 * time.Millisecond})
		defer c.Close()
		up.in <- upstreamMsg
		call, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": map[string]any{"name": tool}})
		list := []byte(`{"jsonrpc":"2.0","id":8,"method":"tools/list"}`)
		c.Write(list)
		if err := c.Write(call); err != nil {
			t.Fatal(err)
		}
		up.mu.Lock()
		passed := false
		for _, w := range up.wrote {
			passed = passed || bytes.Equal(w, call)
		}
		up.mu.Unlock()
		if passed {
			return
		}
		// Refused: the answer to id 7 is among what the relay reads.
		for {
			msg, err := c.Read()
			if err != nil {
				t.Fatalf("the refused call was never answered: %v", err)
			}
			if bytes.Contains(msg, []byte(`"id":7`)) && bytes.Contains(msg, []byte("is pinned")) {
				return
			}
		}
	})
}
