package plan

import (
	"errors"
	"regexp"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/google/go-cmp/cmp"
)

func scimIDP(name string) *config.IDP {
	return &config.IDP{Name: name, SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups: config.GroupSync{Mode: config.GroupModeManual, KeepExisting: true}}
}

func srcUser(id, username, email, display string, active bool) SourceUser {
	return SourceUser{ID: id, Active: active, Attributes: map[string]string{
		config.DefaultSCIMUsername: username, config.DefaultSCIMEmail: email, config.DefaultSCIMDisplayName: display}}
}

func TestMapUser(t *testing.T) {
	transform := &config.Rewrite{Pattern: regexp.MustCompile(`@.*$`), Replace: ""}
	tests := []struct {
		name    string
		idp     func(*config.IDP)
		user    SourceUser
		want    MappedUser
		wantErr string
	}{
		{name: "lower-cases", user: srcUser("1", "JDoe", "j@x.org", "J Doe", true),
			want: MappedUser{IDP: "entra", SourceID: "1", SourceUsername: "JDoe", Username: "jdoe", Email: "j@x.org", DisplayName: "J Doe", Active: true}},
		{name: "transform then lower", idp: func(p *config.IDP) { p.Users.UsernameTransform = transform },
			user: srcUser("1", "JDoe@Example.COM", "j@x.org", "J Doe", false),
			want: MappedUser{IDP: "entra", SourceID: "1", SourceUsername: "JDoe@Example.COM", Username: "jdoe", Email: "j@x.org", DisplayName: "J Doe"}},
		{name: "display name defaults to username", user: srcUser("1", "jdoe", "j@x.org", "", true),
			want: MappedUser{IDP: "entra", SourceID: "1", SourceUsername: "jdoe", Username: "jdoe", Email: "j@x.org", DisplayName: "jdoe", Active: true}},
		{name: "custom attributes", idp: func(p *config.IDP) {
			p.Attributes.Custom = map[string]string{"dept": "department", "cost": "costCenter"}
		},
			user: SourceUser{ID: "1", Active: true, Attributes: map[string]string{"userName": "a", `emails[type eq "work"].value`: "a@x.org", "department": "R&D"}},
			want: MappedUser{IDP: "entra", SourceID: "1", SourceUsername: "a", Username: "a", Email: "a@x.org", DisplayName: "a", Active: true, Custom: map[string]string{"dept": "R&D"}}},
		{name: "custom username attribute", idp: func(p *config.IDP) { p.Attributes.Username = "mailNickname" },
			user: SourceUser{ID: "1", Attributes: map[string]string{"mailNickname": "Nick", `emails[type eq "work"].value`: "a@x.org"}},
			want: MappedUser{IDP: "entra", SourceID: "1", SourceUsername: "Nick", Username: "nick", Email: "a@x.org", DisplayName: "nick"}},
		{name: "space", user: srcUser("1", "j doe", "j@x.org", "", true), wantErr: "whitespace"},
		{name: "comma", user: srcUser("1", "doe,j", "j@x.org", "", true), wantErr: `','`},
		{name: "anonymous", user: srcUser("1", "Anonymous", "j@x.org", "", true), wantErr: "reserved"},
		{name: "empty username", user: srcUser("1", "", "j@x.org", "", true), wantErr: "is empty"},
		{name: "no id", user: srcUser("", "a", "j@x.org", "", true), wantErr: "stable id"},
		{name: "no email", user: srcUser("1", "a", "", "", true), wantErr: "requires an email"},
		{name: "bad email", user: srcUser("1", "a", "not an email", "", true), wantErr: "not a valid address"},
		{name: "bad display name", user: srcUser("1", "a", "a@x.org", "<script>", true), wantErr: "< or >"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := scimIDP("entra")
			if tt.idp != nil {
				tt.idp(idp)
			}
			got, err := MapUser(idp, tt.user)
			if tt.wantErr != "" {
				var me *MappingError
				if !errors.As(err, &me) {
					t.Fatalf("MapUser error = %v, want a *MappingError", err)
				}
				if !regexp.MustCompile(regexp.QuoteMeta(tt.wantErr)).MatchString(err.Error()) || me.SourceID != tt.user.ID || me.IDP != "entra" {
					t.Fatalf("MapUser error = %q, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("MapUser (-want +got):\n%s", d)
			}
		})
	}
}

func TestMapGroups(t *testing.T) {
	tests := []struct {
		name   string
		groups config.GroupSync
		source []string
		isNew  bool
		want   []MappedGroup
	}{
		{name: "manual ignores unmapped", groups: config.GroupSync{Mode: "manual",
			Map: []config.GroupMap{{From: "Engineering", To: []string{"confluence-users", "eng"}}}},
			source: []string{"engineering", "Sales"},
			want:   []MappedGroup{{Name: "confluence-users", From: "engineering", MayCreate: true}, {Name: "eng", From: "engineering", MayCreate: true}}},
		{name: "on the fly, rename, lower, no create", groups: config.GroupSync{Mode: "on_the_fly",
			Rename: &config.Rewrite{Pattern: regexp.MustCompile(`^SG-`), Replace: "cf-"}},
			source: []string{"SG-Dev"},
			want:   []MappedGroup{{Name: "cf-dev", From: "SG-Dev"}}},
		{name: "on the fly create_missing", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true},
			source: []string{"Dev"}, want: []MappedGroup{{Name: "dev", From: "Dev", MayCreate: true}}},
		{name: "map block wins on the fly", groups: config.GroupSync{Mode: "on_the_fly",
			Map: []config.GroupMap{{From: "dev", To: []string{"developers"}}}},
			source: []string{"Dev"}, want: []MappedGroup{{Name: "developers", From: "Dev", MayCreate: true}}},
		{name: "include", groups: config.GroupSync{Mode: "on_the_fly", Include: []*regexp.Regexp{regexp.MustCompile(`^cf-`)}},
			source: []string{"cf-a", "b"}, want: []MappedGroup{{Name: "cf-a", From: "cf-a"}}},
		{name: "exclude", groups: config.GroupSync{Mode: "on_the_fly", Exclude: []*regexp.Regexp{regexp.MustCompile(`admin`)}},
			source: []string{"a", "admins"}, want: []MappedGroup{{Name: "a", From: "a"}}},
		{name: "exclude applies to manual", groups: config.GroupSync{Mode: "manual", Exclude: []*regexp.Regexp{regexp.MustCompile(`x`)},
			Map: []config.GroupMap{{From: "x", To: []string{"y"}}}},
			source: []string{"x"}},
		{name: "defaults all", groups: config.GroupSync{Mode: "manual", DefaultGroupsAll: []string{"Confluence-Users"}, DefaultGroupsNew: []string{"newbies"}},
			want: []MappedGroup{{Name: "confluence-users", MayCreate: true}}},
		{name: "defaults new", groups: config.GroupSync{Mode: "manual", DefaultGroupsAll: []string{"confluence-users"}, DefaultGroupsNew: []string{"newbies"}},
			isNew: true,
			want:  []MappedGroup{{Name: "confluence-users", MayCreate: true}, {Name: "newbies", MayCreate: true}}},
		{name: "duplicates merged", groups: config.GroupSync{Mode: "on_the_fly", DefaultGroupsAll: []string{"dev"}},
			source: []string{"Dev", "DEV"}, want: []MappedGroup{{Name: "dev", From: "Dev"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := scimIDP("entra")
			idp.Groups = tt.groups
			got := MapGroups(idp, tt.source, tt.isNew)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("MapGroups (-want +got):\n%s", d)
			}
		})
	}
}

func TestSourceAttributes(t *testing.T) {
	idp := scimIDP("e")
	idp.Attributes.Custom = map[string]string{"b": "x", "a": "displayName"}
	got := SourceAttributes(idp)
	want := []string{"userName", `emails[type eq "work"].value`, "displayName", "x"}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	ldap := &config.IDP{Name: "ad", LDAP: &config.LDAPSource{}}
	if d := cmp.Diff([]string{"sAMAccountName", "mail", "displayName"}, SourceAttributes(ldap)); d != "" {
		t.Error(d)
	}
}
