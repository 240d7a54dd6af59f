package views

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/confsync/confsync/plan"
)

// Apply is what confsync apply prints, and how it asks.
type Apply interface {
	// CanConfirm says why the view cannot ask for confirmation; nil when
	// it can.
	CanConfirm() error
	// Confirm asks whether to apply the plan shown; false is a "no", which
	// the view has answered.
	Confirm() (bool, error)
	// ReadHook shows the IdPs being read while the plan is computed; nil
	// when nothing is shown.
	ReadHook() plan.Hook
	// Plan shows the plan about to be applied (or refused).
	Plan(p *plan.Plan) error
	// ApplyHook shows the apply's progress; nil when nothing is shown.
	ApplyHook() plan.Hook
	// Result shows what plan.ApplyWorkflow came to (done, err) and returns
	// the error the command ends with: ErrReported when the view has
	// shown the failure in full.
	Result(done plan.Applied, err error) error
}

// ErrReported is a failure a view has shown in full: the command exits 1
// and says nothing more.
var ErrReported = errors.New("the failure is shown above")

// NewApply returns the apply view of the format: JSON, or human for any
// other.
func NewApply(f Format, s Streams) Apply {
	if f == FormatJSON {
		return applyJSON{s}
	}
	return &applyHuman{s: s, progress: NewProgress(s.Err, IsTerminal(s.Err), ColorFor(s.Err))}
}

type applyHuman struct {
	s        Streams
	progress *Progress
	// shown is true once the plan was shown: a saved plan with nothing to
	// do gets its summary line instead.
	shown bool
}

func (v *applyHuman) CanConfirm() error {
	if !isTerminalReader(v.s.In) {
		return errors.New("apply asks for confirmation, and there is no terminal to ask on; " +
			"review with confsync plan --out FILE and run confsync apply FILE, or pass --auto-approve")
	}
	return nil
}

// Confirm asks for "yes"; any other answer cancels.
func (v *applyHuman) Confirm() (bool, error) {
	fmt.Fprint(v.s.Out, "\nDo you want to perform these actions in Confluence?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ")
	line, err := bufio.NewReader(v.s.In).ReadString('\n')
	if err != nil && line == "" {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(v.s.Out, "Apply cancelled: nothing was changed.")
		return false, nil
	}
	return true, nil
}

func (v *applyHuman) ReadHook() plan.Hook { return readProgress(v.s) }

func (v *applyHuman) Plan(p *plan.Plan) error {
	v.shown = true
	return Human(v.s.Out, p, HumanOptions{Color: ColorFor(v.s.Out)})
}

func (v *applyHuman) ApplyHook() plan.Hook { return v.progress }

func (v *applyHuman) Result(done plan.Applied, err error) error {
	v.progress.Finish()
	res := done.Result
	if res == nil {
		if p := done.Plan; p != nil && p.Empty() && !v.shown {
			fmt.Fprintln(v.s.Out, SummaryLine(p))
		}
		return err
	}
	var failed *plan.ApplyError
	if errors.As(err, &failed) {
		// Each failure was shown as it happened; the summary ends it.
		writeNotRun(v.s.Err, res)
	}
	if serr := ApplySummary(v.s.Out, res, ColorFor(v.s.Out)); serr != nil {
		return serr
	}
	if failed != nil {
		return ErrReported
	}
	return err
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

type applyJSON struct{ s Streams }

func (applyJSON) CanConfirm() error {
	return errors.New("apply --json does not ask for confirmation: give it --auto-approve, or a plan FILE saved by confsync plan --out")
}

func (v applyJSON) Confirm() (bool, error) { return false, v.CanConfirm() }

func (applyJSON) ReadHook() plan.Hook { return nil }

func (v applyJSON) Plan(p *plan.Plan) error { return JSON(v.s.Out, p) }

func (applyJSON) ApplyHook() plan.Hook { return nil }

func (v applyJSON) Result(done plan.Applied, err error) error {
	if done.Result == nil {
		return err
	}
	if jerr := ApplyJSON(v.s.Out, done.Result); jerr != nil {
		return jerr
	}
	return err
}

// JSONApply is the JSON result of confsync apply --json (format_version
// as JSONPlan's).
type JSONApply struct {
	FormatVersion string            `json:"format_version"`
	RunID         string            `json:"run_id"`
	Outcome       plan.Outcome      `json:"outcome"`
	Applied       int               `json:"applied"`
	Failed        int               `json:"failed"`
	NotRun        int               `json:"not_run"`
	Actions       []JSONApplyAction `json:"actions"`
}

// JSONApplyAction is one change the apply ran, with its error.
type JSONApplyAction struct {
	Action string `json:"action"`
	Object string `json:"object"`
	IDP    string `json:"idp"`
	Error  string `json:"error,omitempty"`
}

// ApplyJSON writes an apply's result in its JSON form, indented.
func ApplyJSON(w io.Writer, res *plan.Result) error {
	out := JSONApply{FormatVersion: JSONFormatVersion, RunID: res.Run.ID, Outcome: res.Run.Outcome,
		Applied: res.Applied, Failed: res.Failed, NotRun: res.NotRun, Actions: make([]JSONApplyAction, 0, len(res.Run.Actions))}
	for _, a := range res.Run.Actions {
		out.Actions = append(out.Actions, JSONApplyAction{Action: a.Action, Object: a.Object, IDP: a.IDP, Error: a.Error})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
