package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/confsync/confsync/providers/store"
)

// bumpRevision counts one SCIM write to the IdP. The counts of a batch's
// successful writes are added to idp_revisions at the end of the batch, in
// the same transaction (see flushRevisions), so the row is locked only for
// the commit and a reader that sees revision N sees every change up to N.
func (t *txn) bumpRevision(idp string) error {
	if t.opRevs == nil {
		t.opRevs = map[string]int64{}
	}
	t.opRevs[idp]++
	return nil
}

// endWrite keeps (ok) or drops the revision counts of the write just run.
func (t *txn) endWrite(ok bool) {
	if ok {
		if t.revs == nil {
			t.revs = map[string]int64{}
		}
		for idp, n := range t.opRevs {
			t.revs[idp] += n
		}
	}
	clear(t.opRevs)
	t.endTouches(ok)
}

// flushRevisions adds the batch's counts to idp_revisions, IdPs in name
// order so that concurrent transactions lock the rows in one order, and
// records the batch's touches in the change journal with the revision each
// IdP reached, while its row is locked.
func (t *txn) flushRevisions() error {
	idps := make([]string, 0, len(t.revs))
	for idp := range t.revs {
		idps = append(idps, idp)
	}
	slices.Sort(idps)
	for _, idp := range idps {
		var rev int64
		if err := t.queryRow(`INSERT INTO idp_revisions (idp, revision) VALUES (?, ?)
			ON CONFLICT (idp) DO UPDATE SET revision = idp_revisions.revision + excluded.revision
			RETURNING revision`, idp, t.revs[idp]).Scan(&rev); err != nil {
			return fmt.Errorf("bump revision: %w", err)
		}
		if err := t.flushTouches(idp, rev); err != nil {
			return err
		}
	}
	return nil
}

// Revision returns the IdP's revision: 0 before its first SCIM write, then
// one more with every write.
func (s *Store) Revision(ctx context.Context, idp string) (int64, error) {
	var rev int64
	err := s.queryRow(ctx, "SELECT revision FROM idp_revisions WHERE idp = ?", idp).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read revision of %s: %w", idp, err)
	}
	return rev, nil
}

func attrsText(a json.RawMessage) string {
	if len(a) == 0 {
		return "{}"
	}
	return string(a)
}

// lower is how userName and displayName are compared. strings.ToLower is
// used rather than SQL's LOWER so that both dialects agree on non-ASCII.
func lower(s string) string { return strings.ToLower(s) }

func checkUser(u *store.User) error {
	switch {
	case u == nil:
		return errors.New("nil user")
	case u.IDP == "":
		return errors.New("user without an idp")
	case u.UserName == "":
		return errors.New("user without a userName")
	case len(u.Attributes) > 0 && !json.Valid(u.Attributes):
		return errors.New("user attributes are not valid JSON")
	}
	return nil
}

// CreateUser stores a new user; it assigns an id when u.ID is empty and
// fills Version, Created and Modified.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if err := checkUser(u); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	id := u.ID
	if id == "" {
		id = uuid.NewString()
	}
	ts := now()
	err := s.write(ctx, func(t *txn) error {
		if err := t.bumpRevision(u.IDP); err != nil {
			return err
		}
		t.touch(u.IDP, touchUser, id)
		_, err := t.exec(`INSERT INTO scim_users
			(idp, id, external_id, user_name, user_name_lower, active, attributes, version, created, modified)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			u.IDP, id, u.ExternalID, u.UserName, lower(u.UserName), b2i(u.Active), attrsText(u.Attributes), micros(ts), micros(ts))
		if s.d.isUnique(err) {
			return fmt.Errorf("userName %q or id %q is already taken in %s: %w", u.UserName, id, u.IDP, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u.ID, u.Version, u.Created, u.Modified = id, 1, ts, ts
	return nil
}

const userColumns = "idp, id, external_id, user_name, active, attributes, version, created, modified"

func scanUser(sc interface{ Scan(...any) error }) (*store.User, error) {
	var (
		u                 store.User
		active            int
		attrs             []byte
		created, modified int64
	)
	if err := sc.Scan(&u.IDP, &u.ID, &u.ExternalID, &u.UserName, &active, &attrs, &u.Version, &created, &modified); err != nil {
		return nil, err
	}
	u.Active = active != 0
	u.Attributes = json.RawMessage(attrs)
	u.Created, u.Modified = fromMicros(created), fromMicros(modified)
	return &u, nil
}

// GetUser returns one user, or an error wrapping store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, idp, id string) (*store.User, error) {
	u, err := scanUser(s.queryRow(ctx, "SELECT "+userColumns+" FROM scim_users WHERE idp = ? AND id = ?", idp, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user %q in %s: %w", id, idp, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ReplaceUser overwrites a user; with ifVersion not 0 the stored version
// must equal it. Replacing a user with what it already holds changes
// nothing: u gets the stored version and times back.
func (s *Store) ReplaceUser(ctx context.Context, u *store.User, ifVersion int64) error {
	if err := checkUser(u); err != nil {
		return fmt.Errorf("replace user: %w", err)
	}
	var version, created, modified int64
	err := s.write(ctx, func(t *txn) error {
		cur, err := scanUser(t.queryRow("SELECT "+userColumns+" FROM scim_users WHERE idp = ? AND id = ?"+s.d.forUpdate, u.IDP, u.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("user %q in %s: %w", u.ID, u.IDP, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		version, created, modified = cur.Version, micros(cur.Created), micros(cur.Modified)
		if ifVersion != 0 && ifVersion != version {
			return fmt.Errorf("user %q is at version %d, not %d: %w", u.ID, version, ifVersion, store.ErrVersionMismatch)
		}
		if cur.ExternalID == u.ExternalID && cur.UserName == u.UserName && cur.Active == u.Active && sameJSON(cur.Attributes, u.Attributes) {
			return nil // nothing changes
		}
		if err := t.bumpRevision(u.IDP); err != nil {
			return err
		}
		t.touch(u.IDP, touchUser, u.ID)
		version++
		modified = micros(now())
		_, err = t.exec(`UPDATE scim_users SET external_id = ?, user_name = ?, user_name_lower = ?, active = ?,
			attributes = ?, version = ?, modified = ? WHERE idp = ? AND id = ?`,
			u.ExternalID, u.UserName, lower(u.UserName), b2i(u.Active), attrsText(u.Attributes), version, modified, u.IDP, u.ID)
		if s.d.isUnique(err) {
			return fmt.Errorf("userName %q is already taken in %s: %w", u.UserName, u.IDP, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("replace user: %w", err)
	}
	u.Version, u.Created, u.Modified = version, fromMicros(created), fromMicros(modified)
	return nil
}

// DeleteUser deletes a user and its memberships, in one transaction; the
// groups it leaves get a new version.
func (s *Store) DeleteUser(ctx context.Context, idp, id string) error {
	err := s.write(ctx, func(t *txn) error {
		if err := t.bumpRevision(idp); err != nil {
			return err
		}
		t.touch(idp, touchUser, id)
		res, err := t.exec("DELETE FROM scim_users WHERE idp = ? AND id = ?", idp, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("user %q in %s: %w", id, idp, store.ErrNotFound)
		}
		return t.leaveAllGroups(idp, id)
	})
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// lookupColumn maps a store.Lookup attribute to its indexed column and the
// value as stored there.
func lookupColumn(l store.Lookup, nameAttr, nameColumn string) (string, string, error) {
	switch l.Attr {
	case "id":
		return "id", l.Value, nil
	case "externalId":
		return "external_id", l.Value, nil
	case nameAttr:
		return nameColumn, lower(l.Value), nil
	}
	return "", "", fmt.Errorf("lookup by %q is not supported (id, externalId, %s)", l.Attr, nameAttr)
}

// FindUsers returns the users whose attribute equals the value (userName
// case-insensitively), ordered by id.
func (s *Store) FindUsers(ctx context.Context, idp string, l store.Lookup) ([]*store.User, error) {
	col, v, err := lookupColumn(l, "userName", "user_name_lower")
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return s.users(ctx, "SELECT "+userColumns+" FROM scim_users WHERE idp = ? AND "+col+" = ? ORDER BY id", idp, v)
}

// ListUsers returns a page of users ordered by id; a Limit of 0 or less
// means no limit.
func (s *Store) ListUsers(ctx context.Context, idp string, p store.Page) ([]*store.User, error) {
	q, args := pageQuery("SELECT "+userColumns+" FROM scim_users WHERE idp = ?", "id", []any{idp}, p)
	return s.users(ctx, q, args...)
}

func pageQuery(base, key string, args []any, p store.Page) (string, []any) {
	if p.After != "" {
		base += " AND " + key + " > ?"
		args = append(args, p.After)
	}
	base += " ORDER BY " + key
	if p.Limit > 0 {
		base += " LIMIT ?"
		args = append(args, p.Limit)
	}
	return base, args
}

func (s *Store) users(ctx context.Context, q string, args ...any) ([]*store.User, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	var out []*store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("read users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	return out, nil
}

// CountUsers counts the IdP's users.
func (s *Store) CountUsers(ctx context.Context, idp string) (int, error) {
	var n int
	if err := s.queryRow(ctx, "SELECT COUNT(*) FROM scim_users WHERE idp = ?", idp).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}
