package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
	"github.com/confsync/confsync/plan/plantest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fakeReader is a store: plantest's state plus SCIM counts.
type fakeReader struct {
	*plantest.State
	*plantest.Journal
	users, groups map[string]int
	revs          map[string]int64
}

func (f *fakeReader) CountUsers(_ context.Context, idp string) (int, error) { return f.users[idp], nil }
func (f *fakeReader) CountGroups(_ context.Context, idp string) (int, error) {
	return f.groups[idp], nil
}
func (f *fakeReader) Revision(_ context.Context, idp string) (int64, error) { return f.revs[idp], nil }

var t0 = time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)

func fixture(t *testing.T) (*config.Config, *fakeReader) {
	t.Helper()
	ctx := context.Background()
	cfg := &config.Config{IDPs: []*config.IDP{
		{Name: "entra", SCIM: &config.SCIMSource{}},
		{Name: "corp-ad", LDAP: &config.LDAPSource{}},
	}}
	st := plantest.NewState()
	st.Now = func() time.Time { return t0 }
	f := &fakeReader{State: st, Journal: plantest.NewJournal(), users: map[string]int{"entra": 120}, groups: map[string]int{"entra": 14}, revs: map[string]int64{"entra": 977}}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.RecordRead(ctx, "entra", plan.SourceCounts{Users: 120, Groups: 14, At: t0.Add(-time.Minute)}))
	must(st.AppendRun(ctx, plan.Run{ID: "r1", Started: t0.Add(-2 * time.Hour), Finished: t0.Add(-2*time.Hour + 3*time.Second), Trigger: "cli",
		Kind: plan.RunFull, ConfluenceRequests: 41, Outcome: "applied", Message: "2 changes applied", Actions: []plan.RunAction{
			{Action: "create", Object: "user jdoe", IDP: "entra"}, {Action: "add", Object: "membership jdoe -> devs", IDP: "entra"}}}))
	must(st.AppendRun(ctx, plan.Run{ID: "r2", Started: t0.Add(-time.Hour), Finished: t0.Add(-time.Hour + time.Second), Trigger: "reconcile",
		Outcome: "refused", Message: "nothing applied: safety thresholds exceeded: the plan would disable 40 of 120 managed users"}))
	must(st.AppendRun(ctx, plan.Run{ID: "r3", Started: t0.Add(-time.Minute), Finished: t0.Add(-time.Minute + 1500*time.Millisecond), Trigger: "auto",
		Kind: plan.RunTargeted, ConfluenceRequests: 5, Outcome: "partial", Message: "1 of 2 changes failed; run plan again to see what remains", Actions: []plan.RunAction{
			{Action: "disable", Object: "user asmith", IDP: "entra"},
			{Action: "update", Object: "user bkim", IDP: "entra", Error: "confluence: 400 Bad Request: invalid email"}}}))
	must(st.RecordHealth(ctx, "entra", plan.HealthReport{At: t0.Add(-2 * time.Hour), Failure: "its source returned no users"}))
	must(st.RecordHealth(ctx, "entra", plan.HealthReport{At: t0.Add(-time.Minute), Complete: true, Counts: plan.SourceCounts{Users: 120, Groups: 14}, LeftOut: 3}))
	must(st.RecordHealth(ctx, "corp-ad", plan.HealthReport{At: t0.Add(-time.Minute), Failure: `its source failed: ldap: bind as "cn=reader" failed: invalid credentials`}))
	must(st.AcquireLock(ctx, "serve host-a/41/0a1b2c3d", 30*time.Second))
	f.TouchUser("entra", "u-1")
	f.TouchUser("entra", "u-2")
	return cfg, f
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, d)
	}
}

func TestStatus(t *testing.T) {
	cfg, r := fixture(t)
	s, err := Collect(context.Background(), cfg, r, t0)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := WriteStatus(&text, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.golden", text.Bytes())
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.json.golden", js.Bytes())
}

func TestStatusLockExpired(t *testing.T) {
	cfg, r := fixture(t)
	s, err := Collect(context.Background(), cfg, r, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lock != nil {
		t.Errorf("an expired lock is reported as held: %+v", s.Lock)
	}
}

func TestHistory(t *testing.T) {
	_, r := fixture(t)
	runs, err := r.Runs(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	h := NewHistory(runs)
	if err := WriteHistory(&text, h); err != nil {
		t.Fatal(err)
	}
	golden(t, "history.golden", text.Bytes())
	if err := WriteJSON(&js, h); err != nil {
		t.Fatal(err)
	}
	golden(t, "history.json.golden", js.Bytes())

	var empty bytes.Buffer
	if err := WriteHistory(&empty, NewHistory(nil)); err != nil || empty.String() != "No applies recorded yet.\n" {
		t.Errorf("empty history = %q, %v", empty.String(), err)
	}
}

type nopRunner struct{}

func (nopRunner) Reconcile(context.Context, plan.Trigger) (plan.Run, error) {
	return plan.Run{Outcome: "applied", Message: "no changes"}, nil
}

type zeroRevs struct{}

func (zeroRevs) Revision(context.Context, string) (int64, error) { return 0, nil }

func TestServeStatusRoundTrip(t *testing.T) {
	rec, err := live.New(live.Options{Runner: nopRunner{}, Lock: plantest.NewState(), Revisions: zeroRevs{}, IdPs: []string{"entra"}, Holder: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	_, health := fixture(t)
	srv := httptest.NewServer(StatusHandler(rec, health, []string{"entra", "corp-ad", "okta"}))
	defer srv.Close()
	got, err := Fetch(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !got.AutoApply || got.Holder != "h1" || got.URL != srv.URL {
		t.Errorf("fetched %+v", got)
	}
	if len(got.IdPs) != 3 || got.IdPs[0].Health == nil || !got.IdPs[0].Health.Healthy || got.IdPs[0].Health.LeftOut != 3 ||
		got.IdPs[1].Health == nil || got.IdPs[1].Health.Healthy || got.IdPs[1].Health.LastFailure == nil ||
		!strings.Contains(got.IdPs[1].Health.LastFailure.Cause, "invalid credentials") || got.IdPs[2].Health != nil {
		t.Errorf("fetched source health %+v", got.IdPs)
	}
	var buf bytes.Buffer
	if err := WriteStatus(&buf, &Status{Serve: got}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("pending changes: none")) {
		t.Errorf("status text lacks the pending changes:\n%s", buf.String())
	}

	off := httptest.NewServer(StatusHandler(nil, health, nil))
	defer off.Close()
	got, err = Fetch(context.Background(), off.Client(), off.URL)
	if err != nil || got.AutoApply {
		t.Errorf("auto_apply off: %+v, %v", got, err)
	}

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"format_version": "99"})
	}))
	defer bad.Close()
	if _, err := Fetch(context.Background(), bad.Client(), bad.URL); err == nil {
		t.Error("a status of another format version was accepted")
	}

	// A serve of format 1.0 (no source health) is read too.
	v10 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"format_version": "1.0", "auto_apply": true})
	}))
	defer v10.Close()
	if got, err := Fetch(context.Background(), v10.Client(), v10.URL); err != nil || !got.AutoApply {
		t.Errorf("a status of format version 1.0: %+v, %v", got, err)
	}

	// A serve from before the version read "1.0" wrote "1": same document.
	older := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"format_version": "1", "auto_apply": true})
	}))
	defer older.Close()
	if got, err := Fetch(context.Background(), older.Client(), older.URL); err != nil || !got.AutoApply {
		t.Errorf("a status of format version 1: %+v, %v", got, err)
	}
}
