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
		{"POST", "/api/v1/clusters/a/scale", Reads{Path: true, Query: true, Header: true, Body: true, BodyKeys: []string{"spec"}}, nil},
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
