package gateway

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
)

// AdminHandler serves /healthz (the process answers), /readyz (ready
// returns nil; nil ready is always ready) and Prometheus /metrics (m's; nil
// m serves none), on a port of their own: never on a decision port, where
// Envoy would take their 200 for an allow.
func AdminHandler(ready func() error, m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if ready != nil {
			if err := ready(); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	if m != nil {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			m.Write(w)
		})
	}
	return mux
}

// kindNames name the rows of the denial table in metrics.
var kindNames = map[enforce.Kind]string{
	enforce.KindNone: "none", enforce.KindMalformed: "malformed", enforce.KindNoWarrant: "no_warrant",
	enforce.KindUnauthentic: "unauthentic", enforce.KindForbidden: "forbidden", enforce.KindApproval: "approval",
	enforce.KindTooLarge: "too_large", enforce.KindNoRoute: "no_route", enforce.KindInternal: "internal",
}

// latencyBuckets are the decision latency histogram's upper bounds.
var latencyBuckets = []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond,
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 100 * time.Millisecond}

// Metrics counts decisions for Prometheus: tenuo_decisions_total by front,
// verdict and denial kind, and the tenuo_decision_duration_seconds
// histogram by front. Set Point.Observe to its Observe. The zero value is
// ready to use and safe for concurrent use.
type Metrics struct {
	mu     sync.Mutex
	counts map[countKey]uint64   // guarded by mu
	hist   map[string]*histogram // by front; guarded by mu
}

type countKey struct{ front, verdict, kind string }

type histogram struct {
	buckets []uint64 // cumulative counts are computed on output
	count   uint64
	sum     time.Duration
}

// Observe counts one decision.
func (m *Metrics) Observe(c *enforce.Call, r *enforce.Result) {
	front := c.Front
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counts == nil {
		m.counts, m.hist = map[countKey]uint64{}, map[string]*histogram{}
	}
	m.counts[countKey{front, r.Verdict.String(), kindNames[r.Kind]}]++
	h := m.hist[front]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(latencyBuckets))}
		m.hist[front] = h
	}
	for i, b := range latencyBuckets {
		if r.Latency <= b {
			h.buckets[i]++
			break
		}
	}
	h.count++
	h.sum += r.Latency
}

// Write writes the metrics in Prometheus's text format.
func (m *Metrics) Write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	b.WriteString("# HELP tenuo_decisions_total Decisions by front end, verdict and denial kind.\n# TYPE tenuo_decisions_total counter\n")
	keys := make([]countKey, 0, len(m.counts))
	for k := range m.counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b countKey) int {
		return strings.Compare(a.front+"\x00"+a.verdict+"\x00"+a.kind, b.front+"\x00"+b.verdict+"\x00"+b.kind)
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "tenuo_decisions_total{front=%q,verdict=%q,kind=%q} %d\n", k.front, k.verdict, k.kind, m.counts[k])
	}
	b.WriteString("# HELP tenuo_decision_duration_seconds Time to decide.\n# TYPE tenuo_decision_duration_seconds histogram\n")
	fronts := make([]string, 0, len(m.hist))
	for f := range m.hist {
		fronts = append(fronts, f)
	}
	slices.Sort(fronts)
	for _, f := range fronts {
		h := m.hist[f]
		var cum uint64
		for i, bound := range latencyBuckets {
			cum += h.buckets[i]
			fmt.Fprintf(&b, "tenuo_decision_duration_seconds_bucket{front=%q,le=\"%g\"} %d\n", f, bound.Seconds(), cum)
		}
		fmt.Fprintf(&b, "tenuo_decision_duration_seconds_bucket{front=%q,le=\"+Inf\"} %d\n", f, h.count)
		fmt.Fprintf(&b, "tenuo_decision_duration_seconds_sum{front=%q} %g\n", f, h.sum.Seconds())
		fmt.Fprintf(&b, "tenuo_decision_duration_seconds_count{front=%q} %d\n", f, h.count)
	}
	_, _ = io.WriteString(w, b.String())
}
