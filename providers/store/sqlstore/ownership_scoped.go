package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/confsync/confsync/plan"
)

var _ plan.ScopedOwnership = (*Store)(nil)

// inListSize bounds the values of one IN (...) list: far below both
// engines' parameter limits, and small enough for the planner to turn the
// list into index lookups.
const inListSize = 500

// OwnershipOf returns the managed users named in usernames or whose (IDP,
// SourceID) is in sourceIDs, the managed groups named in groups, and the
// managed memberships of the returned users and of usernames, each list
// ordered like Ownership's (by key, in byte order). Every lookup goes
// through an index, so its cost grows with the names asked for, not with
// the ownership state. It reads one snapshot.
func (s *Store) OwnershipOf(ctx context.Context, usernames []string, sourceIDs map[string][]string, groups []string) (*plan.Ownership, error) {
	t, done, err := s.readSnapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("read ownership: %w", err)
	}
	defer done()
	o := &plan.Ownership{}
	if o.Users, err = t.scopedManagedUsers(usernames, sourceIDs); err != nil {
		return nil, err
	}
	if o.Groups, err = t.scopedManagedGroups(groups); err != nil {
		return nil, err
	}
	members := slices.Clone(usernames)
	for _, u := range o.Users {
		members = append(members, u.Username)
	}
	if o.Memberships, err = t.scopedManagedMemberships(members); err != nil {
		return nil, err
	}
	return o, nil
}

// OwnershipCounts counts the managed users, groups and memberships, in one
// statement (so the three agree).
func (s *Store) OwnershipCounts(ctx context.Context) (plan.OwnershipCounts, error) {
	var c plan.OwnershipCounts
	err := s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM managed_users), (SELECT COUNT(*) FROM managed_groups),
		(SELECT COUNT(*) FROM managed_memberships)`).Scan(&c.Users, &c.Groups, &c.Memberships)
	if err != nil {
		return plan.OwnershipCounts{}, fmt.Errorf("count the ownership state: %w", err)
	}
	return c, nil
}

// readSnapshot begins a read transaction whose queries agree with each
// other; done ends it.
func (s *Store) readSnapshot(ctx context.Context) (*txn, func(), error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return nil, nil, err
	}
	return &txn{ctx: ctx, tx: tx, d: s.d}, func() { _ = tx.Rollback() }, nil
}

// scopedManagedUsers reads the managed users by username and by (IdP,
// source id), each once.
func (t *txn) scopedManagedUsers(usernames []string, sourceIDs map[string][]string) ([]plan.ManagedUser, error) {
	byName := map[string]plan.ManagedUser{}
	keep := func(us []plan.ManagedUser) {
		for _, u := range us {
			byName[u.Username] = u
		}
	}
	err := inLists(usernames, func(marks string, args []any) error {
		us, err := t.managedUsers("SELECT "+managedUserColumns+" FROM managed_users WHERE username IN "+marks, args...)
		keep(us)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, idp := range sortedKeys(sourceIDs) {
		err := inLists(sourceIDs[idp], func(marks string, args []any) error {
			us, err := t.managedUsers("SELECT "+managedUserColumns+" FROM managed_users WHERE idp = ? AND source_id IN "+marks,
				append([]any{idp}, args...)...)
			keep(us)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	out := make([]plan.ManagedUser, 0, len(byName))
	for _, u := range byName {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b plan.ManagedUser) int { return strings.Compare(a.Username, b.Username) })
	return nilIfEmpty(out), nil
}

// scopedManagedGroups reads the managed groups by name.
func (t *txn) scopedManagedGroups(names []string) ([]plan.ManagedGroup, error) {
	var out []plan.ManagedGroup
	err := inLists(names, func(marks string, args []any) error {
		gs, err := t.managedGroups("SELECT "+managedGroupColumns+" FROM managed_groups WHERE name IN "+marks, args...)
		out = append(out, gs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b plan.ManagedGroup) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// scopedManagedMemberships reads the managed memberships of the users, by
// the primary key's leading username column.
func (t *txn) scopedManagedMemberships(usernames []string) ([]plan.ManagedMembership, error) {
	var out []plan.ManagedMembership
	err := inLists(usernames, func(marks string, args []any) error {
		ms, err := t.managedMemberships("SELECT "+managedMembershipColumns+" FROM managed_memberships WHERE username IN "+marks, args...)
		out = append(out, ms...)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b plan.ManagedMembership) int {
		return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Username, b.Username))
	})
	return out, nil
}

// inLists calls fn with the distinct values, inListSize at a time, as an
// "(?, ?, ...)" list and its arguments.
func inLists(values []string, fn func(marks string, args []any) error) error {
	distinct := slices.Clone(values)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	for len(distinct) > 0 {
		n := min(len(distinct), inListSize)
		args := make([]any, n)
		for i, v := range distinct[:n] {
			args[i] = v
		}
		distinct = distinct[n:]
		if err := fn(placeholders(1, n), args); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nilIfEmpty returns nil for an empty slice, as a query that finds no row
// gives.
func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
