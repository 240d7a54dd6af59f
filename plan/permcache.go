package plan

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SpacePermission is one grant of a space to a group, as the permission
// cache keeps it.
type SpacePermission struct {
	Space string
	Group string // lower-case
	// Permission is "<targetType> <operationKey>", as in SpaceGrant.
	Permission string
}

// SpacePermissionReader reads the group grants of spaces; the Confluence
// client implements it. keys nil reads every space of the site (the list
// of spaces plus one request per space); otherwise one request per key,
// and a space that no longer exists has none.
type SpacePermissionReader interface {
	ReadSpacePermissions(ctx context.Context, keys []string) ([]SpacePermission, error)
}

// SpacePermissionCache keeps the space permissions between plans; the
// store implements it.
type SpacePermissionCache interface {
	// SpacePermissions returns every kept grant and the time of the last
	// full read (zero when there was none).
	SpacePermissions(ctx context.Context) ([]SpacePermission, time.Time, error)
	// ReplaceSpacePermissions replaces the kept grants: all of them, and
	// the full read's time with fullAt, when spaces is nil; otherwise
	// those of the given spaces only (fullAt is then ignored).
	ReplaceSpacePermissions(ctx context.Context, spaces []string, grants []SpacePermission, fullAt time.Time) error
}

// DefaultPermissionCacheAge is how long CachedPermissions trusts the kept
// list of which spaces a group has grants in, when MaxAge is 0.
const DefaultPermissionCacheAge = time.Hour

// CachedPermissions is a PermissionReader whose space reads are bounded
// by the groups asked about instead of the site.
//
// Confluence DC cannot list the spaces a group has grants in, so the
// first read (and any read once the last full one is older than MaxAge)
// reads every space and keeps the result in Cache. Between full reads,
// GroupSpacePermissions re-reads only the spaces the kept grants name for
// the groups asked about, so what the plan shows of those spaces is
// current, and updates the cache with them. A grant given to one of those
// groups in a space where it had none at the last full read is not seen
// until the next full read: MaxAge bounds how stale that side is.
// Global permissions are read per group, as Reader does.
type CachedPermissions struct {
	Reader interface {
		PermissionReader
		SpacePermissionReader
	}
	Cache  SpacePermissionCache
	MaxAge time.Duration
	// FullRead forces a full read whatever the age of the kept one.
	FullRead bool
	// Now returns the time (time.Now when nil).
	Now func() time.Time
}

var _ PermissionReader = (*CachedPermissions)(nil)

// GroupGlobalPermissions reads the groups' global permissions from Reader.
func (c *CachedPermissions) GroupGlobalPermissions(ctx context.Context, groups []string) (map[string][]string, error) {
	return c.Reader.GroupGlobalPermissions(ctx, groups)
}

// GroupSpacePermissions returns the groups' space grants, reading only
// the spaces the cache names for them unless a full read is due.
func (c *CachedPermissions) GroupSpacePermissions(ctx context.Context, groups []string) (map[string][]SpaceGrant, error) {
	want := make(map[string]bool, len(groups))
	for _, g := range groups {
		want[strings.ToLower(g)] = true
	}
	out := map[string][]SpaceGrant{}
	if len(want) == 0 {
		return out, nil
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = DefaultPermissionCacheAge
	}
	kept, fullAt, err := c.Cache.SpacePermissions(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the kept space permissions: %w", err)
	}
	var grants []SpacePermission
	if c.FullRead || fullAt.IsZero() || now().Sub(fullAt) > maxAge {
		at := now()
		if grants, err = c.Reader.ReadSpacePermissions(ctx, nil); err != nil {
			return nil, err
		}
		if err := c.Cache.ReplaceSpacePermissions(ctx, nil, grants, at); err != nil {
			return nil, fmt.Errorf("keep the space permissions: %w", err)
		}
	} else {
		spaceSet := map[string]bool{}
		for _, g := range kept {
			if want[g.Group] {
				spaceSet[g.Space] = true
			}
		}
		spaces := sortedKeys(spaceSet)
		var fresh []SpacePermission
		if len(spaces) > 0 {
			if fresh, err = c.Reader.ReadSpacePermissions(ctx, spaces); err != nil {
				return nil, err
			}
			if err := c.Cache.ReplaceSpacePermissions(ctx, spaces, fresh, time.Time{}); err != nil {
				return nil, fmt.Errorf("keep the space permissions: %w", err)
			}
		}
		grants = fresh
	}
	for _, g := range grants {
		if want[g.Group] {
			out[g.Group] = append(out[g.Group], SpaceGrant{Space: g.Space, Permission: g.Permission})
		}
	}
	for g := range out {
		sort.Slice(out[g], func(i, j int) bool {
			a, b := out[g][i], out[g][j]
			if a.Space != b.Space {
				return a.Space < b.Space
			}
			return a.Permission < b.Permission
		})
	}
	return out, nil
}
