package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// testSpacePermissions: the kept space permissions start empty, a full
// replace sets them and the read time, a partial one replaces the given
// spaces only (a space with no grants left loses its rows) and keeps the
// time.
func testSpacePermissions(t *testing.T, s store.Store) {
	c, ok := s.(plan.SpacePermissionCache)
	if !ok {
		t.Fatalf("%T does not keep space permissions (plan.SpacePermissionCache)", s)
	}
	got, at, err := c.SpacePermissions(ctx(t))
	if err != nil || len(got) != 0 || !at.IsZero() {
		t.Fatalf("fresh store: %v, %v, %v; want nothing", got, at, err)
	}
	full := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	grants := []plan.SpacePermission{
		{Space: "ENG", Group: "eng", Permission: "space read"},
		{Space: "ENG", Group: "eng", Permission: "page create"},
		{Space: "DOCS", Group: "docs", Permission: "space read"},
		{Space: "DOCS", Group: "eng", Permission: "space read"},
		{Space: "DOCS", Group: "eng", Permission: "space read"}, // twice: kept once
	}
	if err := c.ReplaceSpacePermissions(ctx(t), nil, grants, full); err != nil {
		t.Fatal(err)
	}
	got, at, err = c.SpacePermissions(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []plan.SpacePermission{
		{Space: "DOCS", Group: "docs", Permission: "space read"},
		{Space: "DOCS", Group: "eng", Permission: "space read"},
		{Space: "ENG", Group: "eng", Permission: "page create"},
		{Space: "ENG", Group: "eng", Permission: "space read"},
	}
	if diff := cmp.Diff(want, got); diff != "" || !at.Equal(full) {
		t.Errorf("after the full replace (-want +got):\n%s\nread at %v, want %v", diff, at, full)
	}
	// ENG re-read: eng lost page create; DOCS untouched; HR gone (no rows).
	if err := c.ReplaceSpacePermissions(ctx(t), []string{"ENG", "HR"}, []plan.SpacePermission{{Space: "ENG", Group: "eng", Permission: "space read"}},
		full.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, at, err = c.SpacePermissions(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want = []plan.SpacePermission{want[0], want[1], want[3]}
	if diff := cmp.Diff(want, got); diff != "" || !at.Equal(full) {
		t.Errorf("after the partial replace (-want +got):\n%s\nread at %v, want %v (kept)", diff, at, full)
	}
	if err := c.ReplaceSpacePermissions(ctx(t), nil, nil, full.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, at, err = c.SpacePermissions(ctx(t)); err != nil || len(got) != 0 || !at.Equal(full.Add(2*time.Hour)) {
		t.Errorf("after an empty full replace: %v, %v, %v", got, at, err)
	}
}
