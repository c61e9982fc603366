package mcphttp

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream is a hostile or broken upstream on a real socket: answer
// writes whatever it likes on the connection for each request read (conn
// is the connection's number, from 1; n the request's on it, from 1).
type rawUpstream struct {
	ln    net.Listener
	url   string
	conns atomic.Int32
	mu    sync.Mutex
	reqs  []string // each request's body, in arrival order
	hdrs  []http.Header
}

func newRawUpstream(t *testing.T, answer func(c net.Conn, conn, n int, req *http.Request, body []byte)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, url: "http://" + ln.Addr().String() + "/mcp"}
	var wg sync.WaitGroup
	var open sync.Map
	t.Cleanup(func() {
		ln.Close()
		open.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			open.Store(c, true)
			num := int(u.conns.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(req.Body)
					u.mu.Lock()
					u.reqs = append(u.reqs, string(body))
					u.hdrs = append(u.hdrs, req.Header)
					u.mu.Unlock()
					answer(c, num, n, req, body)
				}
			}()
		}
	}()
	return u
}

func (u *rawUpstream) requests() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.reqs...)
}

// header returns the headers of request i.
func (u *rawUpstream) header(i int) http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hdrs[i]
}

// jsonAnswer is an HTTP/1.1 answer of body as JSON, with its length.
func jsonAnswer(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// result is the answer an honest upstream gives to the request body.
func result(body []byte, v string) string {
	return `{"jsonrpc":"2.0","id":` + string(mustMembers(body)["id"]) + `,"result":` + v + `}`
}

// readOne reads the next message of c, failing after a while.
func readOne(t *testing.T, c *ClientConn) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		m, err := c.Read()
		if err != nil {
			got <- "read error: " + err.Error()
			return
		}
		got <- string(m)
	}()
	select {
	case m := <-got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return ""
	}
}

// TestFastClientBytesAfterAnswer: bytes an upstream sends after an answer
// (a second, unasked-for answer) are never read as the answer to the next
// request on that connection, which may be another session's: whether they
// came with the answer (buffered) or just after it (pending on the socket
// when the connection is next taken), the connection is dropped, as
// net/http drops one that speaks while idle.
func TestFastClientBytesAfterAnswer(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run("late="+strconv.FormatBool(late), func(t *testing.T) {
			up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
				a := jsonAnswer(result(body, `{"conn":`+strconv.Itoa(conn)+`}`))
				forged := jsonAnswer(`{"jsonrpc":"2.0","id":2,"result":{"forged":true}}`)
				if conn != 1 {
					io.WriteString(c, a)
					return
				}
				if late {
					io.WriteString(c, a)
					time.Sleep(20 * time.Millisecond)
					io.WriteString(c, forged)
					return
				}
				io.WriteString(c, a+forged)
			})
			a, b := dialFastTest(t, up.url), dialFastTest(t, up.url)
			if err := a.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			if m := readOne(t, a); !strings.Contains(m, `"conn":1`) {
				t.Fatalf("first answer %s", m)
			}
			time.Sleep(100 * time.Millisecond)
			if err := b.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			if m := readOne(t, b); strings.Contains(m, "forged") || !strings.Contains(m, `"conn":2`) {
				t.Fatalf("the other session's answer %s", m)
			}
		})
	}
}

// TestFastClientFraming: answers whose framing is odd or broken are read
// as net/http's Transport reads them (the same parser), every request gets
// one answer or an error, and a connection whose answer was not read to a
// clean end is not used again.
func TestFastClientFraming(t *testing.T) {
	cases := []struct {
		name   string
		answer func(body []byte) string
		want   string // in the answer; "" for a Write error
		reuse  bool   // the next request may go on the same connection
	}{
		{"length and chunked", func(b []byte) string {
			r := result(b, `{"chunked":true}`)
			return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strconv.FormatInt(int64(len(r)), 16) + "\r\n" + r + "\r\n0\r\n\r\n"
		}, `"chunked":true`, true},
		{"body longer than its length", func(b []byte) string {
			r := result(b, `{}`)
			return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(r)) + "\r\n\r\n" + r + "GARBAGE"
		}, `"result":{}`, false},
		{"HTTP/1.0 without length", func(b []byte) string {
			return "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + result(b, `{"old":true}`)
		}, `"old":true`, false},
		{"Connection close", func(b []byte) string {
			return strings.Replace(jsonAnswer(result(b, `{"closing":true}`)), "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1)
		}, `"closing":true`, false},
		{"1xx then the answer", func(b []byte) string {
			return strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 3) + "HTTP/1.1 100 Continue\r\n\r\n" + jsonAnswer(result(b, `{"after1xx":true}`))
		}, `"after1xx":true`, true},
		{"1xx flood", func(b []byte) string {
			return strings.Repeat("HTTP/1.1 102 Processing\r\n\r\n", 1000) + jsonAnswer(result(b, `{}`))
		}, "", false},
		{"101", func(b []byte) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: Upgrade\r\n\r\n" + jsonAnswer(result(b, `{}`))
		}, "", false},
		{"two lengths", func(b []byte) string {
			r := result(b, `{}`)
			return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(r)) + "\r\nContent-Length: 1\r\n\r\n" + r
		}, "", false},
		{"body shorter than its length", func(b []byte) string {
			r := result(b, `{}`)
			return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(r)+50) + "\r\n\r\n" + r
		}, "", false},
		{"garbage", func(b []byte) string { return "SMTP ready\r\n\r\n" }, "", false},
		{"204 with a body", func(b []byte) string {
			forged := `{"jsonrpc":"2.0","id":2,"result":{"forged":true}}`
			return "HTTP/1.1 204 No Content\r\nContent-Length: " + strconv.Itoa(len(forged)) + "\r\n\r\n" + forged
		}, "", true},
		{"304 with an answer after it", func(b []byte) string {
			return "HTTP/1.1 304 Not Modified\r\n\r\n" + jsonAnswer(`{"jsonrpc":"2.0","id":2,"result":{"forged":true}}`)
		}, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
				if conn == 1 && n == 1 {
					io.WriteString(c, tc.answer(body))
					if !tc.reuse {
						c.Close() // a broken answer ends with its connection
					}
					return
				}
				io.WriteString(c, jsonAnswer(result(body, `{"honest":true}`)))
			})
			c := dialFastTest(t, up.url)
			err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			if tc.want == "" {
				// What is no message (an empty body) goes up as it is, for
				// the relay to refuse; then the request's error answer.
				for m := ""; err == nil && !strings.Contains(m, `"error"`); {
					if m = readOne(t, c); strings.Contains(m, "forged") || (m != "" && !strings.Contains(m, `"error"`)) {
						t.Fatalf("a broken answer read as %s", m)
					}
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if m := readOne(t, c); !strings.Contains(m, tc.want) {
					t.Fatalf("answer %s, want %s", m, tc.want)
				}
			}
			time.Sleep(20 * time.Millisecond)
			if err := c.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			if m := readOne(t, c); !strings.Contains(m, `"honest":true`) || !strings.Contains(m, `"id":2`) {
				t.Fatalf("next answer %s", m)
			}
			if n := up.conns.Load(); !tc.reuse && n != 2 {
				t.Fatalf("connections %d: the broken one was used again", n)
			}
			if got := up.requests(); len(got) != 2 {
				t.Fatalf("the upstream saw %d requests, want 2 (nothing sent twice)", len(got))
			}
		})
	}
}

// TestFastClientSlowDripCancels: an upstream that drips its answer's
// headers one byte a while does not hold the session past its Close.
func TestFastClientSlowDripCancels(t *testing.T) {
	up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
		for _, b := range []byte("HTTP/1.1 200 OK\r\nX-Slow: " + strings.Repeat("a", 1000)) {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	c, err := Dial(context.Background(), up.url, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)) }()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a dripped answer cut short read as a success")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cut a dripping answer short")
	}
	c.Wait()
}

// TestFastClientURLCredentials: an upstream URL's user information is sent
// as Basic authorization, as net/http's Client sends it; the fast path
// dropped it, so an upstream behind Basic auth answered 401.
func TestFastClientURLCredentials(t *testing.T) {
	up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
		io.WriteString(c, jsonAnswer(result(body, `{}`)))
	})
	url := strings.Replace(up.url, "http://", "http://us%3Aer:p%40ss@", 1)
	c := dialFastTest(t, url)
	if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	readOne(t, c)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("us:er:p@ss"))
	if got := up.header(0).Get("Authorization"); got != want {
		t.Fatalf("Authorization %q, want %q", got, want)
	}
	// A header of the caller's own wins, as with net/http.
	c2, err := Dial(context.Background(), url, DialOptions{Header: http.Header{"Authorization": {"Bearer mine"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { c2.Close(); c2.Wait() }()
	if err := c2.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	readOne(t, c2)
	if got := up.header(1).Get("Authorization"); got != "Bearer mine" {
		t.Fatalf("Authorization %q, want the caller's", got)
	}
}

// TestRedirects: an upstream that redirects a POST within its own origin
// (Starlette's /mcp → /mcp/, 307) is followed on both paths, the fast one
// answering as net/http's client does rather than failing with the 3xx;
// a redirect to another origin is refused on both: the upstream's
// credentials (DialOptions.Header) and session id never go to a host the
// operator did not name, nor does serve fetch one for the upstream.
func TestRedirects(t *testing.T) {
	var other atomic.Int32
	elsewhere := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
		other.Add(1)
		io.WriteString(c, jsonAnswer(result(body, `{"elsewhere":true}`)))
	})
	up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
		switch req.URL.Path {
		case "/mcp":
			io.WriteString(c, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /mcp/\r\nContent-Length: 0\r\n\r\n")
		case "/away":
			io.WriteString(c, "HTTP/1.1 308 Permanent Redirect\r\nLocation: "+elsewhere.url+"\r\nContent-Length: 0\r\n\r\n")
		default:
			io.WriteString(c, jsonAnswer(result(body, `{"path":"`+req.URL.Path+`"}`)))
		}
	})
	for _, fast := range []bool{true, false} {
		t.Run("fast="+strconv.FormatBool(fast), func(t *testing.T) {
			c := dialFastTest(t, up.url)
			c.fast = fast
			if err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); err != nil {
				t.Fatal(err)
			}
			if m := readOne(t, c); !strings.Contains(m, `"path":"/mcp/"`) {
				t.Fatalf("redirected answer %s", m)
			}
			away := dialFastTest(t, strings.Replace(up.url, "/mcp", "/away", 1))
			away.fast = fast
			if err := away.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"ping"}`)); err == nil {
				if m := readOne(t, away); !strings.Contains(m, `"error"`) {
					t.Fatalf("cross-origin redirect answered %s", m)
				}
			}
			if n := other.Load(); n != 0 {
				t.Fatalf("the other origin got %d requests", n)
			}
		})
	}
}

// TestFastClientCancelledConnNotReused: a 2026-07-28 request cancelled
// (its POST closed) while the upstream works on it leaves its connection
// closed, not pooled: the upstream's late answer to it can never be read
// as the answer to the next request, another session's perhaps.
func TestFastClientCancelledConnNotReused(t *testing.T) {
	slow := make(chan struct{})
	up := newRawUpstream(t, func(c net.Conn, conn, n int, req *http.Request, body []byte) {
		if strings.Contains(string(body), `"slow"`) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n")
			<-slow
			late := `{"jsonrpc":"2.0","id":2,"result":{"late":"of the slow one"}}`
			io.WriteString(c, late[:60]+jsonAnswer(late))
			return
		}
		io.WriteString(c, jsonAnswer(result(body, `{"honest":true}`)))
	})
	a, b := dialFastTest(t, up.url), dialFastTest(t, up.url)
	meta := `"_meta":{"` + MetaProtocolVersion + `":"2026-07-28"}`
	if err := a.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow",` + meta + `}}`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); len(up.requests()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never came")
		}
	}
	time.Sleep(50 * time.Millisecond) // its answer's headers are read
	if err := a.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(slow)
	time.Sleep(50 * time.Millisecond)
	if err := b.Write([]byte(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"fast",` + meta + `}}`)); err != nil {
		t.Fatal(err)
	}
	if m := readOne(t, b); strings.Contains(m, "late") || !strings.Contains(m, `"honest":true`) {
		t.Fatalf("the other session read %s", m)
	}
}

// TestSameOrigin: the redirect policy's rule, on the URLs it compares.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		follow   bool
	}{
		{"http://up:8080/mcp", "http://up:8080/mcp/", true},
		{"http://up/mcp", "https://up/mcp", true},
		{"http://up:8080/mcp", "https://UP:8443/mcp", true},
		{"https://up/mcp", "http://up/mcp", false},
		{"http://up:8080/mcp", "http://up:8081/mcp", false},
		{"http://up/mcp", "http://169.254.169.254/latest/meta-data/", false},
		{"http://up/mcp", "https://evil/mcp", false},
		{"http://user:pw@up/mcp", "http://up/mcp/", true},
	} {
		from, _ := http.NewRequest("POST", tc.from, nil)
		to, _ := http.NewRequest("POST", tc.to, nil)
		err := sameOrigin(to, []*http.Request{from})
		if got := err == nil; got != tc.follow {
			t.Errorf("%s → %s: followed %v, want %v (%v)", tc.from, tc.to, got, tc.follow, err)
		}
	}
	from, _ := http.NewRequest("POST", "http://up/mcp", nil)
	via := make([]*http.Request, 10)
	for i := range via {
		via[i] = from
	}
	if sameOrigin(from, via) == nil {
		t.Error("an eleventh redirect was followed")
	}
}
