// Package report builds what `confsync status` and `confsync history` show
// an operator: the state of each IdP, the apply lock, the last run of each
// trigger and the audit log, read from the store, plus the live state of a
// running serve replica when one is asked. It renders them as text for
// people and as versioned JSON for scripts.
package report

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// FormatVersion is the version of the JSON documents of this package;
// scripts depend on them. It is written as the JSON plan's is, "MAJOR.MINOR".
//
// 1.1 added each IdP's source health (IDPStatus.Health, ServeStatus.IdPs).
// 1.2 added each run's kind and Confluence requests (Run.Kind,
// Run.ConfluenceRequests) and each SCIM IdP's pending changes from the
// store's change journal (IDPStatus.Pending).
const FormatVersion = "1.2"

// Reader is what status reads from the store.
type Reader interface {
	CountUsers(ctx context.Context, idp string) (int, error)
	CountGroups(ctx context.Context, idp string) (int, error)
	Revision(ctx context.Context, idp string) (int64, error)
	LastRead(ctx context.Context, idp string) (plan.SourceCounts, bool, error)
	HealthReader
	// Pending is plan.ChangeJournal's: what SCIM writes touched that no
	// run has reconciled yet.
	Pending(ctx context.Context, limit int) (map[string]plan.Touched, error)
	Lock(ctx context.Context) (*plan.LockInfo, error)
	Runs(ctx context.Context, limit int) ([]plan.Run, error)
}

// Triggers lists the run triggers status reports, in display order.
var Triggers = []plan.Trigger{plan.TriggerAuto, plan.TriggerReconcile, plan.TriggerCLI}

// runScan bounds how far back status looks for each trigger's last run.
const runScan = 500

// Status is the state of a confsync installation.
type Status struct {
	FormatVersion string      `json:"format_version"`
	Generated     time.Time   `json:"generated"`
	IdPs          []IDPStatus `json:"idps"`
	// Lock is the apply lock, nil when free.
	Lock *LockStatus `json:"lock"`
	// LastRuns holds the last run of each trigger that has one.
	LastRuns []TriggerRun `json:"last_runs"`
	// Serve is the live state of a serve replica, when one was asked.
	Serve *ServeStatus `json:"serve,omitempty"`
}

// IDPStatus is one IdP's state.
type IDPStatus struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Users and Groups are what SCIM pushed into the store (SCIM IdPs only).
	Users  *int `json:"users,omitempty"`
	Groups *int `json:"groups,omitempty"`
	// Revision grows with every SCIM write (SCIM IdPs only).
	Revision *int64 `json:"revision,omitempty"`
	// Pending is what the SCIM writes touched that no run has reconciled
	// yet, from the store's change journal (SCIM IdPs only; 1.2).
	Pending *PendingStatus `json:"pending,omitempty"`
	// LastRead is the last successful read that reached Confluence (the
	// source-health guard's reference), nil when none.
	LastRead *ReadStatus `json:"last_read"`
	// Health is what the last plan (of plan, apply or serve) learned about
	// the IdP's source, nil when no plan read it yet (1.1).
	Health *HealthStatus `json:"health"`
}

// PendingStatus counts an IdP's pending changes.
type PendingStatus struct {
	// Identities are the users and groups touched, at most pendingScan.
	Identities int `json:"identities"`
	// Full is true when a write needs a full reconcile (a group created
	// empty, renamed or deleted), or more than pendingScan are pending.
	Full bool `json:"full"`
}

// pendingScan bounds the identities status counts per IdP.
const pendingScan = 10000

// HealthReader reads the source health plans record.
type HealthReader interface {
	Health(ctx context.Context, idp string) (plan.SourceHealth, bool, error)
}

// HealthStatus is one IdP's source health.
type HealthStatus struct {
	// Healthy is true when the last plan read the IdP completely and it
	// took part in the plan.
	Healthy bool `json:"healthy"`
	// LastCompleteRead is the last complete read, nil when none.
	LastCompleteRead *ReadStatus `json:"last_complete_read"`
	// LastFailure is the last time the IdP was left out and why, nil when
	// never. The cause names no secret.
	LastFailure *FailureStatus `json:"last_failure"`
	// LeftOut counts the users and groups the last complete read left out
	// (a missing email, an invalid name).
	LeftOut int `json:"left_out"`
	// Checked is when a plan last read the IdP.
	Checked time.Time `json:"checked"`
}

// FailureStatus is why an IdP was left out of a plan.
type FailureStatus struct {
	At    time.Time `json:"at"`
	Cause string    `json:"cause"`
}

// ReadHealth returns an IdP's source health, nil when none is recorded.
func ReadHealth(ctx context.Context, r HealthReader, idp string) (*HealthStatus, error) {
	h, ok, err := r.Health(ctx, idp)
	if err != nil {
		return nil, fmt.Errorf("read the source health of idp %q: %w", idp, err)
	}
	if !ok {
		return nil, nil
	}
	out := &HealthStatus{Healthy: h.Healthy, LeftOut: h.LeftOut, Checked: h.Updated.UTC()}
	if !h.LastComplete.At.IsZero() {
		out.LastCompleteRead = &ReadStatus{Users: h.LastComplete.Users, Groups: h.LastComplete.Groups, At: h.LastComplete.At.UTC()}
	}
	if !h.LastFailure.IsZero() {
		out.LastFailure = &FailureStatus{At: h.LastFailure.UTC(), Cause: h.LastFailureCause}
	}
	return out, nil
}

// ReadStatus is the size of one read.
type ReadStatus struct {
	Users  int       `json:"users"`
	Groups int       `json:"groups"`
	At     time.Time `json:"at"`
}

// LockStatus is the held apply lock.
type LockStatus struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// TriggerRun is the last run of one trigger.
type TriggerRun struct {
	Trigger plan.Trigger `json:"trigger"`
	Run     Run          `json:"run"`
}

// Collect reads the status of every IdP of cfg from r.
func Collect(ctx context.Context, cfg *config.Config, r Reader, now time.Time) (*Status, error) {
	st := &Status{FormatVersion: FormatVersion, Generated: now.UTC(), IdPs: []IDPStatus{}, LastRuns: []TriggerRun{}}
	pending, err := r.Pending(ctx, pendingScan)
	if err != nil {
		return nil, fmt.Errorf("read the pending changes: %w", err)
	}
	for _, idp := range cfg.IDPs {
		is := IDPStatus{Name: idp.Name, Kind: idp.Kind()}
		if idp.Kind() == "scim" {
			u, err := r.CountUsers(ctx, idp.Name)
			if err != nil {
				return nil, fmt.Errorf("count the users of idp %q: %w", idp.Name, err)
			}
			g, err := r.CountGroups(ctx, idp.Name)
			if err != nil {
				return nil, fmt.Errorf("count the groups of idp %q: %w", idp.Name, err)
			}
			rev, err := r.Revision(ctx, idp.Name)
			if err != nil {
				return nil, fmt.Errorf("read the revision of idp %q: %w", idp.Name, err)
			}
			is.Users, is.Groups, is.Revision = &u, &g, &rev
			t := pending[idp.Name]
			is.Pending = &PendingStatus{Identities: len(t.Users) + len(t.Groups), Full: t.Full}
		}
		c, ok, err := r.LastRead(ctx, idp.Name)
		if err != nil {
			return nil, fmt.Errorf("read the last read of idp %q: %w", idp.Name, err)
		}
		if ok {
			is.LastRead = &ReadStatus{Users: c.Users, Groups: c.Groups, At: c.At.UTC()}
		}
		if is.Health, err = ReadHealth(ctx, r, idp.Name); err != nil {
			return nil, err
		}
		st.IdPs = append(st.IdPs, is)
	}
	l, err := r.Lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the apply lock: %w", err)
	}
	if l != nil && l.Expires.After(now) {
		st.Lock = &LockStatus{Holder: l.Holder, Expires: l.Expires.UTC()}
	}
	runs, err := r.Runs(ctx, runScan)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	seen := map[plan.Trigger]bool{}
	for _, run := range runs { // newest first
		if seen[run.Trigger] {
			continue
		}
		seen[run.Trigger] = true
		st.LastRuns = append(st.LastRuns, TriggerRun{Trigger: run.Trigger, Run: fromRun(run)})
	}
	slices.SortStableFunc(st.LastRuns, func(a, b TriggerRun) int { return triggerRank(a.Trigger) - triggerRank(b.Trigger) })
	return st, nil
}

func triggerRank(t plan.Trigger) int {
	if i := slices.Index(Triggers, t); i >= 0 {
		return i
	}
	return len(Triggers)
}
