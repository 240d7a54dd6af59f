package telemetry

import "github.com/prometheus/client_golang/prometheus"

// registerSCIMThrottled registers confsync_scim_rate_limited_total: the
// SCIM requests answered 429 because their bearer token was over its
// request budget (server.scim_requests_per_second), by IdP. The same
// requests are in confsync_scim_requests_total with status "429".
func registerSCIMThrottled(reg *prometheus.Registry) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "confsync_scim_rate_limited_total",
		Help: "SCIM requests refused with 429 because their bearer token was over its request budget, by IdP.",
	}, []string{"idp"})
	reg.MustRegister(c)
	return c
}
