package mcpproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// chanConn is an in-memory transport.Conn: what one end writes the other
// reads, with no system calls, so a benchmark over it measures the relay's
// own work (parsing, checking, hand-offs) and nothing of the pipes.
type chanConn struct {
	in   <-chan []byte
	out  chan<- []byte
	done chan struct{}
}

func chanPair() (a, b *chanConn) {
	ab, ba := make(chan []byte, 64), make(chan []byte, 64)
	done := make(chan struct{})
	return &chanConn{in: ba, out: ab, done: done}, &chanConn{in: ab, out: ba, done: done}
}

func (c *chanConn) Read() ([]byte, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		return nil, io.EOF
	}
}

func (c *chanConn) Write(m []byte) error {
	select {
	case c.out <- bytes.Clone(m):
		return nil
	case <-c.done:
		return errors.New("closed")
	}
}

func (c *chanConn) Close() error { return nil }

// Buffered reports a message already waiting, as a stdio connection's
// buffered reader does: the relay then checks a call inline only when
// nothing else is waiting, as it does on stdio.
func (c *chanConn) Buffered() bool { return len(c.in) > 0 }

// echoUpstream answers every tools/call it reads with its id and a fixed
// text result, as the example echo server does.
func echoUpstream(c *chanConn) {
	for {
		m, err := c.Read()
		if err != nil {
			return
		}
		// Only requests with a numeric id come here: the id is the digits
		// after "id":.
		i := bytes.Index(m, []byte(`"id":`))
		if i < 0 || !bytes.Contains(m, []byte(`"method"`)) {
			continue
		}
		j := i + len(`"id":`)
		k := j
		for k < len(m) && '0' <= m[k] && m[k] <= '9' {
			k++
		}
		out := append(append(append(make([]byte, 0, 96), `{"jsonrpc":"2.0","id":`...), m[j:k]...), `,"result":{"content":[{"type":"text","text":"m"}]}}`...)
		c.out <- out
	}
}

// BenchmarkRelayHeldInProcess is one sequential tools/call through the relay
// with a held warrant, over in-memory connections: the relay's CPU per call
// without any system call (compare BenchmarkRelayCost in cmd/tenuo-mcp for
// the whole process).
func BenchmarkRelayHeldInProcess(b *testing.B) { benchRelayInProcess(b, false) }

// BenchmarkRelayPresentedInProcess is the same with the warrant and a PoP
// presented in each call's _meta.tenuo (signed outside the timed loop): one
// strict verify per call more.
func BenchmarkRelayPresentedInProcess(b *testing.B) { benchRelayInProcess(b, true) }

func benchRelayInProcess(b *testing.B, presented bool) {
	now := time.Now()
	root, agent := enfKeyB(b, 1), enfKeyB(b, 2)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"echo": {Constraints: map[string]authz.Constraint{"text": &authz.Pattern{Pattern: "m*"}}}}}, now)
	if err != nil {
		b.Fatal(err)
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}})
	if err != nil {
		b.Fatal(err)
	}
	pt := &enforce.Point{Authorizer: az, Audit: io.Discard}
	if !presented {
		if pt.Held, err = enforce.NewHeldWarrant(authz.Stack{w}, agent); err != nil {
			b.Fatal(err)
		}
	}
	h := &Hooks{Point: pt}
	p := &Proxy{}
	h.Install(p)
	client, cside := chanPair()
	upstream, uside := chanPair()
	go echoUpstream(uside)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Relay(ctx, client, upstream) }()
	defer func() { cancel(); close(client.done); close(upstream.done); <-errc }()
	cside.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	if _, err := cside.Read(); err != nil {
		b.Fatal(err)
	}
	stack := authz.Stack{w}
	lines := make([][]byte, b.N)
	for i := range lines {
		args := fmt.Sprintf(`{"text":"m%d"}`, i)
		meta := ""
		if presented {
			canon, err := authz.CanonicalArgs([]byte(args))
			if err != nil {
				b.Fatal(err)
			}
			sig, err := authz.SignPoP(agent, stack.Leaf().ID, "echo", canon, now)
			if err != nil {
				b.Fatal(err)
			}
			meta = fmt.Sprintf(`,"_meta":{"tenuo":{"warrant":%q,"signature":%q}}`, stack.Base64(), base64.RawURLEncoding.EncodeToString(sig[:]))
		}
		lines[i] = fmt.Appendf(nil, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":%s%s}}`, i+1, args, meta)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		cside.Write(lines[i])
		resp, err := cside.Read()
		if err != nil || !bytes.Contains(resp, []byte(`"text":"m"`)) {
			b.Fatalf("call %d: %s %v", i, resp, err)
		}
	}
}

func enfKeyB(b *testing.B, c byte) *authz.SigningKey {
	k, err := authz.NewSigningKeyFromSeed(bytes.Repeat([]byte{c}, 32))
	if err != nil {
		b.Fatal(err)
	}
	return k
}
