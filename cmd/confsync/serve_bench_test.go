package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/scim"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// liveServe is serve's SCIM endpoint and reconciler wired in-process as
// serve wires them, for measuring.
type liveServe struct {
	url string
	emu *emulator.Server
}

func startLiveServe(b testing.TB, debounce string, usePostgres bool) *liveServe {
	b.Helper()
	emu, emuURL := emulator.Start(b, emulator.Options{AdminToken: emulatorToken})
	dir := b.TempDir()
	dsn := ""
	if usePostgres {
		dsn = pgtest.Start(b)
	}
	writeServeConfig(b, dir, serveConfig{ConfluenceURL: emuURL, DSN: dsn, Listen: "127.0.0.1:0", Debounce: debounce})
	cfg, diags := config.Load(config.LoadOptions{Path: dir})
	if diags.HasErrors() {
		b.Fatalf("config: %v", diags)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var st store.Store
	var err error
	if usePostgres {
		st, err = sqlstore.OpenPostgres(ctx, dsn, nil)
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "confsync.db"), nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	ops, err := newServeOps(ctx, cfg, st, buildEngine, logger)
	if err != nil {
		b.Fatal(err)
	}
	var idps []scim.IDP
	for _, p := range cfg.IDPs {
		idps = append(idps, scim.IDP{Name: p.Name, TokenSHA256: p.SCIM.TokenSHA256})
	}
	mux := http.NewServeMux()
	mux.Handle(scim.PathPrefix, scim.NewServer(scim.Options{Store: ops.Store, IDPs: idps, Logger: logger,
		OnChange: ops.OnChange, Observe: ops.ObserveSCIM}))
	ops.Register(mux)
	srv := httptest.NewServer(mux)
	done := make(chan struct{})
	go func() { defer close(done); _ = ops.Run(ctx) }()
	b.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return &liveServe{url: srv.URL, emu: emu}
}

// BenchmarkSCIMToConfluence measures the time from an acknowledged SCIM
// user creation (the 201 answer) to the user existing in Confluence (the
// emulator), with serve's auto_apply, one write at a time. It reports the
// p50 and p95 of those latencies; the target is p95 under 5s.
//
//	go test -run '^$' -bench SCIMToConfluence -benchtime 20x ./cmd/confsync/
func BenchmarkSCIMToConfluence(b *testing.B) {
	for _, tc := range []struct {
		name     string
		debounce string
		postgres bool
	}{
		{"debounce=200ms/sqlite", "200ms", false},
		{"debounce=2s/sqlite", "2s", false},
		{"debounce=200ms/postgres", "200ms", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := startLiveServe(b, tc.debounce, tc.postgres)
			srv := &replicaProc{name: "in-process", url: s.url}
			// Wait for the start-up reconcile, so that it does not count.
			waitFor(b, 60*time.Second, "the start-up reconcile", func() bool {
				st := srv.status(b)
				return st != nil && len(st.LastRuns) > 0
			})
			var lat []time.Duration
			i := 0
			for b.Loop() {
				name := fmt.Sprintf("bench%05d", i)
				i++
				createSCIMUser(b, srv, name)
				acked := time.Now()
				for {
					if _, ok := s.emu.User(name); ok {
						break
					}
					if time.Since(acked) > time.Minute {
						b.Fatalf("%s did not reach Confluence within a minute", name)
					}
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, time.Since(acked))
			}
			slices.Sort(lat)
			b.ReportMetric(percentile(lat, 50).Seconds(), "p50-s")
			b.ReportMetric(percentile(lat, 95).Seconds(), "p95-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// percentile returns the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	if i < 1 {
		i = 1
	}
	return sorted[i-1]
}

// BenchmarkSCIMBurstToConfluence posts a burst of users from 4 concurrent
// clients, as an IdP's provisioning cycle does, and reports the latency of
// each user from its acknowledgement to its existence in Confluence (p50,
// p95) and the time until the whole burst is there.
//
//	go test -run '^$' -bench SCIMBurstToConfluence -benchtime 3x ./cmd/confsync/
func BenchmarkSCIMBurstToConfluence(b *testing.B) {
	const burst, clients = 200, 4
	for _, debounce := range []string{"200ms", "2s"} {
		b.Run("debounce="+debounce, func(b *testing.B) {
			s := startLiveServe(b, debounce, false)
			srv := &replicaProc{name: "in-process", url: s.url}
			waitFor(b, 60*time.Second, "the start-up reconcile", func() bool {
				st := srv.status(b)
				return st != nil && len(st.LastRuns) > 0
			})
			var lat []time.Duration
			var whole []time.Duration
			round := 0
			for b.Loop() {
				acked := make([]time.Time, burst)
				names := make([]string, burst)
				for i := range names {
					names[i] = fmt.Sprintf("burst%d-%04d", round, i)
				}
				round++
				start := time.Now()
				var wg sync.WaitGroup
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := c; i < burst; i += clients {
							if err := postSCIMUser(srv.url, names[i]); err != nil {
								b.Error(err)
								return
							}
							acked[i] = time.Now()
						}
					}()
				}
				wg.Wait()
				if b.Failed() {
					b.FailNow()
				}
				seen := make([]bool, burst)
				left := burst
				for left > 0 {
					if time.Since(start) > 5*time.Minute {
						b.Fatalf("%d users of the burst did not reach Confluence", left)
					}
					for i, name := range names {
						if seen[i] {
							continue
						}
						if _, ok := s.emu.User(name); ok {
							seen[i] = true
							left--
							lat = append(lat, time.Since(acked[i]))
						}
					}
					time.Sleep(2 * time.Millisecond)
				}
				whole = append(whole, time.Since(start))
			}
			slices.Sort(lat)
			slices.Sort(whole)
			b.ReportMetric(percentile(lat, 50).Seconds(), "p50-s")
			b.ReportMetric(percentile(lat, 95).Seconds(), "p95-s")
			b.ReportMetric(percentile(whole, 50).Seconds(), "burst-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// postSCIMUser creates a user over SCIM; unlike createSCIMUser it may run
// outside the test's goroutine.
func postSCIMUser(baseURL, name string) error {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/scim/v2/entra/Users", bytes.NewReader(scimUser(name)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+replicaSCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("create %s: %d %s", name, resp.StatusCode, body)
	}
	return nil
}
