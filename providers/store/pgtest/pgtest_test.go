package pgtest

import (
	"database/sql"
	"strings"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestStartGivesFreshDatabases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("two tests got the same database %s", a)
	}
	db, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := db.QueryRowContext(t.Context(), "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if fsync != "on" {
		t.Errorf("fsync = %s, want on (the default)", fsync)
	}
	db2, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	var n int
	if err := db2.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 't'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the second database sees the first one's table")
	}
}

func TestFindBinExplainsAMissingInstall(t *testing.T) {
	t.Setenv(BinEnv, t.TempDir())
	_, err := FindBin()
	if err == nil || !strings.Contains(err.Error(), "no initdb there") {
		t.Errorf("FindBin with an empty %s: %v", BinEnv, err)
	}
	if _, err := StartCluster(t.Context()); err == nil {
		t.Error("StartCluster without PostgreSQL succeeded")
	}
}
