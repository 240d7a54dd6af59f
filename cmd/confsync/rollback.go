package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/views"
)

// rollbackOptions are the flags of confsync rollback.
type rollbackOptions struct {
	ro               *rootOptions
	runID            string
	out              string
	json             bool
	format           string
	detailedExitcode bool
	allowMassChanges bool
	stdout, stderr   io.Writer
}

func newRollbackCmd(ro *rootOptions) *cobra.Command {
	opts := &rollbackOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "rollback RUN_ID",
		Short: "Plan the reversal of a past apply",
		Long: `Rollback makes a plan that puts back what the apply RUN_ID (see confsync
history) changed, from the before-values the audit log recorded: users it
deleted are created again, users it disabled are enabled, attribute values it
changed are restored, groups and memberships it removed come back, and the
memberships and groups it added are removed; users it created or enabled are
disabled (never deleted). No IdP is read and nothing the run did not touch
changes.

A change that a later run changed again is not fought: the plan lists it as a
notice, "no longer applies", and leaves it out. The plan is checked against
the safety thresholds and the protected users and groups like any plan, and
is applied the same way: save it with --out and run confsync apply FILE,
which re-checks that neither Confluence, confsync's state nor the audit log
changed since. The IdPs still want what the run did: unless their data or
the configuration is fixed, the next sync makes the same changes again.

Exit status as for confsync plan.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.runID = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runRollback(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.out, "out", "", "save the plan to `FILE` for confsync apply FILE")
	f.BoolVar(&opts.json, "json", false, "print the plan as JSON; the same as --format json")
	f.StringVar(&opts.format, "format", "", "`FORMAT` of the plan: human (default), json, or markdown")
	f.BoolVar(&opts.detailedExitcode, "detailed-exitcode", false, "exit 2 when the plan has changes")
	f.BoolVar(&opts.allowMassChanges, "allow-mass-changes", false, "waive the safety thresholds for this plan")
	return cmd
}

func runRollback(ctx context.Context, opts *rollbackOptions) error {
	format, err := views.ParseFormat(opts.format, opts.json)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	view := views.NewPlan(format, views.Streams{Out: opts.stdout, Err: opts.stderr})
	s, err := openEngine(ctx, opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.computeRollback(ctx, opts.runID, plan.Options{AllowMassChanges: opts.allowMassChanges})
	return planOutput{ro: opts.ro, view: view, out: opts.out, noun: "rollback plan", detailedExitcode: opts.detailedExitcode}.finish(p, err)
}

// computeRollback computes the plan reversing the run runID from the
// audit log: plan.Compute with the rollback's desired state.
func (s *engineSession) computeRollback(ctx context.Context, runID string, opts plan.Options) (*plan.Plan, error) {
	rb, err := plan.LoadRollback(ctx, s.store, runID)
	if err != nil {
		return nil, err
	}
	in := s.inputs(nil, opts)
	in.Rollback = rb
	return plan.Compute(ctx, in)
}
