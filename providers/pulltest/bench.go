// Package pulltest is what the tests and benchmarks of the pulled sources
// (providers/graph, providers/okta) share: an emulator served from a child
// process, so that its heap is not measured as the source's, request
// counting, heap sampling, and a plan-and-apply round on the in-memory
// fakes of plan/plantest. It is imported by tests only.
package pulltest

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

	"github.com/confsync/confsync/plan"
)

// emulatorEnv makes ServeEmulator serve instead of skipping.
const emulatorEnv = "CONFSYNC_BENCH_EMULATOR"

// Size is the positive whole number in the environment variable name, or
// def.
func Size(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// Pages is how many pages of size per n items take.
func Pages(n, per int) int { return (n + per - 1) / per }

// ServeEmulator is the body of a package's TestEmulatorProcess, which is
// not a test: StartEmulator runs the test binary with it. Run so, it
// serves the handler newEmulator returns on a local port until its
// standard input closes; run as a test, it skips.
func ServeEmulator(t *testing.T, newEmulator func() http.Handler) {
	if os.Getenv(emulatorEnv) == "" {
		t.Skip("the benchmarks' emulator process")
	}
	emu := newEmulator()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = http.Serve(ln, emu) }()
	fmt.Println("listening " + ln.Addr().String())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark is done
}

// StartEmulator runs the package's TestEmulatorProcess (see ServeEmulator)
// in a child process for the length of b and returns its URL.
func StartEmulator(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestEmulatorProcess$")
	cmd.Env = append(os.Environ(), emulatorEnv+"=1")
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

// CountingTransport is http.DefaultTransport counting the requests sent.
type CountingTransport struct{ n atomic.Int64 }

// RoundTrip counts the request and sends it.
func (c *CountingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Requests is how many requests were sent.
func (c *CountingTransport) Requests() int { return int(c.n.Load()) }

// HeapLive returns the bytes of live heap objects (as of the last GC).
func HeapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// SampleHeap samples the live heap until the returned function is called,
// which returns the highest value seen.
func SampleHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			h := HeapLive()
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
		return max(peak, HeapLive())
	}
}

// GroupMembers are the per members of benchmark group number g: users of
// ids spread over the directory, the same for every run.
func GroupMembers(ids []string, g, per int) []string {
	m := make([]string, per)
	for k := range per {
		m[k] = ids[(g*7+k*7919)%len(ids)]
	}
	return m
}

// ReadBench is the loop of a benchmark of a full read. Each round makes a
// source with newSource, given an HTTP client that counts the requests,
// reads it with attrs after a GC, has check judge the snapshot, and fails
// unless the read took wantRequests requests. It reports read-s/op,
// requests, peak-heap-MB (the highest live heap during the read) and
// snapshot-heap-MB (the live heap after it, the snapshot held).
func ReadBench(b *testing.B, wantRequests int, attrs []string, newSource func(*http.Client) (plan.Source, error), check func(*plan.Snapshot) error) {
	var total time.Duration
	var peak, retained uint64
	b.ResetTimer()
	for range b.N {
		ct := &CountingTransport{}
		src, err := newSource(&http.Client{Transport: ct})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		stop := SampleHeap()
		t0 := time.Now()
		snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: attrs})
		total += time.Since(t0)
		p := stop()
		if err != nil {
			b.Fatal(err)
		}
		if err := check(snap); err != nil {
			b.Fatal(err)
		}
		if n := ct.Requests(); n != wantRequests {
			b.Fatalf("%d requests, want the minimum %d", n, wantRequests)
		}
		runtime.GC()
		retained = max(retained, HeapLive())
		peak = max(peak, p)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "read-s/op")
	b.ReportMetric(float64(wantRequests), "requests")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "snapshot-heap-MB")
}
