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
	"time"

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

	// The lock comes first: a second apply stops before it reads or
	// shows anything, and nothing changes between the plan shown (or
	// checked) and its apply.
	lctx, release, err := plan.HoldLock(ctx, s.store, "", 0)
	if err != nil {
		var locked *plan.LockedError
		if errors.As(err, &locked) {
			// Appending a run needs no lock.
			return errors.Join(err, plan.RecordRefusal(ctx, s.store, plan.TriggerCLI, locked.Error()))
		}
		return err
	}
	defer release()
	ctx = lctx

	terminal := !opts.json && views.IsTerminal(opts.stderr)
	color := views.ColorFor(opts.stdout)
	var readHook plan.Hook
	if terminal {
		readHook = views.NewProgress(opts.stderr, true, false)
	}

	var p *plan.Plan
	if saved != nil {
		// A plan applied already is answered as such, and is not a
		// refused run: that would hide its apply in status.
		done, err := s.store.RunOfPlan(ctx, saved.ID)
		if err != nil {
			return err
		}
		if done != nil {
			what := ""
			if done.Outcome != plan.OutcomeApplied {
				what = "; that run was " + string(done.Outcome) + ", and the next plan shows what remains"
			}
			return fmt.Errorf("this plan was already applied (run %s, at %s)%s; make a new plan with confsync plan --out FILE",
				done.ID, done.Finished.UTC().Format(time.RFC3339), what)
		}
		now, err := s.recompute(ctx, readHook, saved)
		var safety *plan.SafetyError
		if errors.As(err, &safety) {
			return refuse(ctx, s, fmt.Errorf("the saved plan was not applied: the current state exceeds the safety thresholds: %w", safety))
		}
		if err != nil {
			return fmt.Errorf("check the saved plan against the current state: %w", err)
		}
		if err := plan.Stale(saved, now); err != nil {
			return refuse(ctx, s, err)
		}
		p = saved
	} else {
		p, err = s.compute(ctx, readHook, plan.Options{IDPs: opts.idps, AllowMassChanges: opts.allowMassChanges})
		var safety *plan.SafetyError
		if errors.As(err, &safety) {
			if rerr := renderPlan(opts.stdout, p, opts.json, false); rerr != nil {
				return rerr
			}
			return refuse(ctx, s, fmt.Errorf("%w; nothing was applied", safety))
		}
		if err != nil {
			return err
		}
		if opts.json {
			if err := views.JSON(opts.stdout, p); err != nil {
				return err
			}
		} else if err := views.Human(opts.stdout, p, views.HumanOptions{Color: color}); err != nil {
			return err
		}
		if p.Empty() {
			return plan.CheckSources(p)
		}
		if !opts.autoApprove {
			ok, err := confirm(opts.stdin, opts.stdout)
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintln(opts.stdout, "Apply cancelled: nothing was changed.")
				return &exitError{code: 1}
			}
		}
	}
	if p.Empty() {
		if !opts.json {
			fmt.Fprintln(opts.stdout, views.SummaryLine(p))
		}
		return plan.CheckSources(p)
	}

	par := opts.parallelism
	if par <= 0 && s.cfg.Confluence.Parallelism > 0 {
		par = s.cfg.Confluence.Parallelism
	}
	var hook plan.Hook = plan.NopHook{}
	var progress *views.Progress
	if !opts.json {
		progress = views.NewProgress(opts.stderr, terminal, views.ColorFor(opts.stderr))
		hook = progress
	}
	res, err := plan.Apply(ctx, p, s.target, s.store, plan.ApplyOptions{Parallelism: par, Hook: hook, Trigger: plan.TriggerCLI, LockHeld: true})
	if progress != nil {
		progress.Finish()
	}
	if res == nil {
		return err
	}
	if err == nil {
		// The healthy IdPs' changes are made; an IdP left out by a
		// failure still makes the apply exit 1.
		err = plan.CheckSources(p)
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

// refuse records a refused apply in the audit log and returns why it was
// refused.
func refuse(ctx context.Context, s *engineSession, why error) error {
	return errors.Join(why, plan.RecordRefusal(ctx, s.store, plan.TriggerCLI, why.Error()))
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks for "yes".
func confirm(in io.Reader, out io.Writer) (bool, error) {
	fmt.Fprint(out, "\nDo you want to perform these actions in Confluence?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	return strings.TrimSpace(line) == "yes", nil
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
