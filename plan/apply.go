package plan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Parallelism bounds the changes in flight (default 4).
	Parallelism int
	// Holder names this process in the apply lock (DefaultHolder when "").
	Holder  string
	LockTTL time.Duration
	// LockHeld says the caller already holds the apply lock (serve's
	// reconciler); Apply then neither takes nor releases it.
	LockHeld bool
	// Trigger is recorded in the audit log (TriggerCLI when empty).
	Trigger Trigger
	Hook    Hook
	Now     func() time.Time
	// Started, when set, is when the run began (its plan's computation):
	// the audit log's start time; the apply's own start otherwise.
	Started time.Time
	// RequestsBefore, when set and the target is a RequestCounter, is
	// its count before the run's plan was computed: the run records the
	// requests its reads and changes sent (see RequestsSoFar).
	RequestsBefore *int64
}

// RequestsSoFar returns the target's request count, for
// ApplyOptions.RequestsBefore; nil when it does not count.
func RequestsSoFar(t Target) *int64 {
	rc, ok := t.(RequestCounter)
	if !ok {
		return nil
	}
	n := rc.Requests()
	return &n
}

// ApplyError is returned by Apply when some changes failed or did not run.
type ApplyError struct {
	Failed, Skipped, Total int
}

func (e *ApplyError) Error() string {
	msg := fmt.Sprintf("%d of %s failed", e.Failed, plural(e.Total, "change", "changes"))
	if e.Skipped > 0 {
		msg += fmt.Sprintf(", %d did not run", e.Skipped)
	}
	return msg + "; run plan again to see what remains"
}

// Result is what an apply did.
type Result struct {
	Run Run
	// Errors holds each change's error, by index in Plan.Changes; nil for
	// a success. Changes that did not run hold ErrNotRun or a
	// *DependencyError.
	Errors                  []error
	Applied, Failed, NotRun int
}

// ErrNotRun marks a change an interrupted apply did not start.
var ErrNotRun = errors.New("not run: the apply was interrupted")

// DependencyError marks a change skipped because one it depends on failed.
type DependencyError struct{ On string }

func (e *DependencyError) Error() string { return "not run: " + e.On + " failed" }

// Apply carries out a plan's changes against Confluence, recording each
// success in the ownership state as it happens, so that an apply cut short
// leaves a next plan with only the rest. Independent changes run
// concurrently; a change whose dependency failed is skipped, the others
// carry on. Apply takes the apply lock (unless LockHeld), appends a Run to
// the audit log, and returns an *ApplyError when anything failed.
//
// Apply does not check that the plan is current; callers applying a saved
// plan compare fingerprints first (see Stale).
func Apply(ctx context.Context, p *Plan, t Target, st StateStore, opts ApplyOptions) (*Result, error) {
	hook := opts.Hook
	if hook == nil {
		hook = NopHook{}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	par := opts.Parallelism
	if par <= 0 {
		par = 4
	}
	trigger := opts.Trigger
	if trigger == "" {
		trigger = TriggerCLI
	}
	started := opts.Started
	if started.IsZero() {
		started = now()
	}
	res := &Result{Run: Run{ID: uuid.NewString(), Started: started.UTC(), Trigger: trigger, PlanID: p.ID}, Errors: make([]error, len(p.Changes))}

	if !opts.LockHeld {
		lctx, release, err := HoldLock(ctx, st, opts.Holder, opts.LockTTL)
		if err != nil {
			return nil, err
		}
		defer release()
		ctx = lctx
	}

	hook.ApplyStarted(len(p.Changes))
	run(ctx, p, t, st, par, hook, res, now)
	cacheErr := recordApplied(ctx, st, p, res.Errors, now().UTC())

	for i, err := range res.Errors {
		c := &p.Changes[i]
		ra := RunAction{Action: c.Action.String(), Object: c.Object(), IDP: c.IDP, Change: recordedChange(c)}
		switch {
		case err == nil:
			res.Applied++
		case errors.Is(err, ErrNotRun) || isDependency(err):
			res.NotRun++
			ra.Error = err.Error()
		default:
			res.Failed++
			ra.Error = err.Error()
		}
		res.Run.Actions = append(res.Run.Actions, ra)
	}
	res.Run.Finished = now().UTC()
	var applyErr error
	switch {
	case res.Failed == 0 && res.NotRun == 0:
		res.Run.Outcome = OutcomeApplied
		res.Run.Message = plural(res.Applied, "change", "changes") + " applied"
		if errs := p.SourceErrors(); len(errs) > 0 {
			// The healthy IdPs' changes are made, but not everything the
			// configuration asks for: an IdP was left out by a failure.
			res.Run.Outcome = OutcomePartial
			res.Run.Message += "; " + leftOutText(errs)
		}
		// The plan's reads now describe Confluence: they become the
		// source-health guard's reference.
		for idp, c := range p.Reads {
			if err := st.RecordRead(context.WithoutCancel(ctx), idp, c); err != nil {
				applyErr = fmt.Errorf("record read of idp %q: %w", idp, err)
			}
		}
	default:
		// "partial" when some changes were made; "error" when none was
		// and at least one failed (an interrupted run that made none is
		// still partial: nothing of it failed).
		res.Run.Outcome = OutcomePartial
		if res.Applied == 0 && res.Failed > 0 {
			res.Run.Outcome = OutcomeError
		}
		e := &ApplyError{Failed: res.Failed, Skipped: res.NotRun, Total: len(p.Changes)}
		res.Run.Message = e.Error()
		applyErr = e
		if cause := context.Cause(ctx); cause != nil && res.Failed == 0 {
			res.Run.Message += " (" + cause.Error() + ")"
		}
	}
	if cacheErr != nil && applyErr == nil {
		applyErr = cacheErr
	}
	res.Run.Kind = p.Kind
	if res.Run.Kind == "" {
		res.Run.Kind = RunFull
	}
	if rc, ok := t.(RequestCounter); ok && opts.RequestsBefore != nil {
		res.Run.ConfluenceRequests = rc.Requests() - *opts.RequestsBefore
	}
	if err := st.AppendRun(context.WithoutCancel(ctx), res.Run); err != nil && applyErr == nil {
		applyErr = fmt.Errorf("append the run to the audit log: %w", err)
	}
	return res, applyErr
}

func isDependency(err error) bool {
	var de *DependencyError
	return errors.As(err, &de)
}

// RecordRefusal appends to the audit log a run that applied nothing
// because it was refused (a safety threshold, a stale saved plan, the
// apply lock held by another run): Outcome "refused", reason as its
// message. It needs no lock.
func RecordRefusal(ctx context.Context, st StateStore, trigger Trigger, reason string) error {
	if trigger == "" {
		trigger = TriggerCLI
	}
	now := time.Now().UTC()
	run := Run{ID: uuid.NewString(), Started: now, Finished: now, Trigger: trigger, Outcome: OutcomeRefused, Message: reason}
	if err := st.AppendRun(context.WithoutCancel(ctx), run); err != nil {
		return fmt.Errorf("append the refused run to the audit log: %w", err)
	}
	return nil
}

// run executes the changes with par workers. Changes are handed out in
// plan order, and a change waits for the ones it depends on, which come
// earlier, so the workers never wait on a change nobody took.
func run(ctx context.Context, p *Plan, t Target, st StateStore, par int, hook Hook, res *Result, now func() time.Time) {
	n := len(p.Changes)
	// Only changes something depends on get a channel to wait on: a
	// million memberships need none.
	done := make([]chan struct{}, n)
	for i := range p.Changes {
		for _, j := range p.Changes[i].DependsOn {
			if j >= 0 && j < i && done[j] == nil {
				done[j] = make(chan struct{})
			}
		}
	}
	ran := make([]bool, n) // each element written by one worker, read after Wait
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < par && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := &p.Changes[i]
				err := waitDeps(ctx, p, i, done, res)
				if err == nil {
					err = execute(ctx, c, t, st, now().UTC())
				}
				res.Errors[i] = err
				ran[i] = true
				if done[i] != nil {
					close(done[i])
				}
				if !errors.Is(err, ErrNotRun) {
					hook.ActionDone(c, err)
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	// Changes never handed out did not run.
	for j := range n {
		if !ran[j] {
			res.Errors[j] = ErrNotRun
		}
	}
}

// waitDeps waits for the changes c depends on and fails when one failed.
// Errors[j] is written before done[j] is closed, so reading it after the
// close is safe.
func waitDeps(ctx context.Context, p *Plan, i int, done []chan struct{}, res *Result) error {
	for _, j := range p.Changes[i].DependsOn {
		if j < 0 || j >= i {
			continue // malformed: no forward dependencies
		}
		select {
		case <-done[j]:
		case <-ctx.Done():
			return ErrNotRun
		}
		if res.Errors[j] != nil {
			return &DependencyError{On: p.Changes[j].Action.String() + " " + p.Changes[j].Object()}
		}
	}
	if ctx.Err() != nil {
		return ErrNotRun
	}
	return nil
}

// execute carries out one change and records it in the ownership state.
// The record uses a context that is not cancelled with the apply's: a
// change made in Confluence must not go unrecorded because of an
// interrupt arriving just after it.
func execute(ctx context.Context, c *Change, t Target, st StateStore, now time.Time) error {
	rec := context.WithoutCancel(ctx)
	recordUser := func(v *UserValues, adopted bool) error {
		u := ManagedUser{Username: c.User, IDP: c.IDP, SourceID: c.SourceID, Adopted: adopted, Updated: now}
		if v != nil {
			u.DisplayName, u.Email, u.Custom, u.Active = v.DisplayName, v.Email, v.Custom, v.Active
		}
		return st.RecordUser(rec, u)
	}
	switch c.Kind {
	case KindUser:
		switch c.Action {
		case ActionCreate:
			err := t.CreateUser(ctx, NewUser{Username: c.User, DisplayName: c.After.DisplayName, Email: c.After.Email})
			adopted := errors.Is(err, ErrExists)
			if err != nil && !adopted {
				return err
			}
			return recordUser(c.After, adopted)
		case ActionAdopt:
			if c.PreviousUsername != "" {
				if err := st.ForgetUser(rec, c.PreviousUsername); err != nil {
					return err
				}
			}
			return recordUser(c.After, true)
		case ActionUpdate:
			if !c.StateOnly {
				if err := t.UpdateUser(ctx, c.User, UserDetails{DisplayName: c.After.DisplayName, Email: c.After.Email}); err != nil {
					return err
				}
			}
			v := *c.After
			v.Active = c.Before.Active
			return recordUser(&v, false)
		case ActionEnable:
			if err := t.EnableUser(ctx, c.User); err != nil {
				return err
			}
			return recordUser(c.After, false)
		case ActionDisable:
			if err := t.DisableUser(ctx, c.User); err != nil {
				return err
			}
			u := ManagedUser{Username: c.User, IDP: c.IDP, SourceID: c.SourceID, Updated: now, Disabled: now}
			if c.After != nil {
				u.DisplayName, u.Email, u.Custom = c.After.DisplayName, c.After.Email, c.After.Custom
			}
			return st.RecordUser(rec, u)
		case ActionDelete:
			if err := t.DeleteUser(ctx, c.User); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return st.ForgetUser(rec, c.User)
		}
	case KindGroup:
		switch c.Action {
		case ActionCreate:
			err := t.CreateGroup(ctx, c.Group)
			created := err == nil
			if err != nil && !errors.Is(err, ErrExists) {
				return err
			}
			return st.RecordGroup(rec, ManagedGroup{Name: c.Group, IDP: c.IDP, Created: created, Updated: now})
		case ActionAdopt:
			return st.RecordGroup(rec, ManagedGroup{Name: c.Group, IDP: c.IDP, Updated: now})
		case ActionDelete:
			if err := t.DeleteGroup(ctx, c.Group); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return st.ForgetGroup(rec, c.Group)
		}
	case KindMembership:
		switch c.Action {
		case ActionAdd:
			if err := t.AddMember(ctx, c.User, c.Group); err != nil {
				return err
			}
			return st.RecordMembership(rec, ManagedMembership{Username: c.User, Group: c.Group, IDP: c.IDP, Updated: now})
		case ActionAdopt:
			return st.RecordMembership(rec, ManagedMembership{Username: c.User, Group: c.Group, IDP: c.IDP, Updated: now})
		case ActionRemove:
			if err := t.RemoveMember(ctx, c.User, c.Group); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return st.ForgetMembership(rec, c.User, c.Group)
		}
	}
	return fmt.Errorf("unsupported change %s %s", c.Action, c.Kind)
}

// plural is "1 change" or "2 changes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
