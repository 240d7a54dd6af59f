package graph_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/graph/emulator"
	"github.com/confsync/confsync/providers/pulltest"
)

// seedTenant fills an emulated tenant for the benchmark.
func seedTenant(users, groups, per int) *emulator.Server {
	emu := emulator.New(emulator.Options{TenantID: tenant, ClientID: clientID, ClientSecret: secret})
	ids := make([]string, users)
	for i := range users {
		ids[i] = emu.AddUser(map[string]any{
			"userPrincipalName": fmt.Sprintf("user%06d@contoso.com", i), "mail": fmt.Sprintf("user%06d@contoso.com", i),
			"displayName": fmt.Sprintf("User Number %d", i), "jobTitle": "Engineer",
		})
	}
	for g := range groups {
		emu.AddGroup(fmt.Sprintf("group%05d", g), pulltest.GroupMembers(ids, g, per)...)
	}
	return emu
}

// TestEmulatorProcess is not a test: BenchmarkReadTenant runs the test
// binary with it to serve the emulated tenant from another process, so
// that the emulator's heap is not measured as confsync's.
func TestEmulatorProcess(t *testing.T) {
	pulltest.ServeEmulator(t, func() http.Handler {
		return seedTenant(pulltest.Size("CONFSYNC_GRAPH_BENCH_USERS", 100_000), pulltest.Size("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000), pulltest.Size("CONFSYNC_GRAPH_BENCH_MEMBERS", 50))
	})
}

// BenchmarkReadTenant reads 100,000 users, 20,000 groups and 1,000,000
// memberships (50 per group) from the Graph emulator, served by another
// process over real HTTP. It checks that the read took the fewest
// requests $top=999 allows (one token, pulltest.Pages(users/999) user pages,
// pulltest.Pages(groups/999) group pages, one members page per group), and reports
// the time, the requests, the peak live heap and the heap the result
// holds.
func BenchmarkReadTenant(b *testing.B) {
	users := pulltest.Size("CONFSYNC_GRAPH_BENCH_USERS", 100_000)
	groups := pulltest.Size("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000)
	per := pulltest.Size("CONFSYNC_GRAPH_BENCH_MEMBERS", 50)
	url := pulltest.StartEmulator(b)
	cfg := &config.GraphSource{TenantID: tenant, ClientID: clientID, ClientSecret: secret, Authority: url, Endpoint: url, Parallelism: 4, Timeout: time.Minute}
	wantRequests := 1 + pulltest.Pages(users, graph.PageSize) + pulltest.Pages(groups, graph.PageSize) + groups*pulltest.Pages(per, graph.PageSize)

	pulltest.ReadBench(b, wantRequests, []string{"userPrincipalName", "mail", "displayName"}, func(hc *http.Client) (plan.Source, error) {
		return graph.NewSource(cfg, graph.Options{Retry: backoff.Policy{Attempts: 1}, HTTPClient: hc})
	}, func(snap *plan.Snapshot) error {
		members := 0
		for _, g := range snap.Groups {
			members += len(g.MemberIDs)
		}
		if len(snap.Users) != users || len(snap.Groups) != groups || members != groups*per {
			return fmt.Errorf("read %d users, %d groups, %d memberships", len(snap.Users), len(snap.Groups), members)
		}
		return nil
	})
}
