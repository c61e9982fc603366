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
	want := `GET /healthz -> 200 ok
GET /files/report-q3.pdf -> 200 contents of report-q3.pdf
GET /files/payroll.csv -> 403 {"authorized":false,"error":"constraint-violation","error_code":1501,"message":"constraint-violation","tool":"read_file","warrant_id":"WID"}
POST /notes -> 200 stored 29 bytes
GET /files/report-q3.pdf -> 401 {"authorized":false,"error":"invalid-envelope-structure","error_code":1001,"message":"invalid-envelope-structure","tool":"read_file"}
`
	got := out.String()
	// The warrant id is fresh each run.
	if i := strings.Index(got, `"warrant_id":"`); i >= 0 {
		j := strings.Index(got[i+14:], `"`)
		got = got[:i+14] + "WID" + got[i+14+j:]
	}
	if got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}

func TestServeNeedsRoot(t *testing.T) {
	if err := run(context.Background(), []string{"-serve", "127.0.0.1:0"}, &strings.Builder{}); err == nil {
		t.Fatal("served without a trusted root")
	}
}
