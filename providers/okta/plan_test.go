package okta_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/okta/emulator"
	"github.com/confsync/confsync/providers/pulltest"
)

// TestPlanSurvivesFailedPage runs the plan engine on an okta IdP: a
// complete read provisions everyone and a suspended user is provisioned
// inactive; then a read whose group members page keeps failing leaves
// Confluence untouched.
func TestPlanSurvivesFailedPage(t *testing.T) {
	o := newOrg(t, 100000)
	const n = 450
	var ids []string
	for i := range n {
		ids = append(ids, o.emu.AddUser("", map[string]any{"login": fmt.Sprintf("staff%03d", i), "email": fmt.Sprintf("staff%03d@example.com", i), "displayName": fmt.Sprintf("Staff %d", i)}))
	}
	o.emu.AddGroup("confluence-users", ids...)
	idp := &config.IDP{
		Name:       "okta",
		Okta:       o.config(),
		Attributes: config.Attributes{Username: "login", Email: "email", DisplayName: "displayName"},
		Users:      config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups:     config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true},
	}
	cfg := &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://confluence.invalid"}, IDPs: []*config.IDP{idp}}
	target, state := plantest.NewTarget(), plantest.NewState()
	run := func(t *testing.T) *plan.Plan {
		t.Helper()
		return pulltest.Round(t, cfg, map[string]plan.Source{"okta": o.source(t, idp.Okta)}, target, state)
	}
	active := func(t *testing.T) int { return pulltest.ActiveUsers(t, target) }
	if s := run(t).Summary(); s.UsersCreate != n {
		t.Fatalf("first plan creates %d users, want %d", s.UsersCreate, n)
	}
	o.emu.SetStatus(ids[0], "SUSPENDED")
	if s := run(t).Summary(); s.UsersDisable != 1 {
		t.Fatalf("plan after a suspension: %+v, want one user disabled", s)
	}
	if got := active(t); got != n-1 {
		t.Fatalf("%d active users, want %d", got, n-1)
	}

	o.emu.Inject(emulator.Fault{Path: "/users?limit=1000", Status: http.StatusServiceUnavailable, Times: -1})
	calls := target.TotalCalls()
	p := run(t)
	if !p.Empty() || len(p.Skipped) != 1 || !strings.Contains(p.Skipped[0].Reason, plan.ErrIncompleteRead.Error()) {
		t.Errorf("plan after a failed page: %d changes, skipped %+v; want none and okta left out", len(p.Changes), p.Skipped)
	}
	if got := active(t); got != n-1 || target.TotalCalls() != calls {
		t.Errorf("%d active users and %d changing calls after a failed read, want %d and none", got, target.TotalCalls()-calls, n-1)
	}
}
