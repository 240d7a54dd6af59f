package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/planfile"
	"github.com/confsync/confsync/plan/views"
	"github.com/spf13/cobra"
)

// planOptions are the flags of confsync plan.
type planOptions struct {
	ro               *rootOptions
	out              string
	json             bool
	format           string
	detailedExitcode bool
	idps             []string
	allowMassChanges bool
	// refreshPermissions reads every space's permissions anew.
	refreshPermissions bool
	// refresh reads Confluence (--refresh, default true); without it the
	// plan compares against the Confluence state recorded in the store.
	refresh        bool
	stdout, stderr io.Writer
}

func newPlanCmd(ro *rootOptions) *cobra.Command {
	opts := &planOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in Confluence",
		Long: `Reads every IdP, Confluence and confsync's ownership state, and shows the
changes that would make Confluence match the desired state. Nothing is
changed. With --out the plan is saved for confsync apply FILE, which applies
exactly that plan, or refuses it once anything it was computed from changed.

Exit status: 0 when there is nothing to change (or changes without
--detailed-exitcode), 2 when there are changes and --detailed-exitcode is
set, 1 on errors, including a plan stopped by a safety threshold and an IdP
left out because its read failed, was incomplete or shrank past the
source-health guard (the plan still shows the other IdPs' changes).

With --refresh=false, as in Terraform, Confluence is not read: the plan
compares against the Confluence state recorded in the store at the last
full read, kept up to date by every apply since, and says so. Applying such
a saved plan first reads the users and groups it changes, and refuses it
if they differ from what the plan assumed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runPlan(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.out, "out", "", "save the plan to `FILE` for confsync apply FILE")
	f.BoolVar(&opts.json, "json", false, "print the plan as JSON (format_version 1.1); the same as --format json")
	f.StringVar(&opts.format, "format", "", "`FORMAT` of the plan: human (default), json, or markdown (a GitHub pull-request comment)")
	f.BoolVar(&opts.detailedExitcode, "detailed-exitcode", false, "exit 2 when the plan has changes")
	f.StringArrayVar(&opts.idps, "idp", nil, "plan for this IdP only (repeatable); others' objects are left alone")
	f.BoolVar(&opts.allowMassChanges, "allow-mass-changes", false, "waive the safety thresholds for this plan")
	f.BoolVar(&opts.refresh, "refresh", true, "read Confluence; --refresh=false compares against the Confluence state recorded at the last full read and the applies since")
	f.BoolVar(&opts.refreshPermissions, "refresh-permissions", false, "read every space's permissions for the permission impact, not the ones kept since the last full read")
	return cmd
}

func runPlan(ctx context.Context, opts *planOptions) error {
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
	s.refreshPermissions = opts.refreshPermissions
	p, err := s.compute(ctx, view.ReadHook(), plan.Options{IDPs: opts.idps, AllowMassChanges: opts.allowMassChanges, NoRefresh: !opts.refresh})
	return planOutput{ro: opts.ro, view: view, out: opts.out, noun: "plan", detailedExitcode: opts.detailedExitcode}.finish(p, err)
}

// planOutput shows, saves and judges a computed plan: plan and rollback
// share it.
type planOutput struct {
	ro               *rootOptions
	view             views.Plan
	out              string
	noun             string // what the saved line calls it: "plan", "rollback plan"
	detailedExitcode bool
}

// finish renders p (err is Compute's: a safety refusal still shows the
// plan, and is not saved), saves it with the command that applies it,
// and returns the exit status: 1 for an IdP left out by a failure, 2 for
// changes under --detailed-exitcode.
func (o planOutput) finish(p *plan.Plan, err error) error {
	var safety *plan.SafetyError
	if err != nil && !errors.As(err, &safety) {
		return err
	}
	if rerr := o.view.Plan(p, o.out == ""); rerr != nil {
		return rerr
	}
	if safety != nil {
		return fmt.Errorf("%w; the plan was not saved", safety)
	}
	if o.out != "" {
		if err := planfile.Write(o.out, p); err != nil {
			return err
		}
		o.view.Saved(o.noun, o.out, applyHint(o.ro, o.out))
	}
	// An IdP left out by a failure is an error whatever the changes: the
	// plan does not describe the whole desired state.
	if err := plan.CheckSources(p); err != nil {
		return err
	}
	if o.detailedExitcode && !p.Empty() {
		return &exitError{code: 2}
	}
	return nil
}
