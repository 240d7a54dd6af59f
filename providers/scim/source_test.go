package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

func TestSource(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		a := createUser(t, ts, "a@example.com", `,"displayName":"A","name":{"givenName":"Ann"},"emails":[{"type":"home","value":"home@a"},{"type":"work","value":"work@a"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m-1"}},"urn:ietf:params:scim:schemas:extension:Custom:2.0:User":{"tag":"T"}`)
		b := createUser(t, ts, "b@example.com", `,"active":false,"emails":[{"type":"home","value":"home@b"},{"type":"other","value":"primary@b","primary":true}]`)
		c := createUser(t, ts, "c@example.com", `,"emails":[{"value":"first@c"},{"value":"second@c"}]`)
		d := createUser(t, ts, "d@example.com", ``)
		newGroup := func(name string, members ...string) string {
			body := map[string]any{"displayName": name}
			var ms []any
			for _, m := range members {
				ms = append(ms, map[string]any{"value": m})
			}
			body["members"] = ms
			return expect(t, ts.do(t, "POST", "/Groups", body), 201).json(t)["id"].(string)
		}
		inner := newGroup("inner", a, "dangling-id")
		outer := newGroup("outer", b, inner)
		// A cycle: inner contains outer (added after both exist).
		expect(t, ts.do(t, "PATCH", "/Groups/"+inner, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+outer+`"}]}]}`), 204)
		empty := newGroup("empty")
		attrs := []string{"userName", "name.givenName", `emails[type eq "work"].value`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
			"urn:ietf:params:scim:schemas:extension:Custom:2.0:User:tag", "active"}
		snap, err := NewSource(st, "entra").Read(context.Background(), plan.ReadRequest{Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]plan.SourceUser{}
		for _, u := range snap.Users {
			users[u.ID] = u
		}
		want := map[string]plan.SourceUser{
			a: {ID: a, Active: true, Attributes: map[string]string{"userName": "a@example.com", "name.givenName": "Ann", attrs[2]: "work@a", attrs[3]: "Sales", attrs[4]: "m-1", attrs[5]: "m-1", attrs[6]: "T", "active": "true"}},
			b: {ID: b, Active: false, Attributes: map[string]string{"userName": "b@example.com", attrs[2]: "primary@b", "active": "false"}},
			c: {ID: c, Active: true, Attributes: map[string]string{"userName": "c@example.com", attrs[2]: "first@c", "active": "true"}},
			d: {ID: d, Active: true, Attributes: map[string]string{"userName": "d@example.com", "active": "true"}},
		}
		if diff := cmp.Diff(want, users); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		groups := map[string]plan.SourceGroup{}
		for _, g := range snap.Groups {
			groups[g.Name] = g
		}
		sorted := func(ids ...string) []string {
			for i := range ids {
				for j := i + 1; j < len(ids); j++ {
					if ids[j] < ids[i] {
						ids[i], ids[j] = ids[j], ids[i]
					}
				}
			}
			return ids
		}
		wantGroups := map[string]plan.SourceGroup{
			"inner": {ID: inner, Name: "inner", MemberIDs: sorted(a, b)},
			"outer": {ID: outer, Name: "outer", MemberIDs: sorted(a, b)},
			"empty": {ID: empty, Name: "empty", MemberIDs: []string{}},
		}
		if diff := cmp.Diff(wantGroups, groups); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
		// Another IdP's source sees nothing of these.
		other, err := NewSource(st, "okta").Read(context.Background(), plan.ReadRequest{})
		if err != nil || len(other.Users)+len(other.Groups) != 0 {
			t.Fatalf("okta snapshot: %+v, %v", other, err)
		}
		if _, err := NewSource(st, "entra").Read(context.Background(), plan.ReadRequest{Attributes: []string{"emails[type eq"}}); err == nil {
			t.Fatal("a bad attribute path must fail the read")
		}
	})
}

func TestParseAttrPathExported(t *testing.T) {
	for _, ok := range []string{"userName", "name.givenName", `emails[type eq "work"].value`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"} {
		if _, err := ParseAttrPath(ok); err != nil {
			t.Errorf("ParseAttrPath(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "emails[", "a b", "name..x"} {
		if _, err := ParseAttrPath(bad); err == nil {
			t.Errorf("ParseAttrPath(%q) succeeded", bad)
		}
	}
}

// randomIdP fills st with a random IdP: users with varied attributes
// (some inactive, some deleted again), groups nesting each other (cycles
// included, nested groups stored untyped as Entra sends them) and dangling
// member ids. It returns the ids of every user and group it created,
// deleted ones included.
func randomIdP(t *testing.T, st store.SCIM, rng *rand.Rand, nUsers, nGroups int) (users, groups []string) {
	t.Helper()
	ctx := t.Context()
	for i := range nUsers {
		name := fmt.Sprintf("user%03d@example.com", i)
		attrs := map[string]any{"userName": name, "active": rng.IntN(5) != 0}
		if rng.IntN(3) != 0 {
			attrs["name"] = map[string]any{"givenName": fmt.Sprintf("Given%d", rng.IntN(50))}
		}
		switch rng.IntN(3) {
		case 0:
			attrs["emails"] = []any{map[string]any{"type": "work", "value": "w" + name}}
		case 1:
			attrs["emails"] = []any{map[string]any{"type": "home", "value": "h" + name}, map[string]any{"value": "p" + name, "primary": true}}
		}
		if rng.IntN(2) == 0 {
			attrs["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = map[string]any{"department": fmt.Sprintf("dept%d", rng.IntN(7))}
		}
		raw, err := json.Marshal(attrs)
		if err != nil {
			t.Fatal(err)
		}
		u := &store.User{IDP: "entra", UserName: name, Active: attrs["active"].(bool), Attributes: raw}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	for i := range nGroups {
		g := &store.Group{IDP: "entra", DisplayName: fmt.Sprintf("group%02d", i)}
		if err := st.CreateGroup(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
		groups = append(groups, g.ID)
	}
	for _, g := range groups {
		var members []store.Member
		for range rng.IntN(25) {
			members = append(members, store.Member{ID: users[rng.IntN(len(users))], Type: "User"})
		}
		for range rng.IntN(3) {
			// Untyped, as Entra adds nested groups: stored as a User.
			members = append(members, store.Member{ID: groups[rng.IntN(len(groups))]})
		}
		if rng.IntN(4) == 0 {
			members = append(members, store.Member{ID: fmt.Sprintf("dangling-%d", rng.IntN(100)), Type: "User"})
		}
		if err := st.AddMembers(ctx, "entra", g, members); err != nil {
			t.Fatal(err)
		}
	}
	for range nUsers / 20 {
		id := users[rng.IntN(len(users))]
		if err := st.DeleteUser(ctx, "entra", id); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	return users, groups
}

// restrict is what ReadScope(t) must return, computed from a full Read:
// the users t names that exist, the users under t's groups, and the groups
// that hold any of them, with their members among them.
func restrict(full *plan.Snapshot, tc plan.Touched) *plan.Snapshot {
	exists := map[string]bool{}
	for _, u := range full.Users {
		exists[u.ID] = true
	}
	scope := map[string]bool{}
	for _, id := range tc.Users {
		if exists[id] {
			scope[id] = true
		}
	}
	for _, g := range full.Groups {
		if slices.Contains(tc.Groups, g.ID) {
			for _, id := range g.MemberIDs {
				scope[id] = true
			}
		}
	}
	out := &plan.Snapshot{}
	for _, u := range full.Users {
		if scope[u.ID] {
			out.Users = append(out.Users, u)
		}
	}
	for _, g := range full.Groups {
		var members []string
		for _, id := range g.MemberIDs {
			if scope[id] {
				members = append(members, id)
			}
		}
		if len(members) > 0 {
			out.Groups = append(out.Groups, plan.SourceGroup{ID: g.ID, Name: g.Name, MemberIDs: members})
		}
	}
	return out
}

// noFullReads is a store on which a read of the whole IdP fails the test.
type noFullReads struct {
	store.SCIM
	t *testing.T
}

func (n noFullReads) ListUsers(context.Context, string, store.Page) ([]*store.User, error) {
	n.t.Error("ReadScope listed the IdP's users")
	return nil, errors.New("listed users")
}

func (n noFullReads) ListGroups(context.Context, string, store.Page) ([]*store.Group, error) {
	n.t.Error("ReadScope listed the IdP's groups")
	return nil, errors.New("listed groups")
}

func (n noFullReads) Memberships(context.Context, string, func(string, store.Member) error) error {
	n.t.Error("ReadScope streamed the IdP's memberships")
	return errors.New("streamed memberships")
}

// TestReadScopeIsReadRestricted checks, on random IdPs in the real SQLite
// store, that ReadScope(t) is Read() restricted to t's users, for random
// t, and that it never reads the whole IdP.
func TestReadScopeIsReadRestricted(t *testing.T) {
	attrs := []string{"userName", "active", "name.givenName", `emails[type eq "work"].value`,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 10))
			st := openSQLite(t)
			users, groups := randomIdP(t, st, rng, 300, 40)
			req := plan.ReadRequest{Attributes: attrs}
			full, err := NewSource(st, "entra").Read(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			nu, ng := len(full.Users), len(full.Groups)
			scoped := NewSource(noFullReads{SCIM: st, t: t}, "entra")
			for i := range 60 {
				var tc plan.Touched
				for range rng.IntN(8) {
					tc.Users = append(tc.Users, users[rng.IntN(len(users))])
				}
				if rng.IntN(4) == 0 {
					tc.Users = append(tc.Users, "no-such-user")
				}
				for range rng.IntN(3) {
					tc.Groups = append(tc.Groups, groups[rng.IntN(len(groups))])
				}
				got, counts, err := scoped.ReadScope(t.Context(), req, tc)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(restrict(full, tc), got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("scope %d %+v: ReadScope differs from Read restricted (-want +got):\n%s", i, tc, diff)
				}
				if counts.Users != nu || counts.Groups != ng {
					t.Errorf("counts %+v, want %d users and %d groups", counts, nu, ng)
				}
			}
		})
	}
}
