package main

import (
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

// TestLDAPSearchScripts runs testdata/script/ldap_slapd/*.txtar against two
// real slapd directories: an Active Directory-shaped one ($AD_URL) and an
// inetOrgPerson one ($OPENLDAP_URL), both loaded from providers/ldap's
// fixtures. Scripts that need no directory live in testdata/script.
func TestLDAPSearchScripts(t *testing.T) {
	fixtures := filepath.Join("..", "..", "providers", "ldap", "testdata")
	ad := ldaptest.Start(t, ldaptest.Config{
		Schemas: []string{filepath.Join(fixtures, "ad.schema")},
		LDIF:    []string{filepath.Join(fixtures, "ad.ldif")},
	})
	openldap := ldaptest.Start(t, ldaptest.Config{
		LDIF: []string{filepath.Join(fixtures, "openldap.ldif")},
	})
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script", "ldap_slapd"),
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CONFSYNC_CONFIG", "")
			env.Setenv("AD_URL", ad.URL)
			env.Setenv("OPENLDAP_URL", openldap.URL)
			return nil
		},
	})
}
