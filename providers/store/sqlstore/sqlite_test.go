package sqlstore

import (
	"path/filepath"
	"testing"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/storetest"
)

func openTestSQLite(t *testing.T) *Store {
	t.Helper()
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLiteConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTestSQLite(t) })
}
