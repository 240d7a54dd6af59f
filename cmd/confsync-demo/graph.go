package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/confsync/confsync/providers/graph/emulator"
)

// Identifiers of the demo's app registration in the emulated tenant.
const (
	demoTenant = "8f3e2a10-5b7c-4d21-9e6f-1a2b3c4d5e6f"
	demoClient = "c0ffee00-1234-4abc-8def-0123456789ab"
)

// runGraph is the demo for a Confluence the cloud cannot reach: the same
// company lives in an emulated Entra ID tenant (Microsoft Graph, served in
// this process), and confsync reads it at plan time with an app
// registration's client secret instead of receiving SCIM.
func runGraph(ctx context.Context, bin string, keep bool) error {
	d, finish, err := setUp(ctx, bin, "confsync-demo-graph-", keep)
	if err != nil {
		return err
	}
	defer finish()
	dir := d.dir

	d.step("Starting an emulated Entra ID tenant (token endpoint and Microsoft Graph)")
	secret := randomHex(20)
	tenant := emulator.New(emulator.Options{TenantID: demoTenant, ClientID: demoClient, ClientSecret: secret})
	ids := map[string]string{}
	for _, name := range people {
		ids[upn(name)] = tenant.AddUser(map[string]any{"userPrincipalName": upn(name), "mail": upn(name), "displayName": name})
	}
	groupIDs := map[string]string{}
	for _, t := range teams {
		var members []string
		for _, i := range t.members {
			members = append(members, ids[upn(people[i])])
		}
		groupIDs[t.name] = tenant.AddGroup(t.name, members...)
	}
	// A nested group: everyone in a team is in CONF-Staff through it.
	var all []string
	for _, t := range teams {
		all = append(all, groupIDs[t.name])
	}
	tenant.AddGroup("CONF-Staff", all...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: tenant}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	graphURL := "http://" + ln.Addr().String()
	d.extraEnv = append(d.extraEnv, "DEMO_GRAPH_SECRET="+secret)
	fmt.Fprintf(d.out, "  %d users and %d groups in tenant %s at %s\n", len(people), len(teams)+1, demoTenant, graphURL)

	d.step("Writing a configuration in " + dir)
	conf := graphDemoConfig(d.emuURL, graphURL)
	if err := os.WriteFile(filepath.Join(dir, "confsync.hcl"), []byte(conf), 0o600); err != nil {
		return err
	}
	fmt.Fprint(d.out, indent(conf))

	d.step("confsync source search --idp entra omar.haddad@example.com  (Test Sync)")
	if err := d.confsync(ctx, "source", "search", "--idp", "entra", "omar.haddad@example.com"); err != nil {
		return err
	}
	if err := d.planAndApply(ctx, "initial.plan", "  (reads Entra ID through Graph)", ""); err != nil {
		return err
	}

	d.step("Day two in Entra ID: Nina Novak's account is disabled, Omar Haddad moves from Sales to Support")
	tenant.SetUser(ids[upn("Nina Novak")], map[string]any{"accountEnabled": false})
	tenant.RemoveMembers(groupIDs["CONF-Sales"], ids[upn("Omar Haddad")])
	tenant.AddMembers(groupIDs["CONF-Support"], ids[upn("Omar Haddad")])
	if err := d.planAndApply(ctx, "change.plan", "", ""); err != nil {
		return err
	}

	d.step("Graph throttles and fails: every members page answers 503")
	tenant.Inject(emulator.Fault{Path: "/members", Status: http.StatusServiceUnavailable, Times: -1})
	// The read is incomplete, so the IdP is left out (nobody is
	// deprovisioned) and plan says so and exits 1, as CI would see it.
	var exit *exec.ExitError
	switch err := d.confsync(ctx, "plan"); {
	case err == nil:
		return fmt.Errorf("confsync plan exited 0 although Graph's members pages failed")
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		fmt.Fprintln(d.out, "  confsync plan exited 1: the IdP was left out and nothing it manages changes")
	default:
		return err
	}
	tenant.ClearFaults()
	st := tenant.Stats()
	fmt.Fprintf(d.out, "  the tenant answered %d token, %d users, %d groups and %d members requests (%d injected failures)\n",
		st.Requests["token"], st.Requests["users"], st.Requests["groups"], st.Requests["members"], st.Faults)

	d.step("What Confluence now holds (read from its REST API)")
	return d.printConfluence(ctx)
}

func graphDemoConfig(emuURL, graphURL string) string {
	return strings.ReplaceAll(fmt.Sprintf(`confluence {
  url              = %q
  token            = env("DEMO_CONFLUENCE_TOKEN")
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

variable "graph_secret" {
  sensitive = true
  default   = env("DEMO_GRAPH_SECRET")
}

idp "entra" {
  graph {
    tenant_id     = %q
    client_id     = %q
    client_secret = var.graph_secret
    # The emulator stands in for both hosts; the defaults are
    # https://login.microsoftonline.com and https://graph.microsoft.com.
    authority = %q
    endpoint  = %q
    groups    = ["CONF-Staff"]
  }
  users {
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }
  groups {
    mode               = "on_the_fly"
    create_missing     = true
    include            = ["^CONF-"]
    exclude            = ["^CONF-Staff$"]
    default_groups_new = ["confluence-users"]
    rename {
      pattern = "^CONF-(.+)$"
      replace = "$1"
    }
  }
}

safety {
  max_deactivations = "20%%"
}
`, emuURL, demoTenant, demoClient, graphURL, graphURL), "\t", "  ")
}
