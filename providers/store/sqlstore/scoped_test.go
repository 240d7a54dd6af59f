package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/confsync/confsync/plan"
)

// TestRunsRecordedBeforeMigration10: a run written by a binary without
// migration 10 reads back with no kind and no request count once the
// schema is upgraded.
func TestRunsRecordedBeforeMigration10(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confsync.db")
	all := migrations
	migrations = all[:9]
	s, err := OpenSQLite(t.Context(), path, nil)
	migrations = all
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.w.ExecContext(t.Context(), `INSERT INTO audit_runs (id, started, finished, run_trigger, outcome, message, plan_id)
		VALUES ('old', 1, 2, 'cli', 'applied', 'before migration 10', 'p')`)
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != "old" || runs[0].Kind != "" || runs[0].ConfluenceRequests != 0 {
		t.Fatalf("Runs after the upgrade = %+v", runs)
	}
	r, err := s.RunOfPlan(t.Context(), "p")
	if err != nil || r == nil || r.Kind != "" || r.ConfluenceRequests != 0 {
		t.Fatalf("RunOfPlan after the upgrade = %+v, %v", r, err)
	}
}

// TestScopedQueriesUseIndexes: the lookups of OwnershipOf and
// EditConfluenceState search an index; none scans a table whose size
// grows with the site. A full read is recorded first: the index it drops
// and builds again must be there afterwards.
func TestScopedQueriesUseIndexes(t *testing.T) {
	s := openTestSQLite(t)
	a := &plan.Actual{Users: []plan.ActualUser{{Username: "a"}}, Groups: []plan.ActualGroup{{Name: "g", Members: []string{"a"}}}}
	if err := s.ReplaceConfluenceState(t.Context(), a, now()); err != nil {
		t.Fatal(err)
	}
	in := placeholders(1, 3)
	for _, q := range []string{
		"SELECT " + managedUserColumns + " FROM managed_users WHERE username IN " + in,
		"SELECT " + managedUserColumns + " FROM managed_users WHERE idp = ? AND source_id IN " + in,
		"SELECT " + managedGroupColumns + " FROM managed_groups WHERE name IN " + in,
		"SELECT " + managedMembershipColumns + " FROM managed_memberships WHERE username IN " + in,
		"DELETE FROM confluence_memberships WHERE username IN " + in,
		"DELETE FROM confluence_users WHERE username IN " + in,
		"DELETE FROM confluence_memberships WHERE group_name IN " + in,
		"DELETE FROM confluence_groups WHERE name IN " + in,
		"DELETE FROM confluence_memberships WHERE group_name = ? AND username = ?",
	} {
		args := make([]any, strings.Count(q, "?"))
		for i := range args {
			args[i] = "x"
		}
		rows, err := s.w.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plans []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plans = append(plans, detail)
		}
		rows.Close()
		joined := strings.Join(plans, "; ")
		if !strings.Contains(joined, "SEARCH") || strings.Contains(joined, "SCAN") {
			t.Errorf("%s: query plan %q does not search an index", q, joined)
		}
	}
}
