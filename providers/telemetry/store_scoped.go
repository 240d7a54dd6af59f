package telemetry

import (
	"context"
	"time"

	"github.com/confsync/confsync/plan"
)

// The instrumented reads of part of the ownership state and the recorded
// Confluence state (plan.ScopedOwnership, plan.ConfluenceCache).

func (i *instrumentedStore) OwnershipOf(ctx context.Context, usernames []string, sourceIDs map[string][]string, groups []string) (*plan.Ownership, error) {
	start := time.Now()
	v0, err := i.s.OwnershipOf(ctx, usernames, sourceIDs, groups)
	i.done("ownership_of", start, err)
	return v0, err
}

func (i *instrumentedStore) OwnershipCounts(ctx context.Context) (plan.OwnershipCounts, error) {
	start := time.Now()
	v0, err := i.s.OwnershipCounts(ctx)
	i.done("ownership_counts", start, err)
	return v0, err
}

func (i *instrumentedStore) ReplaceConfluenceState(ctx context.Context, a *plan.Actual, at time.Time) error {
	start := time.Now()
	err := i.s.ReplaceConfluenceState(ctx, a, at)
	i.done("replace_confluence_state", start, err)
	return err
}

func (i *instrumentedStore) EditConfluenceState(ctx context.Context, e plan.ConfluenceEdits, at time.Time) error {
	start := time.Now()
	err := i.s.EditConfluenceState(ctx, e, at)
	i.done("edit_confluence_state", start, err)
	return err
}

func (i *instrumentedStore) ConfluenceState(ctx context.Context) (*plan.Actual, time.Time, bool, error) {
	start := time.Now()
	v0, v1, v2, err := i.s.ConfluenceState(ctx)
	i.done("confluence_state", start, err)
	return v0, v1, v2, err
}
