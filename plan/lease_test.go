package plan_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
)

// scriptedLock answers renewals with err once set; it counts them.
type scriptedLock struct {
	mu       sync.Mutex
	err      error
	renewals int
	released []string
}

func (l *scriptedLock) AcquireLock(_ context.Context, _ string, _ time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewals++
	return l.err
}

func (l *scriptedLock) ReleaseLock(_ context.Context, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = append(l.released, holder)
	return nil
}

func (l *scriptedLock) set(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

func (l *scriptedLock) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewals
}

// TestLeaseLostToAnotherHolder: a renewal refused with ErrLocked loses the
// lease at once, with the reason as the context's cause.
func TestLeaseLostToAnotherHolder(t *testing.T) {
	lk := &scriptedLock{}
	l := &plan.Lease{Lock: lk, Holder: "me", TTL: 90 * time.Millisecond}
	ctx, stop := l.Keep(context.Background())
	defer stop()
	lk.set(&plan.LockedError{Lock: plan.LockInfo{Holder: "other", Expires: time.Now().Add(time.Hour)}})
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the lease was not lost when another holder took the lock")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, plan.ErrLocked) || !strings.Contains(cause.Error(), "lost the apply lock") {
		t.Fatalf("cause = %v, want lost the apply lock naming the LockedError", cause)
	}
}

// TestLeaseSurvivesATransientStoreError: one failed renewal is retried; the
// lease is given up only when no renewal succeeded for two thirds of the
// TTL.
func TestLeaseSurvivesATransientStoreError(t *testing.T) {
	lk := &scriptedLock{}
	ttl := 600 * time.Millisecond
	l := &plan.Lease{Lock: lk, Holder: "me", TTL: ttl}
	ctx, stop := l.Keep(context.Background())
	lk.set(errors.New("connection reset"))
	for lk.count() < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	lk.set(nil) // the store answers again before two thirds of the TTL
	if ctx.Err() != nil {
		t.Fatalf("one failed renewal lost the lease: %v", context.Cause(ctx))
	}
	for n := lk.count(); lk.count() < n+2; {
		time.Sleep(5 * time.Millisecond)
	}
	if ctx.Err() != nil {
		t.Fatalf("the lease was lost after the store recovered: %v", context.Cause(ctx))
	}
	lk.set(errors.New("store down"))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a lease never renewed was kept")
	}
	if cause := context.Cause(ctx); errors.Is(cause, plan.ErrLocked) || !strings.Contains(cause.Error(), "two thirds") {
		t.Fatalf("cause = %v, want the two-thirds rule", cause)
	}
	stop()
	if err := l.Release(context.Background()); err != nil || len(lk.released) != 1 || lk.released[0] != "me" {
		t.Fatalf("Release = %v, released %v", err, lk.released)
	}
}

// TestDefaultHolderIsOnePerProcess: host:pid:random, the same name for
// every lock the process takes.
func TestDefaultHolderIsOnePerProcess(t *testing.T) {
	h := plan.DefaultHolder()
	if parts := strings.Split(h, ":"); len(parts) != 3 || len(parts[2]) != 8 {
		t.Fatalf("DefaultHolder = %q, want host:pid:random", h)
	}
	if h2 := plan.DefaultHolder(); h2 != h {
		t.Fatalf("DefaultHolder changed within a process: %q then %q", h, h2)
	}
}
