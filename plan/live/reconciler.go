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
	"log/slog"
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
