package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// TestDeleteAfterGracePeriod runs users.delete_after = 30d against the
// emulator over HTTP and the SQLite store with an injected clock: a
// deprovisioned user is disabled at once, listed with its deletion date,
// re-enabled with its memberships when it comes back within the period,
// and deleted only once it has been deprovisioned for 30 days.
func TestDeleteAfterGracePeriod(t *testing.T) {
	emu, url := emulator.Start(t, emulator.Options{AdminToken: "tok"})
	client, err := confluence.New(confluence.Options{BaseURL: url, Token: "tok", Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	idp := &config.IDP{Name: "entra", SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true, DeleteAfter: 30 * 24 * time.Hour},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true}}
	cfg := &config.Config{Hash: "h", IDPs: []*config.IDP{idp},
		Confluence: &config.Confluence{URL: url, ProtectedUsers: []string{"admin"}, ProtectedGroups: []string{"confluence-administrators"}}}
	src := &plantest.Source{}
	set := func(u2Active bool) {
		src.Set(plan.Snapshot{
			Users:  []plan.SourceUser{impactUser("u1", true), impactUser("u2", u2Active)},
			Groups: []plan.SourceGroup{{ID: "g-eng", Name: "Eng", MemberIDs: []string{"id-u1", "id-u2"}}}})
	}
	t0 := time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC)
	clock := t0
	in := plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": src}, Target: client, State: st,
		Options: plan.Options{Now: func() time.Time { return clock }}}
	ctx := context.Background()
	step := func(name string) *plan.Plan {
		t.Helper()
		p, err := plan.Compute(ctx, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var lines []string
		for _, c := range p.Changes {
			lines = append(lines, fmt.Sprintf("%s %s: %s", c.Action, c.Object(), c.Reason))
		}
		for _, n := range p.Notices {
			lines = append(lines, "notice "+n.Kind+" "+n.Subject+": "+n.Summary)
		}
		t.Logf("%s (%s):\n  %s", name, clock.Format(time.DateOnly), strings.Join(lines, "\n  "))
		if _, err := plan.Apply(ctx, p, client, st, plan.ApplyOptions{Parallelism: 2, Now: func() time.Time { return clock }}); err != nil {
			t.Fatalf("%s: apply: %v", name, err)
		}
		return p
	}
	find := func(p *plan.Plan, a plan.Action, object string) *plan.Change {
		i := slices.IndexFunc(p.Changes, func(c plan.Change) bool { return c.Action == a && c.Object() == object })
		if i < 0 {
			return nil
		}
		return &p.Changes[i]
	}
	grace := func(p *plan.Plan) string {
		for _, n := range p.Notices {
			if n.Kind == plan.NoticeGrace && n.Subject == "user u2" {
				return n.Summary
			}
		}
		return ""
	}

	set(true)
	step("import")

	set(false)
	p := step("u2 deactivated")
	c := find(p, plan.ActionDisable, "user u2")
	if c == nil || !strings.Contains(c.Reason, "deleted on 2026-02-04 09:30 UTC if still deprovisioned (users.delete_after = 30d)") {
		t.Fatalf("u2 not disabled with its deletion date: %+v", c)
	}
	if find(p, plan.ActionDelete, "user u2") != nil {
		t.Fatal("u2 deleted at once")
	}

	clock = t0.Add(10 * 24 * time.Hour)
	p = step("ten days later")
	if find(p, plan.ActionDelete, "user u2") != nil {
		t.Fatal("u2 deleted within the grace period")
	}
	if got := grace(p); got != "deprovisioned since 2026-01-05 09:30 UTC; deleted on 2026-02-04 09:30 UTC if still deprovisioned (users.delete_after = 30d)" {
		t.Errorf("pending deletion notice = %q", got)
	}

	set(true)
	p = step("u2 back")
	if find(p, plan.ActionEnable, "user u2") == nil {
		t.Fatal("u2 not re-enabled")
	}
	if u, _ := emu.User("u2"); !u.Active {
		t.Error("u2 inactive in Confluence after coming back")
	}
	for _, g := range emu.Groups() {
		if g.Name == "eng" && !slices.Contains(g.Members, "u2") {
			t.Errorf("u2 lost its membership of eng: %v", g.Members)
		}
	}

	clock = t0.Add(12 * 24 * time.Hour)
	set(false)
	step("u2 deactivated again")

	// The period runs from the second deactivation: 2026-02-16 09:30.
	clock = t0.Add(41 * 24 * time.Hour)
	p = step("day 41")
	if find(p, plan.ActionDelete, "user u2") != nil {
		t.Fatal("u2 deleted before 30 days since its second deactivation")
	}
	if !strings.Contains(grace(p), "deleted on 2026-02-16 09:30 UTC") {
		t.Errorf("pending deletion notice = %q", grace(p))
	}
	clock = t0.Add(42 * 24 * time.Hour)
	p = step("day 42")
	if c := find(p, plan.ActionDelete, "user u2"); c == nil || !strings.Contains(c.Reason, "came due on 2026-02-16 09:30 UTC") {
		t.Fatalf("u2 not deleted when due: %+v", c)
	}
	if _, ok := emu.User("u2"); ok {
		t.Error("u2 still exists in Confluence")
	}
	if u, ok := emu.User("u1"); !ok || !u.Active {
		t.Error("u1 was touched")
	}
}
