package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// Bounds of what a session holds for a slow or absent reader.
const (
	maxBacklog      = 256      // server messages kept until a stream opens
	maxBacklogBytes = 4 << 20  // and their bytes
	maxStreamBytes  = 16 << 20 // queued on one stream before it is given up
	maxReplay       = 256      // GET-stream messages kept for a client resuming with Last-Event-ID
	maxReplayBytes  = 4 << 20  // and their bytes
	maxRetired      = 1024     // cancelled requests of a pooled session whose late answers are awaited
	maxKeptStreams  = 8        // ended resumable POST streams kept for a late Last-Event-ID
)

// getEvent is a message meant for the GET stream, with its place in it; the
// SSE event id is "g" and the place in decimal.
type getEvent struct {
	seq uint64
	msg []byte
}

func (e getEvent) id() string { return "g" + strconv.FormatUint(e.seq, 10) }

// Session is one client session, seen as a transport.Conn: Read returns the
// messages the client POSTs, in order; Write sends a message to the client on
// the response that awaits it (an answer to a request goes to the POST that
// carried the request; anything else to the newest POST stream still
// awaiting answers, else to the GET stream, else it waits, bounded, for one
// to open). Close ends the session: requests still awaiting answers are
// answered with an error, and later requests naming the session get 404.
type Session struct {
	h      *Handler
	id     string
	legacy bool
	client string
	bound  map[string]string // the BoundHeaders of the request that opened it
	ctx    context.Context
	cancel context.CancelFunc
	in     chan []byte
	done   chan struct{}
	once   sync.Once

	mu           sync.Mutex         // guards the fields below
	waiting      map[string]*stream // request key → the stream its answer goes to
	posts        []*stream          // open POST event streams, oldest first
	get          *stream            // the GET stream (legacy: the SSE stream)
	backlog      []getEvent         // GET-stream messages with no GET stream open
	backlogBytes int
	seq          uint64     // the last GET-stream message's place
	replay       []getEvent // the last GET-stream messages, for Last-Event-ID
	replayBytes  int
	active       int       // requests being served
	idleSince    time.Time // when active last fell to zero
	// ended is set by Close under mu: a request registered after it would
	// wait for an answer no one gives (Close answered those before it), so
	// register refuses it.
	ended bool
	// The resumable POST streams by number: those still open or detached,
	// and the last maxKeptStreams that ended (kept, oldest first).
	postNum   uint64
	resumable map[uint64]*stream
	kept      []uint64

	// A pooled session (pool != "") carries the 2026-07-28 requests of one
	// caller; these are its own.
	pool       string
	upID       map[string]json.RawMessage // request key → the id the upstream sees, when it is not the client's
	lists      map[string]bool            // keys of tools/list requests awaiting answers
	progress   map[string]*stream         // progress token key → the stream of its request
	progressOf map[string]string          // request key → its progress token key
	upToken    map[string]json.RawMessage // progress token key the upstream sees → the client's token, when renamed
	// retired are the keys of requests cancelled upstream (their client
	// went away) whose answers may still come: until one does, another
	// client's request with that id is renamed, and the late answer is
	// dropped rather than taken as the other's. Bounded by maxRetired.
	retired  map[string]bool
	bindings map[string][]binding // tool → the arguments its Mcp-Param-* headers mirror
}

var _ transport.Conn = (*Session)(nil)

// ID returns the session id (Mcp-Session-Id; the sessionId query parameter
// on the legacy transport).
func (s *Session) ID() string { return s.id }

// Header returns the value the request that opened the session gave the
// header name, one of Handler.BoundHeaders ("" when it had none). Every later
// request of the session carries the same value or none.
func (s *Session) Header(name string) string { return s.bound[canonical(name)] }

// Client returns the key Handler.ClientKey gave the request that opened the
// session.
func (s *Session) Client() string { return s.client }

// Pooled reports whether the session carries the stateless (2026-07-28)
// requests of one caller rather than a client's own session.
func (s *Session) Pooled() bool { return s.pool != "" }

// Legacy reports whether the session uses the HTTP+SSE transport.
func (s *Session) Legacy() bool { return s.legacy }

// Read returns the next message the client sent; io.EOF once the session is
// closed.
func (s *Session) Read() ([]byte, error) {
	select {
	case m := <-s.in:
		return m, nil
	case <-s.done:
		return nil, io.EOF
	}
}

// send hands body to Read without waiting, and reports whether it did:
// the common case, where the three-way wait of a POST (room, the session's
// end, the client's) is not needed. A session that ended meanwhile has
// answered the request (Close answers what was registered).
func (s *Session) send(body []byte) bool {
	select {
	case s.in <- body:
		return true
	default:
		return false
	}
}

// Write sends msg to the client. A batch array is sent as its elements, each
// routed on its own. It never blocks on the client: a stream whose client
// reads too slowly is given up.
func (s *Session) Write(msg []byte) error {
	select {
	case <-s.done:
		return transport.ErrClosed
	default:
	}
	msg = bytes.TrimSpace(msg)
	if len(msg) > 0 && msg[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(msg, &elems); err == nil {
			for _, el := range elems {
				s.route(bytes.Clone(el))
			}
			return nil
		}
	}
	s.route(bytes.Clone(msg))
	return nil
}

// Close ends the session. It is safe to call more than once.
func (s *Session) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.ended = true
		for key, st := range s.waiting {
			st.push("", errorMessage(st.pending[key], codeInternalError, "MCP session closed"))
			delete(st.pending, key)
			if len(st.pending) == 0 && !st.persistent {
				st.finish() // a JSON answer is written once its stream is over
			}
		}
		n := len(s.waiting)
		s.waiting = map[string]*stream{}
		for _, st := range s.posts {
			st.finish()
		}
		for _, st := range s.resumable {
			if st.expire != nil {
				st.expire.Stop()
			}
		}
		if s.get != nil {
			s.get.finish()
		}
		s.mu.Unlock()
		s.h.release(s, n)
		close(s.done)
		s.cancel()
	})
	return nil
}

// route delivers one message from the relay.
func (s *Session) route(msg []byte) {
	info, err := parseMessage(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && info.isResponse() {
		if s.pool != "" {
			s.routeAnswer(info, msg)
			return
		}
		if st := s.waiting[info.key]; st != nil {
			delete(s.waiting, info.key)
			delete(st.pending, info.key)
			last := len(st.pending) == 0 && !st.persistent
			// Counted done before it is delivered: a client that has its
			// answer finds it no longer in flight.
			s.h.inflightDone(1)
			st.pushLast("", msg, last)
			if last {
				if st.detached { // all its answers are kept: no request left to give up
					st.detached = false
					st.expire.Stop()
				}
			}
			return
		}
		s.h.logger().Warn("dropped an answer no request awaits", "session", s.id, "id", string(info.id))
		return
	}
	if s.pool != "" {
		s.routeNotification(msg)
		return
	}
	for i := len(s.posts) - 1; i >= 0; i-- {
		if st := s.posts[i]; st.sse && len(st.pending) > 0 && !st.detached {
			if st.push("", msg) {
				return
			}
			break
		}
	}
	// The GET stream's messages are numbered and kept a while, so that a
	// client whose stream broke can resume it (Last-Event-ID); the legacy
	// transport has no such thing.
	ev := getEvent{msg: msg}
	if !s.legacy {
		s.seq++
		ev.seq = s.seq
		s.replay = append(s.replay, ev)
		s.replayBytes += len(msg)
		for len(s.replay) > maxReplay || s.replayBytes > maxReplayBytes {
			s.replayBytes -= len(s.replay[0].msg)
			s.replay = s.replay[1:]
		}
	}
	if s.get != nil && s.get.push(eventID(ev, s.legacy), msg) {
		return
	}
	if len(s.backlog) >= maxBacklog || s.backlogBytes+len(msg) > maxBacklogBytes {
		s.h.logger().Warn("dropped a server message: no stream open and the backlog is full", "session", s.id)
		return
	}
	s.backlog = append(s.backlog, ev)
	s.backlogBytes += len(msg)
}

func eventID(ev getEvent, legacy bool) string {
	if legacy {
		return ""
	}
	return ev.id()
}

// resume queues on st, a new GET stream, what its client has not seen: the
// messages after lastID when the client names one still kept, else those
// that waited for a stream. s.mu is held.
func (s *Session) resume(st *stream, lastID string) {
	n, err := strconv.ParseUint(strings.TrimPrefix(lastID, "g"), 10, 64)
	if strings.HasPrefix(lastID, "g") && err == nil && n <= s.seq && len(s.replay) > 0 && n+1 >= s.replay[0].seq {
		for _, ev := range s.replay {
			if ev.seq > n {
				st.push(ev.id(), ev.msg)
			}
		}
	} else {
		for _, ev := range s.backlog {
			st.push(eventID(ev, s.legacy), ev.msg)
		}
	}
	s.backlog, s.backlogBytes = nil, 0
}

func mustMembers(b []byte) map[string]json.RawMessage {
	ms, _ := members(b)
	return ms
}

// begin and end count a request being served, for idle expiry.
func (s *Session) begin() {
	s.mu.Lock()
	s.active++
	s.mu.Unlock()
}

func (s *Session) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idleSince = s.h.now()
	}
	s.mu.Unlock()
}

// endIfIdle reports whether the session has been idle since before t, and
// if so marks it ended in the same step: a request that found it a moment
// ago is then refused by register (a 2026-07-28 one goes on to a new
// session) rather than taken by a session about to close.
func (s *Session) endIfIdle(t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.active != 0 || len(s.waiting) != 0 || !s.idleSince.Before(t) {
		return false
	}
	s.ended = true
	return true
}

// abandon gives up a stream whose client went away: its requests still
// awaiting answers are cancelled upstream, since no one is left to read
// them. A resumable stream whose client saw an event id is detached
// instead: its client may come back for it (Last-Event-ID) within
// Handler.ResumeWindow, and only then are its requests cancelled.
//
// gen is the abandoning writer's generation: a writer another took over
// from (a client resuming the stream) abandons nothing.
func (s *Session) abandon(st *stream, gen uint64) {
	s.mu.Lock()
	st.mu.Lock()
	superseded := st.gen != gen
	st.mu.Unlock()
	if superseded {
		s.mu.Unlock()
		return
	}
	if st.num != 0 && !s.ended {
		st.mu.Lock()
		resumable := st.sent && !st.dead
		if resumable {
			st.gen++ // no writer until one resumes it
		}
		st.mu.Unlock()
		if resumable {
			s.keep(st)
			s.dropStream(st) // no longer a stream to send other messages on
			if len(st.pending) > 0 && !st.detached {
				st.detached = true
				if st.expire != nil {
					st.expire.Stop()
				}
				st.expire = time.AfterFunc(or(s.h.ResumeWindow, DefaultResumeWindow), func() { s.expireDetached(st) })
				s.h.logger().Debug("an event stream's client went away; its requests await its return", "session", s.id, "stream", st.num)
			}
			s.mu.Unlock()
			return
		}
	}
	ids := s.cancelStream(st)
	s.mu.Unlock()
	s.sendCancels(ids)
}

// expireDetached gives up a detached stream no client resumed in time.
func (s *Session) expireDetached(st *stream) {
	s.mu.Lock()
	if !st.detached || s.ended {
		s.mu.Unlock()
		return
	}
	st.detached, st.expire = false, nil
	ids := s.cancelStream(st)
	s.mu.Unlock()
	s.sendCancels(ids)
}

// track records a new resumable stream; s.mu is held.
func (s *Session) track(st *stream) {
	if s.resumable == nil {
		s.resumable = map[uint64]*stream{}
	}
	s.resumable[st.num] = st
}

// cancelledByClient forgets the requests of detached streams that msgs
// cancel (notifications/cancelled, which goes on upstream as it is): their
// client is not coming back for them, and they no longer wait out the
// resume window.
func (s *Session) cancelledByClient(msgs []msgInfo) {
	for i := range msgs {
		m := &msgs[i]
		if m.method != "notifications/cancelled" || m.id != nil {
			continue
		}
		raw, ok := member(m.params, "requestId")
		key, ok2 := idKey(raw)
		if !ok || !ok2 {
			continue
		}
		s.mu.Lock()
		if st := s.waiting[key]; st != nil && st.detached {
			delete(s.waiting, key)
			delete(st.pending, key)
			s.h.inflightDone(1)
			if len(st.pending) == 0 {
				st.finish()
				st.detached = false
				st.expire.Stop()
			}
		}
		s.mu.Unlock()
	}
}

// keep records the resumable stream st, which ended or lost its client, as
// one a client may still resume, among the last maxKeptStreams; s.mu is
// held. A detached stream (its requests still awaited) is kept until it is
// resumed or given up and does not count: the oldest of the others go, so
// that a detached stream does not make the session keep every stream
// after it (the detached ones are bounded by the requests in flight).
func (s *Session) keep(st *stream) {
	if slices.Contains(s.kept, st.num) {
		return
	}
	s.track(st)
	s.kept = append(s.kept, st.num)
	detached := func(num uint64) bool { old := s.resumable[num]; return old != nil && old.detached }
	over := len(s.kept) - maxKeptStreams
	for _, num := range s.kept {
		if detached(num) {
			over--
		}
	}
	if over <= 0 {
		return
	}
	s.kept = slices.DeleteFunc(s.kept, func(num uint64) bool {
		if over == 0 || detached(num) {
			return false
		}
		delete(s.resumable, num)
		over--
		return true
	})
}

// untrack forgets a resumable stream no client can resume; s.mu is held.
func (s *Session) untrack(st *stream) {
	if st.num != 0 && s.resumable[st.num] == st && !slices.Contains(s.kept, st.num) {
		delete(s.resumable, st.num)
	}
}

// cancelStream kills st and forgets its requests still awaiting answers,
// returning the ids the upstream knows them by; s.mu is held.
func (s *Session) cancelStream(st *stream) []json.RawMessage {
	st.kill()
	var ids []json.RawMessage
	for key, id := range st.pending {
		delete(s.waiting, key)
		if up, ok := s.upID[key]; ok {
			id = up // the upstream knows it by the handler's id
		}
		s.forget(key)
		ids = append(ids, id)
		if s.pool != "" {
			for k := range s.retired { // bounded: forget one, any
				if len(s.retired) < maxRetired {
					break
				}
				delete(s.retired, k)
			}
			s.retired[key] = true
		}
	}
	st.pending = nil
	s.dropStream(st)
	s.untrack(st)
	return ids
}

// sendCancels counts the requests of ids done and sends the upstream a
// notifications/cancelled for each.
func (s *Session) sendCancels(ids []json.RawMessage) {
	s.h.inflightDone(len(ids))
	for _, id := range ids {
		n, _ := json.Marshal(struct {
			JSONRPC string `json:"jsonrpc"`
			Method  string `json:"method"`
			Params  any    `json:"params"`
		}{"2.0", "notifications/cancelled", map[string]any{"requestId": id, "reason": "the HTTP client went away"}})
		select {
		case s.in <- n:
		case <-s.done:
			return
		}
	}
}

// dropStream forgets st; s.mu is held.
func (s *Session) dropStream(st *stream) {
	if s.get == st {
		s.get = nil
	}
	for i, p := range s.posts {
		if p == st {
			s.posts = append(s.posts[:i], s.posts[i+1:]...)
			break
		}
	}
}

// stream is one response the session writes to: a POST's answer (an event
// stream or a JSON value) or the GET (legacy: SSE) stream.
//
// A POST event stream of a session (not legacy, not pooled) is resumable:
// its events carry ids "p<num>-<seq>" and are kept (bounded), so that a
// client whose stream broke can GET it back with Last-Event-ID, from where
// it broke to its end.
type stream struct {
	sole       string // a 2026-07-28 POST's: the key of its one request
	sse        bool
	persistent bool   // the GET stream: it stays open when nothing is pending
	num        uint64 // a resumable stream's number in its session; 0 for none

	// pending maps the key of each request whose answer is still due to its
	// raw id; guarded by Session.mu, as detached and expire are.
	pending map[string]json.RawMessage
	// detached is set while a resumable stream has no writer (its client
	// went away after it saw an event id): answers are still kept for it,
	// until expire gives it up.
	detached bool
	expire   *time.Timer

	mu       sync.Mutex // guards the fields below
	q        [][]byte
	ids      []string // each queued message's event id, "" for none
	qbytes   int
	finished bool // nothing more comes: end once q is written
	dead     bool // given up: nothing more is queued
	wake     chan struct{}
	gen      uint64     // the writer's generation: a resuming writer takes over
	seq      uint64     // a resumable stream's last event number
	log      []getEvent // and its last events, for Last-Event-ID
	logBytes int
	sent     bool   // an event with an id was written: the client may resume
	written  uint64 // the last event number a writer wrote
}

func newStream(sse, persistent bool) *stream {
	return &stream{sse: sse, persistent: persistent, pending: map[string]json.RawMessage{}, wake: make(chan struct{}, 1)}
}

// signal wakes the stream's writer; st.mu is held.
func (st *stream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// push queues msg with the event id id ("" for none: a resumable stream
// gives it the next of its own); false when the stream takes nothing more.
func (st *stream) push(id string, msg []byte) bool { return st.pushLast(id, msg, false) }

// pushLast is push, finishing the stream with msg when last (in the same
// step: its writer sees the answer and the end together, and a 2026-07-28
// one can answer as JSON).
func (st *stream) pushLast(id string, msg []byte, last bool) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if last {
		defer func() { st.finished = true }()
	}
	if st.dead || st.finished {
		return false
	}
	if st.qbytes+len(msg) > maxStreamBytes {
		st.dead = true
		st.signal()
		return false
	}
	if st.num != 0 && id == "" {
		st.seq++
		id = postEventID(st.num, st.seq)
		st.log = append(st.log, getEvent{seq: st.seq, msg: msg})
		st.logBytes += len(msg)
		// Only events a writer wrote leave the log, and never the last:
		// one no client was sent (its stream detached) is kept for the
		// client's return, bounded as the queue is (maxStreamBytes).
		for (len(st.log) > maxReplay || st.logBytes > maxReplayBytes) && len(st.log) > 1 && st.log[0].seq <= st.written {
			st.logBytes -= len(st.log[0].msg)
			st.log = st.log[1:]
		}
	}
	st.q = append(st.q, msg)
	st.ids = append(st.ids, id)
	st.qbytes += len(msg)
	st.signal()
	return true
}

func (st *stream) finish() {
	st.mu.Lock()
	st.finished = true
	st.signal()
	st.mu.Unlock()
}

func (st *stream) kill() {
	st.mu.Lock()
	st.dead = true
	st.signal()
	st.mu.Unlock()
}

// writer returns what a new writer of st waits on, and its generation.
func (st *stream) writer() (chan struct{}, uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.wake, st.gen
}

// take returns what is queued, and whether the stream is over (finished
// with nothing left, or dead). mine is false, and nothing is taken, when
// the writer of generation gen was superseded.
func (st *stream) take(gen uint64) (msgs [][]byte, ids []string, over, dead, mine bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen != gen {
		return nil, nil, false, false, false
	}
	msgs, ids, st.q, st.ids, st.qbytes = st.q, st.ids, nil, nil, 0
	return msgs, ids, st.finished || st.dead, st.dead, true
}

// queued returns how many messages are queued, whether the stream is over
// (finished or dead) and whether it is dead, for the writer of generation
// gen; mine is false (and the rest zero) when that writer was superseded.
func (st *stream) queued(gen uint64) (n int, over, dead, mine bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen != gen {
		return 0, false, false, false
	}
	return len(st.q), st.finished || st.dead, st.dead, true
}

// wrote records that the writer of generation gen wrote events, ids among
// them when any is not "".
func (st *stream) wrote(gen uint64, ids []string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gen != gen {
		return
	}
	for _, id := range slices.Backward(ids) {
		if id != "" {
			st.sent = true
			if _, seq, ok := parsePostEventID(id); ok && seq > st.written {
				st.written = seq
			}
			break
		}
	}
}

// wasSent reports whether an event with an id was written.
func (st *stream) wasSent() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sent
}

// takeOver makes a new writer generation, waking and superseding the old
// writer, and queues the kept events after seq: what the client resuming
// from seq has not seen.
func (st *stream) takeOver(seq uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	close(st.wake)
	st.wake = make(chan struct{}, 1)
	st.gen++
	st.q, st.ids, st.qbytes = nil, nil, 0
	for _, ev := range st.log {
		if ev.seq > seq {
			st.q = append(st.q, ev.msg)
			st.ids = append(st.ids, postEventID(st.num, ev.seq))
			st.qbytes += len(ev.msg)
		}
	}
	st.signal()
}

// postEventID is the id of event seq of resumable POST stream num.
func postEventID(num, seq uint64) string {
	b := make([]byte, 0, 24)
	b = append(b, 'p')
	b = strconv.AppendUint(b, num, 10)
	b = append(b, '-')
	return string(strconv.AppendUint(b, seq, 10))
}

// parsePostEventID reads a POST stream's event id.
func parsePostEventID(id string) (num, seq uint64, ok bool) {
	rest, ok := strings.CutPrefix(id, "p")
	n, q, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 {
		return 0, 0, false
	}
	num, err1 := strconv.ParseUint(n, 10, 64)
	seq, err2 := strconv.ParseUint(q, 10, 64)
	return num, seq, err1 == nil && err2 == nil && num > 0
}

// forget drops what a pooled session kept about the request key; s.mu is
// held.
func (s *Session) forget(key string) {
	if s.pool == "" {
		return
	}
	delete(s.upID, key)
	delete(s.lists, key)
	if tok, ok := s.progressOf[key]; ok {
		delete(s.progressOf, key)
		delete(s.progress, tok)
		delete(s.upToken, tok)
	}
}

// routeAnswer delivers an answer in a pooled session, under the client's
// own id; s.mu is held.
func (s *Session) routeAnswer(info msgInfo, msg []byte) {
	st := s.waiting[info.key]
	if st == nil {
		if s.retired[info.key] {
			delete(s.retired, info.key) // the late answer of a cancelled request
			return
		}
		s.h.logger().Warn("dropped an answer no request awaits", "session", s.id, "id", string(info.id))
		return
	}
	if _, renamed := s.upID[info.key]; renamed {
		if nb, ok := replaceMember(msg, []string{"id"}, st.pending[info.key]); ok {
			msg = nb
		}
	}
	if s.lists[info.key] {
		s.learnBindings(msg)
	}
	s.forget(info.key)
	delete(s.waiting, info.key)
	delete(st.pending, info.key)
	s.h.inflightDone(1) // before delivery, as in route
	st.pushLast("", msg, len(st.pending) == 0)
}

// routeNotification delivers a notification in a pooled session: one of a
// subscription to that subscriptions/listen stream, a progress notification
// to its request's stream, anything else to the newest stream still awaiting
// an answer. 2026-07-28 has no other stream, so with none open it is
// dropped. s.mu is held.
func (s *Session) routeNotification(msg []byte) {
	info, _ := parseMessage(msg)
	var target *stream
	meta := metaOf(&info)
	if sub, ok := meta[MetaSubscriptionID]; ok {
		k, _ := idKey(sub)
		target = s.waiting[k]
		if target == nil {
			return // that subscription is over
		}
		if up, renamed := s.upID[k]; renamed && bytes.Equal(bytes.TrimSpace(sub), up) {
			if nb, ok := replaceMember(msg, []string{"params", "_meta", MetaSubscriptionID}, target.pending[k]); ok {
				msg = nb
			}
		}
	} else if info.method == "notifications/progress" {
		// Progress belongs to its request's stream alone: for a request
		// that is over, or one answered as JSON, it is dropped, never
		// handed to another client's stream.
		ms, _ := members(info.params)
		k, ok := idKey(ms["progressToken"])
		if target = s.progress[k]; !ok || target == nil {
			return
		}
		if orig, renamed := s.upToken[k]; renamed {
			if nb, ok := replaceMember(msg, []string{"params", "progressToken"}, orig); ok {
				msg = nb
			}
		}
	}
	if target != nil && !target.sse {
		return // a JSON answer carries the answer alone
	}
	if target == nil {
		for i := len(s.posts) - 1; i >= 0; i-- {
			if st := s.posts[i]; st.sse && len(st.pending) > 0 {
				target = st
				break
			}
		}
	}
	if target == nil || !target.push("", msg) {
		s.h.logger().Debug("dropped a server notification: no stream of the caller is open", "session", s.id)
	}
}

// over reports whether the session is closed or marked to close: it takes
// no more requests.
func (s *Session) over() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// closed reports whether the session has ended.
func (s *Session) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
