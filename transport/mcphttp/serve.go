package mcphttp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// post serves a POST of streamable HTTP (legacy false) or to the legacy
// message endpoint.
func (h *Handler) post(w http.ResponseWriter, r *http.Request, legacy bool) {
	var s *Session
	sid := r.Header.Get(HeaderSessionID)
	if legacy {
		sid = r.URL.Query().Get("sessionId")
		if sid == "" {
			h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: the sessionId query parameter is required")
			return
		}
	}
	if sid != "" {
		if s = h.lookup(w, r, sid, legacy); s == nil {
			return
		}
		if !legacy && slices.Contains(StatelessVersions, r.Header.Get(HeaderProtocolVersion)) {
			h.refuse(w, r, http.StatusBadRequest, nil, codeInvalidRequest, "Bad Request: protocol version "+strconv.Quote(r.Header.Get(HeaderProtocolVersion))+" has no sessions; send no "+HeaderSessionID)
			return
		}
	}
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	msgs, batch, err := parseBody(body)
	if err != nil {
		e := err.(*errBody)
		h.refuse(w, r, http.StatusBadRequest, nil, e.code, e.msg)
		return
	}
	if !legacy && s == nil && isStateless(r, msgs, batch) {
		h.postStateless(w, r, body, msgs, batch)
		return
	}
	if !legacy && !h.versionOK(w, r) {
		return
	}
	wantJSON, wantSSE := accepts(r)
	if !legacy && !wantJSON && !wantSSE {
		h.refuse(w, r, http.StatusNotAcceptable, nil, codeInvalidRequest, "Not Acceptable: the client must accept application/json or text/event-stream")
		return
	}
	if reason := checkHeaders(r, msgs, batch); reason != "" {
		h.refuse(w, r, http.StatusBadRequest, firstID(msgs), CodeHeaderMismatch, "Bad Request: "+reason)
		return
	}
	created := false
	if s == nil {
		if batch || !msgs[0].isRequest() || msgs[0].method != "initialize" {
			h.refuse(w, r, http.StatusBadRequest, firstID(msgs), codeInvalidRequest, "Bad Request: "+HeaderSessionID+" header is required (only initialize opens a session)")
			return
		}
		if s = h.newSession(w, r, false, ""); s == nil {
			return
		}
		created = true
	}
	s.begin()
	defer s.end()
	s.cancelledByClient(msgs)

	var st *stream
	n := 0
	for _, m := range msgs {
		if m.isRequest() {
			n++
		}
	}
	if n > 0 {
		if legacy {
			st = nil // answers go to the session's SSE stream
		} else {
			st = newStream(wantSSE, false)
		}
		if status, msg := s.register(st, msgs, n); status != 0 {
			if created && status == http.StatusNotFound {
				// Its Accept returned at once: the server did not start.
				status, msg = http.StatusBadGateway, "Bad Gateway: the MCP session ended as it opened (its server did not start)"
			}
			h.refuse(w, r, status, firstID(msgs), codeInvalidRequest, msg)
			if created {
				s.Close()
			}
			return
		}
	}
	if !s.send(body) {
		select {
		case s.in <- body:
		case <-s.done:
			h.refuse(w, r, http.StatusNotFound, nil, codeInvalidRequest, "Not Found: the MCP session ended")
			return
		case <-r.Context().Done():
			s.unregister(st, msgs) // never sent: nothing to cancel
			return
		}
	}
	if st == nil {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if created {
		w.Header().Set(HeaderSessionID, s.id)
	}
	if st.sse && wantJSON && !batch && n == 1 {
		h.serveAnswer(w, r, s, st)
		return
	}
	if st.sse {
		h.serveStream(w, r, s, st, "")
		return
	}
	h.serveJSON(w, r, s, st, batch)
}

// serveAnswer answers a POST of one request from a client that accepts
// both answers: as one JSON value when the answer is all there is to send
// by the time headers go out (headerDelay), else as the request's event
// stream. An answer complete at once has nothing to resume, and one JSON
// value costs both sides less than a stream.
func (h *Handler) serveAnswer(w http.ResponseWriter, r *http.Request, s *Session, st *stream) {
	wake, gen := st.writer()
	timer := time.NewTimer(headerDelay)
	defer timer.Stop()
	for {
		queued, over, dead, mine := st.queued(gen)
		switch {
		case !mine:
			// A client resuming the stream (Last-Event-ID) took it over:
			// this POST ends as the empty event stream a superseded
			// writer leaves; its answer goes to the resumer.
			hdr := w.Header()
			hdr["Content-Type"], hdr["Cache-Control"] = valSSE, valNoCache
			w.WriteHeader(http.StatusOK)
			return
		case over && queued == 1 && !dead:
			// Finished: nothing more is queued on st, and no other writer
			// takes it (only one resuming a stream this one abandoned).
			msgs, ids, _, _, mine := st.take(gen)
			if !mine {
				return
			}
			if len(msgs) != 1 {
				// Not reached (queued said one); still, every message goes out.
				w.Header()["Content-Type"] = valSSE
				var buf []byte
				for i, m := range msgs {
					buf = appendEvent(buf, "message", ids[i], m)
				}
				h.writeDeadline(http.NewResponseController(w))
				w.Write(buf)
				return
			}
			s.mu.Lock()
			s.dropStream(st)
			s.untrack(st)
			s.mu.Unlock()
			w.Header()["Content-Type"] = valJSON
			h.writeDeadline(http.NewResponseController(w))
			w.Write(msgs[0])
			return
		case queued > 0 || over:
			// What came first is no lone answer (or the stream was given
			// up: its writer abandons it). The same writer goes on: one
			// taking the stream over meanwhile is not joined by another.
			h.serveStreamAs(w, r, s, st, "", 0, wake, gen)
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			h.serveStreamAs(w, r, s, st, "", 0, wake, gen) // the headers are due
			return
		case <-r.Context().Done():
			s.abandon(st, gen)
			return
		}
	}
}

func firstID(msgs []msgInfo) json.RawMessage {
	if len(msgs) == 1 {
		return msgs[0].id
	}
	return nil
}

// register records the n requests of msgs as awaiting answers on st (the
// session's SSE stream when st is nil), within the limits; a refusal is
// returned as a status and message.
func (s *Session) register(st *stream, msgs []msgInfo, n int) (int, string) {
	h := s.h
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return http.StatusNotFound, "Not Found: the MCP session ended"
	}
	target := st
	if target == nil {
		target = s.get
		if target == nil {
			return http.StatusNotFound, "Not Found: the session's SSE stream is closed"
		}
	}
	if len(s.waiting)+n > or(h.MaxInFlight, DefaultMaxInFlight) {
		return http.StatusTooManyRequests, "Too Many Requests: too many requests in flight in this MCP session"
	}
	for i, m := range msgs {
		if !m.isRequest() {
			continue
		}
		if _, dup := s.waiting[m.key]; dup {
			return http.StatusBadRequest, "Bad Request: id is already in use by a pending request"
		}
		for _, o := range msgs[:i] {
			if o.isRequest() && o.key == m.key {
				return http.StatusBadRequest, "Bad Request: two requests of the batch have the same id"
			}
		}
	}
	if total := h.inflight.Add(int64(n)); total > int64(or(h.MaxInFlightTotal, DefaultMaxInFlightTotal)) {
		h.inflight.Add(int64(-n))
		return http.StatusServiceUnavailable, "Service Unavailable: too many requests in flight"
	}
	for _, m := range msgs {
		if m.isRequest() {
			s.waiting[m.key] = target
			target.pending[m.key] = m.id
		}
	}
	if st != nil && st.sse {
		s.posts = append(s.posts, st)
		s.postNum++
		st.num = s.postNum // resumable: its events get ids
		s.track(st)
	}
	return 0, ""
}

// unregister forgets the requests of msgs, which were never sent on.
func (s *Session) unregister(st *stream, msgs []msgInfo) {
	s.mu.Lock()
	if st != nil {
		s.dropStream(st)
		s.untrack(st) // numbered for resumption as it registered; no client can resume it
	}
	n := 0
	for _, m := range msgs {
		if st := s.waiting[m.key]; m.isRequest() && st != nil {
			delete(s.waiting, m.key)
			delete(st.pending, m.key)
			s.forget(m.key)
			n++
		}
	}
	s.mu.Unlock()
	s.h.inflightDone(n)
}

// headerDelay is how long a POST's event stream may wait for its first
// message before its headers are sent alone.
const headerDelay = 200 * time.Millisecond

func (h *Handler) writeDeadline(rc *http.ResponseController) {
	rc.SetWriteDeadline(h.now().Add(or(h.WriteTimeout, DefaultWriteTimeout)))
}

// serveStream writes st as an event stream until it is over or the client
// goes away (then its requests are cancelled upstream). A first event, when
// given, is written before any message (the legacy endpoint event).
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, s *Session, st *stream, first string) {
	h.serveStreamAfter(w, r, s, st, first, headerDelay)
}

// serveStreamAfter is serveStream, a POST's headers going out alone after
// delay when no message came by then.
func (h *Handler) serveStreamAfter(w http.ResponseWriter, r *http.Request, s *Session, st *stream, first string, delay time.Duration) {
	wake, gen := st.writer()
	h.serveStreamAs(w, r, s, st, first, delay, wake, gen)
}

// serveStreamAs is serveStreamAfter for the writer of generation gen, which
// waits on wake.
func (h *Handler) serveStreamAs(w http.ResponseWriter, r *http.Request, s *Session, st *stream, first string, delay time.Duration, wake chan struct{}, gen uint64) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // the body is read; the stream may last
	hdr := w.Header()
	hdr["Content-Type"], hdr["Cache-Control"], hdr["X-Accel-Buffering"] = valSSE, valNoCache, valNo
	w.WriteHeader(http.StatusOK)
	var buf []byte
	// A stream that may stay quiet is opened at once; a POST's headers go
	// out with its first message (one write fewer per call), or after
	// headerDelay when the answer takes longer.
	// One timer serves both: first the header delay, then the keepalives.
	keepAlive := or(h.KeepAlive, DefaultKeepAlive)
	headersDue := first == "" && !st.persistent
	wait := keepAlive
	if headersDue {
		wait = delay
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	if !headersDue {
		buf = append(buf, first...)
		h.writeDeadline(rc)
		if _, err := w.Write(buf); err != nil || rc.Flush() != nil {
			s.abandon(st, gen)
			return
		}
	}
	for {
		msgs, ids, over, dead, mine := st.take(gen)
		if !mine {
			return // a client resuming the stream took it over
		}
		buf = buf[:0]
		for i, m := range msgs {
			buf = appendEvent(buf, "message", ids[i], m)
		}
		if dead {
			h.logger().Warn("gave up an event stream: its client reads too slowly", "session", s.id)
			s.abandon(st, gen)
			return
		}
		if len(buf) > 0 {
			// The last write of a stream that is over is not flushed: the
			// server sends it with the response's end, in one write.
			h.writeDeadline(rc)
			if _, err := w.Write(buf); err != nil || (!over && rc.Flush() != nil) {
				s.abandon(st, gen)
				return
			}
			if st.num != 0 {
				st.wrote(gen, ids)
			}
		}
		if over {
			s.mu.Lock()
			s.dropStream(st)
			if st.num != 0 && st.wasSent() {
				s.keep(st) // a client whose stream broke at its end may resume it yet
			} else {
				s.untrack(st)
			}
			s.mu.Unlock()
			return
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			s.abandon(st, gen)
			return
		case <-timer.C:
			timer.Reset(keepAlive)
			if headersDue {
				headersDue = false
				if rc.Flush() != nil {
					s.abandon(st, gen)
					return
				}
				continue
			}
			h.writeDeadline(rc)
			if _, err := w.Write([]byte(": keepalive\n\n")); err != nil || rc.Flush() != nil {
				s.abandon(st, gen)
				return
			}
		}
	}
}

// serveJSON waits for every answer st awaits and writes them as one JSON
// value (an array for a batch).
func (h *Handler) serveJSON(w http.ResponseWriter, r *http.Request, s *Session, st *stream, batch bool) {
	wake, gen := st.writer()
	var got [][]byte
	for {
		msgs, _, over, _, _ := st.take(gen)
		got = append(got, msgs...)
		if over {
			break
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			s.abandon(st, gen)
			return
		}
	}
	var body []byte
	if batch || len(got) != 1 {
		body = append(body, '[')
		for i, m := range got {
			if i > 0 {
				body = append(body, ',')
			}
			body = append(body, m...)
		}
		body = append(body, ']')
	} else {
		body = got[0]
	}
	w.Header()["Content-Type"] = valJSON
	h.writeDeadline(http.NewResponseController(w))
	w.Write(body)
}

// serveGet opens a session's GET stream.
func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) {
	if h.refuseStateless(w, r) {
		return
	}
	if _, sse := accepts(r); !sse {
		h.refuse(w, r, http.StatusNotAcceptable, nil, codeInvalidRequest, "Not Acceptable: the GET stream is text/event-stream")
		return
	}
	s := h.lookup(w, r, r.Header.Get(HeaderSessionID), false)
	if s == nil || !h.versionOK(w, r) {
		return
	}
	lastID := r.Header.Get("Last-Event-ID")
	if num, seq, ok := parsePostEventID(lastID); ok {
		h.resumePost(w, r, s, num, seq)
		return
	}
	st := newStream(true, true)
	h.mu.Lock() // before s.mu: the lock order is h.mu, then s.mu
	closing := h.closing
	h.mu.Unlock()
	s.mu.Lock()
	switch {
	case s.ended:
		s.mu.Unlock()
		h.refuse(w, r, http.StatusNotFound, nil, codeInvalidRequest, "Not Found: the MCP session ended")
		return
	case s.get != nil && lastID != "":
		// A client resuming its stream knows the old one broke, even if
		// this side has not noticed yet: the new one takes over.
		old := s.get
		old.kill()
		s.dropStream(old)
	case s.get != nil:
		s.mu.Unlock()
		h.refuse(w, r, http.StatusConflict, nil, codeInvalidRequest, "Conflict: the session's GET stream is already open")
		return
	}
	if closing {
		s.mu.Unlock()
		h.refuse(w, r, http.StatusServiceUnavailable, nil, codeInternalError, "Service Unavailable: shutting down")
		return
	}
	s.get = st
	s.resume(st, lastID)
	s.active++
	s.mu.Unlock()
	defer s.end()
	h.serveStream(w, r, s, st, "")
}

// resumePost serves a GET resuming POST event stream num after its event
// seq: the events the client missed, then the rest of that stream, ending
// with it. A stream the session no longer keeps is an event stream that
// ends at once: the client learns its requests will get no answer there.
func (h *Handler) resumePost(w http.ResponseWriter, r *http.Request, s *Session, num, seq uint64) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		h.refuse(w, r, http.StatusNotFound, nil, codeInvalidRequest, "Not Found: the MCP session ended")
		return
	}
	st := s.resumable[num]
	if st == nil {
		s.mu.Unlock()
		h.logger().Info("a client resumed an event stream no longer kept", "session", s.id, "stream", num)
		hdr := w.Header()
		hdr["Content-Type"], hdr["Cache-Control"] = valSSE, valNoCache
		w.WriteHeader(http.StatusOK)
		return
	}
	if st.detached {
		st.detached = false
		st.expire.Stop()
		st.expire = nil
	}
	st.takeOver(seq)
	if len(st.pending) > 0 && !slices.Contains(s.posts, st) {
		s.posts = append(s.posts, st)
	}
	s.active++
	s.mu.Unlock()
	defer s.end()
	h.logger().Debug("a client resumed an event stream", "session", s.id, "stream", num, "after", seq)
	h.serveStream(w, r, s, st, "")
}

// serveDelete ends a session.
func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) {
	if h.refuseStateless(w, r) {
		return
	}
	s := h.lookup(w, r, r.Header.Get(HeaderSessionID), false)
	if s == nil {
		return
	}
	s.Close()
	w.WriteHeader(http.StatusNoContent)
}

// serveSSE opens a legacy HTTP+SSE session: its first event names the URL to
// POST to, and the session lasts as long as the stream.
func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request) {
	if _, sse := accepts(r); !sse {
		h.refuse(w, r, http.StatusNotAcceptable, nil, codeInvalidRequest, "Not Acceptable: the SSE stream is text/event-stream")
		return
	}
	s := h.newSession(w, r, true, "")
	if s == nil {
		return
	}
	defer s.Close()
	st := newStream(true, true)
	s.mu.Lock()
	s.get = st
	s.active++
	s.mu.Unlock()
	defer s.end()
	endpoint := orPath(h.MessagePath, "/message") + "?sessionId=" + url.QueryEscape(s.id)
	h.serveStream(w, r, s, st, string(appendEvent(nil, "endpoint", "", []byte(endpoint))))
}

// refuseStateless answers 405 to a GET or DELETE of 2026-07-28, which has
// neither the GET stream nor sessions to end (subscriptions/listen is a POST).
func (h *Handler) refuseStateless(w http.ResponseWriter, r *http.Request) bool {
	if !statelessHeader(r.Header.Get(HeaderProtocolVersion)) {
		return false
	}
	w.Header().Set("Allow", "POST")
	h.refuse(w, r, http.StatusMethodNotAllowed, nil, codeInvalidRequest, "Method Not Allowed: protocol version "+strconv.Quote(r.Header.Get(HeaderProtocolVersion))+" has no GET stream and no sessions; POST subscriptions/listen instead")
	return true
}
