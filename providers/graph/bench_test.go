package graph_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/graph/emulator"
)

func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkReadTenant reads 100,000 users, 20,000 groups and 1,000,000
// memberships (50 per group) from the Graph emulator over real HTTP. It
// checks that the read took the fewest requests $top=999 allows (one
// token, ceil(users/999) user pages, ceil(groups/999) group pages, one
// members page per group), and reports the time, the requests, and the
// peak heap above the seeded emulator's (the emulator shares the process,
// so its per-request garbage is counted against confsync).
func BenchmarkReadTenant(b *testing.B) {
	users := benchSize("CONFSYNC_GRAPH_BENCH_USERS", 100_000)
	groups := benchSize("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000)
	per := benchSize("CONFSYNC_GRAPH_BENCH_MEMBERS", 50)
	emu := emulator.New(emulator.Options{TenantID: tenant, ClientID: clientID, ClientSecret: secret})
	ids := make([]string, users)
	for i := range users {
		ids[i] = emu.AddUser(map[string]any{
			"userPrincipalName": fmt.Sprintf("user%06d@contoso.com", i), "mail": fmt.Sprintf("user%06d@contoso.com", i),
			"displayName": fmt.Sprintf("User Number %d", i), "jobTitle": "Engineer",
		})
	}
	for g := range groups {
		m := make([]string, per)
		for k := range per {
			m[k] = ids[(g*7+k*7919)%users]
		}
		emu.AddGroup(fmt.Sprintf("group%05d", g), m...)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	cfg := (&tenantFixture{emu: emu, srv: srv}).config()
	wantRequests := 1 + ceil(users, graph.PageSize) + ceil(groups, graph.PageSize) + groups*ceil(per, graph.PageSize)

	var total time.Duration
	var peak, retained, requests uint64
	b.ResetTimer()
	for range b.N {
		src, err := graph.NewSource(cfg, graph.Options{Retry: backoff.Policy{Attempts: 1}})
		if err != nil {
			b.Fatal(err)
		}
		emu.ResetStats()
		runtime.GC()
		base := heapLive()
		stop := sampleHeap()
		t0 := time.Now()
		snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: []string{"userPrincipalName", "mail", "displayName"}})
		total += time.Since(t0)
		p := stop()
		if err != nil {
			b.Fatal(err)
		}
		members := 0
		for _, g := range snap.Groups {
			members += len(g.MemberIDs)
		}
		if len(snap.Users) != users || len(snap.Groups) != groups || members != groups*per {
			b.Fatalf("read %d users, %d groups, %d memberships", len(snap.Users), len(snap.Groups), members)
		}
		n := 0
		for _, c := range emu.Stats().Requests {
			n += c
		}
		if n != wantRequests {
			b.Fatalf("%d requests, want the minimum %d", n, wantRequests)
		}
		requests = uint64(n)
		runtime.GC()
		retained = max(retained, heapLive()-base)
		peak = max(peak, p-base)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "snapshot-heap-MB")
}

func ceil(n, d int) int { return (n + d - 1) / d }

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples the live heap until the returned function is called,
// which returns the highest value seen.
func sampleHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			h := heapLive()
			mu.Lock()
			peak = max(peak, h)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return max(peak, heapLive())
	}
}
