package value

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts is JSON
// that encoding/json accepts and reads the same way, and that a parsed value
// written back out with encoding/json parses to an equal value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"limit":1,"note":null,"path":"/data/ok"}`,
		`{"a":1,"\u0061":2}`,
		`{"meta":{"a":[1,2.5,-0.0,1e2,"x",true,false,null,{}]}}`,
		`{"n":9223372036854775807,"m":-9223372036854775808}`,
		`{"n":9223372036854775808}`,
		`{"n":9223372036854775808.0,"m":1e300,"k":1e-400}`,
		`{"n":1e400}`,
		`{"s":"\ud83d\ude00\u00e9\n\"\\\/"}`,
		`{"s":"\ud800"}`,
		"{\"s\":\"\xff\"}",
		`[]`, `null`, `{}{}`, `{"a":1,}`, ` {"a" : [ ] } `,
		nest(8, "0"), nest(9, "0"),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameFailure(t, data)
		got, err := Parse(data, DefaultLimits)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if e.Offset < 0 || e.Offset > len(data) {
				t.Fatalf("offset %d outside input of %d bytes: %v", e.Offset, len(data), err)
			}
			return
		}
		if got == nil {
			t.Fatalf("nil map without error")
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which encoding/json says is not JSON", data)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var std any
		if err := dec.Decode(&std); err != nil {
			t.Fatalf("encoding/json cannot decode accepted %q: %v", data, err)
		}
		if msg := sameAsStd(got, std); msg != "" {
			t.Fatalf("encoding/json reads %q differently: %s", data, msg)
		}

		out, err := json.Marshal(forMarshal(got))
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		again, err := Parse(out, Limits{MaxBytes: 1 << 30, MaxStringBytes: 1 << 30, MaxTotalStringBytes: 1 << 30})
		if err != nil {
			t.Fatalf("re-parse of %s (from %q): %v", out, data, err)
		}
		if !equal(got, again) {
			t.Fatalf("round trip changed the value: %#v → %s → %#v", got, out, again)
		}
	})
}

// forMarshal prepares v for encoding/json: a float64 is written in exponent
// form so that it reads back as a float (encoding/json writes 1e19 as
// 10000000000000000000, which is an integer literal out of int64 range).
func forMarshal(v any) any {
	switch x := v.(type) {
	case float64:
		return json.Number(strconv.FormatFloat(x, 'e', -1, 64))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = forMarshal(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = forMarshal(e)
		}
		return out
	}
	return v
}

// sameAsStd compares our value with encoding/json's (decoded with UseNumber)
// and describes the first difference, or returns "".
func sameAsStd(ours, std any) string {
	switch x := ours.(type) {
	case int64, float64:
		n, ok := std.(json.Number)
		if !ok {
			return "number vs " + typeOf(std)
		}
		s := n.String()
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ours != any(i) {
				return "integer " + s
			}
			return ""
		}
		fl, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "float " + s + ": " + err.Error()
		}
		switch y := x.(type) {
		case int64:
			if fl != float64(y) || fl != math.Trunc(fl) {
				return "integral float " + s
			}
		case float64:
			if fl != y {
				return "float " + s
			}
		}
		return ""
	case []any:
		y, ok := std.([]any)
		if !ok || len(x) != len(y) {
			return "array vs " + typeOf(std)
		}
		for i := range x {
			if m := sameAsStd(x[i], y[i]); m != "" {
				return "[" + strconv.Itoa(i) + "]: " + m
			}
		}
		return ""
	case map[string]any:
		y, ok := std.(map[string]any)
		if !ok || len(x) != len(y) {
			return "object vs " + typeOf(std)
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok {
				return "key " + strconv.Quote(k) + " missing"
			}
			if m := sameAsStd(v, w); m != "" {
				return strconv.Quote(k) + ": " + m
			}
		}
		return ""
	}
	if ours != std {
		return "scalar " + typeOf(ours) + " vs " + typeOf(std)
	}
	return ""
}

func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "other"
}

// sameFailure checks the fast path against the tracking parse: Parse keeps
// no path while it parses and, on failure, parses again with tracking to
// name where (retrace). Both must fail on the same inputs, at the same
// offset, of the same kind, with the same message, and ParseAny must fail
// where Parse does on objects (its messages say "value" for "object").
func sameFailure(t *testing.T, data []byte) {
	t.Helper()
	lim := DefaultLimits.normalized()
	fast := parser{data: data, lim: lim}
	_, e1 := fast.document(true, map[string]any{})
	slow := parser{data: data, lim: lim, track: true}
	_, e2 := slow.document(true, nil)
	if (e1 == nil) != (e2 == nil) {
		t.Fatalf("%q: fast parse error %v, tracking parse error %v", data, e1, e2)
	}
	if e1 != nil {
		f, s := e1.(*Error), e2.(*Error)
		if f.Offset != s.Offset || f.Err != s.Err || f.Msg != s.Msg {
			t.Fatalf("%q: fast parse failed with %v at %d, tracking parse with %v at %d", data, f, f.Offset, s, s.Offset)
		}
		if err := ParseInto(map[string]any{}, data, DefaultLimits); err.Error() != s.Error() {
			t.Fatalf("%q: ParseInto says %v, the tracking parse %v", data, err, s)
		}
	}
	if rest := bytes.TrimLeft(data, " \t\r\n"); len(rest) > 0 && rest[0] == '{' {
		_, ea := ParseAny(data, DefaultLimits)
		_, eo := Parse(data, DefaultLimits)
		if (ea == nil) != (eo == nil) {
			t.Fatalf("%q: ParseAny says %v, Parse %v", data, ea, eo)
		}
		if ea != nil {
			a, o := ea.(*Error), eo.(*Error)
			if a.Offset != o.Offset || a.Err != o.Err || a.Path != o.Path {
				t.Fatalf("%q: ParseAny says %v, Parse %v", data, ea, eo)
			}
		}
	}
}
