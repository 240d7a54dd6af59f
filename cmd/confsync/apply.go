package main

import (
	"context"
	"errors"
	"io"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/planfile"
	"github.com/confsync/confsync/plan/views"
	"github.com/spf13/cobra"
)

// applyOptions are the flags of confsync apply.
type applyOptions struct {
	ro               *rootOptions
	file             string
	autoApprove      bool
	parallelism      int
	json             bool
	allowMassChanges bool
	idps             []string
	stdin            io.Reader
	stdout, stderr   io.Writer
}

func newApplyCmd(ro *rootOptions) *cobra.Command {
	opts := &applyOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "apply [FILE]",
		Short: "Make Confluence match the desired state",
		Long: `Without FILE, apply makes a plan, shows it and asks for "yes" before
changing anything; without a terminal to ask on it refuses unless
--auto-approve is given.

With FILE (saved by confsync plan --out), apply carries out exactly that
plan, after checking that the configuration, the IdPs' identities and
Confluence have not changed since it was made; a stale plan is refused.

Each change is recorded in confsync's state as soon as it is made, so an
interrupted apply is finished by the next plan and apply. One apply runs at
a time (a lock in the store; see confsync force-unlock).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.file = args[0]
			}
			opts.stdin, opts.stdout, opts.stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runApply(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.autoApprove, "auto-approve", false, "apply without asking for confirmation")
	f.IntVar(&opts.parallelism, "parallelism", 0, "changes in flight at once (default: the confluence block's parallelism, else 4)")
	f.BoolVar(&opts.json, "json", false, "print the plan and the result as JSON; implies no prompt, so needs --auto-approve or FILE")
	f.BoolVar(&opts.allowMassChanges, "allow-mass-changes", false, "waive the safety thresholds (without FILE)")
	f.StringArrayVar(&opts.idps, "idp", nil, "plan for this IdP only (repeatable, without FILE)")
	return cmd
}

func runApply(ctx context.Context, opts *applyOptions) error {
	view := views.NewApply(views.JSONFlag(opts.json), views.Streams{In: opts.stdin, Out: opts.stdout, Err: opts.stderr})
	if opts.file != "" && (len(opts.idps) > 0 || opts.allowMassChanges) {
		return errors.New("--idp and --allow-mass-changes belong to the plan: give them to confsync plan --out, not to apply FILE")
	}
	if opts.file == "" && !opts.autoApprove {
		if err := view.CanConfirm(); err != nil {
			return err
		}
	}
	var saved *plan.Plan
	if opts.file != "" {
		var err error
		if saved, err = planfile.Read(opts.file); err != nil {
			return err
		}
	}
	s, err := openEngine(ctx, opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	defer s.Close()

	done, err := plan.ApplyWorkflow(ctx, s.inputs(view.ReadHook(), plan.Options{IDPs: opts.idps, AllowMassChanges: opts.allowMassChanges}),
		applyPolicy(opts, s, saved, view))
	if err = view.Result(done, err); errors.Is(err, views.ErrReported) {
		return &exitError{code: 1}
	}
	return err
}

// applyPolicy is confsync apply's: the lock taken first, a saved plan
// checked, a computed one shown and confirmed unless --auto-approve.
func applyPolicy(opts *applyOptions, s *engineSession, saved *plan.Plan, view views.Apply) plan.ApplyPolicy {
	par := opts.parallelism
	if par <= 0 {
		par = parallelism(s.cfg)
	}
	pol := plan.ApplyPolicy{Trigger: plan.TriggerCLI, TakeLock: true, Saved: saved, Parallelism: par,
		ApplyHook: view.ApplyHook(), Reporting: plan.ReportErrors}
	if saved != nil {
		return pol
	}
	pol.OnPlan = view.Plan
	if !opts.autoApprove {
		pol.Confirm = func(*plan.Plan) error {
			ok, err := view.Confirm()
			if err == nil && !ok {
				err = &exitError{code: 1} // the view said the apply was cancelled
			}
			return err
		}
	}
	return pol
}
