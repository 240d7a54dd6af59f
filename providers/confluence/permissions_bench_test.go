package confluence_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

// BenchmarkPermissionImpactReads makes the permission reads of a plan's
// impact on a site of 20,000 groups and 5,000 spaces (each space granting
// read to three groups and page create to one), for plans that take away
// 1 and 20 groups, and reports the requests each read costs: one global
// read per group asked about, and (Confluence DC having no call that lists
// a group's spaces) one list page per 200 spaces plus one permission read
// per space, whatever the number of groups.
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
	for _, removed := range []int{1, 20} {
		b.Run(fmt.Sprintf("groups=%d/removed=%d/spaces=%d", nGroups, removed, nSpaces), func(b *testing.B) {
			o := quickOptions(base)
			o.Parallelism = 8
			c, err := confluence.New(o)
			if err != nil {
				b.Fatal(err)
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
