package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confsync/confsync/plan"
)

var _ plan.ConfluenceCache = (*Store)(nil)

// The recorded Confluence state (migration 9) is four tables:
// confluence_users, confluence_groups, confluence_memberships (group_name,
// username) and one confluence_reads row (caller, read_at, updated) that
// exists once a full read has been recorded. The store keeps every
// membership's group in confluence_groups; a membership's user need not be
// in confluence_users (Confluence's own lists need not agree either).

// ReplaceConfluenceState replaces the whole recorded state with a full
// read, in one transaction. A zero at is now.
func (s *Store) ReplaceConfluenceState(ctx context.Context, a *plan.Actual, at time.Time) error {
	if a == nil {
		return errors.New("record the confluence state: no state")
	}
	if err := checkActual(a); err != nil {
		return fmt.Errorf("record the confluence state: %w", err)
	}
	readAt := stamp(at)
	if done, err := s.replaceByEdits(ctx, a, readAt); done || err != nil {
		return err
	}
	err := s.write(ctx, func(t *txn) error {
		if t.d.reindexBulkLoads {
			if _, err := t.exec("DROP INDEX confluence_memberships_username"); err != nil {
				return err
			}
		}
		for _, table := range []string{"confluence_memberships", "confluence_groups", "confluence_users"} {
			if _, err := t.exec("DELETE FROM " + table); err != nil {
				return err
			}
		}
		if err := t.insertConfluenceUsers(a.Users); err != nil {
			return err
		}
		if err := t.insertConfluenceGroups(a.Groups); err != nil {
			return err
		}
		if t.d.reindexBulkLoads {
			if _, err := t.exec(confluenceMembershipsIndex); err != nil {
				return err
			}
		}
		_, err := t.exec(`INSERT INTO confluence_reads (id, caller, read_at, updated) VALUES (1, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET caller = excluded.caller, read_at = excluded.read_at, updated = excluded.updated`,
			a.Caller, readAt, readAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the confluence state: %w", err)
	}
	return nil
}

// maxReplaceEdits is the share of rows above which a new full read is
// loaded whole rather than written as edits to the recorded one.
const maxReplaceEdits = 0.2

// replaceByEdits records a full read as the edits from the recorded state
// when one with the same caller is recorded and the read changed little
// (the usual case: a site read once an hour): reading the recorded state
// back and writing what changed costs far less than loading a million
// memberships again, on PostgreSQL above all. It reports whether it
// recorded the read.
func (s *Store) replaceByEdits(ctx context.Context, a *plan.Actual, readAt int64) (bool, error) {
	old, _, ok, err := s.ConfluenceState(ctx)
	if err != nil || !ok || old.Caller != a.Caller {
		return false, err
	}
	e := plan.ConfluenceEditsBetween(old, a)
	rows := len(a.Users) + len(a.Groups)
	for _, g := range a.Groups {
		rows += len(g.Members)
	}
	if float64(e.Size()) > maxReplaceEdits*float64(rows) {
		return false, nil
	}
	err = s.write(ctx, func(t *txn) error {
		if err := t.editConfluenceState(e); err != nil {
			return err
		}
		_, err := t.exec("UPDATE confluence_reads SET read_at = ?, updated = ? WHERE id = 1", readAt, readAt)
		return err
	})
	if err != nil {
		return true, fmt.Errorf("record the confluence state: %w", err)
	}
	return true, nil
}

// checkActual refuses a state with a nameless user, group or member.
func checkActual(a *plan.Actual) error {
	for _, u := range a.Users {
		if u.Username == "" {
			return errors.New("a user without a username")
		}
	}
	for _, g := range a.Groups {
		if g.Name == "" {
			return errors.New("a group without a name")
		}
		if slices.Contains(g.Members, "") {
			return fmt.Errorf("group %s: a member without a username", g.Name)
		}
	}
	return nil
}

// insertConfluenceUsers adds users; of two with one username the first is
// kept.
func (t *txn) insertConfluenceUsers(users []plan.ActualUser) error {
	ins := t.bulkInsert("INSERT INTO confluence_users (username, user_key, display_name, email, active) VALUES ",
		" ON CONFLICT DO NOTHING", 5)
	for _, u := range users {
		if err := ins.add(u.Username, u.Key, u.DisplayName, u.Email, b2i(u.Active)); err != nil {
			return ins.abort(err)
		}
	}
	return ins.close()
}

// insertConfluenceGroups adds the groups and their members.
func (t *txn) insertConfluenceGroups(groups []plan.ActualGroup) error {
	ins := t.bulkInsert("INSERT INTO confluence_groups (name) VALUES ", " ON CONFLICT DO NOTHING", 1)
	for _, g := range groups {
		if err := ins.add(g.Name); err != nil {
			return ins.abort(err)
		}
	}
	if err := ins.close(); err != nil {
		return err
	}
	ins = t.bulkInsert("INSERT INTO confluence_memberships (group_name, username) VALUES ", " ON CONFLICT DO NOTHING", 2)
	for _, g := range groups {
		for _, m := range g.Members {
			if err := ins.add(g.Name, m); err != nil {
				return ins.abort(err)
			}
		}
	}
	return ins.close()
}

// EditConfluenceState applies e to the recorded state in one transaction,
// in this order: DeleteUsers (with their memberships), PutUsers,
// DeleteGroups (with their memberships), PutGroups, RemoveMembers,
// AddMembers (which records a member's group when it is not recorded: it
// exists in Confluence). Without a recorded full read it does nothing. A
// zero at is now.
func (s *Store) EditConfluenceState(ctx context.Context, e plan.ConfluenceEdits, at time.Time) error {
	if err := checkEdits(e); err != nil {
		return fmt.Errorf("edit the confluence state: %w", err)
	}
	updated := stamp(at)
	err := s.write(ctx, func(t *txn) error {
		var one int
		switch err := t.queryRow("SELECT 1 FROM confluence_reads WHERE id = 1").Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		if err := t.editConfluenceState(e); err != nil {
			return err
		}
		_, err := t.exec("UPDATE confluence_reads SET updated = ? WHERE id = 1", updated)
		return err
	})
	if err != nil {
		return fmt.Errorf("edit the confluence state: %w", err)
	}
	return nil
}

// editConfluenceState applies e in EditConfluenceState's order.
func (t *txn) editConfluenceState(e plan.ConfluenceEdits) error {
	for _, step := range []func(plan.ConfluenceEdits) error{
		t.deleteConfluenceUsers, t.putConfluenceUsers, t.deleteConfluenceGroups, t.putConfluenceGroups,
		t.removeConfluenceMembers, t.addConfluenceMembers,
	} {
		if err := step(e); err != nil {
			return err
		}
	}
	return nil
}

// checkEdits refuses an edit naming an empty user or group.
func checkEdits(e plan.ConfluenceEdits) error {
	for _, u := range e.PutUsers {
		if u.Username == "" {
			return errors.New("a user without a username")
		}
	}
	if slices.Contains(e.DeleteUsers, "") || slices.Contains(e.PutGroups, "") || slices.Contains(e.DeleteGroups, "") {
		return errors.New("an empty username or group name")
	}
	for _, m := range slices.Concat(e.AddMembers, e.RemoveMembers) {
		if m.Username == "" || m.Group == "" {
			return fmt.Errorf("a membership %q -> %q without a username or group", m.Username, m.Group)
		}
	}
	return nil
}

func (t *txn) deleteConfluenceUsers(e plan.ConfluenceEdits) error {
	return inLists(e.DeleteUsers, func(marks string, args []any) error {
		if _, err := t.exec("DELETE FROM confluence_memberships WHERE username IN "+marks, args...); err != nil {
			return err
		}
		_, err := t.exec("DELETE FROM confluence_users WHERE username IN "+marks, args...)
		return err
	})
}

// putConfluenceUsers adds or replaces users; of two with one username the
// last wins.
func (t *txn) putConfluenceUsers(e plan.ConfluenceEdits) error {
	for _, u := range e.PutUsers {
		if _, err := t.exec(`INSERT INTO confluence_users (username, user_key, display_name, email, active) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET user_key = excluded.user_key, display_name = excluded.display_name,
			email = excluded.email, active = excluded.active`,
			u.Username, u.Key, u.DisplayName, u.Email, b2i(u.Active)); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) deleteConfluenceGroups(e plan.ConfluenceEdits) error {
	return inLists(e.DeleteGroups, func(marks string, args []any) error {
		if _, err := t.exec("DELETE FROM confluence_memberships WHERE group_name IN "+marks, args...); err != nil {
			return err
		}
		_, err := t.exec("DELETE FROM confluence_groups WHERE name IN "+marks, args...)
		return err
	})
}

func (t *txn) putConfluenceGroups(e plan.ConfluenceEdits) error {
	return inLists(e.PutGroups, func(marks string, args []any) error {
		_, err := t.exec("INSERT INTO confluence_groups (name) VALUES "+placeholders(len(args), 1)+" ON CONFLICT DO NOTHING", args...)
		return err
	})
}

func (t *txn) removeConfluenceMembers(e plan.ConfluenceEdits) error {
	for _, m := range e.RemoveMembers {
		if _, err := t.exec("DELETE FROM confluence_memberships WHERE group_name = ? AND username = ?", m.Group, m.Username); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) addConfluenceMembers(e plan.ConfluenceEdits) error {
	groups := make([]string, 0, len(e.AddMembers))
	for _, m := range e.AddMembers {
		groups = append(groups, m.Group)
	}
	if err := t.putConfluenceGroups(plan.ConfluenceEdits{PutGroups: groups}); err != nil {
		return err
	}
	ins := t.bulkInsert("INSERT INTO confluence_memberships (group_name, username) VALUES ", " ON CONFLICT DO NOTHING", 2)
	for _, m := range e.AddMembers {
		if err := ins.add(m.Group, m.Username); err != nil {
			return ins.abort(err)
		}
	}
	return ins.close()
}

// ConfluenceState returns the recorded state, sorted as the Confluence
// client's Read returns it (users by username, groups by name, each
// group's members by username, in byte order), and when it was last read
// in full; false when no full read was recorded. It reads one snapshot.
func (s *Store) ConfluenceState(ctx context.Context) (*plan.Actual, time.Time, bool, error) {
	t, done, err := s.readSnapshot(ctx)
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read the confluence state: %w", err)
	}
	defer done()
	a := &plan.Actual{}
	var readAt int64
	switch err := t.queryRow("SELECT caller, read_at FROM confluence_reads WHERE id = 1").Scan(&a.Caller, &readAt); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, time.Time{}, false, nil
	case err != nil:
		return nil, time.Time{}, false, fmt.Errorf("read the confluence state: %w", err)
	}
	if a.Users, err = t.confluenceUsers(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read the confluence users: %w", err)
	}
	if a.Groups, err = t.confluenceGroups(); err != nil {
		return nil, time.Time{}, false, fmt.Errorf("read the confluence groups: %w", err)
	}
	return a, fromMicros(readAt), true, nil
}

func (t *txn) confluenceUsers() ([]plan.ActualUser, error) {
	rows, err := t.query("SELECT username, user_key, display_name, email, active FROM confluence_users ORDER BY username")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []plan.ActualUser
	for rows.Next() {
		var u plan.ActualUser
		var active int
		if err := rows.Scan(&u.Username, &u.Key, &u.DisplayName, &u.Email, &active); err != nil {
			return nil, err
		}
		u.Active = active != 0
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The engine's collation may not be byte order (PostgreSQL's need not
	// be); the order of a sorted list is kept in linear time.
	slices.SortFunc(out, func(a, b plan.ActualUser) int { return strings.Compare(a.Username, b.Username) })
	return out, nil
}

// confluenceGroups reads the groups and then their members, grouped by
// group.
func (t *txn) confluenceGroups() ([]plan.ActualGroup, error) {
	var out []plan.ActualGroup
	index := map[string]int{}
	rows, err := t.query("SELECT name FROM confluence_groups ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g plan.ActualGroup
		if err := rows.Scan(&g.Name); err != nil {
			return nil, err
		}
		index[g.Name] = len(out)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := t.addConfluenceMembersTo(out, index); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b plan.ActualGroup) int { return strings.Compare(a.Name, b.Name) })
	for _, g := range out {
		slices.Sort(g.Members)
	}
	return out, nil
}

// addConfluenceMembersTo reads every membership into its group.
func (t *txn) addConfluenceMembersTo(groups []plan.ActualGroup, index map[string]int) error {
	rows, err := t.query("SELECT group_name, username FROM confluence_memberships ORDER BY group_name, username")
	if err != nil {
		return err
	}
	defer rows.Close()
	var group, user string
	for rows.Next() {
		if err := rows.Scan(&group, &user); err != nil {
			return err
		}
		i, ok := index[group]
		if !ok {
			return fmt.Errorf("membership %s -> %s: the group is not recorded", user, group)
		}
		groups[i].Members = append(groups[i].Members, user)
	}
	return rows.Err()
}

// bulkRowsPerStatement bounds the rows of one multi-row INSERT of a bulk
// insert.
const bulkRowsPerStatement = 1000

// bulkInserter adds rows through multi-row INSERTs, preparing the
// statement of a full chunk once and running it for every full chunk, so
// that a million rows cost a thousand executions and one parse.
type bulkInserter struct {
	t          *txn
	head, tail string
	cols, rows int
	args       []any
	full       *sql.Stmt
}

// bulkInsert starts a bulk insert of rows of cols values: head is the
// statement up to VALUES, tail what follows the rows.
func (t *txn) bulkInsert(head, tail string, cols int) *bulkInserter {
	rows := min(bulkRowsPerStatement, t.d.maxParams/cols)
	return &bulkInserter{t: t, head: head, tail: tail, cols: cols, rows: rows, args: make([]any, 0, rows*cols)}
}

// add adds one row of cols values.
func (b *bulkInserter) add(values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) < b.rows*b.cols {
		return nil
	}
	if b.full == nil {
		st, err := b.t.tx.PrepareContext(b.t.ctx, b.t.d.rebind(b.head+placeholders(b.rows, b.cols)+b.tail))
		if err != nil {
			return err
		}
		b.full = st
	}
	_, err := b.full.ExecContext(b.t.ctx, b.args...)
	b.args = b.args[:0]
	return err
}

// close inserts the rows left and releases the prepared statement.
func (b *bulkInserter) close() error {
	var err error
	if n := len(b.args) / b.cols; n > 0 {
		_, err = b.t.exec(b.head+placeholders(n, b.cols)+b.tail, b.args...)
		b.args = b.args[:0]
	}
	return b.abort(err)
}

// abort releases the prepared statement and returns err.
func (b *bulkInserter) abort(err error) error {
	if b.full != nil {
		err = errors.Join(err, b.full.Close())
		b.full = nil
	}
	return err
}
