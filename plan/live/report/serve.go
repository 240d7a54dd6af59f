package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
)

// ServeStatus is the live state of one serve replica, as its /status
// endpoint reports it.
type ServeStatus struct {
	FormatVersion string `json:"format_version"`
	// URL is where it was asked (filled in by Fetch).
	URL string `json:"url,omitempty"`
	// AutoApply says whether the replica reconciles at all.
	AutoApply bool `json:"auto_apply"`
	// Holder is the name the replica uses in the apply lock.
	Holder   string `json:"holder,omitempty"`
	Applying bool   `json:"applying"`
	// Pending counts per IdP the SCIM writes the replica has seen that no
	// successful reconcile has covered yet.
	Pending     map[string]int64 `json:"pending"`
	LastSuccess *time.Time       `json:"last_success"`
	// Waiting says why a due reconcile has not started, "" when none waits.
	Waiting string `json:"waiting,omitempty"`
	// LastRuns is the replica's last reconcile per trigger.
	LastRuns []ServeRun `json:"last_runs"`
	// LastTakeover is the last time the replica took the apply lock over
	// from a holder that stopped without releasing it (a killed replica).
	LastTakeover *ServeTakeover `json:"last_takeover,omitempty"`
	// IdPs is each configured IdP's source health as the store holds it
	// (1.1), whether or not this replica reconciles.
	IdPs []ServeIDP `json:"idps"`
}

// ServeIDP is one IdP's source health in a replica's status.
type ServeIDP struct {
	Name string `json:"name"`
	// Health is nil when no plan read the IdP yet.
	Health *HealthStatus `json:"health"`
}

// ServeTakeover is an apply lock taken over from a holder whose lease had
// expired.
type ServeTakeover struct {
	From    string    `json:"from"`
	Expired time.Time `json:"lease_expired"`
	At      time.Time `json:"at"`
}

// ServeRun is a replica's last reconcile of one trigger.
type ServeRun struct {
	Trigger  plan.Trigger `json:"trigger"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Outcome  plan.Outcome `json:"outcome"`
	Message  string       `json:"message"`
	Actions  int          `json:"actions"`
	Failed   int          `json:"failed"`
}

// NewServeStatus converts a reconciler's status; r nil means auto_apply is
// off.
func NewServeStatus(r *live.Reconciler) *ServeStatus {
	s := &ServeStatus{FormatVersion: FormatVersion, Pending: map[string]int64{}, LastRuns: []ServeRun{}, IdPs: []ServeIDP{}}
	if r == nil {
		return s
	}
	st := r.Status()
	s.AutoApply = true
	s.Holder, s.Applying, s.Waiting = st.Holder, st.Applying, st.Waiting
	s.Pending = st.Pending
	if !st.LastSuccess.IsZero() {
		t := st.LastSuccess.UTC()
		s.LastSuccess = &t
	}
	for trig, rs := range st.Last {
		s.LastRuns = append(s.LastRuns, ServeRun{Trigger: trig, Started: rs.Started.UTC(), Finished: rs.Finished.UTC(),
			Outcome: rs.Outcome, Message: rs.Message, Actions: rs.Actions, Failed: rs.Failed})
	}
	if t := st.LastTakeover; t != nil {
		s.LastTakeover = &ServeTakeover{From: t.From, Expired: t.Expired.UTC(), At: t.At.UTC()}
	}
	sort.Slice(s.LastRuns, func(i, j int) bool { return triggerRank(s.LastRuns[i].Trigger) < triggerRank(s.LastRuns[j].Trigger) })
	return s
}

// StatusHandler serves a replica's live state as JSON (GET /status), with
// the source health of the IdPs idps read from h. It holds no identities
// or secrets. A store that does not answer makes it 503.
func StatusHandler(r *live.Reconciler, h HealthReader, idps []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := NewServeStatus(r)
		for _, idp := range idps {
			hs, err := ReadHealth(req.Context(), h, idp)
			if err != nil {
				http.Error(w, "the store did not answer", http.StatusServiceUnavailable)
				return
			}
			s.IdPs = append(s.IdPs, ServeIDP{Name: idp, Health: hs})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s)
	})
}

// Fetch asks the serve replica at baseURL for its live state.
func Fetch(ctx context.Context, client *http.Client, baseURL string) (*ServeStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/status", nil)
	if err != nil {
		return nil, fmt.Errorf("ask serve: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask serve at %s: %w", baseURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask serve at %s: %s", baseURL, resp.Status)
	}
	var s ServeStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&s); err != nil {
		return nil, fmt.Errorf("ask serve at %s: bad answer: %w", baseURL, err)
	}
	// "1" is what serve wrote before the version took the plan's form;
	// the document is the same. 1.0 lacks only the IdPs' health.
	if s.FormatVersion != FormatVersion && s.FormatVersion != "1" && s.FormatVersion != "1.0" {
		return nil, fmt.Errorf("ask serve at %s: status format %q, this confsync reads %q", baseURL, s.FormatVersion, FormatVersion)
	}
	s.URL = baseURL
	if s.Pending == nil {
		s.Pending = map[string]int64{}
	}
	return &s, nil
}
