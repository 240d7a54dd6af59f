package live

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
)

// memLock is an in-memory apply lock with the semantics of
// plan.StateStore's: one holder until its lease expires.
type memLock struct {
	mu       sync.Mutex
	holder   string
	expires  time.Time
	acquired int
}

func (l *memLock) AcquireLock(_ context.Context, holder string, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.holder != "" && l.holder != holder && now.Before(l.expires) {
		return &plan.LockedError{Lock: plan.LockInfo{Holder: l.holder, Expires: l.expires}}
	}
	if l.holder != holder {
		l.acquired++
	}
	l.holder, l.expires = holder, now.Add(ttl)
	return nil
}

func (l *memLock) ReleaseLock(_ context.Context, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == holder {
		l.holder = ""
	}
	return nil
}

func (l *memLock) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Now().After(l.expires) {
		return ""
	}
	return l.holder
}

func (l *memLock) steal(holder string, ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder, l.expires = holder, time.Now().Add(ttl)
}

// revs is a shared SCIM revision counter per IdP.
type revs struct {
	mu sync.Mutex
	m  map[string]int64
}

func (r *revs) Revision(_ context.Context, idp string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[idp], nil
}

func (r *revs) bump(idp string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]int64{}
	}
	r.m[idp]++
	return r.m[idp]
}

// call is one Reconcile call seen by fakeRunner.
type call struct {
	trigger  plan.Trigger
	revision int64 // the revision of "entra" when the run read its sources
	holder   string
}

// fakeRunner records runs; block makes runs wait until ctx is cancelled or
// the channel is closed.
type fakeRunner struct {
	name     string
	revs     *revs
	lock     *memLock
	inFlight *atomic.Int32 // shared by runners of several replicas
	maxSeen  *atomic.Int32
	outcome  plan.Outcome
	block    chan struct{}

	mu    sync.Mutex
	calls []call
	ctxOK []bool // per call: ctx was still live when the run ended
}

func (f *fakeRunner) Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	rev, _ := f.revs.Revision(ctx, "entra")
	f.mu.Lock()
	f.calls = append(f.calls, call{trigger: trigger, revision: rev, holder: f.lock.current()})
	f.mu.Unlock()
	var err error
	if f.block != nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-f.block:
		}
	}
	f.mu.Lock()
	f.ctxOK = append(f.ctxOK, ctx.Err() == nil)
	f.mu.Unlock()
	if err != nil {
		return plan.Run{Trigger: trigger, Outcome: plan.OutcomeError, Message: "stopped"}, err
	}
	out := f.outcome
	if out == "" {
		out = plan.OutcomeApplied
	}
	return plan.Run{Trigger: trigger, Outcome: out, Message: f.name, Actions: []plan.RunAction{{Action: "create", Object: "user x"}}}, nil
}

func (f *fakeRunner) snapshot() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// replica is one reconciler running in the background.
type replica struct {
	r      *Reconciler
	runner *fakeRunner
	cancel context.CancelFunc
	done   chan struct{}
}

type world struct {
	lock     *memLock
	revs     *revs
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

func newWorld() *world { return &world{lock: &memLock{}, revs: &revs{m: map[string]int64{}}} }

func (w *world) start(t *testing.T, name string, tweak func(*Options, *fakeRunner)) *replica {
	t.Helper()
	runner := &fakeRunner{name: name, revs: w.revs, lock: w.lock, inFlight: &w.inFlight, maxSeen: &w.maxSeen}
	opts := Options{
		Runner:    runner,
		Lock:      w.lock,
		Revisions: w.revs,
		IdPs:      []string{"entra"},
		Holder:    name,
		Debounce:  20 * time.Millisecond,
		Poll:      20 * time.Millisecond,
		LockTTL:   3 * time.Second,
	}
	if tweak != nil {
		tweak(&opts, runner)
	}
	rec, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rp := &replica{r: rec, runner: runner, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rp.done)
		if err := rec.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(rp.stop)
	return rp
}

func (rp *replica) stop() {
	rp.cancel()
	<-rp.done
}

// eventually waits up to a generous bound for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasRun(runners []*fakeRunner, trigger plan.Trigger, atLeastRev int64) bool {
	for _, f := range runners {
		for _, c := range f.snapshot() {
			if c.trigger == trigger && c.revision >= atLeastRev {
				return true
			}
		}
	}
	return false
}

func TestStartupFullReconcile(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", nil)
	eventually(t, "the start-up reconcile ran", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerReconcile, 0) })
	eventually(t, "its status is recorded", func() bool { return rp.r.Status().Last[plan.TriggerReconcile].Outcome == plan.OutcomeApplied })
	c := rp.runner.snapshot()[0]
	if c.holder != "a" {
		t.Errorf("the run held the lock as %q, want %q", c.holder, "a")
	}
	eventually(t, "the lock is released", func() bool { return w.lock.current() == "" })
	if rp.r.Status().LastSuccess.IsZero() {
		t.Error("LastSuccess is not set after a successful reconcile")
	}
}

func TestLocalChangeSchedulesAutoReconcileCoveringIt(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", nil)
	eventually(t, "the start-up reconcile ran", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerReconcile, 0) })
	var last int64
	for range 5 {
		last = w.revs.bump("entra")
		rp.r.Notify("entra")
	}
	eventually(t, "an auto reconcile read the last change", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerAuto, last) })
	eventually(t, "nothing is pending", func() bool { return rp.r.Status().Pending["entra"] == 0 })
}

func TestRemoteChangeIsFoundByPolling(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", nil)
	eventually(t, "the start-up reconcile ran", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerReconcile, 0) })
	// Another replica acknowledged a write: no Notify here.
	rev := w.revs.bump("entra")
	eventually(t, "an auto reconcile read the remote change", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerAuto, rev) })
}

func TestPeriodicReconcile(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", func(o *Options, _ *fakeRunner) { o.Interval = 50 * time.Millisecond })
	eventually(t, "three full reconciles ran", func() bool {
		n := 0
		for _, c := range rp.runner.snapshot() {
			if c.trigger == plan.TriggerReconcile {
				n++
			}
		}
		return n >= 3
	})
}

func TestTwoReplicasNeverApplyAtOnce(t *testing.T) {
	w := newWorld()
	a := w.start(t, "a", nil)
	b := w.start(t, "b", nil)
	// Make runs take a while so that the replicas' attempts overlap.
	slow := make(chan struct{})
	a.runner.mu.Lock()
	a.runner.block = slow
	a.runner.mu.Unlock()
	go func() { time.Sleep(200 * time.Millisecond); close(slow) }()
	var last int64
	for i := range 20 {
		last = w.revs.bump("entra")
		if i%2 == 0 {
			a.r.Notify("entra")
		} else {
			b.r.Notify("entra")
		}
		time.Sleep(5 * time.Millisecond)
	}
	eventually(t, "a reconcile covered the last change", func() bool {
		return hasRun([]*fakeRunner{a.runner, b.runner}, plan.TriggerAuto, last)
	})
	if m := w.maxSeen.Load(); m != 1 {
		t.Errorf("%d reconciles ran at once, want 1", m)
	}
}

func TestDeadHoldersLeaseExpires(t *testing.T) {
	w := newWorld()
	// A replica died holding the lock.
	w.lock.steal("dead replica", 400*time.Millisecond)
	obs := &countingObserver{outcomes: map[string]int{}}
	rp := w.start(t, "a", func(o *Options, _ *fakeRunner) { o.Observer = obs })
	eventually(t, "status says who holds the lock", func() bool {
		return strings.Contains(rp.r.Status().Waiting, "dead replica")
	})
	eventually(t, "the reconcile ran after the lease expired", func() bool {
		return hasRun([]*fakeRunner{rp.runner}, plan.TriggerReconcile, 0)
	})
	if c := rp.runner.snapshot()[0]; c.holder != "a" {
		t.Errorf("ran with lock holder %q, want a", c.holder)
	}
	tk := rp.r.Status().LastTakeover
	if tk == nil || tk.From != "dead replica" {
		t.Errorf("LastTakeover = %+v, want the take-over from the dead replica", tk)
	}
	if n := obs.count("takeover from dead replica"); n != 1 {
		t.Errorf("observer heard %d take-overs, want 1", n)
	}
}

// cutLock is a replica's view of the shared lock that can be cut off, as
// when the replica's machine dies: it neither renews nor releases.
type cutLock struct {
	*memLock
	dead atomic.Bool
}

func (l *cutLock) AcquireLock(ctx context.Context, holder string, ttl time.Duration) error {
	if l.dead.Load() {
		return errors.New("connection refused")
	}
	return l.memLock.AcquireLock(ctx, holder, ttl)
}

func (l *cutLock) ReleaseLock(ctx context.Context, holder string) error {
	if l.dead.Load() {
		return errors.New("connection refused")
	}
	return l.memLock.ReleaseLock(ctx, holder)
}

func (f *fakeRunner) contexts() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.ctxOK...)
}

func TestTakeOverWhenTheApplyingReplicaDies(t *testing.T) {
	w := newWorld()
	block := make(chan struct{})
	defer close(block)
	aLock := &cutLock{memLock: w.lock}
	a := w.start(t, "a", func(o *Options, f *fakeRunner) {
		o.LockTTL = 600 * time.Millisecond
		o.Lock = aLock
		f.block = block
	})
	eventually(t, "a is applying", func() bool { return a.r.Status().Applying })
	b := w.start(t, "b", func(o *Options, _ *fakeRunner) { o.LockTTL = 600 * time.Millisecond })
	rev := w.revs.bump("entra")
	b.r.Notify("entra")
	eventually(t, "b waits for a's lock", func() bool { return strings.Contains(b.r.Status().Waiting, "held by a") })
	// a's machine is gone: no renewal, no release.
	aLock.dead.Store(true)
	eventually(t, "b took over and reconciled the change", func() bool {
		return hasRun([]*fakeRunner{b.runner}, plan.TriggerAuto, rev) || hasRun([]*fakeRunner{b.runner}, plan.TriggerReconcile, rev)
	})
	// a, cut off, stops its own run once its lease cannot be renewed.
	eventually(t, "a's run stopped", func() bool { return len(a.runner.contexts()) > 0 })
	if ok := a.runner.contexts(); ok[0] {
		t.Error("a's run ended with a live context; want it cancelled when its lease could not be renewed")
	}
	if m := w.maxSeen.Load(); m != 1 {
		// a's fake run only waits, so overlapping here would mean b started
		// before a's lease expired.
		t.Logf("runs overlapped (%d at once) while a was cut off", m)
	}
}

func TestLostLeaseCancelsTheRun(t *testing.T) {
	w := newWorld()
	block := make(chan struct{})
	defer close(block)
	a := w.start(t, "a", func(o *Options, f *fakeRunner) {
		o.LockTTL = 300 * time.Millisecond
		f.block = block
	})
	eventually(t, "a is applying", func() bool { return a.r.Status().Applying })
	// An operator force-unlocked and another process took the lock.
	w.lock.steal("cli apply", time.Hour)
	eventually(t, "a's run was cancelled", func() bool {
		return len(a.runner.contexts()) > 0
	})
	if a.runner.contexts()[0] {
		t.Error("the run ended with a live context; want it cancelled when the lease was lost")
	}
	if got := w.lock.current(); got != "cli apply" {
		t.Errorf("lock holder = %q; a must not release a lock it lost", got)
	}
}

func TestShutdownStopsTheRunAndReleasesTheLock(t *testing.T) {
	w := newWorld()
	block := make(chan struct{})
	defer close(block)
	a := w.start(t, "a", func(_ *Options, f *fakeRunner) { f.block = block })
	eventually(t, "a is applying", func() bool { return a.r.Status().Applying })
	a.stop()
	if got := w.lock.current(); got != "" {
		t.Errorf("after shutdown the lock is held by %q", got)
	}
	if ok := a.runner.contexts(); len(ok) != 1 || ok[0] {
		t.Errorf("run contexts live at the end: %v; want one cancelled run", ok)
	}
}

func TestRefusedReconcileKeepsChangesPending(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", func(_ *Options, f *fakeRunner) { f.outcome = plan.OutcomeRefused })
	eventually(t, "the start-up reconcile ran", func() bool { return hasRun([]*fakeRunner{rp.runner}, plan.TriggerReconcile, 0) })
	rev := w.revs.bump("entra")
	rp.r.Notify("entra")
	eventually(t, "the auto reconcile was refused", func() bool {
		return hasRun([]*fakeRunner{rp.runner}, plan.TriggerAuto, rev) && rp.r.Status().Last[plan.TriggerAuto].Outcome == plan.OutcomeRefused
	})
	st := rp.r.Status()
	if st.Pending["entra"] != 1 {
		t.Errorf("pending = %d, want 1: a refused reconcile applied nothing", st.Pending["entra"])
	}
	if !st.LastSuccess.IsZero() {
		t.Errorf("LastSuccess = %v after refused runs only", st.LastSuccess)
	}
}

type countingObserver struct {
	mu       sync.Mutex
	pending  int64
	outcomes map[string]int
}

func (o *countingObserver) Pending(n int64) {
	o.mu.Lock()
	o.pending = n
	o.mu.Unlock()
}

func (o *countingObserver) Reconciled(trigger plan.Trigger, run plan.Run, _ time.Duration) {
	o.mu.Lock()
	o.outcomes[string(trigger)+" "+string(run.Outcome)]++
	o.mu.Unlock()
}

func (o *countingObserver) TookOver(t Takeover) {
	o.mu.Lock()
	o.outcomes["takeover from "+t.From]++
	o.mu.Unlock()
}

func (o *countingObserver) count(k string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.outcomes[k]
}

func TestObserverHearsOutcomes(t *testing.T) {
	w := newWorld()
	obs := &countingObserver{outcomes: map[string]int{}}
	rp := w.start(t, "a", func(o *Options, _ *fakeRunner) { o.Observer = obs })
	eventually(t, "the observer heard the start-up reconcile", func() bool { return obs.count("reconcile applied") == 1 })
	w.revs.bump("entra")
	rp.r.Notify("entra")
	eventually(t, "the observer heard the auto reconcile", func() bool { return obs.count("auto applied") >= 1 })
}

type failingLock struct{ memLock }

func (l *failingLock) AcquireLock(context.Context, string, time.Duration) error {
	return errors.New("database is down")
}

func TestStoreErrorsBackOff(t *testing.T) {
	w := newWorld()
	rp := w.start(t, "a", func(o *Options, _ *fakeRunner) { o.Lock = &failingLock{} })
	eventually(t, "status says a retry is scheduled", func() bool {
		return strings.Contains(rp.r.Status().Waiting, "cannot take the apply lock; retrying at")
	})
	if n := len(rp.runner.snapshot()); n != 0 {
		t.Errorf("the runner ran %d times without the lock", n)
	}
}

func TestNewRequiresItsParts(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New with no Runner, Lock or Revisions succeeded")
	}
}

type panickyRunner struct{ calls atomic.Int32 }

func (p *panickyRunner) Reconcile(context.Context, plan.Trigger) (plan.Run, error) {
	p.calls.Add(1)
	panic("index out of range")
}

func TestPanicInARunIsAFailedRun(t *testing.T) {
	w := newWorld()
	pr := &panickyRunner{}
	rp := w.start(t, "a", func(o *Options, _ *fakeRunner) { o.Runner = pr })
	eventually(t, "the panic was turned into a failed run", func() bool {
		return rp.r.Status().Last[plan.TriggerReconcile].Outcome == plan.OutcomeError
	})
	if !strings.Contains(rp.r.Status().Waiting, "retrying at") {
		t.Errorf("waiting = %q, want a retry scheduled", rp.r.Status().Waiting)
	}
	eventually(t, "the lock is released", func() bool { return w.lock.current() == "" })
}
