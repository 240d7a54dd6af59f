package sqlstore

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
)

// The benchmarks measure durable writes as serve makes them: several
// concurrent requests, each write committed (fsync) before it returns. Each
// iteration runs a whole batch and reports its rate and latency
// percentiles, so -benchtime 1x gives meaningful figures.
//
//	go test -run '^$' -bench . -benchtime 1x ./providers/store/sqlstore/

const (
	benchWorkers = 8    // concurrent writers, as concurrent SCIM requests
	benchWrites  = 2000 // writes per batch
)

type benchBackend struct {
	name string
	open func(b *testing.B) *Store
}

func benchBackends() []benchBackend {
	return []benchBackend{
		{"sqlite", func(b *testing.B) *Store {
			s, err := OpenSQLite(b.Context(), filepath.Join(b.TempDir(), "bench.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) *Store {
			return openTestPostgres(b, pgtest.Start(b))
		}},
	}
}

// batchResult is the outcome of one measured batch.
type batchResult struct {
	perSec        float64
	p50, p99, max time.Duration
}

// runBatch runs n operations on workers goroutines and measures each.
func runBatch(b *testing.B, n, workers int, op func(i int) error) batchResult {
	b.Helper()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, ok := firstErr.Load().(error); ok {
		b.Fatal(err)
	}
	slices.Sort(lat)
	return batchResult{
		perSec: float64(n) / elapsed.Seconds(),
		p50:    lat[n/2],
		p99:    lat[n*99/100],
		max:    lat[n-1],
	}
}

func (r batchResult) report(b *testing.B, unit string) {
	b.ReportMetric(r.perSec, unit+"/s")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(r.max.Microseconds())/1000, "max-ms")
}

var benchSeq atomic.Int64

func createUsersBatch(b *testing.B, s *Store) batchResult {
	prefix := fmt.Sprintf("b%d-", benchSeq.Add(1))
	return runBatch(b, benchWrites, benchWorkers, func(i int) error {
		return s.CreateUser(b.Context(), &store.User{IDP: "entra", UserName: fmt.Sprintf("%suser%06d@example.com", prefix, i), Active: true,
			Attributes: []byte(`{"name":{"givenName":"Bench","familyName":"User"},"emails":[{"type":"work","value":"u@example.com","primary":true}]}`)})
	})
}

// BenchmarkCreateUser: durable user creations per second and their latency.
func BenchmarkCreateUser(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			var r batchResult
			for b.Loop() {
				r = createUsersBatch(b, s)
			}
			r.report(b, "writes")
		})
	}
}

// BenchmarkAddMember: durable single-member adds (a PATCH adding one
// member) to 100 groups, per second and their latency.
func BenchmarkAddMember(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			var groups []string
			for i := range 100 {
				g := &store.Group{IDP: "entra", DisplayName: fmt.Sprintf("group %d", i)}
				if err := s.CreateGroup(b.Context(), g, nil); err != nil {
					b.Fatal(err)
				}
				groups = append(groups, g.ID)
			}
			var r batchResult
			for b.Loop() {
				prefix := fmt.Sprintf("b%d-", benchSeq.Add(1))
				r = runBatch(b, benchWrites, benchWorkers, func(i int) error {
					return s.AddMembers(b.Context(), "entra", groups[i%len(groups)], []store.Member{{ID: fmt.Sprintf("%su%d", prefix, i), Type: "User"}})
				})
			}
			r.report(b, "writes")
		})
	}
}

// BenchmarkAddMemberToBigGroup: adding one member to a group of 100,000
// members, next to the same on an empty group: the two should cost the same.
func BenchmarkAddMemberToBigGroup(b *testing.B) {
	const big = 100_000
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			bigGroup := &store.Group{IDP: "entra", DisplayName: "everyone"}
			empty := &store.Group{IDP: "entra", DisplayName: "empty"}
			for _, g := range []*store.Group{bigGroup, empty} {
				if err := s.CreateGroup(b.Context(), g, nil); err != nil {
					b.Fatal(err)
				}
			}
			ms := make([]store.Member, big)
			for i := range ms {
				ms[i] = store.Member{ID: fmt.Sprintf("member-%06d", i), Type: "User"}
			}
			if err := s.AddMembers(b.Context(), "entra", bigGroup.ID, ms); err != nil {
				b.Fatal(err)
			}
			const adds = 500
			var rBig, rEmpty batchResult
			for b.Loop() {
				prefix := fmt.Sprintf("b%d-", benchSeq.Add(1))
				rBig = runBatch(b, adds, 1, func(i int) error {
					return s.AddMembers(b.Context(), "entra", bigGroup.ID, []store.Member{{ID: fmt.Sprintf("%snew%d", prefix, i), Type: "User"}})
				})
				rEmpty = runBatch(b, adds, 1, func(i int) error {
					return s.AddMembers(b.Context(), "entra", empty.ID, []store.Member{{ID: fmt.Sprintf("%snew%d", prefix, i), Type: "User"}})
				})
			}
			b.ReportMetric(float64(rBig.p50.Microseconds())/1000, "big-p50-ms")
			b.ReportMetric(float64(rBig.p99.Microseconds())/1000, "big-p99-ms")
			b.ReportMetric(float64(rEmpty.p50.Microseconds())/1000, "empty-p50-ms")
			b.ReportMetric(float64(rEmpty.p99.Microseconds())/1000, "empty-p99-ms")
		})
	}
}

// BenchmarkAddMembers10k: one call adding 10,000 members to a group.
func BenchmarkAddMembers10k(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			var total time.Duration
			n := 0
			for b.Loop() {
				g := &store.Group{IDP: "entra", DisplayName: fmt.Sprintf("g%d", benchSeq.Add(1))}
				if err := s.CreateGroup(b.Context(), g, nil); err != nil {
					b.Fatal(err)
				}
				ms := make([]store.Member, 10_000)
				for i := range ms {
					ms[i] = store.Member{ID: fmt.Sprintf("m%05d", i), Type: "User"}
				}
				t0 := time.Now()
				if err := s.AddMembers(b.Context(), "entra", g.ID, ms); err != nil {
					b.Fatal(err)
				}
				total += time.Since(t0)
				n++
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/call")
		})
	}
}

// BenchmarkFindUser: indexed userName lookups (a SCIM filter
// userName eq "...") per second, with 10,000 users stored.
func BenchmarkFindUser(b *testing.B) {
	const users = 10_000
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			// Load in one transaction: the setup is not what is measured.
			err := s.write(b.Context(), func(t *txn) error {
				for i := range users {
					if _, err := t.exec(`INSERT INTO scim_users
						(idp, id, external_id, user_name, user_name_lower, active, attributes, version, created, modified)
						VALUES (?, ?, '', ?, ?, 1, '{}', 1, 0, 0)`,
						"entra", fmt.Sprintf("id%06d", i), fmt.Sprintf("User%06d", i), fmt.Sprintf("user%06d", i)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var r batchResult
			for b.Loop() {
				r = runBatch(b, 20_000, benchWorkers, func(i int) error {
					got, err := s.FindUsers(b.Context(), "entra", store.Lookup{Attr: "userName", Value: fmt.Sprintf("USER%06d", (i*7919)%users)})
					if err == nil && len(got) != 1 {
						err = fmt.Errorf("found %d users", len(got))
					}
					return err
				})
			}
			r.report(b, "reads")
		})
	}
}

// BenchmarkPostgresToSQLiteWriteRatio: PostgreSQL's durable CreateUser
// throughput as a ratio of SQLite's on the same machine (target >= 0.5).
func BenchmarkPostgresToSQLiteWriteRatio(b *testing.B) {
	bes := benchBackends()
	lite, pg := bes[0].open(b), bes[1].open(b)
	var rl, rp batchResult
	for b.Loop() {
		rl = createUsersBatch(b, lite)
		rp = createUsersBatch(b, pg)
	}
	b.ReportMetric(rl.perSec, "sqlite-writes/s")
	b.ReportMetric(rp.perSec, "postgres-writes/s")
	b.ReportMetric(rp.perSec/rl.perSec, "ratio")
}
