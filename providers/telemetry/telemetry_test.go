package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
	"github.com/confsync/confsync/providers/store"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestProbes(t *testing.T) {
	secret := "postgres://confsync:hunter2@db/confsync"
	tests := []struct {
		name     string
		ping     error
		drain    bool
		path     string
		wantCode int
		wantBody string
	}{
		{"healthz", nil, false, "/healthz", 200, "ok\n"},
		{"healthz while the store is down", errors.New("down"), false, "/healthz", 200, "ok\n"},
		{"ready", nil, false, "/readyz", 200, "ok\n"},
		{"store down", fmt.Errorf("dial %s: connection refused", secret), false, "/readyz", 503, "store unavailable\n"},
		{"draining", nil, true, "/readyz", 503, "shutting down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			p := NewProbes(pinger{tt.ping}, nil)
			if tt.drain {
				p.Drain()
			}
			Register(mux, NewMetrics(), p)
			code, body := get(t, mux, tt.path)
			if code != tt.wantCode || body != tt.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tt.path, code, body, tt.wantCode, tt.wantBody)
			}
			if strings.Contains(body, "hunter2") {
				t.Error("the probe leaked the store's DSN")
			}
		})
	}
}

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.ObserveSCIM("entra", "POST", 201, 3*time.Millisecond)
	m.ObserveSCIM("entra", "POST", 409, time.Millisecond)
	m.ObserveSCIM("entra", "POST", 201, time.Millisecond)
	m.ObserveSCIM("entra", "BREW", 405, time.Millisecond)
	m.ObserveSCIM("entra", "PROPFIND", 405, time.Millisecond)
	m.Pending(7)
	m.TookOver(live.Takeover{From: "serve host-b/7/00", At: time.Now()})
	finished := time.Unix(1_700_000_000, 0)
	m.Reconciled("auto", plan.Run{Outcome: "applied", Finished: finished, Actions: []plan.RunAction{
		{Action: "create", Object: "user a"}, {Action: "create", Object: "user b"},
		{Action: "add", Object: "membership a -> devs", Error: "boom"},
	}}, time.Second)
	m.Reconciled("reconcile", plan.Run{Outcome: "refused", Message: "would deactivate 40 users"}, time.Second)

	m.ObservePlan(&plan.Plan{IDPs: []string{"entra"}, Skipped: []plan.SkippedIDP{{IDP: "corp-ad", Reason: "its source returned 0 users"}}})
	if got := testutil.ToFloat64(m.leftOut.WithLabelValues("corp-ad")); got != 1 {
		t.Errorf("corp-ad left out = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.leftOut.WithLabelValues("entra")); got != 0 {
		t.Errorf("entra left out = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.scimRequests.WithLabelValues("entra", "POST", "201")); got != 2 {
		t.Errorf("201 POSTs = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.actions.WithLabelValues("create", "user", "ok")); got != 2 {
		t.Errorf("created ok = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.actions.WithLabelValues("add", "membership", "error")); got != 1 {
		t.Errorf("add errors = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.lastSuccess); got != 1_700_000_000 {
		t.Errorf("last success = %v, want the finish time of the applied run", got)
	}
	if got := testutil.ToFloat64(m.lastOutcome.WithLabelValues("reconcile", "refused")); got != 1 {
		t.Errorf("last reconcile outcome refused = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.lastOutcome.WithLabelValues("reconcile", "applied")); got != 0 {
		t.Errorf("last reconcile outcome applied = %v, want 0", got)
	}

	mux := http.NewServeMux()
	Register(mux, m, NewProbes(pinger{}, nil))
	code, body := get(t, mux, "/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{
		`confsync_scim_requests_total{idp="entra",method="POST",status="409"} 1`,
		`confsync_scim_request_duration_seconds_count{idp="entra",method="POST"} 3`,
		`confsync_pending_changes 7`,
		`confsync_lock_takeovers_total 1`,
		`confsync_scim_requests_total{idp="entra",method="other",status="405"} 2`,
		`confsync_reconciles_total{outcome="refused",trigger="reconcile"} 1`,
		`confsync_applied_actions_total{action="create",kind="user",result="ok"} 2`,
		`confsync_last_successful_reconcile_timestamp_seconds 1.7e+09`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// partialStore implements only what the test calls; anything else panics.
type partialStore struct {
	store.Store
	pingErr error
}

func (s partialStore) GetUser(context.Context, string, string) (*store.User, error) {
	return nil, fmt.Errorf("user x: %w", store.ErrNotFound)
}

func (s partialStore) AcquireLock(context.Context, string, time.Duration) error {
	return &plan.LockedError{Lock: plan.LockInfo{Holder: "other"}}
}

func (s partialStore) Ping(context.Context) error { return s.pingErr }

func TestInstrumentStore(t *testing.T) {
	m := NewMetrics()
	s := InstrumentStore(partialStore{pingErr: errors.New("connection refused")}, m)
	ctx := context.Background()
	if _, err := s.GetUser(ctx, "entra", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetUser error = %v, want the store's ErrNotFound passed through", err)
	}
	if err := s.AcquireLock(ctx, "me", time.Second); !errors.Is(err, plan.ErrLocked) {
		t.Fatalf("AcquireLock error = %v, want ErrLocked passed through", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping error lost")
	}
	for op, want := range map[string]float64{"get_user": 0, "acquire_lock": 0, "ping": 1} {
		if got := testutil.ToFloat64(m.storeErrors.WithLabelValues(op)); got != want {
			t.Errorf("errors of %s = %v, want %v", op, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.storeLatency); n != 3 {
		t.Errorf("latency series = %d, want 3 (one per operation)", n)
	}
}
