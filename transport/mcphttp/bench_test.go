package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// echoAccept answers every request at once with {} (the transport's own
// cost, without a relay or a server).
func echoAccept(_ context.Context, s *Session) {
	for {
		raw, err := s.Read()
		if err != nil {
			return
		}
		id := mustMembers(raw)["id"]
		if id == nil {
			continue
		}
		s.Write([]byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"content":[{"type":"text","text":"hello"}]}}`))
	}
}

// BenchmarkHandlerCall: one tools/call answered through the handler, by 8
// concurrent clients, in a 2025 session (the baseline) and as a stateless
// 2026-07-28 request of one caller; the ratio is the stateless path's
// cost.
func BenchmarkHandlerCall(b *testing.B) {
	h := &Handler{Accept: echoAccept, MaxInFlightTotal: 1 << 20, MaxInFlight: 1 << 20}
	srv := httptest.NewServer(h)
	defer func() { h.Close(); srv.Close() }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(body string, hdr map[string]string) error {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(out, []byte("hello")) {
			return &json.UnsupportedValueError{Str: string(out)}
		}
		return nil
	}
	const meta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	run := func(b *testing.B, session bool) {
		var sid string
		if session {
			resp, err := client.Post(srv.URL+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sid = resp.Header.Get(HeaderSessionID)
		}
		var n sync.Mutex
		next := 0
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Lock()
				next++
				id := strconv.Itoa(next)
				n.Unlock()
				var err error
				if session {
					err = post(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`,
						map[string]string{HeaderSessionID: sid, HeaderProtocolVersion: "2025-06-18"})
				} else {
					err = post(`{"jsonrpc":"2.0","id":`+id+`,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"},`+meta+`}}`,
						map[string]string{HeaderProtocolVersion: "2026-07-28", HeaderMethod: "tools/call", HeaderName: "echo"})
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("session", func(b *testing.B) { run(b, true) })
	b.Run("stateless", func(b *testing.B) { run(b, false) })
}

// jsonUpstream is a streamable HTTP server that answers as mcp-go's does:
// a session id on initialize, 202 for notifications, one JSON value for a
// request.
func jsonUpstream(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ms := mustMembers(body)
	id, method := ms["id"], ms["method"]
	switch {
	case id == nil:
		w.WriteHeader(http.StatusAccepted)
		return
	case string(method) == `"initialize"`:
		w.Header().Set(HeaderSessionID, "up-session")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(id) + `,"result":{"content":[{"type":"text","text":"hello"}]}}`))
}

// copyRelay relays a session to an upstream Dial reaches, each client
// message written on a goroutine of its own (as the relay's hook workers
// write calls): the transport's cost on both sides of the proxy, without
// enforcement.
func copyRelay(upURL string) func(ctx context.Context, s *Session) {
	return func(ctx context.Context, s *Session) {
		c, err := Dial(ctx, upURL, DialOptions{})
		if err != nil {
			return
		}
		defer func() { c.Close(); c.Wait() }()
		go func() {
			for {
				m, err := c.Read()
				if err != nil {
					return
				}
				s.Write(m)
			}
		}()
		for {
			m, err := s.Read()
			if err != nil {
				return
			}
			go c.Write(m)
		}
	}
}

// BenchmarkProxyHop: one tools/call from an HTTP client through a Handler
// and a ClientConn to an upstream answering JSON, by 32 concurrent clients
// in sessions of their own. ns/op on the machine's cores is the CPU the
// client, both transports and the upstream take per call.
func BenchmarkProxyHop(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(jsonUpstream))
	defer up.Close()
	h := &Handler{Accept: copyRelay(up.URL + "/mcp"), MaxSessionsPerClient: 64}
	srv := httptest.NewServer(h)
	defer func() { h.Close(); srv.Close() }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(sid, body string) (string, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set(HeaderSessionID, sid)
			req.Header.Set(HeaderProtocolVersion, "2025-06-18")
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 || (resp.StatusCode == 200 && !bytes.Contains(out, []byte("hello"))) {
			return "", &json.UnsupportedValueError{Str: resp.Status + " " + string(out)}
		}
		return resp.Header.Get(HeaderSessionID), nil
	}
	const clients = 32
	sids := make(chan string, clients)
	for range clients {
		sid, err := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"b","version":"1"}}}`)
		if err == nil {
			_, err = post(sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		}
		if err != nil {
			b.Fatal(err)
		}
		sids <- sid
	}
	b.ReportAllocs()
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		sid := <-sids
		for pb.Next() {
			if _, err := post(sid, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
