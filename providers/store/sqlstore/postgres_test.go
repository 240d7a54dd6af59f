package sqlstore

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
	"github.com/confsync/confsync/providers/store/storetest"
)

// TestMain shares one PostgreSQL cluster among the tests that need one; it
// starts only when a test first asks for it.
func TestMain(m *testing.M) { pgtest.Main(m) }

func openTestPostgres(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := OpenPostgres(t.Context(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openTestPostgres(t, pgtest.Start(t)) })
}

func TestPostgresConcurrentMigratorsAndNewerSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	dsn := pgtest.Start(t)
	// Replicas starting together: the advisory lock lets one migrate while
	// the others wait and then find nothing to do.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := OpenPostgres(t.Context(), dsn, nil)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	s := openTestPostgres(t, dsn)
	var n int
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != SchemaVersion() {
		t.Errorf("%d migrations recorded, want %d", n, SchemaVersion())
	}
	if _, err := s.w.ExecContext(t.Context(), "INSERT INTO schema_migrations (version, name, applied) VALUES (999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPostgres(t.Context(), dsn, nil); err == nil || !strings.Contains(err.Error(), "newer than this confsync") {
		t.Errorf("open of a newer schema: %v, want a refusal", err)
	}
}

func TestPostgresErrorsHideThePassword(t *testing.T) {
	_, err := OpenPostgres(t.Context(), "postgres://confsync:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", nil)
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
	_, err = OpenPostgres(t.Context(), "postgres://u:s3cret-pw@[::1:5432/db", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("malformed DSN: %v", err)
	}
}

// TestPostgresDeadlockRetried makes two concurrent batches lock two groups
// in opposite orders. PostgreSQL aborts one to break the deadlock; the
// store runs that batch again, and both writes succeed exactly once.
func TestPostgresDeadlockRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	s := openTestPostgres(t, pgtest.Start(t))
	ctx := t.Context()
	g1 := &store.Group{IDP: "entra", DisplayName: "g1"}
	g2 := &store.Group{IDP: "entra", DisplayName: "g2"}
	for _, g := range []*store.Group{g1, g2} {
		if err := s.CreateGroup(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
	}
	touch := func(tx *txn, id string) error {
		_, err := tx.exec("UPDATE scim_groups SET version = version + 1 WHERE idp = ? AND id = ?", "entra", id)
		return err
	}
	touchBoth := func(first, second string, started chan<- struct{}) func(t *txn) error {
		return func(tx *txn) error {
			if err := touch(tx, first); err != nil {
				return err
			}
			if started != nil {
				select {
				case started <- struct{}{}:
				default:
				}
			}
			time.Sleep(300 * time.Millisecond) // let the other batch take its first lock
			return touch(tx, second)
		}
	}
	started := make(chan struct{}, 1)
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); errA = s.write(ctx, touchBoth(g1.ID, g2.ID, started)) }()
	<-started // the first batch holds g1: the second goes to another committer
	go func() { defer wg.Done(); errB = s.write(ctx, touchBoth(g2.ID, g1.ID, nil)) }()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("deadlocked writes: %v, %v", errA, errB)
	}
	for _, g := range []*store.Group{g1, g2} {
		got, err := s.GetGroup(ctx, "entra", g.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != g.Version+2 {
			t.Errorf("%s at version %d, want %d: a write was lost or made twice", g.DisplayName, got.Version, g.Version+2)
		}
	}
}
