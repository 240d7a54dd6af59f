package scim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// resourceState is what a no-op write must leave alone.
type resourceState struct {
	version, lastModified string
	revision              int64
	changes               int
}

func stateOf(t *testing.T, ts *testServer, st Store, path string) resourceState {
	t.Helper()
	m := expect(t, ts.do(t, "GET", path, nil), 200).json(t)
	rev, err := st.Revision(context.Background(), "entra")
	if err != nil {
		t.Fatal(err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return resourceState{version: fmt.Sprint(get(m, "meta.version")), lastModified: fmt.Sprint(get(m, "meta.lastModified")), revision: rev, changes: ts.changes["entra"]}
}

type write struct {
	name, method, body string
	status             int
}

// checkNoOps sends each write and checks that the resource's meta, its
// ETag, the store's revision and the reconciles scheduled did not move;
// then that a real change moves all of them (so the check can fail).
func checkNoOps(t *testing.T, ts *testServer, st Store, path string, noops []write, change write) {
	t.Helper()
	want := stateOf(t, ts, st, path)
	for _, w := range noops {
		r := expect(t, ts.do(t, w.method, path, w.body), w.status)
		if et := r.header.Get("ETag"); et != "" && et != want.version {
			t.Errorf("%s: answered ETag %s, want %s", w.name, et, want.version)
		}
		if got := stateOf(t, ts, st, path); got != want {
			t.Errorf("%s changed the resource: %+v, want %+v", w.name, got, want)
		}
	}
	expect(t, ts.do(t, change.method, path, change.body), change.status)
	got := stateOf(t, ts, st, path)
	if got.version == want.version || got.lastModified == want.lastModified || got.revision <= want.revision || got.changes <= want.changes {
		t.Errorf("%s: a real change left %+v (before %+v)", change.name, got, want)
	}
	t.Logf("%d no-op writes to %s left version %s, revision %d; a real change moved them to %s, %d",
		len(noops), path, want.version, want.revision, got.version, got.revision)
}

// TestNoOpUserWrites: issue 16 item 1 for users (RFC 7644 §3.5.2.1: adding
// a value already there is no change), on every store engine.
func TestNoOpUserWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		const body = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"noop@example.com","active":true,
			"name":{"givenName":"No","familyName":"Op"},"title":"Tester",
			"emails":[{"value":"noop@example.com","type":"work","primary":true}],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"QA","manager":{"value":"m-1"}}}`
		r := expect(t, ts.do(t, "POST", "/Users", body), 201)
		path := "/Users/" + r.json(t)["id"].(string)
		patch := func(ops string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
		}
		checkNoOps(t, ts, st, path, []write{
			{"PATCH add of an existing email", "PATCH", patch(`{"op":"add","path":"emails","value":[{"value":"noop@example.com","type":"work","primary":true}]}`), 200},
			{"path-less Add of existing values", "PATCH", patch(`{"op":"Add","value":{"title":"Tester","emails":[{"value":"noop@example.com","type":"work"}]}}`), 200},
			{"replace with the same value", "PATCH", patch(`{"op":"replace","path":"name.givenName","value":"No"}`), 200},
			{"Entra replace of active with the same string", "PATCH", patch(`{"op":"Replace","path":"active","value":"True"}`), 200},
			{"replace of a filtered value with the same value", "PATCH", patch(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"noop@example.com"}`), 200},
			{"replace of the manager with the same id", "PATCH", patch(`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m-1"}`), 200},
			{"remove of an absent attribute", "PATCH", patch(`{"op":"remove","path":"nickName"}`), 200},
			{"remove of an absent value", "PATCH", patch(`{"op":"remove","path":"emails[value eq \"absent@example.com\"]"}`), 200},
			{"identical PUT", "PUT", body, 200},
			{"PUT without active", "PUT", `{"userName":"noop@example.com","name":{"givenName":"No","familyName":"Op"},"title":"Tester",
				"emails":[{"value":"noop@example.com","type":"work","primary":true}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"QA","manager":{"value":"m-1"}}}`, 200},
		}, write{"replace title", "PATCH", patch(`{"op":"replace","path":"title","value":"Lead"}`), 200})
	})
}

// TestNoOpGroupWrites: issue 16 item 1 for groups, on every store engine.
func TestNoOpGroupWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		u1 := createUser(t, ts, "g-member1@example.com", "")
		u2 := createUser(t, ts, "g-member2@example.com", "")
		body := `{"displayName":"NoOp Group","externalId":"ext-1","members":[{"value":"` + u1 + `"}]}`
		r := expect(t, ts.do(t, "POST", "/Groups", body), 201)
		path := "/Groups/" + r.json(t)["id"].(string)
		patch := func(ops string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
		}
		checkNoOps(t, ts, st, path, []write{
			{"add of a member already in", "PATCH", patch(`{"op":"Add","path":"members","value":[{"value":"` + u1 + `"}]}`), 204},
			{"remove of a member not in (filter)", "PATCH", patch(`{"op":"remove","path":"members[value eq \"` + u2 + `\"]"}`), 204},
			{"remove of a member not in (value)", "PATCH", patch(`{"op":"Remove","path":"members","value":[{"value":"` + u2 + `"}]}`), 204},
			{"remove by a filter matching nobody", "PATCH", patch(`{"op":"remove","path":"members[type eq \"Group\"]"}`), 204},
			{"replace of displayName with the same", "PATCH", patch(`{"op":"replace","value":{"displayName":"NoOp Group"}}`), 204},
			{"replace of members with the same", "PATCH", patch(`{"op":"replace","path":"members","value":[{"value":"` + u1 + `"}]}`), 204},
			{"several no-op operations", "PATCH", patch(`{"op":"add","path":"members","value":[{"value":"` + u1 + `"}]},{"op":"replace","path":"externalId","value":"ext-1"}`), 204},
			{"add then remove of the same member", "PATCH", patch(`{"op":"add","path":"members","value":[{"value":"` + u2 + `"}]},{"op":"remove","path":"members[value eq \"` + u2 + `\"]"}`), 204},
			{"identical PUT", "PUT", body, 200},
			{"PUT without members", "PUT", `{"displayName":"NoOp Group","externalId":"ext-1"}`, 200},
		}, write{"add a member", "PATCH", patch(`{"op":"add","path":"members","value":[{"value":"` + u2 + `"}]}`), 204})
	})
}

// faultStore fails every UpdateGroup after its first `after` member
// changes, inside the store's transaction: a fault between operations. The
// fault is a RemoveMatching whose Match fails, so it fires only on a group
// that has members at that point.
type faultStore struct {
	Store
	after int
}

var errInjected = errors.New("injected fault between member operations")

func (f *faultStore) UpdateGroup(ctx context.Context, idp, id string, u store.GroupUpdate) (*store.Group, bool, error) {
	if f.after >= 0 && f.after <= len(u.Members) {
		fault := store.MemberChange{Op: store.RemoveMatching, Match: func(store.Member) (bool, error) { return false, errInjected }}
		u.Members = slices.Insert(slices.Clone(u.Members), f.after, fault)
	}
	return f.Store.UpdateGroup(ctx, idp, id, u)
}

// TestGroupWritesAtomic: issue 15 item 6. A group PUT with members and a
// PATCH with several operations commit in one store transaction: a fault
// between the operations leaves nothing of them, on every store engine.
func TestGroupWritesAtomic(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		fs := &faultStore{Store: st, after: -1}
		ts := newTestServer(t, fs)
		u1 := createUser(t, ts, "atomic1@example.com", "")
		u2 := createUser(t, ts, "atomic2@example.com", "")
		u3 := createUser(t, ts, "atomic3@example.com", "")
		r := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"Atomic","members":[{"value":"`+u1+`"}]}`), 201)
		id := r.json(t)["id"].(string)
		ctx := context.Background()
		before, _ := st.GetGroup(ctx, "entra", id)
		rev, _ := st.Revision(ctx, "entra")
		unchanged := func(what string) {
			t.Helper()
			g, err := st.GetGroup(ctx, "entra", id)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := st.ListMembers(ctx, "entra", id, store.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if g.DisplayName != "Atomic" || g.Version != before.Version || len(ms) != 1 || ms[0].ID != u1 {
				t.Errorf("%s half-applied: %q version %d members %v", what, g.DisplayName, g.Version, ms)
			}
			if r, _ := st.Revision(ctx, "entra"); r != rev {
				t.Errorf("%s moved the revision from %d to %d", what, rev, r)
			}
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","path":"displayName","value":"Atomic 2"},
			{"op":"add","path":"members","value":[{"value":"` + u2 + `"}]},
			{"op":"remove","path":"members[value eq \"` + u1 + `\"]"},
			{"op":"add","path":"members","value":[{"value":"` + u3 + `"}]}]}`
		for _, after := range []int{1, 2, 3} {
			fs.after = after
			expectError(t, ts.do(t, "PATCH", "/Groups/"+id, patch), 500, "")
			unchanged(fmt.Sprintf("a PATCH failing after %d member operations", after))
		}
		fs.after = 1 // after the member list's replacement
		expectError(t, ts.do(t, "PUT", "/Groups/"+id, `{"displayName":"Atomic 3","members":[{"value":"`+u2+`"},{"value":"`+u3+`"}]}`), 500, "")
		unchanged("a PUT failing after its members")

		fs.after = -1
		expect(t, ts.do(t, "PATCH", "/Groups/"+id, patch), 204)
		g, _ := st.GetGroup(ctx, "entra", id)
		ms, _ := st.ListMembers(ctx, "entra", id, store.Page{Limit: 100})
		got := []string{}
		for _, m := range ms {
			got = append(got, m.ID)
		}
		want := []string{u2, u3}
		slices.Sort(want)
		if g.DisplayName != "Atomic 2" || g.Version != before.Version+1 || !slices.Equal(got, want) {
			t.Errorf("the PATCH without a fault gave %q version %d members %v; want %q version %d members %v", g.DisplayName, g.Version, got, "Atomic 2", before.Version+1, want)
		}
	})
}
