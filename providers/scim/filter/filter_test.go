package filter

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`userName Eq "bjensen"`, `userName eq "bjensen"`},
		{`name.familyName co "O'Malley"`, `name.familyName co "O'Malley"`},
		{`userName sw "J"`, `userName sw "J"`},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
		{`title pr`, `title pr`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{`title pr and userType eq "Employee"`, `(title pr and userType eq "Employee")`},
		{`title pr or userType eq "Intern"`, `(title pr or userType eq "Intern")`},
		{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, `(userType eq "Employee" and (emails co "example.com" or emails.value co "example.org"))`},
		{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, `(userType ne "Employee" and not ((emails co "example.com" or emails.value co "example.org")))`},
		{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, `(userType eq "Employee" and emails[(type eq "work" and value co "@example.com")])`},
		{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, `(emails[(type eq "work" and value co "@example.com")] or ims[(type eq "xmpp" and value co "@foo.com")])`},
		{`a eq 1 or b eq 2 and c eq 3`, `(a eq 1 or (b eq 2 and c eq 3))`},
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, `(name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org"))`},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{`externalId eq jyoung`, `externalId eq "jyoung"`},
		{`emails[type eq "work"].value eq "user@contoso.com"`, `emails[type eq "work"].value eq "user@contoso.com"`},
		{`(ActiVe eq true) and meta.lastmodified ge "2021-09-23T19:35:41.8420572Z"`, `(ActiVe eq true and meta.lastmodified ge "2021-09-23T19:35:41.8420572Z")`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`},
		{`x eq null`, `x eq null`},
		{`not(a pr)`, `not (a pr)`},
		{`userName eq "a \"quoted\" name"`, `userName eq "a \"quoted\" name"`},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
		// The rendering parses back to itself.
		e2, err := Parse(e.String())
		if err != nil || e2.String() != e.String() {
			t.Errorf("re-parse of %q: %v, %v", e.String(), e2, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		``, `   `, `userName`, `userName eq`, `userName xx "a"`, `userName eq "a`, `(userName eq "a"`,
		`userName eq "a")`, `emails[type eq "work"`, `userName eq "a" and`, `1abc eq "x"`,
		`name.given.family eq "x"`, `a eq "x" or`, `[x eq 1]`, strings.Repeat("(", 100) + `a pr` + strings.Repeat(")", 100),
		`userName eq "a" junk`, `notanattr[`, `emails[type eq "work"].`,
	} {
		if e, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", in, e)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct{ in, want, sub string }{
		{`userName`, `userName`, ""},
		{`name.givenName`, `name.givenName`, "givenName"},
		{`members`, `members`, ""},
		{`members[value eq "2819c223"]`, `members[value eq "2819c223"]`, ""},
		{`emails[type eq "work"].value`, `emails[type eq "work"].value`, "value"},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`, ""},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`, "value"},
		{`addresses[type eq "work"].Formatted`, `addresses[type eq "work"].Formatted`, "Formatted"},
		{` members[value eq "a" or value eq "b"] `, `members[(value eq "a" or value eq "b")]`, ""},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tt.in, err)
			continue
		}
		if p.String() != tt.want || p.Sub() != tt.sub {
			t.Errorf("ParsePath(%q) = %s (sub %q), want %s (sub %q)", tt.in, p, p.Sub(), tt.want, tt.sub)
		}
	}
	for _, in := range []string{``, `a b`, `members[`, `members[value eq "x"`, `name.givenName[type eq "x"]`, `a..b`, `"x"`, `members]`, `emails[type eq "work"].`, `x:y`} {
		if p, err := ParsePath(in); err == nil {
			t.Errorf("ParsePath(%q) = %s, want an error", in, p)
		}
	}
}

func TestMatch(t *testing.T) {
	var user map[string]any
	err := json.Unmarshal([]byte(`{
		"id": "2819c223-7f76-453a-919d-413861904646", "externalId": "Ext-1",
		"userName": "Bjensen@example.com", "active": true, "title": "",
		"name": {"familyName": "Jensen", "givenName": "Barbara"},
		"emails": [{"value": "bjensen@Example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
		"meta": {"created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T18:29:49.793Z"},
		"logins": 12,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}}
	}`), &user)
	if err != nil {
		t.Fatal(err)
	}
	exact := func(urn, name, sub string) bool {
		n := strings.ToLower(name)
		return urn == "" && sub == "" && (n == "id" || n == "externalid")
	}
	tests := []struct {
		f    string
		want bool
	}{
		{`userName eq "bjensen@example.com"`, true},
		{`USERNAME EQ "BJENSEN@EXAMPLE.COM"`, true},
		{`externalId eq "ext-1"`, false},
		{`externalId eq "Ext-1"`, true},
		{`id eq "2819C223-7F76-453A-919D-413861904646"`, false},
		{`userName ne "x"`, true},
		{`userName co "jensen"`, true},
		{`userName sw "bj"`, true},
		{`userName ew "example.com"`, true},
		{`title pr`, false},
		{`name pr`, true},
		{`nickName pr`, false},
		{`nickName ne "x"`, true},
		{`name.familyName eq "jensen"`, true},
		{`name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)`, true},
		{`emails co "jensen.org"`, true},
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "home" and value co "@example.com"]`, false},
		{`emails[type eq "work"].value eq "BJENSEN@example.com"`, true},
		{`emails[type eq "home"].value eq "BJENSEN@example.com"`, false},
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active eq false`, false},
		{`active ne false`, true},
		{`logins gt 10`, true},
		{`logins le 11`, false},
		{`meta.created gt "2011-08-01T00:00:00Z"`, true},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, false},
		{`meta.lastModified lt 2015-10-10T14:38:21.8617979-07:00`, true},
		{`not (userName eq "bjensen@example.com")`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"`, true},
		{`urn:example:other:2.0:User:x pr`, false},
		{`userName gt "a" and userName lt "c"`, true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.f)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.f, err)
			continue
		}
		if got := Match(e, user, exact); got != tt.want {
			t.Errorf("Match(%s) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func TestParseAttrPath(t *testing.T) {
	ap, err := ParseAttrPath("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value")
	if err != nil || ap.URN != "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" || ap.Name != "manager" || ap.Sub != "value" {
		t.Fatalf("ParseAttrPath = %+v, %v", ap, err)
	}
	if _, err := ParseAttrPath(`emails[type eq "work"].value`); err == nil {
		t.Fatal("a value filter must be refused where only an attribute path is allowed")
	}
}
