package live

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	// Journal, when set, makes auto reconciles targeted (plan/live/targeted.go)
	// and is told what each successful run covered.
	Journal plan.ChangeJournal
	// Revisions gives the IdPs' revisions a full run covers.
	Revisions Revisions
	// MaxTargeted is the most touched ids a targeted reconcile plans
	// (DefaultMaxTargeted when 0); more fall back to a full one.
	MaxTargeted int

	// lastFullRequests is the request count of this engine's last full
	// run (0 before the first).
	lastFullRequests int64
	// mapped is the last full plan's Plan.MappedGroups.
	mapped map[string]string
}

var _ Runner = (*Engine)(nil)

// Reconcile implements Runner.
func (e *Engine) Reconcile(ctx context.Context, trigger plan.Trigger) (plan.Run, error) {
	started := time.Now().UTC()
	run := plan.Run{ID: uuid.NewString(), Started: started, Trigger: trigger, Kind: plan.RunFull}
	sel, err := e.selectRun(ctx, trigger)
	if err != nil {
		run.Outcome, run.Message = plan.OutcomeError, err.Error()
		return e.record(ctx, run, err)
	}
	if sel.nothing {
		run.Outcome, run.Message, run.Finished = plan.OutcomeApplied, "no changes", time.Now().UTC()
		return run, nil
	}
	before := plan.RequestsSoFar(e.Target)
	in := plan.Inputs{
		Config:  e.Config,
		Sources: e.Sources,
		Target:  e.Target,
		State:   e.State,
		Hook:    e.Hook,
		Scope:   sel.scope,
		Options: plan.Options{PermissionImpactOnlyIfLimited: true},
	}
	p, err := plan.Compute(ctx, in)
	if errors.Is(err, plan.ErrNotTargetable) {
		in.Scope = nil
		p, err = plan.Compute(ctx, in)
	}
	if p != nil {
		run.Kind = p.Kind
		switch {
		case p.Kind == plan.RunTargeted && e.mapped != nil:
			maps.Copy(e.mapped, p.MappedGroups)
		case p.Kind == plan.RunFull && p.MappedGroups != nil:
			e.mapped = p.MappedGroups
		}
	}
	defer func() {
		if run.Kind == plan.RunFull && before != nil {
			e.lastFullRequests = *plan.RequestsSoFar(e.Target) - *before
		}
	}()
	run.ConfluenceRequests = requestsSince(e.Target, before)
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
		if run.Outcome == plan.OutcomeApplied {
			if err := e.cover(ctx, sel, p, true); err != nil {
				return e.record(ctx, run, err)
			}
		}
		if trigger == plan.TriggerAuto && run.Outcome == plan.OutcomeApplied {
			run.Finished = time.Now().UTC()
			return run, nil
		}
		return e.record(ctx, run, nil)
	}

	res, err := plan.Apply(ctx, p, e.Target, e.State, plan.ApplyOptions{
		Parallelism:    e.Parallelism,
		Holder:         e.Holder,
		LockHeld:       true,
		Trigger:        trigger,
		Hook:           e.Hook,
		RequestsBefore: before,
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
	if cerr := e.cover(ctx, sel, p, res.Failed == 0 && res.NotRun == 0); cerr != nil {
		err = errors.Join(err, cerr)
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

// requestsSince is the requests the target sent since before (0 when it
// does not count them).
func requestsSince(t plan.Target, before *int64) int64 {
	now := plan.RequestsSoFar(t)
	if before == nil || now == nil {
		return 0
	}
	return *now - *before
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
