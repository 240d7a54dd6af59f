package live

import "time"

// debouncer decides when a burst of changes is due for a reconcile: once no
// change has arrived for the quiet period, or once the oldest unreconciled
// change has waited maxWait, whichever comes first, so that a steady stream
// of changes still reaches Confluence.
//
// It holds no timers; the reconciler asks it for the due time and sleeps.
type debouncer struct {
	quiet   time.Duration
	maxWait time.Duration

	first time.Time // oldest change not yet handed to a reconcile; zero when none
	last  time.Time // newest such change
}

// changed records a change made at t. Changes may be reported out of
// order (a write notified locally, then seen again as a revision); the
// newest time counts.
func (d *debouncer) changed(t time.Time) {
	if d.first.IsZero() || t.Before(d.first) {
		d.first = t
	}
	if t.After(d.last) {
		d.last = t
	}
}

// pending reports whether a change awaits a reconcile.
func (d *debouncer) pending() bool { return !d.first.IsZero() }

// due returns when the pending changes should be reconciled, and false when
// there are none.
func (d *debouncer) due() (time.Time, bool) {
	if d.first.IsZero() {
		return time.Time{}, false
	}
	at := d.last.Add(d.quiet)
	if limit := d.first.Add(d.maxWait); limit.Before(at) {
		at = limit
	}
	return at, true
}

// taken says that a reconcile starting now covers every change seen so far.
func (d *debouncer) taken() {
	d.first, d.last = time.Time{}, time.Time{}
}

// backoff is the delay before retry n (0-based) after a failed reconcile:
// doubling from base, capped at max.
func backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}
