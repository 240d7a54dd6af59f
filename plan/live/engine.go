package live

import (
	"context"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// Engine is the Runner serve uses: plan.ApplyWorkflow, as `confsync
// apply` runs it, with the apply lock already held by the Reconciler. Every
// reconcile that ran is appended to the audit log, refused and failed ones
// included, so that `confsync status` can say why nothing was applied; an
// auto reconcile that found nothing to do is not, so that the second
// replica to react to a change does not double the history.
type Engine struct {
	Config  *config.Config
	Sources map[string]plan.Source
	Target  plan.Target
	State   plan.StateStore
	// Holder is the Reconciler's lock holder.
	Holder string
	// Parallelism bounds the Confluence changes in flight (default 4).
	Parallelism int
	// Hook receives the engine's progress; nil for none.
	Hook plan.Hook
	// OnPlan, when set, sees every computed plan (for metrics about the
	// IdPs the source-health guard left out).
	OnPlan func(p *plan.Plan)
}

var _ Runner = (*Engine)(nil)

// Reconcile implements Runner. A reconcile reads the permissions a
// plan's removals take away only when a threshold limits them: the reads
// cost one request per space of the site, too much for every event.
func (e *Engine) Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error) {
	in := plan.Inputs{
		Config:  e.Config,
		Sources: e.Sources,
		Target:  e.Target,
		State:   e.State,
		Hook:    e.Hook,
		Options: plan.Options{PermissionImpactOnlyIfLimited: true},
	}
	pol := plan.ApplyPolicy{
		Trigger:         trigger,
		Holder:          e.Holder,
		Parallelism:     e.Parallelism,
		ApplyHook:       e.Hook,
		Reporting:       plan.ReportRuns,
		RecordNoChanges: trigger != plan.TriggerAuto,
	}
	if e.OnPlan != nil {
		pol.OnPlan = func(p *plan.Plan) error {
			e.OnPlan(p)
			return nil
		}
	}
	done, err := plan.ApplyWorkflow(ctx, in, pol)
	return done.Run, err
}
