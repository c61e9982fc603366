package extauthz

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tenuo-mcp/tenuo-mcp/gateway/gatewaytest"
)

// wireCases are CheckRequests in the wire format: every case of the
// gateways' table in both of Envoy's encodings, and messages Envoy does
// not send but a reader must take as the generated decoder does.
func wireCases(t testing.TB) map[string][]byte {
	t.Helper()
	f := gatewaytest.New(t)
	out := map[string][]byte{}
	mustMarshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := gatewaytest.Cases()
	for i, c := range cases {
		for _, raw := range []bool{false, true} {
			b := mustMarshal(envoyRequest(t, f, c, raw))
			out[fmt.Sprintf("%s/raw=%v", c.Name, raw)] = b
			// Two messages one after the other are one, merged: each
			// field given twice (the last scalar wins, repeated fields and
			// maps add up).
			next := mustMarshal(envoyRequest(t, f, cases[(i+1)%len(cases)], !raw))
			out[fmt.Sprintf("%s/raw=%v+next", c.Name, raw)] = append(slices.Clone(b), next...)
		}
	}
	hr := func(h *authv3.AttributeContext_HttpRequest) []byte {
		return mustMarshal(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: h}}})
	}
	out["empty"] = nil
	out["no http"] = mustMarshal(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}})
	out["empty http"] = hr(&authv3.AttributeContext_HttpRequest{})
	out["the other fields"] = mustMarshal(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:            &authv3.AttributeContext_Peer{Principal: "spiffe://x", Labels: map[string]string{"a": "b"}},
		ContextExtensions: map[string]string{"k": "v"},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: "GET", Path: "/files?path=/data/a", Scheme: "https", Query: "path=/data/a", Fragment: "f", Size: 12,
			Protocol: "HTTP/2", Headers: map[string]string{"x-tenant-id": "acme", "X-Tenant-Id": "other", ":authority": "h"}}}}})
	out["header map, value and raw value"] = hr(&authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/x",
		HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "x-a", Value: "v", RawValue: []byte("raw")}, {Key: "x-a", Value: "second"}, {Key: "x-b", RawValue: []byte("caf\xe9")}, {}}}})
	out["both bodies"] = hr(&authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/x", Body: "text", RawBody: []byte("raw")})
	out["string body"] = hr(&authv3.AttributeContext_HttpRequest{Method: "POST", Path: "/x", Body: "text"})

	// Hand-made: a map entry given twice, keys missing, wire types that do
	// not match the field (an unknown field then), groups, bad UTF-8.
	app := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	str := func(b []byte, num protowire.Number, s string) []byte { return app(b, num, []byte(s)) }
	wrap := func(http []byte) []byte { return app(nil, 1, app(nil, 4, app(nil, 2, http))) }
	entry := func(k, v string) []byte { return str(str(nil, 1, k), 2, v) }
	var h []byte
	h = str(h, fHTTPMethod, "GET")
	h = str(h, fHTTPPath, "/files?path=/data/a")
	h = app(h, fHTTPHeaders, entry("x-tenant-id", "first"))
	h = app(h, fHTTPHeaders, entry("x-tenant-id", "second"))
	h = app(h, fHTTPHeaders, str(nil, 2, "no key"))
	h = app(h, fHTTPHeaders, str(nil, 1, "no-value"))
	h = app(h, fHTTPHeaders, protowire.AppendVarint(protowire.AppendTag(str(nil, 1, "k"), 2, protowire.VarintType), 7))
	h = protowire.AppendVarint(protowire.AppendTag(h, fHTTPHost, protowire.VarintType), 5) // host as a varint: unknown
	h = protowire.AppendTag(h, fHTTPHeaderMap, protowire.StartGroupType)                   // header_map as a group: unknown
	h = protowire.AppendTag(str(h, 1, "x"), fHTTPHeaderMap, protowire.EndGroupType)
	h = protowire.AppendFixed32(protowire.AppendTag(h, 99, protowire.Fixed32Type), 1)
	h = protowire.AppendFixed64(protowire.AppendTag(h, 98, protowire.Fixed64Type), 1)
	out["hand-made"] = wrap(h)
	out["bad UTF-8 in the path"] = wrap(str(nil, fHTTPPath, "/\xff"))
	out["bad UTF-8 in scheme"] = wrap(str(nil, fHTTPScheme, "\xff"))
	out["bad UTF-8 in a map key"] = wrap(app(nil, fHTTPHeaders, entry("\xff", "v")))
	out["bad UTF-8 in a header value"] = wrap(app(nil, fHTTPHeaderMap, app(nil, 1, str(nil, 2, "\xff"))))
	out["bad UTF-8 in a raw value"] = wrap(app(nil, fHTTPHeaderMap, app(nil, 1, str(str(nil, 1, "k"), 3, "\xff"))))
	out["truncated"] = wrap(h)[:20]
	out["field 0"] = wrap(str(nil, 0, "x"))
	out["end group alone"] = protowire.AppendTag(nil, 5, protowire.EndGroupType)
	out["wire type 6"] = wrap(protowire.AppendTag(nil, 3, 6))
	out["bad length"] = wrap([]byte{byte(fHTTPPath<<3 | 2), 0x7f, '/'})
	return out
}

// readBoth reads b with the wire reader and with the generated decoder.
func readBoth(b []byte) (wire httpView, werr error, gen httpView, gerr error) {
	var m wireRequest
	werr = proto.Unmarshal(b, protoadapt.MessageV2Of(&m)) // through protobuf-go, as gRPC's codec calls it
	if werr == nil {
		werr = m.v.bad // not an RPC error, but a request denied
	}
	var req authv3.CheckRequest
	if gerr = proto.Unmarshal(b, &req); gerr == nil {
		gen = viewOf(req.GetAttributes().GetRequest().GetHttp())
	}
	return m.v, werr, gen, gerr
}

// TestWireRequest: the wire reader reads what the generated decoder does,
// and fails where it fails.
func TestWireRequest(t *testing.T) {
	wantErr := map[string]bool{"bad UTF-8 in the path": true, "bad UTF-8 in scheme": true, "bad UTF-8 in a map key": true,
		"bad UTF-8 in a header value": true, "truncated": true, "field 0": true, "end group alone": true, "wire type 6": true, "bad length": true}
	for name, b := range wireCases(t) {
		wire, werr, gen, gerr := readBoth(b)
		if (werr != nil) != wantErr[name] || (gerr != nil) != wantErr[name] {
			t.Errorf("%s: wire reader %v, generated decoder %v, want an error: %v", name, werr, gerr, wantErr[name])
			continue
		}
		if werr == nil && !reflect.DeepEqual(wire, gen) {
			t.Errorf("%s:\n wire      %+v\n generated %+v", name, wire, gen)
		}
	}
	// The hand-made message, read as written.
	wire, _, _, _ := readBoth(wireCases(t)["hand-made"])
	want := []header{{"", "no key"}, {"k", ""}, {"no-value", ""}, {"x-tenant-id", "second"}}
	if !reflect.DeepEqual(wire.headers, want) || wire.host != "" || wire.headerMap != nil {
		t.Errorf("hand-made: %+v", wire)
	}
}

// FuzzWireRequest: on any bytes, the wire reader fails only where the
// generated decoder fails, and where that succeeds reads the same. (It
// may succeed where the generated decoder fails: it does not look inside
// the fields the decision does not read.)
func FuzzWireRequest(f *testing.F) {
	// The seeds: the small ones (the fuzzer grows them; every seed is run
	// first, under coverage, each time).
	for _, b := range wireCases(f) {
		if len(b) < 1500 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		wire, werr, gen, gerr := readBoth(b)
		switch {
		case werr != nil && gerr == nil:
			t.Fatalf("wire reader fails (%v), generated decoder reads %+v", werr, gen)
		case gerr == nil && !reflect.DeepEqual(wire, gen):
			t.Fatalf("\n wire      %+v\n generated %+v", wire, gen)
		}
	})
}

// TestWireResponse: the wire writer's CheckResponse is the generated
// message's.
func TestWireResponse(t *testing.T) {
	f := gatewaytest.New(t)
	s := newServer(f)
	answers := map[string]answer{
		"allowed":                   {allowed: true, warrantID: "tnu_wrt_1", remove: s.names.Load().remove},
		"allowed, no warrant id":    {allowed: true, remove: s.names.Load().removeID},
		"allowed, credentials kept": {allowed: true, warrantID: "tnu_wrt_1"},
		"allowed, nothing":          {allowed: true},
		"denied":                    deniedAnswer(403, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}, []byte(`{"authorized":false}`), "Forbidden"),
		"denied, empty":             {status: 400},
	}
	for _, c := range gatewaytest.Cases() {
		v := viewOf(envoyRequest(t, f, c, true).Attributes.Request.Http)
		answers["case "+c.Name] = s.decide(t.Context(), &v, &call{})
	}
	for name, a := range answers {
		var got authv3.CheckResponse
		if err := proto.Unmarshal(a.appendWire(nil), &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := a.proto(); !proto.Equal(&got, want) {
			t.Errorf("%s:\n wire      %v\n generated %v", name, &got, want)
		}
	}
}

// TestRequestView: the request the checker routes is the request Envoy
// describes, exactly as net/http's server reads the same request from the
// wire (method, path, raw path, query, target, host, headers, body), from
// either of Envoy's encodings, read by the wire reader or the generated
// decoder.
func TestRequestView(t *testing.T) {
	f := gatewaytest.New(t)
	names := newHeaderNames(s0creds())
	cases := gatewaytest.Cases()
	cases = append(cases,
		gatewaytest.Case{Name: "headers of every case", Method: "PATCH", Target: "/a/%7Eb/c%3Fd?x=1&y=%20&x=2",
			Header: map[string]string{"Content-Type": "text/plain", "X-Custom-Header": "v1", "accept": "*/*", "X-Envoy-Auth-Partial-Body": "true"}, Body: "hello"},
		gatewaytest.Case{Name: "no query, trailing slash", Method: "OPTIONS", Target: "/x/"},
		gatewaytest.Case{Name: "more headers than there is room for", Method: "GET", Target: "/many", Header: manyHeaders(3 * roomHeaders)},
	)
	for _, c := range cases {
		for _, raw := range []bool{false, true} {
			req := envoyRequest(t, f, c, raw)
			b, err := proto.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			wire, werr, gen, gerr := readBoth(b)
			if werr != nil || gerr != nil {
				t.Fatal(werr, gerr)
			}
			for which, v := range map[string]httpView{"wire": wire, "generated": gen} {
				want := wireRequestOf(t, req.Attributes.Request.Http)
				r, err := v.requestInto(&http.Request{}, make([]string, roomHeaders), names.canonical)
				if err != nil {
					t.Fatalf("%s/raw=%v/%s: %v", c.Name, raw, which, err)
				}
				if d := requestDiff(r, want); d != "" {
					t.Errorf("%s/raw=%v/%s: %s", c.Name, raw, which, d)
				}
			}
		}
	}
}

// TestRequestViewRepeated: header_map's repeated headers stay apart, in
// order, as net/http reads repeated header lines, and do not share their
// values' array.
func TestRequestViewRepeated(t *testing.T) {
	v := httpView{ok: true, method: "GET", path: "/x", headerMap: []header{
		{":authority", "h.example"}, {"x-a", "1"}, {"x-b", "2"}, {"x-a", "3"}, {"X-A", "4"}, {"x-c", "5"}}}
	r, err := v.request(newHeaderNames(s0creds()).canonical)
	if err != nil {
		t.Fatal(err)
	}
	want, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET /x HTTP/1.1\r\nHost: h.example\r\nx-a: 1\r\nx-b: 2\r\nx-a: 3\r\nX-A: 4\r\nx-c: 5\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if d := requestDiff(r, want); d != "" {
		t.Fatal(d)
	}
	r.Header["X-B"] = append(r.Header["X-B"], "appended")
	if r.Header.Get("X-C") != "5" || len(r.Header["X-A"]) != 3 {
		t.Fatalf("an append changed another header: %v", r.Header)
	}
}

func s0creds() [3]string { return [3]string{"X-Tenuo-Warrant", "X-Tenuo-PoP", "X-Tenuo-Approvals"} }

// wireRequestOf is h sent over HTTP/1.1 and read by net/http's server.
func wireRequestOf(t *testing.T, h *authv3.AttributeContext_HttpRequest) *http.Request {
	t.Helper()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", h.Method, h.Path, h.Host)
	if hm := h.GetHeaderMap(); hm != nil {
		for _, hv := range hm.Headers {
			if !strings.HasPrefix(hv.Key, ":") {
				fmt.Fprintf(&b, "%s: %s\r\n", hv.Key, hv.RawValue)
			}
		}
	} else {
		// A value of the headers map is its header's lines joined with
		// ",": it is read as those lines.
		for k, v := range h.Headers {
			if !strings.HasPrefix(k, ":") {
				for line := range strings.SplitSeq(v, ",") {
					fmt.Fprintf(&b, "%s: %s\r\n", k, line)
				}
			}
		}
	}
	b.WriteString("\r\n")
	b.Write(h.RawBody)
	b.WriteString(h.Body)
	r, err := http.ReadRequest(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// requestDiff says how got differs from want in what routing and the
// checks read.
func requestDiff(got, want *http.Request) string {
	var d []string
	cmp := func(what string, g, w any) {
		if !reflect.DeepEqual(g, w) {
			d = append(d, fmt.Sprintf("%s %.200q, want %.200q", what, fmt.Sprint(g), fmt.Sprint(w)))
		}
	}
	cmp("method", got.Method, want.Method)
	cmp("URL", *got.URL, *want.URL)
	cmp("escaped path", got.URL.EscapedPath(), want.URL.EscapedPath())
	cmp("request URI", got.RequestURI, want.RequestURI)
	cmp("host", got.Host, want.Host)
	cmp("header", got.Header, want.Header)
	cmp("content length", got.ContentLength, want.ContentLength)
	cmp("proto", [3]any{got.Proto, got.ProtoMajor, got.ProtoMinor}, [3]any{want.Proto, want.ProtoMajor, want.ProtoMinor})
	body := func(r *http.Request) string {
		if r.Body == nil || r.Body == http.NoBody {
			return ""
		}
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	cmp("body", body(got), body(want))
	return strings.Join(d, "; ")
}

func manyHeaders(n int) map[string]string {
	h := map[string]string{}
	for i := range n {
		h[fmt.Sprintf("X-Many-%d", i)] = fmt.Sprint(i)
	}
	return h
}

// TestCodec: the service's codec reads a CheckRequest as the wire reader
// does through gRPC's proto codec, whether it arrives in one buffer or
// several, writes the answer's bytes as encoded, and hands every other
// message to the proto codec.
func TestCodec(t *testing.T) {
	f := gatewaytest.New(t)
	c := newCodec()
	for name, b := range wireCases(t) {
		want, werr, _, _ := readBoth(b)
		splits := []mem.BufferSlice{{mem.SliceBuffer(b)}}
		if len(b) >= 3 {
			splits = append(splits, mem.BufferSlice{mem.SliceBuffer(b[:1]), mem.SliceBuffer(b[1 : len(b)/2]), mem.SliceBuffer(b[len(b)/2:])})
		}
		for _, data := range splits {
			m := &wireRequest{v: httpView{ok: true, path: "/left over"}}
			err := c.Unmarshal(data, m)
			if err == nil {
				err = m.v.bad // a request denied
			}
			if (err != nil) != (werr != nil) || err == nil && !reflect.DeepEqual(m.v, want) {
				t.Errorf("%s in %d buffers: %+v %v, want %+v %v", name, len(data), m.v, err, want, werr)
			}
		}
	}
	out := &wireResponse{b: []byte("answer")}
	data, err := c.Marshal(out)
	if err != nil || string(data.Materialize()) != "answer" {
		t.Fatalf("Marshal: %q %v", data.Materialize(), err)
	}
	data.Free()
	req := envoyRequest(t, f, gatewaytest.Cases()[0], true)
	data, err = c.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var back authv3.CheckRequest
	if err := c.Unmarshal(data, &back); err != nil || !proto.Equal(&back, req) {
		t.Fatalf("a generated message through the codec: %v %v", &back, err)
	}
	if c.Name() != "proto" {
		t.Fatalf("name %q", c.Name())
	}
}
