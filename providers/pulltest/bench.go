// Package pulltest is what the tests and benchmarks of the pulled sources
// (providers/graph, providers/okta) share: an emulator served from a child
// process, so that its heap is not measured as the source's, request
// counting, heap sampling, and a plan-and-apply round on the in-memory
// fakes of plan/plantest. It is imported by tests only.
package pulltest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
