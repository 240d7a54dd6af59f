package scim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/store"
)

func createUser(t *testing.T, ts *testServer, userName string, extra string) string {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + userName + `"` + extra + `}`
	return expect(t, ts.do(t, "POST", "/Users", body), 201).json(t)["id"].(string)
}

func TestAuth(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		for name, tc := range map[string]struct {
			token, path string
			status      int
		}{
			"no token":           {"", "/scim/v2/entra/Users", 401},
			"wrong token":        {"nope", "/scim/v2/entra/Users", 401},
			"other IdP's token":  {testOktaToken, "/scim/v2/entra/Users", 401},
			"own token":          {testOktaToken, "/scim/v2/okta/Users", 200},
			"unknown IdP":        {testToken, "/scim/v2/nobody/Users", 404},
			"no IdP":             {testToken, "/scim/v2/", 404},
			"not a SCIM path":    {testToken, "/elsewhere", 404},
			"unknown endpoint":   {testToken, "/scim/v2/entra/Things", 404},
			"bulk":               {testToken, "/scim/v2/entra/Bulk", 501},
			"lower-case, slash":  {testToken, "/scim/v2/entra/users/", 200},
			"Entra's flag":       {testToken, "/scim/v2/entra/Users?aadOptscim062020&filter=userName+eq+%22x%22", 200},
			"config":             {testToken, "/scim/v2/entra/ServiceProviderConfig", 200},
			"resource types":     {testToken, "/scim/v2/entra/ResourceTypes/User", 200},
			"schema by id":       {testToken, "/scim/v2/entra/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", 200},
			"unknown schema":     {testToken, "/scim/v2/entra/Schemas/urn:x", 404},
			"discovery needs it": {"", "/scim/v2/entra/Schemas", 401},
		} {
			t.Run(name, func(t *testing.T) {
				r := ts.doAs(t, tc.token, "GET", tc.path, nil, nil)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if tc.status >= 400 {
					expectError(t, r, tc.status, "")
				}
				if tc.status == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="confsync"` {
					t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			})
		}
		// "Basic" is not a bearer token even with the right secret.
		r := ts.doAs(t, "", "GET", "/scim/v2/entra/Users", nil, map[string]string{"Authorization": "Basic " + testToken})
		expectError(t, r, 401, "")
		// Tokens created in the store are accepted, for their IdP only.
		tok := "store-token-abcdefghijklmnopqrstuvwxyz"
		switch s := st.(type) {
		case *memStore:
			s.hashes["okta"] = []string{hashHex(tok)}
		case store.Tokens:
			if err := s.CreateToken(context.Background(), &store.Token{ID: "t1", IDP: "okta", SHA256: hashHex(tok), Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		expect(t, ts.doAs(t, tok, "GET", "/scim/v2/okta/Users", nil, nil), 200)
		expectError(t, ts.doAs(t, tok, "GET", "/scim/v2/entra/Users", nil, nil), 401, "")
	})
}

func TestBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		id := createUser(t, ts, "bad@example.com", "")
		gr := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"G1"}`), 201).json(t)
		gid := gr["id"].(string)
		patch := func(ops string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":` + ops + `}`
		}
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			scimType           string
		}{
			{"malformed JSON", "POST", "/Users", `{"userName": tre`, 400, "invalidSyntax"},
			{"empty body", "POST", "/Users", ``, 400, "invalidSyntax"},
			{"array body", "POST", "/Users", `[]`, 400, "invalidSyntax"},
			{"two values", "POST", "/Users", `{"userName":"a"} {}`, 400, "invalidSyntax"},
			{"no userName", "POST", "/Users", `{"active":true}`, 400, "invalidValue"},
			{"userName not a string", "POST", "/Users", `{"userName":12}`, 400, "invalidValue"},
			{"active not a boolean", "POST", "/Users", `{"userName":"x","active":"perhaps"}`, 400, "invalidValue"},
			{"name not an object", "POST", "/Users", `{"userName":"x","name":17}`, 400, "invalidValue"},
			{"duplicate userName", "POST", "/Users", `{"userName":"BAD@example.com"}`, 409, "uniqueness"},
			{"group without displayName", "POST", "/Groups", `{"members":[]}`, 400, "invalidValue"},
			{"duplicate group", "POST", "/Groups", `{"displayName":"g1"}`, 409, "uniqueness"},
			{"member without value", "POST", "/Groups", `{"displayName":"G2","members":[{"display":"x"}]}`, 400, "invalidValue"},
			{"bad filter", "GET", "/Users?filter=userName+eq", nil, 400, "invalidFilter"},
			{"bad filter op", "GET", "/Users?filter=userName+xx+%22a%22", nil, 400, "invalidFilter"},
			{"bad startIndex", "GET", "/Users?startIndex=abc", nil, 400, "invalidValue"},
			{"bad attributes", "GET", "/Users?attributes=a%5B", nil, 400, "invalidValue"},
			{"unknown user", "GET", "/Users/nope", nil, 404, ""},
			{"unknown group", "PATCH", "/Groups/nope", patch(`[{"op":"add","path":"members","value":[{"value":"x"}]}]`), 404, ""},
			{"PUT id mismatch", "PUT", "/Users/" + id, `{"id":"other","userName":"bad@example.com"}`, 400, "mutability"},
			{"PUT no userName", "PUT", "/Users/" + id, `{"userame":"x"}`, 400, "invalidValue"},
			{"PATCH no Operations", "PATCH", "/Users/" + id, `{"schemas":[]}`, 400, "invalidSyntax"},
			{"PATCH bad op", "PATCH", "/Users/" + id, patch(`[{"op":"move","path":"userName","value":"x"}]`), 400, "invalidSyntax"},
			{"PATCH bad path", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"emails[type eq","value":"x"}]`), 400, "invalidPath"},
			{"PATCH remove no path", "PATCH", "/Users/" + id, patch(`[{"op":"remove"}]`), 400, "noTarget"},
			{"PATCH read-only id", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"id","value":"x"}]`), 400, "mutability"},
			{"PATCH read-only groups", "PATCH", "/Users/" + id, patch(`[{"op":"add","path":"groups","value":[{"value":"x"}]}]`), 400, "mutability"},
			{"PATCH wrong type", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"active","value":"sometimes"}]`), 400, "invalidValue"},
			{"PATCH empty userName", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"userName","value":""}]`), 400, "invalidValue"},
			{"PATCH add no value", "PATCH", "/Users/" + id, patch(`[{"op":"add","path":"title"}]`), 400, "invalidValue"},
			{"PATCH path-less scalar", "PATCH", "/Users/" + id, patch(`[{"op":"replace","value":"x"}]`), 400, "invalidValue"},
			{"PATCH sub of multi", "PATCH", "/Users/" + id, patch(`[{"op":"replace","path":"emails.value","value":"x"}]`), 400, "invalidPath"},
			{"PATCH members filter add", "PATCH", "/Groups/" + gid, patch(`[{"op":"add","path":"members[value eq \"x\"]","value":[{"value":"x"}]}]`), 400, "invalidPath"},
			{"PATCH members sub", "PATCH", "/Groups/" + gid, patch(`[{"op":"replace","path":"members.value","value":"x"}]`), 400, "invalidPath"},
			{"PATCH group displayName empty", "PATCH", "/Groups/" + gid, patch(`[{"op":"replace","path":"displayName","value":""}]`), 400, "invalidValue"},
			{"too large", "POST", "/Users", `{"userName":"big","title":"` + strings.Repeat("x", 2<<20) + `"}`, 413, ""},
			{"NUL in a string", "POST", "/Users", `{"userName":"a\u0000b"}`, 400, "invalidValue"},
			{"NUL in a key", "POST", "/Users", `{"userName":"a","x\u0000":1}`, 400, "invalidValue"},
			{"NUL in a member id", "PATCH", "/Groups/" + gid, patch(`[{"op":"add","path":"members","value":["a\u0000"]}]`), 400, "invalidValue"},
			{"invalid UTF-8 id", "GET", "/Users/%FF%FE", nil, 404, ""},
			{"control character id", "DELETE", "/Groups/a%00b", nil, 404, ""},
			{"NUL in a filter", "GET", "/Users?filter=userName+eq+%22a%5Cu0000%22", nil, 400, "invalidFilter"},
			{"invalid UTF-8 filter", "GET", "/Users?filter=userName+eq+%22%FF%22", nil, 400, "invalidFilter"},
			{"deep nesting", "POST", "/Users", `{"userName":"deep","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, 400, "invalidValue"},
			{"method", "DELETE", "/Users", nil, 405, ""},
			{"search by GET", "GET", "/.search", nil, 405, ""},
			{"search bad body", "POST", "/Users/.search", `{"filter":3}`, 400, "invalidValue"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				expectError(t, ts.do(t, tc.method, tc.path, tc.body), tc.status, tc.scimType)
			})
		}
		// Nothing above changed the user.
		r := expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200)
		if u := r.json(t); u["userName"] != "bad@example.com" || get(u, "meta.version") != `W/"1"` {
			t.Fatalf("user changed by refused requests: %s", r.body)
		}
	})
}

func TestETags(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		id := createUser(t, ts, "etag@example.com", "")
		hdr := func(v string) map[string]string { return map[string]string{"If-Match": v} }
		body := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"T"}]}`
		expectError(t, ts.doAs(t, testToken, "PATCH", "/scim/v2/entra/Users/"+id, body, hdr(`W/"7"`)), 412, "invalidVers")
		r := expect(t, ts.doAs(t, testToken, "PATCH", "/scim/v2/entra/Users/"+id, body, hdr(`W/"1"`)), 200)
		if r.header.Get("ETag") != `W/"2"` {
			t.Fatalf("ETag after PATCH %q", r.header.Get("ETag"))
		}
		expect(t, ts.doAs(t, testToken, "GET", "/scim/v2/entra/Users/"+id, nil, map[string]string{"If-None-Match": `W/"2"`}), 304)
		expectError(t, ts.doAs(t, testToken, "PUT", "/scim/v2/entra/Users/"+id, `{"userName":"etag@example.com"}`, hdr(`W/"1"`)), 412, "invalidVers")
		expect(t, ts.doAs(t, testToken, "PUT", "/scim/v2/entra/Users/"+id, `{"userName":"etag@example.com"}`, hdr(`*`)), 200)
		expectError(t, ts.doAs(t, testToken, "DELETE", "/scim/v2/entra/Users/"+id, nil, hdr(`W/"1"`)), 412, "invalidVers")
		expect(t, ts.doAs(t, testToken, "DELETE", "/scim/v2/entra/Users/"+id, nil, hdr(`W/"3"`)), 204)
		g := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"E"}`), 201)
		gid := g.json(t)["id"].(string)
		expectError(t, ts.doAs(t, testToken, "PATCH", "/scim/v2/entra/Groups/"+gid, `{"Operations":[{"op":"replace","path":"displayName","value":"F"}]}`, hdr(`W/"9"`)), 412, "invalidVers")
		expect(t, ts.doAs(t, testToken, "PATCH", "/scim/v2/entra/Groups/"+gid, `{"Operations":[{"op":"replace","path":"displayName","value":"F"}]}`, hdr(g.header.Get("ETag"))), 204)
	})
}

func TestListsAndFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		ids := map[string]string{}
		for _, u := range []struct{ name, extra string }{
			{"Ann@Example.com", `,"externalId":"E-1","name":{"familyName":"Employee","givenName":"Ann"},"emails":[{"type":"work","value":"ann@example.com"}],"title":"Boss","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}`},
			{"bob@example.org", `,"externalId":"e-1","name":{"familyName":"Employee"},"emails":[{"type":"home","value":"bob@example.org"}],"active":false`},
			{"carl@example.net", `,"name":{"familyName":"Other"},"emails":[{"type":"work","value":"carl@example.net"}],"urn:example:custom:2.0:User":{"tag":"x"}`},
		} {
			ids[u.name] = createUser(t, ts, u.name, u.extra)
		}
		count := func(q string) float64 {
			t.Helper()
			r := expect(t, ts.do(t, "GET", "/Users?"+q, nil), 200)
			m := r.json(t)
			if n := len(m["Resources"].([]any)); float64(n) != m["itemsPerPage"] {
				t.Fatalf("%s: itemsPerPage %v, %d resources", q, m["itemsPerPage"], n)
			}
			return m["totalResults"].(float64)
		}
		for q, want := range map[string]float64{
			"filter=userName+eq+%22ann%40example.com%22":                              1,
			"filter=externalId+eq+%22E-1%22":                                          1,
			"filter=externalId+eq+%22e-1%22":                                          1,
			"filter=id+eq+%22" + ids["bob@example.org"] + "%22":                       1,
			"filter=id+eq+%22nope%22":                                                 0,
			"filter=userName+sw+%22A%22":                                              1,
			"filter=userName+ew+%22.ORG%22":                                           1,
			"filter=userName+co+%22example%22":                                        3,
			"filter=title+pr":                                                         1,
			"filter=not+(title+pr)":                                                   2,
			"filter=active+eq+false":                                                  1,
			"filter=active+eq+true+and+name.familyName+eq+employee":                   1,
			"filter=emails%5Btype+eq+%22work%22%5D":                                   2,
			"filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22CARL%40example.net%22": 1,
			"filter=name.FamilyName+eq+Employee+and+(emails.Value+co+example.com+or+emails.Value+co+example.org)": 2,
			"filter=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department+eq+%22sales%22":         1,
			"filter=urn:example:custom:2.0:User:tag+eq+%22x%22":                                                   1,
			"filter=id+eq+%22" + ids["Ann@Example.com"] + "%22+and+department+eq+%22Sales%22&attributes=id":       1,
			"filter=meta.created+gt+%222000-01-01T00:00:00Z%22":                                                   3,
			"filter=meta.lastModified+lt+%222000-01-01T00:00:00Z%22":                                              0,
			"filter=userName+eq+%22x%22+or+userName+eq+%22bob%40example.org%22":                                   1,
			"count=1":                            3,
			"startIndex=3&count=5":               3,
			"startIndex=10":                      3,
			"count=0&filter=userName+co+%22e%22": 3,
		} {
			if got := count(q); got != want {
				t.Errorf("%s: totalResults %v, want %v", q, got, want)
			}
		}
		// Paging positions.
		r := expect(t, ts.do(t, "GET", "/Users?startIndex=3&count=5", nil), 200)
		if m := r.json(t); len(m["Resources"].([]any)) != 1 || m["startIndex"] != 3.0 {
			t.Fatalf("startIndex=3: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users?startIndex=0&count=-4", nil), 200)
		if m := r.json(t); len(m["Resources"].([]any)) != 0 || m["startIndex"] != 1.0 || m["totalResults"] != 3.0 {
			t.Fatalf("startIndex=0&count=-4: %s", r.body)
		}
		// attributes and excludedAttributes.
		r = expect(t, ts.do(t, "GET", "/Users/"+ids["Ann@Example.com"]+"?attributes=userName,name.givenName", nil), 200)
		u := r.json(t)
		if u["id"] == nil || u["userName"] == nil || get(u, "name.givenName") != "Ann" || get(u, "name.familyName") != nil || u["emails"] != nil {
			t.Fatalf("attributes: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users/"+ids["Ann@Example.com"]+"?excludedAttributes=emails,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", nil), 200)
		u = r.json(t)
		if u["emails"] != nil || u["userName"] == nil || get(u, EnterpriseSchema+".department") != nil {
			t.Fatalf("excludedAttributes: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users/"+ids["Ann@Example.com"]+"?attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", nil), 200)
		u = r.json(t)
		if get(u, EnterpriseSchema+".department") != "Sales" || u["userName"] != nil {
			t.Fatalf("attributes naming a whole extension: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", "/Users/"+ids["Ann@Example.com"]+"?attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,urn:ietf:params:scim:schemas:core:2.0:User:title", nil), 200)
		u = r.json(t)
		if get(u, EnterpriseSchema+".department") != "Sales" || u["title"] != "Boss" || u["name"] != nil {
			t.Fatalf("attributes with URNs: %s", r.body)
		}
		// POST .search on the resource and at the root.
		r = expect(t, ts.do(t, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"b\"","attributes":["userName"],"startIndex":1,"count":10}`), 200)
		if m := r.json(t); m["totalResults"] != 1.0 || get(m, "Resources.0.emails") != nil {
			t.Fatalf("search: %s", r.body)
		}
		expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"Bees"}`), 201)
		r = expect(t, ts.do(t, "POST", "/.search", `{"filter":"userName sw \"b\" or displayName sw \"b\""}`), 200)
		if m := r.json(t); m["totalResults"] != 2.0 {
			t.Fatalf("root search: %s", r.body)
		}
		r = expect(t, ts.do(t, "POST", "/.search", `{"count":1,"startIndex":4}`), 200)
		if m := r.json(t); m["totalResults"] != 4.0 || get(m, "Resources.0.displayName") != "Bees" {
			t.Fatalf("root search paging into groups: %s", r.body)
		}
	})
}

func TestUserPatchSemantics(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		id := createUser(t, ts, "p@example.com", `,"emails":[{"type":"home","value":"h@example.com"}],"phoneNumbers":[{"type":"work","value":"1"}],"roles":[{"value":"a"}]`)
		p := func(ops string) map[string]any {
			t.Helper()
			return expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`), 200).json(t)
		}
		// A work e-mail is created by a filtered replace.
		u := p(`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"w@example.com"}]`)
		if n := len(u["emails"].([]any)); n != 2 || get(u, "emails.1.type") != "work" {
			t.Fatalf("filtered replace: %v", u["emails"])
		}
		// Add appends without duplicating.
		u = p(`[{"op":"add","path":"emails","value":[{"type":"other","value":"o@example.com"},{"type":"work","value":"w@example.com"}]}]`)
		if n := len(u["emails"].([]any)); n != 3 {
			t.Fatalf("add to multi-valued: %v", u["emails"])
		}
		// Remove by filter, remove a sub-attribute, remove by value list.
		u = p(`[{"op":"remove","path":"emails[type eq \"other\"]"},{"op":"remove","path":"phoneNumbers[type eq \"work\"].value"},{"op":"Remove","path":"roles","value":[{"value":"a"}]}]`)
		if n := len(u["emails"].([]any)); n != 2 || get(u, "phoneNumbers.0.value") != nil || u["roles"] != nil {
			t.Fatalf("removes: %v %v %v", u["emails"], u["phoneNumbers"], u["roles"])
		}
		// Booleans as strings, capitalised ops, extension as a whole.
		u = p(`[{"op":"Add","path":"nickName","value":"Babs"},{"op":"REPLACE","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"Department":"D","costCenter":"C"}},{"op":"replace","path":"emails[value eq \"w@example.com\"].primary","value":"True"}]`)
		if u["nickName"] != "Babs" || get(u, EnterpriseSchema+".department") != "D" || get(u, "emails.1.primary") != true {
			t.Fatalf("mixed: %v", u)
		}
		// Entra's legacy manager shape: an array with $ref.
		u = p(`[{"op":"Add","path":"manager","value":[{"$ref":"http://x/Users/m1","value":"m1"}]}]`)
		if get(u, EnterpriseSchema+".manager.value") != "m1" {
			t.Fatalf("legacy manager: %v", u["manager"])
		}
		// Empty-string replace clears (Entra's null update).
		u = p(`[{"op":"replace","path":"nickName","value":""},{"op":"replace","path":"name.givenName","value":"G"}]`)
		if _, ok := u["nickName"]; ok || get(u, "name.givenName") != "G" {
			t.Fatalf("clear: %v", u)
		}
		// A custom extension attribute by full path, not listed in schemas.
		u = p(`[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag","value":"T"}]`)
		if get(u["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"], "tag") != "T" {
			t.Fatalf("custom extension: %v", u)
		}
		// A password is accepted and never kept; unknown multi-valued
		// attributes get values appended.
		u = p(`[{"op":"replace","path":"password","value":"hunter2"},{"op":"replace","value":{"password":"hunter3"}},{"op":"add","path":"tags","value":["a"]},{"op":"add","path":"tags","value":["b","a"]}]`)
		if _, ok := u["password"]; ok || fmt.Sprint(u["tags"]) != "[a b]" {
			t.Fatalf("password or tags: %v", u)
		}
		if raw := string(expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).body); strings.Contains(raw, "hunter") {
			t.Fatalf("password stored: %s", raw)
		}
		// userName changes keep uniqueness.
		createUser(t, ts, "taken@example.com", "")
		expectError(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"userName","value":"TAKEN@example.com"}]}`), 409, "uniqueness")
	})
}

// TestConcurrentPatches sends many PATCHes at once: member additions to
// one group lose no member, and attribute changes to one user lose none.
func TestConcurrentPatches(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		gid := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"crowd"}`), 201).json(t)["id"].(string)
		uid := createUser(t, ts, "busy@example.com", "")
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan string, workers*each*2)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					body := fmt.Sprintf(`{"Operations":[{"op":"Add","path":"members","value":[{"value":"m-%d-%d"}]}]}`, w, i)
					if r := ts.do(t, "PATCH", "/Groups/"+gid, body); r.status != 204 {
						errs <- fmt.Sprintf("group PATCH: %d %s", r.status, r.body)
					}
				}
				body := fmt.Sprintf(`{"Operations":[{"op":"add","path":"urn:example:c:2.0:User:a%d","value":"v"}]}`, w)
				if r := ts.do(t, "PATCH", "/Users/"+uid, body); r.status != 200 {
					errs <- fmt.Sprintf("user PATCH: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		r := expect(t, ts.do(t, "GET", "/Groups/"+gid, nil), 200)
		if n := len(r.json(t)["members"].([]any)); n != workers*each {
			t.Fatalf("%d members after %d concurrent additions", n, workers*each)
		}
		r = expect(t, ts.do(t, "GET", "/Users/"+uid, nil), 200)
		ext, _ := r.json(t)["urn:example:c:2.0:User"].(map[string]any)
		if len(ext) != workers {
			t.Fatalf("%d of %d concurrent attribute additions kept: %s", len(ext), workers, r.body)
		}
	})
}

func TestPanicsAreServerErrors(t *testing.T) {
	var logged strings.Builder
	h := NewServer(Options{Store: panicStore{newMemStore()}, IDPs: []IDP{{Name: "entra", TokenSHA256: []string{hashHex(testToken)}}}, Logger: newTestLogger(&logged)})
	req, _ := http.NewRequest("GET", "/scim/v2/entra/Users/x", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "internal server error") || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("panic answered %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(logged.String(), "boom") || strings.Contains(logged.String(), testToken) {
		t.Fatalf("log: %s", logged.String())
	}
}

type panicStore struct{ *memStore }

func (panicStore) GetUser(context.Context, string, string) (*store.User, error) { panic("boom") }

func TestObserveAndOnChange(t *testing.T) {
	type call struct {
		idp, method string
		status      int
	}
	var mu sync.Mutex
	var calls []call
	var changes []string
	h := NewServer(Options{
		Store: newMemStore(),
		IDPs:  []IDP{{Name: "entra", TokenSHA256: []string{hashHex(testToken)}}},
		Observe: func(idp, method string, status int, d time.Duration) {
			mu.Lock()
			calls = append(calls, call{idp, method, status})
			mu.Unlock()
			if d < 0 {
				t.Errorf("negative duration %v", d)
			}
		},
		OnChange: func(idp string) {
			mu.Lock()
			changes = append(changes, idp)
			mu.Unlock()
		},
	})
	send := func(method, path, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	send("POST", "/scim/v2/entra/Users", `{"userName":"o"}`)
	send("POST", "/scim/v2/entra/Users", `{"userName":"o"}`)
	send("GET", "/scim/v2/entra/Users", "")
	send("GET", "/scim/v2/other/Users", "")
	want := []call{{"entra", "POST", 201}, {"entra", "POST", 409}, {"entra", "GET", 200}, {"", "GET", 404}}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Fatalf("Observe calls %v, want %v", calls, want)
	}
	if fmt.Sprint(changes) != "[entra]" {
		t.Fatalf("OnChange calls %v, want one for the committed write", changes)
	}
}

// TestPagingWalk walks every user page by page twice (the second walk
// starts each page from the cursor the first left) and with pages of
// another size, expecting every user exactly once each time.
func TestPagingWalk(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		const n = 23
		for i := range n {
			createUser(t, ts, fmt.Sprintf("walk%02d@example.com", i), "")
		}
		walk := func(count int) []string {
			var ids []string
			for start := 1; ; start += count {
				r := expect(t, ts.do(t, "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d&attributes=id", start, count), nil), 200)
				m := r.json(t)
				if m["totalResults"] != float64(n) {
					t.Fatalf("totalResults %v at %d", m["totalResults"], start)
				}
				res := m["Resources"].([]any)
				for _, x := range res {
					ids = append(ids, x.(map[string]any)["id"].(string))
				}
				if len(res) < count {
					return ids
				}
			}
		}
		first := walk(5)
		if len(first) != n {
			t.Fatalf("walked %d users, want %d", len(first), n)
		}
		for _, count := range []int{5, 4, 100} {
			if again := walk(count); fmt.Sprint(again) != fmt.Sprint(first) {
				t.Fatalf("walk with count %d differs:\n%v\n%v", count, again, first)
			}
		}
	})
}

// TestTokensNeverLogged sends good and bad tokens with debug logging on and
// looks for them in the log.
func TestTokensNeverLogged(t *testing.T) {
	var logged strings.Builder
	var mu sync.Mutex
	h := NewServer(Options{
		Store:  newMemStore(),
		IDPs:   []IDP{{Name: "entra", TokenSHA256: []string{hashHex(testToken)}}},
		Logger: newTestLogger(lockedWriter{&mu, &logged}),
	})
	const bad = "a-wrong-token-that-must-not-be-logged"
	for _, tok := range []string{testToken, bad} {
		for _, path := range []string{"/scim/v2/entra/Users?filter=userName+eq+%22x%22", "/scim/v2/entra/Users/nope", "/scim/v2/none/Users"} {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), "scim request") {
		t.Fatalf("no request log at debug level:\n%s", logged.String())
	}
	if strings.Contains(logged.String(), testToken) || strings.Contains(logged.String(), bad) {
		t.Fatalf("a token was logged:\n%s", logged.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStoreTokensCached checks that tokens created and revoked in the
// store take effect once the cache ages (on the injected clock).
func TestStoreTokensCached(t *testing.T) {
	st := newMemStore()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewServer(Options{Store: st, IDPs: []IDP{{Name: "entra"}}, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	status := func(tok string) int {
		req := httptest.NewRequest("GET", "/scim/v2/entra/Users", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if status("t1") != 401 {
		t.Fatal("t1 accepted before it exists")
	}
	st.mu.Lock()
	st.hashes["entra"] = []string{hashHex("t1")}
	st.mu.Unlock()
	advance(tokenCacheTTL + time.Millisecond)
	if status("t1") != 200 {
		t.Fatal("t1 refused after it was created")
	}
	st.mu.Lock()
	st.hashes["entra"] = nil
	st.mu.Unlock()
	advance(tokenCacheTTL + time.Millisecond)
	if status("t1") != 401 {
		t.Fatal("t1 accepted after it was revoked")
	}
}
