package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/internal/npmpeers"
)

// The official MCP conformance suite (@modelcontextprotocol/conformance,
// pinned in testdata/npm) run against mcp-go's conformance server
// (github.com/mark3labs/mcp-go/examples/conformance, at the version go.mod
// requires) twice: directly, and through `tenuo-mcp serve --upstream-url`
// holding a warrant that grants every tool the server lists. The proxy must
// not lose a single check that passes directly.
//
// That server speaks streamable HTTP only (it has no stdio mode), so there
// is no `serve -- COMMAND` run of the suite.

// conformanceKnownLosses are the checks, as "scenario/check-id", that pass
// directly and fail through serve today, each with why. The test insists that
// each one still passes directly and still fails through serve: when a fix
// lands it fails until the entry is removed, so the list cannot go stale.
var conformanceKnownLosses = map[string]string{
	// None. The last one, server-sse-multiple-streams/
	// server-accepts-multiple-post-streams, was serve refusing a supported
	// MCP-Protocol-Version that was not the session's (2025-03-26 in a
	// 2025-11-25 session) with 400; it is answered now, as mcp-go answers it.
}

// conformanceMinDirectPasses is the fewest checks the direct run passes
// when the harness works. Against mcp-go v1.2.1 the active suite of
// conformance 0.1.13 has 40 checks, one of them informational: 39 can pass,
// two of those only by luck (tools-call-with-logging and
// tools-call-with-progress, see conformanceConfirmRounds), so 37 to 39 do;
// 34 leaves a margin. Fewer means the harness broke, not the proxy.
const conformanceMinDirectPasses = 34

// conformanceMinScenarios is the fewest scenarios the active suite of
// conformance 0.1.13 runs (it runs 30).
const conformanceMinScenarios = 30

// conformanceStatuses are the check statuses conformance writes.
var conformanceStatuses = []string{"SUCCESS", "FAILURE", "WARNING", "INFO", "SKIPPED"}

var (
	conformanceOnce sync.Once
	conformanceBin  string
	conformanceErr  error
)

// conformanceServerBinary builds mcp-go's conformance server once per test
// binary, beside binPath.
func conformanceServerBinary(t testing.TB) string {
	t.Helper()
	conformanceOnce.Do(func() {
		conformanceBin = filepath.Join(filepath.Dir(binPath), "mcp-go-conformance")
		out, err := exec.Command("go", "build", "-o", conformanceBin, "github.com/mark3labs/mcp-go/examples/conformance").CombinedOutput()
		if err != nil {
			conformanceErr = fmt.Errorf("go build mcp-go examples/conformance: %v\n%s", err, out)
		}
	})
	if conformanceErr != nil {
		t.Fatal(conformanceErr)
	}
	return conformanceBin
}

// startConformanceUpstream starts mcp-go's conformance server on a free
// loopback port and returns its /mcp URL once /health answers. The server
// takes an address (CONFORMANCE_ADDR), not a listener, so the port is picked
// by net.Listen and freed; if another process takes it first the server
// exits and another port is tried.
func startConformanceUpstream(t *testing.T) string {
	t.Helper()
	bin := conformanceServerBinary(t)
	var last string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "CONFORMANCE_ADDR="+addr)
		stderr := &syncBuffer{}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		deadline := time.After(20 * time.Second)
		for up := false; !up; {
			select {
			case <-exited:
				last = stderr.String()
				up = true // give up on this port
				continue
			case <-deadline:
				t.Fatalf("mcp-go conformance server on %s did not answer /health:\n%s", addr, stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
			resp, err := http.Get("http://" + addr + "/health")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + addr + "/mcp"
			}
		}
	}
	t.Fatalf("mcp-go conformance server did not start:\n%s", last)
	return ""
}

// listTools lists the tools of the MCP server at url with the official Go
// SDK's client.
func listTools(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := mcp.NewClient(&mcp.Implementation{Name: "tenuo-conformance-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	defer cs.Close()
	var names []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			t.Fatalf("tools/list of %s: %v", url, err)
		}
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

// conformanceCheck is one entry of a scenario's checks.json.
type conformanceCheck struct {
	ID           string          `json:"id"`
	Status       string          `json:"status"`
	ErrorMessage string          `json:"errorMessage"`
	Details      json.RawMessage `json:"details"`
}

// conformanceRun is what one conformance invocation wrote: each scenario's
// checks, by scenario name.
type conformanceRun struct {
	scenarios map[string][]conformanceCheck
	output    string // its standard output and error
}

// check returns the check "scenario/id", and whether the run has it.
func (r *conformanceRun) check(key string) (conformanceCheck, bool) {
	scenario, id, _ := strings.Cut(key, "/")
	for _, c := range r.scenarios[scenario] {
		if c.ID == id {
			return c, true
		}
	}
	return conformanceCheck{}, false
}

// compact is a check's details on one line.
func (c conformanceCheck) compact() string {
	var b bytes.Buffer
	if json.Compact(&b, c.Details) != nil {
		return string(c.Details)
	}
	return b.String()
}

func (r *conformanceRun) passed(key string) bool {
	c, ok := r.check(key)
	return ok && c.Status == "SUCCESS"
}

// passes returns the checks that passed, as sorted "scenario/id" keys.
func (r *conformanceRun) passes() []string {
	var keys []string
	for s, checks := range r.scenarios {
		for _, c := range checks {
			if c.Status == "SUCCESS" {
				keys = append(keys, s+"/"+c.ID)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// misses returns the checks that did not pass, with their status and
// error, sorted.
func (r *conformanceRun) misses() []string {
	var out []string
	for s, checks := range r.scenarios {
		for _, c := range checks {
			if c.Status != "SUCCESS" {
				out = append(out, strings.TrimSpace(s+"/"+c.ID+" "+c.Status+" "+c.ErrorMessage))
			}
		}
	}
	slices.Sort(out)
	return out
}

// passedScenarios returns the scenarios with checks none of which failed.
func (r *conformanceRun) passedScenarios() []string {
	var names []string
	for s, checks := range r.scenarios {
		if len(checks) > 0 && !slices.ContainsFunc(checks, func(c conformanceCheck) bool { return c.Status == "FAILURE" }) {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	return names
}

func (r *conformanceRun) checkCount() int {
	n := 0
	for _, checks := range r.scenarios {
		n += len(checks)
	}
	return n
}

// conformanceResultDir is the directory conformance writes per scenario:
// server-<scenario>-<ISO time with : and . as ->.
var conformanceResultDir = regexp.MustCompile(`^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$`)

// conformanceSuiteSize is how conformance announces a suite run.
var conformanceSuiteSize = regexp.MustCompile(`(?m)^Running active suite \((\d+) scenarios\)`)

// runConformance runs the conformance server scenarios against url: the
// active suite, or one scenario. It reads the results from the files
// conformance writes (one checks.json per scenario, in a directory of its
// own) rather than from its human-oriented output, and checks that they are
// complete: every scenario announced has its file, each check has an id and
// a known status. It never calls t.Fatal (it may run in a goroutine).
func runConformance(npmDir, url, scenario string) (*conformanceRun, error) {
	out, err := os.MkdirTemp("", "conformance-results")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	args := []string{filepath.Join(npmDir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js"),
		"server", "--url", url, "--output-dir", out}
	if scenario != "" {
		args = append(args, "--scenario", scenario)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = npmDir
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err = cmd.Run()
	run := &conformanceRun{scenarios: map[string][]conformanceCheck{}, output: output.String()}
	// conformance exits 1 when a check failed; anything else is the harness.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("conformance against %s: %v\n%s", url, err, run.output)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		m := conformanceResultDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			return nil, fmt.Errorf("conformance wrote %q, not a scenario's result directory", e.Name())
		}
		if _, dup := run.scenarios[m[1]]; dup {
			return nil, fmt.Errorf("conformance wrote two results for scenario %s", m[1])
		}
		b, err := os.ReadFile(filepath.Join(out, e.Name(), "checks.json"))
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %v", m[1], err)
		}
		var checks []conformanceCheck
		if err := json.Unmarshal(b, &checks); err != nil {
			return nil, fmt.Errorf("scenario %s: checks.json: %v", m[1], err)
		}
		seen := map[string]bool{}
		for _, c := range checks {
			switch {
			case c.ID == "" || strings.Contains(c.ID, "/"):
				return nil, fmt.Errorf("scenario %s: a check with id %q", m[1], c.ID)
			case seen[c.ID]:
				return nil, fmt.Errorf("scenario %s: check %s twice", m[1], c.ID)
			case !slices.Contains(conformanceStatuses, c.Status):
				return nil, fmt.Errorf("scenario %s: check %s has status %q", m[1], c.ID, c.Status)
			}
			seen[c.ID] = true
		}
		run.scenarios[m[1]] = checks
	}
	if scenario != "" {
		if _, ok := run.scenarios[scenario]; !ok || len(run.scenarios) != 1 {
			return nil, fmt.Errorf("conformance --scenario %s wrote results for %v:\n%s", scenario, slices.Sorted(maps.Keys(run.scenarios)), run.output)
		}
		return run, nil
	}
	m := conformanceSuiteSize.FindStringSubmatch(run.output)
	if m == nil {
		return nil, fmt.Errorf("conformance did not say how many scenarios it runs:\n%s", run.output)
	}
	if n, _ := strconv.Atoi(m[1]); n != len(run.scenarios) {
		return nil, fmt.Errorf("conformance announced %d scenarios and wrote results for %d:\n%s", n, len(run.scenarios), run.output)
	}
	return run, nil
}

// runConformancePair runs the same conformance invocation against direct and
// proxied at once.
func runConformancePair(npmDir, direct, proxied, scenario string) (d, p *conformanceRun, err error) {
	var wg sync.WaitGroup
	var derr, perr error
	wg.Add(2)
	go func() { defer wg.Done(); d, derr = runConformance(npmDir, direct, scenario) }()
	go func() { defer wg.Done(); p, perr = runConformance(npmDir, proxied, scenario) }()
	wg.Wait()
	return d, p, errors.Join(derr, perr)
}

// conformanceConfirmRounds and conformanceConfirmDirect size the second
// look at a check that passed directly and failed through serve: rounds of
// one run through serve beside conformanceConfirmDirect direct runs at once.
// mcp-go v1.2.1's streamable HTTP server drops, at random, a notification
// sent just before a tool returns (its forwarder takes it off the channel,
// then finds the request done), so tools-call-with-logging and
// tools-call-with-progress pass directly some of the time only. A check
// that fails in any direct run is unstable upstream and says nothing about
// the proxy; one that passes in every direct run (4×3 here, beside the first)
// is stable, and then any failure through serve is a loss.
const (
	conformanceConfirmRounds = 4
	conformanceConfirmDirect = 3
)

// confirmLoss takes the second look at check key; it returns whether the
// check is stable directly, how many of the runs through serve passed it,
// and how many runs there were on each side.
func confirmLoss(npmDir, direct, proxied, key string) (stable bool, proxyPasses, directRuns, proxyRuns int, err error) {
	scenario, _, _ := strings.Cut(key, "/")
	for range conformanceConfirmRounds {
		var wg sync.WaitGroup
		runs := make([]*conformanceRun, conformanceConfirmDirect+1)
		errs := make([]error, len(runs))
		for i := range runs {
			url := direct
			if i == 0 {
				url = proxied
			}
			wg.Add(1)
			go func() { defer wg.Done(); runs[i], errs[i] = runConformance(npmDir, url, scenario) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return false, 0, 0, 0, err
		}
		proxyRuns++
		if runs[0].passed(key) {
			proxyPasses++
		}
		for _, r := range runs[1:] {
			directRuns++
			if !r.passed(key) {
				return false, proxyPasses, directRuns, proxyRuns, nil
			}
		}
	}
	return true, proxyPasses, directRuns, proxyRuns, nil
}

// TestServeE2EConformance runs the conformance server scenarios directly
// against mcp-go's conformance server and through serve in front of it (a
// held warrant granting every tool the server lists), and fails if a check
// that passes directly fails through serve, unless it is a known loss that
// still fails. It logs both pass sets.
func TestServeE2EConformance(t *testing.T) {
	t.Parallel()
	start := time.Now()
	npmDir := npmpeers.Dir(t)
	if _, err := os.Stat(filepath.Join(npmDir, "node_modules", "@modelcontextprotocol", "conformance", "package.json")); err != nil {
		t.Fatalf("@modelcontextprotocol/conformance is not installed in %s (run npm ci there; package-lock.json pins it): %v", npmDir, err)
	}
	direct := startConformanceUpstream(t)
	tools := listTools(t, direct)
	if len(tools) < 10 {
		t.Fatalf("mcp-go's conformance server lists %d tools: %v", len(tools), tools)
	}

	dir := t.TempDir()
	root, agent := newKey(t), newKey(t)
	grant := authz.Grant{Holder: agent.Public(), TTL: 10 * time.Minute, Tools: map[string]authz.ConstraintSet{}}
	for _, name := range tools {
		grant.Tools[name] = authz.ConstraintSet{AllowUnknown: true}
	}
	wt, err := authz.Mint(root, grant, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wf, kf := filepath.Join(dir, "w"), filepath.Join(dir, "k")
	if err := os.WriteFile(wf, []byte(authz.Stack{wt}.Base64()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, []byte(agent.SeedHex()), 0o600); err != nil {
		t.Fatal(err)
	}
	// Each scenario opens a session of its own and none ends it (the SDK
	// client closes without DELETE), so one suite run opens more sessions
	// from 127.0.0.1 than serve's default --max-sessions-per-client (32):
	// the limits are raised for this client, which is one client only in
	// name.
	srv := startServe(t, nil, []string{"--trusted-root", root.Public().Hex(), "--warrant", wf, "--key", kf,
		"--log-level", "warn", "--audit-log", filepath.Join(dir, "audit.log"),
		"--max-sessions", "1024", "--max-sessions-per-client", "1024", "--upstream-url", direct})
	proxied := srv.url + "/mcp"

	d, p, err := runConformancePair(npmDir, direct, proxied, "")
	if err != nil {
		t.Fatal(err)
	}
	suiteTime := time.Since(start)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("conformance, direct:\n%s\nconformance, through serve:\n%s", d.output, p.output)
		}
	})
	if len(d.scenarios) < conformanceMinScenarios || len(d.passes()) < conformanceMinDirectPasses {
		t.Fatalf("the direct run passed %d checks in %d scenarios (want at least %d in %d): the harness is broken",
			len(d.passes()), len(d.scenarios), conformanceMinDirectPasses, conformanceMinScenarios)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(d.scenarios)), slices.Sorted(maps.Keys(p.scenarios))) {
		t.Errorf("scenarios run directly %v and through serve %v differ", slices.Sorted(maps.Keys(d.scenarios)), slices.Sorted(maps.Keys(p.scenarios)))
	}
	t.Logf("tools granted: %v", tools)
	t.Logf("direct: %d of %d checks pass, %d of %d scenarios: %v", len(d.passes()), d.checkCount(), len(d.passedScenarios()), len(d.scenarios), d.passes())
	t.Logf("through serve: %d of %d checks pass, %d of %d scenarios: %v", len(p.passes()), p.checkCount(), len(p.passedScenarios()), len(p.scenarios), p.passes())
	t.Logf("not passed directly: %q", d.misses())
	t.Logf("not passed through serve: %q", p.misses())

	for key, why := range conformanceKnownLosses {
		switch {
		case !d.passed(key):
			c, ok := d.check(key)
			got := "no such check"
			if ok {
				got = strings.TrimSpace(c.Status + " " + c.ErrorMessage)
			}
			t.Errorf("known loss %s (%s) does not pass directly (%s): update conformanceKnownLosses", key, why, got)
		case p.passed(key):
			t.Errorf("known loss %s (%s) passes through serve now: remove it from conformanceKnownLosses", key, why)
		default:
			c, _ := p.check(key)
			t.Logf("known loss %s: %s (through serve: %s %s %s)", key, why, c.Status, c.ErrorMessage, c.compact())
		}
	}
	for _, key := range d.passes() {
		if _, known := conformanceKnownLosses[key]; known || p.passed(key) {
			continue
		}
		c, _ := p.check(key)
		stable, proxyPasses, directRuns, proxyRuns, err := confirmLoss(npmDir, direct, proxied, key)
		switch {
		case err != nil:
			t.Fatal(err)
		case stable:
			t.Errorf("lost through serve: %s passes directly (and in %d more runs) and fails through serve (%s: %s %s; passed %d of %d more runs)",
				key, directRuns, c.Status, c.ErrorMessage, c.compact(), proxyPasses, proxyRuns)
		default:
			t.Logf("not compared: %s failed through serve (%s) and fails directly too in one of %d more runs: the upstream is unstable there", key, c.ErrorMessage, directRuns)
		}
	}
	for _, key := range p.passes() {
		if !d.passed(key) {
			t.Logf("passes through serve and not directly in this run: %s", key)
		}
	}
	t.Logf("both suite runs took %v; the whole test %v", suiteTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
