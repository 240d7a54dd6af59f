package pulltest

import (
	"context"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// Round computes the plan of cfg with sources against target and state,
// applies it, and returns it. Any error fails t.
func Round(t *testing.T, cfg *config.Config, sources map[string]plan.Source, target *plantest.Target, state *plantest.State) *plan.Plan {
	t.Helper()
	p, err := plan.Compute(context.Background(), plan.Inputs{Config: cfg, Sources: sources, Target: target, State: state})
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	if _, err := plan.Apply(context.Background(), p, target, state, plan.ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return p
}

// ActiveUsers counts the active users target holds.
func ActiveUsers(t *testing.T, target *plantest.Target) int {
	t.Helper()
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
