package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/confsync/confsync/plan"
)

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
