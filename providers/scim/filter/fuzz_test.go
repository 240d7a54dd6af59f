package filter

import (
	"encoding/json"
	"testing"
)

var fuzzResource = func() map[string]any {
	var m map[string]any
	_ = json.Unmarshal([]byte(`{"id":"1","userName":"a@b","active":true,"n":3,"name":{"givenName":"G"},
		"emails":[{"type":"work","value":"x@y","primary":true},"odd",null,3],
		"meta":{"created":"2020-01-01T00:00:00Z"},
		"urn:x:y:2.0:User":{"a":{"value":"v"}}}`), &m)
	return m
}()

// FuzzFilter checks that the filter parser never panics, and that whatever
// it accepts renders to a filter that parses to the same rendering and
// evaluates without panicking.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `name.familyName co "O'Malley"`, `title pr and userType eq "Employee"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]`,
		`not (a pr)`, `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `emails[type eq "work"].value eq "x"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, `a eq null`, `a eq 1.5e3`,
		`(ActiVe eq true) and meta.lastmodified ge "2021-09-23T19:35:41.8420572Z"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		out := e.String()
		e2, err := Parse(out)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", out, s, err)
		}
		if e2.String() != out {
			t.Fatalf("rendering not stable: %q -> %q", out, e2.String())
		}
		Match(e, fuzzResource, nil)
	})
}

// FuzzPatchPath checks that the PATCH path parser never panics and that
// accepted paths render stably.
func FuzzPatchPath(f *testing.F) {
	for _, s := range []string{
		`userName`, `name.givenName`, `members[value eq "2819c223"]`, `emails[type eq "work"].value`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, `addresses[type eq "work"].Formatted`,
		`members[value eq "a" or value eq "b"]`, `$ref`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		out := p.String()
		p2, err := ParsePath(out)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", out, s, err)
		}
		if p2.String() != out {
			t.Fatalf("rendering not stable: %q -> %q", out, p2.String())
		}
	})
}

// FuzzStrictPath: ParseStrictPath never panics, accepts only what
// ParsePath accepts, to the same path, and its rendering parses strictly
// again to the same rendering.
func FuzzStrictPath(f *testing.F) {
	for _, s := range []string{
		"userName", `emails[type eq "work"].value`, "name.givenName", "members.$ref",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
		`addresses[type eq "work" and (primary eq true or not (country pr))].locality`,
		`x[a eq "]"]`, "", "[", "a.b.c", `emails[type eq work]`, "urn:x:a", "_a", `e[t eq "w"].1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseStrictPath(s)
		if err != nil {
			return
		}
		q, err := ParsePath(s)
		if err != nil || q.String() != p.String() {
			t.Fatalf("ParseStrictPath(%q) = %s but ParsePath = %s, %v", s, p, q, err)
		}
		r, err := ParseStrictPath(p.String())
		if err != nil || r.String() != p.String() {
			t.Fatalf("rendering %q of %q does not parse strictly to itself: %s, %v", p.String(), s, r, err)
		}
	})
}
