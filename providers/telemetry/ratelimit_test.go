package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRateLimitedCounted: a 429 answered to a SCIM client counts in
// confsync_scim_rate_limited_total for its IdP, and /metrics shows it.
func TestRateLimitedCounted(t *testing.T) {
	m := NewMetrics()
	m.ObserveSCIM("entra", "PATCH", 429, time.Millisecond)
	m.ObserveSCIM("entra", "GET", 429, time.Millisecond)
	m.ObserveSCIM("entra", "GET", 200, time.Millisecond)
	m.ObserveSCIM("okta", "GET", 200, time.Millisecond)
	if got := testutil.ToFloat64(m.scimThrottled.WithLabelValues("entra")); got != 2 {
		t.Errorf("entra rate limited = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.scimThrottled.WithLabelValues("okta")); got != 0 {
		t.Errorf("okta rate limited = %v, want 0", got)
	}
	mux := http.NewServeMux()
	Register(mux, m, nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `confsync_scim_rate_limited_total{idp="entra"} 2`) {
		t.Errorf("/metrics lacks the rate-limited count:\n%s", body)
	}
}
