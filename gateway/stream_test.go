package gateway_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// The WebSocket framing of RFC 6455, as little as the test needs: text
// frames of under 126 bytes, masked from the client, unmasked from the
// server.

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

func wsWrite(w io.Writer, payload string, mask bool) error {
	if len(payload) > 125 {
		return errors.New("test frames are short")
	}
	b := []byte{0x81, byte(len(payload))} // FIN, text
	p := []byte(payload)
	if mask {
		b[1] |= 0x80
		var k [4]byte
		rand.Read(k[:])
		b = append(b, k[:]...)
		for i := range p {
			p[i] ^= k[i%4]
		}
	}
	_, err := w.Write(append(b, p...))
	return err
}

func wsRead(r io.Reader) (payload string, masked bool, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return "", false, err
	}
	if h[0] != 0x81 {
		return "", false, fmt.Errorf("frame byte 0 %#x, want a final text frame", h[0])
	}
	masked = h[1]&0x80 != 0
	n := int(h[1] & 0x7f)
	if n > 125 {
		return "", false, errors.New("long frame")
	}
	var k [4]byte
	if masked {
		if _, err := io.ReadFull(r, k[:]); err != nil {
			return "", false, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return "", false, err
	}
	if masked {
		for i := range p {
			p[i] ^= k[i%4]
		}
	}
	return string(p), masked, nil
}

// wsServer is a real WebSocket server: it pushes "hello" first, then
// echoes each client frame as "echo:" and the text. It counts the upgrade
// requests that reach it.
func wsServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var reached atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") == "" {
			http.Error(w, "not a websocket upgrade", http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		if err := wsWrite(rw, "hello", false); err != nil || rw.Flush() != nil {
			return
		}
		for {
			msg, masked, err := wsRead(rw)
			if err != nil {
				return
			}
			if !masked {
				t.Errorf("the upstream got an unmasked client frame")
			}
			if wsWrite(rw, "echo:"+msg, false) != nil || rw.Flush() != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s, &reached
}

// streamConfig is the fixture's gateway.yaml with a WebSocket route.
func streamPoint(t *testing.T, f *gatewaytest.Fixture) *enforce.Point {
	t.Helper()
	y := strings.Replace(gatewaytest.ConfigYAML, "routes:\n", "routes:\n  - pattern: \"/ws/{name}\"\n    method: GET\n    tool: upload\n", 1)
	tm, err := toolmap.Parse([]byte(y), "gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &enforce.Point{Authorizer: f.Authorizer, ToolMap: tm, Audit: f.Audit}
}

// TestWebSocketThroughSidecar: an allowed upgrade gets the upstream's 101
// and frames flow both ways through the sidecar (not checked: see the
// package documentation); a denied upgrade is answered by the sidecar and
// never reaches the upstream, and so is an upgrade to h2c, whose tunnel
// would carry HTTP/2 requests no check sees.
func TestWebSocketThroughSidecar(t *testing.T) {
	f := gatewaytest.New(t)
	up, reached := wsServer(t)
	sc := newSidecar(t, streamPoint(t, f), up.URL, 256)
	addr := strings.TrimPrefix(sc.URL, "http://")
	name := map[string]any{"name": "room1"}
	approvalOnly := func(f *gatewaytest.Fixture) authz.Stack { return f.NeedsApproval }
	for _, tc := range []struct {
		name    string
		upgrade string
		stack   func(*gatewaytest.Fixture) authz.Stack
		status  int
	}{
		{"allowed", "websocket", agent, 101},
		{"no warrant", "websocket", nil, 401},
		{"tool not granted", "websocket", approvalOnly, 403},
		{"h2c", "h2c", agent, 400},
		// An upgrade list, however written, names more than WebSocket; a
		// second Upgrade line is another value; the case of the token does
		// not matter to either end.
		{"websocket then h2c in one value", "websocket, h2c", agent, 400},
		{"h2c then websocket in one value", "h2c, websocket", agent, 400},
		{"two Upgrade lines", "websocket\r\nUpgrade: h2c", agent, 400},
		{"a versioned token", "websocket/13", agent, 400},
		{"an empty Upgrade", "", agent, 400},
		{"case of the token", "WebSocket", agent, 101},
		{"h2c without a warrant", "h2c", nil, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := reached.Load()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			c := gatewaytest.Case{Stack: tc.stack, Tool: "upload", Fields: name}
			h := c.Headers(t, f)
			var key [16]byte
			rand.Read(key[:])
			wsKey := base64.StdEncoding.EncodeToString(key[:])
			var b strings.Builder
			fmt.Fprintf(&b, "GET /ws/room1 HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", addr, tc.upgrade, wsKey)
			if strings.Contains(tc.upgrade, "h2c") {
				b.WriteString("HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n")
			}
			for k, vs := range h {
				for _, v := range vs {
					fmt.Fprintf(&b, "%s: %s\r\n", k, v)
				}
			}
			b.WriteString("\r\n")
			if _, err := io.WriteString(conn, b.String()); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 101 {
				if reached.Load() != before {
					t.Fatal("a refused upgrade reached the upstream")
				}
				return
			}
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != wsAccept(wsKey) {
				t.Fatalf("Sec-WebSocket-Accept %q", got)
			}
			// Server to client first, then both ways, several times.
			if msg, masked, err := wsRead(br); err != nil || msg != "hello" || masked {
				t.Fatalf("first server frame %q masked=%v: %v", msg, masked, err)
			}
			for i := range 3 {
				want := fmt.Sprintf("frame %d", i)
				if err := wsWrite(conn, want, true); err != nil {
					t.Fatal(err)
				}
				if msg, _, err := wsRead(br); err != nil || msg != "echo:"+want {
					t.Fatalf("echo %q: %v", msg, err)
				}
			}
		})
	}
}

// TestStreamingResponses: an event stream and a chunked response reach the
// client as the upstream flushes them — the first part is read while the
// upstream still holds back the rest.
func TestStreamingResponses(t *testing.T) {
	f := gatewaytest.New(t)
	for _, ct := range []string{"text/event-stream", "application/octet-stream"} {
		t.Run(ct, func(t *testing.T) {
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct) // no Content-Length: chunked
				io.WriteString(w, "data: first\n\n")
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
				io.WriteString(w, "data: second\n\n")
			}))
			defer up.Close()
			sc := newSidecar(t, f.Point, up.URL, 256)
			c := req("GET", "/files?path=/data/a", "", nil, agent, "read", map[string]any{"path": "/data/a"})
			resp, err := http.DefaultClient.Do(c.Request(t, f, sc.URL))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(resp.Body).ReadString('\n')
				got <- line
			}()
			select {
			case line := <-got:
				if line != "data: first\n" {
					t.Fatalf("first line %q", line)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the first event did not arrive before the upstream finished: the response was buffered")
			}
			close(release)
		})
	}
}

// TestStreamingRequestBody: on a route that extracts nothing from the body,
// a body larger than the cap streams to the upstream — the upstream reads
// its first part while the client has not sent the rest.
func TestStreamingRequestBody(t *testing.T) {
	f := gatewaytest.New(t)
	const cap, first, rest = 256, 4096, 1 << 20
	firstIn := make(chan struct{})
	var total atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, first)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		close(firstIn)
		n, _ := io.Copy(io.Discard, r.Body)
		total.Store(first + n)
	}))
	defer up.Close()
	sc := newSidecar(t, f.Point, up.URL, cap)
	pr, pw := io.Pipe()
	defer pw.CloseWithError(errors.New("the test ended")) // a failing test does not leave the client waiting
	c := req("PUT", "/upload/big", "", nil, agent, "upload", map[string]any{"name": "big"})
	r := c.Request(t, f, sc.URL)
	r.Body = pr
	r.ContentLength = -1 // chunked: the sidecar cannot know the size ahead
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp
	}()
	if _, err := pw.Write(make([]byte, first)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-firstIn:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream did not get the first part of the body before the rest was sent: the body was buffered")
	}
	if _, err := pw.Write(make([]byte, rest)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	resp := <-done
	if resp == nil || resp.StatusCode != 200 {
		t.Fatalf("response %v", resp)
	}
	if got := total.Load(); got != first+rest {
		t.Fatalf("the upstream read %d bytes, want %d", got, first+rest)
	}
}
