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
