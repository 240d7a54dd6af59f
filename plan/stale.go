package plan

import (
	"fmt"
	"slices"
	"strings"
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

// maxStaleChanges is how many differing changes a StaleError lists.
const maxStaleChanges = 5

// Stale compares a saved plan with one computed now from the same options
// and returns a *StaleError when the configuration, the desired state or
// Confluence's (or the ownership) state changed in between; applying it
// could then do something nobody reviewed. The error says which side
// changed and lists the first changes that differ between the two plans.
func Stale(saved, now *Plan) error {
	var reasons []string
	if saved.ConfigHash != now.ConfigHash {
		reasons = append(reasons, "the configuration changed")
	}
	if !slices.Equal(saved.IDPs, now.IDPs) {
		reasons = append(reasons, fmt.Sprintf("the IdPs taking part changed (%v, now %v)", saved.IDPs, now.IDPs))
	}
	switch {
	case saved.RollbackOf != now.RollbackOf:
		reasons = append(reasons, fmt.Sprintf("the plan rolls back run %q, the recomputed one %q", saved.RollbackOf, now.RollbackOf))
	case saved.DesiredFingerprint != now.DesiredFingerprint && saved.RollbackOf != "":
		reasons = append(reasons, "what the rollback reverses changed (a later run changed objects of run "+saved.RollbackOf+")")
	case saved.DesiredFingerprint != now.DesiredFingerprint:
		reasons = append(reasons, "the identities in the IdPs changed")
	}
	if saved.ActualFingerprint != now.ActualFingerprint {
		switch {
		case saved.ConfluenceFingerprint == "" || saved.StateFingerprint == "":
			reasons = append(reasons, "Confluence or confsync's ownership state changed")
		default:
			if saved.ConfluenceFingerprint != now.ConfluenceFingerprint {
				reasons = append(reasons, "Confluence changed (its users, groups or memberships)")
			}
			if saved.StateFingerprint != now.StateFingerprint {
				reasons = append(reasons, "confsync's ownership state changed (another apply ran since the plan was made)")
			}
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	if d := changeDifference(saved, now); d != "" {
		reasons = append(reasons, d)
	}
	return &StaleError{Reasons: reasons}
}

// changeDifference names up to maxStaleChanges changes that are in one
// plan and not the other.
func changeDifference(saved, now *Plan) string {
	key := func(c *Change) string { return c.Action.String() + " " + c.Object() }
	inNow := make(map[string]bool, len(now.Changes))
	for i := range now.Changes {
		inNow[key(&now.Changes[i])] = true
	}
	inSaved := make(map[string]bool, len(saved.Changes))
	var diffs []string
	total := 0
	note := func(s string) {
		total++
		if len(diffs) < maxStaleChanges {
			diffs = append(diffs, s)
		}
	}
	for i := range saved.Changes {
		k := key(&saved.Changes[i])
		inSaved[k] = true
		if !inNow[k] {
			note(k + " (no longer planned)")
		}
	}
	for i := range now.Changes {
		if k := key(&now.Changes[i]); !inSaved[k] {
			note(k + " (now planned)")
		}
	}
	if total == 0 {
		return ""
	}
	msg := "changes that differ: " + strings.Join(diffs, ", ")
	if total > len(diffs) {
		msg += fmt.Sprintf(" and %d more", total-len(diffs))
	}
	return msg
}
