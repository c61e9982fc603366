package extauthz

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestWireRequestEncodings: encodings an attacker with a gRPC client (or a
// proxy other than Envoy) could send, read by the wire reader as the
// generated decoder reads them: where the decoder fails the reader may
// succeed (it does not look inside fields the decision does not read), but
// where both succeed they see one method, path, host, header set and body.
func TestWireRequestEncodings(t *testing.T) {
	app := func(b []byte, num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
	}
	str := func(b []byte, num protowire.Number, s string) []byte { return app(b, num, []byte(s)) }
	wrap := func(http []byte) []byte { return app(nil, 1, app(nil, 4, app(nil, 2, http))) }
	entry := func(k, v string) []byte { return str(str(nil, 1, k), 2, v) }
	// overlong writes a length-delimited field whose tag and length are
	// varints padded to n bytes.
	overlong := func(b []byte, num protowire.Number, v []byte, n int) []byte {
		pad := func(b []byte, x uint64) []byte {
			for i := 0; i < n-1; i++ {
				b = append(b, byte(x&0x7f)|0x80)
				x >>= 7
			}
			return append(b, byte(x))
		}
		b = pad(b, uint64(num)<<3|uint64(protowire.BytesType))
		return append(pad(b, uint64(len(v))), v...)
	}
	group := func(b []byte, num protowire.Number, inner []byte) []byte {
		b = append(protowire.AppendTag(b, num, protowire.StartGroupType), inner...)
		return protowire.AppendTag(b, num, protowire.EndGroupType)
	}
	base := str(str(nil, fHTTPMethod, "GET"), fHTTPPath, "/files?path=/data/a")
	cases := map[string][]byte{
		"overlong tag and length":           wrap(overlong(str(nil, fHTTPMethod, "GET"), fHTTPPath, []byte("/admin"), 5)),
		"overlong tags all the way down":    overlong(nil, 1, overlong(nil, 4, overlong(nil, 2, overlong(nil, fHTTPPath, []byte("/x"), 10), 10), 10), 10),
		"path inside a group":               wrap(group(base, 20, str(nil, fHTTPPath, "/admin"))),
		"path inside a group of field 4":    wrap(group(base, fHTTPPath, str(nil, fHTTPPath, "/admin"))),
		"header inside a group":             wrap(group(base, 21, app(nil, fHTTPHeaders, entry("x-tenant-id", "evil")))),
		"http twice, map then header_map":   append(wrap(app(base, fHTTPHeaders, entry("x-a", "1"))), wrap(app(nil, fHTTPHeaderMap, app(nil, 1, str(str(nil, 1, "x-a"), 3, "2"))))...),
		"attributes twice, path then empty": append(wrap(base), wrap(str(nil, fHTTPPath, ""))...),
		"request twice, no http second":     append(wrap(base), app(nil, 1, app(nil, 4, str(nil, 9, "unknown")))...),
		"key twice in one map entry":        wrap(app(base, fHTTPHeaders, str(entry("x-tenant-id", "v"), 1, "x-other"))),
		"value twice in one map entry":      wrap(app(base, fHTTPHeaders, str(entry("x-tenant-id", "v"), 2, "w"))),
		"map entry with a group":            wrap(app(base, fHTTPHeaders, group(entry("k", "v"), 1, str(nil, 2, "x")))),
		"raw body then empty raw body":      wrap(app(app(str(base, fHTTPBody, "text"), fHTTPRawBody, []byte("raw")), fHTTPRawBody, nil)),
		"field number past the largest":     wrap(str(base, protowire.MaxValidNumber+1, "x")),
		"field number the largest":          wrap(str(base, protowire.MaxValidNumber, "x")),
		"header_map value then raw":         wrap(app(base, fHTTPHeaderMap, app(nil, 1, str(str(str(nil, 3, "raw"), 1, "x-a"), 2, "v")))),
		"empty header_map entry":            wrap(app(base, fHTTPHeaderMap, app(nil, 1, nil))),
		"method as fixed64":                 wrap(protowire.AppendFixed64(protowire.AppendTag(base, fHTTPMethod, protowire.Fixed64Type), 7)),
		"truncated group":                   wrap(protowire.AppendTag(base, 20, protowire.StartGroupType)),
		"mismatched end group":              wrap(protowire.AppendTag(protowire.AppendTag(base, 20, protowire.StartGroupType), 21, protowire.EndGroupType)),
		"ten-byte varint past 64 bits":      wrap(append(protowire.AppendTag(base, 30, protowire.VarintType), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)),
		"huge length":                       wrap(append(protowire.AppendTag(base, fHTTPPath, protowire.BytesType), 0xff, 0xff, 0xff, 0xff, 0x0f)),
	}
	// The decoder refuses these; the others it reads, and the reader must
	// read the same.
	refused := map[string]bool{"field number past the largest": true, "truncated group": true,
		"mismatched end group": true, "ten-byte varint past 64 bits": true, "huge length": true}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			wire, werr, gen, gerr := readBoth(b)
			if (gerr != nil) != refused[name] {
				t.Fatalf("generated decoder: %v, want an error: %v", gerr, refused[name])
			}
			switch {
			case werr != nil && gerr == nil:
				t.Fatalf("wire reader fails (%v), generated decoder reads %+v", werr, gen)
			case gerr == nil && !reflect.DeepEqual(wire, gen):
				t.Fatalf("\n wire      %+v\n generated %+v", wire, gen)
			}
		})
	}
}
