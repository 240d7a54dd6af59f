package sqlstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
)

// TestTwoStoresShareOneDatabase opens the same database twice, as two
// processes or serve replicas would: writes through one are read through
// the other, and the apply lock excludes across them.
func TestTwoStoresShareOneDatabase(t *testing.T) {
	backends := map[string]func(t *testing.T) (*Store, *Store){
		"sqlite": func(t *testing.T) (*Store, *Store) {
			path := filepath.Join(t.TempDir(), "shared.db")
			a, err := OpenSQLite(t.Context(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b, err := OpenSQLite(t.Context(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b
		},
		"postgres": func(t *testing.T) (*Store, *Store) {
			if testing.Short() {
				t.Skip("starts PostgreSQL")
			}
			dsn := pgtest.Start(t)
			return openTestPostgres(t, dsn), openTestPostgres(t, dsn)
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			a, b := open(t)
			u := &store.User{IDP: "entra", UserName: "shared"}
			if err := a.CreateUser(t.Context(), u); err != nil {
				t.Fatal(err)
			}
			if _, err := b.GetUser(t.Context(), "entra", u.ID); err != nil {
				t.Errorf("write through one store not seen by the other: %v", err)
			}
			ra, _ := a.Revision(t.Context(), "entra")
			rb, _ := b.Revision(t.Context(), "entra")
			if ra != rb || ra == 0 {
				t.Errorf("revisions %d and %d", ra, rb)
			}
			if err := b.CreateUser(t.Context(), &store.User{IDP: "entra", UserName: "SHARED"}); !errors.Is(err, store.ErrConflict) {
				t.Errorf("uniqueness across stores: %v", err)
			}
			if err := a.AcquireLock(t.Context(), "replica-a", time.Hour); err != nil {
				t.Fatal(err)
			}
			var le *plan.LockedError
			if err := b.AcquireLock(t.Context(), "replica-b", time.Hour); !errors.As(err, &le) || le.Lock.Holder != "replica-a" {
				t.Fatalf("second replica: %v, want locked by replica-a", err)
			}
			if err := b.ForceUnlock(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := b.AcquireLock(t.Context(), "replica-b", time.Hour); err != nil {
				t.Errorf("after force-unlock: %v", err)
			}
		})
	}
}
