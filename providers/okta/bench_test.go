package okta_test

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

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/okta"
	"github.com/confsync/confsync/providers/okta/emulator"
)

func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkReadOrg reads 100,000 users, 20,000 groups and 1,000,000
// memberships (50 per group) from the Okta emulator over real HTTP,
// checks the read took the fewest requests the page sizes allow (users
// in pages of 200, one deprovisioned-users search, groups in pages of
// 200, one members page per group) and reports the time, the requests
// and the peak heap above the seeded emulator's.
func BenchmarkReadOrg(b *testing.B) {
	users := benchSize("CONFSYNC_OKTA_BENCH_USERS", 100_000)
	groups := benchSize("CONFSYNC_OKTA_BENCH_GROUPS", 20_000)
	per := benchSize("CONFSYNC_OKTA_BENCH_MEMBERS", 50)
	emu := emulator.New(emulator.Options{Token: token, RateLimit: 1 << 30})
	ids := make([]string, users)
	for i := range users {
		ids[i] = emu.AddUser("", map[string]any{"login": fmt.Sprintf("user%06d@example.com", i), "email": fmt.Sprintf("user%06d@example.com", i), "displayName": fmt.Sprintf("User %d", i)})
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
	cfg := &config.OktaSource{OrgURL: srv.URL, Token: token, Parallelism: 4, Timeout: time.Minute}
	want := ceil(users, 200) + 1 + ceil(groups, 200) + groups*ceil(per, 1000)
	var total time.Duration
	var peak, retained uint64
	b.ResetTimer()
	for range b.N {
		src, err := okta.NewSource(cfg, okta.Options{Retry: backoff.Policy{Attempts: 1}})
		if err != nil {
			b.Fatal(err)
		}
		before := emu.Stats().Requests
		runtime.GC()
		base := heapLive()
		stop := sampleHeap()
		t0 := time.Now()
		snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: []string{"login", "email", "displayName"}})
		total += time.Since(t0)
		p := stop()
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Users) != users || len(snap.Groups) != groups {
			b.Fatalf("read %d users and %d groups", len(snap.Users), len(snap.Groups))
		}
		n := 0
		for k, c := range emu.Stats().Requests {
			n += c - before[k]
		}
		if n != want {
			b.Fatalf("%d requests, want the minimum %d", n, want)
		}
		runtime.GC()
		retained = max(retained, heapLive()-base)
		peak = max(peak, p-base)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(want), "requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "snapshot-heap-MB")
}

func ceil(n, d int) int { return (n + d - 1) / d }

func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

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
