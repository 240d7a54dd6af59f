package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// TestCachedPermissionReads: with the space permissions kept in the SQLite
// store, the first plan reads every space, the next ones only the spaces
// the removed groups have grants in (ENG and DOCS, not HR), with the same
// impact; once the kept read is older than MaxAge, every space again.
func TestCachedPermissionReads(t *testing.T) {
	f := newImpactFixture(t, config.Safety{})
	clock := time.Now()
	cached := &plan.CachedPermissions{Reader: f.in.Target.(*confluence.Client), Cache: f.in.State.(*sqlstore.Store),
		MaxAge: time.Hour, Now: func() time.Time { return clock }}
	f.in.Permissions = cached
	type reads struct{ lists, spaces int }
	compute := func() (*plan.Plan, reads) {
		t.Helper()
		f.emu.ResetStats()
		p, err := plan.Compute(context.Background(), f.in)
		if err != nil {
			t.Fatal(err)
		}
		st := f.emu.Stats().Requests
		return p, reads{st["GET /rest/api/space"], st["GET /rest/api/space/{spaceKey}/permissions"]}
	}
	wantU2 := []string{
		"group eng grants page create in 1 space; u2 loses it [ENG]",
		"group eng grants space read in 2 spaces; u2 loses it in 1 of them [ENG]",
	}
	for _, step := range []struct {
		name    string
		advance time.Duration
		want    reads
	}{
		{"first plan: a full read", 0, reads{1, 3}},
		{"next plan: the removed groups' spaces only", time.Minute, reads{0, 2}},
		{"again", time.Minute, reads{0, 2}},
		{"kept read older than MaxAge: a full read", 2 * time.Hour, reads{1, 3}},
		{"FullRead (plan --refresh-permissions)", time.Minute, reads{1, 3}},
		{"kept again", time.Minute, reads{0, 2}},
	} {
		clock = clock.Add(step.advance)
		cached.FullRead = strings.HasPrefix(step.name, "FullRead")
		p, got := compute()
		if got != step.want {
			t.Errorf("%s: %d space list and %d space permission requests, want %+v", step.name, got.lists, got.spaces, step.want)
		}
		if diff := cmp.Diff(wantU2, lossesOf(p, "membership u2 -> eng")); diff != "" {
			t.Errorf("%s: u2's losses (-want +got):\n%s", step.name, diff)
		}
		if p.Impact.SpaceAccessLost != 3 {
			t.Errorf("%s: SpaceAccessLost = %d, want 3", step.name, p.Impact.SpaceAccessLost)
		}
		t.Logf("%s: %d list, %d space permission requests", step.name, got.lists, got.spaces)
	}
}
