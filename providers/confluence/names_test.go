package confluence

import (
	"strings"
	"testing"
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
