package toolmap

import "fmt"

// Mapping is what a call maps to: the warrant tool to check and the
// constraint fields to check it with.
type Mapping struct {
	// Tool is the tool name the warrant must grant.
	Tool string
	// Fields holds the constraint fields by name, as values of the value
	// model (nil, bool, int64, float64, string, []any, map[string]any).
	// It is never nil. The caller may modify it.
	Fields map[string]any
}

// MapCall maps an MCP tools/call to a warrant tool and its constraint
// fields. argsJSON is the JSON text of params.arguments; nil or empty (no
// arguments) is the empty object, anything else must be one JSON object.
// The arguments are parsed strictly (see [ErrArguments]) by the reader and
// limits authz canonicalises them with when no configuration is in use
// (internal/value), so both paths refuse the same documents and read the
// same values: integral numbers become int64 ("1.0" → 1), others float64.
//
// With a nil Config the mapping is the identity: Tool is mcpTool and Fields
// are the top-level arguments — closed world, as in Tenuo, so the warrant
// must allow every argument the call carries. Callers remove the in-band
// envelope (`_tenuo`) from the arguments before mapping.
//
// With a Config, mcpTool must be listed under `tools`, as in Tenuo; an
// unlisted tool is [ErrUnknownTool], never passed through. Tool is the
// entry's `tool` (default: mcpTool) and Fields holds exactly the fields its
// constraints extract: each from its `path` (or its literal), the
// `default` when the path is missing, nothing when the path is missing and
// there is no default. A missing required field, a declared type or
// allowed_values not met, or a rule reading an HTTP source is [ErrField].
//
// Tenuo's clients sign the proof of possession over these extracted fields,
// not over the raw arguments, when a configuration is in use.
func (c *Config) MapCall(mcpTool string, argsJSON []byte) (*Mapping, error) {
	if mcpTool == "" {
		return nil, fmt.Errorf("%w: empty tool name", ErrUnknownTool)
	}
	var t *tool
	if c != nil {
		if t = c.tools[mcpTool]; t == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownTool, mcpTool)
		}
	}
	args, err := parseObject(argsJSON)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return &Mapping{Tool: mcpTool, Fields: args}, nil
	}
	fields, err := applyRules(mcpTool, t.rules, &input{mcp: true, body: args, hasBody: true})
	if err != nil {
		return nil, err
	}
	return &Mapping{Tool: t.warrant, Fields: fields}, nil
}

// WarrantTool returns the warrant tool name that calls of mcpTool map to.
// ok is false when a configuration is loaded and does not list mcpTool (its
// calls are refused). A nil Config maps every tool to itself.
func (c *Config) WarrantTool(mcpTool string) (name string, ok bool) {
	if c == nil {
		return mcpTool, mcpTool != ""
	}
	t, ok := c.tools[mcpTool]
	if !ok {
		return "", false
	}
	return t.warrant, true
}
