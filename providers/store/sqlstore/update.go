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
	for _, mc := range u.Members {
		n, err := t.changeMembers(idp, groupID, mc)
		if err != nil {
			return nil, false, err
		}
		if n > 0 {
			changed = true
		}
	}
	if !changed {
		return cur, false, nil
	}
	if err := t.bumpRevision(idp); err != nil {
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

// changeMembers applies one member change and returns the number of
// membership rows it added or removed.
func (t *txn) changeMembers(idp, groupID string, mc store.MemberChange) (int64, error) {
	switch mc.Op {
	case store.AddMembers:
		m, err := cleanMembers(mc.Members)
		if err != nil {
			return 0, err
		}
		return t.insertMembers(idp, groupID, m)
	case store.RemoveMembers:
		return t.deleteMembers(idp, groupID, mc.IDs)
	case store.ReplaceMembers:
		m, err := cleanMembers(mc.Members)
		if err != nil {
			return 0, err
		}
		return t.replaceMembers(idp, groupID, m)
	case store.RemoveMatching:
		if mc.Match == nil {
			return 0, errors.New("a RemoveMatching change without Match")
		}
		cur, err := t.members(idp, groupID)
		if err != nil {
			return 0, err
		}
		var ids []string
		for _, m := range cur {
			ok, err := mc.Match(m)
			if err != nil {
				return 0, err
			}
			if ok {
				ids = append(ids, m.ID)
			}
		}
		return t.deleteMembers(idp, groupID, ids)
	}
	return 0, fmt.Errorf("unknown member operation %d", mc.Op)
}

// members reads a group's members inside the transaction.
func (t *txn) members(idp, groupID string) ([]store.Member, error) {
	rows, err := t.query("SELECT member_id, member_type FROM scim_memberships WHERE idp = ? AND group_id = ? ORDER BY member_id", idp, groupID)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
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

// deleteMembers removes membership rows and returns how many there were.
func (t *txn) deleteMembers(idp, groupID string, ids []string) (int64, error) {
	var total int64
	for len(ids) > 0 {
		n := min(len(ids), membersPerStatement)
		chunk := ids[:n]
		ids = ids[n:]
		args := make([]any, 0, n+2)
		args = append(args, idp, groupID)
		for _, id := range chunk {
			args = append(args, id)
		}
		res, err := t.exec("DELETE FROM scim_memberships WHERE idp = ? AND group_id = ? AND member_id IN "+
			placeholders(1, n), args...)
		if err != nil {
			return 0, fmt.Errorf("remove members: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += k
	}
	return total, nil
}

// replaceMembers sets a group's members to m, touching only the rows that
// differ, and returns how many rows it added or removed.
func (t *txn) replaceMembers(idp, groupID string, m []store.Member) (int64, error) {
	if len(m) == 0 {
		res, err := t.exec("DELETE FROM scim_memberships WHERE idp = ? AND group_id = ?", idp, groupID)
		if err != nil {
			return 0, fmt.Errorf("replace members: %w", err)
		}
		return res.RowsAffected()
	}
	cur, err := t.members(idp, groupID)
	if err != nil {
		return 0, err
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
	n, err := t.deleteMembers(idp, groupID, drop)
	if err != nil {
		return 0, err
	}
	k, err := t.insertMembers(idp, groupID, add)
	if err != nil {
		return 0, err
	}
	return n + k, nil
}

// updateMembers runs one member change as an UpdateGroup.
func (s *Store) updateMembers(ctx context.Context, idp, groupID string, mc store.MemberChange) error {
	_, _, err := s.UpdateGroup(ctx, idp, groupID, store.GroupUpdate{Members: []store.MemberChange{mc}})
	return err
}
