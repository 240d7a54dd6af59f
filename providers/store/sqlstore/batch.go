package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group commit. Every write is durable before it returns, which costs an
// fsync per commit; one transaction per write would cap a store at one
// write per fsync. Instead, writes that arrive while a transaction commits
// queue up, and the next transaction carries all of them, each inside its
// own savepoint: a write that fails (a uniqueness conflict, say) rolls back
// alone and the others commit. Each waiting caller is answered only after
// the shared COMMIT has returned, so an acknowledged write is a durable one.

const (
	// maxBatch bounds the writes of one transaction.
	maxBatch = 256
	// maxTxAttempts bounds the retries of a write PostgreSQL aborted to
	// break a deadlock.
	maxTxAttempts = 5
	// postgresCommitters is how many transactions a PostgreSQL store runs at
	// once; SQLite has one writer.
	postgresCommitters = 4
)

// errClosed is returned by writes to a closed store.
var errClosed = errors.New("the store is closed")

type writeReq struct {
	ctx  context.Context
	fn   func(t *txn) error
	done chan error
}

type committer struct {
	s    *Store
	reqs chan *writeReq
	quit chan struct{}
	// stopped is closed once stop has answered every queued write.
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func startCommitter(s *Store, workers int) *committer {
	c := &committer{s: s, reqs: make(chan *writeReq, 4*maxBatch), quit: make(chan struct{}), stopped: make(chan struct{})}
	for range workers {
		c.wg.Add(1)
		go c.loop()
	}
	return c
}

// stop finishes the batches under way and answers queued writes with
// errClosed.
func (c *committer) stop() {
	c.once.Do(func() {
		close(c.quit)
		c.wg.Wait()
		for {
			select {
			case r := <-c.reqs:
				r.done <- errClosed
			default:
				close(c.stopped)
				return
			}
		}
	})
}

func (c *committer) loop() {
	defer c.wg.Done()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		select {
		case <-c.quit:
			return
		case r := <-c.reqs:
			batch = append(batch[:0], r)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		c.s.commitBatch(batch)
	}
}

// write runs fn in a write transaction, possibly shared with other writes,
// and returns once that transaction has committed (or fn's error). fn may
// run more than once. Once a write has joined a batch it runs to the end
// even if ctx is cancelled, so that its outcome is never in doubt.
func (s *Store) write(ctx context.Context, fn func(t *txn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.committer.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.committer.quit:
		return errClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-s.committer.stopped:
		// Queued after the store closed: it will never run.
		select {
		case err := <-r.done:
			return err
		default:
			return errClosed
		}
	}
}

// commitBatch runs the batch's writes in one transaction and answers each.
// When PostgreSQL aborts the transaction to break a deadlock (with another
// committer or another replica), the whole batch runs again: rolling back
// only the victim write would keep the locks of the writes before it, and
// the deadlock would come back.
func (s *Store) commitBatch(batch []*writeReq) {
	var errs []error
	var err error
	for attempt := 1; ; attempt++ {
		errs, err = s.runBatchSafely(batch)
		if err == nil || !s.d.isRetryable(err) || attempt == maxTxAttempts {
			break
		}
		s.log.Debug("store batch retried", "attempt", attempt, "writes", len(batch), "err", err)
	}
	for i, r := range batch {
		switch {
		case err != nil:
			r.done <- err
		case errs[i] != nil:
			r.done <- errs[i]
		default:
			r.done <- nil
		}
	}
}

// runBatchSafely is runBatch turning a panic into an error for the batch,
// so that a bug in one write cannot stop the committer and leave every
// later writer waiting forever.
func (s *Store) runBatchSafely(batch []*writeReq) (errs []error, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("store write panicked", "panic", r)
			errs, err = nil, fmt.Errorf("store write failed: internal error: %v", r)
		}
	}()
	return s.runBatch(batch)
}

// runBatch runs the writes in one transaction. It returns each write's own
// error, or an error for the whole batch when no write of it committed for
// a reason other than their own (then errs is to be ignored).
func (s *Store) runBatch(batch []*writeReq) ([]error, error) {
	errs := make([]error, len(batch))
	ctx := context.WithoutCancel(batch[0].ctx)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	t := &txn{ctx: ctx, tx: tx, d: s.d}
	// Rolling back a finished transaction is a no-op; this one is for a
	// panic in a write.
	defer func() { _ = t.tx.Rollback() }()
	fail := func(err error) ([]error, error) {
		_ = tx.Rollback()
		return nil, err
	}
	// A write alone in its batch needs no savepoint: its failure rolls back
	// the whole transaction. Otherwise one savepoint, named "write", guards
	// each write: a failed write rolls back to it (which keeps it in place
	// for the next write), a successful one releases it and sets the next in
	// the same round trip.
	alone := len(batch) == 1
	if !alone {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT write"); err != nil {
			return fail(fmt.Errorf("savepoint: %w", err))
		}
	}
	committed := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err // given up on before it started
			continue
		}
		errs[i] = r.fn(t)
		t.endWrite(errs[i] == nil)
		switch {
		case errs[i] == nil:
			committed++
			if !alone && i < len(batch)-1 {
				if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT write; SAVEPOINT write"); err != nil {
					return fail(fmt.Errorf("savepoint: %w", err))
				}
			}
		case s.d.isRetryable(errs[i]):
			return fail(errs[i])
		case alone:
			_ = tx.Rollback()
			return errs, nil
		default:
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT write"); err != nil {
				return fail(fmt.Errorf("rollback to savepoint: %w", err))
			}
		}
	}
	if committed == 0 {
		_ = tx.Rollback()
		return errs, nil
	}
	if err := t.flushRevisions(); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return errs, nil
}
