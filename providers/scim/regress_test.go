package scim

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// TestHugeNumbersRejected: a number no float64 holds (1e999) is refused
// with 400 before anything is written, in POST, PUT and PATCH bodies.
func TestHugeNumbersRejected(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		expectError(t, ts.do(t, "POST", "/Users", `{"userName":"poisonX","x":1e999}`), 400, "invalidValue")
		expectError(t, ts.do(t, "POST", "/Groups", `{"displayName":"poisonG","x":[{"n":-1e999}]}`), 400, "invalidValue")
		r := expect(t, ts.do(t, "GET", `/Users?filter=userName+eq+"poisonX"`, nil), 200)
		if n := r.json(t)["totalResults"]; n != float64(0) {
			t.Fatalf("a refused POST was stored: %s", r.body)
		}
		r = expect(t, ts.do(t, "GET", `/Groups?filter=displayName+eq+"poisonG"`, nil), 200)
		if n := r.json(t)["totalResults"]; n != float64(0) {
			t.Fatalf("a refused group POST was stored: %s", r.body)
		}
		id := createUser(t, ts, "fine@example.com", "")
		expectError(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"add","path":"urn:custom:ext:1.0:User:n","value":1e400}]}`), 400, "invalidValue")
		expectError(t, ts.do(t, "PUT", "/Users/"+id, `{"userName":"fine@example.com","x":1e999}`), 400, "invalidValue")
		r = expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200)
		if strings.Contains(string(r.body), "urn:custom") || get(r.json(t), "meta.version") != `W/"1"` {
			t.Fatalf("a refused write changed the user: %s", r.body)
		}
		// Ordinary big and precise numbers still go through as sent.
		r = expect(t, ts.do(t, "POST", "/Users", `{"userName":"nums","x":1e300,"y":12345678901234567890}`), 201)
		if !strings.Contains(string(r.body), `"y":12345678901234567890`) {
			t.Fatalf("number not kept as sent: %s", r.body)
		}
	})
}

// TestStoredHugeNumberReadable: a number that no float64 holds, already in
// the store (written before the check existed), never makes reads, PATCH,
// filters or the plan source fail.
func TestStoredHugeNumberReadable(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		u := &store.User{IDP: "entra", ID: "poison-user", UserName: "poison@example.com", Active: true,
			Attributes: []byte(`{"userName":"poison@example.com","x":1e999,"title":"t"}`)}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		g := &store.Group{IDP: "entra", ID: "poison-group", DisplayName: "poison",
			Attributes: []byte(`{"displayName":"poison","x":1e999}`)}
		if err := st.CreateGroup(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
		ts := newTestServer(t, st)
		expect(t, ts.do(t, "GET", "/Users/poison-user", nil), 200)
		expect(t, ts.do(t, "GET", "/Groups/poison-group", nil), 200)
		expect(t, ts.do(t, "GET", `/Users?filter=title+pr`, nil), 200)
		expect(t, ts.do(t, "GET", `/Groups?filter=displayName+co+"poi"`, nil), 200)
		expect(t, ts.do(t, "PATCH", "/Users/poison-user", `{"Operations":[{"op":"replace","path":"title","value":"u"}]}`), 200)
		expect(t, ts.do(t, "PATCH", "/Groups/poison-group", `{"Operations":[{"op":"replace","path":"externalId","value":"e"}]}`), 204)
		if _, err := NewSource(st, "entra").Read(ctx, plan.ReadRequest{Attributes: []string{"userName", "title"}}); err != nil {
			t.Fatalf("source read: %v", err)
		}
	})
}

// TestActiveCannotBeUnassigned: removing active or setting it to null in
// a PATCH answers 400 and leaves a disabled user disabled, as "" does.
func TestActiveCannotBeUnassigned(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	id := createUser(t, ts, "disabled@example.com", "")
	expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":false}]}`), 200)
	for _, body := range []string{
		`{"Operations":[{"op":"remove","path":"active"}]}`,
		`{"Operations":[{"op":"replace","path":"active","value":null}]}`,
		`{"Operations":[{"op":"add","path":"active","value":null}]}`,
		`{"Operations":[{"op":"replace","value":{"active":null}}]}`,
		`{"Operations":[{"op":"replace","path":"active","value":""}]}`,
	} {
		expectError(t, ts.do(t, "PATCH", "/Users/"+id, body), 400, "invalidValue")
		if a := expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t)["active"]; a != false {
			t.Fatalf("after %s: active %v", body, a)
		}
	}
	// A PUT with active null is a PUT without active: the value is kept.
	expect(t, ts.do(t, "PUT", "/Users/"+id, `{"userName":"disabled@example.com","active":null}`), 200)
	if a := expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t)["active"]; a != false {
		t.Fatalf("after PUT active null: active %v", a)
	}
}

// TestInvalidUTF8Refused: a body with bytes that are not UTF-8 answers 400
// invalidSyntax instead of being stored with U+FFFD in their place.
func TestInvalidUTF8Refused(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	expectError(t, ts.do(t, "POST", "/Users", "{\"userName\":\"bad\xff\xfename\"}"), 400, "invalidSyntax")
	expectError(t, ts.do(t, "POST", "/Groups", "{\"displayName\":\"g\xc3\"}"), 400, "invalidSyntax")
	r := expect(t, ts.do(t, "GET", "/Users", nil), 200)
	if n := r.json(t)["totalResults"]; n != float64(0) {
		t.Fatalf("a body with invalid UTF-8 was stored: %s", r.body)
	}
	expect(t, ts.do(t, "POST", "/Users", `{"userName":"zoë@example.com"}`), 201)
}

// TestFiltersNamingNothing: a members filter on an attribute members do
// not have, and a dateTime compared with something that is no date-time,
// answer 400 instead of silently matching nothing.
func TestFiltersNamingNothing(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	gid := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"f","members":[{"value":"x"}]}`), 201).json(t)["id"].(string)
	expectError(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members[valu eq \"x\"]"}]}`), 400, "invalidPath")
	expectError(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members[value eq \"x\" or displayName eq \"y\"]"}]}`), 400, "invalidPath")
	expect(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members[type eq \"Group\"]"}]}`), 204)
	if n := len(expect(t, ts.do(t, "GET", "/Groups/"+gid, nil), 200).json(t)["members"].([]any)); n != 1 {
		t.Fatalf("%d members, want 1", n)
	}
	expect(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"remove","path":"members[value eq \"x\"]"}]}`), 204)

	createUser(t, ts, "dated@example.com", "")
	for _, f := range []string{`meta.created gt "notadate"`, `meta.lastModified eq 12`, `meta.created lt true`, `title pr and not (meta.created ge "2024")`} {
		expectError(t, ts.do(t, "GET", "/Users?filter="+url.QueryEscape(f), nil), 400, "invalidFilter")
	}
	expectError(t, ts.do(t, "POST", "/.search", `{"filter":"meta.created gt \"notadate\""}`), 400, "invalidFilter")
	r := expect(t, ts.do(t, "GET", "/Users?filter="+url.QueryEscape(`meta.created gt "2020-01-01T00:00:00Z"`), nil), 200)
	if n := r.json(t)["totalResults"]; n != float64(1) {
		t.Fatalf("dateTime filter: %s", r.body)
	}
}

// primaryValues returns the values of a user's emails marked primary.
func primaryValues(t *testing.T, ts *testServer, id string) []string {
	t.Helper()
	var out []string
	emails, _ := expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t)["emails"].([]any)
	for _, e := range emails {
		m := e.(map[string]any)
		if m["primary"] == true {
			out = append(out, m["value"].(string))
		}
	}
	return out
}

// TestOnePrimary: adding or replacing a value marked primary takes the
// mark from the others (RFC 7644 §3.5.2); a body with several keeps the
// first.
func TestOnePrimary(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	id := createUser(t, ts, "prim@example.com", `,"emails":[{"value":"a@x","type":"work","primary":true},{"value":"b@x","type":"home","primary":true}]`)
	if p := primaryValues(t, ts, id); len(p) != 1 || p[0] != "a@x" {
		t.Fatalf("after POST: primary %v, want [a@x]", p)
	}
	expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"add","path":"emails","value":[{"value":"c@x","type":"other","primary":true}]}]}`), 200)
	if p := primaryValues(t, ts, id); len(p) != 1 || p[0] != "c@x" {
		t.Fatalf("after add: primary %v, want [c@x]", p)
	}
	expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]}`), 200)
	if p := primaryValues(t, ts, id); len(p) != 1 || p[0] != "b@x" {
		t.Fatalf("after replace: primary %v, want [b@x]", p)
	}
	expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","value":{"emails":[{"value":"d@x","primary":true},{"value":"a@x","type":"work"}]}}]}`), 200)
	if p := primaryValues(t, ts, id); len(p) != 1 || p[0] != "d@x" {
		t.Fatalf("after path-less replace: primary %v, want [d@x]", p)
	}
}

// TestValueLimits: names over 1024 bytes, values over 64 KiB and lists of
// more than 1,000 values answer 400; group members are not bounded.
func TestValueLimits(t *testing.T) {
	ts := newTestServer(t, newMemStore())
	long := func(n int) string { return strings.Repeat("a", n) }
	list := func(n int, format string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(format, i)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	expectError(t, ts.do(t, "POST", "/Users", `{"userName":"`+long(1025)+`"}`), 400, "invalidValue")
	expectError(t, ts.do(t, "POST", "/Users", `{"userName":"x","externalId":"`+long(1025)+`"}`), 400, "invalidValue")
	expectError(t, ts.do(t, "POST", "/Users", `{"userName":"x","title":"`+long(64<<10+1)+`"}`), 400, "invalidValue")
	expectError(t, ts.do(t, "POST", "/Users", `{"userName":"x","emails":`+list(1001, `{"value":"e%d@x"}`)+`}`), 400, "invalidValue")
	expectError(t, ts.do(t, "POST", "/Groups", `{"displayName":"`+long(1025)+`"}`), 400, "invalidValue")
	id := createUser(t, ts, long(1024), `,"title":"`+long(64<<10)+`","emails":`+list(1000, `{"value":"e%d@x"}`))
	expectError(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"add","path":"emails","value":[{"value":"one-more@x"}]}]}`), 400, "invalidValue")
	expectError(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"userName","value":"`+long(1025)+`"}]}`), 400, "invalidValue")
	gid := expect(t, ts.do(t, "POST", "/Groups", `{"displayName":"big","members":`+list(1500, `{"value":"m%d"}`)+`}`), 201).json(t)["id"].(string)
	expect(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"add","path":"members","value":`+list(1500, `{"value":"n%d"}`)+`}]}`), 204)
	expectError(t, ts.do(t, "PATCH", "/Groups/"+gid, `{"Operations":[{"op":"replace","path":"displayName","value":"`+long(1025)+`"}]}`), 400, "invalidValue")
}

// TestOrderingFilterOnBooleanOrBinary: issue 16 item 2. gt, ge, lt and le
// have no meaning for boolean and binary attributes (RFC 7644 §3.4.2.2):
// 400 invalidFilter, in GET and in .search, on every store engine.
func TestOrderingFilterOnBooleanOrBinary(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		createUser(t, ts, "ordered@example.com", `,"x509Certificates":[{"value":"TUlJQw=="}],"emails":[{"value":"o@example.com","primary":true}]`)
		for _, f := range []string{
			`active gt true`, `active ge false`, `active lt true`, `active le false`,
			`x509Certificates.value gt "TUlJQw=="`, `x509Certificates.value le "A"`,
			`emails[primary gt false]`, `emails.primary ge true`,
			`userName eq "ordered@example.com" and active gt false`,
		} {
			expectError(t, ts.do(t, "GET", "/Users?filter="+url.QueryEscape(f), nil), 400, "invalidFilter")
			expectError(t, ts.do(t, "POST", "/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":`+quote(f)+`}`), 400, "invalidFilter")
		}
		for _, f := range []string{`active eq true`, `active ne false`, `x509Certificates.value eq "TUlJQw=="`, `userName gt "a"`, `meta.lastModified gt "2020-01-01T00:00:00Z"`} {
			r := expect(t, ts.do(t, "GET", "/Users?filter="+url.QueryEscape(f), nil), 200)
			if n := r.json(t)["totalResults"]; n != float64(1) {
				t.Errorf("%s: %v results, want 1", f, n)
			}
		}
	})
}

// TestDuplicateValuesStoredOnce: issue 16 item 3. A POST or PUT with the
// same value twice (same type and value) keeps one (RFC 7643 §2.4); values
// that differ in type stay, and the primary mark of a dropped duplicate
// passes to the value kept.
func TestDuplicateValuesStoredOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ts := newTestServer(t, st)
		emails := `"emails":[{"value":"d@example.com","type":"work"},{"value":"d@example.com","type":"work","primary":true},{"value":"d@example.com","type":"home"}],
			"phoneNumbers":[{"value":"+1 555","type":"work"},{"value":"+1 555","type":"work"}],
			"x509Certificates":[{"value":"TUlJQw=="},{"value":"TUlJQw=="}]`
		r := expect(t, ts.do(t, "POST", "/Users", `{"userName":"dup@example.com",`+emails+`}`), 201)
		id := r.json(t)["id"].(string)
		check := func(what string, m map[string]any) {
			t.Helper()
			es, _ := m["emails"].([]any)
			ps, _ := m["phoneNumbers"].([]any)
			xs, _ := m["x509Certificates"].([]any)
			if len(es) != 2 || len(ps) != 1 || len(xs) != 1 {
				t.Fatalf("%s kept duplicates: emails %v phoneNumbers %v x509Certificates %v", what, es, ps, xs)
			}
			if get(m, "emails.0.type") != "work" || get(m, "emails.0.primary") != true || get(m, "emails.1.type") != "home" {
				t.Errorf("%s: emails %v, want work (primary) then home", what, es)
			}
		}
		check("POST", r.json(t))
		check("GET after POST", expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t))
		expect(t, ts.do(t, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"emails","value":[{"value":"x@example.com"}]}]}`), 200)
		check("PUT", expect(t, ts.do(t, "PUT", "/Users/"+id, `{"userName":"dup@example.com",`+emails+`}`), 200).json(t))
		check("GET after PUT", expect(t, ts.do(t, "GET", "/Users/"+id, nil), 200).json(t))
	})
}
