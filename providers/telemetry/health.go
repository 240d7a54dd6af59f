package telemetry

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confsync/confsync/plan"
)

// HealthReader reads the source health that plans record in the store.
type HealthReader interface {
	Health(ctx context.Context, idp string) (plan.SourceHealth, bool, error)
}

// healthCollector exports each IdP's source health from the store at
// scrape time, so that every replica (and a CLI plan or apply) reports the
// same facts.
type healthCollector struct {
	r    HealthReader
	idps []string
	log  *slog.Logger

	healthy, lastComplete, lastFailure, leftOut *prometheus.Desc
}

// healthScrapeTimeout bounds the store reads of one scrape.
const healthScrapeTimeout = 5 * time.Second

// RegisterSourceHealth adds the IdPs' source health to the metrics:
// confsync_idp_source_healthy{idp} (1 when the last plan read the IdP
// completely and it took part, else 0), the Unix times of its last
// complete read and last failure, and the identities its last complete
// read left out. IdPs no plan has read yet have no series.
func (m *Metrics) RegisterSourceHealth(r HealthReader, idps []string, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m.reg.MustRegister(&healthCollector{
		r: r, idps: append([]string(nil), idps...), log: logger,
		healthy: prometheus.NewDesc("confsync_idp_source_healthy",
			"1 when the last plan (plan, apply or serve) read the IdP completely and it took part, 0 when it was left out (a failed, incomplete or shrunken read, or nothing delivered yet).",
			[]string{"idp"}, nil),
		lastComplete: prometheus.NewDesc("confsync_idp_last_complete_read_timestamp_seconds",
			"Unix time of the IdP's last complete read (0: none).", []string{"idp"}, nil),
		lastFailure: prometheus.NewDesc("confsync_idp_last_source_failure_timestamp_seconds",
			"Unix time the IdP was last left out of a plan (0: never).", []string{"idp"}, nil),
		leftOut: prometheus.NewDesc("confsync_idp_identities_left_out",
			"Users and groups of the IdP's last complete read that cannot become Confluence objects (a missing email, an invalid name).", []string{"idp"}, nil),
	})
}

// Describe implements prometheus.Collector.
func (c *healthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.healthy
	ch <- c.lastComplete
	ch <- c.lastFailure
	ch <- c.leftOut
}

// Collect implements prometheus.Collector.
func (c *healthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), healthScrapeTimeout)
	defer cancel()
	for _, idp := range c.idps {
		h, ok, err := c.r.Health(ctx, idp)
		if err != nil {
			// The IdP's series are missing from this scrape, the others
			// stay: a store that does not answer must not take /metrics
			// down (confsync_store_errors_total counts the failure).
			c.log.Warn("read the source health for /metrics", "idp", idp, "error", err.Error())
			continue
		}
		if !ok {
			continue
		}
		v := 0.0
		if h.Healthy {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.healthy, prometheus.GaugeValue, v, idp)
		ch <- prometheus.MustNewConstMetric(c.lastComplete, prometheus.GaugeValue, unixSeconds(h.LastComplete.At), idp)
		ch <- prometheus.MustNewConstMetric(c.lastFailure, prometheus.GaugeValue, unixSeconds(h.LastFailure), idp)
		ch <- prometheus.MustNewConstMetric(c.leftOut, prometheus.GaugeValue, float64(h.LeftOut), idp)
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
