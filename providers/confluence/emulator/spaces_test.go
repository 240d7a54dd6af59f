package emulator_test

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/providers/confluence/emulator"
)

// spacePerm is the part of a SpacePermission or GlobalPermission the tests
// compare.
type spacePerm struct {
	Operation struct {
		TargetType   string `json:"targetType"`
		OperationKey string `json:"operationKey"`
	} `json:"operation"`
	Subject struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
	} `json:"subject"`
	SpaceKey string `json:"spaceKey"`
}

func perms(t *testing.T, a answer) []string {
	t.Helper()
	var ps []spacePerm
	if err := json.Unmarshal(a.body, &ps); err != nil {
		t.Fatalf("not a permission array: %v\n%s", err, a.body)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.SpaceKey+":"+p.Subject.Type+":"+p.Subject.DisplayName+":"+p.Operation.TargetType+" "+p.Operation.OperationKey)
	}
	return out
}

func TestSpacePermissions(t *testing.T) {
	s, c := newRaw(t, emulator.Options{PageLimit: 2})
	c.expect("POST", "/rest/api/admin/group", `{"type":"group","name":"Eng"}`, 200)
	for _, k := range []string{"ENG", "DOCS", "OPS"} {
		c.expect("POST", "/rest/api/space", `{"key":"`+k+`","name":"Space `+k+`"}`, 200)
	}
	c.expectRestError("POST", "/rest/api/space", `{"key":"bad key","name":"x"}`, 400)
	c.expectRestError("GET", "/rest/api/space/NOPE", "", 404)
	if got := c.expect("GET", "/rest/api/space/ENG", "", 200).json(t); got["key"] != "ENG" || got["name"] != "Space ENG" {
		t.Errorf("space: %v", got)
	}

	// Paging: three spaces at a cap of two.
	p1 := c.expect("GET", "/rest/api/space?limit=10", "", 200).json(t)
	if len(p1["results"].([]any)) != 2 || p1["_links"].(map[string]any)["next"] == nil {
		t.Errorf("first page: %v", p1)
	}
	p2 := c.expect("GET", "/rest/api/space?start=2&limit=2", "", 200).json(t)
	if len(p2["results"].([]any)) != 1 || p2["_links"].(map[string]any)["next"] != nil {
		t.Errorf("last page: %v", p2)
	}

	c.expect("PUT", "/rest/api/space/ENG/permissions/group/ENG/grant",
		`[{"targetType":"space","operationKey":"read"},{"targetType":"page","operationKey":"create"}]`, 204)
	c.expect("PUT", "/rest/api/space/DOCS/permissions/group/eng/grant", `[{"targetType":"space","operationKey":"read"}]`, 204)
	c.expectRestError("PUT", "/rest/api/space/ENG/permissions/group/eng/grant", `[{"targetType":"application","operationKey":"use"}]`, 400)
	c.expectRestError("PUT", "/rest/api/space/ENG/permissions/group/nope/grant", `[{"targetType":"space","operationKey":"read"}]`, 404)
	c.expectRestError("PUT", "/rest/api/space/NOPE/permissions/group/eng/grant", `[{"targetType":"space","operationKey":"read"}]`, 404)
	c.expectRestError("PUT", "/rest/api/space/ENG/permissions/group/eng/grant", `{`, 400)

	want := []string{"ENG:group:eng:page create", "ENG:group:eng:space read"}
	if diff := cmp.Diff(want, perms(t, c.expect("GET", "/rest/api/space/ENG/permissions", "", 200))); diff != "" {
		t.Errorf("space permissions (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, perms(t, c.expect("GET", "/rest/api/space/ENG/permissions/group/Eng", "", 200))); diff != "" {
		t.Errorf("group's space permissions (-want +got):\n%s", diff)
	}
	if got := perms(t, c.expect("GET", "/rest/api/space/OPS/permissions/group/eng", "", 200)); len(got) != 0 {
		t.Errorf("OPS grants eng %v", got)
	}
	c.expectRestError("GET", "/rest/api/space/ENG/permissions/group/nope", "", 404)

	// Revoking what was not granted is silently skipped.
	c.expect("PUT", "/rest/api/space/ENG/permissions/group/eng/revoke",
		`[{"targetType":"page","operationKey":"create"},{"targetType":"page","operationKey":"delete"}]`, 204)
	if diff := cmp.Diff([]string{"ENG:group:eng:space read"}, perms(t, c.expect("GET", "/rest/api/space/ENG/permissions", "", 200))); diff != "" {
		t.Errorf("after revoke (-want +got):\n%s", diff)
	}

	// Global permissions.
	c.expect("PUT", "/rest/api/permissions/group/eng/grant", `[{"targetType":"application","operationKey":"use"},{"targetType":"space","operationKey":"create"}]`, 204)
	c.expectRestError("PUT", "/rest/api/permissions/group/eng/grant", `[{"targetType":"page","operationKey":"create"}]`, 400)
	c.expectRestError("GET", "/rest/api/permissions/group/nope", "", 404)
	wantGlobal := []string{":group:eng:application use", ":group:eng:space create"}
	if diff := cmp.Diff(wantGlobal, perms(t, c.expect("GET", "/rest/api/permissions/group/ENG", "", 200))); diff != "" {
		t.Errorf("global permissions (-want +got):\n%s", diff)
	}
	c.expect("PUT", "/rest/api/permissions/group/eng/revoke", `[{"targetType":"space","operationKey":"create"}]`, 204)
	if diff := cmp.Diff(wantGlobal[:1], perms(t, c.expect("GET", "/rest/api/permissions", "", 200))); diff != "" {
		t.Errorf("all global permissions (-want +got):\n%s", diff)
	}

	// Only administrators read permissions.
	seedUsers(t, s, 1)
	s.SetToken("user-pat", "u000")
	c.as("Bearer user-pat").expectRestError("GET", "/rest/api/space/ENG/permissions", "", 403)
	c.as("Bearer user-pat").expectRestError("GET", "/rest/api/permissions/group/eng", "", 403)

	// Deleting a group drops its permissions, as Confluence does.
	c.expect("DELETE", "/rest/api/admin/group/eng", "", 204)
	for _, sp := range s.Spaces() {
		if len(sp.Permissions) != 0 {
			t.Errorf("space %s keeps %v after the group was deleted", sp.Key, sp.Permissions)
		}
	}
	if g := s.GlobalPermissions(); len(g) != 0 {
		t.Errorf("global permissions kept: %v", g)
	}
}

func TestSpacesPersist(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	s, _ := newRaw(t, emulator.Options{DataFile: file})
	if err := s.SeedGroups(emulator.Group{Name: "eng"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedSpaces(emulator.Space{Key: "ENG", Name: "Engineering", Permissions: []emulator.Permission{
		{SubjectType: "group", Subject: "ENG", TargetType: "space", Operation: "read"},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedGlobalPermissions(emulator.Permission{SubjectType: "group", Subject: "eng", TargetType: "application", Operation: "use"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedSpaces(emulator.Space{Key: "X", Name: "x", Permissions: []emulator.Permission{
		{SubjectType: "group", Subject: "eng", TargetType: "application", Operation: "use"},
	}}); err == nil {
		t.Errorf("a global operation was accepted as a space permission")
	}
	again, err := emulator.New(emulator.Options{DataFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s.Spaces(), again.Spaces()); diff != "" {
		t.Errorf("spaces after restart:\n%s", diff)
	}
	if diff := cmp.Diff(s.GlobalPermissions(), again.GlobalPermissions()); diff != "" {
		t.Errorf("global permissions after restart:\n%s", diff)
	}
}
