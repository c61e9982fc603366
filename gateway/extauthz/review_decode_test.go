package extauthz

import (
	"net"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// rawCodec sends a []byte as the message and reads the answer's bytes: a
// client that can send what protobuf-go's encoder would refuse to.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}

// TestCheckUndecodable: a CheckRequest that does not decode — a header
// value that is not UTF-8 in the headers map, which Envoy without
// encode_raw_headers fills with a header's bytes as they came (obs-text) —
// is answered as a denial (PERMISSION_DENIED, 400), in audit mode too,
// never with an RPC error: Envoy lets a request through on an error when
// failure_mode_allow is set.
func TestCheckUndecodable(t *testing.T) {
	f := gatewaytest.New(t)
	f.Point.AuditMode = true
	app := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	entry := func(k, v string) []byte { return app(app(nil, 1, []byte(k)), 2, []byte(v)) }
	http := app(app(nil, fHTTPMethod, []byte("GET")), fHTTPPath, []byte("/files?path=/data/a"))
	msgs := map[string][]byte{
		"header value not UTF-8": app(nil, 1, app(nil, 4, app(nil, 2, app(http, fHTTPHeaders, entry("x-tenant-id", "acme\xff"))))),
		"path not UTF-8":         app(nil, 1, app(nil, 4, app(nil, 2, app(nil, fHTTPPath, []byte("/files\xff"))))),
		"truncated":              app(nil, 1, app(nil, 4, app(nil, 2, http)))[:10],
	}
	for name, opts := range map[string][]grpc.ServerOption{"defaults": nil, "ServerOptions": ServerOptions(1 << 20)} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		g := grpc.NewServer(opts...)
		newServer(f).Register(g)
		go g.Serve(l)
		t.Cleanup(g.Stop)
		cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		for what, msg := range msgs {
			var out []byte
			err := cc.Invoke(t.Context(), "/envoy.service.auth.v3.Authorization/Check", &msg, &out, grpc.ForceCodecV2(rawCodec{}))
			if err != nil {
				t.Errorf("%s, %s: an RPC error (%v), not a denial", name, what, err)
				continue
			}
			var resp authv3.CheckResponse
			if err := proto.Unmarshal(out, &resp); err != nil {
				t.Fatalf("%s, %s: %v", name, what, err)
			}
			if d := resp.GetDeniedResponse(); resp.GetStatus().GetCode() != int32(codes.PermissionDenied) || d.GetStatus().GetCode() != 400 {
				t.Errorf("%s, %s: %v", name, what, &resp)
			}
		}
	}
}
