package storetest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// confluenceModel is the recorded Confluence state as the test expects it.
type confluenceModel struct {
	caller string
	users  map[string]plan.ActualUser
	groups map[string]map[string]bool
}

func modelOf(a *plan.Actual) *confluenceModel {
	m := &confluenceModel{caller: a.Caller, users: map[string]plan.ActualUser{}, groups: map[string]map[string]bool{}}
	for _, u := range a.Users {
		m.users[u.Username] = u
	}
	for _, g := range a.Groups {
		m.groups[g.Name] = map[string]bool{}
		for _, u := range g.Members {
			m.groups[g.Name][u] = true
		}
	}
	return m
}

// apply applies edits in the documented order.
func (m *confluenceModel) apply(e plan.ConfluenceEdits) {
	for _, u := range e.DeleteUsers {
		delete(m.users, u)
		for _, members := range m.groups {
			delete(members, u)
		}
	}
	for _, u := range e.PutUsers {
		m.users[u.Username] = u
	}
	for _, g := range e.DeleteGroups {
		delete(m.groups, g)
	}
	for _, g := range e.PutGroups {
		if m.groups[g] == nil {
			m.groups[g] = map[string]bool{}
		}
	}
	for _, p := range e.RemoveMembers {
		delete(m.groups[p.Group], p.Username)
	}
	for _, p := range e.AddMembers {
		if m.groups[p.Group] == nil {
			m.groups[p.Group] = map[string]bool{}
		}
		m.groups[p.Group][p.Username] = true
	}
}

// actual is the model sorted as Confluence's Read returns it.
func (m *confluenceModel) actual() *plan.Actual {
	a := &plan.Actual{Caller: m.caller}
	for _, name := range slices.Sorted(maps.Keys(m.users)) {
		a.Users = append(a.Users, m.users[name])
	}
	for _, name := range slices.Sorted(maps.Keys(m.groups)) {
		a.Groups = append(a.Groups, plan.ActualGroup{Name: name, Members: slices.Sorted(maps.Keys(m.groups[name]))})
	}
	return a
}

// sampleConfluence is a state given out of order (the store sorts it),
// with an empty group and a group larger than one insert statement.
func sampleConfluence() *plan.Actual {
	a := &plan.Actual{Caller: "confsync-bot"}
	for i := 2499; i >= 0; i-- {
		a.Users = append(a.Users, plan.ActualUser{Username: fmt.Sprintf("u%04d", i), Key: fmt.Sprintf("key-%d", i),
			DisplayName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@example.com", i), Active: i%7 != 0})
	}
	everyone := plan.ActualGroup{Name: "everyone"}
	for _, u := range a.Users {
		everyone.Members = append(everyone.Members, u.Username)
	}
	a.Groups = []plan.ActualGroup{
		{Name: "devs", Members: []string{"u0003", "u0001", "u0002"}},
		everyone,
		{Name: "empty"},
		{Name: "admins", Members: []string{"u0001", "not-listed"}}, // a member the user list lacks
	}
	return a
}

func wantConfluence(t *testing.T, s store.Store, what string, want *plan.Actual, wantAt time.Time) {
	t.Helper()
	got, at, ok, err := s.ConfluenceState(ctx(t))
	must(t, err)
	if !ok {
		t.Fatalf("%s: ConfluenceState says no full read was recorded", what)
	}
	if !at.Equal(wantAt) {
		t.Errorf("%s: read at %v, want %v", what, at, wantAt)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: ConfluenceState (-want +got):\n%s", what, diff)
	}
}

// testConfluenceCacheEmpty: before a full read there is no state, and
// edits do nothing.
func testConfluenceCacheEmpty(t *testing.T, s store.Store) {
	check := func(what string) {
		t.Helper()
		a, at, ok, err := s.ConfluenceState(ctx(t))
		must(t, err)
		if ok || a != nil || !at.IsZero() {
			t.Errorf("%s: ConfluenceState = %+v, %v, %v; want nothing", what, a, at, ok)
		}
	}
	check("a fresh store")
	must(t, s.EditConfluenceState(ctx(t), plan.ConfluenceEdits{
		PutUsers:   []plan.ActualUser{{Username: "a", Active: true}},
		PutGroups:  []string{"g"},
		AddMembers: []plan.MemberPair{{Username: "a", Group: "g"}},
	}, time.Now()))
	check("after edits without a full read")
	if err := s.ReplaceConfluenceState(ctx(t), nil, time.Now()); err == nil {
		t.Error("ReplaceConfluenceState(nil) succeeded")
	}
	check("after a refused replace")
}

// testConfluenceCacheReplace: a full read reads back sorted and equal; a
// second one replaces all of the first; bad input is refused whole.
func testConfluenceCacheReplace(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 7, 2, 9, 0, 0, 0, time.UTC)
	first := sampleConfluence()
	must(t, s.ReplaceConfluenceState(ctx(t), first, t0))
	wantConfluence(t, s, "first read", modelOf(first).actual(), t0)

	second := &plan.Actual{Caller: "other-bot", Users: []plan.ActualUser{{Username: "u0001", Key: "k1", DisplayName: "Renamed"}},
		Groups: []plan.ActualGroup{{Name: "devs", Members: []string{"u0001"}}, {Name: "new"}}}
	t1 := t0.Add(time.Hour)
	must(t, s.ReplaceConfluenceState(ctx(t), second, t1))
	wantConfluence(t, s, "second read", modelOf(second).actual(), t1)

	// A read with the same caller that changed little is written as the
	// edits from the recorded state; it reads back as a whole replace would.
	third := &plan.Actual{Caller: "other-bot", Users: []plan.ActualUser{{Username: "u0001", Key: "k1", DisplayName: "Renamed again", Active: true},
		{Username: "u0002", Key: "k2"}},
		Groups: []plan.ActualGroup{{Name: "devs", Members: []string{"u0002"}}, {Name: "ops", Members: []string{"u0001", "u0002"}}}}
	for i := range 40 { // enough rows that the change is small
		third.Users = append(third.Users, plan.ActualUser{Username: fmt.Sprintf("x%03d", i), Key: fmt.Sprintf("kx%d", i)})
	}
	must(t, s.ReplaceConfluenceState(ctx(t), third, t1.Add(time.Minute)))
	fourth := &plan.Actual{Caller: "other-bot", Users: slices.Clone(third.Users[1:]),
		Groups: []plan.ActualGroup{{Name: "devs", Members: []string{"u0002", "x001"}}, {Name: "ops", Members: []string{"u0002"}}}}
	if e := plan.ConfluenceEditsBetween(third, fourth); e.Size() == 0 {
		t.Fatal("ConfluenceEditsBetween found no edits between two different reads")
	}
	m := modelOf(third)
	m.apply(plan.ConfluenceEditsBetween(third, fourth))
	if diff := cmp.Diff(modelOf(fourth).actual(), m.actual(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("the edits between two reads, applied, differ from the second read (-want +got):\n%s", diff)
	}
	t2 := t1.Add(2 * time.Minute)
	must(t, s.ReplaceConfluenceState(ctx(t), fourth, t2))
	wantConfluence(t, s, "a read written as edits", modelOf(fourth).actual(), t2)
	second = fourth
	t1 = t2

	for name, bad := range map[string]*plan.Actual{
		"nameless user":   {Users: []plan.ActualUser{{Key: "k"}}},
		"nameless group":  {Groups: []plan.ActualGroup{{Members: []string{"a"}}}},
		"nameless member": {Groups: []plan.ActualGroup{{Name: "g", Members: []string{""}}}},
	} {
		if err := s.ReplaceConfluenceState(ctx(t), bad, t1.Add(time.Hour)); err == nil {
			t.Errorf("ReplaceConfluenceState with a %s succeeded", name)
		}
	}
	wantConfluence(t, s, "after refused replaces", modelOf(second).actual(), t1)
}

// testConfluenceCacheEdits: users and groups put and deleted (deletes
// taking their memberships along), members added and removed
// idempotently; the full read's time stays.
func testConfluenceCacheEdits(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 7, 3, 9, 0, 0, 0, time.UTC)
	base := &plan.Actual{Caller: "bot",
		Users: []plan.ActualUser{{Username: "ann", Key: "k-ann", Active: true}, {Username: "bob", Key: "k-bob", Active: true},
			{Username: "cid", Key: "k-cid", Active: true}},
		Groups: []plan.ActualGroup{{Name: "devs", Members: []string{"ann", "bob", "cid"}}, {Name: "ops", Members: []string{"bob", "cid"}},
			{Name: "old", Members: []string{"ann", "cid"}}},
	}
	must(t, s.ReplaceConfluenceState(ctx(t), base, t0))
	model := modelOf(base)
	edits := []plan.ConfluenceEdits{
		{DeleteUsers: []string{"bob", "nobody"}},
		{PutUsers: []plan.ActualUser{{Username: "dee", Key: "k-dee", DisplayName: "Dee", Email: "dee@example.com", Active: true},
			{Username: "ann", Key: "k-ann", DisplayName: "Ann Renamed", Active: false}}},
		{DeleteGroups: []string{"old", "absent"}},
		{PutGroups: []string{"new", "devs"}}, // devs keeps its members
		{AddMembers: []plan.MemberPair{{Username: "dee", Group: "devs"}, {Username: "ann", Group: "devs"}, {Username: "dee", Group: "unrecorded"}}},
		{RemoveMembers: []plan.MemberPair{{Username: "cid", Group: "ops"}, {Username: "ann", Group: "ops"}, {Username: "x", Group: "absent"}}},
		// All kinds at once, in the documented order.
		{DeleteUsers: []string{"cid"}, PutUsers: []plan.ActualUser{{Username: "cid", Key: "k-cid2", Active: true}},
			DeleteGroups: []string{"new"}, PutGroups: []string{"new"},
			RemoveMembers: []plan.MemberPair{{Username: "dee", Group: "devs"}}, AddMembers: []plan.MemberPair{{Username: "dee", Group: "devs"}, {Username: "cid", Group: "new"}}},
	}
	for i, e := range edits {
		must(t, s.EditConfluenceState(ctx(t), e, t0.Add(time.Duration(i+1)*time.Minute)))
		model.apply(e)
		wantConfluence(t, s, fmt.Sprintf("edit %d", i), model.actual(), t0)
		// Applied again, each edit changes nothing more.
		must(t, s.EditConfluenceState(ctx(t), e, t0.Add(time.Duration(i+1)*time.Minute)))
		wantConfluence(t, s, fmt.Sprintf("edit %d again", i), model.actual(), t0)
	}
	if err := s.EditConfluenceState(ctx(t), plan.ConfluenceEdits{AddMembers: []plan.MemberPair{{Username: "ann"}}}, t0); err == nil {
		t.Error("an edit adding a member to a nameless group succeeded")
	}
	wantConfluence(t, s, "after a refused edit", model.actual(), t0)
}
