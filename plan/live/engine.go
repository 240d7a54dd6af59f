package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// Engine is the Runner serve uses: plan.Compute then plan.Apply, as
// `confsync apply` does, with the apply lock already held by the
// Reconciler. Every reconcile that ran is appended to the audit log, refused
// and failed ones included, so that `confsync status` can say why nothing
// was applied; an auto reconcile that found nothing to do is not, so that
// the second replica to react to a change does not double the history.
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

// Reconcile implements Runner.
func (e *Engine) Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error) {
	started := time.Now().UTC()
	run := plan.Run{ID: uuid.NewString(), Started: started, Trigger: trigger}
	p, err := plan.Compute(ctx, plan.Inputs{
		Config:  e.Config,
		Sources: e.Sources,
		Target:  e.Target,
		State:   e.State,
		Hook:    e.Hook,
		Options: plan.Options{PermissionImpactOnlyIfLimited: true},
	})
	if p != nil && e.OnPlan != nil {
		e.OnPlan(p)
	}
	var safety *plan.SafetyError
	switch {
	case errors.As(err, &safety):
		run.Outcome = plan.OutcomeRefused
		run.Message = "nothing applied: " + safety.Error()
		return e.record(ctx, run, nil)
	case err != nil:
		if ctx.Err() != nil {
			// Shutdown: nothing was applied and nothing needs recording.
			return plan.Run{Trigger: trigger, Outcome: plan.OutcomeError, Message: "stopped before planning finished"}, err
		}
		run.Outcome = plan.OutcomeError
		run.Message = "plan: " + err.Error()
		return e.record(ctx, run, err)
	}

	left := leftOut(p)
	if p.Empty() {
		run.Outcome = plan.OutcomeApplied
		run.Message = "no changes"
		if len(p.SourceErrors()) > 0 {
			// An IdP was left out because its read failed, was
			// incomplete or shrank: the run is not "in sync".
			run.Outcome = plan.OutcomeRefused
			run.Message = "nothing applied: " + left
		} else if left != "" {
			run.Message += "; " + left
		}
		if trigger == plan.TriggerAuto && run.Outcome == plan.OutcomeApplied {
			run.Finished = time.Now().UTC()
			return run, nil
		}
		return e.record(ctx, run, nil)
	}

	res, err := plan.Apply(ctx, p, e.Target, e.State, plan.ApplyOptions{
		Parallelism: e.Parallelism,
		Holder:      e.Holder,
		LockHeld:    true,
		Trigger:     trigger,
		Hook:        e.Hook,
	})
	if res == nil {
		run.Outcome = plan.OutcomeError
		run.Message = "apply: " + errString(err)
		return e.record(ctx, run, err)
	}
	// Apply appended its run to the audit log already (partial when an
	// IdP was left out by a failure, with why in its message).
	out := res.Run
	if left != "" && len(p.SourceErrors()) == 0 {
		out.Message += "; " + left
	}
	var applyErr *plan.ApplyError
	if errors.As(err, &applyErr) {
		// Partial: the outcome says so; it is not a failure to run.
		err = nil
	}
	return out, err
}

// record appends run to the audit log even when ctx is cancelled.
func (e *Engine) record(ctx context.Context, run plan.Run, runErr error) (plan.Run, error) {
	run.Finished = time.Now().UTC()
	if err := e.State.AppendRun(context.WithoutCancel(ctx), run); err != nil {
		return run, errors.Join(runErr, fmt.Errorf("append the run to the audit log: %w", err))
	}
	return run, runErr
}

// leftOut describes the IdPs the source-health guard left out of p.
func leftOut(p *plan.Plan) string {
	if len(p.Skipped) == 0 {
		return ""
	}
	parts := make([]string, 0, len(p.Skipped))
	for _, s := range p.Skipped {
		parts = append(parts, fmt.Sprintf("idp %s left out: %s", s.IDP, s.Reason))
	}
	return strings.Join(parts, "; ")
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
