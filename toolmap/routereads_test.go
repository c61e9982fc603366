package toolmap

import (
	"errors"
	"reflect"
	"testing"
)

func TestRouteReads(t *testing.T) {
	c := mustParse(t, gatewayConfig)
	tests := []struct {
		method, path string
		want         Reads
		err          error
	}{
		{"POST", "/api/v1/clusters/a/scale", Reads{Path: true, Query: true, Header: true, Body: true, BodyKeys: []string{"spec"}, QueryKeys: []string{"namespace"}}, nil},
		{"GET", "/api/v1/clusters/a/status", Reads{Path: true}, nil},
		{"GET", "/files/x", Reads{Path: true}, nil},
		{"GET", "/api/v1/clusters/a/scale", Reads{}, ErrNoRoute},
		{"GET", "/nowhere", Reads{}, ErrNoRoute},
		{"GET", "/files/..", Reads{}, ErrArguments},
	}
	for _, tc := range tests {
		got, err := c.RouteReads(tc.method, tc.path)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s %s: error %v, want %v", tc.method, tc.path, err, tc.err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s: %+v, want %+v", tc.method, tc.path, got, tc.want)
		}
	}
	var nilConfig *Config
	if _, err := nilConfig.RouteReads("GET", "/"); !errors.Is(err, ErrNoRoute) {
		t.Errorf("nil config: %v", err)
	}
}

// TestReadsAsQueryKey: the body field names a lenient server would read as a
// query key the route extracts, and some it would not.
func TestReadsAsQueryKey(t *testing.T) {
	keys := []string{"dry_run", "limit"}
	for _, k := range []string{"limit", "LIMIT", "Limit", "limit[]", "limit[a]", " limit", "limit\x00x",
		"dry_run", "dry-run", "dryrun", "DRY.RUN", "dry run", "Dry_Run[]"} {
		if _, ok := ReadsAsQueryKey(k, keys); !ok {
			t.Errorf("%q: not read as a query key", k)
		}
	}
	if q, _ := ReadsAsQueryKey("DRY-RUN", keys); q != "dry_run" {
		t.Errorf("DRY-RUN read as %q, want dry_run", q)
	}
	for _, k := range []string{"limits", "lim", "offset", "[limit]", "", "l1mit", "dry_runs"} {
		if q, ok := ReadsAsQueryKey(k, keys); ok {
			t.Errorf("%q read as query key %q", k, q)
		}
	}
	if _, ok := ReadsAsQueryKey("limit", nil); ok {
		t.Error("a route without query keys: read as one")
	}
}
