package mcpproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// parseCall reads a tools/call's params and returns the hook's view of it and
// the params to forward: the original bytes with only params._meta.tenuo
// (and _meta itself when nothing else is left in it) and
// params.arguments._tenuo removed.
func parseCall(id json.RawMessage, params json.RawMessage) (*Call, json.RawMessage, error) {
	if params == nil || params[0] != '{' {
		return nil, nil, errors.New("tools/call params must be an object")
	}
	// One strict pass: duplicate keys refused at every depth, strings valid
	// UTF-8, and the top-level members recorded.
	sc, err := scanDocument(params, true, true)
	if err != nil {
		return nil, nil, fmt.Errorf("tools/call params: %v", err)
	}
	ms := sc.top
	if key, want, bad := misspelledMember(ms, callMembers); bad {
		// Go's encoding/json would read it as params.want.
		return nil, nil, fmt.Errorf("params has %q, which is not %q (member names are exact)", key, want)
	}
	call := &Call{ID: id, Params: params, stateless: requestIsStateless(params, ms), taskAugmented: find(ms, "task") >= 0}
	ni := find(ms, "name")
	if ni < 0 {
		return nil, nil, errors.New("params.name is missing")
	}
	name, ok := jsonString(value(params, ms[ni]))
	if !ok || name == "" {
		return nil, nil, errors.New("params.name must be a non-empty string")
	}
	call.Name = name
	if ri := find(ms, "requestState"); ri >= 0 {
		// A retry of a call answered input_required (2026-07-28): the replay
		// check binds its PoP to exactly this state.
		st, ok := jsonString(value(params, ms[ri]))
		if !ok {
			return nil, nil, errors.New("params.requestState must be a string")
		}
		call.requestState = enforce.RequestState{Present: true, Value: st}
	}

	argTenuo, args, argEdit, err := takeEnvelope(params, ms, "arguments", "_tenuo", enforce.SourceArguments, false, true)
	if err != nil {
		return nil, nil, err
	}
	call.Arguments = args
	metaTenuo, _, metaEdit, err := takeEnvelope(params, ms, "_meta", "tenuo", enforce.SourceMeta, true, true)
	if err != nil {
		return nil, nil, err
	}
	var edits []edit
	for _, e := range []*edit{argEdit, metaEdit} {
		if e != nil {
			edits = append(edits, *e)
		}
	}
	switch {
	case metaTenuo != nil && argTenuo != nil && !metaTenuo.Equal(argTenuo):
		// Two different envelopes: which one the PoP covers is ambiguous.
		return nil, nil, &envelopeError{msg: "params._meta.tenuo and params.arguments._tenuo disagree"}
	case metaTenuo != nil:
		call.Tenuo = metaTenuo
	default:
		call.Tenuo = argTenuo
	}
	return call, applyEdits(params, ms, edits...), nil
}

// callMembers are the members of tools/call params the relay reads.
var callMembers = []string{"name", "arguments", "_meta", "requestState", "inputResponses", "task"}

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

// stripMetaEnvelope reads params._meta.tenuo of a method request that may
// carry one without a PoP (tools/list, tasks/*, subscriptions/listen) and
// returns it with the params to forward (without it).
func stripMetaEnvelope(method string, params json.RawMessage) (*enforce.Envelope, json.RawMessage, error) {
	if params[0] != '{' {
		return nil, nil, fmt.Errorf("%s params must be an object", method)
	}
	ms, err := objectMembers(params)
	if err != nil {
		return nil, nil, fmt.Errorf("%s params: %v", method, err)
	}
	t, _, e, err := takeEnvelope(params, ms, "_meta", "tenuo", enforce.SourceMeta, true, false)
	if err != nil {
		return nil, nil, err
	}
	if e == nil {
		return nil, params, nil
	}
	return t, applyEdits(params, ms, *e), nil
}

// takeEnvelope looks in member outer of the params object (ms are its
// members) for a Tenuo envelope under key. It returns the envelope (nil when
// absent), outer's value without it (nil when outer is absent), and the edit
// that takes it out of params: with dropEmpty, an outer object left empty is
// removed altogether (an empty _meta), else it stays as {} (arguments).
func takeEnvelope(params []byte, ms []member, outer, key, source string, dropEmpty, needSignature bool) (*enforce.Envelope, []byte, *edit, error) {
	oi := find(ms, outer)
	if oi < 0 {
		return nil, nil, nil, nil
	}
	o := value(params, ms[oi])
	if !isObject(o) {
		return nil, nil, nil, fmt.Errorf("params.%s must be an object", outer)
	}
	oms, err := objectMembers(o)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("params.%s: %v", outer, err)
	}
	ki := find(oms, key)
	if ki < 0 {
		return nil, o, nil, nil
	}
	t, err := parseEnvelope(value(o, oms[ki]), "params."+outer+"."+key, needSignature)
	if err != nil {
		return nil, nil, nil, err
	}
	t.Source = source
	rest := removeMember(o, oms, ki)
	return t, rest, &edit{i: oi, remove: dropEmpty && len(oms) == 1, v: rest}, nil
}

// resultArray reads the array a list answer's result holds under key (msg
// is the answer, resultM its result member): the result, its members, the
// index of key among them, and the array's elements.
func resultArray(msg []byte, resultM member, key string) (result []byte, rms []member, ai int, elems []json.RawMessage, err error) {
	result = value(msg, resultM)
	if !isObject(result) {
		return nil, nil, 0, nil, errors.New("result is not an object")
	}
	if rms, err = objectMembers(result); err != nil {
		return nil, nil, 0, nil, err
	}
	if ai = find(rms, key); ai < 0 {
		return nil, nil, 0, nil, fmt.Errorf("result has no %s", key)
	}
	arr := value(result, rms[ai])
	if arr[0] != '[' {
		return nil, nil, 0, nil, fmt.Errorf("result.%s is not an array", key)
	}
	if err = json.Unmarshal(arr, &elems); err != nil {
		return nil, nil, 0, nil, err
	}
	return result, rms, ai, elems, nil
}

// jsonArray is the JSON array of elems, each as it is.
func jsonArray(elems [][]byte) []byte {
	return append(append([]byte{'['}, bytes.Join(elems, []byte{','})...), ']')
}

// filterToolsList rewrites a tools/list response: the tools array keeps only
// the tools keep accepts, each kept tool's bytes untouched; a cacheScope
// becomes "private", since the list now depends on the caller; every other
// byte stays. A tool without a string name is dropped.
//
// When the request was a 2026-07-28 one (cache is not nil), the result also
// carries what that version requires of a result the proxy made:
// resultType ("complete" when the server gave none), cacheScope "private"
// (added when absent) and a ttlMs that does not outlive the warrant that
// filtered it (cache.ttlFor).
func filterToolsList(msg []byte, resultM member, keep func(string) bool, cache *listCache) ([]byte, error) {
	result, rms, ti, elems, err := resultArray(msg, resultM, "tools")
	if err != nil {
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
		edits = append(edits, edit{i: ti, v: jsonArray(kept)})
	}
	const private = `"private"`
	ci := find(rms, "cacheScope")
	if ci >= 0 && string(value(result, rms[ci])) != private {
		edits = append(edits, edit{i: ci, v: []byte(private)})
	}
	var adds [][2]string // members to add, in order
	if cache != nil {
		if find(rms, "resultType") < 0 {
			adds = append(adds, [2]string{"resultType", `"complete"`})
		}
		if ci < 0 {
			adds = append(adds, [2]string{"cacheScope", private})
		}
		var upTTL []byte
		tti := find(rms, "ttlMs")
		if tti >= 0 {
			upTTL = value(result, rms[tti])
		}
		switch ttl, same := cache.ttlFor(upTTL); {
		case tti < 0:
			adds = append(adds, [2]string{"ttlMs", string(ttl)})
		case !same:
			edits = append(edits, edit{i: tti, v: ttl})
		}
	}
	if len(edits) == 0 && len(adds) == 0 {
		return msg, nil
	}
	out := applyEdits(result, rms, edits...)
	if len(adds) > 0 {
		if rms, err = objectMembers(out); err != nil {
			return nil, err
		}
		for _, a := range adds {
			out = addMember(out, rms, a[0], []byte(a[1]))
			if rms, err = objectMembers(out); err != nil {
				return nil, err
			}
		}
	}
	return replaceValue(msg, resultM, out), nil
}
