package ldap

import (
	"encoding/hex"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/config"
)

func TestFormatGUID(t *testing.T) {
	// The bytes of {d9b2d63d-a233-4a4c-9b10-1d9e0c3f5e7a} as AD stores them.
	raw, _ := hex.DecodeString("3dd6b2d933a24c4a9b101d9e0c3f5e7a")
	got, err := FormatGUID(raw)
	if err != nil || got != "d9b2d63d-a233-4a4c-9b10-1d9e0c3f5e7a" {
		t.Errorf("FormatGUID = %q, %v", got, err)
	}
	if _, err := FormatGUID(raw[:15]); err == nil {
		t.Error("FormatGUID accepted 15 bytes")
	}
}

func TestFormatSID(t *testing.T) {
	raw, _ := hex.DecodeString("010500000000000515000000a065cf7e784b9b5fe77c8770f4010000")
	got, err := FormatSID(raw)
	if err != nil || got != "S-1-5-21-2127521184-1604012920-1887927527-500" {
		t.Errorf("FormatSID = %q, %v", got, err)
	}
	if _, err := FormatSID(raw[:10]); err == nil {
		t.Error("FormatSID accepted a truncated SID")
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct{ attr, in, want string }{
		{"mail", "a@example.com", "a@example.com"},
		{"cn", "Zoë", "Zoë"},
		{"jpegPhoto", "\xff\xd8\xff", "base64:/9j/"},
		{"description", "bell\x07", "base64:YmVsbAc="},
		{"objectGUID", "short", "short"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.attr, []byte(tt.in)); got != tt.want {
			t.Errorf("FormatValue(%s, %q) = %q, want %q", tt.attr, tt.in, got, tt.want)
		}
	}
}

func TestAccountDisabled(t *testing.T) {
	for in, want := range map[string]bool{"512": false, "514": true, "66048": false, "66050": true, "2": true} {
		got, err := accountDisabled(in)
		if err != nil || got != want {
			t.Errorf("accountDisabled(%s) = %v, %v", in, got, err)
		}
	}
	if _, err := accountDisabled("enabled"); err == nil {
		t.Error("accountDisabled accepted a word")
	}
}

func TestDNKey(t *testing.T) {
	same := [][]string{
		{"uid=bob,ou=people,dc=example,dc=com", "UID=Bob, OU=People, DC=Example, DC=Com", "uid = bob , ou=people,dc=example,dc=com"},
		{`cn=Dan O'Brien\, Jr.,ou=Staff,dc=example,dc=com`, `CN=Dan O'Brien\2C Jr.,OU=Staff,DC=example,DC=com`},
		{"cn=a+sn=b,dc=x", "CN=A+SN=B,DC=X"},
	}
	for _, group := range same {
		for _, dn := range group[1:] {
			if dnKey(dn) != dnKey(group[0]) {
				t.Errorf("dnKey(%q) = %q, dnKey(%q) = %q", dn, dnKey(dn), group[0], dnKey(group[0]))
			}
		}
	}
	different := [][2]string{
		{`cn=a\,b,dc=x`, `cn=a,b=,dc=x`},
		{`cn=a\+b,dc=x`, `cn=a+b=,dc=x`},
		{"uid=bob,dc=x", "uid=bob,dc=y"},
	}
	for _, p := range different {
		if dnKey(p[0]) == dnKey(p[1]) {
			t.Errorf("dnKey(%q) == dnKey(%q) == %q", p[0], p[1], dnKey(p[0]))
		}
	}
	if got, want := memberDNKey("uid=alice,dc=x#'0101'B"), dnKey("uid=alice,dc=x"); got != want {
		t.Errorf("memberDNKey with a UID = %q, want %q", got, want)
	}
}

func FuzzDNKey(f *testing.F) {
	for _, s := range []string{"uid=bob,dc=x", `cn=a\,b,dc=x`, `cn="q",dc=x`, "cn=#04024869,dc=x", "=,=", "a+b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := dnKey(s)
		if k != dnKey(k) && !strings.ContainsAny(s, "\\\"#+;<>=") {
			t.Fatalf("dnKey is not idempotent on %q: %q then %q", s, k, dnKey(k))
		}
		memberDNKey(s)
	})
}

// TestNewSourceDerivesFromConfig: NewSource takes config's defaults for
// what a configuration built in code leaves empty, derives the connection,
// and refuses only what it cannot derive; the validation of the settings
// is config's (config's TestErrorFixtures and TestLDAP*).
func TestNewSourceDerivesFromConfig(t *testing.T) {
	valid := func() *config.LDAPSource {
		return &config.LDAPSource{URL: "ldap://ldap.example.com", BindDN: "cn=r,dc=x", BindPassword: "pw", UserBase: "ou=people,dc=x"}
	}
	s, err := NewSource(valid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := s.cfg
	if c.address != "ldap.example.com:389" || c.userFilter != config.DefaultLDAPUserFilter || c.groupFilter != config.DefaultLDAPGroupFilter ||
		c.userIDAttr != "entryUUID" || c.groupIDAttr != "entryUUID" || c.groupNameAttr != "cn" || c.groupMemberAttr != "member" ||
		c.pageSize != config.DefaultLDAPPageSize || c.timeout != config.DefaultLDAPTimeout || c.timeLimitS != 30 ||
		c.userScope != goldap.ScopeWholeSubtree {
		t.Errorf("defaults not applied: %+v", c)
	}
	ad := valid()
	ad.URL, ad.UserScope, ad.UserMemberOfAttribute, ad.GroupIDAttribute = "ldaps://dc1.example.com", "one", "memberOf", "objectGUID"
	if s, err := NewSource(ad, nil); err != nil {
		t.Fatal(err)
	} else if c := s.cfg; c.address != "dc1.example.com:636" || c.userScope != goldap.ScopeSingleLevel || c.userMemberOf != "memberOf" ||
		c.groupMemberAttr != "" || c.groupIDAttr != "objectGUID" {
		t.Errorf("settings not derived: %+v", c)
	}
	tests := []struct {
		name   string
		modify func(*config.LDAPSource)
		want   string
	}{
		{"no url", func(c *config.LDAPSource) { c.URL = "" }, "url"},
		{"missing ca", func(c *config.LDAPSource) { c.URL = "ldaps://x"; c.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"not a ca", func(c *config.LDAPSource) { c.URL = "ldaps://x"; c.CAFile = "/etc/hostname" }, "no PEM certificate"},
		{"no password", func(c *config.LDAPSource) { c.BindPassword = "" }, "bind_password is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(c)
			_, err := NewSource(c, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSource = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), `"pw"`) {
				t.Errorf("error carries the password: %v", err)
			}
		})
	}
}
