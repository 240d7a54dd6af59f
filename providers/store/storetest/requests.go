package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/providers/store"
)

// testRequestCounts: counts add up per minute and IdP across calls (and
// within one call), list oldest first from a minute on, and prune by
// minute.
func testRequestCounts(t *testing.T, s store.Store) {
	got, err := s.RequestCounts(ctx(t), time.Time{})
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("fresh store has request counts: %+v", got)
	}
	m0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	m1, m2 := m0.Add(time.Minute), m0.Add(2*time.Minute)
	must(t, s.AddRequestCounts(ctx(t), []store.MinuteCount{
		{Minute: m0.Add(5 * time.Second), IDP: idpA, Requests: 3},
		{Minute: m0.Add(50 * time.Second), IDP: idpA, Requests: 2}, // same minute, same call
		{Minute: m1, IDP: idpB, Requests: 1},
		{Minute: m1, IDP: idpA, Requests: 0}, // nothing to add
	}))
	must(t, s.AddRequestCounts(ctx(t), []store.MinuteCount{
		{Minute: m0.Add(59 * time.Second), IDP: idpA, Requests: 10}, // adds to the row
		{Minute: m2, IDP: idpA, Requests: 7},
	}))
	must(t, s.AddRequestCounts(ctx(t), nil))
	got, err = s.RequestCounts(ctx(t), m0.Add(30*time.Second)) // from m0's minute on
	must(t, err)
	want := []store.MinuteCount{
		{Minute: m0, IDP: idpA, Requests: 15},
		{Minute: m1, IDP: idpB, Requests: 1},
		{Minute: m2, IDP: idpA, Requests: 7},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RequestCounts (-want +got):\n%s", diff)
	}
	got, err = s.RequestCounts(ctx(t), m1)
	must(t, err)
	if diff := cmp.Diff(want[1:], got); diff != "" {
		t.Errorf("RequestCounts since m1 (-want +got):\n%s", diff)
	}
	must(t, s.PruneRequestCounts(ctx(t), m2))
	got, err = s.RequestCounts(ctx(t), time.Time{})
	must(t, err)
	if diff := cmp.Diff(want[2:], got); diff != "" {
		t.Errorf("RequestCounts after pruning before m2 (-want +got):\n%s", diff)
	}
}
