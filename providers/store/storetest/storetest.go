// Package storetest is the conformance suite every store.Store backend must
// pass: SQLite and PostgreSQL run the same tests.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// Run runs the suite. open returns a fresh, empty store for one subtest and
// arranges for it to be closed when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"UserCreateGet", testUserCreateGet},
		{"UserUniqueness", testUserUniqueness},
		{"UserNotFound", testUserNotFound},
		{"UserReplaceIfMatch", testUserReplaceIfMatch},
		{"UserFind", testUserFind},
		{"UserPaging", testUserPaging},
		{"UserDeleteRemovesMemberships", testUserDeleteRemovesMemberships},
		{"GroupCreateGet", testGroupCreateGet},
		{"GroupUniqueness", testGroupUniqueness},
		{"GroupNotFound", testGroupNotFound},
		{"GroupReplaceIfMatch", testGroupReplaceIfMatch},
		{"GroupFindAndPaging", testGroupFindAndPaging},
		{"GroupDelete", testGroupDelete},
		{"MembersAddRemoveIdempotent", testMembersAddRemove},
		{"MembersReplace", testMembersReplace},
		{"MembersPaging", testMembersPaging},
		{"GroupsOf", testGroupsOf},
		{"MembershipsStream", testMembershipsStream},
		{"Revision", testRevision},
		{"Tokens", testTokens},
		{"OwnershipRoundTrip", testOwnership},
		{"DisabledTimeKept", testDisabledTime},
		{"SourceReads", testSourceReads},
		{"RequestCounts", testRequestCounts},
		{"Lock", testLock},
		{"LockExpiry", testLockExpiry},
		{"LockContention", testLockContention},
		{"AuditRuns", testAuditRuns},
		{"SourceHealth", testSourceHealth},
		{"RunOfPlan", testRunOfPlan},
		{"SourceCursors", testSourceCursors},
		{"SpacePermissions", testSpacePermissions},
		{"ScopedOwnership", testScopedOwnership},
		{"ConfluenceCacheEmpty", testConfluenceCacheEmpty},
		{"ConfluenceCacheReplace", testConfluenceCacheReplace},
		{"ConfluenceCacheEdits", testConfluenceCacheEdits},
		{"ConcurrentAddMembers", testConcurrentAddMembers},
		{"ConcurrentCreateUsers", testConcurrentCreateUsers},
		{"NoOpWrites", testNoOpWrites},
		{"UpdateGroupAtomic", testUpdateGroupAtomic},
		{"UpdateGroupAtomicConcurrent", testUpdateGroupAtomicConcurrent},
		{"JournalUserWrites", testJournalUserWrites},
		{"JournalGroupWrites", testJournalGroupWrites},
		{"JournalCover", testJournalCover},
		{"JournalLimit", testJournalLimit},
		{"JournalConcurrent", testJournalConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

const (
	idpA = "entra"
	idpB = "okta"
)

func ctx(t *testing.T) context.Context { return t.Context() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func newUser(t *testing.T, s store.Store, idp, name string) *store.User {
	t.Helper()
	u := &store.User{IDP: idp, UserName: name, ExternalID: "ext-" + name, Active: true,
		Attributes: json.RawMessage(`{"userName":"` + name + `"}`)}
	must(t, s.CreateUser(ctx(t), u))
	return u
}

func newGroup(t *testing.T, s store.Store, idp, name string, members ...store.Member) *store.Group {
	t.Helper()
	g := &store.Group{IDP: idp, DisplayName: name, ExternalID: "ext-" + name, Attributes: json.RawMessage(`{"displayName":"` + name + `"}`)}
	must(t, s.CreateGroup(ctx(t), g, members))
	return g
}

func users(ids ...string) []store.Member {
	m := make([]store.Member, len(ids))
	for i, id := range ids {
		m[i] = store.Member{ID: id, Type: "User"}
	}
	return m
}

func memberIDs(t *testing.T, s store.Store, idp, groupID string) []string {
	t.Helper()
	ms, err := s.ListMembers(ctx(t), idp, groupID, store.Page{})
	must(t, err)
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

func testPing(t *testing.T, s store.Store) {
	must(t, s.Ping(ctx(t)))
}

func testUserCreateGet(t *testing.T, s store.Store) {
	u := &store.User{IDP: idpA, UserName: "Ada.Lovelace@example.com", ExternalID: "e-1", Active: true,
		Attributes: json.RawMessage(`{"name":{"givenName":"Ada"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}}`)}
	before := time.Now().Add(-time.Second)
	must(t, s.CreateUser(ctx(t), u))
	if u.ID == "" || u.Version != 1 || u.Created.Before(before) || !u.Modified.Equal(u.Created) {
		t.Fatalf("create did not fill id, version, created, modified: %+v", u)
	}
	got, err := s.GetUser(ctx(t), idpA, u.ID)
	must(t, err)
	if diff := cmp.Diff(u, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("GetUser differs from what was created (-want +got):\n%s", diff)
	}
	// A caller-chosen id is kept.
	v := &store.User{IDP: idpA, ID: "fixed-id", UserName: "bob"}
	must(t, s.CreateUser(ctx(t), v))
	if v.ID != "fixed-id" {
		t.Errorf("id = %q, want fixed-id", v.ID)
	}
	got, err = s.GetUser(ctx(t), idpA, "fixed-id")
	must(t, err)
	if got.Active || got.UserName != "bob" {
		t.Errorf("got %+v", got)
	}
	// The same id under another IdP is another user.
	if _, err := s.GetUser(ctx(t), idpB, "fixed-id"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user visible from another IdP: %v", err)
	}
	// Invalid input is an error, not a panic.
	if err := s.CreateUser(ctx(t), &store.User{IDP: idpA}); err == nil {
		t.Error("user without userName accepted")
	}
	if err := s.CreateUser(ctx(t), &store.User{IDP: idpA, UserName: "x", Attributes: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid JSON attributes accepted")
	}
}

func testUserUniqueness(t *testing.T, s store.Store) {
	newUser(t, s, idpA, "Jane@Example.com")
	tests := []struct {
		idp, name string
		want      error
	}{
		{idpA, "Jane@Example.com", store.ErrConflict},
		{idpA, "jane@example.com", store.ErrConflict},
		{idpA, "JANE@EXAMPLE.COM", store.ErrConflict},
		{idpB, "jane@example.com", nil},
		{idpA, "jane2@example.com", nil},
	}
	for _, tc := range tests {
		err := s.CreateUser(ctx(t), &store.User{IDP: tc.idp, UserName: tc.name})
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("create %s/%s: err %v, want %v", tc.idp, tc.name, err, tc.want)
		}
	}
	n, err := s.CountUsers(ctx(t), idpA)
	must(t, err)
	if n != 2 {
		t.Errorf("CountUsers = %d, want 2", n)
	}
	// The same id twice is a conflict too.
	dup := &store.User{IDP: idpA, ID: "same", UserName: "one"}
	must(t, s.CreateUser(ctx(t), dup))
	wantErr(t, s.CreateUser(ctx(t), &store.User{IDP: idpA, ID: "same", UserName: "two"}), store.ErrConflict, "duplicate id")
}

func testUserNotFound(t *testing.T, s store.Store) {
	_, err := s.GetUser(ctx(t), idpA, "nope")
	wantErr(t, err, store.ErrNotFound, "GetUser")
	wantErr(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: "nope", UserName: "x"}, 0), store.ErrNotFound, "ReplaceUser")
	wantErr(t, s.DeleteUser(ctx(t), idpA, "nope"), store.ErrNotFound, "DeleteUser")
	found, err := s.FindUsers(ctx(t), idpA, store.Lookup{Attr: "userName", Value: "nobody"})
	must(t, err)
	if len(found) != 0 {
		t.Errorf("FindUsers on empty store = %v", found)
	}
}

func testUserReplaceIfMatch(t *testing.T, s store.Store) {
	u := newUser(t, s, idpA, "alice")
	created := u.Created
	newUser(t, s, idpA, "carol")

	r := &store.User{IDP: idpA, ID: u.ID, UserName: "Alice", ExternalID: "x2", Active: false, Attributes: json.RawMessage(`{"a":1}`)}
	must(t, s.ReplaceUser(ctx(t), r, 1))
	if r.Version != 2 || !r.Created.Equal(created) {
		t.Errorf("after replace: version %d created %v, want 2 and %v", r.Version, r.Created, created)
	}
	wantErr(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "alice"}, 1), store.ErrVersionMismatch, "stale If-Match")
	got, err := s.GetUser(ctx(t), idpA, u.ID)
	must(t, err)
	if diff := cmp.Diff(r, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("stale replace changed the user (-want +got):\n%s", diff)
	}
	must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "alice"}, 0))
	wantErr(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "CAROL"}, 0), store.ErrConflict, "rename onto another user")
	got, err = s.GetUser(ctx(t), idpA, u.ID)
	must(t, err)
	if got.Version != 3 || got.UserName != "alice" {
		t.Errorf("got version %d name %q, want 3 alice", got.Version, got.UserName)
	}
}

func testUserFind(t *testing.T, s store.Store) {
	u := newUser(t, s, idpA, "Dora@Example.com")
	newUser(t, s, idpA, "eve@example.com")
	newUser(t, s, idpB, "dora@example.com")
	tests := []struct {
		l    store.Lookup
		want []string
	}{
		{store.Lookup{Attr: "userName", Value: "dora@example.com"}, []string{u.ID}},
		{store.Lookup{Attr: "userName", Value: "DORA@EXAMPLE.COM"}, []string{u.ID}},
		{store.Lookup{Attr: "externalId", Value: "ext-Dora@Example.com"}, []string{u.ID}},
		{store.Lookup{Attr: "externalId", Value: "ext-dora@example.com"}, nil}, // externalId is case-sensitive
		{store.Lookup{Attr: "id", Value: u.ID}, []string{u.ID}},
		{store.Lookup{Attr: "userName", Value: "nobody"}, nil},
	}
	for _, tc := range tests {
		got, err := s.FindUsers(ctx(t), idpA, tc.l)
		must(t, err)
		var ids []string
		for _, x := range got {
			ids = append(ids, x.ID)
		}
		if diff := cmp.Diff(tc.want, ids, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("FindUsers(%+v) (-want +got):\n%s", tc.l, diff)
		}
	}
	if _, err := s.FindUsers(ctx(t), idpA, store.Lookup{Attr: "title", Value: "x"}); err == nil {
		t.Error("lookup on an unindexed attribute did not fail")
	}
}

func testUserPaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 25 {
		want = append(want, newUser(t, s, idpA, fmt.Sprintf("user%02d", i)).ID)
	}
	newUser(t, s, idpB, "other")
	sort.Strings(want)
	var got []string
	after := ""
	pages := 0
	for {
		page, err := s.ListUsers(ctx(t), idpA, store.Page{After: after, Limit: 10})
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d users, limit 10", len(page))
		}
		pages++
		for _, u := range page {
			got = append(got, u.ID)
		}
		after = page[len(page)-1].ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	all, err := s.ListUsers(ctx(t), idpA, store.Page{})
	must(t, err)
	if len(all) != 25 {
		t.Errorf("unlimited list: %d users, want 25", len(all))
	}
	n, err := s.CountUsers(ctx(t), idpA)
	must(t, err)
	if n != 25 {
		t.Errorf("CountUsers = %d, want 25", n)
	}
}

func testUserDeleteRemovesMemberships(t *testing.T, s store.Store) {
	a := newUser(t, s, idpA, "a")
	b := newUser(t, s, idpA, "b")
	g1 := newGroup(t, s, idpA, "g1", users(a.ID, b.ID)...)
	g2 := newGroup(t, s, idpA, "g2", users(a.ID)...)
	must(t, s.DeleteUser(ctx(t), idpA, a.ID))
	if _, err := s.GetUser(ctx(t), idpA, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user still there: %v", err)
	}
	if diff := cmp.Diff([]string{b.ID}, memberIDs(t, s, idpA, g1.ID)); diff != "" {
		t.Errorf("g1 members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{}, memberIDs(t, s, idpA, g2.ID)); diff != "" {
		t.Errorf("g2 members (-want +got):\n%s", diff)
	}
	groups, err := s.GroupsOf(ctx(t), idpA, a.ID)
	must(t, err)
	if len(groups) != 0 {
		t.Errorf("GroupsOf deleted user = %v", groups)
	}
	for _, g := range []*store.Group{g1, g2} {
		got, err := s.GetGroup(ctx(t), idpA, g.ID)
		must(t, err)
		if got.Version <= g.Version {
			t.Errorf("group %s version %d not bumped by losing a member (was %d)", g.DisplayName, got.Version, g.Version)
		}
	}
}

func testGroupCreateGet(t *testing.T, s store.Store) {
	a := newUser(t, s, idpA, "a")
	g := &store.Group{IDP: idpA, DisplayName: "Engineering", ExternalID: "e-g", Attributes: json.RawMessage(`{"displayName":"Engineering"}`)}
	must(t, s.CreateGroup(ctx(t), g, []store.Member{{ID: a.ID, Type: "User"}, {ID: a.ID, Type: "User"}}))
	if g.ID == "" || g.Version != 1 {
		t.Fatalf("create did not fill id and version: %+v", g)
	}
	got, err := s.GetGroup(ctx(t), idpA, g.ID)
	must(t, err)
	if diff := cmp.Diff(g, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("GetGroup (-want +got):\n%s", diff)
	}
	ms, err := s.ListMembers(ctx(t), idpA, g.ID, store.Page{})
	must(t, err)
	if diff := cmp.Diff([]store.Member{{ID: a.ID, Type: "User"}}, ms); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	// A member without a type is a user.
	h := newGroup(t, s, idpA, "h", store.Member{ID: a.ID})
	ms, err = s.ListMembers(ctx(t), idpA, h.ID, store.Page{})
	must(t, err)
	if len(ms) != 1 || ms[0].Type != "User" {
		t.Errorf("untyped member stored as %+v", ms)
	}
	// Nested groups are members of type Group.
	outer := newGroup(t, s, idpA, "outer", store.Member{ID: g.ID, Type: "Group"})
	ms, err = s.ListMembers(ctx(t), idpA, outer.ID, store.Page{})
	must(t, err)
	if diff := cmp.Diff([]store.Member{{ID: g.ID, Type: "Group"}}, ms); diff != "" {
		t.Errorf("nested members (-want +got):\n%s", diff)
	}
	n, err := s.CountGroups(ctx(t), idpA)
	must(t, err)
	if n != 3 {
		t.Errorf("CountGroups = %d, want 3", n)
	}
	if err := s.CreateGroup(ctx(t), &store.Group{IDP: idpA, DisplayName: "bad"}, []store.Member{{ID: ""}}); err == nil {
		t.Error("member without id accepted")
	}
	if _, err := s.GetGroup(ctx(t), idpA, "bad"); err == nil {
		t.Error("failed create left a group behind")
	}
}

func testGroupUniqueness(t *testing.T, s store.Store) {
	newGroup(t, s, idpA, "Admins")
	wantErr(t, s.CreateGroup(ctx(t), &store.Group{IDP: idpA, DisplayName: "ADMINS"}, nil), store.ErrConflict, "same displayName other case")
	must(t, s.CreateGroup(ctx(t), &store.Group{IDP: idpB, DisplayName: "admins"}, nil))
	other := newGroup(t, s, idpA, "Other")
	wantErr(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: other.ID, DisplayName: "admins"}, 0), store.ErrConflict, "rename onto another group")
	// A group may change the case of its own name.
	must(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: other.ID, DisplayName: "OTHER"}, 0))
}

func testGroupNotFound(t *testing.T, s store.Store) {
	_, err := s.GetGroup(ctx(t), idpA, "nope")
	wantErr(t, err, store.ErrNotFound, "GetGroup")
	wantErr(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: "nope", DisplayName: "x"}, 0), store.ErrNotFound, "ReplaceGroup")
	wantErr(t, s.DeleteGroup(ctx(t), idpA, "nope"), store.ErrNotFound, "DeleteGroup")
	wantErr(t, s.AddMembers(ctx(t), idpA, "nope", users("u")), store.ErrNotFound, "AddMembers")
	wantErr(t, s.RemoveMembers(ctx(t), idpA, "nope", []string{"u"}), store.ErrNotFound, "RemoveMembers")
	wantErr(t, s.ReplaceMembers(ctx(t), idpA, "nope", users("u")), store.ErrNotFound, "ReplaceMembers")
	_, err = s.ListMembers(ctx(t), idpA, "nope", store.Page{})
	wantErr(t, err, store.ErrNotFound, "ListMembers")
	// A group of one IdP is not found through another.
	g := newGroup(t, s, idpA, "g")
	wantErr(t, s.AddMembers(ctx(t), idpB, g.ID, users("u")), store.ErrNotFound, "AddMembers across IdPs")
}

func testGroupReplaceIfMatch(t *testing.T, s store.Store) {
	a := newUser(t, s, idpA, "a")
	g := newGroup(t, s, idpA, "g", users(a.ID)...)
	r := &store.Group{IDP: idpA, ID: g.ID, DisplayName: "G renamed", Attributes: json.RawMessage(`{"x":true}`)}
	must(t, s.ReplaceGroup(ctx(t), r, 1))
	if r.Version != 2 {
		t.Errorf("version %d, want 2", r.Version)
	}
	wantErr(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: g.ID, DisplayName: "y"}, 1), store.ErrVersionMismatch, "stale If-Match")
	got, err := s.GetGroup(ctx(t), idpA, g.ID)
	must(t, err)
	if diff := cmp.Diff(r, got, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Replacing the attributes keeps the members.
	if diff := cmp.Diff([]string{a.ID}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("members after replace (-want +got):\n%s", diff)
	}
	// Member changes bump the version, so an If-Match taken before them fails.
	must(t, s.AddMembers(ctx(t), idpA, g.ID, users("z")))
	wantErr(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: g.ID, DisplayName: "y"}, 2), store.ErrVersionMismatch, "If-Match after AddMembers")
}

func testGroupFindAndPaging(t *testing.T, s store.Store) {
	var want []string
	for i := range 12 {
		want = append(want, newGroup(t, s, idpA, fmt.Sprintf("Team %02d", i)).ID)
	}
	sort.Strings(want)
	got, err := s.FindGroups(ctx(t), idpA, store.Lookup{Attr: "displayName", Value: "team 03"})
	must(t, err)
	if len(got) != 1 || got[0].DisplayName != "Team 03" {
		t.Errorf("FindGroups displayName = %v", got)
	}
	got, err = s.FindGroups(ctx(t), idpA, store.Lookup{Attr: "externalId", Value: "ext-Team 04"})
	must(t, err)
	if len(got) != 1 || got[0].DisplayName != "Team 04" {
		t.Errorf("FindGroups externalId = %v", got)
	}
	if _, err := s.FindGroups(ctx(t), idpA, store.Lookup{Attr: "members", Value: "x"}); err == nil {
		t.Error("lookup on an unindexed attribute did not fail")
	}
	var ids []string
	after := ""
	for {
		page, err := s.ListGroups(ctx(t), idpA, store.Page{After: after, Limit: 5})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			ids = append(ids, g.ID)
		}
		after = page[len(page)-1].ID
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("paged group ids (-want +got):\n%s", diff)
	}
}

func testGroupDelete(t *testing.T, s store.Store) {
	a := newUser(t, s, idpA, "a")
	inner := newGroup(t, s, idpA, "inner", users(a.ID)...)
	outer := newGroup(t, s, idpA, "outer", store.Member{ID: inner.ID, Type: "Group"}, store.Member{ID: a.ID, Type: "User"})
	must(t, s.DeleteGroup(ctx(t), idpA, inner.ID))
	if _, err := s.GetGroup(ctx(t), idpA, inner.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted group still there: %v", err)
	}
	if diff := cmp.Diff([]string{a.ID}, memberIDs(t, s, idpA, outer.ID)); diff != "" {
		t.Errorf("outer members after deleting inner (-want +got):\n%s", diff)
	}
	groups, err := s.GroupsOf(ctx(t), idpA, a.ID)
	must(t, err)
	if diff := cmp.Diff([]string{outer.ID}, groups); diff != "" {
		t.Errorf("GroupsOf (-want +got):\n%s", diff)
	}
	// The user survives its group.
	if _, err := s.GetUser(ctx(t), idpA, a.ID); err != nil {
		t.Errorf("user gone with its group: %v", err)
	}
	// The name is free again.
	newGroup(t, s, idpA, "INNER")
}

func testMembersAddRemove(t *testing.T, s store.Store) {
	g := newGroup(t, s, idpA, "g")
	version := func() int64 {
		got, err := s.GetGroup(ctx(t), idpA, g.ID)
		must(t, err)
		return got.Version
	}
	v0 := version()
	must(t, s.AddMembers(ctx(t), idpA, g.ID, users("u1", "u2")))
	must(t, s.AddMembers(ctx(t), idpA, g.ID, users("u2", "u3", "u3")))
	if diff := cmp.Diff([]string{"u1", "u2", "u3"}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("after adds (-want +got):\n%s", diff)
	}
	v1 := version()
	if v1 <= v0 {
		t.Errorf("version %d not bumped by AddMembers (was %d)", v1, v0)
	}
	must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{"u1", "nobody"}))
	must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{"u1"}))
	if diff := cmp.Diff([]string{"u2", "u3"}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("after removes (-want +got):\n%s", diff)
	}
	if v2 := version(); v2 <= v1 {
		t.Errorf("version %d not bumped by RemoveMembers (was %d)", v2, v1)
	}
	must(t, s.AddMembers(ctx(t), idpA, g.ID, nil))
	must(t, s.RemoveMembers(ctx(t), idpA, g.ID, nil))
	if err := s.AddMembers(ctx(t), idpA, g.ID, []store.Member{{ID: ""}}); err == nil {
		t.Error("member without id accepted")
	}
	// Many members in one call (more than one statement's worth).
	var many []store.Member
	for i := range 2500 {
		many = append(many, store.Member{ID: fmt.Sprintf("m%05d", i), Type: "User"})
	}
	must(t, s.AddMembers(ctx(t), idpA, g.ID, many))
	if n := len(memberIDs(t, s, idpA, g.ID)); n != 2502 {
		t.Errorf("%d members after adding 2500, want 2502", n)
	}
	var ids []string
	for _, m := range many {
		ids = append(ids, m.ID)
	}
	must(t, s.RemoveMembers(ctx(t), idpA, g.ID, ids))
	if diff := cmp.Diff([]string{"u2", "u3"}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("after removing 2500 (-want +got):\n%s", diff)
	}
}

func testMembersReplace(t *testing.T, s store.Store) {
	g := newGroup(t, s, idpA, "g", users("u1", "u2")...)
	must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users("u2", "u3")))
	if diff := cmp.Diff([]string{"u2", "u3"}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users("u2", "u3")))
	if diff := cmp.Diff([]string{"u2", "u3"}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("replace again (-want +got):\n%s", diff)
	}
	must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, nil))
	if diff := cmp.Diff([]string{}, memberIDs(t, s, idpA, g.ID)); diff != "" {
		t.Errorf("replace with none (-want +got):\n%s", diff)
	}
}

func testMembersPaging(t *testing.T, s store.Store) {
	var want []string
	var ms []store.Member
	for i := range 23 {
		id := fmt.Sprintf("u%02d", i)
		want = append(want, id)
		ms = append(ms, store.Member{ID: id, Type: "User"})
	}
	g := newGroup(t, s, idpA, "g", ms...)
	var got []string
	after := ""
	for {
		page, err := s.ListMembers(ctx(t), idpA, g.ID, store.Page{After: after, Limit: 10})
		must(t, err)
		if len(page) == 0 {
			break
		}
		for _, m := range page {
			got = append(got, m.ID)
		}
		after = page[len(page)-1].ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func testGroupsOf(t *testing.T, s store.Store) {
	a := newUser(t, s, idpA, "a")
	g1 := newGroup(t, s, idpA, "g1", users(a.ID)...)
	g2 := newGroup(t, s, idpA, "g2")
	newGroup(t, s, idpA, "g3")
	must(t, s.AddMembers(ctx(t), idpA, g2.ID, users(a.ID)))
	got, err := s.GroupsOf(ctx(t), idpA, a.ID)
	must(t, err)
	if diff := cmp.Diff(sorted(g1.ID, g2.ID), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = s.GroupsOf(ctx(t), idpB, a.ID)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("GroupsOf across IdPs = %v", got)
	}
}

func testMembershipsStream(t *testing.T, s store.Store) {
	g1 := newGroup(t, s, idpA, "g1", users("u1", "u2")...)
	g2 := newGroup(t, s, idpA, "g2", store.Member{ID: g1.ID, Type: "Group"})
	newGroup(t, s, idpB, "g1", users("u9")...)
	type pair struct{ G, M, T string }
	var got []pair
	must(t, s.Memberships(ctx(t), idpA, func(g string, m store.Member) error {
		got = append(got, pair{g, m.ID, m.Type})
		return nil
	}))
	want := []pair{{g1.ID, "u1", "User"}, {g1.ID, "u2", "User"}, {g2.ID, g1.ID, "Group"}}
	sort.Slice(want, func(i, j int) bool { return want[i].G+want[i].M < want[j].G+want[j].M })
	sort.Slice(got, func(i, j int) bool { return got[i].G+got[i].M < got[j].G+got[j].M })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Memberships(ctx(t), idpA, func(string, store.Member) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: got %v after %d calls, want stop after 1", err, calls)
	}
}

func testRevision(t *testing.T, s store.Store) {
	rev := func(idp string) int64 {
		r, err := s.Revision(ctx(t), idp)
		must(t, err)
		return r
	}
	if r := rev(idpA); r != 0 {
		t.Fatalf("revision of an untouched IdP = %d, want 0", r)
	}
	var u *store.User
	var g *store.Group
	writes := []struct {
		name string
		fn   func()
	}{
		{"CreateUser", func() { u = newUser(t, s, idpA, "a") }},
		{"ReplaceUser", func() { must(t, s.ReplaceUser(ctx(t), &store.User{IDP: idpA, ID: u.ID, UserName: "a2"}, 0)) }},
		{"CreateGroup", func() { g = newGroup(t, s, idpA, "g") }},
		{"ReplaceGroup", func() { must(t, s.ReplaceGroup(ctx(t), &store.Group{IDP: idpA, ID: g.ID, DisplayName: "g2"}, 0)) }},
		{"AddMembers", func() { must(t, s.AddMembers(ctx(t), idpA, g.ID, users(u.ID))) }},
		{"RemoveMembers", func() { must(t, s.RemoveMembers(ctx(t), idpA, g.ID, []string{u.ID})) }},
		{"ReplaceMembers", func() { must(t, s.ReplaceMembers(ctx(t), idpA, g.ID, users(u.ID))) }},
		{"DeleteUser", func() { must(t, s.DeleteUser(ctx(t), idpA, u.ID)) }},
		{"DeleteGroup", func() { must(t, s.DeleteGroup(ctx(t), idpA, g.ID)) }},
	}
	last := rev(idpA)
	for _, w := range writes {
		w.fn()
		r := rev(idpA)
		if r <= last {
			t.Errorf("%s: revision %d did not grow from %d", w.name, r, last)
		}
		last = r
	}
	if r := rev(idpB); r != 0 {
		t.Errorf("writes to %s moved the revision of %s to %d", idpA, idpB, r)
	}
	// Reads and failed writes leave it alone.
	_, _ = s.ListUsers(ctx(t), idpA, store.Page{})
	newUser(t, s, idpA, "taken")
	last = rev(idpA)
	wantErr(t, s.CreateUser(ctx(t), &store.User{IDP: idpA, UserName: "TAKEN"}), store.ErrConflict, "conflict")
	if r := rev(idpA); r != last {
		t.Errorf("a failed write moved the revision from %d to %d", last, r)
	}
}

func testTokens(t *testing.T, s store.Store) {
	h := func(c byte) string {
		b := make([]byte, 64)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	t1 := &store.Token{IDP: idpA, SHA256: h('a'), Description: "entra prod"}
	must(t, s.CreateToken(ctx(t), t1))
	if t1.ID == "" || t1.Created.IsZero() {
		t.Fatalf("CreateToken did not fill id and created: %+v", t1)
	}
	t2 := &store.Token{IDP: idpA, SHA256: h('B')}
	must(t, s.CreateToken(ctx(t), t2))
	if t2.SHA256 != h('b') {
		t.Errorf("hash kept as %q, want lower-case", t2.SHA256)
	}
	t3 := &store.Token{IDP: idpB, SHA256: h('c')}
	must(t, s.CreateToken(ctx(t), t3))
	wantErr(t, s.CreateToken(ctx(t), &store.Token{IDP: idpB, SHA256: h('a')}), store.ErrConflict, "same hash twice")
	for _, bad := range []string{"", "abc", h('g'), h('a') + "0"} {
		if err := s.CreateToken(ctx(t), &store.Token{IDP: idpA, SHA256: bad}); err == nil {
			t.Errorf("hash %q accepted", bad)
		}
	}
	if err := s.CreateToken(ctx(t), &store.Token{SHA256: h('d')}); err == nil {
		t.Error("token without IdP accepted")
	}

	hashes, err := s.TokenHashes(ctx(t), idpA)
	must(t, err)
	if diff := cmp.Diff([]string{h('a'), h('b')}, hashes); diff != "" {
		t.Errorf("TokenHashes (-want +got):\n%s", diff)
	}
	list, err := s.ListTokens(ctx(t), "")
	must(t, err)
	if len(list) != 3 {
		t.Errorf("ListTokens all: %d, want 3", len(list))
	}
	list, err = s.ListTokens(ctx(t), idpB)
	must(t, err)
	if diff := cmp.Diff([]*store.Token{t3}, list, cmpopts.EquateApproxTime(time.Microsecond)); diff != "" {
		t.Errorf("ListTokens(%s) (-want +got):\n%s", idpB, diff)
	}
	must(t, s.RevokeToken(ctx(t), t1.ID))
	wantErr(t, s.RevokeToken(ctx(t), t1.ID), store.ErrNotFound, "revoke twice")
	hashes, err = s.TokenHashes(ctx(t), idpA)
	must(t, err)
	if diff := cmp.Diff([]string{h('b')}, hashes); diff != "" {
		t.Errorf("TokenHashes after revoke (-want +got):\n%s", diff)
	}
}

// testDisabledTime: the time confsync disabled a user survives records
// that do not give one while the user stays inactive, and goes when the
// user is recorded active (users.delete_after counts from it).
func testDisabledTime(t *testing.T, s store.Store) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	u := plan.ManagedUser{Username: "gone", IDP: idpA, SourceID: "s-9", Updated: at, Disabled: at}
	must(t, s.RecordUser(ctx(t), u))
	disabled := func() time.Time {
		t.Helper()
		o, err := s.Ownership(ctx(t))
		must(t, err)
		for _, m := range o.Users {
			if m.Username == "gone" {
				return m.Disabled
			}
		}
		t.Fatal("user not recorded")
		return time.Time{}
	}
	if got := disabled(); !got.Equal(at) {
		t.Fatalf("Disabled = %v, want %v", got, at)
	}
	// An attribute update of the inactive user gives no Disabled.
	u.Disabled, u.Updated, u.DisplayName = time.Time{}, at.Add(time.Hour), "Renamed"
	must(t, s.RecordUser(ctx(t), u))
	if got := disabled(); !got.Equal(at) {
		t.Errorf("Disabled after an update = %v, want %v kept", got, at)
	}
	u.Active = true
	must(t, s.RecordUser(ctx(t), u))
	if got := disabled(); !got.IsZero() {
		t.Errorf("Disabled of an active user = %v, want zero", got)
	}
	u.Active, u.Disabled = false, at.Add(48*time.Hour)
	must(t, s.RecordUser(ctx(t), u))
	if got := disabled(); !got.Equal(at.Add(48 * time.Hour)) {
		t.Errorf("Disabled after a new disable = %v", got)
	}
}

func testOwnership(t *testing.T, s store.Store) {
	empty, err := s.Ownership(ctx(t))
	must(t, err)
	if len(empty.Users)+len(empty.Groups)+len(empty.Memberships) != 0 {
		t.Fatalf("fresh store owns %+v", empty)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	jdoe := plan.ManagedUser{Username: "jdoe", IDP: idpA, SourceID: "s-1", DisplayName: "J. Doe", Email: "jdoe@example.com",
		Custom: map[string]string{"department": "R&D", "costCenter": "42"}, Active: true, Updated: at}
	asmith := plan.ManagedUser{Username: "asmith", IDP: idpB, SourceID: "s-2", Adopted: true, Custom: map[string]string{}, Updated: at}
	must(t, s.RecordUser(ctx(t), jdoe))
	must(t, s.RecordUser(ctx(t), asmith))
	devs := plan.ManagedGroup{Name: "devs", IDP: idpA, Created: true, Updated: at}
	ops := plan.ManagedGroup{Name: "ops", IDP: idpB, Updated: at}
	must(t, s.RecordGroup(ctx(t), devs))
	must(t, s.RecordGroup(ctx(t), ops))
	m1 := plan.ManagedMembership{Username: "jdoe", Group: "devs", IDP: idpA, Updated: at}
	m2 := plan.ManagedMembership{Username: "jdoe", Group: "ops", IDP: idpA, Updated: at}
	m3 := plan.ManagedMembership{Username: "asmith", Group: "ops", IDP: idpB, Updated: at}
	for _, m := range []plan.ManagedMembership{m1, m2, m3} {
		must(t, s.RecordMembership(ctx(t), m))
	}
	want := &plan.Ownership{
		Users:       []plan.ManagedUser{asmith, jdoe},
		Groups:      []plan.ManagedGroup{devs, ops},
		Memberships: []plan.ManagedMembership{m1, m3, m2},
	}
	got, err := s.Ownership(ctx(t))
	must(t, err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Ownership (-want +got):\n%s", diff)
	}

	// Recording again replaces.
	jdoe.Email, jdoe.Active, jdoe.Custom = "john@example.com", false, map[string]string{"department": "Ops"}
	must(t, s.RecordUser(ctx(t), jdoe))
	devs.Created = false
	must(t, s.RecordGroup(ctx(t), devs))
	got, err = s.Ownership(ctx(t))
	must(t, err)
	if diff := cmp.Diff(jdoe, got.Users[1]); diff != "" {
		t.Errorf("re-recorded user (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(devs, got.Groups[0]); diff != "" {
		t.Errorf("re-recorded group (-want +got):\n%s", diff)
	}

	// A zero Updated is stamped with the time of recording.
	must(t, s.RecordGroup(ctx(t), plan.ManagedGroup{Name: "new", IDP: idpA}))
	got, err = s.Ownership(ctx(t))
	must(t, err)
	if got.Groups[1].Name != "new" || got.Groups[1].Updated.IsZero() {
		t.Errorf("group recorded without a time: %+v", got.Groups[1])
	}

	must(t, s.ForgetMembership(ctx(t), "asmith", "ops"))
	must(t, s.ForgetUser(ctx(t), "jdoe"))
	must(t, s.ForgetGroup(ctx(t), "new"))
	must(t, s.ForgetUser(ctx(t), "nobody"))
	got, err = s.Ownership(ctx(t))
	must(t, err)
	want = &plan.Ownership{Users: []plan.ManagedUser{asmith}, Groups: []plan.ManagedGroup{devs, ops}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("after forgetting (-want +got):\n%s", diff)
	}
	// Forgetting a group forgets the memberships in it.
	must(t, s.RecordMembership(ctx(t), plan.ManagedMembership{Username: "asmith", Group: "devs", IDP: idpB, Updated: at}))
	must(t, s.ForgetGroup(ctx(t), "devs"))
	got, err = s.Ownership(ctx(t))
	must(t, err)
	if len(got.Memberships) != 0 {
		t.Errorf("memberships of a forgotten group remain: %+v", got.Memberships)
	}
	if err := s.RecordUser(ctx(t), plan.ManagedUser{}); err == nil {
		t.Error("user without username recorded")
	}
}

func testSourceReads(t *testing.T, s store.Store) {
	_, ok, err := s.LastRead(ctx(t), idpA)
	must(t, err)
	if ok {
		t.Fatal("LastRead reports a read that never happened")
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.RecordRead(ctx(t), idpA, plan.SourceCounts{Users: 100, Groups: 7, At: at}))
	must(t, s.RecordRead(ctx(t), idpA, plan.SourceCounts{Users: 120, Groups: 8, At: at.Add(time.Hour)}))
	must(t, s.RecordRead(ctx(t), idpB, plan.SourceCounts{Users: 1, Groups: 1, At: at}))
	got, ok, err := s.LastRead(ctx(t), idpA)
	must(t, err)
	if diff := cmp.Diff(plan.SourceCounts{Users: 120, Groups: 8, At: at.Add(time.Hour)}, got); !ok || diff != "" {
		t.Errorf("LastRead ok=%v (-want +got):\n%s", ok, diff)
	}
}

func testLock(t *testing.T, s store.Store) {
	l, err := s.Lock(ctx(t))
	must(t, err)
	if l != nil {
		t.Fatalf("fresh store is locked: %+v", l)
	}
	must(t, s.AcquireLock(ctx(t), "alice@host1", time.Hour))
	err = s.AcquireLock(ctx(t), "bob@host2", time.Hour)
	var le *plan.LockedError
	if !errors.As(err, &le) || !errors.Is(err, plan.ErrLocked) || le.Lock.Holder != "alice@host1" {
		t.Fatalf("second holder: got %v, want a LockedError naming alice@host1", err)
	}
	l, err = s.Lock(ctx(t))
	must(t, err)
	if l == nil || l.Holder != "alice@host1" || time.Until(l.Expires) < 50*time.Minute {
		t.Fatalf("Lock = %+v", l)
	}
	// Renewing as the same holder moves the expiry.
	must(t, s.AcquireLock(ctx(t), "alice@host1", 2*time.Hour))
	l2, err := s.Lock(ctx(t))
	must(t, err)
	if !l2.Expires.After(l.Expires) {
		t.Errorf("renewal did not extend: %v then %v", l.Expires, l2.Expires)
	}
	// Someone else's release does nothing.
	must(t, s.ReleaseLock(ctx(t), "bob@host2"))
	wantErr(t, s.AcquireLock(ctx(t), "bob@host2", time.Hour), plan.ErrLocked, "after a foreign release")
	must(t, s.ReleaseLock(ctx(t), "alice@host1"))
	if l, err := s.Lock(ctx(t)); err != nil || l != nil {
		t.Fatalf("after release: %+v, %v", l, err)
	}
	must(t, s.AcquireLock(ctx(t), "bob@host2", time.Hour))
	must(t, s.ForceUnlock(ctx(t)))
	must(t, s.AcquireLock(ctx(t), "carol@host3", time.Hour))
	if err := s.AcquireLock(ctx(t), "", time.Hour); err == nil {
		t.Error("empty holder accepted")
	}
}

func testLockExpiry(t *testing.T, s store.Store) {
	must(t, s.AcquireLock(ctx(t), "dead-run", time.Millisecond))
	// Wait past the expiry; waiting longer only makes the outcome surer.
	time.Sleep(20 * time.Millisecond)
	if l, err := s.Lock(ctx(t)); err != nil || l != nil {
		t.Errorf("expired lock reported as %+v, %v", l, err)
	}
	must(t, s.AcquireLock(ctx(t), "next-run", time.Hour))
	l, err := s.Lock(ctx(t))
	must(t, err)
	if l == nil || l.Holder != "next-run" {
		t.Errorf("Lock = %+v, want next-run", l)
	}
}

func testLockContention(t *testing.T, s store.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.AcquireLock(ctx(t), fmt.Sprintf("holder-%d", i), time.Hour)
		}()
	}
	wg.Wait()
	winners := 0
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			winner = fmt.Sprintf("holder-%d", i)
		case !errors.Is(err, plan.ErrLocked):
			t.Errorf("holder-%d: unexpected error %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d holders took the lock at once, want 1", winners)
	}
	l, err := s.Lock(ctx(t))
	must(t, err)
	if l == nil || l.Holder != winner {
		t.Errorf("Lock = %+v, want %s", l, winner)
	}
}

func testAuditRuns(t *testing.T, s store.Store) {
	runs, err := s.Runs(ctx(t), 10)
	must(t, err)
	if len(runs) != 0 {
		t.Fatalf("fresh store has runs: %+v", runs)
	}
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var want []plan.Run
	for i := range 3 {
		r := plan.Run{
			ID: fmt.Sprintf("run-%d", i), Started: t0.Add(time.Duration(i) * time.Minute), Finished: t0.Add(time.Duration(i)*time.Minute + time.Second),
			Trigger: "cli", Outcome: "applied", Message: fmt.Sprintf("run %d", i),
			// The kind and request count round-trip.
			Kind: []plan.RunKind{plan.RunFull, plan.RunTargeted, plan.RunCached}[i], ConfluenceRequests: int64(1000*i + 7),
		}
		for j := range i + 1 {
			a := plan.RunAction{Action: "create", Object: fmt.Sprintf("user u%d", j), IDP: idpA}
			if j == 1 {
				a.Error = "409 from Confluence"
			}
			if j == 0 {
				// What the action changed, before and after, round-trips.
				a.Action, a.Object = "disable", "user u0"
				a.Change = &plan.Change{Action: plan.ActionDisable, Kind: plan.KindUser, User: "u0", IDP: idpA, SourceID: "s-0",
					Reason: "gone", Before: &plan.UserValues{DisplayName: "U 0", Email: "u0@example.com", Active: true},
					After: &plan.UserValues{DisplayName: "U 0", Email: "u0@example.com"}}
			}
			r.Actions = append(r.Actions, a)
		}
		if i == 1 {
			r.Outcome = "partial"
		}
		must(t, s.AppendRun(ctx(t), r))
		want = append([]plan.Run{r}, want...)
	}
	runs, err = s.Runs(ctx(t), 2)
	must(t, err)
	if diff := cmp.Diff(want[:2], runs); diff != "" {
		t.Errorf("Runs(2) (-want +got):\n%s", diff)
	}
	runs, err = s.Runs(ctx(t), 0)
	must(t, err)
	if diff := cmp.Diff(want, runs); diff != "" {
		t.Errorf("Runs(0) (-want +got):\n%s", diff)
	}
	// A refused run with no actions, and no id, is kept too.
	must(t, s.AppendRun(ctx(t), plan.Run{Started: t0, Trigger: "auto", Outcome: "refused", Message: "threshold"}))
	runs, err = s.Runs(ctx(t), 1)
	must(t, err)
	if len(runs) != 1 || runs[0].Outcome != "refused" || runs[0].ID == "" || len(runs[0].Actions) != 0 ||
		runs[0].Kind != "" || runs[0].ConfluenceRequests != 0 {
		t.Errorf("Runs(1) = %+v", runs)
	}
}

func testConcurrentAddMembers(t *testing.T, s store.Store) {
	g := newGroup(t, s, idpA, "everyone")
	const workers, calls, per = 8, 15, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				var ms []store.Member
				for k := range per {
					ms = append(ms, store.Member{ID: fmt.Sprintf("w%d-c%d-k%d", w, c, k), Type: "User"})
				}
				if err := s.AddMembers(ctx(t), idpA, g.ID, ms); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(memberIDs(t, s, idpA, g.ID)); n != workers*calls*per {
		t.Errorf("%d members, want %d: concurrent adds lost members", n, workers*calls*per)
	}
	got, err := s.GetGroup(ctx(t), idpA, g.ID)
	must(t, err)
	if got.Version != 1+workers*calls {
		t.Errorf("version %d, want %d", got.Version, 1+workers*calls)
	}
}

func testConcurrentCreateUsers(t *testing.T, s store.Store) {
	// Many writers, half of them racing for the same names: every name ends
	// up taken exactly once.
	const workers, names = 6, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				name := fmt.Sprintf("user%d", i)
				if w%2 == 1 {
					name = fmt.Sprintf("USER%d", i)
				}
				err := s.CreateUser(ctx(t), &store.User{IDP: idpA, UserName: name})
				switch {
				case err == nil:
					mu.Lock()
					created[fmt.Sprint(i)]++
					mu.Unlock()
				case !errors.Is(err, store.ErrConflict):
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for i := range names {
		if c := created[fmt.Sprint(i)]; c != 1 {
			t.Errorf("user%d created %d times", i, c)
		}
	}
	n, err := s.CountUsers(ctx(t), idpA)
	must(t, err)
	if n != names {
		t.Errorf("CountUsers = %d, want %d", n, names)
	}
}
