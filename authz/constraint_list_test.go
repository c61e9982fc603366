package authz

import "testing"

func TestContainsSubsetMatch(t *testing.T) {
	contains := &Contains{Required: []any{"admin", int64(1)}}
	subset := &Subset{Allowed: []any{"read", "write", int64(1)}}
	tests := []struct {
		name    string
		c       Constraint
		v       any
		ok      bool
		noMatch bool
	}{
		{"contains all", contains, []any{"read", "admin", int64(1)}, true, false},
		{"contains missing one", contains, []any{"admin"}, false, true},
		{"contains type-sensitive", contains, []any{"admin", 1.0}, false, true},
		{"contains empty list", contains, []any{}, false, true},
		{"contains empty requirement", &Contains{}, []any{}, true, false},
		{"contains not a list", contains, "admin", false, true},
		{"contains map", contains, map[string]any{"admin": int64(1)}, false, true},
		{"contains null", contains, nil, false, true},
		{"contains nested list is an element", &Contains{Required: []any{[]any{"a"}}}, []any{[]any{"a"}}, true, false},
		{"contains outside the model", contains, []any{"admin", 1}, false, false},
		{"subset ok", subset, []any{"read", int64(1)}, true, false},
		{"subset duplicates", subset, []any{"read", "read"}, true, false},
		{"subset empty list", subset, []any{}, true, false},
		{"subset extra", subset, []any{"read", "delete"}, false, true},
		{"subset type-sensitive", subset, []any{1.0}, false, true},
		{"subset not a list", subset, "read", false, true},
		{"subset int", subset, int64(1), false, true},
		{"subset empty allowed", &Subset{}, []any{"a"}, false, true},
		{"subset outside the model", subset, []any{uint(1)}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctCheckMatch(t, tt.c, tt.v, tt.ok, tt.noMatch)
		})
	}
}
