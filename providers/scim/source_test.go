package scim

import (
	"context"
	"testing"

	"github.com/confsync/confsync/plan"
	"github.com/google/go-cmp/cmp"
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
