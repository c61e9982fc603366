package mcpproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/toolpin"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// DefaultPinFetchTimeout bounds how long a call waits for the tools/list the
// pinning layer asks the server for itself.
const DefaultPinFetchTimeout = 30 * time.Second

// PinConfig configures [PinTools].
type PinConfig struct {
	// Lock is the pinned definitions. Required.
	Lock *toolpin.Lock
	// WarnOnly logs a tool that differs from the lock and lets it through
	// (--pin-mode warn): nothing is hidden or refused.
	WarnOnly bool
	// DenyAsResult answers a refused call with an isError tool result, as
	// Proxy.DenyAsResult does for denials.
	DenyAsResult bool
	// Log receives a line per tool found to differ; nil discards.
	Log *slog.Logger
	// OnRefused, when set, is told of each call refused (for audit: pass
	// Hooks.Refused). It must not block.
	OnRefused func(*Refusal)
	// Context is the session's (the one its Relay gets), passed as each
	// refusal's Context so that its audit record names the session.
	Context context.Context
	// FetchTimeout bounds the wait for the proxy's own tools/list
	// (DefaultPinFetchTimeout when zero).
	FetchTimeout time.Duration
}

// PinTools returns upstream with its tool definitions pinned to cfg.Lock.
// It sits between a Relay and the upstream connection, so the relay itself
// is unchanged: it sees a server whose listings leave out every tool that
// differs from the lock (or that the lock lacks), and which answers a call
// of such a tool with a refusal, -32001 and the reason, itself.
//
// The definitions a call is checked against are the server's current ones:
// before the first call, and again after each
// notifications/tools/list_changed, the layer sends the server a tools/list
// of its own (with an id of its own, its answer never reaching the client)
// and a call waits until it is answered (FetchTimeout at most, then it is
// refused). The client's own tools/list answers update them too.
//
// Every request still gets exactly one answer: from the server, or the
// refusal in its place. Writes keep their order, as a call waiting for the
// list holds up the writes behind it. The result keeps upstream's Shutdown
// and Wait when it has them (as *transport.Process does).
func PinTools(upstream transport.Conn, cfg PinConfig) transport.Conn {
	c := &pinConn{up: upstream, cfg: cfg, log: orDiscard(cfg.Log), items: make(chan pinItem, 64), end: make(chan struct{}),
		lists: map[string]bool{}, listed: map[string]string{}, abandoned: map[string]bool{}, warned: map[string]string{}}
	var nonce [6]byte
	rand.Read(nonce[:])
	c.nonce = hex.EncodeToString(nonce[:])
	if c.cfg.FetchTimeout <= 0 {
		c.cfg.FetchTimeout = DefaultPinFetchTimeout
	}
	go c.pump()
	// The relay stops and reaps an upstream through these when it has them.
	sd, canShutdown := upstream.(shutdowner)
	w, canWait := upstream.(waiter)
	switch {
	case canShutdown && canWait:
		return &struct {
			*pinConn
			shutdowner
			waiter
		}{c, sd, w}
	case canShutdown:
		return &struct {
			*pinConn
			shutdowner
		}{c, sd}
	case canWait:
		return &struct {
			*pinConn
			waiter
		}{c, w}
	}
	return c
}

type shutdowner interface{ Shutdown(time.Duration) error }
type waiter interface{ Wait() error }

type pinItem struct {
	msg []byte
	err error
}

type pinConn struct {
	up    transport.Conn
	cfg   PinConfig
	log   *slog.Logger
	nonce string

	items  chan pinItem  // what Read returns: the server's messages, and refusals
	end    chan struct{} // closed when the server's stream ended
	endErr error         // set before end is closed

	mu        sync.Mutex        // guards the fields below
	lists     map[string]bool   // keys of client tools/list requests awaiting their answer
	listed    map[string]string // tool → why it differs ("" when it matches), as last listed
	complete  bool              // listed is a whole list, fetched since the last list_changed
	fetching  chan struct{}     // closed when the fetch in flight ends; nil when none
	fetchKey  string            // id key of the fetch's request in flight
	fetchErr  error             // why the last fetch failed
	acc       map[string]string // the fetch's tools so far (pages)
	pages     int
	seq       int
	abandoned map[string]bool   // keys of fetches superseded by a list_changed
	warned    map[string]string // tool → the difference last logged
	// version is the 2026-07-28 (or later) protocol version the client's
	// last call or listing named in _meta, "" for an older era: a stateless
	// server needs it, and client capabilities, on the layer's own
	// tools/list too.
	version string
}

// maxPinPages bounds the pages of the proxy's own tools/list.
const maxPinPages = 100

// Read returns the server's next message, or a refusal made in its place.
func (c *pinConn) Read() ([]byte, error) {
	select {
	case it := <-c.items:
		return it.msg, it.err
	case <-c.end:
		select {
		case it := <-c.items:
			return it.msg, it.err
		default:
			return nil, c.endErr
		}
	}
}

// Close closes the server's connection.
func (c *pinConn) Close() error { return c.up.Close() }

func (c *pinConn) push(it pinItem) {
	select {
	case c.items <- it:
	case <-c.end:
	}
}

// pump reads the server, handing on what the relay is to see.
func (c *pinConn) pump() {
	for {
		msg, err := c.up.Read()
		var long *transport.LineTooLongError
		if errors.As(err, &long) {
			c.push(pinItem{err: err})
			continue
		}
		if err != nil {
			c.mu.Lock()
			c.endErr = err
			c.mu.Unlock()
			close(c.end)
			return
		}
		if out := c.fromUpstream(msg); out != nil {
			c.push(pinItem{msg: out})
		}
	}
}

func (c *pinConn) fromUpstream(raw []byte) []byte {
	t := trimSpace(raw)
	if len(t) == 0 {
		return raw
	}
	switch t[0] {
	case '{':
		return c.upstreamObject(raw)
	case '[':
		var elems []json.RawMessage
		if json.Unmarshal(t, &elems) != nil {
			return raw
		}
		var out []string
		for _, el := range elems {
			if b := c.upstreamObject(el); b != nil {
				out = append(out, string(b))
			}
		}
		if len(out) == 0 {
			return nil
		}
		return []byte("[" + strings.Join(out, ",") + "]")
	}
	return raw
}

// upstreamObject handles one message from the server: nil when it is the
// answer to the layer's own request.
func (c *pinConn) upstreamObject(raw []byte) []byte {
	ms, err := objectMembers(raw)
	if err != nil {
		return raw // the relay refuses it
	}
	if mi := find(ms, "method"); mi >= 0 {
		if m, _ := jsonString(value(raw, ms[mi])); m == "notifications/tools/list_changed" && find(ms, "id") < 0 {
			c.stale()
		}
		return raw
	}
	ii := find(ms, "id")
	if ii < 0 {
		return raw
	}
	key, ok := idKey(value(raw, ms[ii]))
	if !ok {
		return raw
	}
	c.mu.Lock()
	own, old := key == c.fetchKey, c.abandoned[key]
	delete(c.abandoned, key)
	isList := c.lists[key]
	delete(c.lists, key)
	c.mu.Unlock()
	switch {
	case own:
		c.fetched(raw, ms)
		return nil
	case old:
		return nil
	case isList:
		return c.filterList(raw, ms)
	}
	return raw
}

// filterList hides, from a client's tools/list answer, every tool whose
// definition differs from the lock.
func (c *pinConn) filterList(raw []byte, ms []member) []byte {
	ri := find(ms, "result")
	if ri < 0 {
		return raw
	}
	var res struct {
		Tools []json.RawMessage `json:"tools"`
	}
	if json.Unmarshal(value(raw, ms[ri]), &res) != nil {
		return raw // the relay refuses a malformed result
	}
	hide := map[string]bool{}
	c.mu.Lock()
	for _, t := range res.Tools {
		name, why := c.cfg.Lock.Check(t)
		if name == "" {
			continue
		}
		c.listed[name] = why
		if why != "" {
			hide[name] = !c.cfg.WarnOnly
			c.warnLocked(name, why)
		}
	}
	c.mu.Unlock()
	if len(hide) == 0 || c.cfg.WarnOnly {
		return raw
	}
	out, err := filterToolsList(raw, ms[ri], func(name string) bool { return !hide[name] }, nil)
	if err != nil {
		return raw
	}
	return out
}

func (c *pinConn) warnLocked(name, why string) {
	if c.warned[name] == why {
		return
	}
	c.warned[name] = why
	action := "hidden and its calls refused"
	if c.cfg.WarnOnly {
		action = "allowed all the same (--pin-mode warn)"
	}
	c.log.Warn("tool differs from the pin lock; "+action, "tool", name, "difference", why)
}

// stale forgets the definitions after a list_changed, and fetches them anew.
func (c *pinConn) stale() {
	c.mu.Lock()
	c.complete = false
	if c.fetching != nil && c.fetchKey != "" {
		// The answer in flight may predate the change: start over.
		c.abandoned[c.fetchKey] = true
		c.fetchKey = ""
	}
	c.mu.Unlock()
	// Not on the reading goroutine: writing the server waits for it to read.
	go c.startFetch()
}

// startFetch asks the server for its tools unless a fetch is in flight and
// returns the channel closed when the fetch ends.
func (c *pinConn) startFetch() <-chan struct{} {
	c.mu.Lock()
	ch := c.fetching
	if ch == nil {
		ch = make(chan struct{})
		c.fetching = ch
	}
	var id []byte
	if c.fetchKey == "" {
		c.acc, c.pages = map[string]string{}, 0
		id = c.nextIDLocked()
	}
	c.mu.Unlock()
	if id != nil {
		c.writeFetch(id, "")
	}
	return ch
}

// nextIDLocked returns the id of the fetch's next request, and makes it the
// one awaited.
func (c *pinConn) nextIDLocked() []byte {
	c.seq++
	c.pages++
	id, _ := json.Marshal(fmt.Sprintf("tenuo-mcp-pin-%s-%d", c.nonce, c.seq))
	c.fetchKey, _ = idKey(id)
	return id
}

// writeFetch writes the layer's own tools/list request (one page).
func (c *pinConn) writeFetch(id []byte, cursor string) {
	params := map[string]any{}
	if cursor != "" {
		params["cursor"] = cursor
	}
	c.mu.Lock()
	v := c.version
	c.mu.Unlock()
	if v != "" {
		params["_meta"] = map[string]any{metaProtocolVersion: v, "io.modelcontextprotocol/clientCapabilities": map[string]any{}}
	}
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "method": methodList, "params": params})
	if err := c.up.Write(msg); err != nil {
		key, _ := idKey(id)
		c.fetchDone(key, fmt.Errorf("asking the server for its tools: %v", err))
	}
}

// fetched takes one page of the layer's own tools/list.
func (c *pinConn) fetched(raw []byte, ms []member) {
	key, _ := idKey(value(raw, ms[find(ms, "id")]))
	ri := find(ms, "result")
	if ri < 0 {
		c.fetchDone(key, errors.New("the server answered tools/list with an error"))
		return
	}
	var res struct {
		Tools      []json.RawMessage `json:"tools"`
		NextCursor string            `json:"nextCursor"`
	}
	if err := json.Unmarshal(value(raw, ms[ri]), &res); err != nil {
		c.fetchDone(key, fmt.Errorf("the server's tools/list result is malformed: %v", err))
		return
	}
	c.mu.Lock()
	for _, t := range res.Tools {
		if name, why := c.cfg.Lock.Check(t); name != "" {
			c.acc[name] = why
		}
	}
	var next []byte
	if res.NextCursor != "" && c.pages < maxPinPages && key == c.fetchKey {
		next = c.nextIDLocked()
	}
	c.mu.Unlock()
	if next != nil {
		go c.writeFetch(next, res.NextCursor)
		return
	}
	c.fetchDone(key, nil)
}

// fetchDone ends the fetch whose request had key, unless another replaced it.
func (c *pinConn) fetchDone(key string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != c.fetchKey || c.fetching == nil {
		return
	}
	if err == nil {
		c.listed, c.complete = c.acc, true
		for name, why := range c.listed {
			if why != "" {
				c.warnLocked(name, why)
			}
		}
	} else {
		c.log.Error("pinned tools not checked", "err", err)
	}
	c.fetchErr = err
	close(c.fetching)
	c.fetching, c.fetchKey, c.acc = nil, "", nil
}

// check says why a call of tool may not go on ("" when it may): its
// definition as the server lists it now differs from the lock.
func (c *pinConn) check(tool string) string {
	timer := time.NewTimer(c.cfg.FetchTimeout)
	defer timer.Stop()
	for range 8 {
		c.mu.Lock()
		if c.complete {
			why, ok := c.listed[tool]
			c.mu.Unlock()
			if !ok {
				return "it is not listed by the server"
			}
			return why
		}
		c.mu.Unlock()
		ch := c.startFetch()
		select {
		case <-ch:
		case <-timer.C:
			return "its definition could not be checked: the server did not list its tools in time"
		case <-c.end:
			return "its definition could not be checked: the server is gone"
		}
		c.mu.Lock()
		err, done := c.fetchErr, c.complete
		c.mu.Unlock()
		if !done && err != nil {
			return "its definition could not be checked: " + err.Error()
		}
	}
	return "its definition could not be checked: the server's tools keep changing"
}

// Write passes a message to the server, or answers a call of a tool whose
// definition differs from the lock in the server's place.
func (c *pinConn) Write(msg []byte) error {
	ms, err := objectMembers(trimSpace(msg))
	if err != nil {
		return c.up.Write(msg)
	}
	mi, ii := find(ms, "method"), find(ms, "id")
	if mi < 0 || ii < 0 {
		return c.up.Write(msg)
	}
	m := trimSpace(msg)
	method, _ := jsonString(value(m, ms[mi]))
	id := value(m, ms[ii])
	key, ok := idKey(id)
	if !ok {
		return c.up.Write(msg)
	}
	if method == methodList || method == methodCall {
		c.noteVersion(m, ms)
	}
	switch method {
	case methodList:
		c.mu.Lock()
		c.lists[key] = true
		c.mu.Unlock()
	case methodCall:
		name, stateless := "", false
		if pi := find(ms, "params"); pi >= 0 {
			p := value(m, ms[pi])
			if pms, err := objectMembers(p); err == nil {
				if ni := find(pms, "name"); ni >= 0 {
					name, _ = jsonString(value(p, pms[ni]))
				}
				stateless = requestIsStateless(p, pms)
			}
		}
		why := c.check(name)
		if why == "" {
			break
		}
		if c.cfg.WarnOnly {
			c.log.Warn("calling a tool that differs from the pin lock (--pin-mode warn)", "tool", name, "difference", why)
			break
		}
		c.refuse(id, name, why, stateless)
		return nil
	}
	return c.up.Write(msg)
}

// noteVersion records the protocol era of a client request (m, whose
// members are ms), for the layer's own tools/list.
func (c *pinConn) noteVersion(m []byte, ms []member) {
	v := ""
	if pi := find(ms, "params"); pi >= 0 {
		v = statelessVersionOf(value(m, ms[pi]))
	}
	c.mu.Lock()
	c.version = v
	c.mu.Unlock()
}

// refuse answers a call in the server's place; a result made for a
// 2026-07-28 request (stateless) says resultType "complete".
func (c *pinConn) refuse(id json.RawMessage, tool, why string, stateless bool) {
	reason := fmt.Sprintf("Access denied: tool %q is pinned (--pin) and %s", tool, why)
	if c.cfg.OnRefused != nil {
		c.cfg.OnRefused(&Refusal{Method: methodCall, ID: id, Code: CodeAccessDenied, Reason: reason, Context: c.cfg.Context})
	}
	c.log.Warn("tools/call refused: the tool differs from the pin lock", "tool", tool, "difference", why)
	data := map[string]any{"tenuo_pin": map[string]any{"tool": tool, "reason": why}}
	var b []byte
	if c.cfg.DenyAsResult {
		result := map[string]any{"content": []map[string]any{{"type": "text", "text": reason}}, "isError": true, "_meta": data}
		if stateless {
			result["resultType"] = "complete"
		}
		b, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
	} else {
		b, _ = json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": map[string]any{
			"code": CodeAccessDenied, "message": reason, "data": data}})
	}
	c.push(pinItem{msg: b})
}
