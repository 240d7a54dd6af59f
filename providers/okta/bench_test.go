package okta_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/okta"
	"github.com/confsync/confsync/providers/okta/emulator"
	"github.com/confsync/confsync/providers/pulltest"
)

// seedOrg fills an emulated org for the benchmark.
func seedOrg(users, groups, per int) *emulator.Server {
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
	return emu
}

// TestEmulatorProcess is not a test: BenchmarkReadOrg runs the test binary
// with it to serve the emulated org from another process, so that the
// emulator's heap is not measured as confsync's.
func TestEmulatorProcess(t *testing.T) {
	pulltest.ServeEmulator(t, func() http.Handler {
		return seedOrg(pulltest.Size("CONFSYNC_OKTA_BENCH_USERS", 100_000), pulltest.Size("CONFSYNC_OKTA_BENCH_GROUPS", 20_000), pulltest.Size("CONFSYNC_OKTA_BENCH_MEMBERS", 50))
	})
}

// BenchmarkReadOrg reads 100,000 users, 20,000 groups and 1,000,000
// memberships (50 per group) from the Okta emulator, served by another
// process over real HTTP. It checks the read took the fewest requests the
// page sizes allow (users in pages of 200, one deprovisioned-users search,
// groups in pages of 200, one members page per group) and reports the
// time, the requests, the peak live heap and the heap the result holds.
func BenchmarkReadOrg(b *testing.B) {
	users := pulltest.Size("CONFSYNC_OKTA_BENCH_USERS", 100_000)
	groups := pulltest.Size("CONFSYNC_OKTA_BENCH_GROUPS", 20_000)
	per := pulltest.Size("CONFSYNC_OKTA_BENCH_MEMBERS", 50)
	cfg := &config.OktaSource{OrgURL: pulltest.StartEmulator(b), Token: token, Parallelism: 4, Timeout: time.Minute}
	want := pulltest.Pages(users, 200) + 1 + pulltest.Pages(groups, 200) + groups*pulltest.Pages(per, 1000)
	var total time.Duration
	var peak, retained uint64
	b.ResetTimer()
	for range b.N {
		ct := &pulltest.CountingTransport{}
		src, err := okta.NewSource(cfg, okta.Options{Retry: backoff.Policy{Attempts: 1}, HTTPClient: &http.Client{Transport: ct}})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		stop := pulltest.SampleHeap()
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
		if n := ct.Requests(); n != want {
			b.Fatalf("%d requests, want the minimum %d", n, want)
		}
		runtime.GC()
		retained = max(retained, pulltest.HeapLive())
		peak = max(peak, p)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(want), "requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "snapshot-heap-MB")
}
