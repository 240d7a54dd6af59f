package confluence_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

// quickBench reports whether CONFSYNC_BENCH_QUICK asks for small sizes;
// by default the benchmarks use the sizes the project targets.
func quickBench() bool { return os.Getenv("CONFSYNC_BENCH_QUICK") != "" }

// BenchmarkReadLarge reads 100,000 users, 20,000 groups and about 1,000,000
// memberships (one group of 30,000 members, the others 10 to 90) from the
// emulator at its default page cap of 200, and reports the requests made
// against the minimum that page size allows.
func BenchmarkReadLarge(b *testing.B) {
	srv, base := emulator.Start(b, emulator.Options{AdminToken: adminToken})
	nUsers, nGroups, memberships := seedLargeSite(b, srv)
	const page = 200
	ceil := func(n int) int { return max(1, (n+page-1)/page) }
	minimum := 1 + ceil(nUsers+1) + ceil(nGroups+2)
	for _, g := range srv.Groups() {
		minimum += ceil(len(g.Members))
	}
	o := quickOptions(base)
	o.Parallelism = 8
	c, err := confluence.New(o)
	if err != nil {
		b.Fatal(err)
	}
	srv.ResetStats()
	b.ResetTimer()
	var got *plan.Actual
	for b.Loop() {
		if got, err = c.Read(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	members := 0
	for _, g := range got.Groups {
		members += len(g.Members)
	}
	if len(got.Users) != nUsers+1 || len(got.Groups) != nGroups+2 || members != memberships+2 {
		b.Fatalf("read %d users, %d groups, %d memberships; want %d, %d, %d",
			len(got.Users), len(got.Groups), members, nUsers+1, nGroups+2, memberships+2)
	}
	reqs := float64(srv.Stats().Total) / float64(b.N)
	b.ReportMetric(reqs, "requests/op")
	b.ReportMetric(float64(minimum), "min-requests")
	b.ReportMetric(float64(members), "memberships")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/read")
}

// seedLargeSite seeds 100,000 users (every tenth disabled) named
// user000000..., and 20,000 groups named group-00000... holding about
// 1,000,000 memberships (group-00000 has 30,000 members, the others 10
// to 90); a tenth of that with CONFSYNC_BENCH_QUICK. It returns the
// numbers of users, groups and memberships seeded.
func seedLargeSite(b *testing.B, srv *emulator.Server) (nUsers, nGroups, memberships int) {
	b.Helper()
	nUsers, nGroups, big := 100_000, 20_000, 30_000
	if quickBench() {
		nUsers, nGroups, big = 10_000, 2_000, 3_000
	}
	users := make([]emulator.User, nUsers)
	for i := range users {
		users[i] = emulator.User{Username: fmt.Sprintf("user%06d", i), DisplayName: fmt.Sprintf("User %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), Active: i%10 != 0}
	}
	if err := srv.SeedUsers(users...); err != nil {
		b.Fatal(err)
	}
	groups := make([]emulator.Group, nGroups)
	for g := range groups {
		size := 10 + g%81
		if g == 0 {
			size = big
		}
		m := make([]string, size)
		for i := range m {
			m[i] = users[(g*7919+i*31)%nUsers].Username
		}
		groups[g] = emulator.Group{Name: fmt.Sprintf("group-%05d", g), Members: m}
		memberships += size
	}
	if err := srv.SeedGroups(groups...); err != nil {
		b.Fatal(err)
	}
	return nUsers, nGroups, memberships
}

// BenchmarkReadScope reads one user and one group from the large site of
// seedLargeSite, as a targeted plan does for one SCIM event, and reports
// the requests per read (counted by the client and by the emulator). The
// caller's username is learned before the timer, as a running server has
// it after its first read; the first read of a client costs one request
// more. "new-user" is a user that does not exist yet (the budget: user
// 404 and group 200); "member" is an existing user in several groups
// (plus its memberof page).
func BenchmarkReadScope(b *testing.B) {
	srv, base := emulator.Start(b, emulator.Options{AdminToken: adminToken})
	seedLargeSite(b, srv)
	var member string
	for _, g := range srv.Groups() {
		if g.Name == "group-00001" {
			member = g.Members[0]
		}
	}
	for _, bc := range []struct {
		name  string
		scope plan.TargetScope
		users int
	}{
		{"new-user", plan.TargetScope{Users: []string{"newcomer"}, Groups: []string{"group-00001"}}, 0},
		{"member", plan.TargetScope{Users: []string{member}, Groups: []string{"group-00002"}}, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := confluence.New(quickOptions(base))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.CurrentUser(b.Context()); err != nil {
				b.Fatal(err)
			}
			srv.ResetStats()
			before := c.Requests()
			var got *plan.Actual
			for b.Loop() {
				if got, err = c.ReadScope(b.Context(), bc.scope); err != nil {
					b.Fatal(err)
				}
			}
			if len(got.Users) != bc.users || len(got.Groups) == 0 {
				b.Fatalf("read %d users, %d groups", len(got.Users), len(got.Groups))
			}
			b.ReportMetric(float64(c.Requests()-before)/float64(b.N), "requests/op")
			b.ReportMetric(float64(srv.Stats().Total)/float64(b.N), "served-requests/op")
			b.ReportMetric(float64(len(got.Groups)), "groups")
		})
	}
}

// BenchmarkWriteThrottled applies 10,000 changes (2,500 user creations,
// 5,000 memberships, 1,250 disables, 1,250 updates) against an emulator
// limited to 100 requests/s, and reports the sustained rate against that
// limit. It takes about 100 s; CONFSYNC_BENCH_QUICK=1 runs 1,000 changes.
func BenchmarkWriteThrottled(b *testing.B) {
	changes := 10_000
	if quickBench() {
		changes = 1_000
	}
	const limit = 100.0
	for b.Loop() {
		srv, base := emulator.Start(b, emulator.Options{AdminToken: adminToken})
		nExisting := changes / 4
		existing := make([]emulator.User, nExisting)
		for i := range existing {
			existing[i] = emulator.User{Username: fmt.Sprintf("old%06d", i), DisplayName: "Old", Email: "old@example.com", Active: true}
		}
		if err := srv.SeedUsers(existing...); err != nil {
			b.Fatal(err)
		}
		var gs []emulator.Group
		for g := range 50 {
			gs = append(gs, emulator.Group{Name: fmt.Sprintf("team-%02d", g)})
		}
		if err := srv.SeedGroups(gs...); err != nil {
			b.Fatal(err)
		}
		srv.SetFaults(0, limit, 10)
		srv.ResetStats()
		o := quickOptions(base)
		// Enough requests in flight that answer latency on a busy machine
		// (or of a real Confluence, 50-300 ms per admin call) does not bound
		// the rate; the rate limit is what paces the run.
		o.Parallelism = 32
		o.MaxBackoff = time.Second
		c, err := confluence.New(o)
		if err != nil {
			b.Fatal(err)
		}
		work := make(chan func() error)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []error
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for fn := range work {
					if err := fn(); err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
					}
				}
			}()
		}
		x := b.Context()
		start := time.Now()
		n := 0
		for i := 0; n < changes; i++ {
			i := i
			var fn func() error
			switch i % 8 {
			case 0, 4:
				name := fmt.Sprintf("new%06d", i)
				fn = func() error {
					return c.CreateUser(x, plan.NewUser{Username: name, DisplayName: "New", Email: name + "@example.com"})
				}
			case 1, 3, 5, 7:
				u, g := existing[(i/2)%nExisting].Username, fmt.Sprintf("team-%02d", i%50)
				fn = func() error { return c.AddMember(x, u, g) }
			case 2:
				u := existing[(i/8)%nExisting].Username
				fn = func() error { return c.DisableUser(x, u) }
			case 6:
				u := existing[(i/8)%nExisting].Username
				fn = func() error {
					return c.UpdateUser(x, u, plan.UserDetails{DisplayName: "Updated", Email: u + "@new.example.com"})
				}
			}
			work <- fn
			n++
		}
		close(work)
		wg.Wait()
		elapsed := time.Since(start)
		if len(failures) > 0 {
			b.Fatalf("%d changes failed, first: %v", len(failures), failures[0])
		}
		st := srv.Stats()
		served := st.Total - st.Throttled
		users := len(srv.Users())
		if want := nExisting + 1 + changes/4; users != want {
			b.Fatalf("%d users after the run, want %d", users, want)
		}
		b.ReportMetric(float64(changes), "changes")
		b.ReportMetric(float64(changes)/elapsed.Seconds(), "changes/s")
		b.ReportMetric(float64(served)/elapsed.Seconds(), "served-req/s")
		b.ReportMetric(100*float64(served)/elapsed.Seconds()/limit, "%-of-limit")
		b.ReportMetric(float64(st.Throttled), "429s")
	}
}
