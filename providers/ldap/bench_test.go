package ldap_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/ldap"
	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

// benchSize reads a directory size from the environment, for quicker
// local runs: CONFSYNC_LDAP_BENCH_USERS=10000 go test -bench ReadDirectory.
func benchSize(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkReadDirectory reads 100,000 users and 20,000 groups (10
// members each) from slapd with confsync's Source and with ldapsearch
// -E pr=500/noprompt (users, then groups, the same attributes, output to
// /dev/null), alternating the two in every iteration so that both see the
// same machine load. It reports both times, their ratio, and confsync's
// peak heap against the heap the finished snapshot holds.
func BenchmarkReadDirectory(b *testing.B) {
	users := benchSize("CONFSYNC_LDAP_BENCH_USERS", 100_000)
	groups := benchSize("CONFSYNC_LDAP_BENCH_GROUPS", 20_000)
	pageSize := benchSize("CONFSYNC_LDAP_BENCH_PAGE", 500)
	ldapsearch, err := exec.LookPath("ldapsearch")
	if err != nil {
		b.Skip("ldapsearch is not installed")
	}

	ldif := writeLDIF(b, b.TempDir(), "bench.ldif", func(w *strings.Builder) {
		fmt.Fprintf(w, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", suffix)
		fmt.Fprintf(w, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", suffix)
		fmt.Fprintf(w, "dn: ou=system,%s\nobjectClass: organizationalUnit\nou: system\n\n", suffix)
		fmt.Fprintf(w, "dn: cn=reader,ou=system,%s\nobjectClass: inetOrgPerson\ncn: reader\nsn: reader\nuserPassword: readerpass\n\n", suffix)
		for i := range users {
			fmt.Fprintf(w, "dn: uid=user%06d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%06d\ncn: User %d\nsn: Number%d\ndisplayName: User Number %d\nmail: user%06d@example.com\ntitle: Engineer\n\n",
				i, suffix, i, i, i, i, i)
		}
		for g := range groups {
			fmt.Fprintf(w, "dn: cn=group%05d,ou=groups,%s\nobjectClass: groupOfNames\ncn: group%05d\n", g, suffix, g)
			for k := range 10 {
				fmt.Fprintf(w, "member: uid=user%06d,ou=people,%s\n", (g*5+k*7919)%users, suffix)
			}
			w.WriteString("\n")
		}
	})
	base := writeLDIF(b, b.TempDir(), "base.ldif", func(w *strings.Builder) {
		fmt.Fprintf(w, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", suffix)
	})
	start := time.Now()
	srv := ldaptest.Start(b, ldaptest.Config{LDIF: []string{base, ldif}, DatabaseConfig: readerLimits})
	b.Logf("loaded %d users and %d groups into slapd in %s", users, groups, time.Since(start).Round(time.Millisecond))

	cfg := &config.LDAPSource{
		URL: srv.URL, BindDN: "cn=reader,ou=system," + suffix, BindPassword: "readerpass",
		UserBase: "ou=people," + suffix, UserFilter: "(objectClass=inetOrgPerson)",
		GroupBase: "ou=groups," + suffix, PageSize: pageSize, Timeout: 10 * time.Minute,
	}
	src, err := ldap.NewSource(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	attrs := []string{"uid", "mail", "displayName"}
	var theirCPU time.Duration
	search := func(base, filter string, attrs ...string) {
		args := append([]string{"-x", "-LLL", "-H", srv.URL, "-D", cfg.BindDN, "-w", "readerpass", "-b", base,
			"-E", fmt.Sprintf("pr=%d/noprompt", pageSize), filter}, attrs...)
		cmd := exec.Command(ldapsearch, args...)
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		defer devnull.Close()
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = devnull, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("ldapsearch: %v\n%s", err, stderr.String())
		}
		theirCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}

	var ours, theirs, ourCPU time.Duration
	var peak, retained uint64
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		search(cfg.UserBase, cfg.UserFilter, "entryUUID", "userAccountControl", "uid", "mail", "displayName")
		search(cfg.GroupBase, "(objectClass=groupOfNames)", "entryUUID", "cn", "member")
		theirs += time.Since(t0)

		runtime.GC()
		stop := sampleHeap()
		t0 = time.Now()
		cpu0 := processCPU()
		snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: attrs})
		ourCPU += processCPU() - cpu0
		ours += time.Since(t0)
		p := stop()
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Users) != users || len(snap.Groups) != groups {
			b.Fatalf("read %d users and %d groups, want %d and %d", len(snap.Users), len(snap.Groups), users, groups)
		}
		runtime.GC()
		retained = max(retained, heapLive())
		peak = max(peak, p)
		runtime.KeepAlive(snap)
	}
	b.StopTimer()
	b.ReportMetric(ours.Seconds()/float64(b.N), "confsync-s/op")
	b.ReportMetric(theirs.Seconds()/float64(b.N), "ldapsearch-s/op")
	b.ReportMetric(float64(ours)/float64(theirs), "ratio")
	b.ReportMetric(ourCPU.Seconds()/float64(b.N), "confsync-cpu-s/op")
	b.ReportMetric(theirCPU.Seconds()/float64(b.N), "ldapsearch-cpu-s/op")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(retained)/(1<<20), "snapshot-heap-MB")
}

// processCPU returns the user and system CPU time this process used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapLive returns the bytes of live heap objects (after the last GC,
// plus what was allocated since).
func heapLive() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap samples the heap every few milliseconds until the returned
// function is called, which returns the highest value seen.
func sampleHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
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
