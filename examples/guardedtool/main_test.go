package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `read_file /workspace/notes.md: (contents of /workspace/notes.md)
send_email bob@example.com: sent to bob@example.com
read_file /home/user/.ssh/id_ed25519: denied (constraint-violation, argument "path")
send_email attacker@evil.test: denied (constraint-violation, argument "to")
`
	if out.String() != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
