package config

import (
	"strings"
	"testing"
)

func TestGroupNameWithSlash(t *testing.T) {
	// Usernames may hold a slash; group names travel as a URL path segment.
	if err := ValidGroupName("sales/emea"); err == nil {
		t.Error(`ValidGroupName("sales/emea") = nil, want an error`)
	}
	if err := ValidUsername("sales/emea"); err != nil {
		t.Errorf(`ValidUsername("sales/emea") = %v, want nil`, err)
	}
}

func TestValidGroupName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"confluence-users", true},
		{"ext-contractors_2024", true},
		{"équipe", true},
		{"", false},
		{"   ", false},
		{"two words", false},
		{"tab\there", false},
		{"Upper", false},
		{"anonymous", false},
		{"a,b", false},
		{"a+b", false},
		{`a\b`, false},
		{"<script>", false},
		{"it's", false},
		{`say"`, false},
		{strings.Repeat("g", 255), true},
		{strings.Repeat("g", 256), false},
		{".", false},
		{"..", false},
	} {
		err := ValidGroupName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidGroupName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err2 := ValidUsername(tc.name); (err2 == nil) != tc.ok {
			t.Errorf("ValidUsername(%q) = %v, want ok=%v", tc.name, err2, tc.ok)
		}
	}
}

// TestSCIMSourceAttribute: a scim IdP's source attributes are checked by
// the SCIM server's own path grammar (providers/scim/filter), strictly.
func TestSCIMSourceAttribute(t *testing.T) {
	for _, tc := range []struct {
		in  string
		err string // "" when accepted
	}{
		{in: "userName"},
		{in: "name.givenName"},
		{in: `emails[type eq "work"].value`},
		{in: `emails[type eq "work"]`},
		{in: `emails[primary eq true].value`},
		{in: `addresses[type eq "a]b" and not (country pr)].locality`},
		{in: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
		{in: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"},
		{in: "members.$ref"},
		{in: "", err: "empty path"},
		{in: "1abc", err: "invalid attribute path"},
		{in: "_abc", err: "must start with a letter"},
		{in: "user name", err: "unexpected"},
		{in: "a.b.c", err: "invalid attribute path"},
		{in: `emails[type eq "work"`, err: "missing ]"},
		{in: `emails[]`, err: "attribute name expected"},
		{in: `emails[type eq work].value`, err: "write strings in double quotes"},
		{in: `emails[type xx "work"]`, err: "unknown operator"},
		{in: `emails[type eq "work"]value`, err: "unexpected"},
		{in: `emails.value[type eq "work"]`, err: "value filter after a sub-attribute"},
		{in: `emails[(type eq "work"]`, err: "missing )"},
		{in: "urn:x:department", err: "not a schema URN"},
		{in: "urn::y:department", err: "empty part"},
	} {
		err := CheckSourceAttribute("scim", tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("CheckSourceAttribute(scim, %q) = %v, want an error containing %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("CheckSourceAttribute(scim, %q) = %v, want it accepted", tc.in, err)
		}
	}
}

func TestThresholdLimit(t *testing.T) {
	for _, tc := range []struct {
		th      Threshold
		total   int
		want    int
		limited bool
		str     string
	}{
		{Threshold{}, 100, 0, false, "unlimited"},
		{Threshold{Set: true, Count: 5}, 1000, 5, true, "5"},
		{Threshold{Set: true, Percent: 5, IsPercent: true}, 1000, 50, true, "5%"},
		{Threshold{Set: true, Percent: 2.5, IsPercent: true}, 10, 0, true, "2.5%"},
	} {
		got, limited := tc.th.Limit(tc.total)
		if got != tc.want || limited != tc.limited || tc.th.String() != tc.str {
			t.Errorf("%+v.Limit(%d) = %d, %v (%s); want %d, %v (%s)", tc.th, tc.total, got, limited, tc.th.String(), tc.want, tc.limited, tc.str)
		}
	}
}

func TestValidBindName(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"CN=svc,OU=Service Accounts,DC=example,DC=com", true},
		{"cn=confsync,dc=example,dc=com", true},
		{"svc-confsync@example.com", true},
		{`EXAMPLE\svc-confsync`, true},
		{"", false},
		{"just words", false},
		{"a@b@c", false},
	} {
		if got := ValidBindName(tc.in); got != tc.ok {
			t.Errorf("ValidBindName(%q) = %v, want %v", tc.in, got, tc.ok)
		}
	}
}
