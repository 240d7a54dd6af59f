package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confsync/confsync/plan"
)

// readLock reads the lock row inside a write transaction, locking it on
// PostgreSQL (SQLite's write transaction already excludes other writers).
func (t *txn) readLock() (holder string, expires time.Time, err error) {
	var exp int64
	if err := t.queryRow("SELECT holder, expires FROM apply_lock WHERE id = 1"+t.d.forUpdate).Scan(&holder, &exp); err != nil {
		return "", time.Time{}, fmt.Errorf("read lock: %w", err)
	}
	return holder, fromMicros(exp), nil
}

// AcquireLock takes the apply lock for holder until ttl passes: a
// compare-and-set on the lock row inside one write transaction, so that it
// holds across processes and replicas. Expiry is judged by this process's
// clock; replicas are expected to keep their clocks in sync.
func (s *Store) AcquireLock(ctx context.Context, holder string, ttl time.Duration) error {
	if holder == "" {
		return errors.New("acquire lock: empty holder")
	}
	if ttl <= 0 {
		return errors.New("acquire lock: ttl must be positive")
	}
	err := s.write(ctx, func(t *txn) error {
		cur, exp, err := t.readLock()
		if err != nil {
			return err
		}
		ts := now()
		if cur != "" && cur != holder && exp.After(ts) {
			return &plan.LockedError{Lock: plan.LockInfo{Holder: cur, Expires: exp}}
		}
		_, err = t.exec("UPDATE apply_lock SET holder = ?, expires = ? WHERE id = 1", holder, micros(ts.Add(ttl)))
		return err
	})
	if err != nil {
		return fmt.Errorf("acquire lock: %w", err)
	}
	return nil
}

// ReleaseLock releases the lock if holder holds it.
func (s *Store) ReleaseLock(ctx context.Context, holder string) error {
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec("UPDATE apply_lock SET holder = '', expires = 0 WHERE id = 1 AND holder = ?", holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}

// ForceUnlock releases the lock whoever holds it.
func (s *Store) ForceUnlock(ctx context.Context) error {
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec("UPDATE apply_lock SET holder = '', expires = 0 WHERE id = 1")
		return err
	})
	if err != nil {
		return fmt.Errorf("force unlock: %w", err)
	}
	return nil
}

// Lock returns the current lock, or nil when nobody holds an unexpired one.
func (s *Store) Lock(ctx context.Context) (*plan.LockInfo, error) {
	var holder string
	var exp int64
	if err := s.queryRow(ctx, "SELECT holder, expires FROM apply_lock WHERE id = 1").Scan(&holder, &exp); err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	if holder == "" || !fromMicros(exp).After(now()) {
		return nil, nil
	}
	return &plan.LockInfo{Holder: holder, Expires: fromMicros(exp)}, nil
}
