package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/confsync/confsync/providers/store"
)

// membersPerStatement bounds the rows of one multi-row INSERT.
const membersPerStatement = 1000

// cleanMembers drops duplicates (the first wins) and defaults an empty type
// to "User".
func cleanMembers(m []store.Member) ([]store.Member, error) {
	seen := make(map[string]bool, len(m))
	out := make([]store.Member, 0, len(m))
	for _, x := range m {
		if x.ID == "" {
			return nil, errors.New("member without an id")
		}
		if seen[x.ID] {
			continue
		}
		seen[x.ID] = true
		if x.Type == "" {
			x.Type = "User"
		}
		out = append(out, x)
	}
	return out, nil
}

// insertMembers adds membership rows, ignoring those already there, and
// returns the rows it added. It touches only the rows it adds, whatever the
// size of the group.
func (t *txn) insertMembers(idp, groupID string, m []store.Member) ([]store.Member, error) {
	var out []store.Member
	for len(m) > 0 {
		n := min(len(m), membersPerStatement, t.d.maxParams/4)
		chunk := m[:n]
		m = m[n:]
		args := make([]any, 0, 4*n)
		for _, x := range chunk {
			args = append(args, idp, groupID, x.ID, x.Type)
		}
		rows, err := t.query("INSERT INTO scim_memberships (idp, group_id, member_id, member_type) VALUES "+
			placeholders(n, 4)+" ON CONFLICT DO NOTHING RETURNING member_id, member_type", args...)
		if err != nil {
			return nil, fmt.Errorf("add members: %w", err)
		}
		in, err := scanMembers(rows)
		if err != nil {
			return nil, fmt.Errorf("add members: %w", err)
		}
		out = append(out, in...)
	}
	return out, nil
}

// leaveAllGroups removes a deleted resource from every group it was in and
// gives those groups a new version.
func (t *txn) leaveAllGroups(idp, memberID string) error {
	if _, err := t.exec(`UPDATE scim_groups SET version = version + 1, modified = ?
		WHERE idp = ? AND id IN (SELECT group_id FROM scim_memberships WHERE idp = ? AND member_id = ?)`,
		micros(now()), idp, idp, memberID); err != nil {
		return fmt.Errorf("leave groups: %w", err)
	}
	if _, err := t.exec("DELETE FROM scim_memberships WHERE idp = ? AND member_id = ?", idp, memberID); err != nil {
		return fmt.Errorf("leave groups: %w", err)
	}
	return nil
}

// AddMembers adds members to a group (those already in are ignored) and,
// when that changes the group, gives it a new version, in one transaction.
func (s *Store) AddMembers(ctx context.Context, idp, groupID string, m []store.Member) error {
	if err := s.updateMembers(ctx, idp, groupID, store.MemberChange{Op: store.AddMembers, Members: m}); err != nil {
		return fmt.Errorf("add members to %q: %w", groupID, err)
	}
	return nil
}

// RemoveMembers removes members from a group (those not in are ignored)
// and, when that changes the group, gives it a new version, in one
// transaction.
func (s *Store) RemoveMembers(ctx context.Context, idp, groupID string, ids []string) error {
	if err := s.updateMembers(ctx, idp, groupID, store.MemberChange{Op: store.RemoveMembers, IDs: ids}); err != nil {
		return fmt.Errorf("remove members from %q: %w", groupID, err)
	}
	return nil
}

// ReplaceMembers sets a group's whole member list in one transaction.
func (s *Store) ReplaceMembers(ctx context.Context, idp, groupID string, m []store.Member) error {
	if err := s.updateMembers(ctx, idp, groupID, store.MemberChange{Op: store.ReplaceMembers, Members: m}); err != nil {
		return fmt.Errorf("replace members of %q: %w", groupID, err)
	}
	return nil
}

// ListMembers returns a page of a group's members ordered by id; a Limit of
// 0 or less means no limit. An unknown group is ErrNotFound.
func (s *Store) ListMembers(ctx context.Context, idp, groupID string, p store.Page) ([]store.Member, error) {
	q, args := pageQuery("SELECT member_id, member_type FROM scim_memberships WHERE idp = ? AND group_id = ?",
		"member_id", []any{idp, groupID}, p)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list members of %q: %w", groupID, err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.ID, &m.Type); err != nil {
			return nil, fmt.Errorf("list members of %q: %w", groupID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list members of %q: %w", groupID, err)
	}
	if len(out) == 0 {
		// An empty page is either an empty group or no group at all.
		if _, err := s.GetGroup(ctx, idp, groupID); err != nil {
			return nil, fmt.Errorf("list members: %w", err)
		}
	}
	return out, nil
}

// GroupsOf lists the ids of the groups a resource is a direct member of,
// ordered by id.
func (s *Store) GroupsOf(ctx context.Context, idp, memberID string) ([]string, error) {
	rows, err := s.query(ctx, "SELECT group_id FROM scim_memberships WHERE idp = ? AND member_id = ? ORDER BY group_id", idp, memberID)
	if err != nil {
		return nil, fmt.Errorf("groups of %q: %w", memberID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("groups of %q: %w", memberID, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("groups of %q: %w", memberID, err)
	}
	return out, nil
}

// Memberships streams every membership of the IdP to fn, ordered by group
// then member, from one consistent snapshot. fn's error stops the stream and
// is returned.
func (s *Store) Memberships(ctx context.Context, idp string, fn func(groupID string, m store.Member) error) error {
	rows, err := s.query(ctx, "SELECT group_id, member_id, member_type FROM scim_memberships WHERE idp = ? ORDER BY group_id, member_id", idp)
	if err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var m store.Member
		if err := rows.Scan(&g, &m.ID, &m.Type); err != nil {
			return fmt.Errorf("read memberships: %w", err)
		}
		if err := fn(g, m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read memberships: %w", err)
	}
	return nil
}
