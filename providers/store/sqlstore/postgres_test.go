package sqlstore

import (
	"strings"
	"sync"
	"testing"

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
