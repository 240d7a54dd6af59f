package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// noChange fails the test when f moved the IdP's revision.
func noChange(t *testing.T, s store.Store, what string, f func()) {
	t.Helper()
	before, err := s.Revision(ctx(t), idpA)
	must(t, err)
	f()
	after, err := s.Revision(ctx(t), idpA)
	must(t, err)
	if after != before {
		t.Errorf("%s: revision moved from %d to %d", what, before, after)
	}
}

func testNoOpWrites(t *testing.T, s store.Store) {
	u := newUser(t, s, idpA, "a")
	g := newGroup(t, s, idpA, "g", users(u.ID)...)
	noChange(t, s, "ReplaceUser with the same user", func() {
		same := &store.User{IDP: idpA, ID: u.ID, UserName: u.UserName, ExternalID: u.ExternalID, Active: true,
			Attributes: json.RawMessage(`{ "userName" : "a" }`)} // same value, other spacing
		must(t, s.ReplaceUser(ctx(t), same, u.Version))
		if same.Version != u.Version || !same.Modified.Equal(u.Modified) {
			t.Errorf("a no-op ReplaceUser gave version %d modified %v, want %d %v", same.Version, same.Modified, u.Version, u.Modified)
		}
	})
	noChange(t, s, "ReplaceGroup with the same group", func() {
		same := &store.Group{IDP: idpA, ID: g.ID, DisplayName: g.DisplayName, ExternalID: g.ExternalID, Attributes: g.Attributes}
		must(t, s.ReplaceGroup(ctx(t), same, 0))
		if same.Version != g.Version {
			t.Errorf("a no-op ReplaceGroup gave version %d, want %d", same.Version, g.Version)
		}
	})
	noChange(t, s, "member no-ops", func() {
		must(t, s.AddMembers(ctx(t), idpA, g.ID, users(u.ID)))
		must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{"absent"}))
		must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users(u.ID)))
		_, changed, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Members: []store.MemberChange{
			{Op: store.AddMembers, Members: users(u.ID)},
			{Op: store.RemoveMatching, Match: func(m store.Member) (bool, error) { return m.ID == "absent", nil }},
			// A member added and removed again is no change either.
			{Op: store.AddMembers, Members: users("passing")},
			{Op: store.RemoveMembers, IDs: []string{"passing"}},
		}})
		must(t, err)
		if changed {
			t.Error("UpdateGroup of no-ops reported a change")
		}
	})
	got, err := s.GetGroup(ctx(t), idpA, g.ID)
	must(t, err)
	if got.Version != g.Version || !got.Modified.Equal(g.Modified) {
		t.Errorf("group after no-ops at version %d modified %v, want %d %v", got.Version, got.Modified, g.Version, g.Modified)
	}
	gu, err := s.GetUser(ctx(t), idpA, u.ID)
	must(t, err)
	if gu.Version != u.Version || !gu.Modified.Equal(u.Modified) {
		t.Errorf("user after a no-op at version %d modified %v, want %d %v", gu.Version, gu.Modified, u.Version, u.Modified)
	}
	// A real change still counts.
	before, _ := s.Revision(ctx(t), idpA)
	must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{u.ID}))
	if after, _ := s.Revision(ctx(t), idpA); after <= before {
		t.Errorf("removing a member left the revision at %d", after)
	}
}

var errFault = errors.New("injected fault")

func testUpdateGroupAtomic(t *testing.T, s store.Store) {
	a, b, c := newUser(t, s, idpA, "a"), newUser(t, s, idpA, "b"), newUser(t, s, idpA, "c")
	g := newGroup(t, s, idpA, "g", users(a.ID)...)
	rename := &store.Group{DisplayName: "renamed", Attributes: json.RawMessage(`{"displayName":"renamed"}`)}
	fault := store.MemberChange{Op: store.RemoveMatching, Match: func(store.Member) (bool, error) { return false, errFault }}
	noChange(t, s, "a failed UpdateGroup", func() {
		_, _, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Attributes: rename, Members: []store.MemberChange{
			{Op: store.AddMembers, Members: users(b.ID)},
			{Op: store.RemoveMembers, IDs: []string{a.ID}},
			fault,
			{Op: store.AddMembers, Members: users(c.ID)},
		}})
		wantErr(t, err, errFault, "UpdateGroup with a fault")
	})
	got, err := s.GetGroup(ctx(t), idpA, g.ID)
	must(t, err)
	if got.DisplayName != "g" || got.Version != g.Version {
		t.Errorf("after a failed update the group is %q at version %d, want %q at %d", got.DisplayName, got.Version, "g", g.Version)
	}
	if ids := memberIDs(t, s, idpA, g.ID); !slices.Equal(ids, []string{a.ID}) {
		t.Errorf("after a failed update the members are %v, want %v", ids, []string{a.ID})
	}
	// The same update without the fault applies whole, as one new version.
	ng, changed, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Attributes: rename, IfVersion: g.Version, Members: []store.MemberChange{
		{Op: store.AddMembers, Members: users(b.ID)},
		{Op: store.RemoveMembers, IDs: []string{a.ID}},
		{Op: store.AddMembers, Members: users(c.ID)},
	}})
	must(t, err)
	if !changed || ng.Version != g.Version+1 || ng.DisplayName != "renamed" {
		t.Errorf("UpdateGroup: changed %v, version %d, name %q; want true, %d, renamed", changed, ng.Version, ng.DisplayName, g.Version+1)
	}
	if ids := memberIDs(t, s, idpA, g.ID); !slices.Equal(ids, sorted(b.ID, c.ID)) {
		t.Errorf("members %v, want %v", ids, sorted(b.ID, c.ID))
	}
	_, _, err = s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{IfVersion: g.Version, Members: []store.MemberChange{{Op: store.ReplaceMembers}}})
	wantErr(t, err, store.ErrVersionMismatch, "UpdateGroup with a stale version")
	_, _, err = s.UpdateGroup(ctx(t), idpA, "nope", store.GroupUpdate{Members: []store.MemberChange{{Op: store.ReplaceMembers}}})
	wantErr(t, err, store.ErrNotFound, "UpdateGroup of an unknown group")
}

// testUpdateGroupAtomicConcurrent runs group updates side by side, every
// other one failing half-way, so that the stores batch them into shared
// transactions: a failed update leaves nothing, the others apply whole.
func testUpdateGroupAtomicConcurrent(t *testing.T, s store.Store) {
	const n = 16
	keep := newUser(t, s, idpA, "keep")
	groups := make([]*store.Group, n)
	for i := range groups {
		groups[i] = newGroup(t, s, idpA, fmt.Sprintf("g%02d", i), users(keep.ID)...)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changes := []store.MemberChange{
				{Op: store.AddMembers, Members: users(fmt.Sprintf("new-%02d", i))},
				{Op: store.RemoveMembers, IDs: []string{keep.ID}},
			}
			if i%2 == 1 {
				changes = append(changes, store.MemberChange{Op: store.RemoveMatching, Match: func(store.Member) (bool, error) { return false, errFault }})
			}
			_, _, errs[i] = s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Members: changes})
		}()
	}
	wg.Wait()
	for i, g := range groups {
		ids := memberIDs(t, s, idpA, g.ID)
		got, err := s.GetGroup(ctx(t), idpA, g.ID)
		must(t, err)
		if i%2 == 1 {
			if !errors.Is(errs[i], errFault) {
				t.Errorf("update %d: error %v, want the injected fault", i, errs[i])
			}
			if !slices.Equal(ids, []string{keep.ID}) || got.Version != g.Version {
				t.Errorf("failed update %d half-applied: members %v, version %d (was %d)", i, ids, got.Version, g.Version)
			}
			continue
		}
		must(t, errs[i])
		if want := []string{fmt.Sprintf("new-%02d", i)}; !slices.Equal(ids, want) || got.Version != g.Version+1 {
			t.Errorf("update %d: members %v version %d, want %v version %d", i, ids, got.Version, want, g.Version+1)
		}
	}
}
