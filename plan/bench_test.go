package plan_test

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// static fakes return prebuilt values: the benchmark measures the engine,
// not copying.
type staticSource struct{ snap *plan.Snapshot }

func (s staticSource) Read(context.Context, plan.ReadRequest) (*plan.Snapshot, error) {
	return s.snap, nil
}

type staticTarget struct {
	*plantest.Target // writes are never called
	actual           *plan.Actual
}

func (t staticTarget) Read(context.Context) (*plan.Actual, error) { return t.actual, nil }

type staticState struct {
	*plantest.State
	own *plan.Ownership
}

func (s staticState) Ownership(context.Context) (*plan.Ownership, error) { return s.own, nil }

// scale builds an IdP of users users, groups groups and memberships
// memberships (each user in memberships/users groups), and, when inSync, a
// Confluence and ownership state that already match it except for a 1%
// drift (new users, changed names, left groups).
func scale(users, groups, memberships int, inSync bool) plan.Inputs {
	idp := &config.IDP{Name: "entra", SCIM: &config.SCIMSource{},
		Users:  config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
		Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true}}
	cfg := &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://c"}, IDPs: []*config.IDP{idp}}
	snap := &plan.Snapshot{}
	per := memberships / users
	groupMembers := make([][]string, groups)
	for i := range users {
		id := fmt.Sprintf("id-%07d", i)
		name := fmt.Sprintf("user%07d", i)
		snap.Users = append(snap.Users, plan.SourceUser{ID: id, Active: true, Attributes: map[string]string{
			config.DefaultSCIMUsername: name, config.DefaultSCIMEmail: name + "@example.com", config.DefaultSCIMDisplayName: "User " + name}})
		for k := range per {
			g := (i*7 + k*groups/per) % groups
			groupMembers[g] = append(groupMembers[g], id)
		}
	}
	for g := range groups {
		snap.Groups = append(snap.Groups, plan.SourceGroup{ID: fmt.Sprintf("g-%06d", g), Name: fmt.Sprintf("group-%06d", g), MemberIDs: groupMembers[g]})
	}
	actual := &plan.Actual{}
	own := &plan.Ownership{}
	if inSync {
		for i, u := range snap.Users {
			name := u.Attributes[config.DefaultSCIMUsername]
			if i%100 == 0 {
				continue // 1% new users
			}
			display := u.Attributes[config.DefaultSCIMDisplayName]
			if i%100 == 1 {
				display = "Old " + display // 1% renamed
			}
			actual.Users = append(actual.Users, plan.ActualUser{Username: name, DisplayName: display, Email: u.Attributes[config.DefaultSCIMEmail], Active: true})
			own.Users = append(own.Users, plan.ManagedUser{Username: name, IDP: "entra", SourceID: u.ID, DisplayName: display, Email: u.Attributes[config.DefaultSCIMEmail], Active: true})
		}
		byID := map[string]string{}
		for _, u := range snap.Users {
			byID[u.ID] = u.Attributes[config.DefaultSCIMUsername]
		}
		for gi, g := range snap.Groups {
			name := fmt.Sprintf("group-%06d", gi)
			ag := plan.ActualGroup{Name: name}
			for j, id := range g.MemberIDs {
				u := byID[id]
				if j%100 == 3 {
					continue // 1% memberships to add
				}
				ag.Members = append(ag.Members, u)
				own.Memberships = append(own.Memberships, plan.ManagedMembership{Username: u, Group: name, IDP: "entra"})
			}
			actual.Groups = append(actual.Groups, ag)
			own.Groups = append(own.Groups, plan.ManagedGroup{Name: name, IDP: "entra", Created: true})
		}
	}
	st := plantest.NewState()
	st.RecordRead(context.Background(), "entra", plan.SourceCounts{Users: users, Groups: groups, At: time.Now()})
	return plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": staticSource{snap}},
		Target: staticTarget{actual: actual}, State: staticState{State: st, own: own},
		Options: plan.Options{AllowMassChanges: true}}
}

// BenchmarkCompute plans with the state already read. live-MB is the heap
// still in use with the plan and inputs alive; peak-MB the largest heap
// seen during the plan (sampled).
func BenchmarkCompute(b *testing.B) {
	for _, sz := range []struct{ users, groups, members int }{
		{10_000, 2_000, 100_000},
		{100_000, 20_000, 1_000_000},
	} {
		for _, inSync := range []bool{true, false} {
			name := fmt.Sprintf("users=%d/groups=%d/memberships=%d/in-sync=%v", sz.users, sz.groups, sz.members, inSync)
			b.Run(name, func(b *testing.B) {
				in := scale(sz.users, sz.groups, sz.members, inSync)
				b.ResetTimer()
				var changes int
				var peak uint64
				var cpu time.Duration
				for b.Loop() {
					// Each plan starts from a collected heap: the peak is
					// what this plan adds above the inputs.
					b.StopTimer()
					runtime.GC()
					var base runtime.MemStats
					runtime.ReadMemStats(&base)
					stop := make(chan struct{})
					done := make(chan uint64)
					go func() {
						var m runtime.MemStats
						var hi uint64
						tick := time.NewTicker(20 * time.Millisecond)
						defer tick.Stop()
						for {
							select {
							case <-stop:
								runtime.ReadMemStats(&m)
								done <- max(hi, m.HeapInuse)
								return
							case <-tick.C:
								runtime.ReadMemStats(&m)
								hi = max(hi, m.HeapInuse)
							}
						}
					}()
					b.StartTimer()
					c0 := cpuTime()
					p, err := plan.Compute(context.Background(), in)
					cpu += cpuTime() - c0
					close(stop)
					hi := <-done
					peak = max(peak, hi-min(hi, base.HeapInuse))
					if err != nil {
						b.Fatal(err)
					}
					changes = len(p.Changes)
				}
				b.StopTimer()
				b.ReportMetric(float64(changes), "changes")
				b.ReportMetric(float64(peak)/1e6, "peak-MB")
				// CPU time (user+system, all threads, the GC's included)
				// says more than wall time on a shared machine.
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApply measures the executor's own cost (scheduling,
// dependencies, state records) on an in-memory Confluence and state: the
// initial import of 10,000 users, 2,000 groups and 100,000 memberships.
func BenchmarkApply(b *testing.B) {
	in := scale(10_000, 2_000, 100_000, false)
	p, err := plan.Compute(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		target, st := plantest.NewTarget(), plantest.NewState()
		b.StartTimer()
		if _, err := plan.Apply(context.Background(), p, target, st, plan.ApplyOptions{Parallelism: 8}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Changes)), "changes")
}
