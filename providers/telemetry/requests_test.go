package telemetry

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// failingCounts fails every write once, then passes them to the store.
type failingCounts struct {
	RequestCountStore
	fail bool
}

func (f *failingCounts) AddRequestCounts(ctx context.Context, c []store.MinuteCount) error {
	if f.fail {
		f.fail = false
		return errors.New("store down")
	}
	return f.RequestCountStore.AddRequestCounts(ctx, c)
}

// TestRequestCounterFlushes: requests are counted per IdP and minute,
// reach the (real SQLite) store on Flush, and counts of a failed flush are
// kept for the next one.
func TestRequestCounterFlushes(t *testing.T) {
	ctx := t.Context()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fs := &failingCounts{RequestCountStore: st, fail: true}
	c := NewRequestCounter(fs, nil)
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	now := t0
	c.now = func() time.Time { return now }
	c.Observe("entra")
	c.Observe("entra")
	c.Observe("okta")
	if err := c.Flush(ctx); err == nil {
		t.Fatal("Flush into a failing store returned no error")
	}
	now = t0.Add(time.Minute)
	c.Observe("entra")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil { // nothing pending: no double count
		t.Fatal(err)
	}
	got, err := st.RequestCounts(ctx, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := t0.Truncate(time.Minute)
	want := []store.MinuteCount{
		{Minute: m, IDP: "entra", Requests: 2},
		{Minute: m, IDP: "okta", Requests: 1},
		{Minute: m.Add(time.Minute), IDP: "entra", Requests: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored counts (-want +got):\n%s", diff)
	}
}
