package toolmap

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func FuzzMapCall(f *testing.F) {
	c := mustParse(f, extractConfig)
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"a":1.0}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`,
		`{"items":[{"id":"a"},{"id":"b"}]}`, `{"items":[{"id":"a"},{}]}`, `{"rows":[[1],[2,3]]}`,
		`{"count":1e400}`, `{"count":9223372036854775808}`, `{"kind":"file","people":[{"name":"eve"}]}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`, "{\"a\":\"\xff\"}",
	} {
		f.Add("t", []byte(s))
	}
	f.Add("req", []byte(`{"path":"/x"}`))
	f.Fuzz(func(t *testing.T, tool string, args []byte) {
		for _, cfg := range []*Config{nil, c} {
			m, err := cfg.MapCall(tool, args)
			if err != nil {
				if !errors.Is(err, ErrArguments) && !errors.Is(err, ErrField) && !errors.Is(err, ErrUnknownTool) {
					t.Fatalf("error outside the sentinels: %v", err)
				}
				continue
			}
			if m.Fields == nil || m.Tool == "" {
				t.Fatalf("bad mapping %+v", m)
			}
			for _, v := range m.Fields {
				if !validModel(v) {
					t.Fatalf("value outside the model: %#v", v)
				}
			}
		}
	})
}

func FuzzMapHTTP(f *testing.F) {
	c := mustParse(f, gatewayConfig)
	f.Add("POST", "/api/v1/clusters/a/b", "namespace=prod", []byte(`{"spec":{"replicas":1}}`))
	f.Add("GET", "/files/%2e%2e", "", []byte(nil))
	f.Add("GET", "/api/v1/clusters/a/status?x", "a=1&a=2", []byte(`x`))
	f.Add("GET", "/files/", "", []byte(nil))
	f.Add("POST", "/api/v1/clusters//x", "", []byte(`{}`))
	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte) {
		q, _ := url.ParseQuery(rawQuery)
		_, err := c.MapHTTP(method, path, q, http.Header{"X-Tenant-Id": {"a"}}, body)
		if err != nil && !errors.Is(err, ErrArguments) && !errors.Is(err, ErrField) && !errors.Is(err, ErrNoRoute) {
			t.Fatalf("error outside the sentinels: %v", err)
		}
		// route's segments are those of strings.Split, each unescaped.
		if _, parts, err := c.route(method, path); err == nil {
			p := path
			if i := strings.IndexByte(p, '?'); i >= 0 {
				p = p[:i]
			}
			raw := strings.Split(p[1:], "/")
			want := make([]string, len(raw))
			for i, s := range raw {
				want[i], _ = url.PathUnescape(s)
			}
			if !slices.Equal(parts, want) {
				t.Fatalf("route(%q) segments %q, want %q", path, parts, want)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(mcpConfig))
	f.Add([]byte(gatewayConfig))
	f.Add([]byte(extractConfig))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		_ = c.CheckMCP()
		_, _ = c.MapCall("t", []byte(`{"a":[1,{"b":2}]}`))
	})
}

func validModel(v any) bool {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return true
	case []any:
		for _, e := range x {
			if !validModel(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !validModel(e) {
				return false
			}
		}
		return true
	}
	return false
}
