package mcpproxy

import (
	"bytes"
	"strconv"
	"time"
)

// The 2026-07-28 protocol has no initialize: each request names its version
// in params._meta[metaProtocolVersion], and every result carries resultType.
const (
	statelessVersion    = "2026-07-28"
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
)

// isStatelessVersion reports whether v names 2026-07-28 or a later version
// (versions are dates, YYYY-MM-DD, which order as text).
func isStatelessVersion(v string) bool {
	if len(v) != len(statelessVersion) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			if v[i] != '-' {
				return false
			}
		} else if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return v >= statelessVersion
}

// requestIsStateless reports whether a request's params (ms are their
// members) name a 2026-07-28 or later protocol version in
// _meta["io.modelcontextprotocol/protocolVersion"]. Older eras carry no
// such key: their results are relayed as they always were.
func requestIsStateless(params []byte, ms []member) bool {
	mi := find(ms, "_meta")
	if mi < 0 {
		return false
	}
	meta := value(params, ms[mi])
	if !isObject(meta) {
		return false
	}
	// The common case, a call of an older era, costs a substring search:
	// without an escape anywhere, the key is there only if its text is.
	if !bytes.Contains(meta, []byte(`protocolVersion`)) && bytes.IndexByte(meta, '\\') < 0 {
		return false
	}
	mms, err := objectMembers(meta)
	if err != nil {
		return false
	}
	vi := find(mms, metaProtocolVersion)
	if vi < 0 {
		return false
	}
	v, ok := jsonString(value(meta, mms[vi]))
	return ok && isStatelessVersion(v)
}

// statelessVersionOf returns the 2026-07-28 (or later) version params name
// in _meta, "" when they name none.
func statelessVersionOf(params []byte) string {
	if !isObject(params) || (!bytes.Contains(params, []byte(`protocolVersion`)) && bytes.IndexByte(params, '\\') < 0) {
		return ""
	}
	ms, err := objectMembers(params)
	if err != nil {
		return ""
	}
	mi := find(ms, "_meta")
	if mi < 0 {
		return ""
	}
	meta := value(params, ms[mi])
	if !isObject(meta) {
		return ""
	}
	mms, err := objectMembers(meta)
	if err != nil {
		return ""
	}
	if vi := find(mms, metaProtocolVersion); vi >= 0 {
		if v, ok := jsonString(value(meta, mms[vi])); ok && isStatelessVersion(v) {
			return v
		}
	}
	return ""
}

// paramsAreStateless is requestIsStateless for params not yet scanned (nil
// or not an object: false).
func paramsAreStateless(params []byte) bool {
	if !isObject(params) {
		return false
	}
	ms, err := objectMembers(params)
	if err != nil {
		return false
	}
	return requestIsStateless(params, ms)
}

// addMember returns a copy of obj (ms are its members) with "key":v added
// after its last member.
func addMember(obj []byte, ms []member, key string, v []byte) []byte {
	at := 1 // just past '{' of an empty object (obj is trimmed)
	sep := ""
	if len(ms) > 0 {
		at, sep = ms[len(ms)-1].valEnd, ","
	}
	ins := sep + strconv.Quote(key) + ":"
	out := make([]byte, 0, len(obj)+len(ins)+len(v))
	out = append(out, obj[:at]...)
	out = append(out, ins...)
	out = append(out, v...)
	return append(out, obj[at:]...)
}

// ttlMillis reads a ttlMs value: a JSON integer (negative read as 0, beyond
// int64 as the largest), ok false for anything else.
func ttlMillis(raw []byte) (ms int64, ok bool) {
	if len(raw) == 0 {
		return 0, false
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false // a fraction, an exponent, a string, null...
		}
	}
	if neg {
		return 0, true
	}
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil { // out of range: as good as unbounded
		return int64(^uint64(0) >> 1), true
	}
	return n, true
}

// listCache says how a filtered 2026-07-28 listing may be cached: bounded
// says the warrant that filtered it bounds its life to left (never
// negative); unbounded, only the server's ttlMs applies.
type listCache struct {
	bounded bool
	left    time.Duration
}

// ttlFor is the ttlMs a filtered listing carries, given the server's (raw;
// nil when absent): the server's, cut to the warrant's remaining life; with
// neither a valid server value nor a bound, 0. keep says the server's bytes
// stand as they are.
func (c listCache) ttlFor(raw []byte) (out []byte, keep bool) {
	up, upOK := ttlMillis(raw)
	if c.bounded {
		lim := c.left.Milliseconds()
		if lim < 0 {
			lim = 0
		}
		if !upOK || up > lim {
			return []byte(strconv.FormatInt(lim, 10)), false
		}
	} else if !upOK {
		return []byte("0"), false
	}
	if raw[0] == '-' { // never negative
		return []byte("0"), false
	}
	return raw, true
}
