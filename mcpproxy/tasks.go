package mcpproxy

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// Tasks (the 2026-07-28 extension io.modelcontextprotocol/tasks, and
// 2025-11-25's tasks): a server may answer a tools/call with a task handle
// and the client then polls tasks/get (or tasks/result), answers input with
// tasks/update, and stops it with tasks/cancel, naming only the task id. A
// task id is a bearer handle on the call's result: a caller that learns or
// guesses another's would read its result. So each relay session keeps
// the task ids its server returned for calls the relay let through, and a
// tasks/* request naming any other id is refused (-32602, as a server
// answers an unknown task) and audited, never relayed. The same holds for
// task ids a subscriptions/listen request asks notifications for.
//
// A task must not outlive the warrant check that let its call through: a
// task's result is the call's, so tasks/get, tasks/result, tasks/update and
// a subscription to the task are let through only while the warrant that
// allowed the call still verifies (its expiry, revocation and trust checked
// again on each, by enforce.Followup.Recheck; no PoP, which these requests
// do not carry). tasks/cancel is always let through for a known task:
// stopping work needs no authority.

// A tasks/list answer names the server's tasks, which on a server that
// several sessions share (or that keys tasks by anything but the session)
// includes other callers' ids and statuses: the relay keeps, of its
// answer, only the tasks this session may name in tasks/get, and drops
// every other entry, malformed ones too.

// maxTasks bounds the task ids one session remembers; past it the oldest
// is forgotten (its tasks/* requests are then refused).
const maxTasks = 4096

// taskMembers are the members of tasks/* params the relay reads.
var taskMembers = []string{"taskId", "inputResponses", "_meta"}

// rememberTask records a task id the server returned for a call the relay
// let through; f re-checks the warrant that allowed the call (nil: nothing
// to re-check).
func (s *session) rememberTask(id string, f *enforce.Followup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks == nil {
		s.tasks = map[string]*enforce.Followup{}
	}
	if _, ok := s.tasks[id]; ok {
		s.tasks[id] = f
		return
	}
	if len(s.taskOrder) >= maxTasks {
		old := s.taskOrder[0]
		s.taskOrder = s.taskOrder[1:]
		delete(s.tasks, old)
		s.log.Warn("task ids full; the oldest is forgotten and its tasks/* requests refused", "limit", maxTasks)
	}
	s.tasks[id] = f
	s.taskOrder = append(s.taskOrder, id)
}

// task returns the follow-up of a known task id.
func (s *session) task(id string) (*enforce.Followup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.tasks[id]
	return f, ok
}

// taskCreated returns the task id of a tools/call result that creates a
// task: 2026-07-28's {"resultType":"task","taskId":…} or 2025-11-25's
// {"task":{"taskId":…}}.
func taskCreated(result []byte) (string, bool) {
	rms, err := objectMembers(result)
	if err != nil {
		return "", false
	}
	if rt := find(rms, "resultType"); rt >= 0 {
		if t, _ := jsonString(value(result, rms[rt])); t == "task" {
			if ti := find(rms, "taskId"); ti >= 0 {
				id, ok := jsonString(value(result, rms[ti]))
				return id, ok && id != ""
			}
			return "", false
		}
	}
	if ti := find(rms, "task"); ti >= 0 {
		task := value(result, rms[ti])
		if !isObject(task) {
			return "", false
		}
		tms, err := objectMembers(task)
		if err != nil {
			return "", false
		}
		if ii := find(tms, "taskId"); ii >= 0 {
			id, ok := jsonString(value(task, tms[ii]))
			return id, ok && id != ""
		}
	}
	return "", false
}

// taskParams reads params.taskId of a tasks/* request strictly: no
// duplicate key at any depth (a server could read the other one), no
// member a case-insensitive decoder would take for taskId.
func taskParams(params []byte) (string, error) {
	if !isObject(params) {
		return "", errors.New("params.taskId is missing")
	}
	sc, err := scanDocument(params, true, true)
	if err != nil {
		return "", fmt.Errorf("params: %v", err)
	}
	if key, want, bad := misspelledMember(sc.top, taskMembers); bad {
		return "", fmt.Errorf("params has %q, which is not %q (member names are exact)", key, want)
	}
	ti := find(sc.top, "taskId")
	if ti < 0 {
		return "", errors.New("params.taskId is missing")
	}
	id, ok := jsonString(value(params, sc.top[ti]))
	if !ok || id == "" {
		return "", errors.New("params.taskId must be a non-empty string")
	}
	return id, nil
}

// listenTaskIDs reads params.notifications.taskIds of a
// subscriptions/listen request (nil when it names none), strictly.
func listenTaskIDs(params []byte) ([]string, error) {
	if !isObject(params) {
		return nil, nil
	}
	sc, err := scanDocument(params, true, true)
	if err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	if key, want, bad := misspelledMember(sc.top, []string{"notifications", "_meta"}); bad {
		return nil, fmt.Errorf("params has %q, which is not %q (member names are exact)", key, want)
	}
	ni := find(sc.top, "notifications")
	if ni < 0 {
		return nil, nil
	}
	n := value(params, sc.top[ni])
	if !isObject(n) {
		return nil, errors.New("params.notifications must be an object")
	}
	nms, err := objectMembers(n)
	if err != nil {
		return nil, fmt.Errorf("params.notifications: %v", err)
	}
	if key, want, bad := misspelledMember(nms, []string{"taskIds"}); bad {
		return nil, fmt.Errorf("params.notifications has %q, which is not %q (member names are exact)", key, want)
	}
	ti := find(nms, "taskIds")
	if ti < 0 {
		return nil, nil
	}
	arr := value(n, nms[ti])
	var items []json.RawMessage
	if len(arr) == 0 || arr[0] != '[' || json.Unmarshal(arr, &items) != nil {
		return nil, errors.New("params.notifications.taskIds must be an array of strings")
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		id, ok := jsonString(it)
		if !ok {
			return nil, errors.New("params.notifications.taskIds must be an array of strings")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// startTask relays a tasks/* request naming a task this session's calls
// created, and refuses any other.
func (s *session) startTask(m *message) {
	id, err := taskParams(m.paramsRaw())
	if err != nil {
		s.refuse(s.refusal(m, CodeInvalidParams, "Invalid params: "+err.Error()))
		return
	}
	if r := s.checkTask(m, id, m.method != "tasks/cancel"); r != nil {
		s.refuse(r)
		return
	}
	s.forwardPlain(m)
}

// startListen relays a subscriptions/listen request whose task ids (if any)
// all name tasks this session's calls created.
func (s *session) startListen(m *message) {
	ids, err := listenTaskIDs(m.paramsRaw())
	if err != nil {
		s.refuse(s.refusal(m, CodeInvalidParams, "Invalid params: "+err.Error()))
		return
	}
	for _, id := range ids {
		if r := s.checkTask(m, id, true); r != nil {
			s.refuse(r)
			return
		}
	}
	s.forwardPlain(m)
}

// checkTask returns the refusal of a request naming task id, nil when it
// may go on; recheck verifies the warrant that allowed the task's call.
func (s *session) checkTask(m *message, id string, recheck bool) *Refusal {
	f, ok := s.task(id)
	if !ok {
		return s.refusal(m, CodeInvalidParams, "Invalid params: unknown task: no call relayed in this session created it")
	}
	if !recheck {
		return nil
	}
	if err := f.Recheck(); err != nil {
		return s.refusal(m, CodeAccessDenied, "Access denied: the warrant that allowed the call which created this task no longer verifies: "+err.Error())
	}
	return nil
}

// forwardPlain relays a request whose answer goes back untouched.
func (s *session) forwardPlain(m *message) { s.forwardStripped(m, kindPlain) }

// startTaskList relays a tasks/list request; its answer is filtered.
func (s *session) startTaskList(m *message) { s.forwardStripped(m, kindTasks) }

// forwardStripped relays a tasks/* or subscriptions/listen request without
// the Tenuo envelope a client may attach to every request's _meta (the
// relay decides these by task binding, not by a PoP): a warrant and its
// proof of possession never reach the server, as on tools/call and
// tools/list. A malformed envelope is refused as it is there.
func (s *session) forwardStripped(m *message, k kind) {
	fwd := m.raw
	if p := m.paramsRaw(); p != nil {
		_, stripped, err := stripMetaEnvelope(m.method, p)
		if err != nil {
			s.refuse(s.refusal(m, CodeInvalidParams, "Invalid params: "+err.Error()))
			return
		}
		fwd = m.withParams(stripped)
	}
	e, ok := s.addPending(m.id, k)
	if !ok {
		s.replyError(m.id, CodeInvalidRequest, "Invalid Request: id is already in use by a pending request", nil)
		return
	}
	s.toUpstream(fwd, e)
}

// filterTaskList returns the tasks/list answer msg (resultM its result)
// with only the tasks this session may read: each entry an object whose
// taskId is a string naming a task one of its relayed calls created, and
// whose call's warrant still verifies. Every other byte is kept.
func (s *session) filterTaskList(msg []byte, resultM member) ([]byte, error) {
	result, rms, ti, elems, err := resultArray(msg, resultM, "tasks")
	if err != nil {
		return nil, err
	}
	kept := make([][]byte, 0, len(elems))
	for _, el := range elems {
		if !isObject(el) {
			continue
		}
		sc, err := scanDocument(el, true, true)
		if err != nil {
			continue // a duplicate key at any depth: a client could read the other
		}
		if _, _, bad := misspelledMember(sc.top, []string{"taskId"}); bad {
			continue
		}
		ii := find(sc.top, "taskId")
		if ii < 0 {
			continue
		}
		id, ok := jsonString(value(el, sc.top[ii]))
		if !ok {
			continue
		}
		if f, known := s.task(id); known && f.Recheck() == nil {
			kept = append(kept, el)
		}
	}
	if len(kept) == len(elems) {
		return msg, nil
	}
	return replaceValue(msg, resultM, applyEdits(result, rms, edit{i: ti, v: jsonArray(kept)})), nil
}
