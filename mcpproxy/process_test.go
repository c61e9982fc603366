package mcpproxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds the repository's test and example servers once and returns
// the path of the named one (testserver, fsserver, relaycmd, mrtrserver).
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "mcpproxy-bin-")
		if buildErr != nil {
			return
		}
		// One go build for all: it builds them in parallel.
		pkgs := []string{"./internal/testserver", "../examples/mcp-servers/fsserver", "./internal/relaycmd", "./internal/mrtrserver"}
		out, err := exec.Command("go", append([]string{"build", "-o", binDir + string(filepath.Separator)}, pkgs...)...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// spawn starts a server binary as the proxy's upstream.
func spawn(t *testing.T, argv ...string) *transport.Process {
	t.Helper()
	env, err := transport.MinimalEnv(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := transport.SpawnStdio(context.Background(), argv, transport.SpawnOptions{Env: env, Stderr: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(time.Second) })
	return p
}

// testWriter mirrors a child's stderr into the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Logf("server stderr: %s", strings.TrimSpace(string(b)))
	return len(b), nil
}

// procHarness runs p with an in-memory client in front of a real process.
func procHarness(t *testing.T, p *Proxy, up *transport.Process) (*side, chan error) {
	t.Helper()
	cr, cw := io.Pipe()
	pr, pw := io.Pipe()
	proxySide := transport.NewStdioConn(cr, pw, 0)
	client := newSide(t, transport.NewStdioConn(pr, cw, 0), cw)
	done := make(chan error, 1)
	go func() { done <- p.Relay(context.Background(), proxySide, up) }()
	t.Cleanup(func() { cw.Close(); pr.Close() })
	return client, done
}

func waitRun(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	return nil
}

const initMsg = `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

func initialize(t *testing.T, c *side) {
	t.Helper()
	c.send(initMsg)
	if v := field(t, c.recv(), "result.protocolVersion"); v != `"2025-06-18"` {
		t.Fatalf("initialize answered protocolVersion %s", v)
	}
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// directList asks a fresh server for its tools/list answer, without the proxy.
func directList(t *testing.T, argv ...string) string {
	t.Helper()
	up := spawn(t, argv...)
	for _, m := range []string{initMsg, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`} {
		if err := up.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		msg, err := up.Read()
		if err != nil {
			t.Fatal(err)
		}
		if field(t, string(msg), "id") == "1" {
			return string(msg)
		}
	}
}

func readCallLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestRealServerRelay runs the proxy in front of a real mcp-go server.
func TestRealServerRelay(t *testing.T) {
	server := binary(t, "testserver")
	callLog := filepath.Join(t.TempDir(), "calls.jsonl")
	authz, filter := allowExcept("secret")
	client, done := procHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, spawn(t, server, "-call-log", callLog))
	initialize(t, client)

	t.Run("filtered list byte-identical but for the hidden tool", func(t *testing.T) {
		direct := directList(t, server)
		client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		got := client.recv()
		ms, err := objectMembers([]byte(direct))
		if err != nil {
			t.Fatal(err)
		}
		result := value([]byte(direct), ms[find(ms, "result")])
		rms, err := objectMembers(result)
		if err != nil {
			t.Fatal(err)
		}
		var tools []json.RawMessage
		if err := json.Unmarshal(value(result, rms[find(rms, "tools")]), &tools); err != nil {
			t.Fatal(err)
		}
		want := direct
		for _, tool := range tools {
			if field(t, string(tool), "name") == `"secret"` {
				want = strings.Replace(want, string(tool), "", 1)
				want = strings.Replace(strings.Replace(want, ",,", ",", 1), "[,", "[", 1)
				want = strings.Replace(want, ",]", "]", 1)
			}
		}
		if want == direct {
			t.Fatal("the server's list has no secret tool")
		}
		if got != want {
			t.Fatalf("proxied list\n%s\nwant\n%s", got, want)
		}
	})

	t.Run("allowed call forwarded without the envelope", func(t *testing.T) {
		client.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi","_tenuo":{"warrant":"w","signature":"s"}},"_meta":{"tenuo":{"warrant":"w","signature":"s"},"progressToken":"tok","trace":"keep-me"}}}`)
		if got := field(t, client.recv(), "result.content"); got != `[{"text":"hi","type":"text"}]` {
			t.Fatalf("echo answered %s", got)
		}
		calls := readCallLog(t, callLog)
		if len(calls) != 1 {
			t.Fatalf("server logged %d calls", len(calls))
		}
		b, _ := json.Marshal(calls[0])
		if s := string(b); strings.Contains(s, "tenuo") || !strings.Contains(s, `"trace":"keep-me"`) || !strings.Contains(s, `"progressToken":"tok"`) {
			t.Fatalf("server received %s", s)
		}
	})

	t.Run("denied and hidden call never reaches the server", func(t *testing.T) {
		client.send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"secret"}}`)
		if got := field(t, client.recv(), "error"); got != `{"code":-32001,"message":"Access denied: secret"}` {
			t.Fatalf("denied call answered %s", got)
		}
		// A later allowed call is logged after it would have been.
		client.send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`)
		client.recv()
		for _, c := range readCallLog(t, callLog) {
			if c["tool"] == "secret" {
				t.Fatal("the denied call reached the server")
			}
		}
	})

	t.Run("client EOF ends Run cleanly", func(t *testing.T) {
		client.w.Close()
		if err := waitRun(t, done); err != nil {
			t.Fatalf("Run = %v", err)
		}
	})
}

func TestUpstreamCrashMidCall(t *testing.T) {
	up := spawn(t, binary(t, "testserver"))
	authz, filter := allowExcept()
	client, done := procHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, up)
	initialize(t, client)
	client.send(`{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"sleep","arguments":{"ms":20000}}}`)
	client.send(`{"jsonrpc":"2.0","id":"boom","method":"tools/call","params":{"name":"crash"}}`)
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		m := client.recv()
		got[field(t, m, "id")] = field(t, m, "error.code")
	}
	if got[`"slow"`] != "-32603" || got[`"boom"`] != "-32603" {
		t.Fatalf("pending calls answered %v", got)
	}
	err := waitRun(t, done)
	if !errors.Is(err, ErrUpstreamExited) || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Run = %v, want ErrUpstreamExited with exit status 3", err)
	}
}

func TestClientEOFDrains(t *testing.T) {
	up := spawn(t, binary(t, "testserver"))
	authz, filter := allowExcept()
	client, done := procHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, up)
	initialize(t, client)
	client.send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":300}}}`)
	client.send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"e"}}}`)
	client.w.Close() // EOF with both calls in flight
	got := map[string]string{}
	for i := 0; i < 2; i++ {
		m := client.recv()
		got[field(t, m, "id")] = field(t, m, "result.content")
	}
	if got["1"] != `[{"text":"slept","type":"text"}]` || got["2"] != `[{"text":"e","type":"text"}]` {
		t.Fatalf("in-flight calls answered %v", got)
	}
	if err := waitRun(t, done); err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case <-up.Exited():
	default:
		t.Fatal("upstream not reaped")
	}
	if up.ExitCode() != 0 {
		t.Fatalf("upstream exit code %d", up.ExitCode())
	}
}

func TestFileServerThroughProxy(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	authz, filter := allowExcept("delete_file")
	client, _ := procHarness(t, &Proxy{AuthorizeCall: authz, FilterTools: filter}, spawn(t, binary(t, "fsserver"), "-root", root))
	initialize(t, client)
	call := func(id int, tool, args string) string {
		client.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, id, tool, args))
		return client.recv()
	}
	tests := []struct {
		tool, args, path, want string
	}{
		{"write_file", `{"path":"a.txt","content":"hello"}`, "result.isError", "<missing>"},
		{"read_file", `{"path":"a.txt"}`, "result.content", `[{"text":"hello","type":"text"}]`},
		{"list_dir", `{"path":"."}`, "result.content", `[{"text":"a.txt","type":"text"}]`},
		{"delete_file", `{"path":"a.txt"}`, "error.code", "-32001"},
		{"read_file", `{"path":"../` + filepath.Base(filepath.Dir(outside)) + `/outside.txt"}`, "result.isError", "true"},
		{"read_file", `{"path":"` + outside + `"}`, "result.isError", "true"},
	}
	for i, tc := range tests {
		if got := field(t, call(i+1, tc.tool, tc.args), tc.path); got != tc.want {
			t.Errorf("%s %s: %s = %s, want %s", tc.tool, tc.args, tc.path, got, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "a.txt")); err != nil {
		t.Fatalf("denied delete_file removed the file: %v", err)
	}
}
