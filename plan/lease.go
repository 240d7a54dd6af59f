package plan

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// DefaultLockTTL is the apply lock's lease for the CLI; a Lease renews it
// every third.
const DefaultLockTTL = 2 * time.Minute

// Locker is the apply lock of StateStore, all a Lease needs.
type Locker interface {
	AcquireLock(ctx context.Context, holder string, ttl time.Duration) error
	ReleaseLock(ctx context.Context, holder string) error
}

// processHolder is computed once: every lock this process takes is taken
// under the same name.
var processHolder = sync.OnceValue(func() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + ":" + strconv.Itoa(os.Getpid()) + ":" + hex.EncodeToString(b[:])
})

// DefaultHolder names this process in the apply lock: "host:pid:random".
// The random part, chosen once per process, keeps a restarted process on
// the same host with a reused pid (pid 1 in a container) a different
// holder. serve's replicas put "serve " before it.
func DefaultHolder() string { return processHolder() }

// Lease is the apply lock held by one holder and renewed every third of
// its TTL while work runs under it. It is the one rule for the CLI's apply
// and serve's reconciles:
//
//   - a renewal refused because another holder has the lock (ErrLocked:
//     the lease expired and was taken, or it was force-unlocked) loses the
//     lease at once;
//   - a renewal that fails otherwise (the store unreachable) is retried at
//     the next third; when no renewal has succeeded for two thirds of the
//     TTL the lease is given up, before it can expire under the work.
//
// Losing the lease cancels the context Keep returned, with the reason as
// its cause, so that the work stops at its next safe point.
type Lease struct {
	Lock   Locker
	Holder string        // DefaultHolder when ""
	TTL    time.Duration // DefaultLockTTL when 0
	Logger *slog.Logger  // nil: no logging
}

func (l *Lease) holder() string {
	if l.Holder == "" {
		return DefaultHolder()
	}
	return l.Holder
}

func (l *Lease) ttl() time.Duration {
	if l.TTL <= 0 {
		return DefaultLockTTL
	}
	return l.TTL
}

func (l *Lease) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l.Logger
}

// Acquire takes the lock once. When another holder has it the error is the
// store's *LockedError, whose message names the holder.
func (l *Lease) Acquire(ctx context.Context) error {
	return l.Lock.AcquireLock(ctx, l.holder(), l.ttl())
}

// Keep renews the lease until stop is called, by the rule on Lease. The
// returned context is ctx, cancelled when the lease is lost; stop cancels
// it too, and returns once the renewals have stopped.
func (l *Lease) Keep(ctx context.Context) (lctx context.Context, stop func()) {
	lctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		l.renew(lctx, done, cancel)
	}()
	return lctx, func() {
		close(done)
		<-finished
		cancel(nil)
	}
}

func (l *Lease) renew(ctx context.Context, done <-chan struct{}, cancel context.CancelCauseFunc) {
	ttl, holder, log := l.ttl(), l.holder(), l.log()
	tick := time.NewTicker(ttl / 3)
	defer tick.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := l.Lock.AcquireLock(ctx, holder, ttl)
		switch {
		case err == nil:
			lastOK = time.Now()
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLocked):
			log.Error("lost the apply lock; stopping the work under it", "error", err.Error())
			cancel(fmt.Errorf("lost the apply lock: %w", err))
			return
		default:
			log.Warn("cannot renew the apply lock", "error", err.Error())
			if time.Since(lastOK) > 2*ttl/3 {
				log.Error("the apply lock lease is about to expire; stopping the work under it")
				cancel(fmt.Errorf("lost the apply lock: not renewed for two thirds of its lease: %w", err))
				return
			}
		}
	}
}

// Release gives the lock back if this holder still has it, even when ctx
// is done (a lock left behind blocks the next run until it expires).
func (l *Lease) Release(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := l.Lock.ReleaseLock(rctx, l.holder())
	if err != nil {
		l.log().Warn("cannot release the apply lock; it expires by itself", "error", err.Error())
	}
	return err
}

// HoldLock takes the apply lock for holder (DefaultHolder when "") with a
// lease of ttl (DefaultLockTTL when 0) and keeps it by the Lease rule until
// release is called. The returned context is cancelled when the lock is
// lost; run the work under the lock with it. release stops the renewal and
// releases the lock, even when ctx is done. When another holder has the
// lock the error is the store's *LockedError itself, whose message names
// the holder.
//
// Callers that must not show or compute anything while another apply runs
// (confsync apply) take the lock first and then call Apply with LockHeld.
func HoldLock(ctx context.Context, st Locker, holder string, ttl time.Duration) (context.Context, func(), error) {
	l := &Lease{Lock: st, Holder: holder, TTL: ttl}
	if err := l.Acquire(ctx); err != nil {
		if le := (*LockedError)(nil); errors.As(err, &le) {
			return nil, nil, le
		}
		return nil, nil, fmt.Errorf("take the apply lock: %w", err)
	}
	lctx, stop := l.Keep(ctx)
	return lctx, func() {
		stop()
		_ = l.Release(ctx)
	}, nil
}
