package sqlstore

import (
	"path/filepath"
	"testing"
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
