package guard

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
)

// Args are named arguments of a call, as the warrant's constraints see
// them: each value is encoded as encoding/json encodes it.
type Args map[string]any

// Func wraps fn so that every call is checked first, as a call of tool with
// the argument it receives: a struct (its fields by their json tags, as
// encoding/json encodes them), a map, or anything else that encodes as a
// JSON object. A denied call returns a *[DeniedError] and fn does not run;
// so does an argument that does not encode as an object (a malformed call).
//
// The wrapped function is safe for concurrent use when fn is: each call is
// decided with the credentials of its own context.
func Func[A, R any](g *Guard, tool string, fn func(context.Context, A) (R, error)) func(context.Context, A) (R, error) {
	return func(ctx context.Context, a A) (R, error) {
		args, err := encodeObject(a)
		if err := g.check(ctx, tool, args, err); err != nil {
			var zero R
			return zero, err
		}
		return fn(ctx, a)
	}
}

// Func2 wraps a function of two named arguments: names are their names in
// the call's arguments, in order.
func Func2[A1, A2, R any](g *Guard, tool string, names [2]string, fn func(context.Context, A1, A2) (R, error)) func(context.Context, A1, A2) (R, error) {
	return func(ctx context.Context, a1 A1, a2 A2) (R, error) {
		var err error
		var args json.RawMessage
		if names[0] == names[1] {
			err = fmt.Errorf("argument name %q given twice", names[0])
		} else {
			args, err = encodeObject(Args{names[0]: a1, names[1]: a2})
		}
		if err := g.check(ctx, tool, args, err); err != nil {
			var zero R
			return zero, err
		}
		return fn(ctx, a1, a2)
	}
}

// Do runs fn if a call of tool with args is allowed under ctx's
// credentials, and returns its error; a denied call returns a
// *[DeniedError] and fn does not run.
func (g *Guard) Do(ctx context.Context, tool string, args Args, fn func(context.Context) error) error {
	raw, err := encodeObject(args)
	if err := g.check(ctx, tool, raw, err); err != nil {
		return err
	}
	return fn(ctx)
}

// encodeObject encodes v as the JSON object a call's arguments must be.
// A nil map is the empty object.
func encodeObject(v any) (json.RawMessage, error) {
	if rv := reflect.ValueOf(v); !rv.IsValid() || (rv.Kind() == reflect.Map && rv.IsNil()) {
		return json.RawMessage("{}"), nil
	}
	b, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("the arguments do not encode as JSON: %v", err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("the arguments encode as JSON %s, not an object", kindOf(b))
	}
	return b, nil
}

// marshal is json.Marshal with a recovered panic (a MarshalJSON method may
// panic): an argument must never crash the caller.
func marshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("encoding panicked: %v", r)
		}
	}()
	return json.Marshal(v)
}

func kindOf(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}
