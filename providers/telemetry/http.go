package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Pinger is the store's readiness check.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Probes answer a load balancer's or Kubernetes' health checks.
type Probes struct {
	store    Pinger
	log      *slog.Logger
	timeout  time.Duration
	draining atomic.Bool
}

// NewProbes returns probes that check store for readiness.
func NewProbes(store Pinger, logger *slog.Logger) *Probes {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Probes{store: store, log: logger, timeout: 2 * time.Second}
}

// Drain makes /readyz fail from now on, so that an ingress stops sending
// requests to a replica that is shutting down while its in-flight requests
// finish.
func (p *Probes) Drain() { p.draining.Store(true) }

// Healthz answers 200 while the process is up.
func (p *Probes) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}

// Readyz answers 200 when the store answers a ping, 503 otherwise or while
// draining. The client sees no error detail; the log has it.
func (p *Probes) Readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if p.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "shutting down\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
	defer cancel()
	if err := p.store.Ping(ctx); err != nil {
		p.log.Warn("readiness check: the store does not answer", "error", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "store unavailable\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Register adds /healthz, /readyz and /metrics to mux. The endpoints need
// no authentication: they reveal no identities or secrets. Put /metrics
// behind the ingress's own rules if it must not be public.
func Register(mux *http.ServeMux, m *Metrics, p *Probes) {
	mux.HandleFunc("GET /healthz", p.Healthz)
	mux.HandleFunc("GET /readyz", p.Readyz)
	mux.Handle("GET /metrics", m.Handler())
}
