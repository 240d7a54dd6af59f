package graph_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/graph/emulator"
	"github.com/confsync/confsync/providers/pulltest"
)

func mustRegexp(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	return regexp.MustCompile(s)
}

// TestPlanSurvivesFailedPage runs the plan engine on a graph IdP: a
// complete read provisions everyone; then a read whose members page keeps
// failing, and one whose users page does, leave Confluence untouched: the
// IdP is left out of the plan and nobody is deactivated.
func TestPlanSurvivesFailedPage(t *testing.T) {
	f := newTenant(t)
	const n = 1200
	var ids []string
	for i := range n {
		ids = append(ids, f.emu.AddUser(map[string]any{
			"userPrincipalName": fmt.Sprintf("staff%04d@contoso.com", i),
			"mail":              fmt.Sprintf("staff%04d@contoso.com", i),
			"displayName":       fmt.Sprintf("Staff %d", i),
		}))
	}
	f.emu.AddGroup("confluence-users", ids...)
	// No mail: a notice, and left out, as for SCIM.
	f.emu.AddUser(map[string]any{"userPrincipalName": "nomail@contoso.com", "displayName": "No Mail"})
	idp := &config.IDP{
		Name:       "entra",
		Graph:      f.config(),
		Attributes: config.Attributes{Username: "userPrincipalName", Email: "mail", DisplayName: "displayName"},
		Users: config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true,
			UsernameTransform: &config.Rewrite{Pattern: mustRegexp(t, `@contoso\.com$`), Replace: ""}},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true},
	}
	cfg := &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://confluence.invalid"}, IDPs: []*config.IDP{idp}}
	target, state := plantest.NewTarget(), plantest.NewState()
	run := func(t *testing.T) *plan.Plan {
		t.Helper()
		return pulltest.Round(t, cfg, map[string]plan.Source{"entra": newSource(t, idp.Graph, nil)}, target, state)
	}
	active := func(t *testing.T) int { return pulltest.ActiveUsers(t, target) }
	p := run(t)
	if s := p.Summary(); s.UsersCreate != n {
		t.Fatalf("first plan creates %d users, want %d", s.UsersCreate, n)
	}
	var mapping []string
	for _, no := range p.Notices {
		if no.Kind == plan.NoticeMapping {
			mapping = append(mapping, no.Summary+" "+no.Subject)
		}
	}
	if len(mapping) != 1 || !strings.Contains(strings.Join(mapping, ""), "nomail") {
		t.Errorf("mapping notices = %q, want one for the user without mail", mapping)
	}
	if got := active(t); got != n {
		t.Fatalf("%d active users in Confluence, want %d", got, n)
	}

	for name, fault := range map[string]string{
		"members page":      "/members",
		"second users page": "$skiptoken", // the users are read first
	} {
		t.Run(name, func(t *testing.T) {
			f.emu.Inject(emulator.Fault{Path: fault, Status: http.StatusServiceUnavailable, Times: -1})
			defer f.emu.ClearFaults()
			calls := target.TotalCalls()
			p := run(t)
			if !p.Empty() {
				t.Errorf("plan after a failed page has %d changes: %+v", len(p.Changes), p.Summary())
			}
			if len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, plan.ErrIncompleteRead.Error()) {
				t.Errorf("skipped = %+v, want entra left out for an incomplete read", p.Skipped)
			}
			if got := active(t); got != n {
				t.Errorf("%d active users after a failed read, want %d", got, n)
			}
			if target.TotalCalls() != calls {
				t.Errorf("Confluence saw %d changing calls, want none", target.TotalCalls()-calls)
			}
		})
	}
}
