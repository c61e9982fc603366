package toolmap

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t testing.TB, y string) *Config {
	t.Helper()
	c, err := Parse([]byte(y), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMapCallIdentity(t *testing.T) {
	var c *Config
	tests := []struct {
		name    string
		args    string
		want    map[string]any
		wantErr error
	}{
		{"absent", "", map[string]any{}, nil},
		{"whitespace", " \n", map[string]any{}, nil},
		{"scalars", `{"s":"x","i":7,"f":1.5,"b":true,"n":null}`,
			map[string]any{"s": "x", "i": int64(7), "f": 1.5, "b": true, "n": nil}, nil},
		{"integral floats become integers", `{"a":1.0,"b":1e3,"c":-0.0,"d":-9223372036854775808}`,
			map[string]any{"a": int64(1), "b": int64(1000), "c": int64(0), "d": int64(-9223372036854775808)}, nil},
		{"2^63 as float stays float", `{"a":9223372036854775808.0}`, map[string]any{"a": 9223372036854775808.0}, nil},
		{"nested", `{"a":{"b":[1,"x"]}}`, map[string]any{"a": map[string]any{"b": []any{int64(1), "x"}}}, nil},
		{"null", `null`, nil, ErrArguments},
		{"array", `[1]`, nil, ErrArguments},
		{"string", `"x"`, nil, ErrArguments},
		{"two values", `{}{}`, nil, ErrArguments},
		{"trailing garbage", `{} x`, nil, ErrArguments},
		{"truncated", `{"a":`, nil, ErrArguments},
		{"duplicate key", `{"a":1,"a":2}`, nil, ErrArguments},
		{"duplicate after unescape", `{"a":1,"\u0061":2}`, nil, ErrArguments},
		{"nested duplicate", `{"x":[{"a":1,"a":1}]}`, nil, ErrArguments},
		{"integer overflow", `{"a":9223372036854775808}`, nil, ErrArguments},
		{"float overflow", `{"a":1e400}`, nil, ErrArguments},
		{"float underflow reads as zero", `{"a":1e-400}`, map[string]any{"a": int64(0)}, nil},
		{"invalid utf-8", "{\"a\":\"\xff\"}", nil, ErrArguments},
		{"NaN", `{"a":NaN}`, nil, ErrArguments},
		// Tenuo's argument limits, the same as authz applies without a
		// configuration: depth 9 (the object is depth 0), 256 KiB.
		{"too deep", strings.Repeat(`{"a":`, 10) + "[]" + strings.Repeat("}", 10), nil, ErrArguments},
		{"deepest allowed", strings.Repeat(`{"a":`, 9) + "[]" + strings.Repeat("}", 9), nil, nil},
		{"too large", `{"a":"` + strings.Repeat("x", 256<<10) + `"}`, nil, ErrArguments},
		{"lone surrogate", `{"a":"\ud800"}`, nil, ErrArguments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.MapCall("read_file", []byte(tc.args))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Tool != "read_file" {
				t.Errorf("tool %q", m.Tool)
			}
			if tc.want != nil && !reflect.DeepEqual(m.Fields, tc.want) {
				t.Errorf("fields %#v, want %#v", m.Fields, tc.want)
			}
		})
	}
	if _, err := c.MapCall("", nil); !errors.Is(err, ErrUnknownTool) {
		t.Errorf("empty tool: %v", err)
	}
}

const extractConfig = `version: "1"
tools:
  t:
    tool: warrant_t
    constraints:
      top: {path: top}
      nested: {path: "a.b.c"}
      idx: {path: "items.1.id"}
      plusidx: {path: "items.+0.id"}
      ids: {path: "items.*.id"}
      grid: {path: "rows.*.*"}
      kind: {path: kind, allowed_values: [file, dir, 3]}
      count: {path: count, type: integer, default: 10}
      ratio: {path: ratio, type: number}
      flag: {path: flag, type: boolean}
      names: {path: "people.*.name", type: string, allowed_values: [ann, bob]}
      obj: {path: obj, type: object}
      list: {path: list, type: list}
      lit: {from: literal, default: [x]}
      zero: {path: "m.0"}
  req:
    constraints:
      path: {path: path, required: true}
      mode: {path: mode, default: r}
  http:
    constraints:
      h: {from: header, path: X-A}
`

func TestMapCallExtraction(t *testing.T) {
	c := mustParse(t, extractConfig)
	tests := []struct {
		name    string
		tool    string
		args    string
		want    map[string]any
		wantErr error
		errHas  string
	}{
		{"defaults and literal only", "t", `{}`, map[string]any{"count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"extra arguments are ignored", "t", `{"other":1,"top":"x"}`, map[string]any{"top": "x", "count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"paths", "t", `{"top":null,"a":{"b":{"c":[1]}},"items":[{"id":"a"},{"id":"b"}],"rows":[[1,2],[3]],"count":5,"ratio":2,"flag":false,"kind":3,"people":[{"name":"ann"}],"obj":{},"list":[],"m":{"0":"x"}}`,
			map[string]any{"top": nil, "nested": []any{int64(1)}, "idx": "b", "plusidx": "a", "ids": []any{"a", "b"},
				"grid": []any{[]any{int64(1), int64(2)}, []any{int64(3)}}, "count": int64(5), "ratio": int64(2), "flag": false,
				"kind": int64(3), "names": []any{"ann"}, "obj": map[string]any{}, "list": []any{}, "lit": []any{"x"}}, nil, ""},
		{"index out of range is missing", "t", `{"items":[{"id":"a"}]}`, map[string]any{"plusidx": "a", "ids": []any{"a"}, "count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"wildcard over empty array is missing", "t", `{"items":[]}`, map[string]any{"count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"wildcard over object is missing", "t", `{"items":{"0":{"id":"a"}}}`, map[string]any{"count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"wildcard gap refused", "t", `{"items":[{"id":"a"},{"name":"b"}]}`, nil, ErrField, `field "ids" (body path "items.*.id"): array element 1`},
		{"type integer refuses float", "t", `{"count":1.5}`, nil, ErrField, `got float, want integer`},
		{"type integer refuses string", "t", `{"count":"5"}`, nil, ErrField, `got string, want integer`},
		{"present null is not defaulted", "t", `{"count":null}`, nil, ErrField, `got null`},
		{"type number accepts float", "t", `{"ratio":0.5}`, map[string]any{"ratio": 0.5, "count": int64(10), "lit": []any{"x"}}, nil, ""},
		{"type boolean", "t", `{"flag":"true"}`, nil, ErrField, "want boolean"},
		{"type object", "t", `{"obj":[]}`, nil, ErrField, "want object"},
		{"type list", "t", `{"list":{}}`, nil, ErrField, "want array"},
		{"allowed refuses", "t", `{"kind":"link"}`, nil, ErrField, `the string given is not one of the allowed values ["file", "dir", 3]`},
		{"allowed is type-sensitive", "t", `{"kind":"3"}`, nil, ErrField, "not one of the allowed values"},
		{"allowed per wildcard element", "t", `{"people":[{"name":"ann"},{"name":"eve"}]}`, nil, ErrField, `element 1: the string given is not one of`},
		{"type per wildcard element", "t", `{"people":[{"name":1}]}`, nil, ErrField, "element 0: got integer"},
		{"required present", "req", `{"path":"/x"}`, map[string]any{"path": "/x", "mode": "r"}, nil, ""},
		{"required missing", "req", `{"mode":"w"}`, nil, ErrField, `tool "req": required field "path" is missing (body path "path")`},
		{"required null is present", "req", `{"path":null}`, map[string]any{"path": nil, "mode": "r"}, nil, ""},
		{"http source refused for MCP", "http", `{"h":"x"}`, nil, ErrField, "which an MCP call does not carry"},
		{"unknown tool", "nope", `{}`, nil, ErrUnknownTool, `"nope"`},
		{"bad arguments with config", "t", `[]`, nil, ErrArguments, "must be a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := c.MapCall(tc.tool, []byte(tc.args))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.tool == "t" && m.Tool != "warrant_t" || tc.tool != "t" && m.Tool != tc.tool {
				t.Errorf("tool %q", m.Tool)
			}
			if !reflect.DeepEqual(m.Fields, tc.want) {
				t.Errorf("fields\n  %#v\nwant\n  %#v", m.Fields, tc.want)
			}
		})
	}
}

// TestDefaultsAreCopied guards the configuration against a caller that
// modifies the fields it gets back.
func TestDefaultsAreCopied(t *testing.T) {
	c := mustParse(t, extractConfig)
	m, err := c.MapCall("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Fields["lit"].([]any)[0] = "changed"
	m, err = c.MapCall("t", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Fields["lit"].([]any)[0]; got != "x" {
		t.Errorf("literal changed to %v by an earlier caller", got)
	}
}

func TestMapCallHostile(t *testing.T) {
	c := mustParse(t, extractConfig)
	// Tenuo's limits: 256 items per array, 4096 values. Without a
	// configuration authz refuses more, so a configuration refuses it too.
	most := `{"items":[` + strings.Repeat(`{"id":"a"},`, 255) + `{"id":"b"}]}`
	m, err := c.MapCall("t", []byte(most))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Fields["ids"].([]any)); n != 256 {
		t.Errorf("ids has %d elements", n)
	}
	huge := `{"items":[` + strings.Repeat(`{"id":"a"},`, 20000) + `{"id":"b"}]}`
	if _, err := c.MapCall("t", []byte(huge)); !errors.Is(err, ErrArguments) {
		t.Errorf("20001 items: err = %v", err)
	}
	deepArrays := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	for _, args := range []string{deepArrays, `{"a":` + deepArrays + `}`, strings.Repeat(`{"a":`, 5000)} {
		if _, err := c.MapCall("t", []byte(args)); !errors.Is(err, ErrArguments) {
			t.Errorf("deep input: err = %v", err)
		}
		var nilc *Config
		if _, err := nilc.MapCall("t", []byte(args)); !errors.Is(err, ErrArguments) {
			t.Errorf("deep input, identity: err = %v", err)
		}
	}
}

// TestMapCallLookalikeKeys: a key that is not the configured path but that a
// case-insensitive server would read as it (Go's encoding/json; v2 also
// ignores '_' and '-'; a C reader stops at a NUL) is refused as ambiguous, present field or not: the
// check would see the default, or the exact key, and the server the other.
func TestMapCallLookalikeKeys(t *testing.T) {
	cfg, err := Parse([]byte(`version: "1"
tools:
  read:
    constraints:
      max_size: {path: maxSize, default: 1024}
      mode: {path: opts.mode, allowed_values: ["r"], default: "r"}
`), "lookalike.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{
		`{"MaxSize":99999999999}`,
		`{"max_size":5}`,
		`{"max-size":5}`,
		`{"maxSize":5,"MAXSIZE":99999}`,
		`{"opts":{"MODE":"rw"}}`,
		`{"opts":{"mode":"r","Mode":"rw"}}`,
		`{"Opts":{"mode":"rw"}}`,
		`{"maxSize\u0000":99999}`,
		`{"maxSize":5,"maxSize\u0000x":99999}`,
	} {
		if _, err := cfg.MapCall("read", []byte(args)); !errors.Is(err, ErrArguments) || !errors.Is(err, ErrAmbiguousKey) {
			t.Errorf("MapCall(%s) = %v, want ErrArguments", args, err)
		}
	}
	for _, args := range []string{`{"maxSize":5}`, `{"opts":{"mode":"r"}}`, `{}`, `{"other":1,"Other2":2}`} {
		if _, err := cfg.MapCall("read", []byte(args)); err != nil {
			t.Errorf("MapCall(%s) = %v, want it mapped", args, err)
		}
	}
}
