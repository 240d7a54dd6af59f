package okta_test

import (
	"fmt"
	"net/http"
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
		emu.AddGroup(fmt.Sprintf("group%05d", g), pulltest.GroupMembers(ids, g, per)...)
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
	pulltest.ReadBench(b, want, []string{"login", "email", "displayName"}, func(hc *http.Client) (plan.Source, error) {
		return okta.NewSource(cfg, okta.Options{Retry: backoff.Policy{Attempts: 1}, HTTPClient: hc})
	}, func(snap *plan.Snapshot) error {
		if len(snap.Users) != users || len(snap.Groups) != groups {
			return fmt.Errorf("read %d users and %d groups", len(snap.Users), len(snap.Groups))
		}
		return nil
	})
}
