package mcpproxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// meta2026 is the _meta every 2026-07-28 request carries.
const meta2026 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`

// eraFixture is an enforcement point with a clock the test moves, a warrant
// for "ping" and "echo" living an hour, and a replay guard when asked for.
type eraFixture struct {
	hooks   *Hooks
	stack   authz.Stack
	agent   *authz.SigningKey
	clock   atomic.Int64 // Unix seconds
	revoked atomic.Bool  // every warrant revoked
	audit   *syncBuffer
}

// syncBuffer is an audit sink the relay's goroutines write to while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the audit records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

const eraStart = 1_800_000_000

func newEraFixture(t *testing.T, replay bool, held bool) *eraFixture {
	t.Helper()
	f := &eraFixture{audit: &syncBuffer{}}
	f.clock.Store(eraStart)
	now := func() time.Time { return time.Unix(f.clock.Load(), 0) }
	root, agent := enfKey(t, 1), enfKey(t, 2)
	w, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour, Tools: map[string]authz.ConstraintSet{
		"ping": {}, "echo": {}, "greet": {},
	}}, now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := authz.Config{TrustedRoots: []authz.PublicKey{root.Public()}, Now: now,
		Revoked: func(authz.WarrantID) bool { return f.revoked.Load() }}
	if replay {
		cfg.Replay = authz.NewReplayGuard(0, 0, nil)
	}
	az, err := authz.NewAuthorizer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pt := &enforce.Point{Authorizer: az, Audit: f.audit, Now: now}
	if held {
		h, err := enforce.NewHeldWarrant(authz.Stack{w}, agent)
		if err != nil {
			t.Fatal(err)
		}
		pt.Held = h
	}
	f.hooks, f.stack, f.agent = &Hooks{Point: pt}, authz.Stack{w}, agent
	return f
}

// envelope is a _meta.tenuo member for a call of tool with args, signed now.
func (f *eraFixture) envelope(t *testing.T, tool, args string) string {
	t.Helper()
	canon, err := authz.CanonicalArgs([]byte(args))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := authz.SignPoP(f.agent, f.stack.Leaf().ID, tool, canon, time.Unix(f.clock.Load(), 0))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`"tenuo":{"warrant":%q,"signature":%q}`, f.stack.Base64(), base64.RawURLEncoding.EncodeToString(sig[:]))
}

func (f *eraFixture) proxy(denyAsResult bool) *Proxy {
	p := &Proxy{DenyAsResult: denyAsResult}
	f.hooks.Install(p)
	return p
}

func TestFilterToolsList2026(t *testing.T) {
	keep := func(n string) bool { return n != "deny" }
	hour := listCache{bounded: true, left: time.Hour}
	tests := []struct {
		name  string
		in    string
		cache listCache
		want  string
	}{
		{"server's ttl cut to the warrant's life",
			`{"resultType":"complete","tools":[{"name":"ok"},{"name":"deny"}],"ttlMs":7200000,"cacheScope":"public"}`, hour,
			`{"resultType":"complete","tools":[{"name":"ok"}],"ttlMs":3600000,"cacheScope":"private"}`},
		{"a shorter server ttl kept byte for byte",
			`{"resultType":"complete","tools":[{"name":"ok"}], "ttlMs" : 60000 ,"cacheScope":"private","nextCursor":"c"}`, hour,
			`{"resultType":"complete","tools":[{"name":"ok"}], "ttlMs" : 60000 ,"cacheScope":"private","nextCursor":"c"}`},
		{"missing members added after the others",
			`{"tools":[{"name":"deny"}],"_meta":{"x":1}}`, hour,
			`{"tools":[],"_meta":{"x":1},"resultType":"complete","cacheScope":"private","ttlMs":3600000}`},
		{"empty result object with spaces",
			`{ "tools":[] }`, listCache{bounded: true, left: 1500 * time.Millisecond},
			`{ "tools":[],"resultType":"complete","cacheScope":"private","ttlMs":1500 }`},
		{"no bound and no server ttl: 0",
			`{"resultType":"complete","tools":[],"cacheScope":"public"}`, listCache{},
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":0}`},
		{"no bound: the server's ttl stands",
			`{"resultType":"complete","tools":[],"cacheScope":"public","ttlMs":99999999999999999999}`, listCache{},
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":99999999999999999999}`},
		{"an expired warrant: 0",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":5000}`, listCache{bounded: true, left: -time.Second},
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":0}`},
		{"a negative server ttl never stays negative",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":-5}`, listCache{},
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":0}`},
		{"a huge server ttl is cut",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":99999999999999999999}`, hour,
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":3600000}`},
		{"a fractional, exponent or string ttl is replaced",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":1.5,"x":[1e3,"2"]}`, hour,
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":3600000,"x":[1e3,"2"]}`},
		{"an exponent ttl is replaced",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":1e3}`, listCache{},
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":0}`},
		{"a string ttl is replaced",
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":"60000"}`, hour,
			`{"resultType":"complete","tools":[],"cacheScope":"private","ttlMs":3600000}`},
		{"another resultType is the server's",
			`{"resultType":"x-other","tools":[],"cacheScope":"private","ttlMs":1}`, hour,
			`{"resultType":"x-other","tools":[],"cacheScope":"private","ttlMs":1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := `{"jsonrpc":"2.0","id":1,"result":` + tc.in + `}`
			ms, err := objectMembers([]byte(msg))
			if err != nil {
				t.Fatal(err)
			}
			c := tc.cache
			got, err := filterToolsList([]byte(msg), ms[find(ms, "result")], keep, &c)
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"jsonrpc":"2.0","id":1,"result":` + tc.want + `}`; string(got) != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if !json.Valid(got) {
				t.Fatal("not JSON")
			}
			// Pre-2026 requests: only the tools and an existing cacheScope
			// change, as before.
			old, err := filterToolsList([]byte(msg), ms[find(ms, "result")], keep, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"resultType", "ttlMs"} {
				if field(t, string(old), "result."+k) != field(t, msg, "result."+k) {
					t.Fatalf("pre-2026 filter changed %s: %s", k, old)
				}
			}
		})
	}
}

func TestStatelessVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2026-07-28": true, "2027-01-01": true, "2026-07-27": false, "2025-11-25": false, "": false,
		"2026-07-28 ": false, "9999-99-9x": false, "zzzz-zz-zz": false, "2026/07/28": false,
	} {
		if got := isStatelessVersion(v); got != want {
			t.Errorf("isStatelessVersion(%q) = %v", v, got)
		}
	}
}

// TestRelayResultsIn2026 runs the relay with the enforcement point: what the
// proxy makes for a 2026-07-28 request says resultType "complete", and a
// filtered listing is private and lives no longer than the warrant; the same
// exchanges in an older era are what they always were, byte for byte.
func TestRelayResultsIn2026(t *testing.T) {
	const listAnswer = `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","tools":[{"name":"ping"},{"name":"secret"}],"ttlMs":%s,"cacheScope":"public"}}`
	tests := []struct {
		name      string
		meta      string // the request's _meta member, "" for none
		upTTL     string
		advance   int64 // seconds the clock moves before the list
		wantTTL   func(int64) bool
		wantScope string
	}{
		{name: "2026: bounded by the warrant", meta: meta2026, upTTL: "86400000", advance: 600,
			wantTTL: func(ms int64) bool { return ms <= 3000*1000 && ms > 3000*1000-10000 }, wantScope: `"private"`},
		{name: "2026: the server's shorter ttl", meta: meta2026, upTTL: "60000",
			wantTTL: func(ms int64) bool { return ms == 60000 }, wantScope: `"private"`},
		{name: "2026: an expired warrant lists nothing, ttl 0", meta: meta2026, upTTL: "60000", advance: 7200,
			wantTTL: func(ms int64) bool { return ms == 0 }, wantScope: `"private"`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newEraFixture(t, false, true)
			f.clock.Add(tc.advance)
			h := newHarness(t, f.proxy(false), 0)
			id := strconv.Itoa(i + 1)
			h.client.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/list","params":{` + tc.meta + `}}`)
			h.upstream.recv()
			h.upstream.send(fmt.Sprintf(listAnswer, id, tc.upTTL))
			got := h.client.recv()
			ttl, err := strconv.ParseInt(field(t, got, "result.ttlMs"), 10, 64)
			if err != nil || !tc.wantTTL(ttl) {
				t.Fatalf("ttlMs in %s", got)
			}
			if s := field(t, got, "result.cacheScope"); s != tc.wantScope {
				t.Fatalf("cacheScope %s in %s", s, got)
			}
			if rt := field(t, got, "result.resultType"); rt != `"complete"` {
				t.Fatalf("resultType %s", rt)
			}
		})
	}

	// Results the relay makes itself, per era.
	for _, era := range []struct {
		name, meta string
		stateless  bool
	}{{"2026-07-28", "," + meta2026, true}, {"2025-11-25", "", false}, {"2026 version in a look-alike key", `,"_meta":{"io.modelcontextprotocol/protocolversion":"2026-07-28"}`, false}} {
		t.Run("made by the relay/"+era.name, func(t *testing.T) {
			f := newEraFixture(t, false, true)
			h := newHarness(t, f.proxy(true), 0)
			// A denial given as a tool result.
			h.client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secret"` + era.meta + `}}`)
			got := h.client.recv()
			want := `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Access denied: tool \"secret\" is not authorized by warrant `
			if era.stateless {
				want = `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","content":[{"type":"text","text":"Access denied: tool \"secret\" is not authorized by warrant `
			}
			if !strings.HasPrefix(got, want) {
				t.Fatalf("denial\n%s\nwant prefix\n%s", got, want)
			}
			// A listing without cacheScope or ttlMs from an older server.
			h.client.send(`{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"c"` + era.meta + `}}`)
			h.upstream.recv()
			answer := `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"ping"}]}}`
			h.upstream.send(answer)
			got = h.client.recv()
			if !era.stateless {
				if got != answer {
					t.Fatalf("pre-2026 listing changed:\n%s", got)
				}
				return
			}
			want = `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"ping"}],"resultType":"complete","cacheScope":"private","ttlMs":`
			if !strings.HasPrefix(got, want) {
				t.Fatalf("listing\n%s\nwant prefix\n%s", got, want)
			}
		})
	}
}

// TestDiscoverRelayedUntouched: server/discover is not intercepted; what the
// client sends reaches the server byte for byte and the answer comes back
// the same, odd spacing, escapes, big numbers and public cacheScope kept.
func TestDiscoverRelayedUntouched(t *testing.T) {
	f := newEraFixture(t, false, true)
	h := newHarness(t, f.proxy(false), 0)
	reqs := []string{
		`{"jsonrpc":"2.0","id":"d\u00e91","method":"server/discover","params":{` + meta2026 + ` , "n": 123456789012345678901234567890, "s":"\ud83d\ude00"}}`,
		`{ "method" : "server/discover" , "id" : 7.0 , "jsonrpc" : "2.0" , "params" : { "_meta" : { } } }`,
		`{"jsonrpc":"2.0","id":8,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","tenuo":{"warrant":"x"}}}}`,
	}
	answers := []string{
		`{"jsonrpc":"2.0","id":"d\u00e91","result":{"resultType":"complete","supportedVersions":["2026-07-28","2025-11-25"],"capabilities":{"tools":{"listChanged":true}},"ttlMs":300000,"cacheScope":"public","instructions":"x\ny"}}`,
		`{"jsonrpc":"2.0","id":7.0,"error":{"code":-32601,"message":"Method not found"}}`,
		`{"jsonrpc":"2.0","id":8,"result":{"resultType":"complete","supportedVersions":[],"capabilities":{},"ttlMs":-1,"cacheScope":"public"}}`,
	}
	for i := range reqs {
		h.client.send(reqs[i])
		if got := h.upstream.recv(); got != reqs[i] {
			t.Fatalf("request\n%s\nreached the server as\n%s", reqs[i], got)
		}
		h.upstream.send(answers[i])
		if got := h.client.recv(); got != answers[i] {
			t.Fatalf("answer\n%s\nreached the client as\n%s", answers[i], got)
		}
	}
	if recs := f.audit.records(t); len(recs) != 0 {
		t.Fatalf("server/discover audited: %v", recs)
	}
}

// TestLookalikesIn2026 sends look-alikes of the intercepted methods in
// 2026-07-28 shapes: each is refused -32601, audited, and never relayed.
func TestLookalikesIn2026(t *testing.T) {
	f := newEraFixture(t, false, true)
	h := newHarness(t, f.proxy(false), 0)
	methods := []string{"Tools/Call", "tools/call ", "tools/\u200blist", "ｔｏｏｌｓ/call", "TOOLS/LIST", "tools/call\u0000"}
	for i, m := range methods {
		mj, _ := json.Marshal(m)
		id := 100 + i
		h.client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%s,"params":{"name":"ping","arguments":{},%s}}`, id, mj, meta2026))
		got := h.client.recv()
		if field(t, got, "error.code") != "-32601" || field(t, got, "id") != strconv.Itoa(id) {
			t.Fatalf("%q answered %s", m, got)
		}
	}
	h.upstream.quiet(100 * time.Millisecond)
	recs := f.audit.records(t)
	if len(recs) != len(methods) {
		t.Fatalf("%d audit records for %d look-alikes: %v", len(recs), len(methods), recs)
	}
	for i, r := range recs {
		if r["decision"] != "deny" || r["rpc_code"] != float64(-32601) || r["event"] != methods[i] {
			t.Fatalf("audit record %v", r)
		}
	}
}

func TestRequestIsStateless(t *testing.T) {
	for params, want := range map[string]bool{
		`{` + meta2026 + `}`: true,
		`{"_meta":{"io.modelcontextprotocol\/protocolVersion":"2026-07-28"}}`:      true,
		`{"_meta":{"io.modelcontextprotocol/protocol\u0056ersion":"2026-07-28"}}`:  true,
		`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-11-25"}}`:       false,
		`{"_meta":{"tenuo":{"warrant":"protocolVersion"}}}`:                        false,
		`{"_meta":{"x":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`: false,
		`{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`:                 false,
		`{"_meta":"io.modelcontextprotocol/protocolVersion"}`:                      false,
		`{"_meta":{"io.modelcontextprotocol/protocolVersion":2026}}`:               false,
	} {
		if got := paramsAreStateless([]byte(params)); got != want {
			t.Errorf("%s: stateless = %v", params, got)
		}
	}
}

// BenchmarkParseCallEra: reading a call's era costs an older-era call a
// substring search; compare "older" (the baseline, as every call was read
// before) with "2026".
func BenchmarkParseCallEra(b *testing.B) {
	env := `"tenuo":{"warrant":"` + strings.Repeat("w", 600) + `","signature":"` + strings.Repeat("s", 86) + `"}`
	for _, bc := range []struct{ name, params string }{
		{"older", `{"name":"read","arguments":{"path":"/data/a"},"_meta":{"progressToken":1,` + env + `}}`},
		{"2026", `{"name":"read","arguments":{"path":"/data/a"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` + env + `}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			params := json.RawMessage(bc.params)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := parseCall(json.RawMessage(`1`), params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPinRefusalResultType: a call the pin layer refuses as a tool result
// says resultType "complete" for a 2026-07-28 request only.
func TestPinRefusalResultType(t *testing.T) {
	for _, stateless := range []bool{true, false} {
		c := &pinConn{cfg: PinConfig{DenyAsResult: true}, log: orDiscard(nil), items: make(chan pinItem, 1), end: make(chan struct{})}
		c.refuse(json.RawMessage(`4`), "echo", "it is not in the pin lock", stateless)
		got := string((<-c.items).msg)
		want := `<missing>`
		if stateless {
			want = `"complete"`
		}
		if field(t, got, "result.resultType") != want || field(t, got, "result.isError") != "true" {
			t.Fatalf("stateless %v: %s", stateless, got)
		}
	}
}

// FuzzFilterToolsList2026: whatever result a server sends a 2026-07-28
// listing, the filtered one is JSON (or an error), shows no hidden tool,
// says cacheScope "private", and carries a non-negative integer ttlMs no
// longer than the warrant's remaining life.
func FuzzFilterToolsList2026(f *testing.F) {
	for _, s := range []string{
		`{"tools":[{"name":"ok"},{"name":"deny"}],"ttlMs":60000,"cacheScope":"public","resultType":"complete"}`,
		`{ "tools":[] }`, `{"tools":[],"ttlMs":-1}`, `{"tools":[],"ttlMs":1e99}`, `{"tools":[],"ttlMs":"5"}`,
		`{"tools":[],"ttlMs":99999999999999999999999,"cacheScope":null}`, `{"tools":[{"name":"deny","name":"ok"}]}`,
	} {
		f.Add([]byte(s), int64(3600_000))
	}
	f.Fuzz(func(t *testing.T, result []byte, leftMs int64) {
		msg := append(append([]byte(`{"jsonrpc":"2.0","id":1,"result":`), result...), '}')
		ms, err := objectMembers(msg)
		if err != nil {
			return
		}
		ri := find(ms, "result")
		if ri < 0 {
			return
		}
		cache := &listCache{bounded: leftMs%2 == 0, left: time.Duration(leftMs) * time.Millisecond}
		out, err := filterToolsList(msg, ms[ri], func(n string) bool { return n != "deny" }, cache)
		if err != nil {
			return
		}
		var got struct {
			Result struct {
				Tools []struct {
					Name string `json:"name"`
				} `json:"tools"`
				TTL        json.Number `json:"ttlMs"`
				CacheScope string      `json:"cacheScope"`
			} `json:"result"`
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("filtered listing %s: %v", out, err)
		}
		for _, tool := range got.Result.Tools {
			if tool.Name == "deny" {
				t.Fatalf("hidden tool shown: %s", out)
			}
		}
		if got.Result.CacheScope != "private" {
			t.Fatalf("cacheScope %q: %s", got.Result.CacheScope, out)
		}
		if n, ok := ttlMillis([]byte(got.Result.TTL.String())); !ok || n < 0 || strings.HasPrefix(got.Result.TTL.String(), "-") {
			t.Fatalf("ttlMs %q is not a non-negative integer: %s", got.Result.TTL, out)
		}
		ttl, err := strconv.ParseUint(got.Result.TTL.String(), 10, 64)
		if cache.bounded && (err != nil || ttl > uint64(max(leftMs, 0))) {
			t.Fatalf("ttlMs %s outlives the warrant's %d ms: %s", got.Result.TTL, leftMs, out)
		}
	})
}

// TestPinFetchCarriesVersion: the pin layer's own tools/list names the
// protocol version (and client capabilities) when the client's call did, as
// a 2026-07-28 server requires of every request; in older eras it is as
// before, with no _meta.
func TestPinFetchCarriesVersion(t *testing.T) {
	lock, err := toolpin.FromTools([]json.RawMessage{json.RawMessage(`{"name":"echo","inputSchema":{"type":"object"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	for _, era := range []struct {
		name, meta, want string
	}{
		{"2026-07-28", "," + meta2026, `{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`},
		{"older", "", "<missing>"},
	} {
		t.Run(era.name, func(t *testing.T) {
			ur, uw := io.Pipe() // pin → test (the server's input)
			vr, vw := io.Pipe() // test → pin (the server's output)
			srv := newSide(t, transport.NewStdioConn(ur, vw, 0), vw)
			pc := PinTools(transport.NewStdioConn(vr, uw, 0), PinConfig{Lock: lock, FetchTimeout: 5 * time.Second})
			defer pc.Close()
			call := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}` + era.meta + `}}`
			wrote := make(chan error, 1)
			go func() { wrote <- pc.Write([]byte(call)) }()
			fetch := srv.recv()
			if field(t, fetch, "method") != `"tools/list"` || field(t, fetch, "params._meta") != era.want {
				t.Fatalf("the pin layer's own listing: %s", fetch)
			}
			srv.send(`{"jsonrpc":"2.0","id":` + field(t, fetch, "id") + `,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}}`)
			if got := srv.recv(); got != call {
				t.Fatalf("the call reached the server as %s", got)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
		})
	}
}
