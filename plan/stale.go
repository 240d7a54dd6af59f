package plan

import (
	"fmt"
	"slices"
)

// StaleError says why a saved plan no longer applies.
type StaleError struct{ Reasons []string }

func (e *StaleError) Error() string {
	msg := "the saved plan is stale and was not applied:"
	for _, r := range e.Reasons {
		msg += " " + r + ";"
	}
	return msg + " make a new plan and review it"
}

// Stale compares a saved plan with one computed now from the same options
// and returns a *StaleError when the configuration, the desired state or
// Confluence's (or the ownership) state changed in between; applying it
// could then do something nobody reviewed.
func Stale(saved, now *Plan) error {
	var reasons []string
	if saved.ConfigHash != now.ConfigHash {
		reasons = append(reasons, "the configuration changed")
	}
	if !slices.Equal(saved.IDPs, now.IDPs) {
		reasons = append(reasons, fmt.Sprintf("the IdPs taking part changed (%v, now %v)", saved.IDPs, now.IDPs))
	}
	if saved.DesiredFingerprint != now.DesiredFingerprint {
		reasons = append(reasons, "the identities in the IdPs changed")
	}
	if saved.ActualFingerprint != now.ActualFingerprint {
		reasons = append(reasons, "Confluence or confsync's ownership state changed")
	}
	if len(reasons) == 0 {
		return nil
	}
	return &StaleError{Reasons: reasons}
}
