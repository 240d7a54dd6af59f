package ldap_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/ldap"
	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

// TestPlanSurvivesBrokenReads runs the plan engine on an ldap IdP: a
// complete read provisions everyone; then a read cut short by a dropped
// connection, and one stopped by the server's size limit, leave Confluence
// untouched: the IdP is left out of the plan and nobody is deactivated.
func TestPlanSurvivesBrokenReads(t *testing.T) {
	const n = 1500
	ldif := writeLDIF(t, t.TempDir(), "staff.ldif", func(w *strings.Builder) {
		for i := range n {
			fmt.Fprintf(w, "dn: uid=staff%04d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: staff%04d\ncn: Staff %d\nsn: %d\nmail: staff%04d@example.com\n\n", i, suffix, i, i, i, i)
		}
	})
	srv := startOpenLDAP(t, `limits dn.exact="cn=limited,ou=system,dc=example,dc=com" size=1000`, ldif)
	total := n + 6

	idp := &config.IDP{
		Name:       "corp",
		LDAP:       openLDAPConfig(srv),
		Attributes: config.Attributes{Username: "uid"},
		Users:      config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups:     config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true},
	}
	idp.LDAP.PageSize = 100
	cfg := &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://confluence.invalid"}, IDPs: []*config.IDP{idp}}
	target, state := plantest.NewTarget(), plantest.NewState()

	run := func(t *testing.T, ldapCfg *config.LDAPSource) *plan.Plan {
		t.Helper()
		src := newSource(t, ldapCfg)
		p, err := plan.Compute(context.Background(), plan.Inputs{
			Config: cfg, Sources: map[string]plan.Source{"corp": src}, Target: target, State: state,
		})
		if err != nil {
			t.Fatalf("Compute: %v", err)
		}
		if _, err := plan.Apply(context.Background(), p, target, state, plan.ApplyOptions{}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		return p
	}
	active := func() int {
		a, err := target.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, u := range a.Users {
			if u.Active {
				count++
			}
		}
		return count
	}

	p := run(t, idp.LDAP)
	if s := p.Summary(); s.UsersCreate != total {
		t.Fatalf("first plan creates %d users, want %d", s.UsersCreate, total)
	}
	if got := active(); got != total {
		t.Fatalf("%d active users in Confluence, want %d", got, total)
	}

	broken := map[string]func(*config.LDAPSource){
		"dropped connection": func(c *config.LDAPSource) { c.URL = "ldap://" + ldaptest.CutProxy(t, srv.Addr, 60_000) },
		"size limit": func(c *config.LDAPSource) {
			c.BindDN, c.BindPassword = "cn=limited,ou=system,"+suffix, "limitedpass"
		},
	}
	for name, breakIt := range broken {
		t.Run(name, func(t *testing.T) {
			c := *idp.LDAP
			breakIt(&c)
			calls := target.TotalCalls()
			p := run(t, &c)
			if !p.Empty() {
				t.Errorf("plan after a broken read has %d changes: %+v", len(p.Changes), p.Summary())
			}
			if len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, ldap.ErrIncompleteRead.Error()) {
				t.Errorf("skipped = %+v, want corp left out for an incomplete read", p.Skipped)
			}
			if got := active(); got != total {
				t.Errorf("%d active users in Confluence after a broken read, want %d", got, total)
			}
			if target.TotalCalls() != calls {
				t.Errorf("Confluence saw %d changing calls, want none", target.TotalCalls()-calls)
			}
		})
	}
}
