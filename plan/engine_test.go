package plan_test

import (
	"context"

	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

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
		for i, e := range r.Errors {
			if e != nil {
				t.Errorf("%s %s: %v", p.Changes[i].Action, p.Changes[i].Object(), e)
			}
		}
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

func TestAdoptExisting(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1")}})
	w.target.PutUser(plan.ActualUser{Username: "alice", DisplayName: "Old Name", Email: "alice@example.com", Active: true})
	w.target.PutGroup("devs", "alice", "zoe")
	p := w.converge(t, plan.Options{})
	wantChanges(t, p,
		"adopt group devs",
		"adopt user alice",
		"update user alice",
		"adopt membership alice -> devs",
	)
	if p.Changes[2].Attributes[0].Name != "display_name" || p.Changes[2].Attributes[0].Before != "Old Name" || p.Changes[2].Attributes[0].After != "ALICE" {
		t.Errorf("update attributes = %+v", p.Changes[2].Attributes)
	}
	if w.target.Calls["CreateUser alice"] != 0 || w.target.Calls["UpdateUser alice"] != 1 {
		t.Errorf("calls = %v", w.target.Calls)
	}
	if m, _ := w.target.Members("devs"); strings.Join(m, ",") != "alice,zoe" {
		t.Errorf("keep_existing removed an unmanaged member: %v", m)
	}
}

func TestUserSyncOptions(t *testing.T) {
	type setup func(w *world)
	existing := func(active bool) setup {
		return func(w *world) {
			w.target.PutUser(plan.ActualUser{Username: "alice", DisplayName: "ALICE", Email: "alice@example.com", Active: active})
			w.state.RecordUser(context.Background(), plan.ManagedUser{Username: "alice", IDP: "entra", SourceID: "1", DisplayName: "ALICE", Email: "alice@example.com", Active: active})
		}
	}
	tests := []struct {
		name   string
		users  func(*config.UserSync)
		setup  setup
		source []plan.SourceUser
		want   []string
		notice string
	}{
		{name: "create", source: []plan.SourceUser{su("1", "alice", true)}, want: []string{"create user alice"}},
		{name: "create off", users: func(u *config.UserSync) { u.Create = false }, source: []plan.SourceUser{su("1", "alice", true)}, notice: "users.create = false"},
		{name: "inactive not created", source: []plan.SourceUser{su("1", "alice", false)}},
		{name: "deactivate", setup: existing(true), source: []plan.SourceUser{su("1", "alice", false)}, want: []string{"disable user alice"}},
		{name: "deactivate off", users: func(u *config.UserSync) { u.Deactivate = false }, setup: existing(true), source: []plan.SourceUser{su("1", "alice", false)}, notice: "users.deactivate = false"},
		{name: "delete", users: func(u *config.UserSync) { u.Delete = true }, setup: existing(true), source: []plan.SourceUser{su("1", "alice", false)}, want: []string{"delete user alice"}},
		{name: "gone from read", setup: existing(true), source: []plan.SourceUser{su("2", "bob", true)}, want: []string{"create user bob", "disable user alice"}},
		{name: "gone and delete", users: func(u *config.UserSync) { u.Delete = true }, setup: existing(true), source: []plan.SourceUser{su("2", "bob", true)}, want: []string{"create user bob", "delete user alice"}},
		{name: "already disabled", setup: existing(false), source: []plan.SourceUser{su("1", "alice", false)}},
		{name: "reactivate", setup: existing(false), source: []plan.SourceUser{su("1", "alice", true)}, want: []string{"enable user alice"}},
		{name: "reactivate off", users: func(u *config.UserSync) { u.Reactivate = false }, setup: existing(false), source: []plan.SourceUser{su("1", "alice", true)}, notice: "users.reactivate = false"},
		{name: "update", setup: existing(true), source: []plan.SourceUser{func() plan.SourceUser {
			u := su("1", "alice", true)
			u.Attributes[config.DefaultSCIMDisplayName] = "Alice Smith"
			return u
		}()}, want: []string{"update user alice"}},
		{name: "update off", users: func(u *config.UserSync) { u.Update = false }, setup: existing(true), source: []plan.SourceUser{func() plan.SourceUser {
			u := su("1", "alice", true)
			u.Attributes[config.DefaultSCIMDisplayName] = "Alice Smith"
			return u
		}()}},
		{name: "invalid username", source: []plan.SourceUser{su("1", "alice smith", true)}, notice: "alice smith"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := idpConfig("entra", 0)
			if tt.users != nil {
				tt.users(&idp.Users)
			}
			w := newWorld(idp)
			if tt.setup != nil {
				tt.setup(w)
			}
			w.sources["entra"].Set(plan.Snapshot{Users: tt.source})
			p := w.plan(t, plan.Options{})
			wantChanges(t, p, tt.want...)
			if tt.notice != "" {
				found := false
				for _, n := range p.Notices {
					found = found || strings.Contains(n.Summary, tt.notice) || strings.Contains(n.Subject, tt.notice)
				}
				if !found {
					t.Errorf("no notice mentioning %q:\n%s", tt.notice, noticeLines(p))
				}
			}
			w.apply(t, p)
			if again := w.plan(t, plan.Options{}); !again.Empty() {
				t.Fatalf("plan after apply:\n%s", changeLines(again))
			}
		})
	}
}

func TestGroupSyncOptions(t *testing.T) {
	tests := []struct {
		name   string
		groups config.GroupSync
		setup  func(w *world)
		want   []string
		notice string
	}{
		{name: "on the fly create_missing", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true, KeepExisting: true},
			want: []string{"create group devs", "create user alice", "add membership alice -> devs"}},
		{name: "on the fly without create_missing", groups: config.GroupSync{Mode: "on_the_fly", KeepExisting: true},
			want: []string{"create user alice"}, notice: "create_missing is off"},
		{name: "on the fly existing group", groups: config.GroupSync{Mode: "on_the_fly", KeepExisting: true},
			setup: func(w *world) { w.target.PutGroup("devs") },
			want:  []string{"adopt group devs", "create user alice", "add membership alice -> devs"}},
		{name: "manual map", groups: config.GroupSync{Mode: "manual", KeepExisting: true, Map: []config.GroupMap{{From: "Devs", To: []string{"confluence-devs"}}}},
			want: []string{"create group confluence-devs", "create user alice", "add membership alice -> confluence-devs"}},
		{name: "manual unmapped", groups: config.GroupSync{Mode: "manual", KeepExisting: true},
			want: []string{"create user alice"}},
		{name: "exclude", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true, KeepExisting: true, Exclude: []*regexp.Regexp{regexp.MustCompile("^Devs$")}},
			want: []string{"create user alice"}},
		{name: "include", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true, KeepExisting: true, Include: []*regexp.Regexp{regexp.MustCompile("^Dev")}},
			want: []string{"create group devs", "create user alice", "add membership alice -> devs"}},
		{name: "rename", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true, KeepExisting: true, Rename: &config.Rewrite{Pattern: regexp.MustCompile("^(.*)$"), Replace: "idp-$1"}},
			want: []string{"create group idp-devs", "create user alice", "add membership alice -> idp-devs"}},
		{name: "default groups new", groups: config.GroupSync{Mode: "manual", KeepExisting: true, DefaultGroupsNew: []string{"newcomers"}},
			want: []string{"create group newcomers", "create user alice", "add membership alice -> newcomers"}},
		{name: "default groups new not for existing users", groups: config.GroupSync{Mode: "manual", KeepExisting: true, DefaultGroupsNew: []string{"newcomers"}},
			setup: func(w *world) {
				w.target.PutUser(plan.ActualUser{Username: "alice", DisplayName: "ALICE", Email: "alice@example.com", Active: true})
			},
			want: []string{"create group newcomers", "adopt user alice"}},
		{name: "default groups all", groups: config.GroupSync{Mode: "manual", KeepExisting: true, DefaultGroupsAll: []string{"confluence-users"}},
			setup: func(w *world) {
				w.target.PutUser(plan.ActualUser{Username: "alice", DisplayName: "ALICE", Email: "alice@example.com", Active: true})
			},
			want: []string{"create group confluence-users", "adopt user alice", "add membership alice -> confluence-users"}},
		{name: "keep_existing leaves unmanaged members", groups: config.GroupSync{Mode: "on_the_fly", KeepExisting: true},
			setup: func(w *world) { w.target.PutGroup("devs", "zoe") },
			want:  []string{"adopt group devs", "create user alice", "add membership alice -> devs"}},
		{name: "authoritative removes unmanaged members", groups: config.GroupSync{Mode: "on_the_fly", KeepExisting: false},
			setup: func(w *world) {
				w.target.PutUser(plan.ActualUser{Username: "zoe", DisplayName: "Z", Email: "z@x.org", Active: true})
				w.target.PutGroup("devs", "zoe")
			},
			want: []string{"adopt group devs", "create user alice", "add membership alice -> devs", "remove membership zoe -> devs"}},
		{name: "authoritative spares protected users", groups: config.GroupSync{Mode: "on_the_fly", KeepExisting: false},
			setup: func(w *world) {
				w.cfg.Confluence.ProtectedUsers = []string{"zoe"}
				w.target.PutGroup("devs", "zoe")
			},
			want: []string{"adopt group devs", "create user alice", "add membership alice -> devs"}},
		{name: "protected group", groups: config.GroupSync{Mode: "on_the_fly", CreateMissing: true, KeepExisting: false},
			setup: func(w *world) {
				w.cfg.Confluence.ProtectedGroups = []string{"devs"}
				w.target.PutGroup("devs", "zoe")
			},
			want: []string{"create user alice"}, notice: "protected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := idpConfig("entra", 0)
			idp.Groups = tt.groups
			w := newWorld(idp)
			if tt.setup != nil {
				tt.setup(w)
			}
			w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "Devs", "1")}})
			p := w.plan(t, plan.Options{})
			wantChanges(t, p, tt.want...)
			if tt.notice != "" {
				hasNotice(t, p, p.Notices[0].Kind, tt.notice)
			}
			w.apply(t, p)
			if again := w.plan(t, plan.Options{}); !again.Empty() {
				t.Fatalf("plan after apply:\n%s", changeLines(again))
			}
		})
	}
}

func TestMembershipRemovedWhenLeavingIdPGroup(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	src := w.sources["entra"]
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1"), sg("h", "ops", "1")}})
	w.converge(t, plan.Options{})
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "devs"), sg("h", "ops", "1")}})
	p := w.converge(t, plan.Options{})
	wantChanges(t, p, "remove membership alice -> devs")
	// Gone from the IdP: disabled, memberships kept for a return.
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("2", "bob", true)}, Groups: []plan.SourceGroup{sg("g", "devs"), sg("h", "ops")}})
	p = w.converge(t, plan.Options{})
	wantChanges(t, p, "create user bob", "disable user alice")
	if m, _ := w.target.Members("ops"); strings.Join(m, ",") != "alice" {
		t.Errorf("ops = %v", m)
	}
}

func TestGroupDeletedWhenNoLongerMapped(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	src := w.sources["entra"]
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1"), sg("h", "ops", "1")}})
	w.converge(t, plan.Options{})
	w.target.PutGroup("legacy", "alice")
	w.state.RecordGroup(context.Background(), plan.ManagedGroup{Name: "legacy", IDP: "entra"}) // adopted, not created
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}, Groups: []plan.SourceGroup{sg("h", "ops", "1")}})
	p := w.converge(t, plan.Options{})
	wantChanges(t, p, "delete group devs")
	if _, ok := w.target.Members("legacy"); !ok {
		t.Error("an adopted group was deleted")
	}
}

func TestRenameInIdP(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	src := w.sources["entra"]
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	w.converge(t, plan.Options{})
	src.Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice.smith", true)}})
	p := w.plan(t, plan.Options{})
	wantChanges(t, p)
	hasNotice(t, p, plan.NoticeRename, `renamed to "alice.smith"`)
	hasNotice(t, p, plan.NoticeRename, "Edit username")
	// The admin renames the account in Confluence: ownership follows.
	u := w.target.User("alice")
	w.target.DeleteUser(context.Background(), "alice")
	u.Username = "alice.smith"
	w.target.PutUser(*u)
	p = w.converge(t, plan.Options{})
	wantChanges(t, p, "adopt user alice.smith", "update user alice.smith")
	own, _ := w.state.Ownership(context.Background())
	if len(own.Users) != 1 || own.Users[0].Username != "alice.smith" || own.Users[0].SourceID != "1" {
		t.Errorf("ownership = %+v", own.Users)
	}
}

func TestPriorityConflict(t *testing.T) {
	w := newWorld(idpConfig("okta", 0), idpConfig("entra", 10))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("e1", "alice", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "e1")}})
	okta := su("o1", "alice", true)
	okta.Attributes[config.DefaultSCIMDisplayName] = "Okta Alice"
	w.sources["okta"].Set(plan.Snapshot{Users: []plan.SourceUser{okta, su("o2", "bob", true)}, Groups: []plan.SourceGroup{sg("h", "ops", "o1")}})
	p := w.converge(t, plan.Options{})
	hasNotice(t, p, plan.NoticeConflict, `"entra" wins`)
	for _, c := range p.Changes {
		if c.User == "alice" && c.IDP != "entra" {
			t.Errorf("%s %s planned for %s", c.Action, c.Object(), c.IDP)
		}
	}
	if u := w.target.User("alice"); u.DisplayName != "ALICE" {
		t.Errorf("alice = %+v, want entra's values", u)
	}
}

func TestProtectedAdminNeverTouched(t *testing.T) {
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) { p.Groups.KeepExisting = false }))
	w.cfg.Confluence.Username = "svc-confsync"
	w.cfg.Confluence.ProtectedUsers = []string{"admin"}
	w.target.PutUser(plan.ActualUser{Username: "svc-confsync", DisplayName: "svc", Active: true})
	w.target.PutUser(plan.ActualUser{Username: "admin", DisplayName: "admin", Active: true})
	w.target.PutGroup("devs", "admin", "svc-confsync")
	inactive := su("1", "admin", false)
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{inactive, su("2", "svc-confsync", false), su("3", "x", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "3")}})
	p := w.converge(t, plan.Options{})
	for _, c := range p.Changes {
		if c.User == "admin" || c.User == "svc-confsync" {
			t.Errorf("protected user in plan: %s %s", c.Action, c.Object())
		}
	}
	hasNotice(t, p, plan.NoticeProtected, "user admin")
}

func TestTokenOwnerNeverTouched(t *testing.T) {
	// With a personal access token the configuration names no account, but
	// Confluence reports the caller; its account must stay untouched too.
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) { p.Groups.KeepExisting = false }))
	w.target.Caller = "pat-owner"
	w.target.PutUser(plan.ActualUser{Username: "pat-owner", DisplayName: "owner", Active: true})
	w.target.PutGroup("devs", "pat-owner")
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "pat-owner", false), su("2", "x", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "2")}})
	p := w.converge(t, plan.Options{})
	for _, c := range p.Changes {
		if c.User == "pat-owner" {
			t.Errorf("token owner in plan: %s %s", c.Action, c.Object())
		}
	}
	if u := w.target.User("pat-owner"); !u.Active {
		t.Errorf("token owner was disabled: %+v", u)
	}
}

func TestSourceHealthGuard(t *testing.T) {
	setup := func(t *testing.T) *world {
		w := newWorld(idpConfig("entra", 0), idpConfig("okta", 0))
		var users []plan.SourceUser
		for i := range 10 {
			users = append(users, su(fmt.Sprint(i), fmt.Sprintf("user%d", i), true))
		}
		w.sources["entra"].Set(plan.Snapshot{Users: users})
		w.sources["okta"].Set(plan.Snapshot{Users: []plan.SourceUser{su("o", "olga", true)}})
		w.converge(t, plan.Options{})
		w.sources["okta"].Set(plan.Snapshot{Users: []plan.SourceUser{su("o", "olga", true), su("p", "paul", true)}})
		return w
	}
	tests := []struct {
		name   string
		break_ func(s *plantest.Source)
		reason string
	}{
		{"failing", func(s *plantest.Source) { s.Err = errors.New("connection refused") }, "connection refused"},
		{"empty", func(s *plantest.Source) { s.Set(plan.Snapshot{}) }, "no users"},
		{"shrunken", func(s *plantest.Source) { s.Set(plan.Snapshot{Users: s.Snap.Users[:4]}) }, "fewer than 50% of the 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := setup(t)
			tt.break_(w.sources["entra"])
			p := w.plan(t, plan.Options{})
			// entra's users are not disabled; okta carries on.
			wantChanges(t, p, "create user paul")
			if len(p.Skipped) != 1 || p.Skipped[0].IDP != "entra" || !strings.Contains(p.Skipped[0].Reason, tt.reason) {
				t.Errorf("skipped = %+v, want entra for %q", p.Skipped, tt.reason)
			}
		})
	}
	t.Run("a moderate shrink deprovisions", func(t *testing.T) {
		w := setup(t)
		s := w.sources["entra"]
		s.Set(plan.Snapshot{Users: s.Snap.Users[:6]})
		p := w.plan(t, plan.Options{})
		if got := p.Summary().UsersDisable; got != 4 {
			t.Errorf("disables = %d, want 4:\n%s", got, changeLines(p))
		}
	})
}

func TestSafetyThresholds(t *testing.T) {
	mk := func(t *testing.T, s config.Safety) *world {
		w := newWorld(idpConfig("entra", 0))
		w.cfg.Safety = s
		var users []plan.SourceUser
		for i := range 10 {
			users = append(users, su(fmt.Sprint(i), fmt.Sprintf("user%d", i), true))
		}
		w.sources["entra"].Set(plan.Snapshot{Users: users})
		w.converge(t, plan.Options{})
		for i := range 4 {
			users[i].Active = false
		}
		w.sources["entra"].Set(plan.Snapshot{Users: users})
		return w
	}
	tests := []struct {
		name    string
		safety  config.Safety
		wantErr string
	}{
		{"count exceeded", config.Safety{MaxDeactivations: config.Threshold{Set: true, Count: 3}}, "disable 4 of 10 managed users, above max_deactivations = 3"},
		{"count ok", config.Safety{MaxDeactivations: config.Threshold{Set: true, Count: 4}}, ""},
		{"percent exceeded", config.Safety{MaxDeactivations: config.Threshold{Set: true, IsPercent: true, Percent: 20}}, "above max_deactivations = 20% (at most 2)"},
		{"percent ok", config.Safety{MaxDeactivations: config.Threshold{Set: true, IsPercent: true, Percent: 40}}, ""},
		{"unset", config.Safety{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mk(t, tt.safety)
			p, err := plan.Compute(context.Background(), w.inputs(plan.Options{}))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *plan.SafetyError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a SafetyError with %q", err, tt.wantErr)
			}
			if p == nil || p.Summary().UsersDisable != 4 {
				t.Fatal("the refused plan is not returned for display")
			}
			if _, err := plan.Compute(context.Background(), w.inputs(plan.Options{AllowMassChanges: true})); err != nil {
				t.Fatalf("with AllowMassChanges: %v", err)
			}
		})
	}
}

func TestIDPFilter(t *testing.T) {
	w := newWorld(idpConfig("entra", 0), idpConfig("okta", 0))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	w.sources["okta"].Set(plan.Snapshot{Users: []plan.SourceUser{su("2", "bob", true)}})
	w.converge(t, plan.Options{})
	w.sources["okta"].Set(plan.Snapshot{Users: []plan.SourceUser{su("3", "carl", true)}})
	p := w.plan(t, plan.Options{IDPs: []string{"entra"}})
	wantChanges(t, p)
	if _, err := plan.Compute(context.Background(), w.inputs(plan.Options{IDPs: []string{"nope"}})); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown idp: err = %v", err)
	}
}

func TestCustomAttributesStateOnly(t *testing.T) {
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) { p.Attributes.Custom = map[string]string{"dept": "department"} }))
	u := su("1", "alice", true)
	u.Attributes["department"] = "R&D"
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{u}})
	w.converge(t, plan.Options{})
	u.Attributes["department"] = "Sales"
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{u}})
	p := w.converge(t, plan.Options{})
	wantChanges(t, p, "update user alice")
	c := p.Changes[0]
	if !c.StateOnly || len(c.Attributes) != 1 || c.Attributes[0].Name != "custom.dept" || c.Attributes[0].Before != "R&D" || c.Attributes[0].After != "Sales" {
		t.Errorf("change = %+v", c)
	}
	if w.target.Calls["UpdateUser alice"] != 0 {
		t.Error("a custom attribute was written to Confluence")
	}
	own, _ := w.state.Ownership(context.Background())
	if own.Users[0].Custom["dept"] != "Sales" {
		t.Errorf("state custom = %v", own.Users[0].Custom)
	}
}

func TestHiddenEmailComparedWithState(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.target.HideEmail = true
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	w.converge(t, plan.Options{})
	u := su("1", "alice", true)
	u.Attributes[config.DefaultSCIMEmail] = "new@example.com"
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{u}})
	p := w.converge(t, plan.Options{})
	wantChanges(t, p, "update user alice")
}

func TestFailedActionSkipsDependents(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1", "2")}})
	w.target.Fail["CreateUser alice"] = errors.New("402 no licence seats")
	p := w.plan(t, plan.Options{})
	res, err := plan.Apply(context.Background(), p, w.target, w.state, plan.ApplyOptions{Parallelism: 2})
	var ae *plan.ApplyError
	if !errors.As(err, &ae) || ae.Failed != 1 || ae.Skipped != 1 {
		t.Fatalf("err = %v", err)
	}
	if res.Run.Outcome != "partial" || res.Applied != 3 {
		t.Errorf("run = %+v", res.Run)
	}
	if m, _ := w.target.Members("devs"); strings.Join(m, ",") != "bob" {
		t.Errorf("devs = %v", m)
	}
	delete(w.target.Fail, "CreateUser alice")
	p = w.converge(t, plan.Options{})
	wantChanges(t, p, "create user alice", "add membership alice -> devs")
}

func TestApplyLock(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	p := w.plan(t, plan.Options{})
	if err := w.state.AcquireLock(context.Background(), "other:1", time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err := plan.Apply(context.Background(), p, w.target, w.state, plan.ApplyOptions{Holder: "me:2"})
	if !errors.Is(err, plan.ErrLocked) || !strings.Contains(err.Error(), "other:1") {
		t.Fatalf("err = %v, want the lock held by other:1", err)
	}
	if w.target.TotalCalls() != 0 {
		t.Fatal("applied without the lock")
	}
	w.state.ForceUnlock(context.Background())
	w.apply(t, p)
	if l, _ := w.state.Lock(context.Background()); l != nil {
		t.Errorf("lock left behind: %+v", l)
	}
	runs, _ := w.state.Runs(context.Background(), 10)
	if len(runs) != 1 || runs[0].Outcome != "applied" || len(runs[0].Actions) != 1 {
		t.Errorf("runs = %+v", runs)
	}
}

func TestStale(t *testing.T) {
	setup := func(t *testing.T) (*world, *plan.Plan) {
		w := newWorld(idpConfig("entra", 0))
		w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1")}})
		w.target.PutGroup("devs", "bob")
		return w, w.plan(t, plan.Options{})
	}
	tests := []struct {
		name   string
		change func(w *world)
		want   string
		// also are further parts the message must have, not parts it
		// must not.
		also, not []string
	}{
		{"unchanged", func(w *world) {}, "", nil, nil},
		{"config", func(w *world) { w.cfg.Hash = "cfg2" }, "configuration changed", nil, nil},
		{"idp", func(w *world) {
			w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", false)}, Groups: []plan.SourceGroup{sg("g", "devs", "1")}})
		}, "identities in the IdPs changed", nil, nil},
		{"idp membership", func(w *world) {
			w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", true)}, Groups: []plan.SourceGroup{sg("g", "devs", "1", "2")}})
		}, "identities in the IdPs changed", nil, nil},
		{"confluence membership", func(w *world) { w.target.PutGroup("devs", "carol") }, "Confluence changed",
			nil, []string{"ownership"}},
		{"confluence user", func(w *world) {
			w.target.PutUser(plan.ActualUser{Username: "alice", DisplayName: "x", Email: "a@x.org", Active: true})
		}, "Confluence changed",
			[]string{"create user alice (no longer planned)", "adopt user alice (now planned)", "update user alice (now planned)"},
			[]string{"ownership", "and 1 more"}},
		{"ownership", func(w *world) {
			w.state.RecordMembership(context.Background(), plan.ManagedMembership{Username: "bob", Group: "devs", IDP: "entra"})
		}, "confsync's ownership state changed (another apply ran", nil, []string{"Confluence changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, saved := setup(t)
			tt.change(w)
			now, err := plan.Compute(context.Background(), w.inputs(plan.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			err = plan.Stale(saved, now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Stale = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Stale = %v, want %q", err, tt.want)
			}
			for _, s := range tt.also {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Stale = %v, want it to say %q", err, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Stale = %v, want it not to say %q", err, s)
				}
			}
		})
	}
}

// A first plan over an existing instance measures thresholds against what
// it adopts: disabling 1 of 4 adopted users is 25%.
func TestSafetyCountsAdoptedUsers(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.cfg.Safety = config.Safety{MaxDeactivations: config.Threshold{Set: true, IsPercent: true, Percent: 30}}
	var users []plan.SourceUser
	for i := range 4 {
		n := fmt.Sprintf("user%d", i)
		w.target.PutUser(plan.ActualUser{Username: n, DisplayName: strings.ToUpper(n), Email: n + "@example.com", Active: true})
		users = append(users, su(fmt.Sprint(i), n, i != 0))
	}
	w.sources["entra"].Set(plan.Snapshot{Users: users})
	p := w.plan(t, plan.Options{})
	if s := p.Summary(); s.UsersAdopt != 4 || s.UsersDisable != 1 {
		t.Fatalf("summary = %+v", s)
	}
	w.cfg.Safety.MaxDeactivations.Percent = 20
	if _, err := plan.Compute(context.Background(), w.inputs(plan.Options{})); err == nil || !strings.Contains(err.Error(), "disable 1 of 4 managed users") {
		t.Fatalf("err = %v", err)
	}
}

// An IdP that re-creates its users with new ids (SCIM DELETE, then POST)
// re-keys the managed users by adoption; the safety thresholds still count
// each Confluence user once.
func TestSafetyCountsReKeyedUsersOnce(t *testing.T) {
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) {
		p.Groups.KeepExisting = false
		p.Groups.DefaultGroupsNew = []string{"confluence-users"}
	}))
	var users []plan.SourceUser
	var ids []string
	for i := 1; i <= 10; i++ {
		users = append(users, su(fmt.Sprint(i), fmt.Sprintf("u%d", i), true))
		ids = append(ids, fmt.Sprint(i))
	}
	w.sources["entra"].Set(plan.Snapshot{Users: users, Groups: []plan.SourceGroup{sg("g", "sales", ids...)}})
	w.converge(t, plan.Options{})

	users, ids = nil, nil
	for i := 1; i <= 6; i++ {
		users = append(users, su(fmt.Sprintf("new%d", i), fmt.Sprintf("u%d", i), true))
		ids = append(ids, fmt.Sprintf("new%d", i))
	}
	w.sources["entra"].Set(plan.Snapshot{Users: users, Groups: []plan.SourceGroup{sg("g2", "sales", ids...)}})
	w.cfg.Safety = config.Safety{
		MaxDeactivations:      config.Threshold{Set: true, IsPercent: true, Percent: 20},
		MaxMembershipRemovals: config.Threshold{Set: true, Count: 10},
	}
	p, err := plan.Compute(context.Background(), w.inputs(plan.Options{}))
	if s := p.Summary(); s.UsersAdopt != 6 || s.UsersDisable != 4 {
		t.Fatalf("summary = %+v\n%s", s, changeLines(p))
	}
	want := "the plan would disable 4 of 10 managed users, above max_deactivations = 20% (at most 2)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant %q", err, want)
	}
	if strings.Contains(err.Error(), "membership") {
		t.Fatalf("err = %v: no membership is removed", err)
	}
}

// A user deprovisioned because its IdP no longer has it (SCIM DELETE) keeps
// its memberships, as one deactivated in the IdP does, even in groups whose
// IdP is authoritative (keep_existing = false); so does a disabled user on
// every later plan.
func TestDeprovisionedUserKeepsMemberships(t *testing.T) {
	for _, signal := range []string{"deleted", "inactive"} {
		t.Run(signal, func(t *testing.T) {
			w := newWorld(idpConfig("entra", 0, func(p *config.IDP) {
				p.Groups.KeepExisting = false
				p.Groups.DefaultGroupsNew = []string{"confluence-users"}
			}))
			w.sources["entra"].Set(plan.Snapshot{
				Users:  []plan.SourceUser{su("1", "u1", true), su("2", "u2", true), su("7", "u7", true)},
				Groups: []plan.SourceGroup{sg("g", "Sales", "1", "2", "7")},
			})
			w.converge(t, plan.Options{})
			users := []plan.SourceUser{su("1", "u1", true), su("2", "u2", true)}
			members := []string{"1", "2"}
			if signal == "inactive" {
				users = append(users, su("7", "u7", false))
				members = append(members, "7")
			}
			w.sources["entra"].Set(plan.Snapshot{Users: users, Groups: []plan.SourceGroup{sg("g", "Sales", members...)}})
			p := w.plan(t, plan.Options{})
			wantChanges(t, p, "disable user u7")
			w.apply(t, p)
			if again := w.plan(t, plan.Options{}); !again.Empty() {
				t.Fatalf("plan after the disable:\n%s", changeLines(again))
			}
			for _, g := range []string{"sales", "confluence-users"} {
				if m, _ := w.target.Members(g); !strings.Contains(strings.Join(m, ","), "u7") {
					t.Fatalf("%s = %v, want u7 kept", g, m)
				}
			}
		})
	}
}

// A group name Confluence would reject, arriving from the IdP, becomes a
// notice that leaves the group out, as an invalid username does; it is
// never planned to fail at apply.
func TestInvalidGroupNameFromIdP(t *testing.T) {
	w := newWorld(idpConfig("entra", 0, func(p *config.IDP) {
		p.Groups.KeepExisting = false
		p.Groups.DefaultGroupsNew = []string{"confluence-users"}
	}))
	w.sources["entra"].Set(plan.Snapshot{
		Users:  []plan.SourceUser{su("1", "alice", true)},
		Groups: []plan.SourceGroup{sg("g1", "Has Space", "1"), sg("g2", "Sales+Ops", "1"), sg("g3", "Devs", "1")},
	})
	p := w.plan(t, plan.Options{})
	wantChanges(t, p,
		"create group confluence-users",
		"create group devs",
		"create user alice",
		"add membership alice -> confluence-users",
		"add membership alice -> devs",
	)
	hasNotice(t, p, plan.NoticeGroup, `IdP group "Has Space" maps to "has space", which Confluence would reject`)
	hasNotice(t, p, plan.NoticeGroup, `IdP group "Sales+Ops" maps to "sales+ops", which Confluence would reject`)
	w.apply(t, p)
}

// A run that made no change and had one fail is an error, not partial;
// its message counts in good English.
func TestApplyOutcomeErrorWhenNothingApplied(t *testing.T) {
	w := newWorld(idpConfig("entra", 0))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	w.target.Fail["CreateUser alice"] = errors.New("402 no licence seats")
	p := w.plan(t, plan.Options{})
	res, err := plan.Apply(context.Background(), p, w.target, w.state, plan.ApplyOptions{})
	var ae *plan.ApplyError
	if !errors.As(err, &ae) || res.Run.Outcome != "error" || res.Applied != 0 {
		t.Fatalf("err = %v, run = %+v", err, res.Run)
	}
	if !strings.HasPrefix(res.Run.Message, "1 of 1 change failed") {
		t.Errorf("message = %q", res.Run.Message)
	}
	runs, _ := w.state.Runs(context.Background(), 1)
	if len(runs) != 1 || runs[0].Outcome != "error" {
		t.Fatalf("audit log = %+v", runs)
	}
	delete(w.target.Fail, "CreateUser alice")
	p = w.plan(t, plan.Options{})
	if res := w.apply(t, p); res.Run.Message != "1 change applied" {
		t.Errorf("message = %q", res.Run.Message)
	}
}

// Refusals are recorded in the audit log without the lock.
func TestRecordRefusal(t *testing.T) {
	st := plantest.NewState()
	if err := st.AcquireLock(context.Background(), "elsewhere:1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := plan.HoldLock(context.Background(), st, "here:2", 0); !errors.Is(err, plan.ErrLocked) || strings.Contains(err.Error(), "take the apply lock") {
		t.Fatalf("HoldLock = %v, want the bare *LockedError", err)
	}
	if err := plan.RecordRefusal(context.Background(), st, "", "the apply lock is held by elsewhere:1"); err != nil {
		t.Fatal(err)
	}
	runs, _ := st.Runs(context.Background(), 10)
	if len(runs) != 1 || runs[0].Trigger != "cli" || runs[0].Outcome != "refused" || runs[0].ID == "" || !strings.Contains(runs[0].Message, "elsewhere:1") {
		t.Fatalf("runs = %+v", runs)
	}
}
