package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/plan/views"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// impactFixture is an emulator with spaces and permissions, the real client
// and a real SQLite store, after a first apply that manages u1..u3 in the
// groups eng (all three) and docs (u1, u2).
type impactFixture struct {
	emu *emulator.Server
	url string
	in  plan.Inputs
	src *plantest.Source
}

func impactUser(name string, active bool) plan.SourceUser {
	return plan.SourceUser{ID: "id-" + name, Active: active, Attributes: map[string]string{
		"userName": name, `emails[type eq "work"].value`: name + "@example.com", "displayName": "User " + name}}
}

func newImpactFixture(t *testing.T, safety config.Safety) *impactFixture {
	t.Helper()
	emu, url := emulator.Start(t, emulator.Options{AdminToken: "tok"})
	client, err := confluence.New(confluence.Options{BaseURL: url, Token: "tok", Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	idp := &config.IDP{Name: "entra", SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true}}
	cfg := &config.Config{Hash: "h", IDPs: []*config.IDP{idp}, Safety: safety,
		Confluence: &config.Confluence{URL: url, ProtectedUsers: []string{"admin"}, ProtectedGroups: []string{"confluence-administrators"}}}
	src := &plantest.Source{}
	src.Set(plan.Snapshot{
		Users: []plan.SourceUser{impactUser("u1", true), impactUser("u2", true), impactUser("u3", true)},
		Groups: []plan.SourceGroup{
			{ID: "g-eng", Name: "Eng", MemberIDs: []string{"id-u1", "id-u2", "id-u3"}},
			{ID: "g-docs", Name: "Docs", MemberIDs: []string{"id-u1", "id-u2"}},
		}})
	// Unrelated groups: the permission reads must not visit them.
	var others []emulator.Group
	for i := range 50 {
		others = append(others, emulator.Group{Name: fmt.Sprintf("other-%02d", i)})
	}
	if err := emu.SeedGroups(others...); err != nil {
		t.Fatal(err)
	}
	f := &impactFixture{emu: emu, url: url, src: src, in: plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": src},
		Target: client, State: st, Options: plan.Options{AllowMassChanges: true}}}
	ctx := context.Background()
	p, err := plan.Compute(ctx, f.in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plan.Apply(ctx, p, client, st, plan.ApplyOptions{Parallelism: 2}); err != nil {
		t.Fatal(err)
	}
	// eng grants read and page create in ENG and read in DOCS, and the
	// application; docs grants read in DOCS and the application too.
	grant := func(g, target, op string) emulator.Permission {
		return emulator.Permission{SubjectType: "group", Subject: g, TargetType: target, Operation: op}
	}
	if err := emu.SeedSpaces(
		emulator.Space{Key: "ENG", Name: "Engineering", Permissions: []emulator.Permission{grant("eng", "space", "read"), grant("eng", "page", "create")}},
		emulator.Space{Key: "DOCS", Name: "Docs", Permissions: []emulator.Permission{grant("eng", "space", "read"), grant("docs", "space", "read")}},
		emulator.Space{Key: "HR", Name: "HR", Permissions: []emulator.Permission{grant("other-01", "space", "read")}},
	); err != nil {
		t.Fatal(err)
	}
	if err := emu.SeedGlobalPermissions(grant("eng", "application", "use"), grant("docs", "application", "use"),
		grant("other-02", "space", "create")); err != nil {
		t.Fatal(err)
	}
	// Now u2 leaves Eng and u3 is deactivated.
	src.Set(plan.Snapshot{
		Users: []plan.SourceUser{impactUser("u1", true), impactUser("u2", true), impactUser("u3", false)},
		Groups: []plan.SourceGroup{
			{ID: "g-eng", Name: "Eng", MemberIDs: []string{"id-u1", "id-u3"}},
			{ID: "g-docs", Name: "Docs", MemberIDs: []string{"id-u1", "id-u2"}},
		}})
	emu.ResetStats()
	return f
}

func lossesOf(p *plan.Plan, object string) []string {
	var out []string
	for _, ci := range p.Impact.Changes {
		if ci.Object == object {
			for _, l := range ci.Losses {
				out = append(out, l.Summary()+" ["+strings.Join(l.Spaces, ",")+"]")
			}
		}
	}
	return out
}

// TestPermissionImpactRealTarget computes a plan that removes u2 from eng
// and disables u3 against the emulator over HTTP and the SQLite store, and
// checks what the plan says they lose: u2 keeps DOCS read and the
// application through docs; u3, disabled, loses everything eng grants (u3
// is not in docs).
func TestPermissionImpactRealTarget(t *testing.T) {
	f := newImpactFixture(t, config.Safety{})
	p, err := plan.Compute(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Impact == nil {
		t.Fatal("no permission impact on a plan that removes a membership and disables a user")
	}
	var human bytes.Buffer
	if err := views.Human(&human, p, views.HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", human.String())
	if diff := cmp.Diff([]string{
		"group eng grants page create in 1 space; u2 loses it [ENG]",
		"group eng grants space read in 2 spaces; u2 loses it in 1 of them [ENG]",
	}, lossesOf(p, "membership u2 -> eng")); diff != "" {
		t.Errorf("u2's losses (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{
		"group eng grants the global permission application use; u3 loses it []",
		"group eng grants page create in 1 space; u3 loses it [ENG]",
		"group eng grants space read in 2 spaces; u3 loses it [DOCS,ENG]",
	}, lossesOf(p, "user u3")); diff != "" {
		t.Errorf("u3's losses (-want +got):\n%s", diff)
	}
	if p.Impact.SpaceAccessLost != 3 { // u2 ENG, u3 ENG, u3 DOCS
		t.Errorf("SpaceAccessLost = %d, want 3", p.Impact.SpaceAccessLost)
	}
	if !strings.Contains(human.String(), "group eng grants space read in 2 spaces; u2 loses it in 1 of them") {
		t.Errorf("the human view does not show the loss")
	}
	// Bounded by what the plan removes: global reads only for the groups of
	// u2 and u3, never for the 50 unrelated groups; one read per space.
	st := f.emu.Stats().Requests
	if n := st["GET /rest/api/permissions/group/{groupName}"]; n == 0 || n > 3 {
		t.Errorf("%d global permission reads, want 1..3 (eng, docs, confluence-users at most)", n)
	}
	if n := st["GET /rest/api/space/{spaceKey}/permissions"]; n != 3 {
		t.Errorf("%d space permission reads, want one per space (3)", n)
	}
	t.Logf("permission requests: %d global, %d space lists, %d space permission reads",
		st["GET /rest/api/permissions/group/{groupName}"], st["GET /rest/api/space"], st["GET /rest/api/space/{spaceKey}/permissions"])
}

// TestMaxSpaceAccessLost refuses the same plan above the threshold and lets
// it through at it.
func TestMaxSpaceAccessLost(t *testing.T) {
	for _, tc := range []struct {
		limit   int
		refused bool
	}{{2, true}, {3, false}} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			f := newImpactFixture(t, config.Safety{MaxSpaceAccessLost: config.Threshold{Set: true, Count: tc.limit}})
			f.in.Options.AllowMassChanges = false
			_, err := plan.Compute(context.Background(), f.in)
			var se *plan.SafetyError
			if got := errors.As(err, &se); got != tc.refused {
				t.Fatalf("refused = %v (%v), want %v", got, err, tc.refused)
			}
			if tc.refused {
				t.Logf("refusal: %v", err)
				if !strings.Contains(err.Error(), "3 (user, space) pairs, above max_space_access_lost = 2") {
					t.Errorf("refusal does not name the numbers: %v", err)
				}
			}
		})
	}
}

// TestPermissionReadFailureIsAWarning: a permission read that fails (here
// a Confluence that refuses connections) leaves a warning on the plan and
// Unknown in the impact, never a silent empty impact; with the threshold
// set, the plan is refused because it cannot be checked.
func TestPermissionReadFailureIsAWarning(t *testing.T) {
	f := newImpactFixture(t, config.Safety{})
	dead, err := confluence.New(confluence.Options{BaseURL: "http://127.0.0.1:1", Token: "tok", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.in.Permissions = dead
	p, err := plan.Compute(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Impact == nil || len(p.Impact.Unknown) != 2 {
		t.Fatalf("impact = %+v, want two unknown reads", p.Impact)
	}
	warned := false
	for _, n := range p.Notices {
		warned = warned || (n.Kind == plan.NoticePermissions && n.Severity == plan.SeverityWarning)
	}
	if !warned {
		t.Errorf("no warning notice: %+v", p.Notices)
	}
	f.in.Config.Safety.MaxSpaceAccessLost = config.Threshold{Set: true, Count: 100}
	f.in.Options.AllowMassChanges = false
	_, err = plan.Compute(context.Background(), f.in)
	var se *plan.SafetyError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "could not be read") {
		t.Errorf("an unchecked plan was not refused: %v", err)
	}
}

// TestPermissionImpactGroupDeletion: deleting a group takes its grants
// from every member; u1 keeps DOCS read and the application through eng,
// u2 (in no other group) loses both.
func TestPermissionImpactGroupDeletion(t *testing.T) {
	f := newImpactFixture(t, config.Safety{})
	f.src.Set(plan.Snapshot{
		Users:  []plan.SourceUser{impactUser("u1", true), impactUser("u2", true), impactUser("u3", true)},
		Groups: []plan.SourceGroup{{ID: "g-eng", Name: "Eng", MemberIDs: []string{"id-u1", "id-u3"}}}})
	p, err := plan.Compute(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Impact == nil {
		t.Fatal("no impact")
	}
	for _, ci := range p.Impact.Changes {
		t.Logf("%s: %+v", ci.Object, ci.Losses)
	}
	if diff := cmp.Diff([]string{
		"group docs grants the global permission application use; u2 loses it []",
		"group docs grants space read in 1 space; u2 loses it [DOCS]",
	}, lossesOf(p, "group docs")); diff != "" {
		t.Errorf("docs deletion losses (-want +got):\n%s", diff)
	}
}

// TestPermissionImpactOnlyIfLimited: serve's reconciles
// (Options.PermissionImpactOnlyIfLimited) make no permission reads, a
// request per space of the site, unless max_space_access_lost asks for
// them; with it set they read and enforce it.
func TestPermissionImpactOnlyIfLimited(t *testing.T) {
	f := newImpactFixture(t, config.Safety{})
	dead, err := confluence.New(confluence.Options{BaseURL: "http://127.0.0.1:1", Token: "tok", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.in.Permissions = dead // a read would fail and say so
	f.in.Options.PermissionImpactOnlyIfLimited = true
	p, err := plan.Compute(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Impact != nil {
		t.Fatalf("impact read without max_space_access_lost: %+v", p.Impact)
	}
	f.in.Config.Safety.MaxSpaceAccessLost = config.Threshold{Set: true, Count: 100}
	f.in.Options.AllowMassChanges = false
	if _, err := plan.Compute(context.Background(), f.in); err == nil || !strings.Contains(err.Error(), "could not be read") {
		t.Fatalf("with max_space_access_lost set the reads were not made: %v", err)
	}
}
