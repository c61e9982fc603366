package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// splitPath reads a result path: members and array indexes separated by
// dots, with an optional leading "$." and [N] accepted for indexes
// (content.0.text, $.content[0].text, structuredContent.total).
func splitPath(path string) ([]string, error) {
	p := strings.TrimPrefix(strings.TrimPrefix(path, "$"), ".")
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	if p == "" {
		return nil, errors.New("empty path")
	}
	parts := strings.Split(p, ".")
	for _, s := range parts {
		if s == "" {
			return nil, errors.New("empty path segment")
		}
	}
	return parts, nil
}

// lookup finds path in the JSON document doc.
func lookup(doc json.RawMessage, path string) (json.RawMessage, error) {
	parts, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	cur := doc
	for i, seg := range parts {
		at := strings.Join(parts[:i], ".")
		if at == "" {
			at = "the result"
		}
		switch t := bytes.TrimSpace(cur); {
		case len(t) > 0 && t[0] == '{':
			var m map[string]json.RawMessage
			if err := json.Unmarshal(t, &m); err != nil {
				return nil, err
			}
			v, ok := m[seg]
			if !ok {
				return nil, fmt.Errorf("%s has no member %q", at, seg)
			}
			cur = v
		case len(t) > 0 && t[0] == '[':
			var a []json.RawMessage
			if err := json.Unmarshal(t, &a); err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(a) {
				return nil, fmt.Errorf("%s is an array of %d; no element %q", at, len(a), seg)
			}
			cur = a[n]
		default:
			return nil, fmt.Errorf("%s is %s, not an object or array", at, short(t))
		}
	}
	return cur, nil
}

// jsonEqual compares two JSON values as values: members in any order,
// numbers by value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&x) != nil || db.Decode(&y) != nil {
		return false
	}
	return valueEqual(x, y)
}

func valueEqual(x, y any) bool {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !valueEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !valueEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := y.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		fa, ea := a.Float64()
		fb, eb := b.Float64()
		return ea == nil && eb == nil && fa == fb
	}
	return x == y
}

// short returns JSON text cut for a message.
func short(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
