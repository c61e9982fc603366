package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// parseCall reads a tools/call's params and returns the hook's view of it and
// the params to forward: the original bytes with only params._meta.tenuo
// (and _meta itself when nothing else is left in it) and
// params.arguments._tenuo removed.
func parseCall(id json.RawMessage, params json.RawMessage) (*Call, json.RawMessage, error) {
	if params == nil || params[0] != '{' {
		return nil, nil, errors.New("tools/call params must be an object")
	}
	if err := checkNoDuplicateKeys(params); err != nil {
		return nil, nil, fmt.Errorf("tools/call params: %v", err)
	}
	ms, err := objectMembers(params)
	if err != nil {
		return nil, nil, fmt.Errorf("tools/call params: %v", err)
	}
	call := &Call{ID: id, Params: params}
	ni := find(ms, "name")
	if ni < 0 {
		return nil, nil, errors.New("params.name is missing")
	}
	name, ok := jsonString(value(params, ms[ni]))
	if !ok || name == "" {
		return nil, nil, errors.New("params.name must be a non-empty string")
	}
	call.Name = name

	var edits []edit
	var argTenuo, metaTenuo *TenuoMeta
	if ai := find(ms, "arguments"); ai >= 0 {
		args := value(params, ms[ai])
		if !isObject(args) {
			return nil, nil, errors.New("params.arguments must be an object")
		}
		ams, err := objectMembers(args)
		if err != nil {
			return nil, nil, fmt.Errorf("params.arguments: %v", err)
		}
		if ti := find(ams, "_tenuo"); ti >= 0 {
			if argTenuo, err = parseEnvelope(value(args, ams[ti]), "params.arguments._tenuo"); err != nil {
				return nil, nil, err
			}
			argTenuo.Source = SourceArguments
			args = removeMember(args, ams, ti)
			edits = append(edits, edit{i: ai, v: args})
		}
		call.Arguments = args
	}
	if mi := find(ms, "_meta"); mi >= 0 {
		meta := value(params, ms[mi])
		if !isObject(meta) {
			return nil, nil, errors.New("params._meta must be an object")
		}
		mms, err := objectMembers(meta)
		if err != nil {
			return nil, nil, fmt.Errorf("params._meta: %v", err)
		}
		if ti := find(mms, "tenuo"); ti >= 0 {
			if metaTenuo, err = parseEnvelope(value(meta, mms[ti]), "params._meta.tenuo"); err != nil {
				return nil, nil, err
			}
			metaTenuo.Source = SourceMeta
			edits = append(edits, edit{i: mi, remove: len(mms) == 1, v: removeMember(meta, mms, ti)})
		}
	}
	switch {
	case metaTenuo != nil && argTenuo != nil && !metaTenuo.equal(argTenuo):
		// Two different envelopes: which one the PoP covers is ambiguous.
		return nil, nil, &envelopeError{msg: "params._meta.tenuo and params.arguments._tenuo disagree"}
	case metaTenuo != nil:
		call.Tenuo = metaTenuo
	default:
		call.Tenuo = argTenuo
	}
	return call, applyEdits(params, ms, edits...), nil
}

// edit changes member i of an object: replaces its value with v, or removes it.
type edit struct {
	i      int
	remove bool
	v      []byte
}

// applyEdits applies member edits from the last member to the first, so that
// each edit's offsets are still valid when it is applied.
func applyEdits(obj []byte, ms []member, edits ...edit) []byte {
	for len(edits) > 0 {
		last := 0
		for j := range edits {
			if edits[j].i > edits[last].i {
				last = j
			}
		}
		e := edits[last]
		if e.remove {
			obj = removeMember(obj, ms, e.i)
		} else {
			obj = replaceValue(obj, ms[e.i], e.v)
		}
		edits = append(edits[:last], edits[last+1:]...)
	}
	return obj
}

// stripListEnvelope reads params._meta.tenuo of a tools/list request and
// returns it with the params to forward (without it).
func stripListEnvelope(params json.RawMessage) (*TenuoMeta, json.RawMessage, error) {
	if params[0] != '{' {
		return nil, nil, errors.New("tools/list params must be an object")
	}
	ms, err := objectMembers(params)
	if err != nil {
		return nil, nil, fmt.Errorf("tools/list params: %v", err)
	}
	mi := find(ms, "_meta")
	if mi < 0 {
		return nil, params, nil
	}
	meta := value(params, ms[mi])
	if !isObject(meta) {
		return nil, nil, errors.New("params._meta must be an object")
	}
	mms, err := objectMembers(meta)
	if err != nil {
		return nil, nil, fmt.Errorf("params._meta: %v", err)
	}
	ti := find(mms, "tenuo")
	if ti < 0 {
		return nil, params, nil
	}
	t, err := parseEnvelope(value(meta, mms[ti]), "params._meta.tenuo")
	if err != nil {
		return nil, nil, err
	}
	t.Source = SourceMeta
	if len(mms) == 1 {
		return t, removeMember(params, ms, mi), nil
	}
	return t, replaceValue(params, ms[mi], removeMember(meta, mms, ti)), nil
}

// filterToolsList rewrites a tools/list response: the tools array keeps only
// the tools keep accepts, each kept tool's bytes untouched; a cacheScope
// (2026-07-28) becomes "private", since the list now depends on the caller;
// every other byte stays. A tool without a string name is dropped.
func filterToolsList(msg []byte, resultM member, keep func(string) bool) ([]byte, error) {
	result := value(msg, resultM)
	if !isObject(result) {
		return nil, errors.New("result is not an object")
	}
	rms, err := objectMembers(result)
	if err != nil {
		return nil, err
	}
	ti := find(rms, "tools")
	if ti < 0 {
		return nil, errors.New("result has no tools")
	}
	tools := value(result, rms[ti])
	if tools[0] != '[' {
		return nil, errors.New("result.tools is not an array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(tools, &elems); err != nil {
		return nil, err
	}
	kept := make([][]byte, 0, len(elems))
	for _, el := range elems {
		if !isObject(el) {
			continue
		}
		tms, err := objectMembers(el)
		if err != nil {
			continue
		}
		ni := find(tms, "name")
		if ni < 0 {
			continue
		}
		if name, ok := jsonString(value(el, tms[ni])); ok && keep(name) {
			kept = append(kept, el)
		}
	}
	var edits []edit
	if len(kept) != len(elems) {
		arr := append(append([]byte{'['}, bytes.Join(kept, []byte{','})...), ']')
		edits = append(edits, edit{i: ti, v: arr})
	}
	if ci := find(rms, "cacheScope"); ci >= 0 {
		edits = append(edits, edit{i: ci, v: []byte(`"private"`)})
	}
	if len(edits) == 0 {
		return msg, nil
	}
	return replaceValue(msg, resultM, applyEdits(result, rms, edits...)), nil
}
