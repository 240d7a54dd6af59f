package plan_test

import (
	"context"

	"fmt"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// world is a configuration with its sources, Confluence and state.
type world struct {
	cfg     *config.Config
	sources map[string]*plantest.Source
	target  *plantest.Target
	state   *plantest.State
}

func newWorld(idps ...*config.IDP) *world {
	w := &world{
		cfg:     &config.Config{Hash: "cfg1", Confluence: &config.Confluence{URL: "http://c"}, IDPs: idps},
		sources: map[string]*plantest.Source{},
		target:  plantest.NewTarget(),
		state:   plantest.NewState(),
	}
	for _, p := range idps {
		w.sources[p.Name] = &plantest.Source{}
	}
	return w
}

func idpConfig(name string, prio int, mutate ...func(*config.IDP)) *config.IDP {
	p := &config.IDP{Name: name, Priority: prio, SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true}}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func su(id, username string, active bool) plan.SourceUser {
	return plan.SourceUser{ID: id, Active: active, Attributes: map[string]string{
		config.DefaultSCIMUsername: username, config.DefaultSCIMEmail: username + "@example.com", config.DefaultSCIMDisplayName: strings.ToUpper(username)}}
}

func sg(id, name string, members ...string) plan.SourceGroup {
	return plan.SourceGroup{ID: id, Name: name, MemberIDs: members}
}

func (w *world) inputs(opts plan.Options) plan.Inputs {
	src := map[string]plan.Source{}
	for k, v := range w.sources {
		src[k] = v
	}
	return plan.Inputs{Config: w.cfg, Sources: src, Target: w.target, State: w.state, Options: opts}
}

func (w *world) plan(t *testing.T, opts plan.Options) *plan.Plan {
	t.Helper()
	p, err := plan.Compute(context.Background(), w.inputs(opts))
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return p
}

func (w *world) apply(t *testing.T, p *plan.Plan) *plan.Result {
	t.Helper()
	r, err := plan.Apply(context.Background(), p, w.target, w.state, plan.ApplyOptions{Parallelism: 3})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return r
}

// converge applies a plan and checks the next one is empty.
func (w *world) converge(t *testing.T, opts plan.Options) *plan.Plan {
	t.Helper()
	p := w.plan(t, opts)
	w.apply(t, p)
	again := w.plan(t, opts)
	if !again.Empty() {
		t.Fatalf("plan after apply is not empty:\n%s", changeLines(again))
	}
	return p
}

func changeLines(p *plan.Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "%s %s\n", c.Action, c.Object())
	}
	return b.String()
}

func noticeLines(p *plan.Plan) string {
	var b strings.Builder
	for _, n := range p.Notices {
		fmt.Fprintf(&b, "%s %s: %s\n", n.Kind, n.Subject, n.Summary)
	}
	return b.String()
}

func wantChanges(t *testing.T, p *plan.Plan, want ...string) {
	t.Helper()
	got := changeLines(p)
	w := ""
	for _, l := range want {
		w += l + "\n"
	}
	if got != w {
		t.Fatalf("changes:\n%s\nwant:\n%s\nnotices:\n%s", got, w, noticeLines(p))
	}
}

func hasNotice(t *testing.T, p *plan.Plan, kind, substr string) {
	t.Helper()
	for _, n := range p.Notices {
		if n.Kind == kind && strings.Contains(n.Subject+" "+n.Summary+" "+n.Detail, substr) {
			return
		}
	}
	t.Fatalf("no %s notice mentioning %q in:\n%s", kind, substr, noticeLines(p))
}

func TestCreateAndConverge(t *testing.T) {
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) { p.Groups.DefaultGroupsAll = []string{"confluence-users"} }))
	w.sources["entra"].Set(plan.Snapshot{
		Users:  []plan.SourceUser{su("1", "Alice", true), su("2", "bob", true), su("3", "carol", false)},
		Groups: []plan.SourceGroup{sg("g1", "Devs", "1", "2"), sg("g2", "Ops", "2")},
	})
	w.target.PutGroup("confluence-users", "admin")
	p := w.plan(t, plan.Options{})
	wantChanges(t, p,
		"adopt group confluence-users",
		"create group devs",
		"create group ops",
		"create user alice",
		"create user bob",
		"add membership alice -> confluence-users",
		"add membership alice -> devs",
		"add membership bob -> confluence-users",
		"add membership bob -> devs",
		"add membership bob -> ops",
	)
	w.apply(t, p)
	if u := w.target.User("alice"); u == nil || u.DisplayName != "ALICE" || u.Email != "Alice@example.com" || !u.Active {
		t.Fatalf("alice = %+v", u)
	}
	if m, _ := w.target.Members("confluence-users"); strings.Join(m, ",") != "admin,alice,bob" {
		t.Fatalf("confluence-users = %v, want admin left in place", m)
	}
	if again := w.plan(t, plan.Options{}); !again.Empty() {
		t.Fatalf("second plan:\n%s", changeLines(again))
	}
}
