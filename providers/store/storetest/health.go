package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// testSourceHealth: a complete read and a failure each keep the other's
// facts; the store agrees with plan.SourceHealth.Apply.
func testSourceHealth(t *testing.T, s store.Store) {
	if _, ok, err := s.Health(ctx(t), idpA); err != nil || ok {
		t.Fatalf("Health of a fresh store = %v, %v", ok, err)
	}
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	reports := []plan.HealthReport{
		{At: t0, Failure: "its source failed: ldap: bind: Invalid Credentials"},
		{At: t0.Add(time.Hour), Complete: true, Counts: plan.SourceCounts{Users: 40, Groups: 3}, LeftOut: 2},
		{At: t0.Add(2 * time.Hour), Failure: "its read is incomplete: size limit"},
	}
	var want plan.SourceHealth
	for i, r := range reports {
		must(t, s.RecordHealth(ctx(t), idpA, r))
		want = want.Apply(r)
		got, ok, err := s.Health(ctx(t), idpA)
		must(t, err)
		if diff := cmp.Diff(want, got); !ok || diff != "" {
			t.Errorf("after report %d: ok=%v (-want +got):\n%s", i, ok, diff)
		}
	}
	if want.Healthy || want.LastComplete.Users != 40 || want.LeftOut != 2 || want.LastFailureCause != reports[2].Failure {
		t.Errorf("Apply kept %+v", want)
	}
	if _, ok, _ := s.Health(ctx(t), idpB); ok {
		t.Error("another IdP has health")
	}
}

// testRunOfPlan: the run that applied a plan is found by the plan's ID;
// a refused run of it is not an apply.
func testRunOfPlan(t *testing.T, s store.Store) {
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	must(t, s.AppendRun(ctx(t), plan.Run{ID: "r-refused", Started: t0, Finished: t0, Trigger: "cli", Outcome: "refused", Message: "stale", PlanID: "p1"}))
	if r, err := s.RunOfPlan(ctx(t), "p1"); err != nil || r != nil {
		t.Fatalf("RunOfPlan of a refused plan = %+v, %v", r, err)
	}
	must(t, s.AppendRun(ctx(t), plan.Run{ID: "r-applied", Started: t0, Finished: t0.Add(time.Second), Trigger: "cli", Outcome: "applied",
		Message: "1 change applied", PlanID: "p1", Kind: plan.RunTargeted, ConfluenceRequests: 12, Actions: []plan.RunAction{{Action: "create", Object: "user a", IDP: idpA}}}))
	must(t, s.AppendRun(ctx(t), plan.Run{ID: "r-other", Started: t0, Finished: t0, Trigger: "cli", Outcome: "applied", PlanID: "p2"}))
	r, err := s.RunOfPlan(ctx(t), "p1")
	must(t, err)
	want := &plan.Run{ID: "r-applied", Started: t0, Finished: t0.Add(time.Second), Trigger: "cli", Outcome: "applied", Message: "1 change applied", PlanID: "p1",
		Kind: plan.RunTargeted, ConfluenceRequests: 12}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("RunOfPlan (-want +got):\n%s", diff)
	}
	if r, err := s.RunOfPlan(ctx(t), ""); err != nil || r != nil {
		t.Errorf("RunOfPlan(\"\") = %+v, %v", r, err)
	}
	runs, err := s.Runs(ctx(t), 1)
	must(t, err)
	if len(runs) != 1 || runs[0].PlanID != "p2" {
		t.Errorf("Runs does not carry the plan ID: %+v", runs)
	}
}
