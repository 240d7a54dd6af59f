package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/planfile"
	"github.com/confsync/confsync/plan/views"
	"github.com/spf13/cobra"
	"golang.org/x/term"
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
	if opts.file != "" && (len(opts.idps) > 0 || opts.allowMassChanges) {
		return errors.New("--idp and --allow-mass-changes belong to the plan: give them to confsync plan --out, not to apply FILE")
	}
	if opts.file == "" && !opts.autoApprove {
		if opts.json {
			return errors.New("apply --json does not ask for confirmation: give it --auto-approve, or a plan FILE saved by confsync plan --out")
		}
		if !isTerminalReader(opts.stdin) {
			return errors.New("apply asks for confirmation, and there is no terminal to ask on; " +
				"review with confsync plan --out FILE and run confsync apply FILE, or pass --auto-approve")
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

	terminal := !opts.json && views.IsTerminal(opts.stderr)
	color := views.ColorFor(opts.stdout)
	var readHook plan.Hook
	if terminal {
		readHook = views.NewProgress(opts.stderr, true, false)
	}
	var applyHook plan.Hook = plan.NopHook{}
	var progress *views.Progress
	if !opts.json {
		progress = views.NewProgress(opts.stderr, terminal, views.ColorFor(opts.stderr))
		applyHook = progress
	}
	par := opts.parallelism
	if par <= 0 {
		par = parallelism(s.cfg)
	}
	pol := plan.ApplyPolicy{Trigger: plan.TriggerCLI, TakeLock: true, Saved: saved, Parallelism: par, ApplyHook: applyHook,
		Reporting: plan.ReportErrors}
	if saved == nil {
		pol.OnPlan = func(p *plan.Plan) error { return renderPlan(opts.stdout, p, opts.json, false) }
		if !opts.autoApprove {
			pol.Confirm = func(*plan.Plan) error { return confirm(opts.stdin, opts.stdout) }
		}
	}
	done, err := plan.ApplyWorkflow(ctx, s.inputs(readHook, plan.Options{IDPs: opts.idps, AllowMassChanges: opts.allowMassChanges}), pol)
	if progress != nil {
		progress.Finish()
	}
	res := done.Result
	if res == nil {
		if saved != nil && done.Plan != nil && done.Plan.Empty() && !opts.json {
			fmt.Fprintln(opts.stdout, views.SummaryLine(done.Plan))
		}
		return err
	}
	if opts.json {
		if jerr := writeApplyJSON(opts.stdout, res); jerr != nil {
			return jerr
		}
		return err
	}
	var failed *plan.ApplyError
	if errors.As(err, &failed) {
		// Each failure was shown as it happened; the summary ends it.
		writeNotRun(opts.stderr, res)
	}
	if serr := views.ApplySummary(opts.stdout, res, color); serr != nil {
		return serr
	}
	if failed != nil {
		return &exitError{code: 1} // reported: the failures and the summary
	}
	return err
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks for "yes"; any other answer cancels the apply.
func confirm(in io.Reader, out io.Writer) error {
	fmt.Fprint(out, "\nDo you want to perform these actions in Confluence?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("read the answer: %w", err)
	}
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(out, "Apply cancelled: nothing was changed.")
		return &exitError{code: 1}
	}
	return nil
}

// writeNotRun counts the changes that did not run (interrupted, or after
// a failed dependency); the failures themselves were shown as they
// happened.
func writeNotRun(w io.Writer, res *plan.Result) {
	switch res.NotRun {
	case 0:
	case 1:
		fmt.Fprintln(w, "1 change did not run; the next plan shows it again.")
	default:
		fmt.Fprintf(w, "%d changes did not run; the next plan shows them again.\n", res.NotRun)
	}
}

// applyJSON is the JSON result of confsync apply --json.
type applyJSON struct {
	FormatVersion string            `json:"format_version"`
	RunID         string            `json:"run_id"`
	Outcome       plan.Outcome      `json:"outcome"`
	Applied       int               `json:"applied"`
	Failed        int               `json:"failed"`
	NotRun        int               `json:"not_run"`
	Actions       []applyActionJSON `json:"actions"`
}

type applyActionJSON struct {
	Action string `json:"action"`
	Object string `json:"object"`
	IDP    string `json:"idp"`
	Error  string `json:"error,omitempty"`
}

func writeApplyJSON(w io.Writer, res *plan.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	out := applyJSON{FormatVersion: views.JSONFormatVersion, RunID: res.Run.ID, Outcome: res.Run.Outcome,
		Applied: res.Applied, Failed: res.Failed, NotRun: res.NotRun, Actions: make([]applyActionJSON, 0, len(res.Run.Actions))}
	for _, a := range res.Run.Actions {
		out.Actions = append(out.Actions, applyActionJSON{Action: a.Action, Object: a.Object, IDP: a.IDP, Error: a.Error})
	}
	return enc.Encode(out)
}
