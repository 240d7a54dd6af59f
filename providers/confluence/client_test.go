package confluence_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

const adminToken = "test-admin-pat-0123456789"

// recorder is an http.RoundTripper that records every request the client
// sends, so tests can check them against the endpoint table.
type recorder struct {
	mu     sync.Mutex
	base   http.RoundTripper
	reqs   []string // "METHOD /path"
	bodies []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Method+" "+req.URL.EscapedPath())
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.reqs...)
}

type fixture struct {
	srv    *emulator.Server
	client *confluence.Client
	rec    *recorder
	logs   *bytes.Buffer
	base   string
}

func quickOptions(base string) confluence.Options {
	return confluence.Options{
		BaseURL:              base,
		Token:                adminToken,
		Parallelism:          4,
		MaxAttempts:          12,
		MinBackoff:           time.Millisecond,
		MaxBackoff:           20 * time.Millisecond,
		LongTaskPollInterval: time.Millisecond,
		RequestTimeout:       30 * time.Second,
	}
}

func newFixture(t *testing.T, eo emulator.Options, tweak func(*confluence.Options)) *fixture {
	t.Helper()
	if eo.AdminToken == "" {
		eo.AdminToken = adminToken
	}
	srv, base := emulator.Start(t, eo)
	rec := &recorder{base: http.DefaultTransport}
	logs := &bytes.Buffer{}
	o := quickOptions(base)
	o.HTTPClient = &http.Client{Transport: rec}
	o.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if tweak != nil {
		tweak(&o)
	}
	c, err := confluence.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, client: c, rec: rec, logs: logs, base: base}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// stateOf renders the emulator's state in the plan's terms, as read with
// the emulator's admin credentials.
func stateOf(s *emulator.Server) *plan.Actual {
	a := &plan.Actual{Caller: "admin"}
	for _, u := range s.Users() {
		a.Users = append(a.Users, plan.ActualUser{Username: u.Username, Key: u.Key, DisplayName: u.DisplayName, Email: u.Email, Active: u.Active})
	}
	for _, g := range s.Groups() {
		m := g.Members
		if len(m) == 0 {
			m = nil
		}
		a.Groups = append(a.Groups, plan.ActualGroup{Name: g.Name, Members: m})
	}
	return a
}

func TestEveryOperation(t *testing.T) {
	f := newFixture(t, emulator.Options{ContextPath: "/confluence", LongTaskPolls: 3}, nil)
	c, x := f.client, ctx(t)

	me, err := c.CurrentUser(x)
	if err != nil || me.Username != "admin" {
		t.Fatalf("CurrentUser = %+v, %v", me, err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("create jsmith", c.CreateUser(x, plan.NewUser{Username: "jsmith", DisplayName: "Joe Smith", Email: "joe@example.com"}))
	must("create ann", c.CreateUser(x, plan.NewUser{Username: "ann", DisplayName: "Ann", Email: "ann@example.com"}))
	must("update", c.UpdateUser(x, "jsmith", plan.UserDetails{DisplayName: "Joseph Smith", Email: "joseph@example.com"}))
	must("disable", c.DisableUser(x, "ann"))
	must("disable again", c.DisableUser(x, "ann"))
	must("enable", c.EnableUser(x, "ann"))
	must("disable ann", c.DisableUser(x, "ann"))
	must("create group", c.CreateGroup(x, "devs"))
	must("create group", c.CreateGroup(x, "a.team"))
	must("add", c.AddMember(x, "jsmith", "devs"))
	must("add again", c.AddMember(x, "jsmith", "devs"))
	must("add ann", c.AddMember(x, "ann", "devs"))
	must("add ann", c.AddMember(x, "ann", "a.team"))
	must("remove", c.RemoveMember(x, "ann", "a.team"))
	must("remove again", c.RemoveMember(x, "ann", "a.team"))
	must("create doomed", c.CreateUser(x, plan.NewUser{Username: "doomed", DisplayName: "D", Email: "d@example.com"}))
	must("add doomed", c.AddMember(x, "doomed", "devs"))
	must("delete user", c.DeleteUser(x, "doomed"))
	must("create group", c.CreateGroup(x, "tmp"))
	must("delete group", c.DeleteGroup(x, "tmp"))

	u, err := c.GetUser(x, "jsmith")
	if err != nil || u.DisplayName != "Joseph Smith" || u.Email != "joseph@example.com" || !u.Active || u.Key == "" {
		t.Errorf("GetUser = %+v, %v", u, err)
	}
	got, err := c.Read(x)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stateOf(f.srv), got); diff != "" {
		t.Errorf("Read differs from the emulator (-emulator +read):\n%s", diff)
	}
	if ann, _ := f.srv.User("ann"); ann.Active {
		t.Errorf("ann is active")
	}
	scoped, err := c.ReadScope(x, plan.TargetScope{Users: []string{"jsmith", "doomed"}, Groups: []string{"a.team", "tmp"}})
	must("read scope", err)
	wantScoped := &plan.Actual{Caller: "admin", Users: []plan.ActualUser{*u},
		Groups: []plan.ActualGroup{{Name: "a.team"}, {Name: "devs", Members: []string{"jsmith"}}}}
	if diff := cmp.Diff(wantScoped, normalized(scoped)); diff != "" {
		t.Errorf("ReadScope (-want +got):\n%s", diff)
	}

	// The permission reads of a plan's impact.
	devsRead := emulator.Permission{SubjectType: "group", Subject: "devs", TargetType: "space", Operation: "read"}
	must("seed spaces", f.srv.SeedSpaces(emulator.Space{Key: "DEV", Name: "Dev", Permissions: []emulator.Permission{devsRead}},
		emulator.Space{Key: "OPS", Name: "Ops"}))
	must("seed global", f.srv.SeedGlobalPermissions(emulator.Permission{SubjectType: "group", Subject: "devs", TargetType: "space", Operation: "create"}))
	glob, err := c.GroupGlobalPermissions(x, []string{"DEVS", "a.team", "no-such-group"})
	must("global permissions", err)
	if diff := cmp.Diff(map[string][]string{"devs": {"space create"}, "a.team": nil}, glob); diff != "" {
		t.Errorf("global permissions (-want +got):\n%s", diff)
	}
	spaces, err := c.GroupSpacePermissions(x, []string{"devs", "a.team"})
	must("space permissions", err)
	if diff := cmp.Diff(map[string][]plan.SpaceGrant{"devs": {{Space: "DEV", Permission: "space read"}}}, spaces); diff != "" {
		t.Errorf("space permissions (-want +got):\n%s", diff)
	}

	checkRequestsInTable(t, f.rec.requests(), "/confluence")
	for _, secret := range []string{adminToken} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("the logs contain a credential")
		}
	}
	// Each user is created with an email invitation and no password.
	for _, b := range f.rec.bodies {
		if strings.Contains(b, `"userName"`) && (!strings.Contains(b, `"notifyViaEmail":true`) || strings.Contains(b, "password")) {
			t.Errorf("create body %s", b)
		}
	}
}

// checkRequestsInTable checks that each request matches an endpoint the
// client declares (the table that TestEndpointsMatchOpenAPI checks).
func checkRequestsInTable(t *testing.T, reqs []string, ctxPath string) {
	t.Helper()
	seen := checkRequestsDeclared(t, reqs, ctxPath)
	for _, tmpl := range confluence.EndpointsForTest() {
		if !seen[tmpl] {
			t.Errorf("endpoint %s never exercised", tmpl)
		}
	}
}

// checkRequestsDeclared checks that each request matches a declared
// endpoint and returns the endpoints matched.
func checkRequestsDeclared(t *testing.T, reqs []string, ctxPath string) map[string]bool {
	t.Helper()
	templates := confluence.EndpointsForTest()
	seen := map[string]bool{}
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		path = strings.TrimPrefix(path, ctxPath)
		matched := ""
		for _, tmpl := range templates {
			tm, tp, _ := strings.Cut(tmpl, " ")
			if tm == method && matchPath(tp, path) {
				matched = tmpl
				break
			}
		}
		if matched == "" {
			t.Errorf("request %s matches no declared endpoint", r)
		}
		seen[matched] = true
	}
	return seen
}

func matchPath(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

func TestReadManyPages(t *testing.T) {
	f := newFixture(t, emulator.Options{PageLimit: 7}, nil)
	var users []emulator.User
	for i := range 60 {
		users = append(users, emulator.User{Username: fmt.Sprintf("user%02d", i), DisplayName: fmt.Sprint("U", i), Email: fmt.Sprintf("u%d@example.com", i), Active: i%5 != 0})
	}
	if err := f.srv.SeedUsers(users...); err != nil {
		t.Fatal(err)
	}
	var groups []emulator.Group
	for g := range 23 {
		var m []string
		for i := range (g * 3) % 40 {
			m = append(m, users[(i*7+g)%60].Username)
		}
		groups = append(groups, emulator.Group{Name: fmt.Sprintf("group-%02d", g), Members: m})
	}
	if err := f.srv.SeedGroups(groups...); err != nil {
		t.Fatal(err)
	}
	got, err := f.client.Read(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stateOf(f.srv), got); diff != "" {
		t.Errorf("Read (-emulator +read):\n%s", diff)
	}
	// The minimum the page size allows: users 61/7, groups 25/7, and
	// ceil(n/7) (at least one) per group, plus the identity check.
	min := 1 + 9 + 4
	for _, g := range f.srv.Groups() {
		min += max(1, (len(g.Members)+6)/7)
	}
	if n := len(f.rec.requests()); n != min {
		t.Errorf("Read made %d requests, the page size allows %d", n, min)
	}
}

func TestThrottleStorm(t *testing.T) {
	f := newFixture(t, emulator.Options{RateLimit: 40, RateBurst: 2}, func(o *confluence.Options) { o.Parallelism = 16 })
	x := ctx(t)
	var users []emulator.User
	for i := range 80 {
		users = append(users, emulator.User{Username: fmt.Sprintf("s%02d", i), DisplayName: "S", Email: "s@example.com", Active: true})
	}
	if err := f.srv.SeedUsers(users...); err != nil {
		t.Fatal(err)
	}
	// Seeded, not created, so the storm starts before the client has
	// learned the server's rate from its headers.
	if err := f.srv.SeedGroups(emulator.Group{Name: "storm"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.client.AddMember(x, u.Username, "storm"); err != nil {
				t.Errorf("add %s: %v", u.Username, err)
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	var members []string
	for _, g := range f.srv.Groups() {
		if g.Name == "storm" {
			members = g.Members
		}
	}
	if len(members) != len(users) {
		t.Errorf("%d members, want %d", len(members), len(users))
	}
	st := f.srv.Stats()
	t.Logf("%d requests, %d answered 429", st.Total, st.Throttled)
}

// TestRetryAfterHonoured puts a gate in front of the emulator that answers
// 429 twice per request before letting it through.
func TestRetryAfterHonoured(t *testing.T) {
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refused.Add(1) <= 2 {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Interval-Seconds", "1")
			w.Header().Set("X-RateLimit-FillRate", "100")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		srv.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(gate)
	t.Cleanup(ts.Close)
	c, err := confluence.New(quickOptions(ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	// A POST is re-sent after a 429: Confluence did not run it.
	if err := c.CreateGroup(ctx(t), "after-429"); err != nil {
		t.Fatal(err)
	}
	if st := srv.Stats(); st.Requests["POST /rest/api/admin/group"] != 1 || refused.Load() != 3 {
		t.Errorf("refused %d, emulator stats %v", refused.Load(), st.Requests)
	}

	c2, _ := confluence.New(func() confluence.Options { o := quickOptions(ts.URL); o.MaxThrottleWaits = 1; return o }())
	refused.Store(0)
	err = c2.DisableUser(ctx(t), "admin")
	if !errors.Is(err, confluence.ErrRateLimited) {
		t.Errorf("after the throttle budget: %v", err)
	}
}

func TestFlakyServerEveryChangeOnce(t *testing.T) {
	f := newFixture(t, emulator.Options{Seed: 7}, nil)
	x := ctx(t)
	c := f.client
	var old []emulator.User
	for i := range 20 {
		old = append(old, emulator.User{Username: fmt.Sprintf("old%02d", i), DisplayName: "Old", Email: "old@example.com", Active: true})
	}
	if err := f.srv.SeedUsers(old...); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.SeedGroups(emulator.Group{Name: "legacy-0"}, emulator.Group{Name: "legacy-1"}, emulator.Group{Name: "legacy-2"},
		emulator.Group{Name: "keep", Members: []string{"old00", "old01", "old02", "old03"}}); err != nil {
		t.Fatal(err)
	}
	want := stateOf(f.srv)
	f.srv.SetFaults(0.10, 0, 0)
	f.srv.ResetStats()

	// parallel runs each change concurrently and fails the test on an error.
	parallel := func(changes map[string]func() error) {
		var wg sync.WaitGroup
		for what, fn := range changes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fn(); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}()
		}
		wg.Wait()
	}
	const newUsers, newGroups = 40, 8
	users := map[string]*plan.ActualUser{}
	for i := range want.Users {
		users[want.Users[i].Username] = &want.Users[i]
	}
	members := map[string]map[string]bool{"keep": {"old00": true, "old01": true, "old02": true, "old03": true},
		"confluence-administrators": {"admin": true}, "confluence-users": {"admin": true}}

	phase1 := map[string]func() error{}
	for i := range newUsers {
		name := fmt.Sprintf("new%02d", i)
		users[name] = &plan.ActualUser{Username: name, DisplayName: "New " + name, Email: name + "@example.com", Active: true}
		phase1["create "+name] = func() error {
			return c.CreateUser(x, plan.NewUser{Username: name, DisplayName: "New " + name, Email: name + "@example.com"})
		}
	}
	for g := range newGroups {
		name := fmt.Sprintf("team-%d", g)
		members[name] = map[string]bool{}
		phase1["create "+name] = func() error { return c.CreateGroup(x, name) }
	}
	for g := range 3 {
		name := fmt.Sprintf("legacy-%d", g)
		phase1["delete "+name] = func() error { return c.DeleteGroup(x, name) }
	}
	parallel(phase1)

	phase2 := map[string]func() error{}
	for i := range newUsers {
		u, g := fmt.Sprintf("new%02d", i), fmt.Sprintf("team-%d", i%newGroups)
		members[g][u] = true
		phase2["add "+u] = func() error { return c.AddMember(x, u, g) }
	}
	for i := range 20 {
		name := fmt.Sprintf("old%02d", i)
		switch i % 4 {
		case 0:
			users[name].Active = false
			phase2["disable "+name] = func() error { return c.DisableUser(x, name) }
		case 1:
			users[name].DisplayName, users[name].Email = "Updated", name+"@new.example.com"
			phase2["update "+name] = func() error {
				return c.UpdateUser(x, name, plan.UserDetails{DisplayName: "Updated", Email: name + "@new.example.com"})
			}
		case 2:
			delete(users, name)
			delete(members["keep"], name)
			phase2["delete "+name] = func() error { return c.DeleteUser(x, name) }
		case 3:
			delete(members["keep"], name)
			phase2["remove "+name] = func() error { return c.RemoveMember(x, name, "keep") }
		}
	}
	parallel(phase2)
	st := f.srv.Stats()
	f.srv.SetFaults(0, 0, 0)

	got := stateOf(f.srv)
	gotUsers := map[string]plan.ActualUser{}
	for _, u := range got.Users {
		u.Key = ""
		gotUsers[u.Username] = u
	}
	wantUsers := map[string]plan.ActualUser{}
	for n, u := range users {
		u.Key = ""
		wantUsers[n] = *u
	}
	if diff := cmp.Diff(wantUsers, gotUsers); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	gotMembers := map[string]map[string]bool{}
	for _, g := range got.Groups {
		gotMembers[g.Name] = map[string]bool{}
		for _, m := range g.Members {
			gotMembers[g.Name][m] = true
		}
	}
	if diff := cmp.Diff(members, gotMembers); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	attempts := st.Requests["POST /rest/api/admin/user"]
	created := st.Status["POST /rest/api/admin/user 201"] + st.Status["POST /rest/api/admin/user 201 (answer lost)"]
	dups := st.Status["POST /rest/api/admin/user 409"] + st.Status["POST /rest/api/admin/group 409"] +
		st.Status["POST /rest/api/admin/user 409 (answer lost)"] + st.Status["POST /rest/api/admin/group 409 (answer lost)"]
	t.Logf("faults %d of %d requests; user create attempts %d, users created %d, lost answers %d",
		st.Faults, st.Total, attempts, created, st.Status["POST /rest/api/admin/user 201 (answer lost)"])
	if created != newUsers || dups != 0 {
		t.Errorf("users created %d times for %d users; %d creates re-sent after they took effect", created, newUsers, dups)
	}
	if st.Faults == 0 {
		t.Errorf("no fault was injected; the test proves nothing")
	}
}

// TestAmbiguousCreateIsCheckedNotResent loses the answer to the first
// create (the emulator made the user): the client must find the user
// instead of creating it again.
func TestAmbiguousCreateIsCheckedNotResent(t *testing.T) {
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	lose := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			srv.ServeHTTP(httptest.NewRecorder(), r)
			w.WriteHeader(http.StatusGatewayTimeout)
			return
		}
		srv.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(lose)
	t.Cleanup(ts.Close)
	c, _ := confluence.New(quickOptions(ts.URL))
	if err := c.CreateUser(ctx(t), plan.NewUser{Username: "once", DisplayName: "Once", Email: "once@example.com"}); err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 {
		t.Errorf("create sent %d times", posts.Load())
	}
	posts.Store(0)
	if err := c.CreateGroup(ctx(t), "once"); err != nil {
		t.Fatal(err)
	}
	if posts.Load() != 1 {
		t.Errorf("group create sent %d times", posts.Load())
	}
}

// TestConnectionResetRetried drops the connection of the first attempt.
func TestConnectionResetRetried(t *testing.T) {
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		srv.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	c, _ := confluence.New(quickOptions(ts.URL))
	if err := c.DisableUser(ctx(t), "admin"); err != nil {
		t.Fatal(err)
	}
	if u, _ := srv.User("admin"); u.Active || n.Load() != 2 {
		t.Errorf("admin active=%v after %d attempts", u.Active, n.Load())
	}
}

func TestLicenceLimit(t *testing.T) {
	f := newFixture(t, emulator.Options{Seats: 2}, nil)
	x := ctx(t)
	if err := f.client.CreateUser(x, plan.NewUser{Username: "one", DisplayName: "One", Email: "one@example.com"}); err != nil {
		t.Fatal(err)
	}
	err := f.client.CreateUser(x, plan.NewUser{Username: "two", DisplayName: "Two", Email: "two@example.com"})
	var ce *confluence.Error
	if !errors.Is(err, confluence.ErrLicence) || !errors.As(err, &ce) || ce.Status != 402 || !strings.Contains(ce.Message, "license") {
		t.Fatalf("err = %v", err)
	}
	if ce.Method != "POST" || ce.Path != "/rest/api/admin/user" {
		t.Errorf("error location %s %s", ce.Method, ce.Path)
	}
}

func TestTypedErrors(t *testing.T) {
	f := newFixture(t, emulator.Options{}, nil)
	x := ctx(t)
	c := f.client
	err := c.DisableUser(x, "nobody")
	if !errors.Is(err, confluence.ErrNotFound) || !errors.Is(err, plan.ErrNotFound) || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("disable missing: %v", err)
	}
	if _, err := c.GetUser(x, "nobody"); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}
	err = c.CreateUser(x, plan.NewUser{Username: "admin", DisplayName: "A", Email: "a@example.com"})
	if !errors.Is(err, plan.ErrExists) || !errors.Is(err, confluence.ErrConflict) {
		t.Errorf("create existing user: %v", err)
	}
	if err := c.CreateGroup(x, "confluence-users"); !errors.Is(err, plan.ErrExists) {
		t.Errorf("create existing group: %v", err)
	}
	err = c.DeleteGroup(x, "confluence-administrators")
	var ce *confluence.Error
	if !errors.Is(err, confluence.ErrBadRequest) || !errors.As(err, &ce) || !strings.Contains(ce.Message, "administrators") {
		t.Errorf("delete last admin group: %v", err)
	}
	if err := c.UpdateUser(x, "admin", plan.UserDetails{DisplayName: "A", Email: "bad"}); !errors.Is(err, confluence.ErrBadRequest) {
		t.Errorf("bad email: %v", err)
	}
	if err := c.AddMember(x, "admin", "nope"); !errors.Is(err, plan.ErrNotFound) {
		t.Errorf("add to missing group: %v", err)
	}

	f.srv.FailDeletion("admin")
	if err := c.DeleteUser(x, "admin"); err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("failed deletion task: %v", err)
	}

	// Names Confluence rejects never reach it.
	before := len(f.rec.requests())
	for _, bad := range []string{"Upper", "with space", "anonymous", "a,b", ""} {
		if err := c.CreateUser(x, plan.NewUser{Username: bad, DisplayName: "X", Email: "x@example.com"}); err == nil {
			t.Errorf("create user %q accepted", bad)
		}
		if err := c.CreateGroup(x, bad); err == nil {
			t.Errorf("create group %q accepted", bad)
		}
	}
	if err := c.DisableUser(x, ""); err == nil {
		t.Errorf("disable of an empty name accepted")
	}
	if n := len(f.rec.requests()); n != before {
		t.Errorf("%d requests sent for invalid names", n-before)
	}
}

func TestAnonymousOnBadToken(t *testing.T) {
	srv, base := emulator.Start(t, emulator.Options{AdminToken: adminToken, AnonymousAccess: true})
	o := quickOptions(base)
	o.Token = "expired-or-wrong"
	c, _ := confluence.New(o)
	_, err := c.Read(ctx(t))
	if !errors.Is(err, confluence.ErrAnonymous) || !strings.Contains(err.Error(), "the credentials were not accepted: Confluence answered as an anonymous user") {
		t.Fatalf("Read with a wrong token: %v", err)
	}
	if strings.Contains(err.Error(), "expired-or-wrong") {
		t.Errorf("the error shows the token")
	}
	if n := srv.Stats().Total; n != 1 {
		t.Errorf("%d requests after an anonymous answer, want only the identity check", n)
	}

	_, closed := emulator.Start(t, emulator.Options{AdminToken: adminToken})
	o = quickOptions(closed)
	o.Token = "wrong"
	c, _ = confluence.New(o)
	if _, err := c.Read(ctx(t)); !errors.Is(err, confluence.ErrUnauthorized) {
		t.Errorf("Read with a wrong token, no anonymous access: %v", err)
	}
}

func TestBasicAuthAndContextPath(t *testing.T) {
	_, base := emulator.Start(t, emulator.Options{AdminPassword: "s3cret", ContextPath: "/wiki"})
	u, _ := url.Parse(base)
	o := quickOptions(u.Scheme + "://" + u.Host)
	o.Token, o.Username, o.Password, o.ContextPath = "", "admin", "s3cret", "/wiki"
	c, err := confluence.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if me, err := c.CurrentUser(ctx(t)); err != nil || me.Username != "admin" {
		t.Errorf("CurrentUser = %v, %v", me, err)
	}
	o.ContextPath = ""
	c, _ = confluence.New(o)
	_, err = c.CurrentUser(ctx(t))
	var ce *confluence.Error
	if !errors.As(err, &ce) || !ce.NotJSON || !strings.Contains(err.Error(), "may not exist") {
		t.Errorf("wrong context path: %v", err)
	}
}

func TestRandomPasswordWhenNotNotifying(t *testing.T) {
	f := newFixture(t, emulator.Options{}, func(o *confluence.Options) { o.NoEmailNotification = true })
	x := ctx(t)
	for _, n := range []string{"p1", "p2"} {
		if err := f.client.CreateUser(x, plan.NewUser{Username: n, DisplayName: n, Email: n + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	var pws []string
	for _, b := range f.rec.bodies {
		var body struct {
			Password       string `json:"password"`
			NotifyViaEmail bool   `json:"notifyViaEmail"`
		}
		if json.Unmarshal([]byte(b), &body) == nil && body.Password != "" {
			if body.NotifyViaEmail || len(body.Password) < 32 {
				t.Errorf("create body %s", b)
			}
			pws = append(pws, body.Password)
			if strings.Contains(f.logs.String(), body.Password) {
				t.Errorf("a password reached the logs")
			}
		}
	}
	if len(pws) != 2 || pws[0] == pws[1] {
		t.Errorf("passwords %d, equal=%v", len(pws), len(pws) == 2 && pws[0] == pws[1])
	}
}

func TestOptions(t *testing.T) {
	for name, o := range map[string]confluence.Options{
		"no URL":          {Token: "t"},
		"relative URL":    {BaseURL: "confluence.example.com", Token: "t"},
		"ftp":             {BaseURL: "ftp://h", Token: "t"},
		"no credentials":  {BaseURL: "https://h"},
		"both":            {BaseURL: "https://h", Token: "t", Username: "u", Password: "p"},
		"user in URL":     {BaseURL: "https://u:p@h", Token: "t"},
		"missing CA file": {BaseURL: "https://h", Token: "t", CAFile: "/nonexistent/ca.pem"},
		"paths disagree":  {BaseURL: "https://h/a", ContextPath: "/b", Token: "t"},
	} {
		if _, err := confluence.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "u:p") || (o.Password != "" && strings.Contains(err.Error(), o.Password+"@")) {
			t.Errorf("%s: error shows credentials: %v", name, err)
		}
	}
	if _, err := confluence.New(confluence.Options{BaseURL: "https://h/confluence/", Token: "t"}); err != nil {
		t.Errorf("base URL with context path: %v", err)
	}
}

func TestCAFile(t *testing.T) {
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	o := quickOptions(ts.URL)
	o.CAFile = caFile
	c, err := confluence.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CurrentUser(ctx(t)); err != nil {
		t.Errorf("with the CA file: %v", err)
	}
	// Without it the certificate is refused at once, not retried.
	c, _ = confluence.New(quickOptions(ts.URL))
	srv.ResetStats()
	if _, err := c.CurrentUser(ctx(t)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without the CA file: %v", err)
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("%d requests reached the server over an untrusted connection", n)
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := confluence.New(confluence.Options{BaseURL: ts.URL, Token: "t", CAFile: empty}); err == nil {
		t.Errorf("a CA file without certificates was accepted")
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"statusCode":500,"message":"database unavailable","reason":"Internal Server Error"}`)
	}))
	t.Cleanup(ts.Close)
	o := quickOptions(ts.URL)
	o.MaxAttempts = 3
	c, _ := confluence.New(o)
	err := c.EnableUser(ctx(t), "someone")
	var ce *confluence.Error
	if !errors.As(err, &ce) || ce.Status != 500 || ce.Message != "database unavailable" {
		t.Errorf("err = %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d attempts, want 3", n.Load())
	}
	// A create without a way to tell whether it took effect is checked,
	// and re-sent only when it did not.
	n.Store(0)
	err = c.CreateGroup(ctx(t), "g")
	if err == nil || n.Load() == 0 {
		t.Errorf("create against a failing server: %v after %d requests", err, n.Load())
	}
}

func TestContextStopsRetries(t *testing.T) {
	x, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			cancel()
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(ts.Close)
	o := quickOptions(ts.URL)
	o.MaxAttempts = 1000
	c, _ := confluence.New(o)
	if err := c.DisableUser(x, "someone"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if n.Load() > 3 {
		t.Errorf("%d attempts after the context ended", n.Load())
	}
}
