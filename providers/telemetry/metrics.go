// Package telemetry is what an operator watches `confsync serve` through:
// its Prometheus metrics (SCIM requests, store latency, reconciles and the
// actions they applied, pending changes) and the /healthz, /readyz and
// /metrics endpoints.
package telemetry

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
)

// Metrics are serve's Prometheus metrics, registered on their own registry.
// The zero value is not usable; call NewMetrics.
type Metrics struct {
	reg *prometheus.Registry

	scimRequests *prometheus.CounterVec
	scimDuration *prometheus.HistogramVec
	storeLatency *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	actions      *prometheus.CounterVec
	reconciles   *prometheus.CounterVec
	reconcileDur *prometheus.HistogramVec
	pending      prometheus.Gauge
	lastSuccess  prometheus.Gauge
	lastOutcome  *prometheus.GaugeVec
	leftOut      *prometheus.GaugeVec
	takeovers    prometheus.Counter
	// scimThrottled counts requests refused for their token's budget.
	scimThrottled *prometheus.CounterVec
	// runKinds and confluenceRequests say how much each reconcile read.
	runKinds           *prometheus.CounterVec
	confluenceRequests *prometheus.HistogramVec
}

var _ live.Observer = (*Metrics)(nil)

// NewMetrics creates the metrics and a registry holding them, with the Go
// runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		scimRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confsync_scim_requests_total",
			Help: "SCIM requests answered, by IdP, HTTP method and status code.",
		}, []string{"idp", "method", "status"}),
		scimDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "confsync_scim_request_duration_seconds",
			Help:    "Time to answer a SCIM request, by IdP and HTTP method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"idp", "method"}),
		storeLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "confsync_store_operation_duration_seconds",
			Help:    "Time of store operations (SQLite or PostgreSQL), by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"operation"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confsync_store_errors_total",
			Help: "Store operations that failed (not-found and conflict answers excluded), by operation.",
		}, []string{"operation"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confsync_applied_actions_total",
			Help: "Actions the reconciler applied to Confluence, by action (create, update, adopt, enable, disable, delete, add, remove), object kind (user, group, membership) and result (ok or error).",
		}, []string{"action", "kind", "result"}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confsync_reconciles_total",
			Help: "Reconciles run by this replica, by trigger (auto, reconcile) and outcome (applied, partial, refused, error).",
		}, []string{"trigger", "outcome"}),
		reconcileDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "confsync_reconcile_duration_seconds",
			Help:    "Time of a reconcile (plan and apply), by trigger.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"trigger"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "confsync_pending_changes",
			Help: "SCIM writes this replica has seen that no successful reconcile has covered yet.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "confsync_last_successful_reconcile_timestamp_seconds",
			Help: "Unix time at which this replica's last successful reconcile finished (0: none yet).",
		}),
		lastOutcome: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "confsync_last_reconcile_outcome",
			Help: "1 for the outcome of this replica's last reconcile per trigger, 0 for the other outcomes.",
		}, []string{"trigger", "outcome"}),
		leftOut: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "confsync_idp_left_out",
			Help: "1 when the source-health guard left the IdP out of this replica's last plan (its source returned far fewer objects than its last good read), else 0.",
		}, []string{"idp"}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confsync_lock_takeovers_total",
			Help: "Times this replica took the apply lock over from a holder whose lease had expired (a replica or CLI apply that stopped without releasing it).",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.scimRequests, m.scimDuration, m.storeLatency, m.storeErrors, m.actions,
		m.reconciles, m.reconcileDur, m.pending, m.lastSuccess, m.lastOutcome, m.leftOut, m.takeovers,
	)
	m.scimThrottled = registerSCIMThrottled(m.reg)
	m.runKinds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "confsync_reconcile_kinds_total",
		Help: "Reconciles run by this replica, by trigger and kind: full (every IdP and all of Confluence read) or targeted (only the identities SCIM writes touched).",
	}, []string{"trigger", "kind"})
	m.confluenceRequests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "confsync_reconcile_confluence_requests",
		Help:    "HTTP requests a reconcile sent to Confluence (reads and changes), by kind (full, targeted).",
		Buckets: []float64{1, 2, 4, 6, 10, 25, 100, 1000, 10000, 50000},
	}, []string{"kind"})
	m.reg.MustRegister(m.runKinds, m.confluenceRequests)
	return m
}

// Registry returns the registry the metrics are on, for /metrics and for
// registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveSCIM records one answered SCIM request; its signature matches
// scim.Options.Observe.
func (m *Metrics) ObserveSCIM(idp, method string, status int, d time.Duration) {
	method = knownMethod(method)
	m.scimRequests.WithLabelValues(idp, method, strconv.Itoa(status)).Inc()
	m.scimDuration.WithLabelValues(idp, method).Observe(d.Seconds())
	if status == http.StatusTooManyRequests {
		m.scimThrottled.WithLabelValues(idp).Inc()
	}
}

// ObserveStore records one store operation.
func (m *Metrics) ObserveStore(op string, d time.Duration, failed bool) {
	m.storeLatency.WithLabelValues(op).Observe(d.Seconds())
	if failed {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// Pending implements live.Observer.
func (m *Metrics) Pending(n int64) { m.pending.Set(float64(n)) }

// Reconciled implements live.Observer: it counts the reconcile, its actions
// by kind and result, and sets the last-success time.
func (m *Metrics) Reconciled(trigger plan.Trigger, run plan.Run, took time.Duration) {
	m.reconciles.WithLabelValues(string(trigger), string(run.Outcome)).Inc()
	m.reconcileDur.WithLabelValues(string(trigger)).Observe(took.Seconds())
	if run.Kind != "" {
		m.runKinds.WithLabelValues(string(trigger), string(run.Kind)).Inc()
		m.confluenceRequests.WithLabelValues(string(run.Kind)).Observe(float64(run.ConfluenceRequests))
	}
	for _, o := range plan.Outcomes() {
		v := 0.0
		if o == run.Outcome {
			v = 1
		}
		m.lastOutcome.WithLabelValues(string(trigger), string(o)).Set(v)
	}
	for _, a := range run.Actions {
		result := "ok"
		if a.Error != "" {
			result = "error"
		}
		kind, _, _ := strings.Cut(a.Object, " ")
		m.actions.WithLabelValues(a.Action, kind, result).Inc()
	}
	if run.Outcome == plan.OutcomeApplied {
		at := run.Finished
		if at.IsZero() {
			at = time.Now()
		}
		m.lastSuccess.Set(float64(at.UnixNano()) / 1e9)
	}
}

// ObservePlan records which IdPs the source-health guard left out of a
// computed plan; it fits live.Engine.OnPlan.
func (m *Metrics) ObservePlan(p *plan.Plan) {
	for _, idp := range p.IDPs {
		m.leftOut.WithLabelValues(idp).Set(0)
	}
	for _, s := range p.Skipped {
		m.leftOut.WithLabelValues(s.IDP).Set(1)
	}
}

// knownMethod bounds the method label: a client can send any method name,
// and every distinct label value is a series kept in memory.
func knownMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "other"
}

// TookOver implements live.Observer.
func (m *Metrics) TookOver(live.Takeover) { m.takeovers.Inc() }
