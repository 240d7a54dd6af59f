package confluence_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

// BenchmarkPermissionImpactReads makes the permission reads of a plan's
// impact on a site of 20,000 groups and 5,000 spaces (each space granting
// read to three groups and page create to one), for plans that take away
// 1 and 20 groups, and reports the requests each read costs: one global
// read per group asked about, and (Confluence DC having no call that lists
// a group's spaces) one list page per 200 spaces plus one permission read
// per space, whatever the number of groups. The cached/ variants keep the
// space permissions between plans (plan.CachedPermissions, warmed by one
// full read before the timing): a plan then reads only the spaces the
// removed groups have grants in.
func BenchmarkPermissionImpactReads(b *testing.B) {
	nGroups, nSpaces := 20_000, 5_000
	if quickBench() {
		nGroups, nSpaces = 2_000, 500
	}
	srv, base := emulator.Start(b, emulator.Options{AdminToken: adminToken})
	groups := make([]emulator.Group, nGroups)
	for g := range groups {
		groups[g] = emulator.Group{Name: fmt.Sprintf("group-%05d", g)}
	}
	if err := srv.SeedGroups(groups...); err != nil {
		b.Fatal(err)
	}
	var global []emulator.Permission
	for g := 0; g < nGroups; g += 10 {
		global = append(global, emulator.Permission{SubjectType: "group", Subject: groups[g].Name, TargetType: "application", Operation: "use"})
	}
	if err := srv.SeedGlobalPermissions(global...); err != nil {
		b.Fatal(err)
	}
	spaces := make([]emulator.Space, nSpaces)
	for s := range spaces {
		perm := func(g int, target, op string) emulator.Permission {
			return emulator.Permission{SubjectType: "group", Subject: groups[g%nGroups].Name, TargetType: target, Operation: op}
		}
		spaces[s] = emulator.Space{Key: fmt.Sprintf("S%05d", s), Name: fmt.Sprintf("Space %d", s), Permissions: []emulator.Permission{
			perm(s*4, "space", "read"), perm(s*4+1, "space", "read"), perm(s%20, "space", "read"), perm(s*4, "page", "create"),
		}}
	}
	if err := srv.SeedSpaces(spaces...); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		removed int
		cached  bool
	}{{1, false}, {20, false}, {1, true}, {20, true}} {
		removed := bc.removed
		name := fmt.Sprintf("groups=%d/removed=%d/spaces=%d", nGroups, removed, nSpaces)
		if bc.cached {
			name = "cached/" + name
		}
		b.Run(name, func(b *testing.B) {
			o := quickOptions(base)
			o.Parallelism = 8
			client, err := confluence.New(o)
			if err != nil {
				b.Fatal(err)
			}
			var c plan.PermissionReader = client
			if bc.cached {
				cp := &plan.CachedPermissions{Reader: client, Cache: &memCache{}, MaxAge: time.Hour}
				if _, err := cp.GroupSpacePermissions(context.Background(), []string{"warm-up"}); err != nil {
					b.Fatal(err)
				}
				c = cp
			}
			asked := make([]string, removed)
			for i := range asked {
				asked[i] = groups[i].Name
			}
			ctx := context.Background()
			srv.ResetStats()
			grants := 0
			for b.Loop() {
				if _, err := c.GroupGlobalPermissions(ctx, asked); err != nil {
					b.Fatal(err)
				}
				sp, err := c.GroupSpacePermissions(ctx, asked)
				if err != nil {
					b.Fatal(err)
				}
				grants = 0
				for _, g := range sp {
					grants += len(g)
				}
			}
			st := srv.Stats().Requests
			n := float64(b.N)
			b.ReportMetric(float64(st["GET /rest/api/permissions/group/{groupName}"])/n, "global-reqs/op")
			b.ReportMetric(float64(st["GET /rest/api/space"])/n, "space-list-reqs/op")
			b.ReportMetric(float64(st["GET /rest/api/space/{spaceKey}/permissions"])/n, "space-perm-reqs/op")
			b.ReportMetric(float64(grants), "grants-found")
		})
	}
}

// memCache is a plan.SpacePermissionCache in memory: the benchmark counts
// Confluence requests, which do not depend on where the grants are kept
// (sqlstore's implementation passes storetest on SQLite and PostgreSQL).
type memCache struct {
	grants []plan.SpacePermission
	at     time.Time
}

func (m *memCache) SpacePermissions(context.Context) ([]plan.SpacePermission, time.Time, error) {
	return m.grants, m.at, nil
}

func (m *memCache) ReplaceSpacePermissions(_ context.Context, spaces []string, grants []plan.SpacePermission, at time.Time) error {
	if spaces == nil {
		m.grants, m.at = slices.Clone(grants), at
		return nil
	}
	drop := make(map[string]bool, len(spaces))
	for _, k := range spaces {
		drop[k] = true
	}
	m.grants = slices.DeleteFunc(m.grants, func(g plan.SpacePermission) bool { return drop[g.Space] })
	m.grants = append(m.grants, grants...)
	return nil
}
