package plan

// Trigger says what started a run, as the audit log keeps it. The store
// persists it as its string.
type Trigger string

// The triggers of runs.
const (
	// TriggerCLI is `confsync apply` (and the other commands that record a
	// run: import, state, a refused apply).
	TriggerCLI Trigger = "cli"
	// TriggerAuto is a reconcile serve scheduled after SCIM changes.
	TriggerAuto Trigger = "auto"
	// TriggerReconcile is serve's periodic (and start-up) full reconcile.
	TriggerReconcile Trigger = "reconcile"
)

// Outcome is how a run ended, as the audit log keeps it. The store
// persists it as its string.
type Outcome string

// The outcomes of runs.
const (
	// OutcomeApplied: every change was made.
	OutcomeApplied Outcome = "applied"
	// OutcomePartial: some changes failed or did not run and some were
	// made; or all were made but an IdP was left out by a failed,
	// incomplete or shrunken read.
	OutcomePartial Outcome = "partial"
	// OutcomeRefused: a safety threshold, the source-health guard, a stale
	// saved plan or the apply lock stopped it; nothing was applied.
	OutcomeRefused Outcome = "refused"
	// OutcomeError: nothing was made: the run failed, or every change it
	// tried failed.
	OutcomeError Outcome = "error"
)

// Outcomes lists every outcome, in the order above.
func Outcomes() []Outcome {
	return []Outcome{OutcomeApplied, OutcomePartial, OutcomeRefused, OutcomeError}
}
