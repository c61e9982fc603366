package extauthz

import (
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// The gRPC handler reads a CheckRequest, and writes its CheckResponse,
// with the code of this file instead of the generated messages: a Check
// reads a handful of the request's fields, and decoding the whole message
// by reflection (one allocation per header, per string, per submessage)
// and encoding the answer the same way was a tenth of a decision's CPU
// time (BenchmarkCheckServerCPU). The messages plug into gRPC's own proto
// codec through protobuf-go's Marshal/Unmarshal methods, so the service
// runs on any grpc.Server. TestWireRequest and FuzzWireRequest hold the
// reader to the generated decoder's result; TestWireResponse holds the
// writer to the generated encoder.

// Field numbers of the messages read (envoy/service/auth/v3 and
// envoy/config/core/v3).
const (
	fCheckRequestAttributes = 1  // CheckRequest.attributes
	fAttributesRequest      = 4  // AttributeContext.request
	fRequestHTTP            = 2  // AttributeContext.Request.http
	fHTTPID                 = 1  // AttributeContext.HttpRequest.id
	fHTTPMethod             = 2  // .method
	fHTTPHeaders            = 3  // .headers (map<string, string>)
	fHTTPPath               = 4  // .path
	fHTTPHost               = 5  // .host
	fHTTPScheme             = 6  // .scheme
	fHTTPQuery              = 7  // .query
	fHTTPFragment           = 8  // .fragment
	fHTTPProtocol           = 10 // .protocol
	fHTTPBody               = 11 // .body
	fHTTPRawBody            = 12 // .raw_body
	fHTTPHeaderMap          = 13 // .header_map
	fHeaderMapHeaders       = 1  // HeaderMap.headers
	fHeaderValueKey         = 1  // HeaderValue.key
	fHeaderValueValue       = 2  // HeaderValue.value
	fHeaderValueRaw         = 3  // HeaderValue.raw_value
	fMapEntryKey            = 1
	fMapEntryValue          = 2
)

// header is one header of the request as Envoy sent it.
type header struct{ key, value string }

// httpView is what a Check reads of a CheckRequest: its
// attributes.request.http, the values resolved as Check uses them.
type httpView struct {
	ok                     bool  // attributes.request.http is there
	bad                    error // why the message did not decode (denied)
	id, method, path, host string
	headers                []header // the headers map: one per key, sorted by key
	headerMap              []header // header_map in order: raw_value when not empty, else value
	body                   []byte   // raw_body when not empty, else body
}

// span is a field's bytes in the message read: [lo, hi).
type span struct{ lo, hi int }

func (s span) len() int { return s.hi - s.lo }

type wireHeader struct {
	key, value, raw span
}

// wireReader decodes a CheckRequest as protobuf-go's generated code does
// for the fields Check reads: the last value of a repeated scalar field
// wins, a submessage given more than once is merged, a map entry given
// twice keeps the last, a known field with an unexpected wire type is an
// unknown field, and a string field that is not UTF-8 fails the message.
// The other fields are skipped, their wire format checked but not their
// contents (the generated decoder would also reject, say, a peer address
// that is not UTF-8; the decision does not read them).
type wireReader struct {
	b                            []byte
	ok                           bool
	id, method, path, host, body span
	rawBody                      span
	entries                      []wireHeader // the headers map's entries (raw unused)
	headerMap                    []wireHeader
}

var errNotUTF8 = errors.New("extauthz: a string field of the check request is not valid UTF-8")

// fields calls f with each field of the message b[lo:hi]: for a
// length-delimited field, the span of its contents; otherwise the span of
// its value.
func (d *wireReader) fields(lo, hi int, f func(num protowire.Number, typ protowire.Type, v span) error) error {
	for i := lo; i < hi; {
		num, typ, n := protowire.ConsumeTag(d.b[i:hi])
		if n < 0 {
			return protowire.ParseError(n)
		}
		i += n
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(d.b[i:hi])
			if m < 0 {
				return protowire.ParseError(m)
			}
			start := i + m - len(v)
			if err := f(num, typ, span{start, start + len(v)}); err != nil {
				return err
			}
			i += m
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, d.b[i:hi])
		if m < 0 {
			return protowire.ParseError(m)
		}
		if err := f(num, typ, span{i, i + m}); err != nil {
			return err
		}
		i += m
	}
	return nil
}

// str checks that v is UTF-8, as a proto3 string must be.
func (d *wireReader) str(v span) (span, error) {
	if !utf8.Valid(d.b[v.lo:v.hi]) {
		return span{}, errNotUTF8
	}
	return v, nil
}

func (d *wireReader) checkRequest(b []byte) error {
	d.b = b
	return d.fields(0, len(b), func(num protowire.Number, typ protowire.Type, v span) error {
		if num == fCheckRequestAttributes && typ == protowire.BytesType {
			return d.fields(v.lo, v.hi, d.attributes)
		}
		return nil
	})
}

func (d *wireReader) attributes(num protowire.Number, typ protowire.Type, v span) error {
	if num == fAttributesRequest && typ == protowire.BytesType {
		return d.fields(v.lo, v.hi, d.request)
	}
	return nil
}

func (d *wireReader) request(num protowire.Number, typ protowire.Type, v span) error {
	if num == fRequestHTTP && typ == protowire.BytesType {
		d.ok = true
		if n := d.count(v, fHTTPHeaders); n > 0 {
			d.entries = slices.Grow(d.entries, n)
		}
		return d.fields(v.lo, v.hi, d.http)
	}
	return nil
}

// count is how many length-delimited fields num the message v has (0 if it
// does not parse: reading it then fails).
func (d *wireReader) count(v span, num protowire.Number) int {
	n := 0
	if d.fields(v.lo, v.hi, func(m protowire.Number, typ protowire.Type, _ span) error {
		if m == num && typ == protowire.BytesType {
			n++
		}
		return nil
	}) != nil {
		return 0
	}
	return n
}

func (d *wireReader) http(num protowire.Number, typ protowire.Type, v span) error {
	if typ != protowire.BytesType {
		return nil
	}
	var err error
	switch num {
	case fHTTPID:
		d.id, err = d.str(v)
	case fHTTPMethod:
		d.method, err = d.str(v)
	case fHTTPPath:
		d.path, err = d.str(v)
	case fHTTPHost:
		d.host, err = d.str(v)
	case fHTTPBody:
		d.body, err = d.str(v)
	case fHTTPScheme, fHTTPQuery, fHTTPFragment, fHTTPProtocol:
		_, err = d.str(v) // not read, but a string all the same
	case fHTTPRawBody:
		d.rawBody = v
	case fHTTPHeaders:
		var e wireHeader
		err = d.fields(v.lo, v.hi, func(num protowire.Number, typ protowire.Type, v span) error {
			var err error
			switch {
			case typ != protowire.BytesType:
			case num == fMapEntryKey:
				e.key, err = d.str(v)
			case num == fMapEntryValue:
				e.value, err = d.str(v)
			}
			return err
		})
		d.entries = append(d.entries, e)
	case fHTTPHeaderMap:
		if n := d.count(v, fHeaderMapHeaders); n > 0 {
			d.headerMap = slices.Grow(d.headerMap, n)
		}
		err = d.fields(v.lo, v.hi, d.headerMapField)
	}
	return err
}

func (d *wireReader) headerMapField(num protowire.Number, typ protowire.Type, v span) error {
	if num != fHeaderMapHeaders || typ != protowire.BytesType {
		return nil
	}
	var h wireHeader
	err := d.fields(v.lo, v.hi, func(num protowire.Number, typ protowire.Type, v span) error {
		var err error
		switch {
		case typ != protowire.BytesType:
		case num == fHeaderValueKey:
			h.key, err = d.str(v)
		case num == fHeaderValueValue:
			h.value, err = d.str(v)
		case num == fHeaderValueRaw:
			h.raw = v
		}
		return err
	})
	d.headerMap = append(d.headerMap, h)
	return err
}

// view returns what was read, its strings in one allocation and the body
// in another (so that no string kept from the headers keeps a large body).
// The headers' slices are cut from room when they fit in it.
func (d *wireReader) view(room []header) httpView {
	if !d.ok {
		return httpView{}
	}
	// The strings are written in this order, then cut in the same order.
	n := d.id.len() + d.method.len() + d.path.len() + d.host.len()
	for _, e := range d.entries {
		n += e.key.len() + e.value.len()
	}
	for _, h := range d.headerMap {
		n += h.key.len() + d.headerValue(h).len()
	}
	var sb strings.Builder
	sb.Grow(n)
	put := func(s span) { sb.Write(d.b[s.lo:s.hi]) }
	put(d.id)
	put(d.method)
	put(d.path)
	put(d.host)
	for _, e := range d.entries {
		put(e.key)
		put(e.value)
	}
	for _, h := range d.headerMap {
		put(h.key)
		put(d.headerValue(h))
	}
	all, off := sb.String(), 0
	cut := func(s span) string {
		off += s.len()
		return all[off-s.len() : off]
	}
	v := httpView{ok: true}
	v.id = cut(d.id)
	v.method = cut(d.method)
	v.path = cut(d.path)
	v.host = cut(d.host)
	headers := func(n int) []header {
		if n <= len(room) {
			s := room[:n:n]
			room = room[n:]
			return s
		}
		return make([]header, n)
	}
	if len(d.entries) > 0 {
		v.headers = headers(len(d.entries))
		for i, e := range d.entries {
			v.headers[i].key = cut(e.key)
			v.headers[i].value = cut(e.value)
		}
		v.headers = sortedHeaders(v.headers)
	}
	if len(d.headerMap) > 0 {
		v.headerMap = headers(len(d.headerMap))
		for i, h := range d.headerMap {
			v.headerMap[i].key = cut(h.key)
			v.headerMap[i].value = cut(d.headerValue(h))
		}
	}
	body := d.rawBody
	if body.len() == 0 {
		body = d.body
	}
	if body.len() > 0 {
		v.body = slices.Clone(d.b[body.lo:body.hi])
	}
	return v
}

// headerValue is raw_value when it is not empty, else value.
func (d *wireReader) headerValue(h wireHeader) span {
	if h.raw.len() > 0 {
		return h.raw
	}
	return h.value
}

// sortedHeaders sorts a map's entries by key, keeping the last of each key
// (as a map decoded from them does).
func sortedHeaders(hs []header) []header {
	slices.SortStableFunc(hs, func(a, b header) int { return strings.Compare(a.key, b.key) })
	out := hs[:0]
	for i, h := range hs {
		if i+1 < len(hs) && hs[i+1].key == h.key {
			continue // a later entry of the same key wins
		}
		out = append(out, h)
	}
	return out
}

// roomHeaders is how many headers a request has room for in the memory
// it is read into, before more is allocated: Envoy's request to a route
// carries a dozen or so.
const roomHeaders = 16

// wireRequest is a CheckRequest as the gRPC handler reads it. Its methods
// are the ones protobuf-go accepts from messages it did not generate
// (proto.Message of the v1 API, with Unmarshal), which gRPC's proto codec
// calls; the service's own codec (see ServerOptions) calls Unmarshal
// directly.
type wireRequest struct {
	v    httpView
	room [roomHeaders]header // for v's headers, when they fit
}

func (m *wireRequest) Reset()         { *m = wireRequest{} }
func (m *wireRequest) String() string { return "CheckRequest (as extauthz reads it)" }
func (m *wireRequest) ProtoMessage()  {}

// Unmarshal reads b, which it does not keep. A message that does not
// decode where the generated decoder fails too is not an error but a
// request to deny (m.v.bad says why): failing, it would fail the RPC
// (gRPC answers the error itself), which Envoy's failure_mode_allow lets
// through, and Envoy without encode_raw_headers sends a header's bytes as
// they came, UTF-8 or not, in the headers map's strings.
func (m *wireRequest) Unmarshal(b []byte) error {
	m.v = httpView{}
	var d wireReader
	if err := d.checkRequest(b); err != nil {
		m.v.bad = err
		return nil
	}
	m.v = d.view(m.room[:])
	return nil
}

// wireResponse is a CheckResponse as the gRPC handler writes it: the
// answer, encoded once.
type wireResponse struct {
	b []byte
	// What the service's codec hands gRPC: b, without an allocation.
	sb   mem.SliceBuffer
	bufs [1]mem.Buffer
}

func (m *wireResponse) Reset()                   { *m = wireResponse{} }
func (m *wireResponse) String() string           { return "CheckResponse (as extauthz writes it)" }
func (m *wireResponse) ProtoMessage()            {}
func (m *wireResponse) Marshal() ([]byte, error) { return m.b, nil }

// codec is the gRPC codec of ServerOptions: gRPC's proto codec, except that
// it reads a wireRequest and writes a wireResponse itself. Through the
// proto codec, each is wrapped for protobuf-go's legacy-message path (an
// allocation each way), the response's size is asked once and its bytes
// copied again, and a request that arrived in several buffers is copied
// into a pooled one; here the request is read where it lies when it is in
// one buffer, and the response's bytes go out as encoded.
type codec struct{ proto encoding.CodecV2 }

func newCodec() codec {
	c := codec{proto: encoding.GetCodecV2(grpcproto.Name)}
	if c.proto == nil {
		panic("extauthz: gRPC's proto codec is not registered")
	}
	return c
}

func (c codec) Name() string { return grpcproto.Name }

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*wireResponse); ok && m != nil {
		m.sb = m.b
		m.bufs[0] = &m.sb
		return m.bufs[:], nil
	}
	return c.proto.Marshal(v)
}

func (c codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*wireRequest)
	if !ok || m == nil {
		return c.proto.Unmarshal(data, v)
	}
	if len(data) == 1 { // Unmarshal reads all of m.v, as after a Reset
		return m.Unmarshal(data[0].ReadOnlyData())
	}
	return m.Unmarshal(data.Materialize())
}

// Field numbers of the messages written.
const (
	fCheckResponseStatus = 1 // CheckResponse.status (google.rpc.Status)
	fCheckResponseDenied = 2 // .denied_response
	fCheckResponseOK     = 3 // .ok_response
	fStatusCode          = 1 // google.rpc.Status.code
	fStatusMessage       = 2 // .message
	fDeniedStatus        = 1 // DeniedHttpResponse.status (envoy.type.v3.HttpStatus)
	fDeniedHeaders       = 2 // .headers
	fDeniedBody          = 3 // .body
	fHTTPStatusCode      = 1 // HttpStatus.code
	fOKHeaders           = 2 // OkHttpResponse.headers
	fOKHeadersToRemove   = 5 // .headers_to_remove
	fOptionHeader        = 1 // HeaderValueOption.header
	fOptionAppendAction  = 3 // .append_action
	appendOverwrite      = 2 // HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
)

func sizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, num, protowire.BytesType), s)
}

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func appendMessageHeader(b []byte, num protowire.Number, size int) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.BytesType), uint64(size))
}

// sizeOption is the size of a HeaderValueOption of key and value that
// overwrites.
func sizeOption(key, value string) (option, header int) {
	header = sizeString(fHeaderValueKey, key) + sizeString(fHeaderValueValue, value)
	option = protowire.SizeTag(fOptionHeader) + protowire.SizeBytes(header) + sizeVarint(fOptionAppendAction, appendOverwrite)
	return option, header
}

func appendOption(b []byte, num protowire.Number, key, value string) []byte {
	option, header := sizeOption(key, value)
	b = appendMessageHeader(b, num, option)
	b = appendMessageHeader(b, fOptionHeader, header)
	b = appendString(b, fHeaderValueKey, key)
	b = appendString(b, fHeaderValueValue, value)
	return appendVarint(b, fOptionAppendAction, appendOverwrite)
}

// appendWire appends a's CheckResponse in the wire format, as the
// generated encoder writes the message a.proto() returns.
func (a *answer) appendWire(b []byte) []byte {
	status := sizeVarint(fStatusCode, uint64(a.code())) + sizeString(fStatusMessage, a.message)
	b = appendMessageHeader(b, fCheckResponseStatus, status)
	b = appendVarint(b, fStatusCode, uint64(a.code()))
	b = appendString(b, fStatusMessage, a.message)
	if a.allowed {
		size := 0
		if a.warrantID != "" {
			o, _ := sizeOption(lowerWarrantID, a.warrantID)
			size += protowire.SizeTag(fOKHeaders) + protowire.SizeBytes(o)
		}
		for _, h := range a.remove {
			size += protowire.SizeTag(fOKHeadersToRemove) + protowire.SizeBytes(len(h))
		}
		b = appendMessageHeader(b, fCheckResponseOK, size)
		if a.warrantID != "" {
			b = appendOption(b, fOKHeaders, lowerWarrantID, a.warrantID)
		}
		for _, h := range a.remove {
			b = protowire.AppendString(protowire.AppendTag(b, fOKHeadersToRemove, protowire.BytesType), h)
		}
		return b
	}
	httpStatus := sizeVarint(fHTTPStatusCode, uint64(a.status))
	size := protowire.SizeTag(fDeniedStatus) + protowire.SizeBytes(httpStatus)
	if len(a.body) > 0 {
		size += protowire.SizeTag(fDeniedBody) + protowire.SizeBytes(len(a.body))
	}
	for _, h := range a.headers {
		o, _ := sizeOption(h.key, h.value)
		size += protowire.SizeTag(fDeniedHeaders) + protowire.SizeBytes(o)
	}
	b = appendMessageHeader(b, fCheckResponseDenied, size)
	b = appendMessageHeader(b, fDeniedStatus, httpStatus)
	b = appendVarint(b, fHTTPStatusCode, uint64(a.status))
	for _, h := range a.headers {
		b = appendOption(b, fDeniedHeaders, h.key, h.value)
	}
	if len(a.body) > 0 {
		b = protowire.AppendBytes(protowire.AppendTag(b, fDeniedBody, protowire.BytesType), a.body)
	}
	return b
}
