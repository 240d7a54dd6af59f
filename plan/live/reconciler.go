// Package live keeps Confluence in step with the identity sources while
// `confsync serve` runs with server.auto_apply on.
//
// A SCIM change (reported by the local SCIM server, or seen as a higher
// store revision written by another replica) schedules a reconcile,
// debounced so that a burst of changes becomes one plan; a periodic full
// reconcile catches drift made in Confluence. A reconcile is a plan and apply
// by the same engine, thresholds and source-health guard as `confsync
// apply`. The apply lock in the shared store, held as a renewed lease, lets
// exactly one replica apply at a time; when the replica holding it dies, its
// lease expires and another replica's next attempt takes over. Desired state
// lives in the store, so the replica that takes over reconciles whatever the
// dead one had not.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/confsync/confsync/plan"
)

// Runner plans and applies once, with the engine, thresholds and
// source-health guard of `confsync apply`, and records the run in the audit
// log under the given trigger. The reconciler holds the apply lock while
// Reconcile runs. Reconcile must stop at a safe point (between actions) when
// ctx is cancelled.
//
// A run that stopped before applying anything because a threshold or the
// source-health guard refused it returns Outcome "refused" and a nil error;
// a run that could not be planned returns an error (and, when it could tell,
// a Run with Outcome "error").
type Runner interface {
	Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error)
}

// Locker is the apply lock of plan.StateStore.
type Locker = plan.Locker

// Revisions reports a number that grows with every SCIM write to an IdP,
// shared by every replica through the store.
type Revisions interface {
	Revision(ctx context.Context, idp string) (int64, error)
}

// Observer is told what the reconciler does, for metrics.
type Observer interface {
	// Pending reports the SCIM writes seen but not yet reconciled.
	Pending(n int64)
	// Reconciled reports a finished reconcile attempt that ran the engine.
	Reconciled(trigger plan.Trigger, run plan.Run, took time.Duration)
	// TookOver reports that this replica took the apply lock over from a
	// holder whose lease had expired: it stopped without releasing it.
	TookOver(t Takeover)
}

// Takeover is the apply lock taken over from a holder that stopped without
// releasing it (a killed or lost replica, an interrupted CLI apply).
type Takeover struct {
	From    string    // the previous holder
	Expired time.Time // when its lease expired
	At      time.Time // when this replica took the lock
}

// Options configure a Reconciler. Runner, Lock and Revisions are required.
type Options struct {
	Runner    Runner
	Lock      Locker
	Revisions Revisions
	// IdPs are the SCIM IdPs whose revisions are watched.
	IdPs []string

	// Holder names this replica in the apply lock (plan.DefaultHolder when
	// ""; serve passes "serve " and plan.DefaultHolder).
	Holder string
	// Debounce is the quiet period after a change before a reconcile
	// (default 2s).
	Debounce time.Duration
	// MaxWait bounds how long a change waits while changes keep coming
	// (default ten times Debounce, at least 10s).
	MaxWait time.Duration
	// Interval is the period of full reconciles; 0 disables them (a full
	// reconcile still runs at start-up).
	Interval time.Duration
	// Poll is how often revisions are read, and how soon a reconcile blocked
	// by another replica's lock is tried again (default 1s).
	Poll time.Duration
	// LockTTL is the lease of the apply lock, renewed every third of it while
	// a reconcile runs (default 30s). A replica that dies holding it blocks
	// the others for at most LockTTL + Poll.
	LockTTL time.Duration
	// RetryMax caps the backoff after failed reconciles (default 5m; the
	// first retry waits 10s, or Debounce when larger).
	RetryMax time.Duration

	Logger   *slog.Logger
	Observer Observer
}

// Reconciler runs reconciles for `confsync serve`. Its methods are safe for
// concurrent use.
type Reconciler struct {
	opts Options
	log  *slog.Logger

	lease    *plan.Lease
	wake     chan struct{}
	mu       sync.Mutex
	notified bool
	st       Status
}

// Status is a snapshot of a Reconciler, for /metrics and logs.
type Status struct {
	Holder string
	// Applying is true while this replica holds the lock and reconciles.
	Applying bool
	// Pending counts per IdP the SCIM writes seen but not yet reconciled
	// successfully.
	Pending map[string]int64
	// LastSuccess is when the last successful reconcile (outcome applied)
	// finished; zero before the first.
	LastSuccess time.Time
	// Last holds the last finished reconcile per trigger.
	Last map[plan.Trigger]RunStatus
	// Waiting says why a due reconcile has not started ("" when none is
	// waiting): the lock is held by another replica, or a retry backs off.
	Waiting string
	// LastTakeover is the last time this replica took the lock over from a
	// holder that had stopped without releasing it; nil when never.
	LastTakeover *Takeover
}

// RunStatus summarises one reconcile.
type RunStatus struct {
	Started  time.Time
	Finished time.Time
	Outcome  plan.Outcome
	Message  string
	Actions  int // actions attempted
	Failed   int // actions that failed
}

// New returns a Reconciler; call Run to start it.
func New(opts Options) (*Reconciler, error) {
	if opts.Runner == nil || opts.Lock == nil || opts.Revisions == nil {
		return nil, errors.New("live: Runner, Lock and Revisions are required")
	}
	if opts.Holder == "" {
		opts.Holder = plan.DefaultHolder()
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 2 * time.Second
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = max(10*opts.Debounce, 10*time.Second)
	}
	if opts.MaxWait < opts.Debounce {
		opts.MaxWait = opts.Debounce
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 30 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.Interval < 0 {
		opts.Interval = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reconciler{
		opts: opts,
		log:  log.With("component", "reconciler", "holder", opts.Holder),
		wake: make(chan struct{}, 1),
		st: Status{
			Holder:  opts.Holder,
			Pending: map[string]int64{},
			Last:    map[plan.Trigger]RunStatus{},
		},
	}
	r.lease = &plan.Lease{Lock: opts.Lock, Holder: opts.Holder, TTL: opts.LockTTL, Logger: r.log}
	return r, nil
}

// Notify reports a SCIM change acknowledged by this replica; it never blocks.
// Changes acknowledged by other replicas are found by polling revisions.
func (r *Reconciler) Notify(idp string) {
	r.mu.Lock()
	r.notified = true
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Status returns a snapshot of the reconciler's state.
func (r *Reconciler) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.st
	s.Pending = make(map[string]int64, len(r.st.Pending))
	for k, v := range r.st.Pending {
		s.Pending[k] = v
	}
	s.Last = make(map[plan.Trigger]RunStatus, len(r.st.Last))
	for k, v := range r.st.Last {
		s.Last[k] = v
	}
	if r.st.LastTakeover != nil {
		t := *r.st.LastTakeover
		s.LastTakeover = &t
	}
	return s
}

// loop is the state of Run's goroutine.
type loop struct {
	deb      debouncer
	seen     map[string]int64 // latest revision read per IdP
	done     map[string]int64 // revisions covered by the last successful reconcile
	tried    map[string]int64 // revisions covered by the last reconcile that ran
	fullDue  time.Time        // zero: no full reconcile due
	retryAt  time.Time        // no auto reconcile before this
	failures int
	nextPoll time.Time
	// notifiedAt is when this replica last acknowledged a write since the
	// last poll: a revision that grew because of it is that same change,
	// not a newer one that would restart the debounce.
	notifiedAt time.Time
	// pollFailing is true while revisions cannot be read.
	pollFailing bool
	// busy is the lock another holder had at the last attempt, at busyAt.
	busy   *plan.LockInfo
	busyAt time.Time
}

// Run reconciles until ctx is cancelled: a full reconcile first (it picks
// up whatever a replica that died had not applied), then on changes and on
// the interval. A reconcile in progress when ctx is cancelled stops at the
// engine's next safe point and the lock is released before Run returns.
func (r *Reconciler) Run(ctx context.Context) error {
	l := &loop{
		deb:   debouncer{quiet: r.opts.Debounce, maxWait: r.opts.MaxWait},
		seen:  map[string]int64{},
		done:  map[string]int64{},
		tried: map[string]int64{},
	}
	now := time.Now()
	l.fullDue = now
	r.log.Info("reconciler started", "debounce", r.opts.Debounce.String(), "max_wait", r.opts.MaxWait.String(),
		"interval", r.opts.Interval.String(), "lock_ttl", r.opts.LockTTL.String())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			r.log.Info("reconciler stopped")
			return nil
		case <-r.wake:
		case <-timer.C:
		}
		now = time.Now()
		r.mu.Lock()
		if r.notified {
			r.notified = false
			l.deb.changed(now)
			l.notifiedAt = now
		}
		r.mu.Unlock()
		if !now.Before(l.nextPoll) {
			r.poll(ctx, l, now)
			l.nextPoll = now.Add(r.opts.Poll)
		}
		if ctx.Err() != nil {
			continue
		}
		switch {
		case !l.fullDue.IsZero() && !now.Before(l.fullDue):
			r.attempt(ctx, l, plan.TriggerReconcile)
		case l.deb.pending() && !now.Before(l.retryAt):
			if due, _ := l.deb.due(); !now.Before(due) {
				r.attempt(ctx, l, plan.TriggerAuto)
			}
		}
		timer.Reset(time.Until(r.nextWake(l)))
	}
}

// nextWake is when the loop must look again.
func (r *Reconciler) nextWake(l *loop) time.Time {
	next := l.nextPoll
	if !l.fullDue.IsZero() && l.fullDue.Before(next) {
		next = l.fullDue
	}
	if due, ok := l.deb.due(); ok {
		if due.Before(l.retryAt) {
			due = l.retryAt
		}
		if due.Before(next) {
			next = due
		}
	}
	return next
}

// poll reads every IdP's revision; a revision that grew is a change.
func (r *Reconciler) poll(ctx context.Context, l *loop, now time.Time) {
	failing := false
	for _, idp := range r.opts.IdPs {
		rev, err := r.opts.Revisions.Revision(ctx, idp)
		if err != nil {
			// Once per outage, not once per poll.
			if ctx.Err() == nil && !l.pollFailing {
				r.log.Warn("cannot read the SCIM revision; changes made through other replicas are not seen until the store answers",
					"idp", idp, "error", err.Error())
			}
			failing = true
			continue
		}
		prev, known := l.seen[idp]
		l.seen[idp] = rev
		switch {
		case !known:
			// The first read is the baseline; the start-up full reconcile
			// covers whatever came before it.
			if _, ok := l.done[idp]; !ok {
				l.done[idp] = rev
				l.tried[idp] = rev
			}
		case rev > prev && rev > l.tried[idp]:
			at := now
			if !l.notifiedAt.IsZero() {
				at = l.notifiedAt
			}
			l.deb.changed(at)
		}
	}
	if l.pollFailing && !failing {
		r.log.Info("the store answers again")
	}
	l.pollFailing = failing
	l.notifiedAt = time.Time{}
	r.publishPending(l)
}

// publishPending updates Status.Pending and the observer.
func (r *Reconciler) publishPending(l *loop) {
	var total int64
	pending := make(map[string]int64, len(l.seen))
	for idp, rev := range l.seen {
		n := rev - l.done[idp]
		if n < 0 {
			n = 0
		}
		pending[idp] = n
		total += n
	}
	r.mu.Lock()
	r.st.Pending = pending
	r.mu.Unlock()
	if r.opts.Observer != nil {
		r.opts.Observer.Pending(total)
	}
}

func (r *Reconciler) setWaiting(why string) {
	r.mu.Lock()
	r.st.Waiting = why
	r.mu.Unlock()
}

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

// schedule decides, from a run's outcome, what the loop does next: an
// applied run marks its revisions done, a refused one waits for the next
// change or full reconcile, a failed one retries with backoff.
func (r *Reconciler) schedule(l *loop, trigger plan.Trigger, outcome plan.Outcome, snap map[string]int64, log *slog.Logger) {
	end := time.Now()
	for idp, rev := range snap {
		l.tried[idp] = rev
	}
	if trigger == plan.TriggerReconcile || outcome == plan.OutcomeApplied {
		l.fullDue = time.Time{}
		if r.opts.Interval > 0 {
			l.fullDue = end.Add(r.opts.Interval)
		}
	}
	switch outcome {
	case plan.OutcomeApplied:
		log.Info("reconcile finished")
		for idp, rev := range snap {
			l.done[idp] = rev
		}
		l.failures = 0
		l.retryAt = time.Time{}
	case plan.OutcomeRefused:
		// Applying the same plan again would be refused again: wait for the
		// next change or full reconcile. Pending keeps counting the changes.
		log.Warn("reconcile refused; nothing was applied")
		l.failures = 0
		l.retryAt = time.Time{}
	default:
		log.Error("reconcile failed")
		r.failed(l, end, trigger, "")
	}
	r.publishPending(l)
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

// failed schedules a retry with backoff.
func (r *Reconciler) failed(l *loop, now time.Time, trigger plan.Trigger, why string) {
	wait := backoff(l.failures, max(10*time.Second, r.opts.Debounce), r.opts.RetryMax)
	l.failures++
	l.retryAt = now.Add(wait)
	l.deb.changed(now)
	if trigger == plan.TriggerReconcile && !l.fullDue.IsZero() && l.fullDue.Before(l.retryAt) {
		l.fullDue = l.retryAt
	}
	if why != "" {
		r.setWaiting(why + "; retrying at " + l.retryAt.UTC().Format(time.RFC3339))
	} else {
		r.setWaiting("the last reconcile failed; retrying at " + l.retryAt.UTC().Format(time.RFC3339))
	}
}

// release gives the lock back, even when ctx is cancelled (shutdown); a
// failure is logged by the lease, and the lock expires by itself.
func (r *Reconciler) release(ctx context.Context) { _ = r.lease.Release(ctx) }
