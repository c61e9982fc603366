package extauthz

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// The load client of BenchmarkCheckServerCPU runs in a child process (this
// test binary again), so that the benchmark process's CPU time is the
// server side's alone.
const (
	loadAddrEnv = "TENUO_EXTAUTHZ_LOAD_ADDR"
	loadReqEnv  = "TENUO_EXTAUTHZ_LOAD_REQUEST"
	loadNEnv    = "TENUO_EXTAUTHZ_LOAD_N"
	loadInFl    = 16
)

func TestMain(m *testing.M) {
	if addr := os.Getenv(loadAddrEnv); addr != "" {
		os.Exit(loadClient(addr))
	}
	os.Exit(m.Run())
}

// loadClient sends N copies of the request with 16 in flight over one
// connection, and prints the wall time of the calls in nanoseconds.
func loadClient(addr string) int {
	b, err := os.ReadFile(os.Getenv(loadReqEnv))
	n, _ := strconv.Atoi(os.Getenv(loadNEnv))
	req := &authv3.CheckRequest{}
	if err != nil || n <= 0 || proto.Unmarshal(b, req) != nil {
		fmt.Fprintln(os.Stderr, "load client: bad request or count", err)
		return 2
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer cc.Close()
	client := authv3.NewAuthorizationClient(cc)
	if resp, err := client.Check(context.Background(), req); err != nil || resp.GetOkResponse() == nil {
		fmt.Fprintln(os.Stderr, "load client: warm-up call not allowed:", resp, err)
		return 1
	}
	var wg sync.WaitGroup
	failed := make(chan error, loadInFl)
	t0 := time.Now()
	for w := range loadInFl {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += loadInFl {
				if resp, err := client.Check(context.Background(), req); err != nil || resp.GetOkResponse() == nil {
					failed <- fmt.Errorf("call %d: %v %v", i, resp, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	select {
	case err := <-failed:
		fmt.Fprintln(os.Stderr, "load client:", err)
		return 1
	default:
	}
	fmt.Println(wall.Nanoseconds())
	return 0
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCheckServerCPU: the gRPC Check service's CPU time per decision
// (an allowed request, warm chain) with 16 in flight from a real gRPC
// client in another process on 127.0.0.1 — everything the server process
// spends: HTTP/2, protobuf, the checker, the decision and its audit line,
// GC — against its baseline in the same run, authz's Check of the same
// call with the chain cached (as BenchmarkCheckWarm), measured the same
// way (getrusage). Reports server-cpu-µs, checkwarm-cpu-µs, their ratio
// and decisions/s.
//
// To tell the transport's share from the decision's, each round also runs
// the same load against a floor server in this process: the same gRPC
// server options, reading each CheckRequest with the service's own reader
// and answering a fixed OK with its own writer, deciding nothing. It
// reports floor-cpu-µs and (server - floor)/checkwarm, the decision's
// cost (checks, enforce, the verify, the audit line, their GC) in warm
// Checks.
func BenchmarkCheckServerCPU(b *testing.B) {
	f := gatewaytest.New(b)
	s := newServer(f)
	l, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	g := grpc.NewServer(ServerOptions(4 << 20)...)
	s.Register(g)
	go g.Serve(l)
	defer g.Stop()
	floorL, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	floor := grpc.NewServer(ServerOptions(4 << 20)...)
	floor.RegisterService(&floorDesc, s)
	go floor.Serve(floorL)
	defer floor.Stop()
	c := gatewaytest.Cases()[0]
	req := envoyRequest(b, f, c, true)
	raw, err := proto.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	reqFile := filepath.Join(b.TempDir(), "check.pb")
	if err := os.WriteFile(reqFile, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	// The baseline: the same call straight to the authorizer, warm.
	sig, err := authz.SignPoP(f.Agent, f.Agents.Leaf().ID, c.Tool, c.Fields, f.Now)
	if err != nil {
		b.Fatal(err)
	}
	areq := &authz.Request{Warrant: f.Agents.Bytes(), Tool: c.Tool, Fields: c.Fields, Signature: sig[:]}
	if d := f.Authorizer.Check(areq); !d.Allowed {
		b.Fatal(d.Denial)
	}

	// Four rounds, each a load run then the baseline: the two share the
	// machine's load as it changes.
	const rounds = 4
	n := max(b.N/rounds, 100)
	var server, floorCPU, warm, wall time.Duration
	load := func(addr string) (cpu, wall time.Duration) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), loadAddrEnv+"="+addr, loadReqEnv+"="+reqFile, loadNEnv+"="+strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		cpu0 := cpuTime(b)
		out, err := cmd.Output()
		cpu = cpuTime(b) - cpu0
		if err != nil {
			b.Fatalf("load client: %v", err)
		}
		wallNs, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			b.Fatalf("load client output %q", out)
		}
		return cpu, time.Duration(wallNs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range rounds {
		cpu, w := load(l.Addr().String())
		server += cpu
		wall += w
		b.StopTimer() // the floor's time and allocations are not the op's
		cpu, _ = load(floorL.Addr().String())
		floorCPU += cpu
		b.StartTimer()
		cpu0 := cpuTime(b)
		for range n {
			if d := f.Authorizer.Check(areq); !d.Allowed || !d.Cached {
				b.Fatal(d.Denial)
			}
		}
		warm += cpuTime(b) - cpu0
	}
	n *= rounds
	b.StopTimer()
	perServer := float64(server.Nanoseconds()) / float64(n) / 1e3
	perFloor := float64(floorCPU.Nanoseconds()) / float64(n) / 1e3
	perWarm := float64(warm.Nanoseconds()) / float64(n) / 1e3
	b.ReportMetric(perServer, "server-cpu-µs")
	b.ReportMetric(perWarm, "checkwarm-cpu-µs")
	b.ReportMetric(perServer/perWarm, "server/checkwarm")
	b.ReportMetric(perFloor, "floor-cpu-µs")
	b.ReportMetric((perServer-perFloor)/perWarm, "decision/checkwarm")
	b.ReportMetric(float64(n)/wall.Seconds(), "decisions/s")
}

// floorDesc is the Authorization service of the floor server: Check reads
// the request as Register's handler does and answers OK, deciding
// nothing.
var floorDesc = grpc.ServiceDesc{
	ServiceName: serviceDesc.ServiceName,
	HandlerType: serviceDesc.HandlerType,
	Metadata:    serviceDesc.Metadata,
	Methods: []grpc.MethodDesc{{MethodName: "Check", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		in := &wireRequest{}
		if err := dec(in); err != nil {
			return nil, err
		}
		a := answer{allowed: true, warrantID: "tnu_wrt_floor", remove: removeWarrantID}
		return &wireResponse{b: a.appendWire(make([]byte, 0, 256))}, nil
	}}},
}

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
