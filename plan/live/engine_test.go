package live_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
	"github.com/confsync/confsync/plan/plantest"
)

type engineWorld struct {
	cfg    *config.Config
	src    *plantest.Source
	target *plantest.Target
	state  *plantest.State
	eng    *live.Engine
}

func newEngineWorld() *engineWorld {
	idp := &config.IDP{Name: "entra", SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true}}
	w := &engineWorld{
		cfg:    &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://c"}, IDPs: []*config.IDP{idp}},
		src:    &plantest.Source{},
		target: plantest.NewTarget(),
		state:  plantest.NewState(),
	}
	w.eng = &live.Engine{Config: w.cfg, Sources: map[string]plan.Source{"entra": w.src}, Target: w.target, State: w.state, Holder: "me"}
	return w
}

func user(id, name string, active bool) plan.SourceUser {
	return plan.SourceUser{ID: id, Active: active, Attributes: map[string]string{
		config.DefaultSCIMUsername: name, config.DefaultSCIMEmail: name + "@example.com", config.DefaultSCIMDisplayName: strings.ToUpper(name)}}
}

func users(n int, active bool) []plan.SourceUser {
	var out []plan.SourceUser
	for i := range n {
		out = append(out, user("id"+string(rune('a'+i)), "user"+string(rune('a'+i)), active))
	}
	return out
}

func (w *engineWorld) runs(t *testing.T) []plan.Run {
	t.Helper()
	r, err := w.state.Runs(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEngineAppliesAndRecords(t *testing.T) {
	w := newEngineWorld()
	w.src.Set(plan.Snapshot{Users: users(3, true), Groups: []plan.SourceGroup{{ID: "g1", Name: "devs", MemberIDs: []string{"ida"}}}})
	ctx := context.Background()
	run, err := w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if run.Outcome != plan.OutcomeApplied || run.Trigger != plan.TriggerAuto || len(run.Actions) == 0 {
		t.Fatalf("run = %+v, want applied auto run with actions", run)
	}
	if w.target.User("usera") == nil {
		t.Fatal("usera was not created in Confluence")
	}
	if m, _ := w.target.Members("devs"); len(m) != 1 || m[0] != "usera" {
		t.Errorf("devs members = %v, want [usera]", m)
	}
	if got := w.runs(t); len(got) != 1 || got[0].Trigger != plan.TriggerAuto {
		t.Fatalf("audit log = %+v, want the auto run", got)
	}

	// Nothing changed: an auto no-op is not logged, a periodic one is.
	run, err = w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil || run.Outcome != plan.OutcomeApplied || run.Message != "no changes" {
		t.Fatalf("second auto reconcile = %+v, %v; want applied with no changes", run, err)
	}
	if n := len(w.runs(t)); n != 1 {
		t.Errorf("audit log has %d runs after an auto no-op, want 1", n)
	}
	if _, err := w.eng.Reconcile(ctx, plan.TriggerReconcile); err != nil {
		t.Fatal(err)
	}
	if got := w.runs(t); len(got) != 2 || got[0].Trigger != plan.TriggerReconcile || got[0].Message != "no changes" {
		t.Errorf("audit log = %+v, want the periodic no-op first", got)
	}
	if n := w.target.Calls["CreateUser usera"]; n != 1 {
		t.Errorf("usera created %d times, want 1", n)
	}
}

func TestEngineRefusesOverThreshold(t *testing.T) {
	w := newEngineWorld()
	w.cfg.Safety.MaxDeactivations = config.Threshold{Set: true, Count: 1}
	w.src.Set(plan.Snapshot{Users: users(4, true)})
	ctx := context.Background()
	if _, err := w.eng.Reconcile(ctx, plan.TriggerAuto); err != nil {
		t.Fatal(err)
	}
	calls := w.target.TotalCalls()
	w.src.Set(plan.Snapshot{Users: users(4, false)})
	run, err := w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil {
		t.Fatalf("a refused reconcile is not an error: %v", err)
	}
	if run.Outcome != plan.OutcomeRefused || !strings.Contains(run.Message, "max_deactivations") {
		t.Errorf("run = %+v, want refused naming max_deactivations", run)
	}
	if got := w.target.TotalCalls(); got != calls {
		t.Errorf("Confluence got %d more calls; a refused reconcile must change nothing", got-calls)
	}
	if got := w.runs(t); got[0].Outcome != plan.OutcomeRefused {
		t.Errorf("latest audit run = %+v, want the refusal recorded", got[0])
	}
}

func TestEngineSourceHealthGuard(t *testing.T) {
	w := newEngineWorld()
	w.src.Set(plan.Snapshot{Users: users(6, true)})
	ctx := context.Background()
	if _, err := w.eng.Reconcile(ctx, plan.TriggerAuto); err != nil {
		t.Fatal(err)
	}
	var seen *plan.Plan
	w.eng.OnPlan = func(p *plan.Plan) { seen = p }
	w.src.Set(plan.Snapshot{Users: users(1, true)})
	run, err := w.eng.Reconcile(ctx, plan.TriggerReconcile)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != plan.OutcomeRefused || !strings.Contains(run.Message, "idp entra left out") {
		t.Errorf("run = %+v, want refused saying entra was left out", run)
	}
	if seen == nil || len(seen.Skipped) != 1 {
		t.Errorf("OnPlan saw %+v, want the plan with entra skipped", seen)
	}
	if w.target.User("userf") == nil || !w.target.User("userf").Active {
		t.Error("a user was deprovisioned although the guard left the IdP out")
	}
}

func TestEnginePartialIsAnOutcomeNotAnError(t *testing.T) {
	w := newEngineWorld()
	w.target.Fail["CreateUser userb"] = plan.ErrNotFound
	w.src.Set(plan.Snapshot{Users: users(3, true)})
	run, err := w.eng.Reconcile(context.Background(), plan.TriggerAuto)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if run.Outcome != plan.OutcomePartial {
		t.Errorf("outcome = %q, want partial", run.Outcome)
	}
	failed := 0
	for _, a := range run.Actions {
		if a.Error != "" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d failed actions, want 1: %+v", failed, run.Actions)
	}
}

// revCounter is a SCIM revision that a test bumps as an IdP write would.
type revCounter struct {
	mu sync.Mutex
	n  int64
}

func (r *revCounter) Revision(context.Context, string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, nil
}

func (r *revCounter) bump() {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
}

// TestReconcilerWithEngine is the whole loop on the in-memory engine fakes:
// a user that appears in the source reaches Confluence with no command run.
func TestReconcilerWithEngine(t *testing.T) {
	w := newEngineWorld()
	revs := &revCounter{}
	rec, err := live.New(live.Options{Runner: w.eng, Lock: w.state, Revisions: revs, IdPs: []string{"entra"},
		Holder: "me", Debounce: 10 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = rec.Run(ctx) }()
	defer func() { cancel(); <-done }()

	w.src.Set(plan.Snapshot{Users: users(2, true)})
	revs.bump()
	rec.Notify("entra")
	deadline := time.Now().Add(30 * time.Second)
	for w.target.User("userb") == nil {
		if time.Now().After(deadline) {
			t.Fatal("userb never reached Confluence")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if l, _ := w.state.Lock(context.Background()); l != nil {
		t.Errorf("lock still held by %q after shutdown", l.Holder)
	}
	if n := w.target.Calls["CreateUser userb"]; n != 1 {
		t.Errorf("userb created %d times, want 1", n)
	}
}

func TestEngineFreshEmptyIdPIsNotARefusal(t *testing.T) {
	w := newEngineWorld()
	// Nothing pushed yet, nothing ever read.
	run, err := w.eng.Reconcile(context.Background(), plan.TriggerReconcile)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != plan.OutcomeApplied || !strings.Contains(run.Message, "no changes; idp entra left out") {
		t.Errorf("run = %+v, want applied with no changes, saying entra was left out", run)
	}
}

// An auto-apply whose IdP read fails is not "in sync": refused when there
// is nothing else to do, partial when a healthy IdP's changes were made.
func TestEngineSourceFailureIsNotSuccess(t *testing.T) {
	w := newEngineWorld()
	ldapIdP := &config.IDP{Name: "corp", Priority: 10, LDAP: &config.LDAPSource{},
		Users: config.UserSync{Create: true, Update: true, Deactivate: true}}
	w.cfg.IDPs = append(w.cfg.IDPs, ldapIdP)
	corp := &plantest.Source{Err: errors.New("ldap: bind: Invalid Credentials")}
	w.eng.Sources["corp"] = corp
	ctx := context.Background()

	run, err := w.eng.Reconcile(ctx, plan.TriggerReconcile)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != plan.OutcomeRefused || !strings.Contains(run.Message, "idp corp left out: its source failed") {
		t.Errorf("empty plan with a failed IdP: run = %+v, want refused naming corp", run)
	}

	w.src.Set(plan.Snapshot{Users: users(2, true)})
	run, err = w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcome != plan.OutcomePartial || !strings.Contains(run.Message, "idp corp left out") || w.target.User("usera") == nil {
		t.Errorf("changes with a failed IdP: run = %+v, want partial with entra's changes made", run)
	}
	if h, _, _ := w.state.Health(ctx, "corp"); h.Healthy || !strings.Contains(h.LastFailureCause, "Invalid Credentials") {
		t.Errorf("corp health = %+v", h)
	}
}
