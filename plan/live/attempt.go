package live

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/confsync/confsync/plan"
)

// attempt takes the lock and runs one reconcile: take the lock, read the
// revisions it will cover, run under the lease, record the run, schedule
// what comes next.
func (r *Reconciler) attempt(ctx context.Context, l *loop, trigger plan.Trigger) {
	now := time.Now()
	if !r.takeLock(ctx, l, trigger, now) {
		return
	}
	snap, ok := r.snapshotRevisions(ctx, l, trigger, now)
	if !ok {
		r.release(ctx)
		return
	}
	l.deb.taken()
	r.mu.Lock()
	r.st.Applying = true
	r.st.Waiting = ""
	r.mu.Unlock()

	run, took := r.runUnderLease(ctx, trigger)
	rs := r.record(ctx, trigger, run, took)
	if ctx.Err() != nil {
		r.log.Info("reconcile stopped by shutdown", "trigger", trigger, "outcome", run.Outcome)
		return
	}
	log := r.log.With("trigger", trigger, "outcome", run.Outcome, "actions", rs.Actions, "failed", rs.Failed,
		"took_ms", took.Milliseconds())
	if run.Message != "" {
		log = log.With("message", run.Message)
	}
	r.schedule(l, trigger, run.Outcome, snap, log)
}

// takeLock takes the apply lock for an attempt, noting a takeover from a
// holder that stopped without releasing it. When it returns false the
// lock is not held and what happens next is scheduled: another try a poll
// later when someone else holds it, a retry with backoff when the store
// failed.
func (r *Reconciler) takeLock(ctx context.Context, l *loop, trigger plan.Trigger, now time.Time) bool {
	err := r.lease.Acquire(ctx)
	// A holder seen at the last attempt (a poll ago) whose lease has run
	// out since stopped without releasing the lock: a live holder renews
	// its lease every third of it, and one that releases is seen gone at
	// the next poll, long before its lease ends.
	stale := l.busy
	l.busy = nil
	if err == nil && stale != nil && !stale.Expires.After(now) && now.Sub(l.busyAt) <= 2*r.opts.Poll+time.Second {
		r.tookOver(Takeover{From: stale.Holder, Expired: stale.Expires, At: now})
	}
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	var le *plan.LockedError
	if errors.As(err, &le) {
		// Another replica (or a CLI apply) is applying; try again soon.
		// A lease left by a dead replica expires within LockTTL.
		r.setWaiting("the apply lock is held by " + le.Lock.Holder)
		l.busy, l.busyAt = &le.Lock, now
		r.log.Debug("reconcile waits for the apply lock", "trigger", trigger, "lock_holder", le.Lock.Holder)
		l.retryAt = now.Add(r.opts.Poll)
		if trigger == plan.TriggerReconcile {
			l.fullDue = l.retryAt
		}
		return false
	}
	r.log.Error("cannot take the apply lock", "trigger", trigger, "error", err.Error())
	r.failed(l, now, trigger, "cannot take the apply lock")
	return false
}

// tookOver records and reports a takeover of the lock.
func (r *Reconciler) tookOver(t Takeover) {
	r.log.Warn("took over the apply lock from a holder that stopped without releasing it; whatever it had not applied is planned again now",
		"previous_holder", t.From, "lease_expired", t.Expired.UTC().Format(time.RFC3339))
	r.mu.Lock()
	r.st.LastTakeover = &t
	r.mu.Unlock()
	if r.opts.Observer != nil {
		r.opts.Observer.TookOver(t)
	}
}

// snapshotRevisions reads, under the lock, where the sources stand: a run
// that succeeds covers at least these revisions. On a failure it schedules
// a retry and returns false; the caller releases the lock.
func (r *Reconciler) snapshotRevisions(ctx context.Context, l *loop, trigger plan.Trigger, now time.Time) (map[string]int64, bool) {
	snap := make(map[string]int64, len(r.opts.IdPs))
	for _, idp := range r.opts.IdPs {
		rev, err := r.opts.Revisions.Revision(ctx, idp)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Error("cannot read the SCIM revision", "idp", idp, "error", err.Error())
				r.failed(l, now, trigger, "cannot read the SCIM revision")
			}
			return nil, false
		}
		snap[idp] = rev
		if rev > l.seen[idp] {
			l.seen[idp] = rev
		}
	}
	return snap, true
}

// runUnderLease runs the reconcile while the lease is kept, releases the
// lock, and fills in what the Runner left empty in the run.
func (r *Reconciler) runUnderLease(ctx context.Context, trigger plan.Trigger) (plan.Run, time.Duration) {
	runCtx, stopLease := r.lease.Keep(ctx)
	started := time.Now()
	r.log.Info("reconcile started", "trigger", trigger)
	run, err := r.reconcile(runCtx, trigger)
	took := time.Since(started)
	stopLease()
	r.release(ctx)

	if run.Outcome == "" {
		run.Outcome = plan.OutcomeApplied
		if err != nil {
			run.Outcome = plan.OutcomeError
		}
	}
	if err != nil && run.Message == "" {
		run.Message = err.Error()
	}
	if run.Started.IsZero() {
		run.Started = started
	}
	if run.Finished.IsZero() {
		run.Finished = started.Add(took)
	}
	return run, took
}

// record puts the finished run in the status and tells the observer
// (unless serve is shutting down).
func (r *Reconciler) record(ctx context.Context, trigger plan.Trigger, run plan.Run, took time.Duration) RunStatus {
	rs := RunStatus{Started: run.Started, Finished: run.Finished, Outcome: run.Outcome, Message: run.Message, Actions: len(run.Actions)}
	for _, a := range run.Actions {
		if a.Error != "" {
			rs.Failed++
		}
	}
	r.mu.Lock()
	r.st.Applying = false
	r.st.Last[trigger] = rs
	if run.Outcome == plan.OutcomeApplied {
		r.st.LastSuccess = run.Finished
	}
	r.mu.Unlock()
	if r.opts.Observer != nil && ctx.Err() == nil {
		r.opts.Observer.Reconciled(trigger, run, took)
	}
	return rs
}

// reconcile runs the Runner, turning a panic into an error: a bug met by
// one plan must not take the SCIM endpoint down with it.
func (r *Reconciler) reconcile(ctx context.Context, trigger plan.Trigger) (run plan.Run, err error) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("the reconcile panicked", "trigger", trigger, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			run = plan.Run{Trigger: trigger, Outcome: plan.OutcomeError, Message: "internal error: the reconcile panicked; see serve's log"}
			err = fmt.Errorf("reconcile panicked: %v", p)
		}
	}()
	return r.opts.Runner.Reconcile(ctx, trigger)
}

// release gives the lock back, even when ctx is cancelled (shutdown); a
// failure is logged by the lease, and the lock expires by itself.
func (r *Reconciler) release(ctx context.Context) { _ = r.lease.Release(ctx) }
