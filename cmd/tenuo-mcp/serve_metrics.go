package main

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/transport/mcphttp"
)

// maxToolLabels bounds the distinct tool names metrics label decisions
// with: a tool name comes from the client, which must not be able to grow
// the metrics without bound. Past it, tools are counted as "other".
const maxToolLabels = 256

// serveMetrics are serve's Prometheus metrics, in a registry of their own.
type serveMetrics struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	latency   prometheus.Histogram
	upstream  *prometheus.CounterVec
	refused   *prometheus.CounterVec

	mu    sync.Mutex // guards tools
	tools map[string]bool
}

func newServeMetrics(h *mcphttp.Handler) *serveMetrics {
	m := &serveMetrics{reg: prometheus.NewRegistry(), tools: map[string]bool{}}
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenuo_mcp_decisions_total", Help: "Decisions on tools/call, by tool, decision (allow, deny, would-deny) and Tenuo code (0 when allowed).",
	}, []string{"tool", "decision", "code"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tenuo_mcp_check_seconds", Help: "Time one warrant check took.",
		Buckets: []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, 25e-3},
	})
	m.upstream = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenuo_mcp_upstream_events_total", Help: "Upstream servers started (one per session), failed to start or connect, and ended with an error.",
	}, []string{"event"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tenuo_mcp_http_refused_total", Help: "HTTP requests refused before reaching a session, by status.",
	}, []string{"status"})
	m.reg.MustRegister(m.decisions, m.latency, m.upstream, m.refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tenuo_mcp_sessions", Help: "Open MCP sessions."},
			func() float64 { return float64(h.Sessions()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tenuo_mcp_requests_in_flight", Help: "Requests awaiting answers."},
			func() float64 { return float64(h.InFlight()) }),
	)
	return m
}

// observe is enforce.Point.Observe: it counts one decision.
func (m *serveMetrics) observe(c *enforce.Call, r *enforce.Result) {
	code := "0"
	if r.Denial != nil {
		code = strconv.Itoa(int(r.Denial.Code))
	}
	m.decisions.WithLabelValues(m.toolLabel(c.Tool), r.Verdict.String(), code).Inc()
	m.latency.Observe(r.Latency.Seconds())
}

func (m *serveMetrics) toolLabel(tool string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tools[tool] {
		return tool
	}
	if len(m.tools) >= maxToolLabels {
		return "other"
	}
	m.tools[tool] = true
	return tool
}

func (m *serveMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
