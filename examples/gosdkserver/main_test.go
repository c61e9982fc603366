package main

import (
	"context"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	want := `tools/list: read_file
read_file /srv/motd: contents of /srv/motd
read_file /etc/shadow: JSON-RPC error -32001, data 1501 constraint-violation
delete_file /srv/motd: JSON-RPC error -32001, data 1500 tool-not-authorized
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestServeNeedsRoot(t *testing.T) {
	if err := run(context.Background(), []string{"-serve"}, &strings.Builder{}); err == nil {
		t.Fatal("served without a trusted root")
	}
}
