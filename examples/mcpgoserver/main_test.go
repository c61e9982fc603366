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
	// mcp-go's client reads every handler error as an internal error; the
	// message after it is the relay's ("Access denied: " and the reason).
	want := []string{
		"tools/list: read_file",
		"read_file /srv/motd: contents of /srv/motd",
		`read_file /etc/shadow: error: internal error: Access denied: tool "read_file": argument "path"`,
		`delete_file /srv/motd: error: internal error: Access denied: tool "delete_file" is not authorized`,
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want it to start %q", i+1, lines[i], w)
		}
	}
}

func TestServeNeedsRoot(t *testing.T) {
	if err := run(context.Background(), []string{"-serve"}, &strings.Builder{}); err == nil {
		t.Fatal("served without a trusted root")
	}
}
