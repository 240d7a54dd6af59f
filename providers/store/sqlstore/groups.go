package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/confsync/confsync/providers/store"
)

func checkGroup(g *store.Group) error {
	switch {
	case g == nil:
		return errors.New("nil group")
	case g.IDP == "":
		return errors.New("group without an idp")
	case g.DisplayName == "":
		return errors.New("group without a displayName")
	case len(g.Attributes) > 0 && !json.Valid(g.Attributes):
		return errors.New("group attributes are not valid JSON")
	}
	return nil
}

// CreateGroup stores a new group and its members in one transaction; it
// assigns an id when g.ID is empty and fills Version, Created and Modified.
func (s *Store) CreateGroup(ctx context.Context, g *store.Group, members []store.Member) error {
	if err := checkGroup(g); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	members, err := cleanMembers(members)
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	id := g.ID
	if id == "" {
		id = uuid.NewString()
	}
	ts := now()
	err = s.write(ctx, func(t *txn) error {
		if err := t.bumpRevision(g.IDP); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO scim_groups
			(idp, id, external_id, display_name, display_name_lower, attributes, version, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			g.IDP, id, g.ExternalID, g.DisplayName, lower(g.DisplayName), attrsText(g.Attributes), micros(ts), micros(ts))
		if s.d.isUnique(err) {
			return fmt.Errorf("displayName %q or id %q is already taken in %s: %w", g.DisplayName, id, g.IDP, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		added, err := t.insertMembers(g.IDP, id, members)
		if len(added) > 0 {
			// Every user under the new group is in scope, and the group
			// is planned with them.
			t.touch(g.IDP, touchGroup, id)
		} else {
			// A group created empty may still be created in Confluence
			// (create_missing): only a full plan maps every IdP group.
			t.touch(g.IDP, touchFull, "")
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g.ID, g.Version, g.Created, g.Modified = id, 1, ts, ts
	return nil
}

const groupColumns = "idp, id, external_id, display_name, attributes, version, created, modified"

func scanGroup(sc interface{ Scan(...any) error }) (*store.Group, error) {
	var (
		g                 store.Group
		attrs             []byte
		created, modified int64
	)
	if err := sc.Scan(&g.IDP, &g.ID, &g.ExternalID, &g.DisplayName, &attrs, &g.Version, &created, &modified); err != nil {
		return nil, err
	}
	g.Attributes = json.RawMessage(attrs)
	g.Created, g.Modified = fromMicros(created), fromMicros(modified)
	return &g, nil
}

// GetGroup returns one group without its members, or an error wrapping
// store.ErrNotFound.
func (s *Store) GetGroup(ctx context.Context, idp, id string) (*store.Group, error) {
	g, err := scanGroup(s.queryRow(ctx, "SELECT "+groupColumns+" FROM scim_groups WHERE idp = ? AND id = ?", idp, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("group %q in %s: %w", id, idp, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get group: %w", err)
	}
	return g, nil
}

// ReplaceGroup overwrites a group's attributes (not its members); with
// ifVersion not 0 the stored version must equal it. Replacing them with
// the same attributes changes nothing.
func (s *Store) ReplaceGroup(ctx context.Context, g *store.Group, ifVersion int64) error {
	if err := checkGroup(g); err != nil {
		return fmt.Errorf("replace group: %w", err)
	}
	ng, _, err := s.UpdateGroup(ctx, g.IDP, g.ID, store.GroupUpdate{Attributes: g, IfVersion: ifVersion})
	if err != nil {
		return fmt.Errorf("replace group: %w", err)
	}
	g.Version, g.Created, g.Modified = ng.Version, ng.Created, ng.Modified
	return nil
}

// DeleteGroup deletes a group, its members and its own memberships in other
// groups, in one transaction.
func (s *Store) DeleteGroup(ctx context.Context, idp, id string) error {
	err := s.write(ctx, func(t *txn) error {
		if err := t.bumpRevision(idp); err != nil {
			return err
		}
		// The group's name is not kept: only a full plan can tell what
		// its Confluence group had.
		t.touch(idp, touchFull, "")
		if _, err := t.exec("DELETE FROM scim_memberships WHERE idp = ? AND group_id = ?", idp, id); err != nil {
			return err
		}
		res, err := t.exec("DELETE FROM scim_groups WHERE idp = ? AND id = ?", idp, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("group %q in %s: %w", id, idp, store.ErrNotFound)
		}
		return t.leaveAllGroups(idp, id)
	})
	if err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	return nil
}

// FindGroups returns the groups whose attribute equals the value
// (displayName case-insensitively), ordered by id.
func (s *Store) FindGroups(ctx context.Context, idp string, l store.Lookup) ([]*store.Group, error) {
	col, v, err := lookupColumn(l, "displayName", "display_name_lower")
	if err != nil {
		return nil, fmt.Errorf("find groups: %w", err)
	}
	return s.groups(ctx, "SELECT "+groupColumns+" FROM scim_groups WHERE idp = ? AND "+col+" = ? ORDER BY id", idp, v)
}

// ListGroups returns a page of groups ordered by id, without members; a
// Limit of 0 or less means no limit.
func (s *Store) ListGroups(ctx context.Context, idp string, p store.Page) ([]*store.Group, error) {
	q, args := pageQuery("SELECT "+groupColumns+" FROM scim_groups WHERE idp = ?", "id", []any{idp}, p)
	return s.groups(ctx, q, args...)
}

func (s *Store) groups(ctx context.Context, q string, args ...any) ([]*store.Group, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	defer rows.Close()
	var out []*store.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("read groups: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read groups: %w", err)
	}
	return out, nil
}

// CountGroups counts the IdP's groups.
func (s *Store) CountGroups(ctx context.Context, idp string) (int, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM scim_groups WHERE idp = ?", idp).Scan(&n); err != nil {
		return 0, fmt.Errorf("count groups: %w", err)
	}
	return n, nil
}
