package toolmap

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/tenuo-mcp/tenuo-mcp/internal/value"
)

// MCP arguments and HTTP bodies are read by internal/value, the reader authz
// uses to canonicalise arguments when no configuration is in use, with the
// same limits (Tenuo's: 256 KiB, nesting depth 9 with the top-level value at
// depth 0, 4096 values, 256 items per container, 64 KiB of strings): a
// document one path refuses, every path refuses, and a document both accept
// gives both the same values.
//
// [Config.MapCall] and [Config.MapHTTP] wrap the reader's errors, whose
// messages give the byte offset and key path, in [ErrArguments].

// parseObject reads MCP arguments: one JSON object. Empty input (arguments
// absent) is the empty object.
func parseObject(data []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return map[string]any{}, nil
	}
	m, err := value.Parse(data, value.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrArguments, err)
	}
	return m, nil
}

// parseBody reads an HTTP JSON body: any one JSON value.
func parseBody(data []byte) (any, error) {
	v, err := value.ParseAny(data, value.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrArguments, err)
	}
	return v, nil
}

// describe renders v briefly for error messages, JSON-like.
func describe(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case []any:
		return fmt.Sprintf("list of %d", len(x))
	case map[string]any:
		return fmt.Sprintf("object of %d keys", len(x))
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		s = fmt.Sprint(x)
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:77]) + "..."
	}
	return s
}

// deepCopy copies a value-model value so a caller may modify the result
// without touching the original (a configured default).
func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	}
	return v
}
