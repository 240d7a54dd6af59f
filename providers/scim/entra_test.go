package scim

import (
	"net/http"
	"testing"
)

// TestEntraProvisioningCycle replays the cycle of docs/scim.md (after the
// notes' §1.10): Test Connection, schema discovery, users created after a
// miss, manager linked by a separate PATCH, a group created empty and
// filled by PATCH, attribute updates, member removal, deprovisioning and
// deletes, in Entra's own request shapes.
func TestEntraProvisioningCycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		// 1. Test Connection: a random GUID as the matching attribute.
		r := expect(t, ts.do(t, "GET", "/Users?filter=userName+eq+%220c8a5b5e-4d3f-4a6c-9a0e-2f1d7c3b9e11%22", nil), 200)
		m := r.json(t)
		if m["totalResults"] != 0.0 || len(m["Resources"].([]any)) != 0 {
			t.Fatalf("test connection: %s", r.body)
		}
		expect(t, ts.do(t, "GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%2201234567-89ab-cdef-0123-456789abcdef%22", nil), 200)
		// 2. Schema discovery.
		r = expect(t, ts.do(t, "GET", "/Schemas", nil), 200)
		if n := len(r.json(t)["Resources"].([]any)); n != 3 {
			t.Fatalf("%d schemas, want 3", n)
		}
		// 3-5. Users: query, miss, create.
		create := func(userName, display, ext string) string {
			t.Helper()
			r := expect(t, ts.do(t, "GET", "/Users?filter=userName+eq+%22"+userName+"%22", nil), 200)
			if r.json(t)["totalResults"] != 0.0 {
				t.Fatalf("user %s already there", userName)
			}
			r = expect(t, ts.do(t, "POST", "/Users", `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"externalId": "`+ext+`",
				"userName": "`+userName+`",
				"active": true,
				"displayName": "`+display+`",
				"title": "Engineer",
				"emails": [{"primary": true, "type": "work", "value": "`+userName+`"}],
				"meta": {"resourceType": "User"},
				"name": {"formatted": "`+display+`", "familyName": "F", "givenName": "G"},
				"roles": [],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
			}`), 201)
			u := r.json(t)
			id, _ := u["id"].(string)
			if id == "" || r.header.Get("Location") != ts.srv.URL+"/scim/v2/entra/Users/"+id {
				t.Fatalf("create: id %q, Location %q", id, r.header.Get("Location"))
			}
			if r.header.Get("ETag") == "" || get(u, "meta.version") != r.header.Get("ETag") || get(u, "meta.resourceType") != "User" {
				t.Fatalf("create: meta %v, ETag %q", u["meta"], r.header.Get("ETag"))
			}
			return id
		}
		alice := create("alice@contoso.com", "Alice", "alice")
		bob := create("bob@contoso.com", "Bob", "bob")
		// 6. Manager as Entra sends it: the full URN path, a bare id.
		r = expect(t, ts.do(t, "PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"`+bob+`"}]}`), 200)
		if v := get(r.json(t), EnterpriseSchema+".manager.value"); v != bob {
			t.Fatalf("manager %v, want {value: %s}: %s", v, bob, r.body)
		}
		// 7-9. Group: query, create empty, add members with $ref null.
		r = expect(t, ts.do(t, "GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22", nil), 200)
		if r.json(t)["totalResults"] != 0.0 {
			t.Fatal("group found before creation")
		}
		r = expect(t, ts.do(t, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
			"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Engineering","meta":{"resourceType":"Group"}}`), 201)
		g := r.json(t)["id"].(string)
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+alice+`"},{"$ref":null,"value":"`+bob+`"}]}]}`), 204)
		r = expect(t, ts.do(t, "GET", "/Groups/"+g, nil), 200)
		if n := len(r.json(t)["members"].([]any)); n != 2 {
			t.Fatalf("%d members, want 2: %s", n, r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Groups?excludedAttributes=members&filter=displayName+eq+%22engineering%22", nil), 200)
		if res := r.json(t)["Resources"].([]any); len(res) != 1 || res[0].(map[string]any)["members"] != nil {
			t.Fatalf("group by displayName (other case, members excluded): %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users/"+alice, nil), 200)
		if get(r.json(t), "groups.0.value") != g {
			t.Fatalf("alice's groups: %s", r.body)
		}
		// 10. Next cycle: attribute updates, the flagged path-less form too.
		r = expect(t, ts.do(t, "PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"alice.new@contoso.com"},
			{"op":"Replace","path":"name.familyName","value":"Newname"},
			{"op":"replace","value":{"displayName":"Alice N","name.givenName":"Al","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"42"}}]}`), 200)
		u := r.json(t)
		for path, want := range map[string]any{
			"emails.0.value": "alice.new@contoso.com", "emails.0.type": "work", "name.familyName": "Newname",
			"name.givenName": "Al", "displayName": "Alice N", EnterpriseSchema + ".employeeNumber": "42",
			EnterpriseSchema + ".department": "R&D", EnterpriseSchema + ".manager.value": bob,
		} {
			if got := get(u, path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		if u["name.givenName"] != nil {
			t.Errorf("path-less replace created a literal key: %s", r.body)
		}
		// 11. Rename the group.
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"Engineering EU"}]}`), 204)
		// 12. Remove bob the default way (value list), then re-add and remove the flagged way.
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"`+bob+`"}]}]}`), 204)
		r = expect(t, ts.do(t, "GET", "/Groups/"+g, nil), 200)
		gm := r.json(t)
		if gm["displayName"] != "Engineering EU" || len(gm["members"].([]any)) != 1 || get(gm, "members.0.value") != alice {
			t.Fatalf("after rename and removal: %s", r.body)
		}
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+bob+`"}]},{"op":"remove","path":"members[value eq \"`+bob+`\"]"}]}`), 204)
		r = expect(t, ts.do(t, "GET", "/Groups/"+g+"?attributes=members", nil), 200)
		if len(r.json(t)["members"].([]any)) != 1 {
			t.Fatalf("add then remove in one PATCH: %s", r.body)
		}
		// 13. Deprovision alice with the default job's string boolean.
		r = expect(t, ts.do(t, "PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`), 200)
		if r.json(t)["active"] != false {
			t.Fatalf("active after \"False\": %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users?filter=userName+eq+%22ALICE%40contoso.com%22", nil), 200)
		if get(r.json(t), "Resources.0.active") != false {
			t.Fatalf("a disabled user must still be found: %s", r.body)
		}
		// Remove the manager the validator's way.
		r = expect(t, ts.do(t, "PATCH", "/Users/"+alice, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`), 200)
		if v := get(r.json(t), EnterpriseSchema+".manager"); v != nil {
			t.Fatalf("manager after removal: %v", v)
		}
		// 14-17. Deletes, a duplicate, a deleted id.
		expect(t, ts.do(t, "DELETE", "/Users/"+bob, nil), 204)
		expect(t, ts.do(t, "DELETE", "/Groups/"+g, nil), 204)
		expectError(t, ts.do(t, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Alice@Contoso.com","active":true}`), http.StatusConflict, "uniqueness")
		expectError(t, ts.do(t, "GET", "/Users/"+bob, nil), 404, "")
		expectError(t, ts.do(t, "DELETE", "/Users/"+bob, nil), 404, "")
		if ts.changes["entra"] == 0 || ts.changes["okta"] != 0 {
			t.Fatalf("OnChange calls: %v", ts.changes)
		}
	})
}

// TestOktaPatterns follows Okta's requests: count=100 paging, PUT for
// profile updates, path-less replace of active, mixed member ops.
func TestOktaPatterns(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		okta := func(method, path string, body any) response {
			return ts.doAs(t, testOktaToken, method, "/scim/v2/okta"+path, body, map[string]string{"Content-Type": "application/json"})
		}
		expect(t, okta("GET", "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100", nil), 200)
		var ids []string
		for i := range 7 {
			r := expect(t, okta("POST", "/Users", map[string]any{
				"schemas": []string{UserSchema}, "userName": "user" + itoa(i) + "@okta.local",
				"name":        map[string]any{"givenName": "G", "familyName": "F"},
				"emails":      []any{map[string]any{"primary": true, "value": "user" + itoa(i) + "@okta.local", "type": "work"}},
				"displayName": "U", "locale": "en-US", "externalId": "00u" + itoa(i), "groups": []any{}, "password": "secret!", "active": true,
			}), 201)
			u := r.json(t)
			if u["password"] != nil {
				t.Fatal("password returned")
			}
			ids = append(ids, u["id"].(string))
		}
		// Paging: every user exactly once, stable order.
		seen := map[string]bool{}
		for start := 1; start <= 7; start += 3 {
			r := expect(t, okta("GET", "/Users?startIndex="+itoa(start)+"&count=3", nil), 200)
			m := r.json(t)
			if m["totalResults"] != 7.0 || m["startIndex"] != float64(start) {
				t.Fatalf("page at %d: %s", start, r.body)
			}
			for _, res := range m["Resources"].([]any) {
				id := res.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("%s seen twice", id)
				}
				seen[id] = true
			}
		}
		if len(seen) != 7 {
			t.Fatalf("paged %d users, want 7", len(seen))
		}
		r := expect(t, okta("GET", "/Users?count=0", nil), 200)
		if m := r.json(t); m["totalResults"] != 7.0 || len(m["Resources"].([]any)) != 0 {
			t.Fatalf("count=0: %s", r.body)
		}
		// Profile update by PUT after GET.
		u := expect(t, okta("GET", "/Users/"+ids[0], nil), 200).json(t)
		u["name"] = map[string]any{"givenName": "Changed", "familyName": "F"}
		r = expect(t, okta("PUT", "/Users/"+ids[0], u), 200)
		if get(r.json(t), "name.givenName") != "Changed" || r.json(t)["externalId"] != "00u0" {
			t.Fatalf("PUT: %s", r.body)
		}
		// Deactivate.
		r = expect(t, okta("PATCH", "/Users/"+ids[0], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`), 200)
		if r.json(t)["active"] != false {
			t.Fatalf("deactivate: %s", r.body)
		}
		// Group push, rename with the id repeated, mixed membership ops.
		r = expect(t, okta("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`), 201)
		g := r.json(t)["id"].(string)
		expect(t, okta("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"`+g+`","displayName":"Test SCIMv2 renamed"}}]}`), 204)
		expect(t, okta("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+ids[1]+`","display":"user1@okta.local"},{"value":"`+ids[2]+`"}]}]}`), 204)
		expect(t, okta("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+ids[1]+`\"]"},{"op":"add","path":"members","value":[{"value":"`+ids[3]+`"}]}]}`), 204)
		r = expect(t, okta("GET", "/Groups/"+g, nil), 200)
		gm := r.json(t)
		if gm["displayName"] != "Test SCIMv2 renamed" || len(gm["members"].([]any)) != 2 {
			t.Fatalf("group: %s", r.body)
		}
		expect(t, okta("PATCH", "/Groups/"+g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"members","value":[{"value":"`+ids[4]+`"}]}]}`), 204)
		r = expect(t, okta("GET", "/Groups?filter=displayName+eq+%22test+scimv2+RENAMED%22&count=100&startIndex=1", nil), 200)
		if get(r.json(t), "Resources.0.members.0.value") != ids[4] {
			t.Fatalf("replace members: %s", r.body)
		}
		expect(t, okta("DELETE", "/Groups/"+g, nil), 204)
	})
}
