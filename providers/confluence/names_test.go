package confluence

import (
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
)

func TestValidateNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string // substring of the error; "" when valid
	}{
		{"jsmith", ""},
		{"j.smith@example.com", ""},
		{"user_1-2", ""},
		{"", "empty"},
		{"   ", "empty"},
		{"JSmith", "upper-case"},
		{"j smith", "whitespace"},
		{"j\tsmith", "whitespace"},
		{"j\u00a0smith", "whitespace"},
		{"anonymous", "anonymous"},
		{`a\b`, "forbids"},
		{"a,b", "forbids"},
		{"a+b", "forbids"},
		{"a<b", "forbids"},
		{"a>b", "forbids"},
		{"a'b", "forbids"},
		{`a"b`, "forbids"},
		{"a\x00b", "control"},
		{"..", "path segment"},
		{"\xff", "UTF-8"},
		{strings.Repeat("a", 256), "longer"},
	} {
		for _, v := range []func(string) error{ValidateUsername, ValidateGroupName} {
			err := v(tc.name)
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("%q rejected: %v", tc.name, err)
			case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
				t.Errorf("%q: error %v, want one mentioning %q", tc.name, err, tc.reason)
			}
		}
	}
	if err := ValidateGroupName("a/b"); err == nil {
		t.Errorf("group name with a slash accepted")
	}
	if err := ValidateUsername("a/b"); err != nil {
		t.Errorf("username with a slash rejected: %v", err)
	}
}

func FuzzValidateUsername(f *testing.F) {
	for _, s := range []string{"jsmith", "JSmith", "a b", "anonymous", `a"b`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateUsername(s) != nil {
			return
		}
		// Whatever passes must be a name Confluence's documented rules accept
		// and must survive a trip through a URL path segment.
		if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, forbiddenChars+" \t\n") || s == "anonymous" {
			t.Fatalf("accepted %q", s)
		}
		if _, err := epDisableUser.path(s); err != nil {
			t.Fatalf("accepted %q but cannot put it in a path: %v", s, err)
		}
	})
}

// TestNameRulesAgreeWithConfig checks that the plan-time checks (config's,
// which plan uses) and this client's pre-request checks refuse the same
// names, so that nothing a plan accepts is refused at apply.
func TestNameRulesAgreeWithConfig(t *testing.T) {
	names := []string{
		"jdoe", "confluence-users", "équipe", "a.b", "sales/emea", ".", "..", "", " ", "two words",
		"tab\tx", "Upper", "anonymous", "ANONYMOUS", "a,b", "a+b", `a\b`, "<x>", "it's", `q"`,
		"ctl\x01", "bad\xffutf8", strings.Repeat("g", 255), strings.Repeat("g", 256),
	}
	for _, n := range names {
		if got, want := ValidateUsername(n) == nil, config.ValidUsername(n) == nil; got != want {
			t.Errorf("username %q: client accepts=%v, config accepts=%v", n, got, want)
		}
		if got, want := ValidateGroupName(n) == nil, config.ValidGroupName(n) == nil; got != want {
			t.Errorf("group name %q: client accepts=%v, config accepts=%v", n, got, want)
		}
	}
}
