package live_test

import (
	"context"
	"errors"
	"testing"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// failingScope makes the target's scoped reads fail, as a Confluence
// answering 500 would.
type failingScope struct {
	*plantest.Target
	fail error
}

func (f *failingScope) ReadScope(ctx context.Context, s plan.TargetScope) (*plan.Actual, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	return f.Target.ReadScope(ctx, s)
}

func targetedWorld(t *testing.T) (*engineWorld, *plantest.Journal, *failingScope) {
	t.Helper()
	w := newEngineWorld()
	j := plantest.NewJournal()
	ft := &failingScope{Target: w.target}
	w.eng.Target, w.eng.Journal, w.eng.Revisions = ft, j, j
	w.src.Set(plan.Snapshot{Users: users(3, true), Groups: []plan.SourceGroup{{ID: "g1", Name: "devs", MemberIDs: []string{"ida"}}}})
	run, err := w.eng.Reconcile(context.Background(), plan.TriggerReconcile)
	if err != nil || run.Kind != plan.RunFull || run.Outcome != plan.OutcomeApplied {
		t.Fatalf("start-up reconcile: run %+v, err %v; want a full applied run", run, err)
	}
	return w, j, ft
}

func TestTargetedReconcile(t *testing.T) {
	ctx := context.Background()
	w, j, ft := targetedWorld(t)

	// A new person in devs: the auto run plans only that person.
	snap := w.src.Snap
	snap.Users = append(snap.Users, user("idz", "userz", true))
	snap.Groups[0].MemberIDs = append(snap.Groups[0].MemberIDs, "idz")
	w.src.Set(snap)
	j.TouchUser("entra", "idz")
	w.target.Calls = map[string]int{}
	run, err := w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil || run.Kind != plan.RunTargeted || run.Outcome != plan.OutcomeApplied {
		t.Fatalf("auto run %+v, err %v; want a targeted applied run", run, err)
	}
	if len(run.Actions) != 2 || w.target.Calls["CreateUser userz"] != 1 || w.target.Calls["AddMember userz devs"] != 1 {
		t.Fatalf("actions %+v, calls %v; want userz created and added to devs only", run.Actions, w.target.Calls)
	}
	if p, _ := j.Pending(ctx, 10); len(p) != 0 {
		t.Fatalf("pending after a successful run: %+v", p)
	}

	// A Confluence error on the targeted read leaves the change pending.
	snap.Users[0].Active = false
	w.src.Set(snap)
	j.TouchUser("entra", "ida")
	ft.fail = errors.New("confluence answered 500")
	if _, err := w.eng.Reconcile(ctx, plan.TriggerAuto); err == nil {
		t.Fatal("auto run with a failing Confluence read: no error")
	}
	if p, _ := j.Pending(ctx, 10); len(p["entra"].Users) != 1 || p["entra"].Users[0] != "ida" {
		t.Fatalf("pending after a failed run: %+v, want ida", p)
	}
	if u := w.target.User("usera"); u == nil || !u.Active {
		t.Fatalf("usera changed by a run whose read failed: %+v", u)
	}
	ft.fail = nil
	run, err = w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil || run.Kind != plan.RunTargeted || w.target.User("usera").Active {
		t.Fatalf("retry: run %+v, err %v; usera should be disabled by a targeted run", run, err)
	}

	// Nothing pending: an auto run does nothing and records nothing.
	before := len(w.runs(t))
	run, err = w.eng.Reconcile(ctx, plan.TriggerAuto)
	if err != nil || len(run.Actions) != 0 || len(w.runs(t)) != before {
		t.Fatalf("auto run with nothing pending: %+v, err %v, runs %d -> %d", run, err, before, len(w.runs(t)))
	}
}

func TestTargetedFallsBackToFull(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		touch func(j *plantest.Journal)
	}{
		{"group renamed", func(j *plantest.Journal) { j.TouchUser("entra", "ida"); j.TouchFull("entra") }},
		{"burst past the limit", func(j *plantest.Journal) {
			for _, id := range []string{"ida", "idb", "idc"} {
				j.TouchUser("entra", id)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, j, _ := targetedWorld(t)
			w.eng.MaxTargeted = 2
			tc.touch(j)
			run, err := w.eng.Reconcile(ctx, plan.TriggerAuto)
			if err != nil || run.Kind != plan.RunFull {
				t.Fatalf("run %+v, err %v; want a full run", run, err)
			}
			if p, _ := j.Pending(ctx, 10); len(p) != 0 {
				t.Fatalf("a full run left changes pending: %+v", p)
			}
		})
	}
}

// TestTargetedCoversRemovedIdP: writes pending for an IdP no longer in the
// configuration have nothing to plan; they are covered, not left pending
// for ever.
func TestTargetedCoversRemovedIdP(t *testing.T) {
	ctx := context.Background()
	w, j, _ := targetedWorld(t)
	j.TouchUser("removed", "x")
	if _, err := w.eng.Reconcile(ctx, plan.TriggerAuto); err != nil {
		t.Fatalf("auto run: %v", err)
	}
	if p, _ := j.Pending(ctx, 10); len(p) != 0 {
		t.Fatalf("pending after the run: %+v", p)
	}
}
