package toolmap

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const gatewayConfig = `version: "1"
tools:
  manage_infrastructure:
    tool: infra
    constraints:
      cluster: {from: path, path: cluster, required: true}
      action: {from: path, path: action, required: true}
      replicas: {from: body, path: spec.replicas, type: integer}
      tenant: {from: header, path: X-Tenant-Id}
      ns: {from: query, path: namespace, default: default, allowed_values: [default, prod]}
  status:
    constraints:
      cluster: {from: path, path: cluster}
routes:
  - pattern: "/api/v1/clusters/{cluster}/{action}"
    method: [POST, PUT]
    tool: manage_infrastructure
  - pattern: "/api/v1/clusters/{cluster}/status"
    tool: status
  - pattern: "/files/{name}"
    tool: status
    constraints:
      cluster: {from: path, path: name}
`

func TestMapHTTP(t *testing.T) {
	c := mustParse(t, gatewayConfig)
	tests := []struct {
		name    string
		method  string
		path    string
		query   url.Values
		header  http.Header
		body    string
		tool    string
		want    map[string]any
		wantErr error
		errHas  string
	}{
		{name: "route with all sources", method: "post", path: "/api/v1/clusters/staging/scale",
			query: url.Values{"namespace": {"prod"}}, header: http.Header{"x-tenant-id": {"acme"}},
			body: `{"spec":{"replicas":5}}`, tool: "infra",
			want: map[string]any{"cluster": "staging", "action": "scale", "replicas": int64(5), "tenant": "acme", "ns": "prod"}},
		{name: "query string in path is ignored", method: "PUT", path: "/api/v1/clusters/a/b?namespace=prod", tool: "infra",
			want: map[string]any{"cluster": "a", "action": "b", "ns": "default"}},
		{name: "literal segment beats parameter", method: "GET", path: "/api/v1/clusters/a/status", tool: "status",
			want: map[string]any{"cluster": "a"}},
		{name: "route constraints override the tool's", method: "GET", path: "/files/a%2Fb", tool: "status",
			want: map[string]any{"cluster": "a/b"}},
		{name: "method not allowed", method: "GET", path: "/api/v1/clusters/a/scale", wantErr: ErrNoRoute, errHas: "allows POST, PUT"},
		{name: "no route", method: "GET", path: "/other", wantErr: ErrNoRoute},
		{name: "empty parameter does not match", method: "POST", path: "/api/v1/clusters//scale", wantErr: ErrNoRoute},
		{name: "trailing slash does not match", method: "GET", path: "/files/a/", wantErr: ErrNoRoute},
		{name: "dot segment", method: "GET", path: "/files/..", wantErr: ErrArguments},
		{name: "escaped dot segment", method: "GET", path: "/files/%2e%2E", wantErr: ErrArguments},
		{name: "bad escape", method: "GET", path: "/files/%zz", wantErr: ErrArguments},
		{name: "relative path", method: "GET", path: "files/a", wantErr: ErrArguments},
		{name: "repeated query parameter", method: "POST", path: "/api/v1/clusters/a/b",
			query: url.Values{"namespace": {"prod", "default"}}, wantErr: ErrField, errHas: "has 2 values"},
		{name: "repeated header across spellings", method: "POST", path: "/api/v1/clusters/a/b",
			header: http.Header{"X-Tenant-Id": {"a"}, "x-tenant-id": {"b"}}, wantErr: ErrField, errHas: "has 2 values"},
		{name: "query key in another case", method: "POST", path: "/api/v1/clusters/a/b",
			query: url.Values{"Namespace": {"kube-system"}}, wantErr: ErrAmbiguousKey, errHas: `query key "Namespace" is not "namespace"`},
		{name: "query not allowed", method: "POST", path: "/api/v1/clusters/a/b",
			query: url.Values{"namespace": {"kube-system"}}, wantErr: ErrField, errHas: "not one of the allowed values"},
		{name: "body type enforced", method: "POST", path: "/api/v1/clusters/a/b", body: `{"spec":{"replicas":"5"}}`,
			wantErr: ErrField, errHas: "want integer"},
		{name: "malformed body", method: "POST", path: "/api/v1/clusters/a/b", body: `{"spec":`, wantErr: ErrArguments},
		{name: "non-JSON body ignored when no rule reads it", method: "GET", path: "/files/x", body: `a=b`, tool: "status",
			want: map[string]any{"cluster": "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.MapHTTP(tc.method, tc.path, tc.query, tc.header, []byte(tc.body))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Tool != tc.tool || !reflect.DeepEqual(m.Fields, tc.want) {
				t.Errorf("got %q %#v, want %q %#v", m.Tool, m.Fields, tc.tool, tc.want)
			}
		})
	}
	var nilc *Config
	if _, err := nilc.MapHTTP("GET", "/", nil, nil, nil); !errors.Is(err, ErrNoRoute) {
		t.Errorf("nil config: %v", err)
	}
}

// TestMapHTTPLookalikeQueryKey: a query key that is not the one a rule
// extracts but that a lenient server would read as it (another letter
// case, '-' or '_' changed or dropped, PHP's '.' and ' ' for '_', a leading
// space, a NUL and anything after it) is refused as ambiguous, alone or
// beside the key: alone, the check would see the default while the server
// acted on the value.
func TestMapHTTPLookalikeQueryKey(t *testing.T) {
	c := mustParse(t, `version: "1"
tools:
  list:
    constraints:
      limit: {from: query, path: limit, default: "10"}
      page_size: {from: query, path: page_size, default: "20"}
      cluster: {from: path, path: cluster}
routes:
  - pattern: "/c/{cluster}/items"
    tool: list
`)
	for _, k := range []string{"LIMIT", "Limit", " limit", "limit\x00x", "li-mit", "li_mit", "li.mit",
		"PAGE_SIZE", "page-size", "pagesize", "page.size", "page size", "Page-Size", "_page_size_"} {
		_, err := c.MapHTTP("GET", "/c/a/items", url.Values{k: {"100000"}}, nil, nil)
		if !errors.Is(err, ErrArguments) || !errors.Is(err, ErrAmbiguousKey) || !strings.Contains(err.Error(), "lenient server") {
			t.Errorf("query key %q alone: %v", k, err)
		}
		_, err = c.MapHTTP("GET", "/c/a/items", url.Values{k: {"100000"}, "limit": {"5"}, "page_size": {"5"}}, nil, nil)
		if !errors.Is(err, ErrAmbiguousKey) {
			t.Errorf("query key %q beside the keys extracted: %v", k, err)
		}
	}
	// The keys themselves, keys no lenient reader takes for them, and a
	// path segment that looks like one are not refused.
	m, err := c.MapHTTP("GET", "/c/LIMIT/items", url.Values{"limit": {"5"}, "page_size": {"7"}, "limits": {"x"}, "offset": {"3"}, "page": {"2"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"limit": "5", "page_size": "7", "cluster": "LIMIT"}; !reflect.DeepEqual(m.Fields, want) {
		t.Fatalf("fields %#v, want %#v", m.Fields, want)
	}
	// Several lookalikes: the message names the least, every time.
	for range 20 {
		_, err := c.MapHTTP("GET", "/c/a/items", url.Values{"Limit": {"1"}, "LIMIT": {"2"}, "lImit": {"3"}}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), `"LIMIT"`) {
			t.Fatalf("several lookalikes: %v", err)
		}
	}
}
