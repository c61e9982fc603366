package mcpproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/internal/workpool"
	"github.com/tenuo-mcp/tenuo-mcp/transport"
)

// JSON-RPC error codes the proxy answers with.
const (
	CodeParseError       = -32700 // the message is not JSON
	CodeInvalidRequest   = -32600 // not a valid JSON-RPC message here
	CodeMethodNotFound   = -32601 // a look-alike of an intercepted method
	CodeInvalidParams    = -32602 // malformed tools/call params or Tenuo envelope
	CodeInternalError    = -32603 // upstream gone, proxy shutting down
	CodeAccessDenied     = -32001 // the warrant does not allow the call
	CodeApprovalRequired = -32002 // the call needs approvals it lacks
)

// Defaults for the Proxy's zero-valued limits.
const (
	DefaultMaxInFlight   = 64
	DefaultDrainTimeout  = 10 * time.Second
	DefaultShutdownGrace = 5 * time.Second
)

// ErrUpstreamExited is returned by Relay when the upstream server went away
// before the client did.
var ErrUpstreamExited = errors.New("mcpproxy: upstream MCP server exited")

// Call is a tools/call request as the authorization hook sees it. It must not
// be modified.
type Call struct {
	// ID is the client's request id, raw.
	ID json.RawMessage
	// Name is the tool's name.
	Name string
	// Arguments is params.arguments as sent, without arguments._tenuo; nil
	// when the call has no arguments.
	Arguments json.RawMessage
	// Tenuo is the envelope from params._meta.tenuo or, failing that,
	// params.arguments._tenuo; nil when the call carries neither.
	Tenuo *enforce.Envelope
	// Params is the original params object, read-only.
	Params json.RawMessage

	stateless     bool                 // a 2026-07-28 (or later) request
	requestState  enforce.RequestState // params.requestState, when present
	taskAugmented bool                 // params.task (2025-11-25 task-augmented call)
}

// Verdict is the authorization hook's answer for one call.
type Verdict struct {
	// Allow forwards the call.
	Allow bool
	// Code is the JSON-RPC error code of a denial: CodeAccessDenied (the
	// default when zero), CodeApprovalRequired or CodeInvalidParams.
	Code int
	// Message is the error message of a denial ("Access denied" when empty).
	Message string
	// Data, when set, becomes error.data; it must be valid JSON.
	Data json.RawMessage
	// AuditOnly, with Allow false, forwards the call all the same and only
	// logs the denial (shadow mode).
	AuditOnly bool
}

// Refusal is a client message the relay refused on its own.
type Refusal struct {
	// Method is the message's method as decoded, "" when it has none or it
	// could not be read.
	Method string
	// ID is the request id answered, nil when there is none or it is unusable.
	ID json.RawMessage
	// Code is the JSON-RPC error code answered; 0 when the message was
	// dropped unanswered (a notification, or an answer to the server).
	Code int
	// Reason is the error message (or why it was dropped). It names no
	// argument value.
	Reason string
	// Context is the context of the session the message came in (the one
	// Relay was given, with its values), so that OnRefused can tell which
	// session to name in its record; nil for a refusal made outside a
	// Relay.
	Context context.Context
}

// ListRequest is a tools/list request as the filter hook sees it.
type ListRequest struct {
	// Tenuo is the envelope from params._meta.tenuo, or nil.
	Tenuo *enforce.Envelope
	// Params is the original params, read-only; nil when absent.
	Params json.RawMessage
}

// Proxy relays MCP sessions between clients and upstream servers. Set its
// fields before the first Relay and don't change them afterwards; one Proxy
// serves any number of sessions at once, each with its own Relay.
type Proxy struct {
	// AuthorizeCall decides each tools/call. It runs in its own goroutine;
	// ctx is cancelled when the client cancels the request (without
	// QuickHooks: a quick hook is never waited on, so a cancelled call is
	// simply not forwarded) or the proxy stops.
	// A nil AuthorizeCall, a nil Verdict or a panic denies.
	AuthorizeCall func(ctx context.Context, call *Call) *Verdict

	// FilterTools returns, for one tools/list request, which tool names the
	// answer may show. A nil FilterTools, a nil keep function or a panic hides
	// every tool. Hiding is not enforcement: AuthorizeCall must deny hidden
	// tools too.
	FilterTools func(ctx context.Context, req *ListRequest) (keep func(name string) bool)

	// OnRefused, when set, is told of each client message the relay refused
	// itself, before any hook could decide it: a tools/call refused as
	// malformed (-32602), an id-less tools/call or tools/list (dropped), a
	// look-alike of an intercepted method (-32601), a message that is not
	// JSON-RPC, a tasks/* request (or task subscription) naming a task no
	// call in the session created (-32602) or whose call's warrant no longer
	// verifies (-32001). Every refusal can so be audited; r.Context names
	// the session. It must not block.
	OnRefused func(r *Refusal)

	// DenyAsResult answers a denied call with a CallToolResult
	// {"content":[{"type":"text","text":message}],"isError":true} instead of a
	// JSON-RPC error, for clients that show only tool results to the model.
	// Malformed requests are always JSON-RPC errors.
	DenyAsResult bool

	// Log receives one line per dropped message and lifecycle event (and,
	// at debug level, each denial, which the audit hook records anyway).
	// Nil discards.
	Log *slog.Logger

	// QuickHooks says that AuthorizeCall never blocks: it computes its
	// answer and returns (as Hooks' enforcement point does). A tools/call is
	// then checked on the goroutine that reads the client when no further
	// client message is already waiting, saving a hand-off per call; when one
	// is, the check runs on a worker of its own, as it always does without
	// QuickHooks, so that no message waits behind another's check.
	QuickHooks bool

	// MaxInFlight bounds the hook goroutines running at once
	// (DefaultMaxInFlight when zero); past it the proxy stops reading the
	// client until one finishes.
	MaxInFlight int

	// Drain, when closed, makes every Relay stop taking requests and end as
	// at the client's EOF: requests in flight are answered (within
	// DrainTimeout), new ones refused with an error, then the upstream is
	// shut down and Relay returns nil. A graceful shutdown (SIGTERM) closes
	// it; nil never drains.
	Drain <-chan struct{}

	// DrainTimeout bounds how long, after the client's EOF, requests in flight
	// may take to be answered (DefaultDrainTimeout when zero).
	DrainTimeout time.Duration

	// ShutdownGrace is each stage of the upstream's shutdown: after its stdin
	// closes, and after SIGTERM (DefaultShutdownGrace when zero).
	ShutdownGrace time.Duration
}

type kind int

const (
	kindPlain kind = iota // relayed as is
	kindInit              // initialize: its result names the protocol version
	kindList              // tools/list: its result is filtered
	kindCall              // tools/call: checked before forwarding
	kindTasks             // tasks/list: its result is filtered to the session's tasks
)

// pending is a client request awaiting its answer.
type pending struct {
	key    string
	id     json.RawMessage
	kind   kind
	ctx    context.Context
	cancel context.CancelFunc

	// keep is set before keepReady is closed (kindList).
	keep      func(string) bool
	keepReady chan struct{}

	// stateless says the request named 2026-07-28 or later in
	// _meta["io.modelcontextprotocol/protocolVersion"]: results the proxy
	// makes or rewrites for it follow that version.
	stateless bool
	// follow is what the enforcement point left for after the answer
	// (kindList, kindCall); nil when the hooks are not an enforce.Point's.
	follow *enforce.Followup

	// fwd orders forwarding a checked call against its cancellation: either
	// the call is written upstream before the cancellation is handled, or it is
	// never written.
	fwd       sync.Mutex
	cancelled bool // guarded by fwd
	sent      bool // guarded by fwd: a checked call was written upstream
}

// session is the state of one Relay.
type session struct {
	p        *Proxy
	client   transport.Conn
	upstream transport.Conn
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{}
	workers  *workpool.Pool // the hook workers (run)
	hooks    sync.WaitGroup

	stopped atomic.Bool
	closing atomic.Bool // Drain closed: new client requests are refused

	// upMu is held by the upstream loop while it handles one message, so
	// that drain can wait for an answer being written.
	upMu sync.Mutex

	// upReplies holds the relay's own answers to server requests it
	// refused (see replyUpstream); one goroutine writes them.
	upReplies    chan []byte
	upReplyStart sync.Once

	mu      sync.Mutex // guards pending, idle and version
	pending map[string]*pending
	// retired holds the ids of requests the client cancelled after they
	// were written upstream, until the server answers them: the id is
	// refused meanwhile, and the late answer dropped, so that it is never
	// taken for the answer to a new request that reused the id; each with
	// its sequence number in retiredOrder. Past maxRetired the oldest go.
	retired map[string]uint64
	// retiredOrder is the retired ids in order of retirement, each with the
	// sequence number it was retired under (an entry whose number the map
	// no longer holds is stale), so that past maxRetired the oldest goes.
	retiredOrder []retiredID
	retiredSeq   uint64
	idle         chan struct{} // closed when pending empties; nil unless draining
	version      string        // negotiated protocol version, from initialize

	// tasks are the task ids the server returned for calls the relay let
	// through, each with what re-checks the warrant that allowed the call
	// (tasks.go); taskOrder is their order of creation, for the bound.
	tasks     map[string]*enforce.Followup
	taskOrder []string
}

// Relay relays one session between client (the agent's side) and upstream
// (the real MCP server's side) until the client reaches EOF (then requests
// in flight drain and the upstream is shut down), the upstream goes away
// (then every pending request is answered with an error and Relay returns
// an error wrapping ErrUpstreamExited that says how it exited), or ctx is
// done. Relay does not close client. It shuts upstream down with
// Shutdown(ShutdownGrace) when upstream has that method (as
// *transport.Process does), else with Close.
func (p *Proxy) Relay(ctx context.Context, client, upstream transport.Conn) error {
	if client == nil || upstream == nil {
		return errors.New("mcpproxy: Relay needs a client and an upstream connection")
	}
	s := &session{p: p, client: client, upstream: upstream, log: orDiscard(p.Log), pending: map[string]*pending{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	defer s.cancel()
	s.sem = make(chan struct{}, orDefault(p.MaxInFlight, DefaultMaxInFlight))
	s.workers = workpool.New(workerIdle, s.ctx.Done(), nil)

	upDone := make(chan error, 1)
	go func() { upDone <- s.upstreamLoop() }()
	cliDone := make(chan error, 1)
	go func() { cliDone <- s.clientLoop() }()

	var cliErr error
	select {
	case err := <-upDone:
		return s.upstreamGone(err)
	case <-ctx.Done():
		s.stop("MCP proxy stopped")
		s.shutdownUpstream()
		return ctx.Err()
	case cliErr = <-cliDone:
		s.log.Debug("client input ended; draining", "err", cliErr)
	case <-p.Drain:
		s.closing.Store(true)
		s.log.Info("shutting down: requests in flight are answered, new ones refused")
	}
	if upErr, died := s.drain(upDone); died {
		return s.upstreamGone(upErr)
	}
	s.stop("MCP proxy shutting down")
	err := s.shutdownUpstream()
	if cliErr != nil && !errors.Is(cliErr, io.EOF) {
		err = errors.Join(fmt.Errorf("mcpproxy: reading client: %w", cliErr), err)
	}
	return err
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// drain waits until no request is pending, DrainTimeout passes, or the
// upstream dies (died is then true).
func (s *session) drain(upDone <-chan error) (upErr error, died bool) {
	t := time.NewTimer(orDefault(s.p.DrainTimeout, DefaultDrainTimeout))
	defer t.Stop()
	s.mu.Lock()
	idle := make(chan struct{})
	if len(s.pending) == 0 {
		close(idle)
	} else {
		s.idle = idle
	}
	s.mu.Unlock()
	// A request leaves pending just before its answer is written: a hook
	// writes after it claimed the request, the upstream loop after it took
	// it. Wait for those writes too, so that no answer is lost at exit.
	flushed := make(chan struct{})
	go func() {
		select {
		case <-idle:
		case <-s.ctx.Done(): // stopped: nothing more is written
			return
		}
		s.hooks.Wait()
		s.upMu.Lock()
		s.upMu.Unlock()
		s.flushClient() // and what the upstream loop held back for a shared write
		close(flushed)
	}()
	select {
	case <-flushed:
	case <-t.C:
		s.log.Warn("drain timeout: answering requests still in flight with an error")
	case err := <-upDone:
		return err, true
	}
	return nil, false
}

// upstreamGone ends the session after the upstream's stream ended.
func (s *session) upstreamGone(readErr error) error {
	s.stop("upstream MCP server exited")
	detail := s.upstreamExit(readErr)
	s.log.Error("upstream MCP server exited", "exit", detail)
	return fmt.Errorf("%w: %s", ErrUpstreamExited, detail)
}

// upstreamExit says how the upstream ended, reaping it when it is a process.
func (s *session) upstreamExit(readErr error) string {
	type waiter interface{ Wait() error }
	w, ok := s.upstream.(waiter)
	if !ok {
		s.upstream.Close()
		if readErr == nil || errors.Is(readErr, io.EOF) {
			return "stream closed"
		}
		return readErr.Error()
	}
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	t := time.NewTimer(orDefault(s.p.ShutdownGrace, DefaultShutdownGrace))
	defer t.Stop()
	var err error
	select {
	case err = <-done:
	case <-t.C: // it closed stdout but lives on
		s.shutdownUpstream()
		err = <-done
	}
	s.upstream.Close()
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// shutdownUpstream stops the upstream in order.
func (s *session) shutdownUpstream() error {
	type shutdowner interface{ Shutdown(time.Duration) error }
	if sd, ok := s.upstream.(shutdowner); ok {
		if err := sd.Shutdown(orDefault(s.p.ShutdownGrace, DefaultShutdownGrace)); err != nil {
			return fmt.Errorf("mcpproxy: upstream shutdown: %w", err)
		}
		return nil
	}
	return s.upstream.Close()
}

// stop answers every pending request with an internal error, cancels the
// hooks and makes the loops discard what they read from now on.
func (s *session) stop(reason string) {
	s.stopped.Store(true)
	s.mu.Lock()
	var all []*pending
	for k, e := range s.pending {
		all = append(all, e)
		delete(s.pending, k)
	}
	s.mu.Unlock()
	for _, e := range all {
		s.markCancelled(e)
		s.replyError(e.id, CodeInternalError, reason, nil)
	}
	s.cancel()
}

// addPending registers a client request; false when its id is already
// pending. setup, when set, completes the entry before it is registered:
// once registered, the upstream loop may take it (a server can answer an
// id before the request reaches it), so nothing is written to it after.
func (s *session) addPending(id json.RawMessage, k kind, setup ...func(*pending)) (*pending, bool) {
	key, ok := idKey(id)
	if !ok {
		return nil, false
	}
	e := &pending{key: key, id: id, kind: k}
	if s.p.QuickHooks {
		// A quick hook runs to its end in microseconds and watches no
		// context: a cancellation is honoured by e.cancelled alone, and a
		// cancellable context per request (two allocations, and a child
		// registered with the session's) buys nothing.
		e.ctx, e.cancel = s.ctx, noCancel
	} else {
		e.ctx, e.cancel = context.WithCancel(s.ctx)
	}
	for _, f := range setup {
		f(e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, dup := s.pending[key]
	if _, r := s.retired[key]; dup || r {
		e.cancel()
		return nil, false
	}
	s.pending[key] = e
	return e, true
}

func noCancel() {}

// takeSent removes and returns the pending request with the given key, for
// an answer from the server: a tools/call that was not written upstream yet
// (it is being checked) stays pending, and unsent is true. e.fwd is taken
// without s.mu held (decide holds e.fwd while it writes, and a failed write
// takes s.mu).
func (s *session) takeSent(key string) (e *pending, unsent bool) {
	s.mu.Lock()
	e = s.pending[key]
	s.mu.Unlock()
	if e == nil {
		return nil, false
	}
	if e.kind == kindCall {
		if !e.fwd.TryLock() {
			// Its forwarding write is under way (and may block while the
			// server does not read): what the upstream loop holds back
			// for the client does not wait for it.
			s.flushClient()
			e.fwd.Lock()
		}
		sent := e.sent
		e.fwd.Unlock()
		if !sent {
			return nil, true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[key] != e { // cancelled or answered meanwhile
		return nil, false
	}
	s.removeLocked(e)
	return e, false
}

// maxRetired bounds the cancelled ids awaiting a late answer; past it the
// oldest is forgotten (a server may never answer a cancelled request: the
// specification advises it not to). The cost, accepted for bounded memory:
// a client that reuses a forgotten id, and a server that answers its old
// request after all, may have that late answer taken for the new one's.
const maxRetired = 1 << 14

type retiredID struct {
	key string
	seq uint64
}

// cancelPending handles the client's cancellation of the request with the
// given key: the request stops being pending (it is not answered, and a
// checked call is not forwarded), and when it was written upstream its id is
// retired until the server answers it.
func (s *session) cancelPending(key string) {
	s.mu.Lock()
	e := s.pending[key]
	if e != nil {
		s.removeLocked(e)
		s.retireLocked(key)
	}
	s.mu.Unlock()
	if e == nil {
		return
	}
	s.markCancelled(e)
	e.fwd.Lock()
	unsent := e.kind == kindCall && !e.sent // and now never will be
	e.fwd.Unlock()
	if unsent {
		s.mu.Lock()
		delete(s.retired, key)
		s.mu.Unlock()
	}
}

// retireLocked retires key, forgetting the oldest retired id when
// maxRetired are.
func (s *session) retireLocked(key string) {
	if s.retired == nil {
		s.retired = map[string]uint64{}
	}
	for len(s.retired) >= maxRetired && len(s.retiredOrder) > 0 {
		old := s.retiredOrder[0]
		s.retiredOrder = s.retiredOrder[1:]
		if seq, ok := s.retired[old.key]; ok && seq == old.seq {
			delete(s.retired, old.key)
		}
	}
	if len(s.retiredOrder) >= 2*maxRetired {
		// Mostly stale entries (answered, or never sent): keep the live.
		live := make([]retiredID, 0, len(s.retired))
		for _, r := range s.retiredOrder {
			if seq, ok := s.retired[r.key]; ok && seq == r.seq {
				live = append(live, r)
			}
		}
		s.retiredOrder = live
	}
	s.retiredSeq++
	s.retired[key] = s.retiredSeq
	s.retiredOrder = append(s.retiredOrder, retiredID{key, s.retiredSeq})
}

// takeRetired reports whether key is a retired id, and frees it.
func (s *session) takeRetired(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, r := s.retired[key]
	delete(s.retired, key)
	return r
}

// claim removes e if it is still pending; the caller that gets true answers it.
func (s *session) claim(e *pending) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[e.key] != e {
		return false
	}
	s.removeLocked(e)
	return true
}

func (s *session) removeLocked(e *pending) {
	delete(s.pending, e.key)
	e.cancel()
	if len(s.pending) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

func (s *session) markCancelled(e *pending) {
	e.cancel()
	e.fwd.Lock()
	e.cancelled = true
	e.fwd.Unlock()
}

func (s *session) setVersion(v string) {
	s.mu.Lock()
	s.version = v
	s.mu.Unlock()
}

func (s *session) negotiatedVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// toClient writes one message to the client.
func (s *session) toClient(msg []byte) {
	if err := s.client.Write(msg); err != nil {
		s.log.Warn("write to client failed", "err", err)
	}
}

// toUpstream writes one message upstream; when that fails and e is still
// pending, the client gets an error for it.
func (s *session) toUpstream(msg []byte, e *pending) {
	if err := s.upstream.Write(msg); err != nil {
		s.log.Warn("write to upstream failed", "err", err)
		if e != nil && s.claim(e) {
			s.replyError(e.id, CodeInternalError, "upstream MCP server unavailable", nil)
		}
	}
}

// rpcError and rpcResponse are what the proxy itself answers with.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// replyError answers the client with the given raw id (null when nil).
func (s *session) replyError(id json.RawMessage, code int, msg string, data json.RawMessage) {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	if len(data) > 0 && !json.Valid(data) {
		s.log.Error("hook returned invalid JSON as error data; dropping it")
		data = nil
	}
	b, err := json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: code, Message: msg, Data: data}})
	if err != nil {
		s.log.Error("encoding error response", "err", err)
		return
	}
	s.toClient(b)
}

// replyResult answers the client with a result.
func (s *session) replyResult(id json.RawMessage, result any) {
	r, err := json.Marshal(result)
	if err == nil {
		var b []byte
		b, err = json.Marshal(rpcResponse{JSONRPC: "2.0", ID: id, Result: r})
		if err == nil {
			s.toClient(b)
			return
		}
	}
	s.log.Error("encoding result", "err", err)
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
