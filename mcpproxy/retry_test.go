package mcpproxy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// inputRequired is a server's input_required answer; state is the raw
// requestState value, "" for none.
func inputRequired(state string) string {
	r := `{"resultType":"input_required","inputRequests":{"q":{"method":"elicitation/create","params":{"message":"name?","requestedSchema":{"type":"object"}}}}`
	if state != "" {
		r += `,"requestState":` + state
	}
	return r + `}`
}

const complete = `{"resultType":"complete","content":[{"type":"text","text":"done"}]}`

// TestInputRequiredRetry: with replay protection on, a retry of a call the
// server answered input_required carries the first attempt's PoP; it passes
// once, and only with exactly the requestState the server returned for the
// call carrying that PoP. It is checked again as the new call it is. Any
// other replay, with or without a requestState, is refused and audited.
func TestInputRequiredRetry(t *testing.T) {
	type step struct {
		state   string // the retry's raw requestState, "" for none
		answer  string // the server's result when forwarded
		refused string // when refused: part of the error message
		revoke  bool   // revoke the warrant before this step
		old     bool   // a pre-2026 request (no protocol version in _meta)
		advance int64  // seconds the clock moves before this step
		other   bool   // another call: arguments {"x":2}, so another PoP
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"one retry with the state passes, a second is a replay", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS1"`, answer: complete},
			{state: `"RS1"`, refused: "replayed"},
		}},
		{"another state is a replay, and does not use the grant", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS2"`, refused: "replayed"},
			{state: `"RS1 "`, refused: "replayed"},
			{state: `"RS1"`, answer: complete},
		}},
		{"a retry without the state is a replay", []step{
			{answer: inputRequired(`"RS1"`)},
			{refused: "replayed"},
			{state: `""`, refused: "replayed"},
		}},
		{"a requestState is no exemption", []step{
			{answer: complete},
			{state: `"RS1"`, refused: "replayed"},
			{state: `"anything"`, refused: "replayed"},
			{refused: "replayed"},
		}},
		{"each input_required answer allows one retry", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS1"`, answer: inputRequired(`"RS2"`)},
			{state: `"RS2"`, answer: complete},
			{state: `"RS2"`, refused: "replayed"},
			{state: `"RS1"`, refused: "replayed"},
		}},
		{"input_required without a state: one retry without one", []step{
			{answer: inputRequired("")},
			{state: `"x"`, refused: "replayed"},
			{answer: complete},
			{refused: "replayed"},
		}},
		{"an escaped state is the same string", []step{
			{answer: inputRequired(`"R\u00e9S"`)},
			{state: `"RéS"`, answer: complete},
		}},
		{"the retry is checked again: a revoked warrant is refused", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS1"`, revoke: true, refused: "revoked"},
		}},
		{"a grant does not outlive the PoP's window", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS1"`, advance: 181, refused: "PoP signature"},
		}},
		{"a grant within the PoP's window is used once", []step{
			{answer: inputRequired(`"RS1"`)},
			{state: `"RS1"`, advance: 50, answer: complete},
			{state: `"RS1"`, refused: "replayed"},
		}},
		{"a state granted for one PoP does not pass another", []step{
			{other: true, answer: complete},
			{answer: inputRequired(`"RS1"`)},
			{other: true, state: `"RS1"`, refused: "replayed"},
			{state: `"RS1"`, answer: complete},
		}},
		{"a server's answer to an older-era call grants nothing", []step{
			{old: true, answer: inputRequired(`"RS1"`)},
			{old: true, state: `"RS1"`, refused: "replayed"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newEraFixture(t, true, false)
			h := newHarness(t, f.proxy(false), 0)
			env, otherEnv := f.envelope(t, "echo", `{"x":1}`), f.envelope(t, "echo", `{"x":2}`)
			for i, st := range tc.steps {
				env, args := env, `{"x":1}`
				if st.other {
					env, args = otherEnv, `{"x":2}`
				}
				if st.revoke {
					f.revoked.Store(true)
				}
				f.clock.Add(st.advance)
				meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` + env + `}`
				if st.old {
					meta = `"_meta":{` + env + `}`
				}
				extra := ""
				if st.state != "" {
					extra = `,"inputResponses":{"q":{"action":"accept","content":{"name":"a"}}},"requestState":` + st.state
				}
				id := fmt.Sprintf(`"s%d"`, i)
				h.client.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"echo","arguments":` + args + `,` + meta + extra + `}}`)
				if st.refused != "" {
					got := h.client.recv()
					if field(t, got, "error.code") != "-32001" || field(t, got, "id") != id || !strings.Contains(got, st.refused) {
						t.Fatalf("step %d: want a refusal (%s), got %s", i, st.refused, got)
					}
					h.upstream.quiet(10 * time.Millisecond)
					continue
				}
				fwd := h.upstream.recv()
				if strings.Contains(fwd, `"tenuo"`) || (st.state != "" && field(t, fwd, "params.requestState") != st.state && !strings.Contains(st.state, `\`)) {
					t.Fatalf("step %d: forwarded %s", i, fwd)
				}
				answer := `{"jsonrpc":"2.0","id":` + id + `,"result":` + st.answer + `}`
				h.upstream.send(answer)
				if got := h.client.recv(); got != answer {
					t.Fatalf("step %d: answer relayed as %s", i, got)
				}
			}
			h.client.quiet(20 * time.Millisecond) // every request answered once
			// One audit record per call, each with the decision it got.
			var calls []map[string]any
			for _, r := range f.audit.records(t) {
				if r["event"] == "tools/call" {
					calls = append(calls, r)
				}
			}
			if len(calls) != len(tc.steps) {
				t.Fatalf("%d tools/call audit records for %d calls", len(calls), len(tc.steps))
			}
			for i, st := range tc.steps {
				want := "allow"
				if st.refused != "" {
					want = "deny"
				}
				if calls[i]["decision"] != want || (st.refused != "" && !strings.Contains(fmt.Sprint(calls[i]["reason"]), st.refused)) {
					t.Fatalf("step %d audited %v", i, calls[i])
				}
			}
		})
	}
}

// TestInputRequiredRetryRace: retries racing for one grant (sent in one
// write, so that they are checked at once on separate workers) get it once:
// one is forwarded, every other is refused as a replay.
func TestInputRequiredRetryRace(t *testing.T) {
	f := newEraFixture(t, true, false)
	h := newHarness(t, f.proxy(false), 0)
	const racers = 4
	for round := range 8 {
		args := fmt.Sprintf(`{"x":%d}`, round)
		meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},` + f.envelope(t, "echo", args) + `}`
		call := func(id, extra string) string {
			return `{"jsonrpc":"2.0","id":"` + id + `","method":"tools/call","params":{"name":"echo","arguments":` + args + `,` + meta + extra + `}}`
		}
		h.client.send(call(fmt.Sprintf("r%d", round), ""))
		h.upstream.recv()
		h.upstream.send(fmt.Sprintf(`{"jsonrpc":"2.0","id":"r%d","result":%s}`, round, inputRequired(`"RS"`)))
		h.client.recv()
		var batch []string
		for i := range racers {
			batch = append(batch, call(fmt.Sprintf("r%d-%d", round, i), `,"requestState":"RS"`))
		}
		if _, err := h.client.w.Write([]byte(strings.Join(batch, "\n") + "\n")); err != nil {
			t.Fatal(err)
		}
		refused := 0
		for range racers - 1 {
			got := h.client.recv()
			if !strings.Contains(got, "replayed") {
				t.Fatalf("round %d: a racing retry answered %s", round, got)
			}
			refused++
		}
		fwd := h.upstream.recv()
		h.upstream.quiet(10 * time.Millisecond)
		h.upstream.send(`{"jsonrpc":"2.0","id":` + field(t, fwd, "id") + `,"result":` + complete + `}`)
		if got := h.client.recv(); !strings.Contains(got, `"done"`) {
			t.Fatalf("round %d: the retry let through answered %s", round, got)
		}
		h.client.quiet(5 * time.Millisecond)
	}
}
