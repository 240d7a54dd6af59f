package report

import (
	"time"

	"github.com/confsync/confsync/plan"
)

// History is the audit log as `confsync history --json` prints it.
type History struct {
	FormatVersion string `json:"format_version"`
	Runs          []Run  `json:"runs"` // newest first
}

// Run is one apply of the audit log.
type Run struct {
	ID       string       `json:"id"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Trigger  plan.Trigger `json:"trigger"`
	// Outcome is applied, partial, refused or error.
	Outcome plan.Outcome `json:"outcome"`
	Message string       `json:"message"`
	// Kind is how much the run read: full, targeted or cached; empty for
	// runs recorded before it was kept (1.2).
	Kind plan.RunKind `json:"kind,omitempty"`
	// ConfluenceRequests is how many requests the run sent to Confluence,
	// 0 when unknown (1.2).
	ConfluenceRequests int64 `json:"confluence_requests"`
	// Applied and Failed count the actions by result.
	Applied int         `json:"applied"`
	Failed  int         `json:"failed"`
	Actions []RunAction `json:"actions"`
	// Rollback is the command that makes the plan reversing the run;
	// empty for a run that changed nothing.
	Rollback string `json:"rollback,omitempty"`
}

// RunAction is one action of a run and its result.
type RunAction struct {
	Action string `json:"action"`
	Object string `json:"object"`
	IDP    string `json:"idp,omitempty"`
	// Error is empty on success.
	Error string `json:"error,omitempty"`
}

// NewHistory converts the audit log's runs, newest first.
func NewHistory(runs []plan.Run) *History {
	h := &History{FormatVersion: FormatVersion, Runs: make([]Run, 0, len(runs))}
	for _, r := range runs {
		h.Runs = append(h.Runs, fromRun(r))
	}
	return h
}

func fromRun(r plan.Run) Run {
	out := Run{ID: r.ID, Started: r.Started.UTC(), Finished: r.Finished.UTC(), Trigger: r.Trigger,
		Outcome: r.Outcome, Message: r.Message, Kind: r.Kind, ConfluenceRequests: r.ConfluenceRequests,
		Actions: make([]RunAction, 0, len(r.Actions))}
	for _, a := range r.Actions {
		out.Actions = append(out.Actions, RunAction{Action: a.Action, Object: a.Object, IDP: a.IDP, Error: a.Error})
		if a.Error == "" {
			out.Applied++
		} else {
			out.Failed++
		}
	}
	if out.Applied > 0 && (r.Outcome == "applied" || r.Outcome == "partial") {
		out.Rollback = "confsync rollback " + r.ID + " --out rollback.plan"
	}
	return out
}
