package sqlstore

import (
	"fmt"
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

// TestWritesAfterCloseFail checks that a closed store answers writes with an
// error instead of blocking, including writes racing the Close.
func TestWritesAfterCloseFail(t *testing.T) {
	s, err := OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 50)
	for i := range 50 {
		go func() {
			done <- s.CreateUser(t.Context(), &store.User{IDP: "entra", UserName: fmt.Sprintf("u%d", i)})
		}()
	}
	s.Close()
	for range 50 {
		<-done // each returns, nil or an error
	}
	if err := s.CreateUser(t.Context(), &store.User{IDP: "entra", UserName: "late"}); err == nil {
		t.Error("write to a closed store succeeded")
	}
}
