package scim

import (
	"strings"
	"testing"
	"time"
)

// TestErrorBodies: issue 15 item 9. Every refusal is an RFC 7644 §3.12
// error: Content-Type application/scim+json, schemas the Error URN alone,
// status the HTTP status as a string, scimType where the RFC names one
// (and none where it does not), a detail. The 429 of the request budget
// and the 500 of a store fault included; on every store engine.
func TestErrorBodies(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		fs := &faultStore{Store: st, after: -1}
		ts := newTestServer(t, fs)
		uid := createUser(t, ts, "errors@example.com", `,"emails":[{"value":"e@example.com","type":"work"}]`)
		createUser(t, ts, "taken@example.com", "")
		gr := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"Errors","members":[{"value":"`+uid+`"}]}`), 201)
		gid := gr.json(t)["id"].(string)
		patch := func(ops string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
		}
		cases := []struct {
			name, method, path string
			body               string
			hdr                map[string]string
			token              string
			status             int
			scimType           string
		}{
			{"no token", "GET", "/Users", "", nil, "-", 401, ""},
			{"unknown user", "GET", "/Users/nope", "", nil, "", 404, ""},
			{"unknown endpoint", "GET", "/Nothing", "", nil, "", 404, ""},
			{"method not allowed", "DELETE", "/Users", "", nil, "", 405, ""},
			{"bad filter syntax", "GET", "/Users?filter=userName+eq", "", nil, "", 400, "invalidFilter"},
			{"ordering on a boolean", "GET", "/Users?filter=active+gt+true", "", nil, "", 400, "invalidFilter"},
			{"ordering on binary", "GET", "/Users?filter=x509Certificates.value+lt+%22A%22", "", nil, "", 400, "invalidFilter"},
			{"malformed JSON", "POST", "/Users", `{"userName":`, nil, "", 400, "invalidSyntax"},
			{"no userName", "POST", "/Users", `{"displayName":"x"}`, nil, "", 400, "invalidValue"},
			{"duplicate userName", "POST", "/Users", `{"userName":"TAKEN@example.com"}`, nil, "", 409, "uniqueness"},
			{"id mismatch", "PUT", "/Users/" + uid, `{"id":"other","userName":"errors@example.com"}`, nil, "", 400, "mutability"},
			{"stale If-Match", "PUT", "/Users/" + uid, `{"userName":"errors@example.com"}`, map[string]string{"If-Match": `W/"999"`}, "", 412, "invalidVers"},
			{"PATCH without Operations", "PATCH", "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, nil, "", 400, "invalidSyntax"},
			{"remove without path", "PATCH", "/Users/" + uid, patch(`{"op":"remove"}`), nil, "", 400, "noTarget"},
			{"bad path", "PATCH", "/Users/" + uid, patch(`{"op":"replace","path":"emails[type eq","value":"x"}`), nil, "", 400, "invalidPath"},
			{"member filter on add", "PATCH", "/Groups/" + gid, patch(`{"op":"add","path":"members[value eq \"x\"]","value":"x"}`), nil, "", 400, "invalidPath"},
			{"body too large", "POST", "/Users", `{"userName":"big","x":"` + strings.Repeat("a", 2<<20) + `"}`, nil, "", 413, ""},
			{"bulk", "POST", "/Bulk", `{}`, nil, "", 501, ""},
		}
		for _, c := range cases {
			token := testToken
			switch c.token {
			case "-":
				token = ""
			case "":
			default:
				token = c.token
			}
			r := ts.doAs(t, token, c.method, "/scim/v2/entra"+c.path, nilIfEmpty(c.body), c.hdr)
			checkErrorBody(t, c.name, r, c.status, c.scimType)
		}
		// A store fault inside a group write (faultStore's fault runs on the
		// group's members, so the group has one): 500, nothing of it shown.
		fs.after = 0
		r := ts.do(t, "PATCH", "/Groups/"+gid, patch(`{"op":"add","path":"members","value":[{"value":"`+uid+`"}]}`))
		checkErrorBody(t, "store fault", r, 500, "")
		if strings.Contains(string(r.body), "injected") {
			t.Errorf("a 500 shows the internal error: %s", r.body)
		}
		fs.after = -1
		// The 429 of the request budget.
		clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
		var observed []int
		lts := newLimitedServer(t, st, RateLimit{PerSecond: 1, Burst: 1}, clock, &observed)
		expect(t, lts.do(t, "GET", "/Users", nil), 200)
		checkErrorBody(t, "over budget", lts.do(t, "GET", "/Users", nil), 429, "")
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkErrorBody checks one error answer against RFC 7644 §3.12.
func checkErrorBody(t *testing.T, name string, r response, status int, scimType string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d; body %s", name, r.status, status, r.body)
		return
	}
	if ct := r.header.Get("Content-Type"); ct != contentType {
		t.Errorf("%s: Content-Type %q", name, ct)
	}
	m := r.json(t)
	if sc, _ := m["schemas"].([]any); len(sc) != 1 || sc[0] != errorSchema {
		t.Errorf("%s: schemas %v", name, m["schemas"])
	}
	if s, ok := m["status"].(string); !ok || s != itoa(status) {
		t.Errorf("%s: status in the body %#v, want the string %q", name, m["status"], itoa(status))
	}
	if st, _ := m["scimType"].(string); st != scimType {
		t.Errorf("%s: scimType %q, want %q", name, st, scimType)
	}
	if d, _ := m["detail"].(string); d == "" {
		t.Errorf("%s: no detail", name)
	}
	for k := range m {
		switch k {
		case "schemas", "status", "scimType", "detail":
		default:
			t.Errorf("%s: unexpected member %q in the error body", name, k)
		}
	}
}
