package plan_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// cliPolicy is confsync apply's policy, with OnPlan counting the plans it
// is shown.
func cliPolicy(shown *int) plan.ApplyPolicy {
	return plan.ApplyPolicy{Trigger: plan.TriggerCLI, TakeLock: true, Reporting: plan.ReportErrors,
		OnPlan: func(*plan.Plan) error { *shown++; return nil }}
}

func (w *world) lastRun(t *testing.T) plan.Run {
	t.Helper()
	runs, err := w.state.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("audit log = %+v, %v; want a run", runs, err)
	}
	return runs[0]
}

// With TakeLock, a lock held by another run stops the workflow before it
// reads anything, as a refused run.
func TestWorkflowRefusesHeldLock(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	if err := w.state.AcquireLock(context.Background(), "elsewhere:1", time.Hour); err != nil {
		t.Fatal(err)
	}
	shown := 0
	done, err := plan.ApplyWorkflow(context.Background(), w.inputs(plan.Options{}), cliPolicy(&shown))
	if !errors.Is(err, plan.ErrLocked) || done.Plan != nil || done.Result != nil || shown != 0 {
		t.Fatalf("ApplyWorkflow = %+v, %v (plans shown: %d); want the lock's refusal before any plan", done, err, shown)
	}
	if r := w.lastRun(t); r.Outcome != plan.OutcomeRefused || r.Trigger != plan.TriggerCLI || r.Message != err.Error() {
		t.Errorf("recorded run = %+v, want refused with the error %q", r, err)
	}
	if n := w.target.TotalCalls(); n != 0 {
		t.Errorf("Confluence got %d calls under another run's lock", n)
	}
}

// The workflow holds the lock it took while it computes and applies, and
// gives it back at the end.
func TestWorkflowHoldsTheLock(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	pol := plan.ApplyPolicy{TakeLock: true, Holder: "here:1", OnPlan: func(*plan.Plan) error {
		if l, _ := w.state.Lock(context.Background()); l == nil || l.Holder != "here:1" {
			return errors.New("the lock is not held while the plan is shown")
		}
		return nil
	}}
	done, err := plan.ApplyWorkflow(context.Background(), w.inputs(plan.Options{}), pol)
	if err != nil || done.Result == nil || done.Result.Applied != 1 || done.Run.Outcome != plan.OutcomeApplied {
		t.Fatalf("ApplyWorkflow = %+v, %v; want alice applied", done, err)
	}
	if l, _ := w.state.Lock(context.Background()); l != nil {
		t.Errorf("lock %+v still held after the workflow", l)
	}
}

// Over a safety threshold the plan is shown, not applied, and the refusal
// recorded with the error the CLI reports.
func TestWorkflowRefusesOverThreshold(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	w.cfg.Safety.MaxDeactivations = config.Threshold{Set: true, Count: 1}
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", true)}})
	w.apply(t, w.plan(t, plan.Options{}))
	calls := w.target.TotalCalls()
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", false), su("2", "bob", false)}})
	shown := 0
	done, err := plan.ApplyWorkflow(context.Background(), w.inputs(plan.Options{}), cliPolicy(&shown))
	var safety *plan.SafetyError
	if !errors.As(err, &safety) || !strings.HasSuffix(err.Error(), "; nothing was applied") || shown != 1 || done.Result != nil {
		t.Fatalf("ApplyWorkflow = %+v, %v (plans shown: %d); want the plan shown and refused", done, err, shown)
	}
	if r := w.lastRun(t); r.Outcome != plan.OutcomeRefused || r.Message != err.Error() {
		t.Errorf("recorded run = %+v", r)
	}
	if n := w.target.TotalCalls() - calls; n != 0 {
		t.Errorf("Confluence got %d calls for a refused plan", n)
	}
}

// A "no" at the confirmation applies and records nothing.
func TestWorkflowConfirmationDeclined(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	no := errors.New("cancelled")
	shown := 0
	pol := cliPolicy(&shown)
	pol.Confirm = func(p *plan.Plan) error {
		if len(p.Changes) != 1 {
			t.Errorf("asked to confirm %d changes, want 1", len(p.Changes))
		}
		return no
	}
	done, err := plan.ApplyWorkflow(context.Background(), w.inputs(plan.Options{}), pol)
	if !errors.Is(err, no) || done.Result != nil || done.Plan == nil || shown != 1 {
		t.Fatalf("ApplyWorkflow = %+v, %v; want the plan shown and the answer returned", done, err)
	}
	if runs, _ := w.state.Runs(context.Background(), 10); len(runs) != 0 || w.target.TotalCalls() != 0 {
		t.Errorf("a declined apply recorded %+v and made %d calls", runs, w.target.TotalCalls())
	}
}

// A saved plan is applied once it is checked: refused when stale, applied
// when current, answered as applied the second time.
func TestWorkflowSavedPlan(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	ctx := context.Background()
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	saved := w.plan(t, plan.Options{})
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true), su("2", "bob", true)}})

	shown := 0
	pol := cliPolicy(&shown)
	pol.Saved = saved
	_, err := plan.ApplyWorkflow(ctx, w.inputs(plan.Options{}), pol)
	var stale *plan.StaleError
	if !errors.As(err, &stale) || !strings.Contains(err.Error(), "the identities in the IdPs changed") {
		t.Fatalf("stale saved plan: %v", err)
	}
	if r := w.lastRun(t); r.Outcome != plan.OutcomeRefused || !strings.Contains(r.Message, "stale") {
		t.Errorf("recorded run = %+v, want the stale refusal", r)
	}

	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("1", "alice", true)}})
	done, err := plan.ApplyWorkflow(ctx, w.inputs(plan.Options{}), pol)
	if err != nil || done.Plan != saved || done.Result == nil || done.Run.PlanID != saved.ID || w.target.User("alice") == nil {
		t.Fatalf("current saved plan: %+v, %v; want it applied", done, err)
	}

	_, err = plan.ApplyWorkflow(ctx, w.inputs(plan.Options{}), pol)
	var applied *plan.AppliedError
	if !errors.As(err, &applied) || applied.Run.ID != done.Run.ID {
		t.Fatalf("saved plan applied twice: %v, want an AppliedError naming run %s", err, done.Run.ID)
	}
	if shown != 0 {
		t.Errorf("OnPlan saw %d plans; a saved plan and its recomputation are not shown", shown)
	}
	if r := w.lastRun(t); r.ID != done.Run.ID {
		t.Errorf("the second apply of a saved plan recorded %+v; it is no refused run", r)
	}
}

// An empty plan ends the workflow without a run; with ReportErrors an IdP
// left out by a failure is still the error.
func TestWorkflowNothingToDo(t *testing.T) {
	w := newWorld(idpConfig("entra", 1), idpConfig("okta", 2))
	w.sources["entra"].Err = errors.New("connection refused")
	done, err := plan.ApplyWorkflow(context.Background(), w.inputs(plan.Options{}), plan.ApplyPolicy{Reporting: plan.ReportErrors})
	var se *plan.SourceError
	if !errors.As(err, &se) || done.Plan == nil || !done.Plan.Empty() || done.Result != nil {
		t.Fatalf("ApplyWorkflow = %+v, %v; want the empty plan and the SourceError", done, err)
	}
	if runs, _ := w.state.Runs(context.Background(), 10); len(runs) != 0 {
		t.Errorf("ReportErrors recorded %+v for a plan with nothing to do", runs)
	}
}

// Inputs without a state store are an error, before any lock is taken.
func TestWorkflowNeedsState(t *testing.T) {
	w := newWorld(idpConfig("entra", 1))
	in := w.inputs(plan.Options{})
	in.State = nil
	if _, err := plan.ApplyWorkflow(context.Background(), in, plan.ApplyPolicy{TakeLock: true}); err == nil || !strings.Contains(err.Error(), "state store") {
		t.Errorf("ApplyWorkflow without a state store = %v", err)
	}
}
