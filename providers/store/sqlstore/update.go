package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/confsync/confsync/providers/store"
)

// sameJSON reports whether two attribute documents hold the same JSON
// value (key order and spacing aside).
func sameJSON(a, b []byte) bool {
	if len(a) == 0 {
		a = []byte("{}")
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if bytes.Equal(a, b) {
		return true
	}
	var av, bv any
	da := json.NewDecoder(bytes.NewReader(a))
	da.UseNumber()
	db := json.NewDecoder(bytes.NewReader(b))
	db.UseNumber()
	if da.Decode(&av) != nil || db.Decode(&bv) != nil {
		return false
	}
	return reflect.DeepEqual(av, bv)
}

// UpdateGroup applies u to a group in one transaction: the attributes, then
// the member changes in order. Nothing of it is kept when any part fails.
// When nothing changes the group keeps its version and modified time and
// the IdP's revision does not move.
func (s *Store) UpdateGroup(ctx context.Context, idp, groupID string, u store.GroupUpdate) (*store.Group, bool, error) {
	if a := u.Attributes; a != nil {
		c := *a
		c.IDP, c.ID = idp, groupID
		if err := checkGroup(&c); err != nil {
			return nil, false, fmt.Errorf("update group: %w", err)
		}
	}
	var (
		g       *store.Group
		changed bool
	)
	err := s.write(ctx, func(t *txn) error {
		var err error
		g, changed, err = t.updateGroup(s, idp, groupID, u)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("update group %q: %w", groupID, err)
	}
	return g, changed, nil
}

// updateGroup is UpdateGroup inside a write transaction.
func (t *txn) updateGroup(s *Store, idp, groupID string, u store.GroupUpdate) (*store.Group, bool, error) {
	// Reading the row first locks it on PostgreSQL (SQLite has one writer),
	// so the member changes of concurrent updates of one group queue up.
	cur, err := scanGroup(t.queryRow("SELECT "+groupColumns+" FROM scim_groups WHERE idp = ? AND id = ?"+t.d.forUpdate, idp, groupID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, fmt.Errorf("group %q in %s: %w", groupID, idp, store.ErrNotFound)
	}
	if err != nil {
		return nil, false, err
	}
	if u.IfVersion != 0 && u.IfVersion != cur.Version {
		return nil, false, fmt.Errorf("group %q is at version %d, not %d: %w", groupID, cur.Version, u.IfVersion, store.ErrVersionMismatch)
	}
	changed := false
	next := *cur
	if a := u.Attributes; a != nil && (a.DisplayName != cur.DisplayName || a.ExternalID != cur.ExternalID || !sameJSON(a.Attributes, cur.Attributes)) {
		next.DisplayName, next.ExternalID, next.Attributes = a.DisplayName, a.ExternalID, json.RawMessage(attrsText(a.Attributes))
		changed = true
	}
	// net counts, per membership row, the rows the changes added (+1) or
	// removed (-1): a member added and removed again is no change.
	net := map[store.Member]int{}
	for _, mc := range u.Members {
		added, removed, err := t.changeMembers(idp, groupID, mc)
		if err != nil {
			return nil, false, err
		}
		for _, m := range added {
			net[m]++
		}
		for _, m := range removed {
			net[m]--
		}
	}
	var moved []store.Member
	for m, n := range net {
		if n != 0 {
			moved = append(moved, m)
		}
	}
	changed = changed || len(moved) > 0
	if !changed {
		return cur, false, nil
	}
	if err := t.bumpRevision(idp); err != nil {
		return nil, false, err
	}
	if err := t.touchGroupUpdate(idp, groupID, next.DisplayName != cur.DisplayName, u.Members, moved); err != nil {
		return nil, false, err
	}
	ts := now()
	next.Version++
	next.Modified = ts
	_, err = t.exec(`UPDATE scim_groups SET external_id = ?, display_name = ?, display_name_lower = ?,
		attributes = ?, version = ?, modified = ? WHERE idp = ? AND id = ?`,
		next.ExternalID, next.DisplayName, lower(next.DisplayName), attrsText(next.Attributes), next.Version, micros(ts), idp, groupID)
	if s.d.isUnique(err) {
		return nil, false, fmt.Errorf("displayName %q is already taken in %s: %w", next.DisplayName, idp, store.ErrConflict)
	}
	if err != nil {
		return nil, false, err
	}
	return &next, true, nil
}

// changeMembers applies one member change and returns the membership rows
// it added and removed.
func (t *txn) changeMembers(idp, groupID string, mc store.MemberChange) (added, removed []store.Member, err error) {
	switch mc.Op {
	case store.AddMembers:
		m, err := cleanMembers(mc.Members)
		if err != nil {
			return nil, nil, err
		}
		added, err = t.insertMembers(idp, groupID, m)
		return added, nil, err
	case store.RemoveMembers:
		removed, err = t.deleteMembers(idp, groupID, mc.IDs)
		return nil, removed, err
	case store.ReplaceMembers:
		m, err := cleanMembers(mc.Members)
		if err != nil {
			return nil, nil, err
		}
		return t.replaceMembers(idp, groupID, m)
	case store.RemoveMatching:
		if mc.Match == nil {
			return nil, nil, errors.New("a RemoveMatching change without Match")
		}
		cur, err := t.members(idp, groupID)
		if err != nil {
			return nil, nil, err
		}
		var ids []string
		for _, m := range cur {
			ok, err := mc.Match(m)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				ids = append(ids, m.ID)
			}
		}
		removed, err = t.deleteMembers(idp, groupID, ids)
		return nil, removed, err
	}
	return nil, nil, fmt.Errorf("unknown member operation %d", mc.Op)
}

// members reads a group's members inside the transaction.
func (t *txn) members(idp, groupID string) ([]store.Member, error) {
	rows, err := t.query("SELECT member_id, member_type FROM scim_memberships WHERE idp = ? AND group_id = ? ORDER BY member_id", idp, groupID)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	return scanMembers(rows)
}

// scanMembers reads (member_id, member_type) rows and closes them.
func scanMembers(rows *sql.Rows) ([]store.Member, error) {
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.ID, &m.Type); err != nil {
			return nil, fmt.Errorf("read members: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	return out, nil
}

// deleteMembers removes membership rows and returns those it removed.
func (t *txn) deleteMembers(idp, groupID string, ids []string) ([]store.Member, error) {
	var out []store.Member
	for len(ids) > 0 {
		n := min(len(ids), membersPerStatement)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, 0, n+2)
		args = append(args, idp, groupID)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := t.query("DELETE FROM scim_memberships WHERE idp = ? AND group_id = ? AND member_id IN "+
			placeholders(1, n)+" RETURNING member_id, member_type", args...)
		if err != nil {
			return nil, fmt.Errorf("remove members: %w", err)
		}
		gone, err := scanMembers(rows)
		if err != nil {
			return nil, fmt.Errorf("remove members: %w", err)
		}
		out = append(out, gone...)
	}
	return out, nil
}

// replaceMembers sets a group's members to m, touching only the rows that
// differ, and returns the rows it added and removed.
func (t *txn) replaceMembers(idp, groupID string, m []store.Member) (added, removed []store.Member, err error) {
	if len(m) == 0 {
		rows, err := t.query("DELETE FROM scim_memberships WHERE idp = ? AND group_id = ? RETURNING member_id, member_type", idp, groupID)
		if err != nil {
			return nil, nil, fmt.Errorf("replace members: %w", err)
		}
		removed, err = scanMembers(rows)
		return nil, removed, err
	}
	cur, err := t.members(idp, groupID)
	if err != nil {
		return nil, nil, err
	}
	want := make(map[string]string, len(m))
	for _, x := range m {
		want[x.ID] = x.Type
	}
	have := make(map[string]string, len(cur))
	var drop []string
	for _, x := range cur {
		have[x.ID] = x.Type
		if typ, ok := want[x.ID]; !ok || typ != x.Type {
			drop = append(drop, x.ID)
		}
	}
	var add []store.Member
	for _, x := range m {
		if typ, ok := have[x.ID]; !ok || typ != x.Type {
			add = append(add, x)
		}
	}
	if removed, err = t.deleteMembers(idp, groupID, drop); err != nil {
		return nil, nil, err
	}
	if added, err = t.insertMembers(idp, groupID, add); err != nil {
		return nil, nil, err
	}
	return added, removed, nil
}

// updateMembers runs one member change as an UpdateGroup.
func (s *Store) updateMembers(ctx context.Context, idp, groupID string, mc store.MemberChange) error {
	_, _, err := s.UpdateGroup(ctx, idp, groupID, store.GroupUpdate{Members: []store.MemberChange{mc}})
	return err
}
