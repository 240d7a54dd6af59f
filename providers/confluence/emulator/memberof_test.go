package emulator_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/confluence/emulator"
)

// TestMemberOf reads a user's direct groups: paged with a default limit
// of 200 and _links.next, by username (any case) or key, 404 for a
// missing user, 400 without either.
func TestMemberOf(t *testing.T) {
	s, c := newRaw(t, emulator.Options{PageLimit: 1000})
	seedUsers(t, s, 2)
	var gs []emulator.Group
	for i := range 250 {
		gs = append(gs, emulator.Group{Name: fmt.Sprintf("G%03d", i), Members: []string{"u000"}})
	}
	gs = append(gs, emulator.Group{Name: "other", Members: []string{"u001"}})
	if err := s.SeedGroups(gs...); err != nil {
		t.Fatal(err)
	}
	var seen []string
	path := "/rest/api/user/memberof?username=U000"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		m := c.expect("GET", path, "", 200).json(t)
		res := m["results"].([]any)
		if pages == 0 && (m["limit"] != float64(200) || len(res) != 200) {
			t.Errorf("first page: limit %v, %d results; want the default 200", m["limit"], len(res))
		}
		for _, r := range res {
			g := r.(map[string]any)
			if g["type"] != "group" {
				t.Errorf("result %v is not a group", g)
			}
			seen = append(seen, g["name"].(string))
		}
		next, ok := m["_links"].(map[string]any)["next"].(string)
		if !ok {
			break
		}
		if !strings.HasPrefix(next, "/rest/api/user/memberof?") {
			t.Fatalf("next = %q", next)
		}
		path = next
	}
	if len(seen) != 250 || seen[0] != "g000" || seen[249] != "g249" {
		t.Errorf("u000's groups: %d, %v ... %v", len(seen), seen[:1], seen[len(seen)-1:])
	}
	u, _ := s.User("u001")
	m := c.expect("GET", "/rest/api/user/memberof?key="+u.Key, "", 200).json(t)
	if res := m["results"].([]any); len(res) != 1 || res[0].(map[string]any)["name"] != "other" {
		t.Errorf("u001's groups by key: %v", res)
	}
	if _, ok := m["_links"].(map[string]any)["next"]; ok {
		t.Errorf("next link on the only page")
	}
	if msg := c.expectRestError("GET", "/rest/api/user/memberof?username=nobody", "", 404); !strings.Contains(msg, "nobody") {
		t.Errorf("404 message %q", msg)
	}
	c.expectRestError("GET", "/rest/api/user/memberof", "", 400)
	c.expectRestError("GET", "/rest/api/user/memberof?username=u000&limit=x", "", 400)
}
