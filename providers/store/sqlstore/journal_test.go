package sqlstore

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
	"github.com/confsync/confsync/providers/store/storetest"
)

// A journalBackend makes a database for a test and returns a function
// that opens a store on it, once per process or serve replica it stands
// for (or again after closing one).
type journalBackend struct {
	open func(t *testing.T) (open func() *Store)
}

func journalBackends() map[string]journalBackend {
	return map[string]journalBackend{
		"sqlite": {open: func(t *testing.T) func() *Store {
			path := filepath.Join(t.TempDir(), "journal.db")
			return func() *Store {
				s, err := OpenSQLite(t.Context(), path, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
		}},
		"postgres": {open: func(t *testing.T) func() *Store {
			if testing.Short() {
				t.Skip("starts PostgreSQL")
			}
			dsn := pgtest.Start(t)
			return func() *Store { return openTestPostgres(t, dsn) }
		}},
	}
}

// TestJournalSurvivesRestart closes the store with touches pending and
// finds them, and the covered revision, after reopening it.
func TestJournalSurvivesRestart(t *testing.T) {
	for name, b := range journalBackends() {
		t.Run(name, func(t *testing.T) {
			open := b.open(t)
			s := open()
			ctx := t.Context()
			covered := &store.User{IDP: "entra", UserName: "covered"}
			if err := s.CreateUser(ctx, covered); err != nil {
				t.Fatal(err)
			}
			rev, _ := s.Revision(ctx, "entra")
			if err := s.Cover(ctx, "entra", rev); err != nil {
				t.Fatal(err)
			}
			u := &store.User{IDP: "entra", UserName: "pending"}
			if err := s.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			g := &store.Group{IDP: "entra", DisplayName: "g"}
			if err := s.CreateGroup(ctx, g, []store.Member{{ID: u.ID}}); err != nil {
				t.Fatal(err)
			}
			before, err := s.Pending(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			after, err := open().Pending(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := after["entra"]
			if !slices.Equal(got.Users, []string{u.ID}) || !slices.Equal(got.Groups, []string{g.ID}) || got.Full {
				t.Errorf("pending after a restart: %+v, want user %s and group %s", got, u.ID, g.ID)
			}
			if got.Through != before["entra"].Through {
				t.Errorf("through %d after a restart, %d before", got.Through, before["entra"].Through)
			}
		})
	}
}

// TestJournalReplicas runs storetest.JournalUnderLoad with two stores on
// one database writing and a third covering, as serve replicas sharing
// PostgreSQL (or processes sharing a SQLite file) do.
func TestJournalReplicas(t *testing.T) {
	for name, b := range journalBackends() {
		t.Run(name, func(t *testing.T) {
			open := b.open(t)
			storetest.JournalUnderLoad(t, []store.Store{open(), open()}, open())
		})
	}
}
