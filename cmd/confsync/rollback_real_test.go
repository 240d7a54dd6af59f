package main

import (
	"bytes"
	"context"
	"errors"
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

// rollbackFixture is the emulator over HTTP, the real client and a SQLite
// store after a first apply (u1..u3 in eng, u1 and u2 in docs) and a
// second one, the run to roll back, that creates u4 in eng, renames u1,
// disables u3, removes u2 from docs and creates the group ops with u1.
type rollbackFixture struct {
	client *confluence.Client
	st     *sqlstore.Store
	src    *plantest.Source
	in     plan.Inputs
	before string // Confluence after the first apply, as dumped
	runID  string // the second apply
}

func rollbackSnapshot(users []plan.SourceUser, eng, docs, ops []string) plan.Snapshot {
	s := plan.Snapshot{Users: users, Groups: []plan.SourceGroup{
		{ID: "g-eng", Name: "Eng", MemberIDs: eng}, {ID: "g-docs", Name: "Docs", MemberIDs: docs}}}
	if ops != nil {
		s.Groups = append(s.Groups, plan.SourceGroup{ID: "g-ops", Name: "Ops", MemberIDs: ops})
	}
	return s
}

func renamed(u plan.SourceUser, display string) plan.SourceUser {
	u.Attributes = map[string]string{"userName": u.Attributes["userName"], `emails[type eq "work"].value`: u.Attributes[`emails[type eq "work"].value`], "displayName": display}
	return u
}

func newRollbackFixture(t *testing.T) *rollbackFixture {
	t.Helper()
	_, url := emulator.Start(t, emulator.Options{AdminToken: "tok"})
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
	cfg := &config.Config{Hash: "h", IDPs: []*config.IDP{idp},
		Confluence: &config.Confluence{URL: url, ProtectedUsers: []string{"admin"}, ProtectedGroups: []string{"confluence-administrators"}}}
	src := &plantest.Source{}
	f := &rollbackFixture{client: client, st: st, src: src, in: plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": src},
		Target: client, State: st, Options: plan.Options{AllowMassChanges: true}}}
	u1, u2, u3, u4 := impactUser("u1", true), impactUser("u2", true), impactUser("u3", true), impactUser("u4", true)
	src.Set(rollbackSnapshot([]plan.SourceUser{u1, u2, u3}, []string{"id-u1", "id-u2", "id-u3"}, []string{"id-u1", "id-u2"}, nil))
	f.sync(t)
	f.before = f.dump(t)
	u3.Active = false
	src.Set(rollbackSnapshot([]plan.SourceUser{renamed(u1, "User One"), u2, u3, u4},
		[]string{"id-u1", "id-u2", "id-u3", "id-u4"}, []string{"id-u1"}, []string{"id-u1"}))
	f.runID = f.sync(t)
	return f
}

// sync plans and applies the source as it is; it returns the run's id.
func (f *rollbackFixture) sync(t *testing.T) string {
	t.Helper()
	p, err := plan.Compute(context.Background(), f.in)
	if err != nil {
		t.Fatal(err)
	}
	return f.apply(t, p)
}

func (f *rollbackFixture) apply(t *testing.T, p *plan.Plan) string {
	t.Helper()
	res, err := plan.Apply(context.Background(), p, f.client, f.st, plan.ApplyOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	return res.Run.ID
}

// rollback computes the rollback of run id with the fixture's engine.
func (f *rollbackFixture) rollback(t *testing.T, id string) (*plan.Plan, error) {
	t.Helper()
	runs, err := f.st.Runs(context.Background(), maxHistory)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := plan.NewRollback(runs, id)
	if err != nil {
		t.Fatal(err)
	}
	in := f.in
	in.Rollback = rb
	in.Options.AllowMassChanges = false
	return plan.Compute(context.Background(), in)
}

// dump is Confluence's users and groups, one line each.
func (f *rollbackFixture) dump(t *testing.T) string {
	t.Helper()
	a, err := f.client.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return plantest.Describe(a)
}

func planText(t *testing.T, p *plan.Plan) string {
	t.Helper()
	var b bytes.Buffer
	if err := views.Human(&b, p, views.HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRollbackRestoresConfluence applies the rollback of the second run
// and finds Confluence as it was before it, but for u4, which the run
// created and the rollback disables (it never deletes an account).
func TestRollbackRestoresConfluence(t *testing.T) {
	f := newRollbackFixture(t)
	if f.dump(t) == f.before {
		t.Fatal("the run to roll back changed nothing")
	}
	p, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	text := planText(t, p)
	t.Logf("rollback plan:\n%s", text)
	if p.RollbackOf != f.runID || !strings.Contains(text, "This plan rolls back run "+f.runID) {
		t.Errorf("the plan does not say it rolls back %s (RollbackOf %q)", f.runID, p.RollbackOf)
	}
	var got []string
	for i := range p.Changes {
		got = append(got, p.Changes[i].Action.String()+" "+p.Changes[i].Object())
	}
	want := []string{"update user u1", "enable user u3", "add membership u2 -> docs",
		"remove membership u1 -> ops", "remove membership u4 -> eng", "disable user u4", "delete group ops"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rollback changes (-want +got):\n%s", diff)
	}
	f.apply(t, p)
	after := f.dump(t)
	var filtered []string
	for _, l := range strings.Split(after, "\n") {
		if strings.HasPrefix(l, "user u4 ") {
			if !strings.HasSuffix(l, "active=false") {
				t.Errorf("u4, created by the run, is not disabled: %s", l)
			}
			continue
		}
		filtered = append(filtered, l)
	}
	if diff := cmp.Diff(f.before, strings.Join(filtered, "\n")); diff != "" {
		t.Errorf("Confluence after the rollback (-before the run +after the rollback):\n%s", diff)
	}
	// Nothing is left to roll back: the same rollback again plans nothing,
	// its changes are all "changed by" the rollback run.
	again, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Empty() {
		t.Errorf("a second rollback plans %d changes:\n%s", len(again.Changes), planText(t, again))
	}
}

// TestRollbackSkipsWhatLaterRunsChanged: a third run renames u1 again and
// puts u2 back in docs; the rollback of the second run leaves u1 and that
// membership alone, with a notice each, and reverses the rest.
func TestRollbackSkipsWhatLaterRunsChanged(t *testing.T) {
	f := newRollbackFixture(t)
	u3 := impactUser("u3", false)
	third := f.src
	third.Set(rollbackSnapshot([]plan.SourceUser{renamed(impactUser("u1", true), "User Uno"), impactUser("u2", true), u3, impactUser("u4", true)},
		[]string{"id-u1", "id-u2", "id-u3", "id-u4"}, []string{"id-u1", "id-u2"}, []string{"id-u1"}))
	later := f.sync(t)
	p, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	text := planText(t, p)
	t.Logf("rollback plan:\n%s", text)
	for _, obj := range []string{"user u1", "membership u2 -> docs"} {
		want := "no longer applies: " + obj + " was changed by run " + later
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not say %q", want)
		}
		for i := range p.Changes {
			if p.Changes[i].Object() == obj {
				t.Errorf("the rollback still plans %s %s", p.Changes[i].Action, obj)
			}
		}
	}
	var got []string
	for i := range p.Changes {
		got = append(got, p.Changes[i].Action.String()+" "+p.Changes[i].Object())
	}
	want := []string{"enable user u3", "remove membership u1 -> ops", "remove membership u4 -> eng", "disable user u4", "delete group ops"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rollback changes (-want +got):\n%s", diff)
	}
	f.apply(t, p)
	dump := f.dump(t)
	for _, want := range []string{`user u1 "User Uno"`, "user u3 \"User u3\" u3@example.com active=true", "group docs: u1 u2"} {
		if !strings.Contains(dump, want) {
			t.Errorf("Confluence after the rollback lacks %q:\n%s", want, dump)
		}
	}
	if strings.Contains(dump, "group ops") {
		t.Errorf("the group the run created survived the rollback:\n%s", dump)
	}
}

// TestRollbackSafetyThresholds: the rollback disables u4 and removes two
// memberships; thresholds below that refuse it like any plan.
func TestRollbackSafetyThresholds(t *testing.T) {
	f := newRollbackFixture(t)
	f.in.Config.Safety = config.Safety{MaxDeactivations: config.Threshold{Set: true, Count: 0},
		MaxMembershipRemovals: config.Threshold{Set: true, Count: 1}}
	p, err := f.rollback(t, f.runID)
	var se *plan.SafetyError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *plan.SafetyError", err)
	}
	t.Logf("refusal: %v", err)
	for _, want := range []string{"disable 1 of", "remove 2 of"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if p == nil || p.RollbackOf != f.runID {
		t.Errorf("the refused plan is not returned for display")
	}
}

// TestRollbackRefusesProtected: a rollback never touches a protected user
// even if the run did (here: the protected list grew since).
func TestRollbackRefusesProtected(t *testing.T) {
	f := newRollbackFixture(t)
	f.in.Config.Confluence.ProtectedUsers = append(f.in.Config.Confluence.ProtectedUsers, "u3")
	p, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Changes {
		if p.Changes[i].User == "u3" {
			t.Errorf("the rollback plans %s %s for a protected user", p.Changes[i].Action, p.Changes[i].Object())
		}
	}
	if !strings.Contains(planText(t, p), "is protected: the rollback leaves it alone") {
		t.Errorf("no protected notice")
	}
}

// TestRollbackUnknownRun names what is wrong.
func TestRollbackUnknownRun(t *testing.T) {
	_, err := plan.NewRollback(nil, "nope")
	if err == nil || !strings.Contains(err.Error(), `no run "nope" in the audit log`) {
		t.Errorf("err = %v", err)
	}
	_, err = plan.NewRollback([]plan.Run{{ID: "r1", Outcome: "refused"}}, "r1")
	if !errors.Is(err, plan.ErrNothingToRollBack) {
		t.Errorf("err = %v, want ErrNothingToRollBack", err)
	}
}

// TestRollbackRecreatesDeletedUser: with users.delete, a run deletes u2
// (gone from the IdP); its rollback creates u2 again, in the groups it
// was in, and Confluence is as before the run.
func TestRollbackRecreatesDeletedUser(t *testing.T) {
	f := newRollbackFixture(t)
	f.in.Config.IDPs[0].Users.Delete = true
	before := f.dump(t)
	f.src.Set(rollbackSnapshot([]plan.SourceUser{renamed(impactUser("u1", true), "User One"), impactUser("u3", false), impactUser("u4", true)},
		[]string{"id-u1", "id-u3", "id-u4"}, []string{"id-u1"}, []string{"id-u1"}))
	run := f.sync(t)
	if strings.Contains(f.dump(t), "user u2 ") {
		t.Fatal("the run did not delete u2")
	}
	p, err := f.rollback(t, run)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback plan:\n%s", planText(t, p))
	f.apply(t, p)
	// u3 was deleted too (inactive, users.delete = true): it comes back
	// disabled, as it was.
	if diff := cmp.Diff(before, f.dump(t)); diff != "" {
		t.Errorf("Confluence after the rollback (-before the run +after):\n%s", diff)
	}
}

// TestRollbackPlanStale: a saved rollback plan recomputed after a later
// run changed one of the run's objects is stale, and says why.
func TestRollbackPlanStale(t *testing.T) {
	f := newRollbackFixture(t)
	saved, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	same, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Stale(saved, same); err != nil {
		t.Fatalf("a rollback recomputed from the same state is stale: %v", err)
	}
	f.src.Set(rollbackSnapshot([]plan.SourceUser{renamed(impactUser("u1", true), "User Uno"), impactUser("u2", true), impactUser("u3", false), impactUser("u4", true)},
		[]string{"id-u1", "id-u2", "id-u3", "id-u4"}, []string{"id-u1"}, []string{"id-u1"}))
	f.sync(t)
	now, err := f.rollback(t, f.runID)
	if err != nil {
		t.Fatal(err)
	}
	err = plan.Stale(saved, now)
	if err == nil || !strings.Contains(err.Error(), "what the rollback reverses changed (a later run changed objects of run "+f.runID+")") {
		t.Fatalf("Stale = %v", err)
	}
	t.Logf("stale: %v", err)
}
