package scim

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/confsync/confsync/providers/store/pgtest"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// TestMain shares one throwaway PostgreSQL cluster across the tests.
func TestMain(m *testing.M) { pgtest.Main(m) }

// openSQLite opens a fresh SQLite store in a temporary directory.
func openSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "confsync.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openPostgres opens a store on a fresh database of the shared cluster.
func openPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenPostgres(context.Background(), pgtest.Start(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// forEachStore runs f against the in-memory fake and the real SQLite and
// PostgreSQL stores.
func forEachStore(t *testing.T, f func(t *testing.T, st Store)) {
	t.Run("mem", func(t *testing.T) { f(t, newMemStore()) })
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, openPostgres(t)) })
}
