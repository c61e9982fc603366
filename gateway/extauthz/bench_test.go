package extauthz

import (
	"context"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// BenchmarkCheckGRPC: one allowed Check with a warm chain, over a real
// gRPC connection on 127.0.0.1 (client and server CPU in one process);
// compare with authz's BenchmarkCheckWarm. The Parallel variant keeps 16
// in flight (decisions/s = 1e9 / ns/op).
func BenchmarkCheckGRPC(b *testing.B) {
	f := gatewaytest.New(b)
	client := serve(b, newServer(f))
	req := envoyRequest(b, f, gatewaytest.Cases()[0], true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := client.Check(context.Background(), req)
		if err != nil || resp.GetOkResponse() == nil {
			b.Fatal(resp, err)
		}
	}
}

func BenchmarkCheckGRPCParallel16(b *testing.B) {
	f := gatewaytest.New(b)
	client := serve(b, newServer(f))
	req := envoyRequest(b, f, gatewaytest.Cases()[0], true)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Check(context.Background(), req)
			if err != nil || resp.GetOkResponse() == nil {
				b.Fatal(resp, err)
			}
		}
	})
}

// BenchmarkCheckInProcess: the same decision without the gRPC transport.
func BenchmarkCheckInProcess(b *testing.B) {
	f := gatewaytest.New(b)
	s := newServer(f)
	req := envoyRequest(b, f, gatewaytest.Cases()[0], true)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if resp, _ := s.Check(context.Background(), req); resp.GetOkResponse() == nil {
			b.Fatal(resp)
		}
	}
}
