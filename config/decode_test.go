package config

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
)

var cmpConfig = []cmp.Option{
	cmp.Comparer(func(a, b *regexp.Regexp) bool {
		if a == nil || b == nil {
			return a == b
		}
		return a.String() == b.String()
	}),
	cmpopts.IgnoreUnexported(Config{}),
	cmpopts.IgnoreTypes(hcl.Range{}),
	cmpopts.IgnoreFields(Config{}, "Hash", "Variables"),
	cmpopts.EquateEmpty(),
}

func mustLoad(t *testing.T, opts LoadOptions) *Config {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	cfg, diags := Load(opts)
	for _, d := range diags {
		t.Errorf("diagnostic: %s: %s: %s", d.Subject, d.Summary, d.Detail)
	}
	if diags.HasErrors() {
		t.FailNow()
	}
	return cfg
}

// TestLoadDefaults checks every default of the language on the smallest
// configuration.
func TestLoadDefaults(t *testing.T) {
	cfg := mustLoad(t, LoadOptions{Path: "testdata/valid/minimal.hcl"})
	dir, _ := filepath.Abs("testdata/valid")
	want := &Config{
		Dir:   dir,
		Files: []string{"testdata/valid/minimal.hcl"},
		Confluence: &Confluence{
			URL:         "https://confluence.example.com",
			Token:       "t",
			Parallelism: 4,
		},
		Store: Store{SQLite: filepath.Join(dir, "confsync.db")},
		Server: Server{
			Listen:                "127.0.0.1:8080",
			Debounce:              2 * time.Second,
			ReconcileInterval:     time.Hour,
			MaxBodyBytes:          10 << 20,
			SCIMRequestsPerSecond: 100,
			SCIMRequestBurst:      200,
		},
		IDPs: []*IDP{
			{
				Name:       "entra",
				SCIM:       &SCIMSource{},
				Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
				Attributes: Attributes{Username: "userName", Email: `emails[type eq "work"].value`, DisplayName: "displayName"},
				Groups:     GroupSync{Mode: "manual", KeepExisting: true},
			},
			{
				Name: "ad",
				LDAP: &LDAPSource{
					URL:                  "ldaps://dc.example.com",
					UserBase:             "DC=example,DC=com",
					UserFilter:           "(objectClass=person)",
					UserScope:            "sub",
					UserIDAttribute:      "entryUUID",
					GroupFilter:          "(objectClass=groupOfNames)",
					GroupScope:           "sub",
					GroupNameAttribute:   "cn",
					GroupIDAttribute:     "entryUUID",
					GroupMemberAttribute: "member",
					PageSize:             500,
					Timeout:              30 * time.Second,
				},
				Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
				Attributes: Attributes{Username: "sAMAccountName", Email: "mail", DisplayName: "displayName"},
				Groups:     GroupSync{Mode: "manual", KeepExisting: true},
			},
		},
	}
	if diff := cmp.Diff(want, cfg, cmpConfig...); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

// TestLoadFull checks that every attribute lands in its field.
func TestLoadFull(t *testing.T) {
	env := map[string]string{"CONFLUENCE_TOKEN": "pat-from-env"}
	cfg := mustLoad(t, LoadOptions{
		Path:   "testdata/valid/full.hcl",
		Vars:   map[string]string{"ldap_password": "from-the-command-line"},
		Getenv: func(k string) string { return env[k] },
	})
	dir, _ := filepath.Abs("testdata/valid")
	ca := filepath.Join(dir, "certs/ca.pem")
	want := &Config{
		Dir:   dir,
		Files: []string{"testdata/valid/full.hcl"},
		Confluence: &Confluence{
			URL:               "https://confluence.example.com",
			ContextPath:       "/wiki",
			Token:             "pat-from-env",
			CAFile:            ca,
			ProtectedUsers:    []string{"admin", "break-glass"},
			ProtectedGroups:   []string{"confluence-administrators"},
			Parallelism:       8,
			RequestsPerSecond: 12.5,
		},
		Store: Store{SQLite: filepath.Join(dir, "state/confsync.db")},
		Server: Server{
			Listen:                ":8443",
			TLSCert:               ca,
			TLSKey:                ca,
			AutoApply:             true,
			Debounce:              5 * time.Second,
			ReconcileInterval:     30 * time.Minute,
			MaxBodyBytes:          1 << 20,
			SCIMRequestsPerSecond: 50,
			SCIMRequestBurst:      80,
		},
		Safety: Safety{
			MaxDeactivations:      Threshold{Set: true, Percent: 5, IsPercent: true},
			MaxMembershipRemovals: Threshold{Set: true, Count: 100},
			MaxDeletions:          Threshold{Set: true, Count: 0},
			MaxSpaceAccessLost:    Threshold{Set: true, Count: 50},
		},
		IDPs: []*IDP{
			{
				Name:     "entra",
				Priority: 10,
				SCIM:     &SCIMSource{TokenSHA256: []string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
				Users: UserSync{Delete: true, DeleteAfter: 30 * 24 * time.Hour, UsernameTransform: &Rewrite{
					Pattern: regexp.MustCompile(`^([^@]+)@example\.com$`), Replace: "$1",
				}},
				Attributes: Attributes{Username: "externalId", Email: `emails[type eq "work" and primary eq true].value`, DisplayName: "name.formatted"},
				Groups: GroupSync{
					Mode:             "on_the_fly",
					CreateMissing:    true,
					DefaultGroupsNew: []string{"confluence-users"},
					DefaultGroupsAll: []string{"staff"},
					Include:          []*regexp.Regexp{regexp.MustCompile(`^app-confluence-`)},
					Exclude:          []*regexp.Regexp{regexp.MustCompile(`-test$`)},
					Rename:           &Rewrite{Pattern: regexp.MustCompile(`^app-confluence-(.*)$`), Replace: "$1"},
					Map:              []GroupMap{{From: "Engineering", To: []string{"developers", "jira-users"}}},
				},
			},
			{
				Name:     "ad",
				Priority: -1,
				LDAP: &LDAPSource{
					URL:                   "ldap://dc1.example.com:389",
					StartTLS:              true,
					CAFile:                ca,
					BindDN:                "CN=confsync,OU=Service Accounts,DC=example,DC=com",
					BindPassword:          "from-the-command-line",
					UserBase:              "OU=Staff,DC=example,DC=com",
					UserFilter:            "(&(objectClass=user)(objectCategory=person))",
					UserScope:             "one",
					UserIDAttribute:       "objectGUID",
					GroupBase:             "OU=Groups,DC=example,DC=com",
					GroupFilter:           "(objectClass=group)",
					GroupScope:            "one",
					GroupNameAttribute:    "sAMAccountName",
					GroupIDAttribute:      "objectSid",
					UserMemberOfAttribute: "memberOf",
					NestedGroups:          true,
					PageSize:              1000,
					Timeout:               time.Minute,
				},
				Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
				Attributes: Attributes{Username: "sAMAccountName", Email: "mail", DisplayName: "displayName"},
				Groups:     GroupSync{Mode: "manual", KeepExisting: true},
			},
		},
	}
	if diff := cmp.Diff(want, cfg, cmpConfig...); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	if v := cfg.Variables["confluence_token"]; v == nil || !v.Sensitive || v.Description == "" {
		t.Errorf("variable confluence_token = %+v, want sensitive with a description", v)
	}
	if cfg.IDP("ad") == nil || cfg.IDP("ad").Kind() != "ldap" || cfg.IDP("entra").Kind() != "scim" {
		t.Error("IDP lookup or Kind is wrong")
	}
}
