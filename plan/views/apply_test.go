package views

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/confsync/confsync/plan"
)

func testStreams() (Streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, &out, &errOut
}

func partialResult() *plan.Result {
	return &plan.Result{Applied: 1, Failed: 1, NotRun: 1, Run: plan.Run{ID: "run-1", Outcome: plan.OutcomePartial, Actions: []plan.RunAction{
		{Action: "create", Object: "user a", IDP: "entra"},
		{Action: "create", Object: "user b", IDP: "entra", Error: "402 no licence seats"},
		{Action: "add", Object: "membership b -> g", IDP: "entra", Error: "not run: create user b failed"},
	}}}
}

// The human view ends a failed apply with the count of what did not run
// and the summary, and reports the failure as shown.
func TestApplyHumanResult(t *testing.T) {
	s, out, errOut := testStreams()
	v := NewApply(FormatHuman, s)
	failed := &plan.ApplyError{Failed: 1, Skipped: 1, Total: 3}
	err := v.Result(plan.Applied{Plan: samplePlan(), Result: partialResult()}, failed)
	if !errors.Is(err, ErrReported) {
		t.Errorf("Result = %v, want ErrReported", err)
	}
	if got := out.String(); got != "Apply incomplete: 1 applied, 1 failed, 1 not run.\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := errOut.String(); got != "1 change did not run; the next plan shows it again.\n" {
		t.Errorf("stderr = %q", got)
	}
}

// A saved plan with nothing to do gets its summary line; a computed one
// was shown whole, and gets nothing more.
func TestApplyHumanNothingToDo(t *testing.T) {
	empty := &plan.Plan{}
	s, out, _ := testStreams()
	if err := NewApply(FormatHuman, s).Result(plan.Applied{Plan: empty}, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), SummaryLine(empty)+"\n"; got != want {
		t.Errorf("saved empty plan: stdout = %q, want %q", got, want)
	}
	s, out, _ = testStreams()
	v := NewApply(FormatHuman, s)
	if err := v.Plan(empty); err != nil {
		t.Fatal(err)
	}
	shown := out.Len()
	if err := v.Result(plan.Applied{Plan: empty}, nil); err != nil || out.Len() != shown {
		t.Errorf("computed empty plan: Result = %v, printed %q after the plan", err, out.String()[shown:])
	}
}

// The JSON view writes the apply's result in its schema, and returns the
// workflow's error for the command to print.
func TestApplyJSONResult(t *testing.T) {
	s, out, errOut := testStreams()
	failed := &plan.ApplyError{Failed: 1, Skipped: 1, Total: 3}
	if err := NewApply(FormatJSON, s).Result(plan.Applied{Result: partialResult()}, failed); err != failed {
		t.Errorf("Result = %v, want the ApplyError", err)
	}
	var got JSONApply
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.FormatVersion != JSONFormatVersion || got.RunID != "run-1" || got.Outcome != plan.OutcomePartial ||
		got.Applied != 1 || got.Failed != 1 || got.NotRun != 1 || len(got.Actions) != 3 || got.Actions[1].Error != "402 no licence seats" {
		t.Errorf("apply JSON = %+v", got)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", errOut)
	}
}

// Neither view asks without a terminal: JSON never, the human view only
// on one.
func TestApplyCanConfirm(t *testing.T) {
	s, _, _ := testStreams()
	if err := NewApply(FormatJSON, s).CanConfirm(); err == nil || !strings.Contains(err.Error(), "--auto-approve") {
		t.Errorf("JSON CanConfirm = %v", err)
	}
	if err := NewApply(FormatHuman, s).CanConfirm(); err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("human CanConfirm without a terminal = %v", err)
	}
}

// Only "yes" approves; anything else is answered as cancelled.
func TestApplyHumanConfirm(t *testing.T) {
	for in, want := range map[string]bool{"yes\n": true, "  yes  \n": true, "y\n": false, "no\n": false} {
		s, out, _ := testStreams()
		s.In = strings.NewReader(in)
		ok, err := NewApply(FormatHuman, s).Confirm()
		if err != nil || ok != want {
			t.Errorf("answer %q: Confirm = %t, %v; want %t", in, ok, err, want)
		}
		if cancelled := strings.Contains(out.String(), "Apply cancelled"); cancelled == want {
			t.Errorf("answer %q: stdout = %q", in, out)
		}
	}
}

// The plan's machine forms print the plan and nothing else.
func TestPlanMachineFormsSayNothingMore(t *testing.T) {
	for _, f := range []Format{FormatJSON, FormatMarkdown} {
		s, out, errOut := testStreams()
		v := NewPlan(f, s)
		if v.ReadHook() != nil {
			t.Errorf("%s: a read hook", f)
		}
		v.Saved("plan", "out.plan", "confsync apply out.plan")
		if out.Len() != 0 || errOut.Len() != 0 {
			t.Errorf("%s: Saved printed %q, %q", f, out, errOut)
		}
	}
	s, out, _ := testStreams()
	NewPlan(FormatHuman, s).Saved("rollback plan", "rb.plan", "confsync apply rb.plan")
	if !strings.Contains(out.String(), "Saved the rollback plan to rb.plan.") {
		t.Errorf("human Saved = %q", out)
	}
}
