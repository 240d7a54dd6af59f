package scim

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentWritesWithoutIfMatch: writes to one resource that overlap
// all succeed when the client sent no If-Match (412 is only for a client's
// If-Match), and the members of an Okta-style group PATCH are all added.
func TestConcurrentWritesWithoutIfMatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		uid := createUser(t, ts, "contended@example.com", "")
		gid := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"okta-group"}`), 201).json(t)["id"].(string)
		const workers, each = 8, 6
		var wg sync.WaitGroup
		errs := make(chan string, workers*each*3)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					put := fmt.Sprintf(`{"userName":"contended@example.com","title":"t-%d-%d"}`, w, i)
					if r := ts.do(t, "PUT", "/Users/"+uid, put); r.status != 200 {
						errs <- fmt.Sprintf("PUT: %d %s", r.status, r.body)
					}
					patch := fmt.Sprintf(`{"Operations":[{"op":"add","path":"emails","value":[{"value":"e-%d-%d@example.com"}]}]}`, w, i)
					if r := ts.do(t, "PATCH", "/Users/"+uid, patch); r.status != 200 {
						errs <- fmt.Sprintf("user PATCH: %d %s", r.status, r.body)
					}
					gp := fmt.Sprintf(`{"Operations":[{"op":"replace","path":"displayName","value":"okta-group"},{"op":"add","path":"members","value":[{"value":"m-%d-%d"}]}]}`, w, i)
					if r := ts.do(t, "PATCH", "/Groups/"+gid, gp); r.status != 204 {
						errs <- fmt.Sprintf("group PATCH: %d %s", r.status, r.body)
					}
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
			t.Errorf("%d members after %d concurrent additions", n, workers*each)
		}
		// If-Match still guards: a stale version answers 412.
		expectError(t, ts.doAs(t, testToken, "PUT", "/scim/v2/entra/Users/"+uid, `{"userName":"contended@example.com"}`, map[string]string{"If-Match": `W/"1"`}), 412, "invalidVers")
	})
}

// TestBadProjectionWritesNothing: a PUT or PATCH whose attributes
// parameter is invalid answers 400 before writing, never after.
func TestBadProjectionWritesNothing(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	uid := createUser(t, ts, "proj@example.com", "")
	gid := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"proj"}`), 201).json(t)["id"].(string)
	expectError(t, ts.do(t, "PUT", "/Users/"+uid+"?attributes=emails[", `{"userName":"proj@example.com","title":"x"}`), 400, "invalidValue")
	expectError(t, ts.do(t, "PATCH", "/Users/"+uid+"?attributes=emails[", `{"Operations":[{"op":"add","path":"title","value":"x"}]}`), 400, "invalidValue")
	expectError(t, ts.do(t, "PUT", "/Groups/"+gid+"?attributes=members[", `{"displayName":"renamed"}`), 400, "invalidValue")
	if v := get(expect(t, ts.do(t, "GET", "/Users/"+uid, nil), 200).json(t), "meta.version"); v != `W/"1"` {
		t.Errorf("user written by a refused request: version %v", v)
	}
	if v := get(expect(t, ts.do(t, "GET", "/Groups/"+gid, nil), 200).json(t), "displayName"); v != "proj" {
		t.Errorf("group written by a refused request: displayName %v", v)
	}
}
