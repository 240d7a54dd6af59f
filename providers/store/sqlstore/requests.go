package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/confsync/confsync/providers/store"
)

// AddRequestCounts adds counts to the per-minute counters in one
// transaction. Counts of the same minute and IdP are summed first, so one
// statement never names a row twice.
func (s *Store) AddRequestCounts(ctx context.Context, counts []store.MinuteCount) error {
	type key struct {
		minute int64
		idp    string
	}
	sum := map[key]int64{}
	for _, c := range counts {
		if c.Requests <= 0 {
			continue
		}
		sum[key{micros(c.Minute.UTC().Truncate(time.Minute)), c.IDP}] += c.Requests
	}
	if len(sum) == 0 {
		return nil
	}
	keys := make([]key, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	// A fixed order, so that two replicas adding to the same rows on
	// PostgreSQL lock them in the same order and do not deadlock.
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].minute != keys[j].minute {
			return keys[i].minute < keys[j].minute
		}
		return keys[i].idp < keys[j].idp
	})
	err := s.write(ctx, func(t *txn) error {
		for rest := keys; len(rest) > 0; {
			n := min(len(rest), 1000)
			args := make([]any, 0, 3*n)
			for _, k := range rest[:n] {
				args = append(args, k.minute, k.idp, sum[k])
			}
			rest = rest[n:]
			if _, err := t.exec("INSERT INTO scim_request_counts (minute, idp, requests) VALUES "+placeholders(n, 3)+
				" ON CONFLICT (minute, idp) DO UPDATE SET requests = scim_request_counts.requests + excluded.requests", args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add request counts: %w", err)
	}
	return nil
}

// RequestCounts lists the counters of the minutes from since on, oldest
// first, then by IdP.
func (s *Store) RequestCounts(ctx context.Context, since time.Time) ([]store.MinuteCount, error) {
	rows, err := s.query(ctx, "SELECT minute, idp, requests FROM scim_request_counts WHERE minute >= ? ORDER BY minute, idp",
		micros(since.UTC().Truncate(time.Minute)))
	if err != nil {
		return nil, fmt.Errorf("read request counts: %w", err)
	}
	defer rows.Close()
	var out []store.MinuteCount
	for rows.Next() {
		var c store.MinuteCount
		var minute int64
		if err := rows.Scan(&minute, &c.IDP, &c.Requests); err != nil {
			return nil, fmt.Errorf("read request counts: %w", err)
		}
		c.Minute = fromMicros(minute)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read request counts: %w", err)
	}
	return out, nil
}

// PruneRequestCounts deletes the counters of the minutes before before.
func (s *Store) PruneRequestCounts(ctx context.Context, before time.Time) error {
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec("DELETE FROM scim_request_counts WHERE minute < ?", micros(before.UTC().Truncate(time.Minute)))
		return err
	})
	if err != nil {
		return fmt.Errorf("prune request counts: %w", err)
	}
	return nil
}
