package sqlstore

import (
	"context"
	"time"
)

// SQLite in WAL mode appends commits to the WAL and must copy them back
// into the database file now and then (a checkpoint, which fsyncs the
// database). Left to the writer, that copy lands on whichever write crosses
// the threshold and stalls it, and everyone queued behind it, for as long
// as the copy takes: the worst write latencies come from there. A separate
// connection runs PASSIVE checkpoints instead, which never block the writer.

const (
	checkpointInterval = time.Second
	// fallbackCheckpointPages: the writer checkpoints itself only when the
	// WAL has grown this far (about 40 MB), should the checkpointer stall.
	fallbackCheckpointPages = 10000
)

func (s *Store) startCheckpointer() {
	s.stopCheckpoint = make(chan struct{})
	s.checkpointDone = make(chan struct{})
	go func() {
		defer close(s.checkpointDone)
		tick := time.NewTicker(checkpointInterval)
		defer tick.Stop()
		for {
			select {
			case <-s.stopCheckpoint:
				return
			case <-tick.C:
				s.checkpoint()
			}
		}
	}()
}

func (s *Store) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var busy, logPages, done int
	if err := s.checkpointDB.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
		s.log.Warn("sqlite checkpoint failed", "err", err)
	}
}
