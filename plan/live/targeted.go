package live

import (
	"context"
	"fmt"
	"slices"

	"github.com/confsync/confsync/plan"
)

// A reconcile after SCIM writes is targeted: it plans only the identities
// the writes touched, as the store's change journal records them, so that
// one event costs Confluence a handful of requests however big the site.
// The periodic and start-up reconciles stay full and catch drift. A burst
// falls back to a full reconcile when a targeted one would cost more:
// when the journal holds more ids than MaxTargeted, or when reading them
// would cost more requests than the last full reconcile sent (a targeted
// read costs about three requests per touched id), or a write needs a full
// plan (a group created empty, renamed or deleted).

// DefaultMaxTargeted is Engine.MaxTargeted's default: the most touched ids
// one targeted reconcile plans.
const DefaultMaxTargeted = 2000

// requestsPerTouched is what a targeted read costs per touched id, about:
// the user, its groups, and a group's existence.
const requestsPerTouched = 3

// selection is what one reconcile plans and what it covers once it
// succeeds.
type selection struct {
	scope *plan.Scope
	// through is, per IdP, the revision a successful run covers.
	through map[string]int64
	// nothing is true for an auto reconcile that found nothing pending
	// (another replica covered it already).
	nothing bool
}

// selectRun decides between a targeted and a full reconcile.
func (e *Engine) selectRun(ctx context.Context, trigger plan.Trigger) (selection, error) {
	if e.Journal == nil {
		return selection{}, nil
	}
	limit := e.MaxTargeted
	if limit <= 0 {
		limit = DefaultMaxTargeted
	}
	pending, err := e.Journal.Pending(ctx, limit)
	if err != nil {
		return selection{}, fmt.Errorf("read the pending SCIM changes: %w", err)
	}
	sel := selection{through: map[string]int64{}}
	ids, full := 0, trigger != plan.TriggerAuto
	for idp, t := range pending {
		sel.through[idp] = t.Through
		ids += len(t.Users) + len(t.Groups)
		full = full || t.Full
	}
	switch {
	case len(pending) == 0 && trigger == plan.TriggerAuto:
		sel.nothing = true
		return sel, nil
	case full:
	case e.mapped == nil:
		// No full plan ran in this engine yet: what the IdPs map onto is
		// not known.
	case ids > limit:
	case e.lastFullRequests > 0 && int64(ids*requestsPerTouched) > e.lastFullRequests:
	default:
		sel.scope = &plan.Scope{IDPs: pending, Mapped: e.mapped}
	}
	if sel.scope == nil && e.Revisions != nil {
		// A full run covers every write made before it read: the IdPs'
		// revisions now, not only the part Pending returned.
		for idp := range pending {
			rev, err := e.Revisions.Revision(ctx, idp)
			if err != nil {
				return selection{}, fmt.Errorf("read the revision of idp %q: %w", idp, err)
			}
			sel.through[idp] = max(sel.through[idp], rev)
		}
	}
	return sel, nil
}

// cover marks the changes a run planned as reconciled, for the IdPs it
// read healthy, when every change of the plan applied. Otherwise they stay
// pending and the next run retries them.
func (e *Engine) cover(ctx context.Context, sel selection, p *plan.Plan, allApplied bool) error {
	if e.Journal == nil || p == nil || !allApplied {
		return nil
	}
	for idp, rev := range sel.through {
		if !slices.Contains(p.IDPs, idp) && e.Config.IDP(idp) != nil {
			continue // left out by the source-health guard, or outside the plan
		}
		// (Writes to an IdP no longer configured have nothing to plan.)
		if err := e.Journal.Cover(context.WithoutCancel(ctx), idp, rev); err != nil {
			return fmt.Errorf("mark the SCIM changes of idp %q reconciled: %w", idp, err)
		}
	}
	return nil
}
