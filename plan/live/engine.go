package live

import (
	"context"
	"errors"
	"maps"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// Engine is the Runner serve uses: plan.ApplyWorkflow, as `confsync
// apply` runs it, with the apply lock already held by the Reconciler. Every
// reconcile that ran is appended to the audit log, refused and failed ones
// included, so that `confsync status` can say why nothing was applied; an
// auto reconcile that found nothing to do is not, so that the second
// replica to react to a change does not double the history. An auto
// reconcile is targeted when it can be (plan/live/targeted.go).
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
	// Journal, when set, makes auto reconciles targeted and is told what
	// each successful run covered.
	Journal plan.ChangeJournal
	// Revisions gives the IdPs' revisions a full run covers.
	Revisions Revisions
	// MaxTargeted is the most touched ids a targeted reconcile plans
	// (DefaultMaxTargeted when 0); more fall back to a full one.
	MaxTargeted int

	// lastFullRequests is the request count of this engine's last full
	// run (0 before the first).
	lastFullRequests int64
	// mapped is what the IdPs map onto, from the last full plan and the
	// targeted ones since (Plan.MappedGroups).
	mapped map[string]string
}

var _ Runner = (*Engine)(nil)

// Reconcile implements Runner. A reconcile reads the permissions a
// plan's removals take away only when a threshold limits them: the reads
// cost one request per space of the site, too much for every event.
func (e *Engine) Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error) {
	sel, err := e.selectRun(ctx, trigger)
	if err != nil {
		return plan.Run{Trigger: trigger, Outcome: plan.OutcomeError, Message: err.Error()}, err
	}
	if sel.nothing {
		// Another replica's run covered the writes already.
		return plan.Run{Trigger: trigger, Outcome: plan.OutcomeApplied, Message: "no changes"}, nil
	}
	in := plan.Inputs{
		Config:  e.Config,
		Sources: e.Sources,
		Target:  e.Target,
		State:   e.State,
		Hook:    e.Hook,
		Scope:   sel.scope,
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
	e.learn(done)
	if done.Plan != nil && err == nil && done.Run.Outcome != plan.OutcomeRefused && done.Run.Outcome != plan.OutcomeError {
		allApplied := done.Result == nil || (done.Result.Failed == 0 && done.Result.NotRun == 0)
		err = errors.Join(err, e.cover(ctx, sel, done.Plan, allApplied))
	}
	return done.Run, err
}

// learn keeps what a run taught the engine for the targeted runs after
// it: what the IdPs map onto, and what a full run costs.
func (e *Engine) learn(done plan.Applied) {
	p := done.Plan
	if p != nil && p.Kind == plan.RunFull && done.Run.ConfluenceRequests > 0 {
		// Only a full read that completed says what a full run costs.
		e.lastFullRequests = done.Run.ConfluenceRequests
	}
	switch {
	case p == nil:
	case p.Kind == plan.RunTargeted && e.mapped != nil:
		maps.Copy(e.mapped, p.MappedGroups)
	case p.Kind == plan.RunFull && p.MappedGroups != nil:
		e.mapped = p.MappedGroups
	}
}
