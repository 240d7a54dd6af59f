package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// The benchmarks in this file measure live provisioning at scale (issue
// 10): `confsync serve` runs as its own process (this test binary run as
// confsync), so that its memory is its own, in front of the Confluence
// emulator in this process; both are seeded directly (the emulator's
// SeedUsers and SeedGroups, the store through its API from many
// goroutines), not over HTTP.

// tenant is the shape of a seeded site, that of providers/confluence's
// seedLargeSite: every tenth user disabled, group 0 with big members, the
// others 10 to 90.
type tenant struct {
	name          string
	users, groups int
	big           int
	burst         int // new users in the burst; 0 for none
}

func (t tenant) size(g int) int {
	if g == 0 {
		return t.big
	}
	return 10 + g%81
}

func (t tenant) member(g, i int) int    { return (g*7919 + i*31) % t.users }
func (t tenant) username(i int) string  { return fmt.Sprintf("user%06d", i) }
func (t tenant) groupName(g int) string { return fmt.Sprintf("group-%05d", g) }
func (t tenant) display(i int) string   { return fmt.Sprintf("User %d", i) }
func (t tenant) email(i int) string     { return fmt.Sprintf("user%d@example.com", i) }
func (t tenant) active(i int) bool      { return i%10 != 0 }

func benchTenants() []tenant {
	small := tenant{name: "users=1000", users: 1000, groups: 200, big: 300}
	if os.Getenv("CONFSYNC_BENCH_QUICK") != "" {
		return []tenant{small, {name: "users=10000", users: 10_000, groups: 2_000, big: 3_000, burst: 200}}
	}
	return []tenant{small, {name: "users=100000", users: 100_000, groups: 20_000, big: 30_000, burst: 1_000}}
}

// BenchmarkLiveAtScale measures, per site: the start-up full reconcile
// (time, Confluence requests) and serve's memory after it; then, per
// iteration, one user created and added to one group over SCIM (as Entra
// ID does: POST /Users, then PATCH /Groups), reporting the latency from
// the 201 to the user being in Confluence and in its group (p50, p95) and
// the Confluence requests of the reconciles it caused (from the audit log,
// and counted by the emulator); on the reference tenant, last, a burst of
// new users against an emulator limited to 100 requests/s, reporting the
// rate achieved as a fraction of the limit and how the burst ran.
//
//	go test -run '^$' -bench LiveAtScale -benchtime 20x -timeout 60m ./cmd/confsync/
//
// CONFSYNC_BENCH_QUICK=1 uses 10,000 users instead of 100,000 and a burst
// of 200; CONFSYNC_BENCH_DEBOUNCE sets server.debounce (default 200ms).
func BenchmarkLiveAtScale(b *testing.B) {
	debounce := os.Getenv("CONFSYNC_BENCH_DEBOUNCE")
	if debounce == "" {
		debounce = "200ms"
	}
	for _, tn := range benchTenants() {
		b.Run(tn.name, func(b *testing.B) {
			f := startScaleServe(b, tn, debounce)
			f.measureFull(b)
			f.events(b)
			if tn.burst > 0 {
				f.burst(b, tn.burst, 100)
			}
			// After the loop: b.Loop's first iteration drops metrics
			// reported before it.
			for unit, v := range f.metrics {
				b.ReportMetric(v, unit)
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// scaleServe is a seeded site and the serve process in front of it.
type scaleServe struct {
	tn    tenant
	emu   *emulator.Server
	tap   *emulatorTap
	st    *sqlstore.Store
	serve *replicaProc
	seen  map[string]bool
	start plan.Run // the start-up full reconcile
	sent  int      // events sent so far
	// groupIDs are the SCIM ids of the tenant's groups.
	groupIDs []string
	// metrics are reported at the end, by unit.
	metrics map[string]float64
}

func startScaleServe(b *testing.B, tn tenant, debounce string) *scaleServe {
	b.Helper()
	emu, err := emulator.New(emulator.Options{AdminToken: emulatorToken})
	if err != nil {
		b.Fatal(err)
	}
	tap := &emulatorTap{h: emu, added: map[string]time.Time{}}
	srv := httptest.NewServer(tap)
	b.Cleanup(srv.Close)
	dir := b.TempDir()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "confsync.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	f := &scaleServe{tn: tn, emu: emu, tap: tap, st: st, seen: map[string]bool{}, metrics: map[string]float64{}}
	f.seed(b)
	addr := freeAddr(b)
	writeServeConfig(b, dir, serveConfig{ConfluenceURL: srv.URL, Listen: addr, Debounce: debounce, Parallelism: 8})
	f.startServe(b, dir, addr)
	return f
}

// seed fills the emulator and the store, and says how long that took.
func (f *scaleServe) seed(b *testing.B) {
	t0 := time.Now()
	f.seedEmulator(b)
	t1 := time.Now()
	ids := f.seedStore(b)
	t2 := time.Now()
	f.seedOwnership(b, ids)
	t3 := time.Now()
	b.Logf("%s: seeded the emulator in %v, the store's SCIM resources in %v, the ownership state in %v",
		f.tn.name, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond))
	f.metrics["setup-s"] = t3.Sub(t0).Seconds()
}

// startServe starts serve and waits for its start-up full reconcile.
func (f *scaleServe) startServe(b *testing.B, dir, addr string) {
	f.emu.ResetStats()
	f.tap.reset()
	started := time.Now()
	f.serve = startReplica(b, "serve", dir, addr)
	f.serve.ready(b)
	waitFor(b, 30*time.Minute, "the start-up reconcile", func() bool {
		for _, r := range f.newRuns(b) {
			if r.Trigger == plan.TriggerReconcile {
				f.start = r
				return true
			}
		}
		return false
	})
	if f.start.Outcome != plan.OutcomeApplied || f.start.Kind != plan.RunFull {
		b.Fatalf("the start-up reconcile: %s %s: %s", f.start.Kind, f.start.Outcome, f.start.Message)
	}
	first, last := f.tap.window()
	b.Logf("%s: the start-up full reconcile took %v (Confluence requests from %v to %v after serve started; recorded %v after), %d Confluence requests (%d answered by the emulator), %d changes: %s",
		f.tn.name, f.start.Finished.Sub(f.start.Started).Round(time.Millisecond), first.Sub(started).Round(time.Millisecond),
		last.Sub(started).Round(time.Millisecond), time.Since(started).Round(time.Millisecond), f.start.ConfluenceRequests,
		f.emu.Stats().Total, len(f.start.Actions), f.start.Message)
}

// seedEmulator gives Confluence the tenant's users, groups and members.
func (f *scaleServe) seedEmulator(b *testing.B) {
	tn := f.tn
	users := make([]emulator.User, tn.users)
	for i := range users {
		users[i] = emulator.User{Username: tn.username(i), DisplayName: tn.display(i), Email: tn.email(i), Active: tn.active(i)}
	}
	if err := f.emu.SeedUsers(users...); err != nil {
		b.Fatal(err)
	}
	groups := make([]emulator.Group, tn.groups)
	for g := range groups {
		groups[g] = emulator.Group{Name: tn.groupName(g), Members: make([]string, tn.size(g))}
		for i := range groups[g].Members {
			groups[g].Members[i] = tn.username(tn.member(g, i))
		}
	}
	if err := f.emu.SeedGroups(groups...); err != nil {
		b.Fatal(err)
	}
}

// parallel runs fn(i) for i in [0, n) from 128 goroutines, so that the
// store's group commit carries many writes per transaction.
func parallel(b *testing.B, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range 128 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

// seedStore writes the tenant's users and groups as SCIM resources of idp
// entra, and returns the users' ids.
func (f *scaleServe) seedStore(b *testing.B) []string {
	tn, ctx := f.tn, context.Background()
	ids := make([]string, tn.users)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	parallel(b, tn.users, func(i int) error {
		return f.st.CreateUser(ctx, &store.User{IDP: "entra", ID: ids[i], UserName: tn.username(i), Active: tn.active(i),
			Attributes: scimUserAttributes(tn.username(i), tn.display(i), tn.email(i), tn.active(i))})
	})
	f.groupIDs = make([]string, tn.groups)
	for g := range f.groupIDs {
		f.groupIDs[g] = uuid.NewString()
	}
	parallel(b, tn.groups, func(g int) error {
		members := make([]store.Member, tn.size(g))
		for i := range members {
			members[i] = store.Member{ID: ids[tn.member(g, i)], Type: "User"}
		}
		attrs, _ := json.Marshal(map[string]any{"displayName": tn.groupName(g)})
		return f.st.CreateGroup(ctx, &store.Group{IDP: "entra", ID: f.groupIDs[g], DisplayName: tn.groupName(g), Attributes: attrs}, members)
	})
	return ids
}

func scimUserAttributes(name, display, email string, active bool) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"userName": name, "active": active, "displayName": display,
		"emails": []map[string]any{{"type": "work", "value": email, "primary": true}}})
	return b
}

// seedOwnership records every user, group and membership as managed
// (adopted), as a first full reconcile would have; adopting a million
// memberships through an apply would take far longer than the benchmark.
func (f *scaleServe) seedOwnership(b *testing.B, ids []string) {
	tn, ctx := f.tn, context.Background()
	parallel(b, tn.users, func(i int) error {
		return f.st.RecordUser(ctx, plan.ManagedUser{Username: tn.username(i), IDP: "entra", SourceID: ids[i],
			DisplayName: tn.display(i), Email: tn.email(i), Active: tn.active(i), Adopted: true})
	})
	parallel(b, tn.groups, func(g int) error {
		return f.st.RecordGroup(ctx, plan.ManagedGroup{Name: tn.groupName(g), IDP: "entra"})
	})
	parallel(b, tn.groups, func(g int) error {
		for i := range tn.size(g) {
			m := plan.ManagedMembership{Username: tn.username(tn.member(g, i)), Group: tn.groupName(g), IDP: "entra"}
			if err := f.st.RecordMembership(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

// newRuns returns the audit log's runs not seen yet, oldest first.
func (f *scaleServe) newRuns(b *testing.B) []plan.Run {
	runs, err := f.st.Runs(context.Background(), 50)
	if err != nil {
		b.Fatal(err)
	}
	var out []plan.Run
	for _, r := range runs {
		if !f.seen[r.ID] {
			f.seen[r.ID] = true
			out = append(out, r)
		}
	}
	slices.Reverse(out)
	return out
}

// measureFull notes the start-up full reconcile and serve's memory after
// it (from its /metrics, and its peak resident set from /proc).
func (f *scaleServe) measureFull(b *testing.B) {
	f.metrics["full-s"] = f.start.Finished.Sub(f.start.Started).Seconds()
	f.metrics["full-requests"] = float64(f.start.ConfluenceRequests)
	m := f.scrape(b)
	heap, sys, rss := m["go_memstats_heap_inuse_bytes"], m["go_memstats_sys_bytes"], m["process_resident_memory_bytes"]
	peak := peakRSS(f.serve.cmd.Process.Pid)
	b.Logf("%s: serve after the full reconcile: heap in use %.0f MB, obtained from the OS %.0f MB, resident %.0f MB, peak resident %.0f MB",
		f.tn.name, heap/1e6, sys/1e6, rss/1e6, peak/1e6)
	// Where the reconcile's time went in the store.
	var ops []string
	for k, v := range m {
		if op, ok := strings.CutPrefix(k, `confsync_store_operation_duration_seconds_sum{operation="`); ok && v >= 0.05 {
			ops = append(ops, fmt.Sprintf("%s %.2fs", strings.TrimSuffix(op, `"}`), v))
		}
	}
	slices.Sort(ops)
	b.Logf("%s: store operations of serve so far: %s", f.tn.name, strings.Join(ops, ", "))
	f.metrics["heap-inuse-MB"] = heap / 1e6
	f.metrics["sys-MB"] = sys / 1e6
	f.metrics["peak-rss-MB"] = peak / 1e6
}

// scrape reads serve's /metrics: each sample by its name and labels.
func (f *scaleServe) scrape(b *testing.B) map[string]float64 {
	resp, err := http.Get(f.serve.url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		name, val := line[:i], line[i+1:]
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// peakRSS is a process's peak resident set in bytes (VmHWM), 0 where
// /proc does not tell.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

// events runs the loop of single events: one new user added to one group.
func (f *scaleServe) events(b *testing.B) {
	var lat []time.Duration
	var reqs, emuReqs []int64
	kinds := map[plan.RunKind]int{}
	var routes map[string]int
	for b.Loop() {
		e := f.event(b)
		lat, reqs, emuReqs = append(lat, e.latency), append(reqs, e.requests), append(emuReqs, e.emuRequests)
		for _, r := range e.runs {
			kinds[r.Kind]++
		}
		routes = e.routes
	}
	slices.Sort(lat)
	slices.Sort(reqs)
	slices.Sort(emuReqs)
	b.Logf("%s: %d events: latency p50 %v p95 %v max %v; Confluence requests per event %v (emulator: %v, the last one's %v); runs by kind %v",
		f.tn.name, len(lat), percentile(lat, 50), percentile(lat, 95), lat[len(lat)-1], reqs, emuReqs, routes, kinds)
	f.metrics["p50-s"] = percentile(lat, 50).Seconds()
	f.metrics["p95-s"] = percentile(lat, 95).Seconds()
	f.metrics["max-requests/event"] = float64(reqs[len(reqs)-1])
	f.metrics["median-requests/event"] = float64(reqs[len(reqs)/2])
	f.metrics["targeted-runs"] = float64(kinds[plan.RunTargeted])
	f.metrics["full-runs"] = float64(kinds[plan.RunFull])
}

// eventResult is what one event cost.
type eventResult struct {
	latency time.Duration
	runs    []plan.Run
	// requests are the runs' Confluence requests; emuRequests those the
	// emulator received from serve, by route in routes.
	requests, emuRequests int64
	routes                map[string]int
}

// event creates a user added to a group and waits until it is in
// Confluence and the reconciles it caused are over.
func (f *scaleServe) event(b *testing.B) eventResult {
	f.sent++
	name := fmt.Sprintf("event%05d", f.sent)
	g := 1 + f.sent*37%(f.tn.groups-1)
	before := f.emu.Stats()
	acked, err := f.addUserToGroup(name, f.groupIDs[g])
	if err != nil {
		b.Fatal(err)
	}
	e := eventResult{latency: f.waitInGroup(b, name, f.tn.groupName(g)).Sub(acked), runs: f.runsUntilCovered(b), routes: map[string]int{}}
	for _, r := range e.runs {
		e.requests += r.ConfluenceRequests
	}
	after := f.emu.Stats()
	e.emuRequests = int64(after.Total - before.Total)
	for route, n := range after.Requests {
		if d := n - before.Requests[route]; d > 0 {
			e.routes[route] = d
		}
	}
	return e
}

// addUserToGroup creates a user over SCIM and adds it to a group, as Entra
// ID provisions one; it returns when the creation was acknowledged.
func (f *scaleServe) addUserToGroup(name, groupID string) (time.Time, error) {
	id, err := f.scim(http.MethodPost, "/Users", string(scimUser(name)), http.StatusCreated)
	acked := time.Now()
	if err != nil {
		return acked, err
	}
	_, err = f.scim(http.MethodPatch, "/Groups/"+groupID, fmt.Sprintf(
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":%q}]}]}`, id),
		http.StatusNoContent)
	return acked, err
}

// scim sends a SCIM request to serve and returns the id it answers with;
// it may run outside the benchmark's goroutine. Over serve's request
// budget (server.scim_requests_per_second) it waits out Retry-After and
// sends again, as an IdP does.
func (f *scaleServe) scim(method, path, body string, want int) (string, error) {
	for {
		req, err := http.NewRequest(method, f.serve.url+"/scim/v2/entra"+path, strings.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+replicaSCIMToken)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct{ ID string }
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		case resp.StatusCode != want:
			return "", fmt.Errorf("SCIM %s %s: %d %s", method, path, resp.StatusCode, out)
		case len(out) > 0:
			err = json.Unmarshal(out, &r)
		}
		return r.ID, err
	}
}

// waitInGroup waits until the emulator has added the user to the group
// (PUT /rest/api/user/{user}/group/{group} answered 2xx: it creates the
// user first) and returns when.
func (f *scaleServe) waitInGroup(b *testing.B, user, group string) time.Time {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if at, ok := f.tap.memberAdded(user, group); ok {
			return at
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not reach group %s in Confluence within 2 minutes", user, group)
		}
		time.Sleep(time.Millisecond)
	}
}

// runsUntilCovered waits until nothing is pending in the change journal
// and serve is idle, and returns the runs recorded since the last call.
func (f *scaleServe) runsUntilCovered(b *testing.B) []plan.Run {
	var runs []plan.Run
	waitFor(b, 30*time.Minute, "the events to be covered", func() bool {
		runs = append(runs, f.newRuns(b)...)
		p, err := f.st.Pending(context.Background(), 0)
		if err != nil || len(p) > 0 {
			return false
		}
		s := f.serve.status(b)
		return s != nil && !s.Applying
	})
	return append(runs, f.newRuns(b)...)
}
