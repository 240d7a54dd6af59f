package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
)

// The burst of BenchmarkLiveAtScale (serve_targeted_bench_test.go), and
// the tap on the emulator's handler that times what it answers.

// burst posts n new users, each then added to one group, from 4 clients
// (an IdP's provisioning cycle), against an emulator limited to rate
// requests per second, and reports the Confluence request rate the
// reconciles achieved, from the emulator's first request of the burst to
// its last (gaps between reconciles included), as a fraction of the
// limit, and how they ran.
func (f *scaleServe) burst(b *testing.B, n int, rate float64) {
	f.runsUntilCovered(b)
	f.emu.SetFaults(0, rate, 0)
	defer f.emu.SetFaults(0, 0, 0)
	before := f.emu.Stats()
	f.tap.reset()
	start := time.Now()
	names, groups := make([]string, n), make([]int, n)
	for i := range names {
		names[i] = fmt.Sprintf("burst%05d", i)
		groups[i] = 1 + (i*7919)%(f.tn.groups-1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; i < n; i += 4 {
				if _, err := f.addUserToGroup(names[i], f.groupIDs[groups[i]]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	posted := time.Since(start)
	runs := f.runsUntilCovered(b)
	whole := time.Since(start)
	after := f.emu.Stats()
	f.checkBurst(b, names, groups)

	first, last := f.tap.window()
	var requests int64
	kinds := map[plan.RunKind]int{}
	for i, r := range runs {
		requests += r.ConfluenceRequests
		kinds[r.Kind]++
		b.Logf("burst run %d: %s %s, apply %v, %d requests: %s", i+1, r.Kind, r.Outcome, r.Finished.Sub(r.Started).Round(time.Millisecond),
			r.ConfluenceRequests, r.Message)
	}
	window := last.Sub(first).Seconds()
	answered := (after.Total - before.Total) - (after.Throttled - before.Throttled)
	achieved := float64(answered) / window
	b.Logf("%s: burst of %d users posted in %v, all in Confluence after %v; %d runs %v; %d requests sent, %d answered and %d refused (429) by the emulator in %.1f s: %.1f/s, %.1f%% of the %.0f/s limit",
		f.tn.name, n, posted.Round(time.Millisecond), whole.Round(time.Millisecond), len(runs), kinds, requests, answered,
		after.Throttled-before.Throttled, window, achieved, 100*achieved/rate, rate)
	f.metrics["burst-rate-fraction"] = achieved / rate
	f.metrics["burst-s"] = whole.Seconds()
	f.metrics["burst-targeted-runs"] = float64(kinds[plan.RunTargeted])
	f.metrics["burst-full-runs"] = float64(kinds[plan.RunFull])
}

// checkBurst fails unless every user of the burst is in Confluence, active,
// in its group.
func (f *scaleServe) checkBurst(b *testing.B, names []string, groups []int) {
	members := map[string]map[string]bool{}
	for _, g := range f.emu.Groups() {
		members[g.Name] = map[string]bool{}
		for _, m := range g.Members {
			members[g.Name][m] = true
		}
	}
	for i, name := range names {
		if u, ok := f.emu.User(name); !ok || !u.Active || !members[f.tn.groupName(groups[i])][name] {
			b.Fatalf("%s of the burst is not in Confluence in %s", name, f.tn.groupName(groups[i]))
		}
	}
}

// emulatorTap is the emulator's handler, noting when it answered its
// first and last requests since reset, and when it added a user to a
// group.
type emulatorTap struct {
	h           http.Handler
	mu          sync.Mutex
	first, last time.Time
	added       map[string]time.Time // "/rest/api/user/{user}/group/{group}"
}

func (t *emulatorTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	t.h.ServeHTTP(rec, r)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first.IsZero() {
		t.first = start
	}
	t.last = time.Now()
	if r.Method == http.MethodPut && rec.status/100 == 2 && strings.Contains(r.URL.Path, "/group/") {
		t.added[r.URL.Path] = t.last
	}
}

func (t *emulatorTap) memberAdded(user, group string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.added["/rest/api/user/"+user+"/group/"+group]
	return at, ok
}

func (t *emulatorTap) reset() {
	t.mu.Lock()
	t.first, t.last = time.Time{}, time.Time{}
	t.mu.Unlock()
}

func (t *emulatorTap) window() (first, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.first, t.last
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
