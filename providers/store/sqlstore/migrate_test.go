package sqlstore

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

func TestSQLiteReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confsync.db")
	s, err := OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{IDP: "entra", UserName: "kept"}
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer s.Close()
	if _, err := s.GetUser(t.Context(), "entra", u.ID); err != nil {
		t.Errorf("user lost across reopen: %v", err)
	}
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() {
		t.Errorf("%d migrations recorded, want %d (each applied once)", n, SchemaVersion())
	}
}

func TestSQLiteDurabilitySettings(t *testing.T) {
	s := openTestSQLite(t)
	tests := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	}
	for _, tc := range tests {
		for name, db := range map[string]*sql.DB{"write": s.w, "read": s.r} {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got, tc.want) {
				t.Errorf("%s connection: PRAGMA %s = %s, want %s", name, tc.pragma, got, tc.want)
			}
		}
	}
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "confsync.db")
	s, err := OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied) VALUES (999, 'from the future', 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenSQLite(t.Context(), path, nil)
	if err == nil || !strings.Contains(err.Error(), "newer than this confsync") {
		t.Fatalf("open of a newer schema: %v, want a refusal", err)
	}
}

func TestSQLiteRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := OpenSQLite(t.Context(), p, nil); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) accepted", p)
		}
	}
}
