package scim

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/confsync/confsync/providers/store/sqlstore"
)

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

// forEachStore runs f against the in-memory fake and the real SQLite store.
func forEachStore(t *testing.T, f func(t *testing.T, st Store)) {
	t.Run("mem", func(t *testing.T) { f(t, newMemStore()) })
	t.Run("sqlite", func(t *testing.T) { f(t, openSQLite(t)) })
}
