package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// coverAll covers everything the IdP's writes touched so far.
func coverAll(t *testing.T, s store.Store, idp string) {
	t.Helper()
	rev, err := s.Revision(ctx(t), idp)
	must(t, err)
	must(t, s.Cover(ctx(t), idp, rev))
}

// pendingOf returns what is pending for idp (false when nothing is).
func pendingOf(t *testing.T, s store.Store, idp string, limit int) (plan.Touched, bool) {
	t.Helper()
	p, err := s.Pending(ctx(t), limit)
	must(t, err)
	got, ok := p[idp]
	return got, ok
}

// wantTouched compares what is pending for idpA with want (nil: nothing
// pending); Through must be the IdP's current revision, ids are compared
// as sets.
func wantTouched(t *testing.T, s store.Store, what string, want *plan.Touched) {
	t.Helper()
	got, ok := pendingOf(t, s, idpA, 0)
	if want == nil {
		if ok {
			t.Errorf("%s: pending %+v, want nothing", what, got)
		}
		return
	}
	if !ok {
		t.Errorf("%s: nothing pending, want %+v", what, *want)
		return
	}
	rev, err := s.Revision(ctx(t), idpA)
	must(t, err)
	w := *want
	w.Through = rev
	if diff := cmp.Diff(w, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s: pending (-want +got):\n%s", what, diff)
	}
}

// step covers what is pending, runs a write and checks what it touched.
func step(t *testing.T, s store.Store, what string, write func(), want *plan.Touched) {
	t.Helper()
	coverAll(t, s, idpA)
	write()
	wantTouched(t, s, what, want)
}

func touchedUsers(ids ...string) *plan.Touched  { return &plan.Touched{Users: ids} }
func touchedGroups(ids ...string) *plan.Touched { return &plan.Touched{Groups: ids} }

func testJournalUserWrites(t *testing.T, s store.Store) {
	if p, err := s.Pending(ctx(t), 0); err != nil || len(p) != 0 {
		t.Fatalf("a new store has pending changes: %v %v", p, err)
	}
	u := newUser(t, s, idpA, "a")
	wantTouched(t, s, "CreateUser", touchedUsers(u.ID))
	step(t, s, "ReplaceUser", func() {
		must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "a", Active: false}, 0))
	}, touchedUsers(u.ID))
	step(t, s, "ReplaceUser with the same user", func() {
		must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "a", Active: false}, 0))
	}, nil)
	step(t, s, "failed writes", func() {
		wantErr(t, s.CreateUser(ctx(t), &store.User{IDP: idpA, ID: "conflicting", UserName: "A"}), store.ErrConflict, "conflict")
		wantErr(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "b"}, 99), store.ErrVersionMismatch, "version")
		wantErr(t, s.DeleteUser(ctx(t), idpA, "absent"), store.ErrNotFound, "delete absent")
	}, nil)
	step(t, s, "DeleteUser", func() { must(t, s.DeleteUser(ctx(t), idpA, u.ID)) }, touchedUsers(u.ID))
	// A burst to one user is one id.
	coverAll(t, s, idpA)
	u = newUser(t, s, idpA, "burst")
	for i := range 5 {
		must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: fmt.Sprintf("burst%d", i)}, 0))
	}
	wantTouched(t, s, "burst", touchedUsers(u.ID))
	// Another IdP's writes are its own.
	coverAll(t, s, idpA)
	b := newUser(t, s, idpB, "b")
	if _, ok := pendingOf(t, s, idpA, 0); ok {
		t.Errorf("a write to %s is pending for %s", idpB, idpA)
	}
	if got, ok := pendingOf(t, s, idpB, 0); !ok || !slices.Equal(got.Users, []string{b.ID}) {
		t.Errorf("pending for %s: %+v, want user %s", idpB, got, b.ID)
	}
}

func testJournalGroupWrites(t *testing.T, s store.Store) {
	u := newUser(t, s, idpA, "u")
	v := newUser(t, s, idpA, "v")
	coverAll(t, s, idpA)
	g := newGroup(t, s, idpA, "g")
	// An empty group may still be created in Confluence: a full plan.
	wantTouched(t, s, "CreateGroup without members", &plan.Touched{Full: true})
	coverAll(t, s, idpA)
	g2 := newGroup(t, s, idpA, "g2", users(u.ID)...)
	wantTouched(t, s, "CreateGroup with members", touchedGroups(g2.ID))
	step(t, s, "AddMembers", func() { must(t, s.AddMembers(ctx(t), idpA, g.ID, users(u.ID))) }, touchedUsers(u.ID))
	step(t, s, "AddMembers again", func() { must(t, s.AddMembers(ctx(t), idpA, g.ID, users(u.ID))) }, nil)
	step(t, s, "RemoveMembers", func() { must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{u.ID, "absent"})) }, touchedUsers(u.ID))
	step(t, s, "RemoveMembers again", func() { must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{u.ID})) }, nil)
	n := newGroup(t, s, idpA, "nested")
	// Entra adds a nested group without a type: the stored group decides.
	step(t, s, "AddMembers of an untyped nested group", func() {
		must(t, s.AddMembers(ctx(t), idpA, g.ID, []store.Member{{ID: n.ID}}))
	}, touchedGroups(n.ID))
	step(t, s, "RemoveMembers of a nested group", func() { must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{n.ID})) }, touchedGroups(n.ID))
	step(t, s, "AddMembers of a typed nested group", func() {
		must(t, s.AddMembers(ctx(t), idpA, g.ID, []store.Member{{ID: n.ID, Type: "Group"}}))
	}, touchedGroups(n.ID))
	step(t, s, "ReplaceMembers", func() { must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users(u.ID, v.ID))) },
		&plan.Touched{Groups: []string{g.ID, n.ID}, Users: []string{u.ID, v.ID}})
	step(t, s, "ReplaceMembers with the same list", func() { must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users(v.ID, u.ID))) }, nil)
	step(t, s, "RemoveMatching", func() {
		_, _, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Members: []store.MemberChange{
			{Op: store.RemoveMatching, Match: func(m store.Member) (bool, error) { return m.ID == v.ID, nil }},
		}})
		must(t, err)
	}, &plan.Touched{Groups: []string{g.ID}, Users: []string{v.ID}})
	step(t, s, "a failed UpdateGroup", func() {
		_, _, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{Members: []store.MemberChange{
			{Op: store.AddMembers, Members: users(v.ID)},
			{Op: store.RemoveMatching, Match: func(store.Member) (bool, error) { return false, errFault }},
		}})
		if !errors.Is(err, errFault) {
			t.Fatalf("UpdateGroup: %v, want the injected fault", err)
		}
	}, nil)
	step(t, s, "ReplaceGroup of externalId and attributes", func() {
		must(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: g.ID, DisplayName: g.DisplayName, ExternalID: "other",
			Attributes: []byte(`{"displayName":"g","x":1}`)}, 0))
	}, nil)
	step(t, s, "a PATCH: attributes and members in one update", func() {
		_, _, err := s.UpdateGroup(ctx(t), idpA, g.ID, store.GroupUpdate{
			Attributes: &store.Group{DisplayName: g.DisplayName, ExternalID: "third"},
			Members:    []store.MemberChange{{Op: store.AddMembers, Members: users(v.ID)}},
		})
		must(t, err)
	}, touchedUsers(v.ID))
	step(t, s, "ReplaceGroup renaming", func() {
		must(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: g.ID, DisplayName: "renamed"}, 0))
	}, &plan.Touched{Full: true})
	step(t, s, "DeleteGroup", func() { must(t, s.DeleteGroup(ctx(t), idpA, g2.ID)) }, &plan.Touched{Full: true})
}

func testJournalCover(t *testing.T, s store.Store) {
	u1 := newUser(t, s, idpA, "u1")
	read, ok := pendingOf(t, s, idpA, 0)
	if !ok || read.Through == 0 {
		t.Fatalf("pending after a create: %+v", read)
	}
	// Writes after Pending was read and before Cover: to a new user, and
	// again to the one Pending listed. Covering what was read keeps both.
	u2 := newUser(t, s, idpA, "u2")
	must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u1.ID, UserName: "u1-renamed"}, 0))
	must(t, s.Cover(ctx(t), idpA, read.Through))
	wantTouched(t, s, "after covering an older revision", touchedUsers(u1.ID, u2.ID))
	latest, _ := pendingOf(t, s, idpA, 0)
	// The covered revision never moves back.
	must(t, s.Cover(ctx(t), idpA, latest.Through))
	must(t, s.Cover(ctx(t), idpA, read.Through))
	wantTouched(t, s, "after covering everything, then less", nil)
	// A revision beyond the current one covers only what exists.
	must(t, s.Cover(ctx(t), idpA, latest.Through+1000))
	u3 := newUser(t, s, idpA, "u3")
	wantTouched(t, s, "a write after covering a future revision", touchedUsers(u3.ID))
	// Covering an IdP never written, or nothing, is harmless.
	must(t, s.Cover(ctx(t), "never", 10))
	if err := s.Cover(ctx(t), "", 1); err == nil {
		t.Error("Cover of an empty IdP name succeeded")
	}
	if _, ok := pendingOf(t, s, "never", 0); ok {
		t.Error("an IdP never written has pending changes")
	}
}

func testJournalLimit(t *testing.T, s store.Store) {
	var ids []string
	for i := range 5 {
		ids = append(ids, newUser(t, s, idpA, fmt.Sprintf("u%d", i)).ID)
	}
	rev, err := s.Revision(ctx(t), idpA)
	must(t, err)
	got, _ := pendingOf(t, s, idpA, 3)
	if !got.Full || len(got.Users) > 3 || got.Through != rev {
		t.Errorf("Pending(3) of 5 users: %+v, want Full, at most 3 ids, through %d", got, rev)
	}
	for _, id := range got.Users {
		if !slices.Contains(ids, id) {
			t.Errorf("Pending(3) lists %s, not one of the users written", id)
		}
	}
	got, _ = pendingOf(t, s, idpA, 5)
	if got.Full || !slices.Equal(sorted(got.Users...), sorted(ids...)) || got.Through != rev {
		t.Errorf("Pending(5) of 5 users: %+v, want the 5 ids %v through %d", got, ids, rev)
	}
	// A full mark is reported whatever the limit, with the ids.
	g := newGroup(t, s, idpA, "g")
	must(t, s.DeleteGroup(ctx(t), idpA, g.ID))
	got, _ = pendingOf(t, s, idpA, 10)
	if rev, _ = s.Revision(ctx(t), idpA); !got.Full || len(got.Users) != 5 || got.Through != rev {
		t.Errorf("Pending(10) after a delete: %+v, want Full with 5 ids through %d", got, rev)
	}
	// Covering a full run's Through clears the mark.
	must(t, s.Cover(ctx(t), idpA, got.Through))
	wantTouched(t, s, "after covering a full run", nil)
}

// testJournalConcurrent runs JournalUnderLoad on one store.
func testJournalConcurrent(t *testing.T, s store.Store) { JournalUnderLoad(t, []store.Store{s, s}, s) }

// JournalUnderLoad has each writer create users (each id written once)
// and add them to a group, while the coverer loops over Pending and Cover
// as a reconciler does. Every id written must be listed by some Pending:
// a touch that a Cover hid or deleted before any Pending saw it is lost.
// The writers may be stores sharing one database with the coverer (serve
// replicas).
func JournalUnderLoad(t *testing.T, writers []store.Store, coverer store.Store) {
	const perWriter = 60
	g := newGroup(t, writers[0], idpA, "everyone")
	var written sync.Map
	var done atomic.Bool
	var wg sync.WaitGroup
	for w, s := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				u := &store.User{IDP: idpA, UserName: fmt.Sprintf("w%d-u%d", w, i), Active: true}
				if err := s.CreateUser(ctx(t), u); err != nil {
					t.Error(err)
					return
				}
				written.Store(u.ID, true)
				if err := s.AddMembers(ctx(t), idpA, g.ID, users(u.ID)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	seen := map[string]bool{}
	covers := 0
	coverOnce := func() bool {
		p, err := coverer.Pending(ctx(t), 0)
		must(t, err)
		got, ok := p[idpA]
		if !ok {
			return false
		}
		for _, id := range got.Users {
			seen[id] = true
		}
		must(t, coverer.Cover(ctx(t), idpA, got.Through))
		covers++
		return true
	}
	go func() { wg.Wait(); done.Store(true) }()
	for !done.Load() {
		if !coverOnce() {
			time.Sleep(time.Millisecond)
		}
	}
	coverOnce()
	n := 0
	written.Range(func(id, _ any) bool {
		n++
		if !seen[id.(string)] {
			t.Errorf("user %s was written but no Pending listed it", id)
		}
		return true
	})
	if n != len(writers)*perWriter {
		t.Fatalf("%d users written, want %d", n, len(writers)*perWriter)
	}
	t.Logf("%d writes, %d covers", 2*n, covers)
	if p, err := coverer.Pending(ctx(t), 0); err != nil || len(p) != 0 {
		t.Errorf("pending after the last cover: %v %v", p, err)
	}
}
