package graph_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
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
		m := make([]string, per)
		for k := range per {
			m[k] = ids[(g*7+k*7919)%users]
		}
		emu.AddGroup(fmt.Sprintf("group%05d", g), m...)
	}
	return emu
}

// TestEmulatorProcess is not a test: BenchmarkReadTenant runs the test
// binary with it to serve the emulated tenant from another process, so
// that the emulator's heap is not measured as confsync's.
func TestEmulatorProcess(t *testing.T) {
	if os.Getenv("CONFSYNC_BENCH_EMULATOR") == "" {
		t.Skip("the benchmarks' emulator process")
	}
	emu := seedTenant(benchSize("CONFSYNC_GRAPH_BENCH_USERS", 100_000), benchSize("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000), benchSize("CONFSYNC_GRAPH_BENCH_MEMBERS", 50))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = http.Serve(ln, emu) }()
	fmt.Println("listening " + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
}

// startEmulatorProcess runs TestEmulatorProcess and returns its URL.
func startEmulatorProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulatorProcess$")
	cmd.Env = append(os.Environ(), "CONFSYNC_BENCH_EMULATOR=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return "http://" + addr
		}
	}
	b.Fatal("the emulator process did not start")
	return ""
}

// countingTransport counts the requests sent.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkReadTenant reads 100,000 users, 20,000 groups and 1,000,000
// memberships (50 per group) from the Graph emulator, served by another
// process over real HTTP. It checks that the read took the fewest
// requests $top=999 allows (one token, ceil(users/999) user pages,
// ceil(groups/999) group pages, one members page per group), and reports
// the time, the requests, the peak live heap and the heap the result
// holds.
func BenchmarkReadTenant(b *testing.B) {
	users := benchSize("CONFSYNC_GRAPH_BENCH_USERS", 100_000)
	groups := benchSize("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000)
	per := benchSize("CONFSYNC_GRAPH_BENCH_MEMBERS", 50)
	url := startEmulatorProcess(b)
	cfg := &config.GraphSource{TenantID: tenant, ClientID: clientID, ClientSecret: secret, Authority: url, Endpoint: url, Parallelism: 4, Timeout: time.Minute}
	wantRequests := 1 + ceil(users, graph.PageSize) + ceil(groups, graph.PageSize) + groups*ceil(per, graph.PageSize)

	var total time.Duration
	var peak, retained uint64
	b.ResetTimer()
	for range b.N {
		ct := &countingTransport{}
		src, err := graph.NewSource(cfg, graph.Options{Retry: backoff.Policy{Attempts: 1}, HTTPClient: &http.Client{Transport: ct}})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
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
		if n := int(ct.n.Load()); n != wantRequests {
			b.Fatalf("%d requests, want the minimum %d", n, wantRequests)
		}
		runtime.GC()
		retained = max(retained, heapLive())
		peak = max(peak, p)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(wantRequests), "requests")
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
