package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/confsync/confsync/plan"
)

// disabledAt is the disabled_at column of a managed user: 0 when active or
// unknown.
func disabledAt(u plan.ManagedUser) int64 {
	if u.Active || u.Disabled.IsZero() {
		return 0
	}
	return micros(u.Disabled)
}

func stamp(t time.Time) int64 {
	if t.IsZero() {
		return micros(now())
	}
	return micros(t)
}

// Ownership returns everything confsync manages, each list ordered by its key.
func (s *Store) Ownership(ctx context.Context) (*plan.Ownership, error) {
	// One read transaction, so the three lists agree with each other.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return nil, fmt.Errorf("read ownership: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	t := &txn{ctx: ctx, tx: tx, d: s.d}
	o := &plan.Ownership{}
	if o.Users, err = t.managedUsers(`SELECT ` + managedUserColumns + ` FROM managed_users ORDER BY username`); err != nil {
		return nil, err
	}
	if o.Groups, err = t.managedGroups("SELECT " + managedGroupColumns + " FROM managed_groups ORDER BY name"); err != nil {
		return nil, err
	}
	if o.Memberships, err = t.managedMemberships("SELECT " + managedMembershipColumns + " FROM managed_memberships ORDER BY group_name, username"); err != nil {
		return nil, err
	}
	return o, nil
}

// The columns managedUsers, managedGroups and managedMemberships read, in
// their order.
const (
	managedUserColumns       = "username, idp, source_id, display_name, email, custom, active, adopted, updated, disabled_at"
	managedGroupColumns      = "name, idp, created_by_confsync, updated"
	managedMembershipColumns = "username, group_name, idp, updated"
)

// managedUsers runs a query of managedUserColumns and reads its rows.
func (t *txn) managedUsers(q string, args ...any) ([]plan.ManagedUser, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read managed users: %w", err)
	}
	defer rows.Close()
	var out []plan.ManagedUser
	for rows.Next() {
		var u plan.ManagedUser
		var custom []byte
		var active, adopted int
		var updated, disabled int64
		if err := rows.Scan(&u.Username, &u.IDP, &u.SourceID, &u.DisplayName, &u.Email, &custom, &active, &adopted, &updated, &disabled); err != nil {
			return nil, fmt.Errorf("read managed users: %w", err)
		}
		if err := json.Unmarshal(custom, &u.Custom); err != nil {
			return nil, fmt.Errorf("read managed user %s: custom attributes: %w", u.Username, err)
		}
		u.Active, u.Adopted, u.Updated = active != 0, adopted != 0, fromMicros(updated)
		if disabled != 0 {
			u.Disabled = fromMicros(disabled)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read managed users: %w", err)
	}
	return out, nil
}

// managedGroups runs a query of managedGroupColumns and reads its rows.
func (t *txn) managedGroups(q string, args ...any) ([]plan.ManagedGroup, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read managed groups: %w", err)
	}
	defer rows.Close()
	var out []plan.ManagedGroup
	for rows.Next() {
		var g plan.ManagedGroup
		var created int
		var updated int64
		if err := rows.Scan(&g.Name, &g.IDP, &created, &updated); err != nil {
			return nil, fmt.Errorf("read managed groups: %w", err)
		}
		g.Created, g.Updated = created != 0, fromMicros(updated)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read managed groups: %w", err)
	}
	return out, nil
}

// managedMemberships runs a query of managedMembershipColumns and reads
// its rows.
func (t *txn) managedMemberships(q string, args ...any) ([]plan.ManagedMembership, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, fmt.Errorf("read managed memberships: %w", err)
	}
	defer rows.Close()
	var out []plan.ManagedMembership
	for rows.Next() {
		var m plan.ManagedMembership
		var updated int64
		if err := rows.Scan(&m.Username, &m.Group, &m.IDP, &updated); err != nil {
			return nil, fmt.Errorf("read managed memberships: %w", err)
		}
		m.Updated = fromMicros(updated)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read managed memberships: %w", err)
	}
	return out, nil
}

// RecordUser records or replaces a managed user. A zero Updated is now.
func (s *Store) RecordUser(ctx context.Context, u plan.ManagedUser) error {
	if u.Username == "" {
		return errors.New("record user: empty username")
	}
	custom := u.Custom
	if custom == nil {
		custom = map[string]string{}
	}
	cj, err := json.Marshal(custom)
	if err != nil {
		return fmt.Errorf("record user %s: %w", u.Username, err)
	}
	err = s.write(ctx, func(t *txn) error {
		_, err := t.exec(`INSERT INTO managed_users
			(username, idp, source_id, display_name, email, custom, active, adopted, updated, disabled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET idp = excluded.idp, source_id = excluded.source_id,
			display_name = excluded.display_name, email = excluded.email, custom = excluded.custom,
			active = excluded.active, adopted = excluded.adopted, updated = excluded.updated,
			disabled_at = CASE WHEN excluded.active <> 0 THEN 0
				WHEN excluded.disabled_at <> 0 THEN excluded.disabled_at
				ELSE managed_users.disabled_at END`,
			u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, string(cj), b2i(u.Active), b2i(u.Adopted), stamp(u.Updated), disabledAt(u))
		return err
	})
	if err != nil {
		return fmt.Errorf("record user %s: %w", u.Username, err)
	}
	return nil
}

// ForgetUser forgets a managed user and its managed memberships.
func (s *Store) ForgetUser(ctx context.Context, username string) error {
	err := s.write(ctx, func(t *txn) error {
		if _, err := t.exec("DELETE FROM managed_memberships WHERE username = ?", username); err != nil {
			return err
		}
		_, err := t.exec("DELETE FROM managed_users WHERE username = ?", username)
		return err
	})
	if err != nil {
		return fmt.Errorf("forget user %s: %w", username, err)
	}
	return nil
}

// RecordGroup records or replaces a managed group. A zero Updated is now.
func (s *Store) RecordGroup(ctx context.Context, g plan.ManagedGroup) error {
	if g.Name == "" {
		return errors.New("record group: empty name")
	}
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec(`INSERT INTO managed_groups (name, idp, created_by_confsync, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET idp = excluded.idp, created_by_confsync = excluded.created_by_confsync,
			updated = excluded.updated`,
			g.Name, g.IDP, b2i(g.Created), stamp(g.Updated))
		return err
	})
	if err != nil {
		return fmt.Errorf("record group %s: %w", g.Name, err)
	}
	return nil
}

// ForgetGroup forgets a managed group and the managed memberships in it.
func (s *Store) ForgetGroup(ctx context.Context, name string) error {
	err := s.write(ctx, func(t *txn) error {
		if _, err := t.exec("DELETE FROM managed_memberships WHERE group_name = ?", name); err != nil {
			return err
		}
		_, err := t.exec("DELETE FROM managed_groups WHERE name = ?", name)
		return err
	})
	if err != nil {
		return fmt.Errorf("forget group %s: %w", name, err)
	}
	return nil
}

// RecordMembership records or replaces a managed membership.
func (s *Store) RecordMembership(ctx context.Context, m plan.ManagedMembership) error {
	if m.Username == "" || m.Group == "" {
		return errors.New("record membership: empty username or group")
	}
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec(`INSERT INTO managed_memberships (username, group_name, idp, updated) VALUES (?, ?, ?, ?)
			ON CONFLICT (username, group_name) DO UPDATE SET idp = excluded.idp, updated = excluded.updated`,
			m.Username, m.Group, m.IDP, stamp(m.Updated))
		return err
	})
	if err != nil {
		return fmt.Errorf("record membership %s -> %s: %w", m.Username, m.Group, err)
	}
	return nil
}

// ForgetMembership forgets a managed membership.
func (s *Store) ForgetMembership(ctx context.Context, username, group string) error {
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec("DELETE FROM managed_memberships WHERE username = ? AND group_name = ?", username, group)
		return err
	})
	if err != nil {
		return fmt.Errorf("forget membership %s -> %s: %w", username, group, err)
	}
	return nil
}

// LastRead returns the counts of the IdP's last successful read.
func (s *Store) LastRead(ctx context.Context, idp string) (plan.SourceCounts, bool, error) {
	var c plan.SourceCounts
	var at int64
	err := s.queryRow(ctx, "SELECT users, groups_count, read_at FROM source_reads WHERE idp = ?", idp).Scan(&c.Users, &c.Groups, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return plan.SourceCounts{}, false, nil
	}
	if err != nil {
		return plan.SourceCounts{}, false, fmt.Errorf("last read of %s: %w", idp, err)
	}
	c.At = fromMicros(at)
	return c, true, nil
}

// RecordRead stores the counts of a successful read. A zero At is now.
func (s *Store) RecordRead(ctx context.Context, idp string, c plan.SourceCounts) error {
	err := s.write(ctx, func(t *txn) error {
		_, err := t.exec(`INSERT INTO source_reads (idp, users, groups_count, read_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (idp) DO UPDATE SET users = excluded.users, groups_count = excluded.groups_count, read_at = excluded.read_at`,
			idp, c.Users, c.Groups, stamp(c.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("record read of %s: %w", idp, err)
	}
	return nil
}

// RecordHealth stores what a plan learned about an IdP's source: a
// complete read replaces the last complete read and the left-out count, a
// failure the last failure; each keeps the other's columns.
func (s *Store) RecordHealth(ctx context.Context, idp string, r plan.HealthReport) error {
	at := stamp(r.At)
	err := s.write(ctx, func(t *txn) error {
		if r.Complete {
			_, err := t.exec(`INSERT INTO source_health (idp, healthy, complete_users, complete_groups, complete_at, left_out, failure_at, failure, updated)
				VALUES (?, 1, ?, ?, ?, ?, 0, '', ?)
				ON CONFLICT (idp) DO UPDATE SET healthy = 1, complete_users = excluded.complete_users,
					complete_groups = excluded.complete_groups, complete_at = excluded.complete_at,
					left_out = excluded.left_out, updated = excluded.updated`,
				idp, r.Counts.Users, r.Counts.Groups, at, r.LeftOut, at)
			return err
		}
		_, err := t.exec(`INSERT INTO source_health (idp, healthy, complete_users, complete_groups, complete_at, left_out, failure_at, failure, updated)
			VALUES (?, 0, 0, 0, 0, 0, ?, ?, ?)
			ON CONFLICT (idp) DO UPDATE SET healthy = 0, failure_at = excluded.failure_at,
				failure = excluded.failure, updated = excluded.updated`,
			idp, at, r.Failure, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the health of %s: %w", idp, err)
	}
	return nil
}

// Health returns an IdP's recorded source health.
func (s *Store) Health(ctx context.Context, idp string) (plan.SourceHealth, bool, error) {
	var h plan.SourceHealth
	var healthy int
	var completeAt, failureAt, updated int64
	err := s.queryRow(ctx, `SELECT healthy, complete_users, complete_groups, complete_at, left_out, failure_at, failure, updated
		FROM source_health WHERE idp = ?`, idp).Scan(&healthy, &h.LastComplete.Users, &h.LastComplete.Groups, &completeAt,
		&h.LeftOut, &failureAt, &h.LastFailureCause, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return plan.SourceHealth{}, false, nil
	}
	if err != nil {
		return plan.SourceHealth{}, false, fmt.Errorf("health of %s: %w", idp, err)
	}
	h.Healthy = healthy != 0
	if completeAt != 0 {
		h.LastComplete.At = fromMicros(completeAt)
	}
	if failureAt != 0 {
		h.LastFailure = fromMicros(failureAt)
	}
	h.Updated = fromMicros(updated)
	return h, true, nil
}
