package toolmap

import (
	"errors"
	"fmt"
)

// Errors returned by [Config.MapCall] and [Config.MapHTTP]. Each is wrapped
// with details; test for them with errors.Is. A front end answers all of them
// with a denial: Tenuo's MCP verifier uses JSON-RPC -32602 (invalid params)
// for ErrUnknownTool, ErrArguments and ErrField.
var (
	// ErrUnknownTool means a configuration is loaded and does not list the
	// called tool (or the tool name is empty).
	ErrUnknownTool = errors.New("toolmap: tool not in configuration")

	// ErrNoRoute means no route of the configuration matches an HTTP
	// request's method and path.
	ErrNoRoute = errors.New("toolmap: no route matches the request")

	// ErrArguments means the call's arguments (or a request's path or body)
	// are not acceptable: malformed JSON, duplicate keys, numbers that do not
	// fit, nesting or size beyond the limits, or not a JSON object.
	ErrArguments = errors.New("toolmap: malformed arguments")

	// ErrAmbiguousKey (with ErrArguments) means the arguments hold a key
	// that is not a configured path but that a case-insensitive server
	// would read as it ("MaxSize" for "maxSize"). The reading of the
	// arguments is fine; what the server would act on is not what the
	// check would see.
	ErrAmbiguousKey = errors.New("toolmap: ambiguous argument key")

	// ErrField means a constraint field could not be extracted as the
	// configuration demands: a required field is missing, a value has the
	// wrong type or is not among the allowed values, or a value is ambiguous.
	ErrField = errors.New("toolmap: constraint field rejected")
)

// ConfigError is one problem in a configuration file, located by line and
// column (1-based; 0 when the problem has no single place, such as an empty
// file). [Parse] returns one ConfigError, or several joined with errors.Join
// in file order; errors.As finds the first.
type ConfigError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

// Error formats the problem as "file:line:column: message", the form
// editors and compilers use.
func (e *ConfigError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}
