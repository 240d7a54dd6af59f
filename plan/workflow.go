package plan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Reporting says how ApplyWorkflow reports a run and which runs it
// appends to the audit log.
type Reporting int

const (
	// ReportErrors is confsync apply's: what stopped the run is the error
	// returned. The audit log gets the applies and the refusals, a
	// refusal with its error's text as message; a plan that could not be
	// computed or had nothing to do is no run.
	ReportErrors Reporting = iota
	// ReportRuns is serve's: the returned Run says what happened, and the
	// audit log gets every run that got as far as planning, failures
	// included, so that status can say why nothing was applied. The error
	// is for a run that failed: a refusal, or an apply some of whose
	// changes failed, is none (its outcome says so).
	ReportRuns
)

// ApplyPolicy is what differs between confsync apply and serve's
// reconciles; ApplyWorkflow takes the same steps for both.
type ApplyPolicy struct {
	// Trigger is recorded with the run (TriggerCLI when "").
	Trigger Trigger
	// Holder names this process in the apply lock (DefaultHolder when "").
	Holder string
	// TakeLock makes the workflow take the apply lock before it reads
	// anything and hold it to the end: a second apply stops before it
	// reads or shows anything, and nothing changes between the plan shown
	// (or checked) and its apply. The lock held by another run is a
	// refusal. Without it the caller holds the lock (serve's Reconciler).
	TakeLock bool
	// Saved is the plan to apply instead of one computed now (confsync
	// apply FILE, with ReportErrors). It is refused when it was applied
	// already, when the current state exceeds the safety thresholds, and
	// when it is stale: computed again from the inputs with its own
	// options (and, for a rollback plan, the rollback of its run), the
	// plan differs (Stale).
	Saved *Plan
	// OnPlan, when set, sees the computed plan before anything else
	// happens to it, one a safety threshold stopped included; not a saved
	// plan nor its recomputation. An error ends the workflow, with nothing
	// applied or recorded.
	OnPlan func(p *Plan) error
	// Confirm, when set, is asked before a plan with changes is applied;
	// an error (a "no" included) ends the workflow, with nothing applied
	// or recorded.
	Confirm func(p *Plan) error
	// Parallelism and ApplyHook are Apply's Parallelism and Hook.
	Parallelism int
	ApplyHook   Hook
	// Reporting says how the run is reported and recorded.
	Reporting Reporting
	// RecordNoChanges, with ReportRuns, records a run that found nothing
	// to do ("no changes"). serve's periodic reconciles do; its auto ones
	// do not, so that the second replica to react to a change does not
	// double the history. A run that found nothing to do because an IdP
	// was left out by a failure is refused, and always recorded.
	RecordNoChanges bool
}

func (p ApplyPolicy) trigger() Trigger {
	if p.Trigger == "" {
		return TriggerCLI
	}
	return p.Trigger
}

// Applied is what ApplyWorkflow came to.
type Applied struct {
	// Plan is the plan the workflow went on with (computed, or saved and
	// checked), within the safety thresholds; nil when it stopped before.
	Plan *Plan
	// Result is the apply's; nil when nothing was applied.
	Result *Result
	// Run is the run as the audit log has it. With ReportRuns it is set
	// for every run, also one not recorded (nothing to do, or stopped by
	// shutdown before planning finished); with ReportErrors only when the
	// plan was applied.
	Run Run
}

// AppliedError refuses a saved plan that a run applied already.
type AppliedError struct{ Run Run }

func (e *AppliedError) Error() string {
	what := ""
	if e.Run.Outcome != OutcomeApplied {
		what = "; that run was " + string(e.Run.Outcome) + ", and the next plan shows what remains"
	}
	return fmt.Sprintf("this plan was already applied (run %s, at %s)%s; make a new plan with confsync plan --out FILE",
		e.Run.ID, e.Run.Finished.UTC().Format(time.RFC3339), what)
}

// ApplyWorkflow is one plan and apply: take the lock (when the policy
// says so), compute the plan (or check the saved one: applied already,
// safety, staleness), refuse it over a safety threshold, end a plan with
// nothing to do, ask for confirmation, apply, and record the run in the
// audit log as the policy's Reporting says. It prints nothing: callers
// render through OnPlan, Confirm, ApplyHook and what it returns.
func ApplyWorkflow(ctx context.Context, in Inputs, pol ApplyPolicy) (Applied, error) {
	if in.State == nil {
		// Compute says the same, but the lock and a saved plan's checks
		// come before it.
		return Applied{}, errors.New("plan: ApplyWorkflow needs a state store")
	}
	w := &workflow{in: in, pol: pol, run: Run{ID: uuid.NewString(), Started: time.Now().UTC(), Trigger: pol.trigger(), Kind: RunFull},
		before: RequestsSoFar(in.Target)}
	if in.Scope != nil {
		w.run.Kind = RunTargeted // until it falls back, or fails
	}
	if pol.TakeLock {
		lctx, release, err := HoldLock(ctx, in.State, pol.Holder, 0)
		if err != nil {
			w.lockRefused(ctx, err)
			return w.out, w.err
		}
		defer release()
		ctx = lctx
	}
	p := w.plan(ctx)
	if p == nil {
		return w.out, w.err
	}
	w.out.Plan = p
	if p.Empty() {
		w.nothingToDo(ctx, p)
		return w.out, w.err
	}
	if pol.Confirm != nil {
		if err := pol.Confirm(p); err != nil {
			return w.out, err
		}
	}
	w.apply(ctx, p)
	return w.out, w.err
}

// workflow is the state of one ApplyWorkflow: each step that ends it sets
// out and err.
type workflow struct {
	in  Inputs
	pol ApplyPolicy
	// run is the run ReportRuns reports, filled in as the steps go.
	run Run
	out Applied
	err error
	// before is the target's request count when the workflow started
	// (nil when it does not count them).
	before *int64
}

// lockRefused ends a workflow that could not take the apply lock: another
// run holding it is a refusal, anything else an error.
func (w *workflow) lockRefused(ctx context.Context, err error) {
	var locked *LockedError
	if errors.As(err, &locked) {
		w.refused(ctx, locked)
		return
	}
	w.err = err
}

// plan returns the plan to apply, or nil when the workflow ended.
func (w *workflow) plan(ctx context.Context) *Plan {
	if w.pol.Saved != nil {
		return w.checkSaved(ctx, w.pol.Saved)
	}
	p, err := Compute(ctx, w.in)
	if errors.Is(err, ErrNotTargetable) {
		// The same plan over a full read.
		w.in.Scope, w.run.Kind = nil, RunFull
		p, err = Compute(ctx, w.in)
	}
	if p != nil {
		w.run.Kind = p.Kind
	}
	if p != nil && w.pol.OnPlan != nil {
		if oerr := w.pol.OnPlan(p); oerr != nil {
			w.err = oerr
			return nil
		}
	}
	var safety *SafetyError
	switch {
	case errors.As(err, &safety):
		why := error(safety)
		if w.pol.Reporting == ReportErrors {
			// Said after the plan it stopped.
			why = fmt.Errorf("%w; nothing was applied", safety)
		}
		w.refused(ctx, why)
		return nil
	case err != nil:
		w.planFailed(ctx, err)
		return nil
	}
	return p
}

// checkSaved returns the saved plan once it is known to apply: not
// applied yet, within the safety thresholds now, and not stale. A plan
// applied already is answered as such, and is not a refused run: that
// would hide its apply in status.
func (w *workflow) checkSaved(ctx context.Context, saved *Plan) *Plan {
	done, err := w.in.State.RunOfPlan(ctx, saved.ID)
	if err != nil {
		w.err = err
		return nil
	}
	if done != nil {
		w.err = &AppliedError{Run: *done}
		return nil
	}
	now, err := w.recompute(ctx, saved)
	var safety *SafetyError
	switch {
	case errors.As(err, &safety):
		w.refused(ctx, fmt.Errorf("the saved plan was not applied: the current state exceeds the safety thresholds: %w", safety))
		return nil
	case err != nil:
		w.err = fmt.Errorf("check the saved plan against the current state: %w", err)
		return nil
	}
	if err := Stale(saved, now); err != nil {
		w.refused(ctx, err)
		return nil
	}
	if saved.Kind == RunCached {
		// Compared against the recorded state: Confluence itself is read
		// now, for just what the plan changes.
		err := CheckChangedObjects(ctx, w.in.Target, saved)
		var stale *StaleError
		switch {
		case errors.As(err, &stale):
			w.refused(ctx, err)
			return nil
		case err != nil:
			w.err = fmt.Errorf("check the saved plan against Confluence: %w", err)
			return nil
		}
	}
	return saved
}

// recompute computes a saved plan again from the inputs with the saved
// plan's options: a rollback plan as the rollback of its run, any other
// as a sync.
func (w *workflow) recompute(ctx context.Context, saved *Plan) (*Plan, error) {
	in := w.in
	in.Options.IDPs, in.Options.AllowMassChanges = saved.IDPFilter, saved.AllowMassChanges
	in.Options.NoRefresh = saved.Kind == RunCached
	if saved.RollbackOf != "" {
		rb, err := LoadRollback(ctx, in.State, saved.RollbackOf)
		if err != nil {
			return nil, err
		}
		in.Rollback = rb
	}
	return Compute(ctx, in)
}

// refused ends a run that applied nothing because a rule stopped it: a
// safety threshold, a stale saved plan, the lock held by another run.
func (w *workflow) refused(ctx context.Context, why error) {
	if w.pol.Reporting == ReportRuns {
		w.run.Outcome, w.run.Message = OutcomeRefused, "nothing applied: "+why.Error()
		w.record(ctx, nil)
		return
	}
	w.err = errors.Join(why, RecordRefusal(ctx, w.in.State, w.run.Trigger, why.Error()))
}

// planFailed ends a run whose plan could not be computed.
func (w *workflow) planFailed(ctx context.Context, err error) {
	switch {
	case w.pol.Reporting == ReportErrors:
		w.err = err
	case ctx.Err() != nil:
		// Shutdown: nothing was applied and nothing needs recording.
		w.out.Run = Run{Trigger: w.run.Trigger, Outcome: OutcomeError, Message: "stopped before planning finished"}
		w.err = err
	default:
		w.run.Outcome, w.run.Message = OutcomeError, "plan: "+err.Error()
		w.record(ctx, err)
	}
}

// nothingToDo ends a run whose plan has no changes. It is still an error
// (ReportErrors) or a refusal (ReportRuns) when an IdP was left out
// because its read failed, was incomplete or shrank: the run did not
// bring Confluence in step with the configuration.
func (w *workflow) nothingToDo(ctx context.Context, p *Plan) {
	if w.pol.Reporting == ReportErrors {
		w.err = CheckSources(p)
		return
	}
	left := leftOutText(p.Skipped)
	switch {
	case len(p.SourceErrors()) > 0:
		w.refused(ctx, errors.New(left))
		return
	case left != "":
		w.run.Message = "no changes; " + left
	default:
		w.run.Message = "no changes"
	}
	w.run.Outcome = OutcomeApplied
	if !w.pol.RecordNoChanges {
		w.run.Finished = time.Now().UTC()
		w.run.ConfluenceRequests = w.requests()
		w.out.Run = w.run
		return
	}
	w.record(ctx, nil)
}

// apply applies p under the lock the workflow (or its caller) holds; Apply
// appends its run to the audit log itself.
func (w *workflow) apply(ctx context.Context, p *Plan) {
	res, err := Apply(ctx, p, w.in.Target, w.in.State, ApplyOptions{
		Parallelism:    w.pol.Parallelism,
		Holder:         w.pol.Holder,
		LockHeld:       true,
		Trigger:        w.run.Trigger,
		Hook:           w.pol.ApplyHook,
		RequestsBefore: w.before,
		Started:        w.run.Started,
	})
	w.out.Result, w.err = res, err
	if res == nil {
		return
	}
	w.out.Run = res.Run
	if w.pol.Reporting == ReportErrors {
		if err == nil {
			// The healthy IdPs' changes are made; an IdP left out by a
			// failure still makes the apply an error.
			w.err = CheckSources(p)
		}
		return
	}
	// The run is partial when an IdP was left out by a failure, with why
	// in its message; one left out otherwise is noted.
	if left := leftOutText(p.Skipped); left != "" && len(p.SourceErrors()) == 0 {
		w.out.Run.Message += "; " + left
	}
	var applyErr *ApplyError
	if errors.As(err, &applyErr) {
		// Partial: the outcome says so; it is not a failure to run.
		w.err = nil
	}
}

// record appends the run to the audit log, even when ctx is cancelled,
// and ends the workflow with it and runErr.
func (w *workflow) record(ctx context.Context, runErr error) {
	w.run.Finished = time.Now().UTC()
	w.run.ConfluenceRequests = w.requests()
	w.out.Run, w.err = w.run, runErr
	if err := w.in.State.AppendRun(context.WithoutCancel(ctx), w.run); err != nil {
		w.err = errors.Join(runErr, fmt.Errorf("append the run to the audit log: %w", err))
	}
}

// requests is the number of requests the run sent to Confluence so far
// (0 when the target does not count them).
func (w *workflow) requests() int64 {
	now := RequestsSoFar(w.in.Target)
	if now == nil || w.before == nil {
		return 0
	}
	return *now - *w.before
}

// leftOutText says which IdPs the source-health guard left out, and why:
// "idp a left out: reason; idp b left out: reason".
func leftOutText(skipped []SkippedIDP) string {
	parts := make([]string, 0, len(skipped))
	for _, s := range skipped {
		parts = append(parts, fmt.Sprintf("idp %s left out: %s", s.IDP, s.Reason))
	}
	return strings.Join(parts, "; ")
}
