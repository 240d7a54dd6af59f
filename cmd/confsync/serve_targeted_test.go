package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/scim"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// The tests in this file check serve's targeted reconciles (plan/live/
// targeted.go) end to end: SCIM writes over HTTP to serve's endpoint, the
// change journal in a real SQLite store, the Confluence emulator over HTTP.
// The property test is in serve_targeted_prop_test.go.

// loadSite loads the configuration writeServeConfig wrote in dir and opens
// its SQLite store there.
func loadSite(t testing.TB, dir string) (*config.Config, *sqlstore.Store) {
	t.Helper()
	cfg, diags := config.Load(config.LoadOptions{Path: dir})
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}

// liveSite is serve's SCIM endpoint, reconciler and engine wired in-process
// as serve wires them (newServeOps), on a store and an emulator the test
// keeps, so that serve can be stopped and started again on them: every
// start runs a full reconcile.
type liveSite struct {
	t      testing.TB
	cfg    *config.Config
	st     *sqlstore.Store
	emu    *emulator.Server
	emuURL string
	scim   string // the running serve's SCIM base URL
	ops    *serveOps
	stop   func()
}

// newLiveSite starts serve with auto_apply on a fresh SQLite store in front
// of emu, and waits for its start-up reconcile.
func newLiveSite(t testing.TB, emu *emulator.Server, emuURL string, c serveConfig) *liveSite {
	t.Helper()
	dir := t.TempDir()
	c.ConfluenceURL, c.Listen = emuURL, "127.0.0.1:0"
	writeServeConfig(t, dir, c)
	cfg, st := loadSite(t, dir)
	s := &liveSite{t: t, cfg: cfg, st: st, emu: emu, emuURL: emuURL}
	t.Cleanup(func() {
		s.halt()
		st.Close()
	})
	s.start()
	return s
}

// start runs serve and waits for its start-up (full) reconcile to finish.
func (s *liveSite) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logger := slog.New(slog.DiscardHandler)
	ops, err := newServeOps(ctx, s.cfg, s.st, buildEngine, logger)
	if err != nil {
		s.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(scim.PathPrefix, scim.NewServer(scim.Options{Store: ops.Store,
		IDPs:   []scim.IDP{{Name: "entra", TokenSHA256: s.cfg.IDPs[0].SCIM.TokenSHA256}},
		Logger: logger, OnChange: ops.OnChange, Observe: ops.ObserveSCIM}))
	ops.Register(mux)
	srv := httptest.NewServer(mux)
	done := make(chan struct{})
	go func() { defer close(done); _ = ops.Run(ctx) }()
	s.ops, s.scim = ops, srv.URL+"/scim/v2/entra"
	s.stop = func() { srv.Close(); cancel(); <-done }
	waitFor(s.t, 60*time.Second, "the start-up reconcile", func() bool {
		return !ops.Reconciler.Status().Last[plan.TriggerReconcile].Finished.IsZero()
	})
}

func (s *liveSite) halt() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// restart stops serve and starts it again on the same store: the start-up
// reconcile is serve's full reconcile.
func (s *liveSite) restart() {
	s.t.Helper()
	s.halt()
	s.start()
}

// do sends a SCIM request to serve and decodes its answer.
func (s *liveSite) do(method, path string, body any, want int) map[string]any {
	s.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			s.t.Fatal(err)
		}
	}
	code, out := scimDo(s.t, method, s.scim+path, b)
	if code != want {
		s.t.Fatalf("SCIM %s %s: %d, want %d: %s", method, path, code, want, out)
	}
	var m map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			s.t.Fatalf("SCIM %s %s: %v: %s", method, path, err, out)
		}
	}
	return m
}

// patchOp is the body of a SCIM PATCH.
func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// createUser creates a SCIM user and returns its id.
func (s *liveSite) createUser(name, display, email string, active bool) string {
	s.t.Helper()
	u := s.do(http.MethodPost, "/Users", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": name, "active": active,
		"displayName": display, "emails": []map[string]any{{"type": "work", "value": email, "primary": true}},
	}, http.StatusCreated)
	return u["id"].(string)
}

// createGroup creates a SCIM group with its members and returns its id.
func (s *liveSite) createGroup(name string, memberIDs ...string) string {
	s.t.Helper()
	g := s.do(http.MethodPost, "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": memberRefs(memberIDs),
	}, http.StatusCreated)
	return g["id"].(string)
}

func memberRefs(ids []string) []map[string]string {
	out := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]string{"value": id})
	}
	return out
}

// settle waits until every SCIM write is reconciled: nothing pending in the
// change journal and the reconciler idle.
func (s *liveSite) settle(what string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := s.st.Pending(context.Background(), 0)
		if err == nil && len(p) == 0 && !s.ops.Reconciler.Status().Applying {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not reconciled within 60s (pending %v, %v); the last runs:\n%s", what, p, err, s.describeRuns(6))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runs returns the audit log, newest first.
func (s *liveSite) runs() []plan.Run {
	s.t.Helper()
	r, err := s.st.Runs(context.Background(), 1000)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// runsAfter returns the runs not in seen, oldest first, and adds them to
// seen.
func (s *liveSite) runsAfter(seen map[string]bool) []plan.Run {
	var out []plan.Run
	for _, r := range s.runs() {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	slices.Reverse(out)
	return out
}

func (s *liveSite) describeRuns(n int) string {
	var b strings.Builder
	for i, r := range s.runs() {
		if i == n {
			break
		}
		fmt.Fprintf(&b, "  %s %s %s requests=%d %q\n", r.Trigger, r.Kind, r.Outcome, r.ConfluenceRequests, r.Message)
		for _, a := range r.Actions {
			fmt.Fprintf(&b, "    %s %s %s\n", a.Action, a.Object, a.Error)
		}
	}
	return b.String()
}

// fullPlan computes what a fresh full reconcile would do now: plan.Compute
// with no scope, every IdP read whole, all of Confluence read over HTTP.
func (s *liveSite) fullPlan() *plan.Plan {
	s.t.Helper()
	p, _ := fullPlanOf(s.t, s.cfg, s.st)
	return p
}

// fullPlanOf is a full plan of the configuration over st, and the target
// it read.
func fullPlanOf(t testing.TB, cfg *config.Config, st *sqlstore.Store) (*plan.Plan, plan.Target) {
	t.Helper()
	ctx := context.Background()
	sources, target, err := buildEngine(ctx, cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Compute(ctx, plan.Inputs{Config: cfg, Sources: sources, Target: target, State: st,
		Options: plan.Options{PermissionImpactOnlyIfLimited: true}})
	if err != nil {
		t.Fatalf("full plan: %v", err)
	}
	// A plan that left the IdP out would be empty for the wrong reason.
	if p.Kind != plan.RunFull || len(p.Skipped) > 0 || !slices.Contains(p.IDPs, "entra") {
		t.Fatalf("the full plan is %s over %v, skipping %v: want a full plan of idp entra", p.Kind, p.IDPs, p.Skipped)
	}
	return p, target
}

// requireInSync fails unless a full reconcile would change nothing.
func (s *liveSite) requireInSync(what string) {
	s.t.Helper()
	if p := s.fullPlan(); !p.Empty() {
		s.t.Fatalf("%s: a full reconcile would still change Confluence:\n%s\nthe last runs:\n%s", what, describePlan(p), s.describeRuns(6))
	}
}

func describePlan(p *plan.Plan) string {
	var b strings.Builder
	for _, c := range p.Changes {
		fmt.Fprintf(&b, "  %s %s (%s)\n", c.Action, c.Object(), c.Reason)
	}
	return b.String()
}

// emuDo sends a request to the emulator's REST API as its administrator, as
// someone editing Confluence by hand would.
func (s *liveSite) emuDo(method, path string) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.emuURL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+emulatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("emulator %s %s: %d", method, path, resp.StatusCode)
	}
}

// inGroup reports whether the emulator has user in group.
func inGroup(emu *emulator.Server, user, group string) bool {
	for _, g := range emu.Groups() {
		if g.Name == group {
			return slices.Contains(g.Members, user)
		}
	}
	return false
}

// seedBulk gives the emulator users and groups nobody manages, so that a
// full read costs far more requests than a targeted one (here about 120
// against a handful) and the engine's fallback threshold, a third of the
// last full read's requests, leaves the test's small batches targeted.
func seedBulk(t testing.TB, emu *emulator.Server) {
	t.Helper()
	users := make([]emulator.User, 1000)
	for i := range users {
		users[i] = emulator.User{Username: fmt.Sprintf("bulk%04d", i), DisplayName: fmt.Sprintf("Bulk %d", i),
			Email: fmt.Sprintf("bulk%d@example.com", i), Active: true}
	}
	groups := make([]emulator.Group, 100)
	for g := range groups {
		groups[g] = emulator.Group{Name: fmt.Sprintf("bulkgroup-%03d", g)}
		for i := range 5 {
			groups[g].Members = append(groups[g].Members, users[(g*37+i*7)%len(users)].Username)
		}
	}
	if err := emu.SeedUsers(users...); err != nil {
		t.Fatal(err)
	}
	if err := emu.SeedGroups(groups...); err != nil {
		t.Fatal(err)
	}
}

// newSmallLiveSite is serve in front of a seeded emulator with three
// managed users, ann, bob and cat, all in group team (and in crew and ops),
// reconciled.
func newSmallLiveSite(t *testing.T) (*liveSite, map[string]string) {
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
	seedBulk(t, emu)
	s := newLiveSite(t, emu, emuURL, serveConfig{Debounce: "100ms", MaxDeactivations: "100%"})
	ids := map[string]string{}
	for _, n := range []string{"ann", "bob", "cat"} {
		ids[n] = s.createUser(n, strings.ToUpper(n), n+"@example.com", true)
	}
	s.createGroup("team", ids["ann"], ids["bob"], ids["cat"])
	// More groups, so that deleting one is not a shrunken read to the
	// source-health guard.
	s.createGroup("crew", ids["ann"], ids["bob"])
	s.createGroup("ops", ids["cat"])
	s.settle("the first users")
	for _, n := range []string{"ann", "bob", "cat"} {
		if !inGroup(emu, n, "team") {
			t.Fatalf("%s is not in team in Confluence", n)
		}
	}
	return s, ids
}

// TestTargetedLeavesDriftToFullReconcile edits Confluence by hand (a
// managed membership removed, a managed user disabled): a targeted run for
// another user's change does not touch either, a full plan sees both, and
// the next full reconcile (serve's start-up one) puts both back.
func TestTargetedLeavesDriftToFullReconcile(t *testing.T) {
	s, ids := newSmallLiveSite(t)
	seen := map[string]bool{}
	s.runsAfter(seen)

	s.emuDo(http.MethodDelete, "/rest/api/user/ann/group/team")
	s.emuDo(http.MethodPut, "/rest/api/admin/user/bob/disable")
	if inGroup(s.emu, "ann", "team") {
		t.Fatal("the hand edit did not remove ann from team")
	}

	// A SCIM change to cat alone: planned targeted, it reads cat only.
	s.do(http.MethodPatch, "/Users/"+ids["cat"], patchOp(map[string]any{"op": "replace", "path": "displayName", "value": "Cat Renamed"}), http.StatusOK)
	s.settle("cat's change")
	runs := s.runsAfter(seen)
	if len(runs) != 1 || runs[0].Kind != plan.RunTargeted || runs[0].Outcome != plan.OutcomeApplied {
		t.Fatalf("cat's change ran as %d runs, want one applied targeted run:\n%s", len(runs), s.describeRuns(3))
	}
	for _, a := range runs[0].Actions {
		if !strings.HasPrefix(a.Object, "user cat") {
			t.Errorf("the targeted run for cat changed %s", a.Object)
		}
	}
	if u, _ := s.emu.User("cat"); u.DisplayName != "Cat Renamed" {
		t.Errorf("cat's display name in Confluence is %q", u.DisplayName)
	}
	if inGroup(s.emu, "ann", "team") {
		t.Error("the targeted run put ann back in team: it read more than cat")
	}
	if u, _ := s.emu.User("bob"); u.Active {
		t.Error("the targeted run enabled bob: it read more than cat")
	}

	// A full plan sees the drift...
	p := s.fullPlan()
	var got []string
	for _, c := range p.Changes {
		got = append(got, c.Action.String()+" "+c.Object())
	}
	slices.Sort(got)
	if want := []string{"add membership ann -> team", "enable user bob"}; !slices.Equal(got, want) {
		t.Errorf("the full plan after the hand edits is %q, want %q", got, want)
	}
	// ... and the next full reconcile corrects it.
	s.restart()
	runs = s.runsAfter(seen)
	if len(runs) != 1 || runs[0].Trigger != plan.TriggerReconcile || runs[0].Kind != plan.RunFull || runs[0].Outcome != plan.OutcomeApplied {
		t.Fatalf("the start-up reconcile ran as %d runs, want one applied full run:\n%s", len(runs), s.describeRuns(3))
	}
	if !inGroup(s.emu, "ann", "team") {
		t.Error("the full reconcile did not put ann back in team")
	}
	if u, _ := s.emu.User("bob"); !u.Active {
		t.Error("the full reconcile did not enable bob again")
	}
	s.requireInSync("after the full reconcile")
}

// TestTargetedReadFaultLeavesChangePending fails every Confluence request
// while a new user's targeted run reads: nothing is applied, the change
// stays pending in the journal, and once Confluence answers again the
// reconciler's retry creates the user, exactly once.
func TestTargetedReadFaultLeavesChangePending(t *testing.T) {
	t.Parallel() // mostly waits out the client's and the reconciler's backoff
	s, _ := newSmallLiveSite(t)
	seen := map[string]bool{}
	s.runsAfter(seen)
	before := s.emu.Stats()

	s.emu.SetFaults(1, 0, 0)
	id := s.createUser("dan", "Dan", "dan@example.com", true)
	waitFor(t, 60*time.Second, "the run that meets the fault", func() bool {
		return len(s.runsAfter(seen)) > 0
	})
	during := s.emu.Stats()
	r := s.runs()[0]
	if r.Outcome != plan.OutcomeError || r.Trigger != plan.TriggerAuto || len(r.Actions) != 0 {
		t.Fatalf("the run during the fault: %s %s with %d actions, want an auto run that errs before applying anything", r.Trigger, r.Outcome, len(r.Actions))
	}
	t.Logf("the failed run: kind %q, %d requests, %q", r.Kind, r.ConfluenceRequests, r.Message)
	if r.Kind != plan.RunTargeted {
		t.Errorf("the run that failed in its targeted read is recorded as kind %q", r.Kind)
	}
	// What was attempted was a targeted read: GET user, never the user list
	// of a full read, and no write.
	if n := during.Requests["GET /rest/api/user"] - before.Requests["GET /rest/api/user"]; n == 0 {
		t.Errorf("no GET /rest/api/user during the fault: %v", during.Requests)
	}
	for _, route := range []string{"GET /rest/api/user/list", "POST /rest/api/admin/user"} {
		if during.Requests[route] != before.Requests[route] {
			t.Errorf("%s was sent during the fault (%d times): the run was not a targeted read", route, during.Requests[route]-before.Requests[route])
		}
	}
	pending, err := s.st.Pending(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pending["entra"].Users, id) {
		t.Fatalf("after the failed run the journal holds %+v, want dan (%s) still pending", pending, id)
	}
	if _, ok := s.emu.User("dan"); ok {
		t.Fatal("dan reached Confluence although every request failed")
	}

	s.emu.SetFaults(0, 0, 0)
	s.settle("dan after the fault cleared")
	if u, ok := s.emu.User("dan"); !ok || !u.Active {
		t.Fatalf("dan is not in Confluence after the fault cleared: %+v", u)
	}
	runs := s.runsAfter(seen)
	if len(runs) != 1 || runs[0].Outcome != plan.OutcomeApplied || len(runs[0].Actions) != 1 || runs[0].Actions[0].Object != "user dan" {
		t.Fatalf("the retry ran as %d runs, want one applied run creating dan:\n%s", len(runs), s.describeRuns(3))
	}
	t.Logf("the retry: kind %q, %d requests", runs[0].Kind, runs[0].ConfluenceRequests)
	if runs[0].Kind != plan.RunTargeted {
		t.Errorf("the retry of one new user ran as a %s reconcile (%d requests)", runs[0].Kind, runs[0].ConfluenceRequests)
	}
	if got := s.emu.Stats().Status["POST /rest/api/admin/user 201"] - before.Status["POST /rest/api/admin/user 201"]; got != 1 {
		t.Errorf("Confluence created %d users, want dan once", got)
	}
	s.requireInSync("after the retry")
}

// TestTargetedRunKeepsGroupCreatedByConfsync removes a member from a group
// confsync created, in a targeted run, then deletes the group in the IdP:
// the next reconcile deletes the Confluence group, as it does when only
// full reconciles ran.
func TestTargetedRunKeepsGroupCreatedByConfsync(t *testing.T) {
	s, ids := newSmallLiveSite(t)
	gid := ""
	for _, g := range s.do(http.MethodGet, "/Groups?filter="+url.QueryEscape(`displayName eq "team"`), nil, http.StatusOK)["Resources"].([]any) {
		gid = g.(map[string]any)["id"].(string)
	}
	seen := map[string]bool{}
	s.runsAfter(seen)
	s.do(http.MethodPatch, "/Groups/"+gid, patchOp(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", ids["cat"])}), http.StatusNoContent)
	s.settle("cat removed from team")
	if runs := s.runsAfter(seen); len(runs) != 1 || runs[0].Kind != plan.RunTargeted {
		t.Fatalf("the removal ran as %d runs, want one targeted run:\n%s", len(runs), s.describeRuns(2))
	}
	if inGroup(s.emu, "cat", "team") {
		t.Fatal("cat is still in team in Confluence")
	}
	s.do(http.MethodDelete, "/Groups/"+gid, nil, http.StatusNoContent)
	s.settle("team deleted")
	for _, g := range s.emu.Groups() {
		if g.Name == "team" {
			t.Fatalf("Confluence still has group team, which confsync created, after the IdP deleted it:\n%s", s.describeRuns(3))
		}
	}
}
