package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

// TestPlanLDAPScripts runs testdata/script/plan_ldap_slapd/*.txtar: plan
// and apply against a real slapd ($OPENLDAP_URL, providers/ldap's
// inetOrgPerson fixture) and the Confluence emulator over real HTTP. The
// directory's cn=limited account may read only two entries per search, so
// that a script can make a read stop at the server's size limit.
func TestPlanLDAPScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts slapd and the Confluence emulator")
	}
	fixtures := filepath.Join("..", "..", "providers", "ldap", "testdata")
	openldap := ldaptest.Start(t, ldaptest.Config{
		LDIF:           []string{filepath.Join(fixtures, "openldap.ldif")},
		DatabaseConfig: `limits dn.exact="cn=limited,ou=system,dc=example,dc=com" size=2`,
	})
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script", "plan_ldap_slapd"),
		UpdateScripts: *update,
		Cmds:          scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CONFSYNC_CONFIG", "")
			env.Setenv("OPENLDAP_URL", openldap.URL)
			return os.MkdirAll(filepath.Join(env.WorkDir, "home"), 0o755)
		},
	})
}

// waitfile FILE waits up to 30 seconds for a background helper (the
// emulator) to write a line to FILE.
func init() {
	scriptCmds["waitfile"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			data, err := os.ReadFile(ts.MkAbs(args[0]))
			if err == nil && strings.HasSuffix(string(data), "\n") {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waitfile %s: nothing written in 30s", args[0])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
