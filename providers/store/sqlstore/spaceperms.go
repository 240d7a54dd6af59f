package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/confsync/confsync/plan"
)

var _ plan.SpacePermissionCache = (*Store)(nil)

// SpacePermissions returns every kept space grant, ordered by space, group
// and permission, and the time of the last full read (zero for none).
func (s *Store) SpacePermissions(ctx context.Context) ([]plan.SpacePermission, time.Time, error) {
	var at int64
	var fullAt time.Time
	switch err := s.queryRow(ctx, "SELECT full_read_at FROM space_permission_reads WHERE id = 1").Scan(&at); {
	case err == nil:
		fullAt = fromMicros(at)
	case errors.Is(err, sql.ErrNoRows):
		return nil, time.Time{}, nil
	default:
		return nil, time.Time{}, fmt.Errorf("read the space permissions' read time: %w", err)
	}
	rows, err := s.query(ctx, "SELECT space_key, group_name, permission FROM space_permissions ORDER BY space_key, group_name, permission")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the space permissions: %w", err)
	}
	defer rows.Close()
	var out []plan.SpacePermission
	for rows.Next() {
		var p plan.SpacePermission
		if err := rows.Scan(&p.Space, &p.Group, &p.Permission); err != nil {
			return nil, time.Time{}, fmt.Errorf("read the space permissions: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("read the space permissions: %w", err)
	}
	return out, fullAt, nil
}

// ReplaceSpacePermissions replaces the kept grants of the spaces (all of
// them, and the full read's time, when spaces is nil) in one transaction.
func (s *Store) ReplaceSpacePermissions(ctx context.Context, spaces []string, grants []plan.SpacePermission, fullAt time.Time) error {
	err := s.write(ctx, func(t *txn) error {
		if spaces == nil {
			if _, err := t.exec("DELETE FROM space_permissions"); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO space_permission_reads (id, full_read_at) VALUES (1, ?)
				ON CONFLICT (id) DO UPDATE SET full_read_at = excluded.full_read_at`, stamp(fullAt)); err != nil {
				return err
			}
		}
		for rest := spaces; len(rest) > 0; {
			n := min(len(rest), membersPerStatement, t.d.maxParams)
			args := make([]any, 0, n)
			for _, k := range rest[:n] {
				args = append(args, k)
			}
			rest = rest[n:]
			if _, err := t.exec("DELETE FROM space_permissions WHERE space_key IN "+placeholders(1, n), args...); err != nil {
				return err
			}
		}
		for rest := grants; len(rest) > 0; {
			n := min(len(rest), membersPerStatement, t.d.maxParams/3)
			args := make([]any, 0, 3*n)
			for _, g := range rest[:n] {
				args = append(args, g.Space, g.Group, g.Permission)
			}
			rest = rest[n:]
			if _, err := t.exec("INSERT INTO space_permissions (space_key, group_name, permission) VALUES "+placeholders(n, 3)+
				" ON CONFLICT DO NOTHING", args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keep the space permissions: %w", err)
	}
	return nil
}
