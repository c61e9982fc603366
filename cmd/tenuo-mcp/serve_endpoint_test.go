package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// End-to-end tests of serve's own defences as a network endpoint, against
// the built binary on real loopback sockets: clients that trickle their
// headers or body, and clients that open connections and send nothing.

// dialFrom opens a TCP connection to addr from the loopback address local
// (Linux routes all of 127.0.0.0/8 to lo, so each one is another client
// address to serve).
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cutOff is how a trickling connection ended: after how long, and the
// status line serve answered with ("" for none).
type cutOff struct {
	after  time.Duration
	status string
	body   string
}

// trickle writes head at once, then rest one byte per 50 ms, while reading
// whatever serve answers; it returns when serve closes the connection, or
// fails the test if rest runs out first (nothing cut it off).
func trickle(t *testing.T, c net.Conn, head, rest string) cutOff {
	start := time.Now()
	closed := make(chan cutOff, 1)
	go func() {
		b, _ := io.ReadAll(c) // until serve closes (or resets) it
		r := cutOff{after: time.Since(start)}
		if line, body, ok := strings.Cut(string(b), "\r\n\r\n"); ok {
			r.status, _, _ = strings.Cut(line, "\r\n")
			r.body = body
		}
		closed <- r
	}()
	if _, err := io.WriteString(c, head); err != nil {
		t.Errorf("writing the head: %v", err)
	}
	for i := range len(rest) {
		select {
		case r := <-closed:
			return r
		case <-time.After(50 * time.Millisecond):
		}
		c.Write([]byte{rest[i]})
	}
	select {
	case r := <-closed:
		return r
	case <-time.After(5 * time.Second):
		t.Errorf("the connection is still open %v after it began trickling", time.Since(start))
		return cutOff{after: time.Since(start)}
	}
}

const initBody = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// TestServeE2ESlowClients: a client trickling its request's headers byte by
// byte is cut off by --read-header-timeout, one trickling its body by
// --read-timeout (answered 400), and several of them at once do not stall
// another caller's calls. A call whose JSON answer takes longer than
// --read-timeout is answered, not cut off.
func TestServeE2ESlowClients(t *testing.T) {
	t.Parallel()
	srv := heldTestServer(t, t.TempDir(), "--read-header-timeout", "1s", "--read-timeout", "2s")
	addr := strings.TrimPrefix(srv.url, "http://")
	hdr := "POST /mcp HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
	slowHeaders := hdr + "X-Slow: " + strings.Repeat("a", 200) + "\r\n\r\n"
	slowBody := fmt.Sprintf("%sContent-Length: %d\r\n\r\n", hdr, len(initBody)+200) + initBody + strings.Repeat(" ", 200)

	var wg sync.WaitGroup
	results := make([]cutOff, 6)
	for i := range results {
		c := dialFrom(t, "127.0.0.2", addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				results[i] = trickle(t, c, slowHeaders[:20], slowHeaders[20:])
			} else {
				results[i] = trickle(t, c, slowBody[:len(hdr)+30], slowBody[len(hdr)+30:])
			}
		}()
	}
	// Meanwhile another caller is served at its own pace.
	c := &rawClient{t: t, url: srv.url}
	c.initialize()
	for i := range 5 {
		r := answer(c.post(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t%d"}}}`, i+1, i), nil))
		if text, _ := r.toolResult(); text != fmt.Sprintf("t%d", i) {
			t.Fatalf("a call beside the slow clients: %s", r.Raw)
		}
	}
	wg.Wait()
	for i, r := range results {
		if i%2 == 0 {
			if r.after < 900*time.Millisecond || r.status != "" {
				t.Errorf("trickled headers: cut after %v with %q, want no answer after the 1s read-header timeout", r.after, r.status)
			}
		} else if r.after < 1900*time.Millisecond || r.status != "HTTP/1.1 400 Bad Request" || answer(&http.Response{}, []byte(r.body)).errCode() != rpcInvalidRequest {
			t.Errorf("trickled body: cut after %v with %q %s, want 400 and -32600 after the 2s read timeout", r.after, r.status, r.body)
		}
	}

	// A call answered as one JSON value that takes longer than the read
	// timeout is not cut off by it: the timeout bounds reading the
	// request, not the answer.
	req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":2600}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Mcp-Session-Id", c.sess)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if text, _ := answer(resp, b).toolResult(); text != "slept" {
		t.Errorf("a JSON-answered call longer than --read-timeout: %d %s", resp.StatusCode, b)
	}
}

// readAnswer reads serve's answer on c, within 5 s.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestServeE2EConnectionFlood: connections that send nothing fill
// --max-connections-per-client for their address (the next one from it is
// 429 with Retry-After, another address still served) and --max-connections
// in all (503 with Retry-After, answered even to a connection that sends
// nothing, after a second); the read-header timeout closes them, and then
// serve takes new connections again. Never a hang.
func TestServeE2EConnectionFlood(t *testing.T) {
	t.Parallel()
	// The read-header timeout leaves a loaded machine time to fill the bounds.
	srv := heldTestServer(t, t.TempDir(), "--read-header-timeout", "3s", "--max-connections", "10", "--max-connections-per-client", "6")
	addr := strings.TrimPrefix(srv.url, "http://")
	get := "GET /healthz HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	var idle []net.Conn
	for range 6 {
		idle = append(idle, dialFrom(t, "127.0.0.3", addr))
	}
	probe := dialFrom(t, "127.0.0.3", addr)
	io.WriteString(probe, get)
	resp, body := readAnswer(t, probe)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || answer(resp, []byte(body)).errCode() != rpcInternalError {
		t.Errorf("one connection past the address's bound: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// Another address is served; serve closes that connection after its
	// answer (Connection: close), and so no longer counts it by the time
	// the client reads the end.
	other := dialFrom(t, "127.0.0.4", addr)
	io.WriteString(other, strings.Replace(get, "\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1))
	if resp, body := readAnswer(t, other); resp.StatusCode != 200 {
		t.Errorf("another address beside the flood: %d %s", resp.StatusCode, body)
	}
	if n, err := other.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("the served connection was not closed: %d %v", n, err)
	}
	for range 4 {
		idle = append(idle, dialFrom(t, "127.0.0.5", addr))
	}
	probe = dialFrom(t, "127.0.0.6", addr)
	io.WriteString(probe, get)
	if resp, body := readAnswer(t, probe); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("one connection past the bound in all: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	silent := dialFrom(t, "127.0.0.6", addr)
	if resp, body := readAnswer(t, silent); resp.StatusCode != 503 {
		t.Errorf("a silent connection past the bound: %d %s", resp.StatusCode, body)
	}
	// The silent connections within the bounds are closed by the
	// read-header timeout, unanswered.
	for _, c := range idle {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("a silent connection: read %d, %v; want it closed", n, err)
		}
	}
	// Then there is room again.
	ok := false
	for deadline := time.Now().Add(5 * time.Second); !ok && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(srv.url + "/healthz")
		if err == nil {
			ok = resp.StatusCode == 200
			resp.Body.Close()
		}
	}
	if !ok {
		t.Error("no room after the silent connections were closed")
	}
	// The refusals are counted.
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`tenuo_mcp_http_refused_total{status="429"} 1`, `tenuo_mcp_http_refused_total{status="503"} 2`} {
		if !strings.Contains(string(m), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeE2ECredentialsNotForwarded: the client's credentials (its
// bearer token, cookies, proxy credentials, its X-Tenuo-Warrant header and
// the warrant and proof in _meta.tenuo) never reach an HTTP upstream over
// 2026-07-28; the upstream gets the --upstream-header credentials serve was
// given for it instead. A recording proxy in front of the go-sdk server
// sees every request serve makes.
func TestServeE2ECredentialsNotForwarded(t *testing.T) {
	t.Parallel()
	upURL := startGosdkHTTP(t, filepath.Join(t.TempDir(), "cancel.log"))
	target, _ := url.Parse(upURL)
	var mu sync.Mutex
	type seen struct {
		hdr  http.Header
		body string
	}
	var got []seen
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Header.Clone(), string(b)})
		mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.Close)

	w := newCallersWorld(t)
	path := w.write(t, goodCallers)
	const upstreamCred = "Bearer upstream-own-credential"
	srv := startServe(t, nil, []string{"--trusted-root", w.root.Public().Hex(), "--callers", path, "--log-level", "warn",
		"--upstream-url", rec.URL + target.Path, "--upstream-header", "Authorization: " + upstreamCred})
	const cookie, proxyAuth = "sid=cookie-secret-0123", "Basic cHJveHktc2VjcmV0LTAxMjM="
	alice := connectGosdk(t, srv.url, "", map[string]string{"Authorization": "Bearer " + aliceToken, "Cookie": cookie, "Proxy-Authorization": proxyAuth}, nil)
	if txt, code := callText(t, alice, "echo", map[string]any{"text": "held"}, nil); code != 0 || txt != "held" {
		t.Fatalf("alice's held call: %q %d", txt, code)
	}
	// ci holds no warrant: it presents one in X-Tenuo-Warrant, with the
	// proof in _meta.tenuo.
	ciKey := newKey(t)
	stack := peerWarrant(t, w.root, ciKey)
	signer := &e2eSigner{stack, ciKey}
	ci := connectGosdk(t, srv.url, "", map[string]string{"Authorization": "Bearer " + ciToken, "X-Tenuo-Warrant": stack.Base64(), "Cookie": cookie}, nil)
	env := signer.envelope(t, "echo", `{"text":"presented"}`)
	if txt, code := callText(t, ci, "echo", map[string]any{"text": "presented"}, mcp.Meta{"tenuo": signatureOnly(env)}); code != 0 || txt != "presented" {
		t.Fatalf("ci's presented call: %q %d", txt, code)
	}
	secrets := []string{aliceToken, ciToken, "cookie-secret", "cHJveHktc2VjcmV0", stack.Base64()[:40], env["signature"].(string)}
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 4 {
		t.Fatalf("only %d requests reached the upstream", len(got))
	}
	for _, s := range got {
		if a := s.hdr.Values("Authorization"); len(a) != 1 || a[0] != upstreamCred {
			t.Errorf("upstream request with Authorization %q, want only the upstream's own", a)
		}
		for _, h := range []string{"Cookie", "Proxy-Authorization", "X-Tenuo-Warrant"} {
			if s.hdr.Get(h) != "" {
				t.Errorf("upstream request with %s %q", h, s.hdr.Get(h))
			}
		}
		for _, secret := range secrets {
			for k, vs := range s.hdr {
				for _, v := range vs {
					if strings.Contains(v, secret) {
						t.Errorf("the client's credential %.12s… reached the upstream in header %s", secret, k)
					}
				}
			}
			if strings.Contains(s.body, secret) {
				t.Errorf("the client's credential %.12s… reached the upstream in a body: %s", secret, s.body)
			}
		}
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// to dir, and returns their paths and a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tenuo-mcp test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeE2ETLS: with --tls-cert/--tls-key serve speaks HTTPS (HTTP/2 and
// HTTP/1.1): a session and a call go through it, plain HTTP to the port
// is no way in, and a connection past --max-connections is refused over
// TLS with a readable 503.
func TestServeE2ETLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	srv := heldTestServer(t, dir, "--tls-cert", certFile, "--tls-key", keyFile, "--max-connections", "2")
	if !strings.HasPrefix(srv.url, "https://127.0.0.1:") {
		t.Fatalf("serve says it serves %s", srv.url)
	}
	addr := strings.TrimPrefix(srv.url, "https://")
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		post := func(sess, body string) (*http.Response, []byte) {
			req, _ := http.NewRequest("POST", srv.url+"/mcp", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if sess != "" {
				req.Header.Set("Mcp-Session-Id", sess)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp, b
		}
		resp, b := post("", initBody)
		if resp.StatusCode != 200 || resp.ProtoMajor != map[bool]int{true: 2, false: 1}[h2] {
			t.Fatalf("initialize over TLS (h2 %v): %s %d %s", h2, resp.Proto, resp.StatusCode, b)
		}
		sess := resp.Header.Get("Mcp-Session-Id")
		post(sess, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
		if text, _ := answer(post(sess, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"over TLS"}}}`)).toolResult(); text != "over TLS" {
			t.Errorf("call over TLS (h2 %v): %q", h2, text)
		}
		tr.CloseIdleConnections()
	}
	// Plain HTTP to the TLS port gets no MCP answer.
	if resp, err := http.Post("http://"+addr+"/mcp", "application/json", strings.NewReader(initBody)); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("plain HTTP to the TLS port: %d %s", resp.StatusCode, b)
		}
	}
	// Two silent connections fill --max-connections (the kernel hands
	// them to serve in the order they were made); a third is refused over
	// TLS, readably.
	dialFrom(t, "127.0.0.1", addr)
	dialFrom(t, "127.0.0.1", addr)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatalf("TLS to a full serve: %v", err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	if resp, body := readAnswer(t, c); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past --max-connections over TLS: %d %s", resp.StatusCode, body)
	}
}
