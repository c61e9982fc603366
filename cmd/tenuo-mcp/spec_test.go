package main

import (
	"encoding/json"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// TestConstraintSpecs: the -c SPEC grammar, with Tenuo's defaults and the
// validation of the JSON form.
func TestConstraintSpecs(t *testing.T) {
	cases := []struct {
		spec  string
		match []any
		deny  []any
		str   string
	}{
		{"subpath:/data/", []any{"/data/x", "/data"}, []any{"/data2/x", "/etc"}, `Subpath("/data")`},
		{"pattern:/data/*", []any{"/data/a/b"}, []any{"/etc/x"}, ""},
		{"exact:5", []any{int64(5)}, []any{"5", 5.5}, ""},
		{"oneof:a,b,3", []any{"a", int64(3)}, []any{"c"}, ""},
		{"range:..10", []any{int64(-4), 10.0}, []any{10.5}, ""},
		{"range:1..", []any{int64(1)}, []any{0.5}, ""},
		{"notoneof:x", []any{"y"}, []any{"x"}, ""},
		{"wildcard", []any{nil, "x"}, nil, ""},
		{`json:{"type":"subpath","root":"/Data/","case_sensitive":false}`, []any{"/DATA/x"}, []any{"/other"}, ""},
		{`json:{"type":"all","constraints":[{"type":"pattern","pattern":"/data/*"},{"type":"not","constraint":{"type":"pattern","pattern":"*.key"}}]}`, []any{"/data/a.txt"}, []any{"/data/a.key"}, ""},
	}
	for _, c := range cases {
		con, err := parseConstraintSpec(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		for _, v := range c.match {
			if err := con.Match(v); err != nil {
				t.Errorf("%s should match %v: %v", c.spec, v, err)
			}
		}
		for _, v := range c.deny {
			if err := con.Match(v); err == nil {
				t.Errorf("%s should not match %v", c.spec, v)
			}
		}
		if c.str != "" && con.String() != c.str {
			t.Errorf("%s: String() = %s", c.spec, con)
		}
		// The JSON form reads back to an equivalent constraint.
		js, _ := json.Marshal(authz.ConstraintJSON(con))
		back, err := authz.ParseConstraintJSON(js)
		if err != nil || back.String() != con.String() {
			t.Errorf("%s: JSON round trip %s → %v (%v)", c.spec, js, back, err)
		}
	}
	for _, bad := range []string{"bogus:1", "range:1", "range:a..b", "regex:(", "cidr:10.0.0.0/33", `json:{"type":"exact"}`, `json:{"type":"pattern","pattern":"x","extra":1}`, "exact", `json:[1]`} {
		if _, err := parseConstraintSpec(bad); err == nil {
			t.Errorf("%q should be refused", bad)
		}
	}
}

// TestConstraintSpecValues: exact, oneof and notoneof read numbers, booleans
// and null as such (integers as integers, 1.0 as a float), anything else as
// text; range bounds are inclusive; shlex lists are trimmed.
func TestConstraintSpecValues(t *testing.T) {
	for _, c := range []struct {
		spec string
		want any
	}{
		{"exact:5", int64(5)}, {"exact:1.0", 1.0}, {"exact:-0", int64(0)}, {"exact:true", true}, {"exact:null", nil},
		{"exact:12345678901234567890", 12345678901234567890.0}, {"exact:1e400", "1e400"}, {"exact:5 x", "5 x"},
		{`exact:"1"`, `"1"`}, {"exact:", ""}, {"exact:abc", "abc"},
	} {
		con, err := parseConstraintSpec(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if v := con.(*authz.Exact).Value; v != c.want {
			t.Errorf("%s: value %#v, want %#v", c.spec, v, c.want)
		}
	}
	con, err := parseConstraintSpec("oneof: a , 2 ,2.5")
	if err != nil {
		t.Fatal(err)
	}
	if vs := con.(*authz.OneOf).Values; len(vs) != 3 || vs[0] != "a" || vs[1] != int64(2) || vs[2] != 2.5 {
		t.Fatalf("oneof values %#v", vs)
	}
	con, err = parseConstraintSpec("range:1..50")
	if err != nil {
		t.Fatal(err)
	}
	if r := con.(*authz.Range); con.Match(int64(50)) != nil || con.Match(int64(1)) != nil || con.Match(50.5) == nil || *r.Min != 1 || *r.Max != 50 {
		t.Fatalf("range: %v", con)
	}
	con, err = parseConstraintSpec("shlex: ls , cat,")
	if err != nil {
		t.Fatal(err)
	}
	if a := con.(*authz.Shlex).Allow; len(a) != 2 || a[0] != "ls" || a[1] != "cat" {
		t.Fatalf("shlex allow %q", a)
	}
	con, err = parseConstraintSpec("subpath:/data/./x/../")
	if err != nil {
		t.Fatal(err)
	}
	if r := con.(*authz.Subpath).Root; r != "/data" {
		t.Fatalf("subpath root %q, want /data", r)
	}
	for _, bad := range []string{"json", "range:..x", "range:1..inf", "subpath:relative", "urlpattern:"} {
		if _, err := parseConstraintSpec(bad); err == nil {
			t.Errorf("%q should be refused", bad)
		}
	}
}
