package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// startEchoHTTP starts the example echo server in its streamable HTTP mode
// on a port it picks, and returns its /mcp URL.
func startEchoHTTP(b *testing.B) string {
	b.Helper()
	addr, _ := startListening(b, helperBinary(b, "echoserver"), "-http", "127.0.0.1:0")
	return addr + "/mcp"
}

// startHTTPFloor starts httpfloor (a bare httputil.ReverseProxy) in front
// of upstream, and returns its /mcp URL and its pid.
func startHTTPFloor(b *testing.B, upstream string) (string, int) {
	b.Helper()
	addr, pid := startListening(b, helperBinary(b, "httpfloor"), "-listen", "127.0.0.1:0", "-upstream", upstream)
	return addr + "/mcp", pid
}

// startListening starts a helper that prints "listening on URL" on
// standard error, and returns the URL and the helper's pid.
func startListening(b *testing.B, name string, args ...string) (string, int) {
	b.Helper()
	cmd := exec.Command(name, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(pipe).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		b.Fatalf("%s: %q %v", name, line, err)
	}
	go io.Copy(io.Discard, pipe)
	return addr, cmd.Process.Pid
}

// httpSession is one client session driven by hand: initialize, then calls.
type httpSession struct {
	client *http.Client
	url    string
	sess   string
	v26    bool // 2026-07-28: no session, each request describes itself
}

func (s *httpSession) post(body string) ([]byte, error) {
	req, err := http.NewRequest("POST", s.url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if s.sess != "" {
		req.Header.Set("Mcp-Session-Id", s.sess)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	if s.v26 { // the benchmark's calls are all tools/call of echo
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "echo")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if s.sess == "" && !s.v26 {
		s.sess = resp.Header.Get("Mcp-Session-Id")
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
	}
	return out, err
}

func openHTTPSession(client *http.Client, url string) (*httpSession, error) {
	s := &httpSession{client: client, url: url}
	if _, err := s.post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`); err != nil {
		return nil, err
	}
	if s.sess == "" {
		return nil, fmt.Errorf("no session id")
	}
	_, err := s.post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s, err
}

// rssKB is a process's resident memory (VmRSS) in KiB.
func rssKB(b *testing.B, pid int) int {
	b.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// BenchmarkServeHTTP measures, in one run, warrant-checked tools/call over
// streamable HTTP with 32 concurrent client sessions: the echo server's HTTP
// mode spoken to directly, and through serve --upstream-url with a held
// warrant and with a warrant each call presents; then the same stateless
// (2026-07-28); then the resident memory of serve with 100 open sessions
// (stdio children excluded: the upstream is the HTTP server).
//
// The variants run in rounds, one after the other within each round, and
// each figure is the median over the rounds; of-direct is the median of
// each round's ratio to that round's direct figure. On a machine others
// load too, a ratio of two figures taken seconds apart says little; two
// taken in the same round say more. -count does not repeat the rounds (the
// figures of each repetition are those of the one run): for several runs,
// run the benchmark several times. With TENUO_BENCH_PROFILE_DIR set, the
// serve processes write CPU profiles there (serve-held.prof, whose calls
// include held-2026's, and serve-presented.prof).
//
//	go test ./cmd/tenuo-mcp -run '^$' -bench ServeHTTP -benchtime 1x
func BenchmarkServeHTTP(b *testing.B) {
	const clients, rounds, callsPerRound = 32, 9, 50
	upstream := startEchoHTTP(b)
	root, agent := newKey(b), newKey(b)
	wt, err := authz.Mint(root, authz.Grant{Holder: agent.Public(), TTL: time.Hour,
		Tools: map[string]authz.ConstraintSet{"echo": {AllowUnknown: true}}}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	wf, kf := filepath.Join(dir, "w"), filepath.Join(dir, "k")
	os.WriteFile(wf, []byte(authz.Stack{wt}.Base64()), 0o644)
	os.WriteFile(kf, []byte(agent.SeedHex()), 0o600)
	common := []string{"--trusted-root", root.Public().Hex(), "--log-level", "error", "--audit-log", os.DevNull,
		"--upstream-url", upstream, "--max-sessions", "200", "--max-sessions-per-client", "200"}
	profile := func(name string) []string {
		// A CPU profile of each serve process, for the before/after
		// summaries of the serve speed work.
		if dir := os.Getenv("TENUO_BENCH_PROFILE_DIR"); dir != "" {
			return []string{"--cpu-profile", filepath.Join(dir, name+".prof")}
		}
		return nil
	}
	floorURL, floorPid := startHTTPFloor(b, upstream)
	held := startServe(b, nil, slices.Concat(common, []string{"--warrant", wf, "--key", kf}, profile("serve-held")))
	presented := startServe(b, nil, slices.Concat(common, profile("serve-presented")))
	signer := e2eSigner{authz.Stack{wt}, agent}
	args := `{"text":"hello"}`
	const meta26 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
	callBody := func(withMeta bool) string {
		if !withMeta {
			return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":` + args + `}}`
		}
		meta, _ := json.Marshal(map[string]any{"tenuo": signer.envelope(b, "echo", args)})
		return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":` + args + `,"_meta":` + string(meta) + `}}`
	}
	body26 := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":` + args + `,` + meta26 + `}}`
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients}}

	// A variant is one way of calling; stateless ones run 2026-07-28 calls:
	// no session; the 32 clients are one caller, so they share one pooled
	// upstream, and as they all use id 1 most of their ids are renamed for
	// it (the costly case). base names the variant its ratios are to.
	type variant struct {
		name, url, body, base string
		pid                   int
		stateless             bool
		sessions              []*httpSession
		perSec, p50us, cpuUs  []float64
		ratio, added          []float64
		ofFloor               []float64 // throughput over the same round's floor's
	}
	vs := []*variant{
		{name: "direct", url: upstream, body: callBody(false)},
		{name: "floor", url: floorURL, body: callBody(false), pid: floorPid, base: "direct"},
		{name: "held", url: held.url + "/mcp", body: callBody(false), pid: held.cmd.Process.Pid, base: "direct"},
		{name: "presented", url: presented.url + "/mcp", body: callBody(true), pid: presented.cmd.Process.Pid, base: "direct"},
		{name: "direct-2026", url: upstream, body: body26, stateless: true},
		{name: "held-2026", url: held.url + "/mcp", body: body26, pid: held.cmd.Process.Pid, stateless: true, base: "direct-2026"},
	}
	byName := map[string]*variant{}
	for _, v := range vs {
		byName[v.name] = v
		for range clients {
			if v.stateless {
				v.sessions = append(v.sessions, &httpSession{client: client, url: v.url, v26: true})
				continue
			}
			s, err := openHTTPSession(client, v.url)
			if err != nil {
				b.Fatal(err)
			}
			v.sessions = append(v.sessions, s)
		}
	}
	// round runs callsPerRound calls on each of v's sessions at once.
	round := func(v *variant) {
		lat := make([][]time.Duration, clients)
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		cpu0 := int64(0)
		if v.pid > 0 {
			cpu0 = cpuNanos(b, v.pid)
		}
		start := time.Now()
		for i, s := range v.sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range callsPerRound {
					t0 := time.Now()
					out, err := s.post(v.body)
					if err != nil || !bytes.Contains(out, []byte(`"text":"hello"`)) {
						errs <- fmt.Errorf("%s call: %v %s", v.name, err, out)
						return
					}
					lat[i] = append(lat[i], time.Since(t0))
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
		var all []time.Duration
		for _, l := range lat {
			all = append(all, l...)
		}
		slices.Sort(all)
		v.perSec = append(v.perSec, float64(len(all))/elapsed.Seconds())
		v.p50us = append(v.p50us, float64(all[len(all)/2].Microseconds()))
		if v.pid > 0 {
			v.cpuUs = append(v.cpuUs, float64(cpuNanos(b, v.pid)-cpu0)/1e3/float64(len(all)))
		}
		if f := byName["floor"]; f != nil && v.base == "direct" && v != f {
			v.ofFloor = append(v.ofFloor, v.perSec[len(v.perSec)-1]/f.perSec[len(f.perSec)-1])
		}
		if base := byName[v.base]; base != nil {
			v.ratio = append(v.ratio, v.perSec[len(v.perSec)-1]/base.perSec[len(base.perSec)-1])
			v.added = append(v.added, v.p50us[len(v.p50us)-1]-base.p50us[len(base.p50us)-1])
		}
	}
	for range rounds * b.N {
		for _, v := range vs {
			round(v)
		}
	}
	median := func(xs []float64) float64 {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			b.ReportMetric(0, "ns/op") // the figures are the rounds', not this function's
			b.ReportMetric(median(v.perSec), "calls/s")
			b.ReportMetric(median(v.p50us), "p50-us")
			if v.base != "" {
				b.ReportMetric(median(v.ratio), "of-direct")
				b.ReportMetric(median(v.added), "added-p50-us")
				b.ReportMetric(median(v.cpuUs), "cpu-us/call")
			}
			if len(v.ofFloor) > 0 {
				b.ReportMetric(median(v.ofFloor), "of-floor")
			}
		})
	}
	b.Run("sessions100", func(b *testing.B) {
		before := rssKB(b, held.cmd.Process.Pid)
		var opened []*httpSession
		for range 100 {
			s, err := openHTTPSession(client, held.url+"/mcp")
			if err != nil {
				b.Fatal(err)
			}
			opened = append(opened, s)
		}
		b.ReportMetric(float64(rssKB(b, held.cmd.Process.Pid))/1024, "rss-MiB")
		b.ReportMetric(float64(before)/1024, "rss-before-MiB")
		// Closed again, so that a further run (-count) starts from the same
		// sessions, within --max-sessions.
		for _, s := range opened {
			req, _ := http.NewRequest(http.MethodDelete, s.url, nil)
			req.Header.Set("Mcp-Session-Id", s.sess)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	})
}
