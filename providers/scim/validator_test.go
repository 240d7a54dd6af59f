package scim

import (
	"net/http"
	"testing"
)

// TestValidatorShapes replays the request shapes of Microsoft's SCIM
// Validator (notes §6.3) and its Logic App checks (§6.4): a full create,
// a verbose replace, case-insensitive matching, manager add/replace/remove,
// null and empty updates, duplicates, group replaces and member changes,
// multiple operations on one attribute, double deletes.
func TestValidatorShapes(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		create := `{
		  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		  "userName": "Dale.Mohr@romaguera.uk", "active": true, "displayName": "XYZ", "title": "Mr", "nickName": "DM",
		  "profileUrl": "https://example.com/dm", "userType": "Employee", "preferredLanguage": "en-US", "locale": "en-US", "timezone": "Europe/London",
		  "externalId": "ext-dale",
		  "name": {"formatted": "Dale Mohr", "familyName": "Mohr", "givenName": "Dale"},
		  "emails": [{"type": "work", "value": "dale@romaguera.uk", "primary": true}],
		  "phoneNumbers": [{"type": "work", "value": "1"}, {"type": "mobile", "value": "2"}, {"type": "fax", "value": "3"}],
		  "addresses": [{"type": "work", "formatted": "F", "streetAddress": "S", "locality": "L", "region": "R", "postalCode": "P", "country": "C", "primary": true}],
		  "roles": [{"primary": "True", "display": "R", "value": "r", "type": "WindowsAzureActiveDirectoryRole"}],
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1", "department": "D", "costCenter": "CC", "organization": "O", "division": "DV", "manager": {"value": "XYMKVVRYDIOO"}}
		}`
		r := expect(t, ts.do(t, "POST", "/Users", create), 201)
		id := r.json(t)["id"].(string)
		if get(r.json(t), "roles.0.primary") != true {
			t.Fatalf("roles primary \"True\": %s", r.body)
		}
		expectError(t, ts.do(t, "POST", "/Users", create), http.StatusConflict, "uniqueness")
		// Matching with a different case.
		r = expect(t, ts.do(t, "GET", "/Users?filter=userName+eq+%22dale.mohr%40ROMAGUERA.uk%22", nil), 200)
		if r.json(t)["totalResults"] != 1.0 {
			t.Fatalf("different case: %s", r.body)
		}
		// Verbose replace.
		r = expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		  {"op":"replace","path":"displayName","value":"New"},
		  {"op":"replace","path":"title","value":"Dr"},
		  {"op":"replace","path":"name.formatted","value":"N F"},
		  {"op":"replace","path":"name.familyName","value":"F"},
		  {"op":"replace","path":"name.givenName","value":"N"},
		  {"op":"replace","path":"emails[type eq \"work\"].value","value":"new@romaguera.uk"},
		  {"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"22"},
		  {"op":"replace","path":"phoneNumbers[type eq \"fax\"].value","value":"33"},
		  {"op":"replace","path":"addresses[type eq \"work\"].locality","value":"LL"},
		  {"op":"replace","path":"addresses[type eq \"work\"].postalCode","value":"PP"},
		  {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"DD"},
		  {"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"CC2"},
		  {"op":"replace","path":"active","value":false},
		  {"op":"replace","path":"externalId","value":"ext-2"}]}`), 200)
		u := r.json(t)
		for path, want := range map[string]any{"displayName": "New", "name.formatted": "N F", "emails.0.value": "new@romaguera.uk", "phoneNumbers.1.value": "22",
			"phoneNumbers.2.value": "33", "addresses.0.locality": "LL", EnterpriseSchema + ".department": "DD", "active": false, "externalId": "ext-2"} {
			if got := get(u, path); got != want {
				t.Errorf("%s = %v, want %v", path, got, want)
			}
		}
		// Update userName, then find it by the new name only.
		expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"userName","value":"renamed@romaguera.uk"}]}`), 200)
		r = expect(t, ts.do(t, "GET", "/Users?filter=userName+eq+%22Dale.Mohr%40romaguera.uk%22", nil), 200)
		if r.json(t)["totalResults"] != 0.0 {
			t.Fatal("old userName still found")
		}
		// Manager: add, replace, remove with an empty value.
		for _, tc := range []struct{ ops, want string }{
			{`[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m1"}]`, "m1"},
			{`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"m2"}}]`, "m2"},
			{`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]`, ""},
		} {
			u := expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":`+tc.ops+`}`), 200).json(t)
			got, _ := get(u, EnterpriseSchema+".manager.value").(string)
			if got != tc.want {
				t.Fatalf("manager %q, want %q", got, tc.want)
			}
		}
		// Null update: empty strings, then nulls, read back as absent.
		expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"nickName","value":""},{"op":"replace","path":"title","value":null},{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division","value":null},{"op":"replace","value":{"locale":null,"timezone":""}}]}`), 200)
		u = expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t)
		for _, k := range []string{"nickName", "title", "locale", "timezone"} {
			if _, ok := u[k]; ok {
				t.Errorf("%s still set after a null update: %v", k, u[k])
			}
		}
		if get(u, EnterpriseSchema+".division") != nil || get(u, EnterpriseSchema+".organization") != "O" {
			t.Errorf("extension after null update: %v", u[EnterpriseSchema])
		}
		// Multiple ops on different attributes and on the same one.
		u = expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"displayName","value":"A"},{"op":"replace","path":"displayName","value":"B"},{"op":"add","path":"nickName","value":"C"}]}`), 200).json(t)
		if u["displayName"] != "B" || u["nickName"] != "C" {
			t.Fatalf("multiple ops: %v", u)
		}
		// Groups.
		g := expect(t, ts.do(t, "POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"WUZPWMBDDCGI","externalId":"663fa3a8"}`), 201).json(t)["id"].(string)
		expectError(t, ts.do(t, "POST", "/Groups", `{"displayName":"wuzpwmbddcgi"}`), http.StatusConflict, "uniqueness")
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","value":{"externalId":"new-ext"}}]}`), 204)
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","value":{"displayName":"RENAMED"}}]}`), 204)
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","path":"members","value":[{"value":"`+id+`"}]}]}`), 204)
		r = expect(t, ts.do(t, "GET", "/Groups/"+g+"?excludedAttributes=members", nil), 200)
		if m := r.json(t); m["displayName"] != "RENAMED" || m["externalId"] != "new-ext" || m["members"] != nil {
			t.Fatalf("group after replaces: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Groups?filter=displayName+eq+%22renamed%22", nil), 200)
		if get(r.json(t), "Resources.0.members.0.value") != id {
			t.Fatalf("member added by replace: %s", r.body)
		}
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"x"}]},{"op":"remove","path":"members[value eq \"x\"]"}]}`), 204)
		expect(t, ts.do(t, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"remove","path":"members[value eq \"`+id+`\"]"}]}`), 204)
		r = expect(t, ts.do(t, "GET", "/Groups/"+g, nil), 200)
		if n := len(r.json(t)["members"].([]any)); n != 0 {
			t.Fatalf("%d members left: %s", n, r.body)
		}
		// Deletes, twice.
		for _, p := range []string{"/Users/" + id, "/Groups/" + g} {
			expect(t, ts.do(t, "DELETE", p, nil), 204)
			expectError(t, ts.do(t, "DELETE", p, nil), 404, "")
			expectError(t, ts.do(t, "GET", p, nil), 404, "")
		}
		expectError(t, ts.do(t, "DELETE", "/Users/00919288221112222", nil), 404, "")
	})
}
