package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	graphemu "github.com/confsync/confsync/providers/graph/emulator"
	oktaemu "github.com/confsync/confsync/providers/okta/emulator"
)

// TestSourceSearchScripts runs testdata/script/source/*.txtar against an
// emulated Entra ID tenant ($GRAPH_URL) and an emulated Okta org
// ($OKTA_URL), served over real HTTP.
func TestSourceSearchScripts(t *testing.T) {
	tenant := graphemu.New(graphemu.Options{TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47", ClientID: "00001111-aaaa-2222-bbbb-3333cccc4444", ClientSecret: "graph-secret"})
	jane := tenant.AddUser(map[string]any{
		"id": "0c7e5a57-1d2b-4c3d-9e8f-000000000001", "userPrincipalName": "jane.doe@contoso.com", "mail": "jane.doe@contoso.com",
		"displayName": "Jane Doe", "givenName": "Jane", "onPremisesSamAccountName": "jdoe",
	})
	off := tenant.AddUser(map[string]any{
		"id": "0c7e5a57-1d2b-4c3d-9e8f-000000000002", "userPrincipalName": "old.timer@contoso.com", "mail": "old.timer@contoso.com",
		"displayName": "Old Timer", "accountEnabled": false,
	})
	tenant.AddUser(map[string]any{"id": "0c7e5a57-1d2b-4c3d-9e8f-000000000003", "userPrincipalName": "no.mail@contoso.com", "displayName": "No Mail"})
	eng := tenant.AddGroup("Engineering", jane)
	tenant.AddGroup("Confluence Users", eng, off)
	graphSrv := httptest.NewServer(tenant)
	t.Cleanup(graphSrv.Close)

	org := oktaemu.New(oktaemu.Options{Token: "okta-token"})
	ann := org.AddUserWithID("00u1ann0000000000001", "", map[string]any{"login": "ann@example.com", "email": "ann@example.com", "firstName": "Ann", "lastName": "Lee", "displayName": "Ann Lee"})
	sus := org.AddUserWithID("00u1sus0000000000002", "SUSPENDED", map[string]any{"login": "sue@example.com", "email": "sue@example.com", "firstName": "Sue"})
	org.AddGroup("Everyone", ann, sus)
	org.AddGroup("Wiki Editors", ann)
	oktaSrv := httptest.NewServer(org)
	t.Cleanup(oktaSrv.Close)

	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script", "source"),
		UpdateScripts: *update,
		Cmds:          sourceScriptCmds(),
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CONFSYNC_CONFIG", "")
			env.Setenv("GRAPH_URL", graphSrv.URL)
			env.Setenv("OKTA_URL", oktaSrv.URL)
			return nil
		},
	})
}

// sourceScriptCmds are scriptCmds plus
//
//	waitfile FILE   wait (up to 10 s) until a background helper wrote FILE
func sourceScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for k, v := range scriptCmds {
		cmds[k] = v
	}
	cmds["waitfile"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && len(b) > 0 {
				return
			}
		}
		ts.Fatalf("%s was not written within 10s", args[0])
	}
	return cmds
}
