package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// The change journal (plan.ChangeJournal, migration 8). Every SCIM write
// that changes something records, in its own transaction, the identities
// it touched: one row per (idp, kind, id) in change_journal, carrying the
// IdP's revision after the batch that wrote it (an upsert, so a burst of
// writes to one user is one row). change_journal_covered keeps, per IdP,
// the revision up to which runs have reconciled; Pending lists the rows
// above it, Cover moves it and deletes the rows at or below it.
//
// Why it is correct across replicas: a batch writes its journal rows after
// it has bumped idp_revisions, while it holds that row's lock, so the
// batches of one IdP commit in revision order, and a snapshot that holds a
// row of revision N holds every row of a lower revision. A write that
// commits after Pending read its snapshot gets a higher revision than any
// Pending saw, so Cover(Through) neither hides nor deletes it. Cover takes
// the same lock, so it never waits on a writer that waits on it.

// The kinds of journal rows.
const (
	touchUser  = "user"
	touchGroup = "group"
	// touchFull marks the IdP for a full plan; its id is "".
	touchFull = "full"
)

// touchKey is one journal row of an IdP.
type touchKey struct{ kind, id string }

// touch records that the write being run touched an identity of the IdP.
// Writes call it beside bumpRevision: only a write that changes something
// touches anything.
func (t *txn) touch(idp, kind, id string) {
	if t.opTouches == nil {
		t.opTouches = map[string]map[touchKey]bool{}
	}
	m := t.opTouches[idp]
	if m == nil {
		m = map[touchKey]bool{}
		t.opTouches[idp] = m
	}
	m[touchKey{kind, id}] = true
}

// endTouches keeps (ok) or drops the touches of the write just run, as
// endWrite does its revision counts.
func (t *txn) endTouches(ok bool) {
	if ok {
		if t.touches == nil {
			t.touches = map[string]map[touchKey]bool{}
		}
		for idp, m := range t.opTouches {
			all := t.touches[idp]
			if all == nil {
				all = make(map[touchKey]bool, len(m))
				t.touches[idp] = all
			}
			for k := range m {
				all[k] = true
			}
		}
	}
	clear(t.opTouches)
}

// touchMembers records the membership rows a group update added or
// removed: a member that names a group of the IdP (whatever the row's
// type: Entra sends nested groups without one) touches that group, any
// other member the user of that id.
func (t *txn) touchMembers(idp string, rows []store.Member) error {
	var maybeUsers []string
	for _, m := range rows {
		if m.Type == "Group" {
			t.touch(idp, touchGroup, m.ID)
		} else {
			maybeUsers = append(maybeUsers, m.ID)
		}
	}
	groups, err := t.existingGroups(idp, maybeUsers)
	if err != nil {
		return err
	}
	for _, id := range maybeUsers {
		if groups[id] {
			t.touch(idp, touchGroup, id)
		} else {
			t.touch(idp, touchUser, id)
		}
	}
	return nil
}

// touchGroupUpdate records what a group update that changed something
// touched: a rename marks the IdP for a full plan (the old name is not
// kept), each member added or removed is touched, and a member list
// replaced as a whole (ReplaceMembers, RemoveMatching) touches the group
// too.
func (t *txn) touchGroupUpdate(idp, groupID string, renamed bool, changes []store.MemberChange, moved []store.Member) error {
	if renamed {
		t.touch(idp, touchFull, "")
	}
	if len(moved) == 0 {
		return nil
	}
	for _, mc := range changes {
		if mc.Op == store.ReplaceMembers || mc.Op == store.RemoveMatching {
			t.touch(idp, touchGroup, groupID)
			break
		}
	}
	return t.touchMembers(idp, moved)
}

// existingGroups returns which of ids name groups of the IdP.
func (t *txn) existingGroups(idp string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(ids) > 0 {
		n := min(len(ids), membersPerStatement)
		args := make([]any, 0, n+1)
		args = append(args, idp)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		ids = ids[n:]
		rows, err := t.query("SELECT id FROM scim_groups WHERE idp = ? AND id IN "+placeholders(1, n), args...)
		if err != nil {
			return nil, fmt.Errorf("classify members: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("classify members: %w", err)
			}
			out[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("classify members: %w", err)
		}
	}
	return out, nil
}

// flushTouches writes the batch's touches of the IdP with the revision the
// batch brought it to. It runs after the batch's idp_revisions upsert, in
// the same transaction, holding that row's lock.
func (t *txn) flushTouches(idp string, revision int64) error {
	keys := make([]touchKey, 0, len(t.touches[idp]))
	for k := range t.touches[idp] {
		keys = append(keys, k)
	}
	// One order for every batch, like the revision rows.
	slices.SortFunc(keys, func(a, b touchKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.id, b.id))
	})
	for len(keys) > 0 {
		n := min(len(keys), membersPerStatement, t.d.maxParams/4)
		args := make([]any, 0, 4*n)
		for _, k := range keys[:n] {
			args = append(args, idp, k.kind, k.id, revision)
		}
		keys = keys[n:]
		if _, err := t.exec(`INSERT INTO change_journal (idp, kind, id, revision) VALUES `+placeholders(n, 4)+`
			ON CONFLICT (idp, kind, id) DO UPDATE SET revision = excluded.revision
			WHERE excluded.revision > change_journal.revision`, args...); err != nil {
			return fmt.Errorf("record changes: %w", err)
		}
	}
	return nil
}

var _ plan.ChangeJournal = (*Store)(nil)

// Pending returns, per IdP, what the SCIM writes touched after the IdP's
// covered revision, read from one snapshot. At most limit ids are listed
// per IdP (limit 0 or less: all of them); when there are more, or when a
// rename or delete marked the IdP, Full is set and Through is the IdP's
// current revision. Otherwise Through is the highest revision among the
// ids. IdPs with nothing pending are absent.
func (s *Store) Pending(ctx context.Context, limit int) (map[string]plan.Touched, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: s.d.snapshot})
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	t := &txn{ctx: ctx, tx: tx, d: s.d}
	marks, err := t.journalMarks()
	if err != nil {
		return nil, fmt.Errorf("read pending changes: %w", err)
	}
	out := map[string]plan.Touched{}
	for _, m := range marks {
		if m.current <= m.covered {
			continue
		}
		touched, ok, err := t.pendingOf(m, limit)
		if err != nil {
			return nil, fmt.Errorf("read pending changes of %s: %w", m.idp, err)
		}
		if ok {
			out[m.idp] = touched
		}
	}
	return out, nil
}

// journalMark is an IdP's current and covered revisions.
type journalMark struct {
	idp              string
	current, covered int64
}

func (t *txn) journalMarks() ([]journalMark, error) {
	rows, err := t.query(`SELECT r.idp, r.revision, COALESCE(c.revision, 0) FROM idp_revisions r
		LEFT JOIN change_journal_covered c ON c.idp = r.idp ORDER BY r.idp`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []journalMark
	for rows.Next() {
		var m journalMark
		if err := rows.Scan(&m.idp, &m.current, &m.covered); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// pendingOf reads one IdP's rows above its covered revision; ok is false
// when there are none.
func (t *txn) pendingOf(m journalMark, limit int) (plan.Touched, bool, error) {
	var touched plan.Touched
	var fullRev int64
	err := t.queryRow("SELECT revision FROM change_journal WHERE idp = ? AND kind = ? AND id = '' AND revision > ?",
		m.idp, touchFull, m.covered).Scan(&fullRev)
	switch {
	case err == nil:
		touched.Full = true
	case !errors.Is(err, sql.ErrNoRows):
		return touched, false, err
	}
	q := "SELECT kind, id, revision FROM change_journal WHERE idp = ? AND revision > ? AND kind <> ? ORDER BY revision, kind, id"
	args := []any{m.idp, m.covered, touchFull}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit+1)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return touched, false, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var kind, id string
		var rev int64
		if err := rows.Scan(&kind, &id, &rev); err != nil {
			return touched, false, err
		}
		if n++; limit > 0 && n > limit {
			touched.Full = true
			break
		}
		if kind == touchGroup {
			touched.Groups = append(touched.Groups, id)
		} else {
			touched.Users = append(touched.Users, id)
		}
		touched.Through = max(touched.Through, rev)
	}
	if err := rows.Err(); err != nil {
		return touched, false, err
	}
	if touched.Full {
		touched.Through = m.current
	}
	return touched, n > 0 || touched.Full, nil
}

// Cover marks the IdP's writes up to revision as reconciled and deletes
// their journal rows. The covered revision never moves back, and never
// past the IdP's current revision (a revision from the future cannot hide
// writes not made yet).
func (s *Store) Cover(ctx context.Context, idp string, revision int64) error {
	if idp == "" {
		return errors.New("cover changes: empty idp")
	}
	err := s.write(ctx, func(t *txn) error {
		// Locking the revision row serialises Cover with the IdP's writers
		// (they write journal rows only while they hold it).
		var current int64
		err := t.queryRow("SELECT revision FROM idp_revisions WHERE idp = ?"+t.d.forUpdate, idp).Scan(&current)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no write yet: nothing to cover
		}
		if err != nil {
			return err
		}
		revision = min(revision, current)
		if revision <= 0 {
			return nil
		}
		if _, err := t.exec(`INSERT INTO change_journal_covered (idp, revision, updated) VALUES (?, ?, ?)
			ON CONFLICT (idp) DO UPDATE SET revision = excluded.revision, updated = excluded.updated
			WHERE excluded.revision > change_journal_covered.revision`, idp, revision, micros(now())); err != nil {
			return err
		}
		_, err = t.exec("DELETE FROM change_journal WHERE idp = ? AND revision <= (SELECT revision FROM change_journal_covered WHERE idp = ?)", idp, idp)
		return err
	})
	if err != nil {
		return fmt.Errorf("cover changes of %s up to %d: %w", idp, revision, err)
	}
	return nil
}
