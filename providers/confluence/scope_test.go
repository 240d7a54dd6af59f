package confluence_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

// restrict is the part of a full read that a scope covers: the users it
// names, the groups it names plus those of the users, members restricted
// to the users.
func restrict(full *plan.Actual, s plan.TargetScope) *plan.Actual {
	wantUser, wantGroup := map[string]bool{}, map[string]bool{}
	for _, u := range s.Users {
		wantUser[strings.ToLower(u)] = true
	}
	for _, g := range s.Groups {
		wantGroup[strings.ToLower(g)] = true
	}
	out := &plan.Actual{Caller: full.Caller}
	for _, u := range full.Users {
		if wantUser[u.Username] {
			out.Users = append(out.Users, u)
		}
	}
	for _, g := range full.Groups {
		var m []string
		for _, u := range g.Members {
			if wantUser[u] {
				m = append(m, u)
			}
		}
		if wantGroup[g.Name] || len(m) > 0 {
			out.Groups = append(out.Groups, plan.ActualGroup{Name: g.Name, Members: m})
		}
	}
	return out
}

// normalized makes empty member lists nil, so that "no members" compares
// equal however it was built.
func normalized(a *plan.Actual) *plan.Actual {
	b := *a
	b.Groups = nil
	for _, g := range a.Groups {
		if len(g.Members) == 0 {
			g.Members = nil
		}
		b.Groups = append(b.Groups, g)
	}
	return &b
}

// seedSite seeds 40 users (every fourth disabled) and 30 groups of
// varied sizes; user "many" is in every group, more than one memberof
// page at the page limit of 7.
func seedSite(t *testing.T, srv *emulator.Server) {
	t.Helper()
	users := []emulator.User{{Username: "many", DisplayName: "Many", Email: "many@example.com", Active: true}}
	for i := range 40 {
		users = append(users, emulator.User{Username: fmt.Sprintf("user%02d", i), DisplayName: fmt.Sprint("U", i),
			Email: fmt.Sprintf("u%d@example.com", i), Active: i%4 != 0})
	}
	if err := srv.SeedUsers(users...); err != nil {
		t.Fatal(err)
	}
	var groups []emulator.Group
	for g := range 30 {
		m := []string{"many"}
		for i := range (g * 5) % 17 {
			m = append(m, users[1+(i*11+g)%40].Username)
		}
		groups = append(groups, emulator.Group{Name: fmt.Sprintf("Team-%02d", g), Members: m})
	}
	groups = append(groups, emulator.Group{Name: "empty"})
	if err := srv.SeedGroups(groups...); err != nil {
		t.Fatal(err)
	}
}

func TestReadScopeMatchesRead(t *testing.T) {
	f := newFixture(t, emulator.Options{PageLimit: 7}, nil)
	seedSite(t, f.srv)
	x := ctx(t)
	full, err := f.client.Read(x)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]plan.TargetScope{
		"one user":           {Users: []string{"user05"}},
		"disabled user":      {Users: []string{"user04"}},
		"many groups":        {Users: []string{"many"}},
		"users and groups":   {Users: []string{"user01", "user02", "user08", "many"}, Groups: []string{"team-03", "empty"}},
		"absent user":        {Users: []string{"nobody"}, Groups: []string{"team-07"}},
		"absent group":       {Users: []string{"user09"}, Groups: []string{"no-such-group"}},
		"case and repeats":   {Users: []string{"USER10", "user10", "User11"}, Groups: []string{"TEAM-01", "team-01"}},
		"groups only":        {Groups: []string{"team-00", "team-29", "confluence-users"}},
		"empty scope":        {},
		"admin and everyone": {Users: append([]string{"admin", "many", "ghost"}, usernames(full)...)},
	} {
		got, err := f.client.ReadScope(x, s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if diff := cmp.Diff(normalized(restrict(full, s)), normalized(got)); diff != "" {
			t.Errorf("%s: ReadScope differs from Read restricted to the scope (-read +scope):\n%s", name, diff)
		}
	}

	got, err := f.client.ReadScope(x, plan.TargetScope{Users: []string{"nobody", "many"}, Groups: []string{"no-such-group"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Users) != 1 || got.Users[0].Username != "many" || got.Caller != "admin" {
		t.Errorf("users %+v, caller %q; want only many, caller admin", got.Users, got.Caller)
	}
	for _, g := range got.Groups {
		if g.Name == "no-such-group" {
			t.Errorf("an absent group is present: %+v", g)
		}
	}
	if len(got.Groups) != 30 {
		t.Errorf("many's groups: %d, want 30", len(got.Groups))
	}
	seen := checkRequestsDeclared(t, f.rec.requests(), "")
	for _, ep := range []string{"GET /rest/api/user", "GET /rest/api/user/memberof", "GET /rest/api/group/{groupName}"} {
		if !seen[ep] {
			t.Errorf("ReadScope never sent %s", ep)
		}
	}
}

func usernames(a *plan.Actual) []string {
	var out []string
	for _, u := range a.Users {
		out = append(out, u.Username)
	}
	return out
}

// TestReadScopeBudget: one new user and one existing group cost at most
// three requests (identity, user 404, group 200), and two once the
// caller is known.
func TestReadScopeBudget(t *testing.T) {
	f := newFixture(t, emulator.Options{}, nil)
	seedSite(t, f.srv)
	x := ctx(t)
	scope := plan.TargetScope{Users: []string{"newbie"}, Groups: []string{"team-02"}}
	for i, want := range []int64{3, 2} {
		f.srv.ResetStats()
		before := f.client.Requests()
		got, err := f.client.ReadScope(x, scope)
		if err != nil {
			t.Fatal(err)
		}
		n := f.client.Requests() - before
		st := f.srv.Stats()
		if n > 3 || n != want || int64(st.Total) != n {
			t.Errorf("read %d: %d requests counted by the client, %d by the emulator (%v); want %d", i, n, st.Total, st.Requests, want)
		}
		if st.Requests["GET /rest/api/user/memberof"] != 0 {
			t.Errorf("read %d: memberof asked for an absent user", i)
		}
		wantActual := &plan.Actual{Caller: "admin", Groups: []plan.ActualGroup{{Name: "team-02"}}}
		if diff := cmp.Diff(wantActual, normalized(got)); diff != "" {
			t.Errorf("read %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestRequestsCounted: every request is counted, writes and retries
// included.
func TestRequestsCounted(t *testing.T) {
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	var failNext atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if failNext.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := confluence.New(quickOptions(ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	x := ctx(t)
	if c.Requests() != 0 {
		t.Fatalf("a new client counts %d requests", c.Requests())
	}
	failNext.Store(2)
	if err := c.CreateGroup(x, "counted"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddMember(x, "admin", "counted"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(x); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Requests(), served.Load(); got != want || got < 2+1+1+4 {
		t.Errorf("client counts %d requests, the server saw %d", got, want)
	}
}

// gated runs an emulator behind a handler that may answer in its place.
func gated(t *testing.T, gate func(w http.ResponseWriter, r *http.Request) bool) (*emulator.Server, *confluence.Client) {
	t.Helper()
	srv, err := emulator.New(emulator.Options{AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	seedSite(t, srv)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !gate(w, r) {
			srv.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(ts.Close)
	o := quickOptions(ts.URL)
	o.MaxAttempts = 2
	c, err := confluence.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func restErrorAnswer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"statusCode":%d,"data":{"authorized":false,"valid":true,"errors":[],"successful":false,"allowedInReadOnlyMode":true},"message":%q,"reason":%q}`,
		status, msg, http.StatusText(status))
}

// TestReadScopeErrors: a refusal or failure on any targeted read is an
// error naming what was read, never a shorter result.
func TestReadScopeErrors(t *testing.T) {
	scope := plan.TargetScope{Users: []string{"user01", "many", "nobody"}, Groups: []string{"team-04", "absent"}}
	for _, tc := range []struct {
		name   string
		path   string // answered by the gate
		answer func(http.ResponseWriter)
		want   string
		is     error
	}{
		{"memberof 500", "/rest/api/user/memberof", func(w http.ResponseWriter) {
			restErrorAnswer(w, 500, "database unavailable")
		}, `read groups of user "`, nil},
		{"group 403", "/rest/api/group/team-04", func(w http.ResponseWriter) {
			restErrorAnswer(w, 403, "The calling user does not have permission to view groups")
		}, `read group "team-04"`, confluence.ErrForbidden},
		{"user 403", "/rest/api/user", func(w http.ResponseWriter) {
			restErrorAnswer(w, 403, "The calling user does not have permission to view users")
		}, `read user "`, confluence.ErrForbidden},
		{"404 page, not Confluence's", "/rest/api/group/absent", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(404)
			io.WriteString(w, "<html><body>Not Found</body></html>")
		}, `read group "absent"`, confluence.ErrNotFound},
		{"identity 401", "/rest/api/user/current", func(w http.ResponseWriter) {
			restErrorAnswer(w, 401, "Authentication failed")
		}, "401", confluence.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := gated(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != tc.path {
					return false
				}
				tc.answer(w)
				return true
			})
			got, err := c.ReadScope(ctx(t), scope)
			if err == nil {
				t.Fatalf("no error; read %+v", got)
			}
			if got != nil {
				t.Errorf("a result with the error: %+v", got)
			}
			if !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Errorf("err = %v; want it to name %q and match %v", err, tc.want, tc.is)
			}
		})
	}
}

func TestReadScopeRefusedCredentials(t *testing.T) {
	_, base := emulator.Start(t, emulator.Options{AdminToken: adminToken, AnonymousAccess: true})
	o := quickOptions(base)
	o.Token = "expired-or-wrong"
	c, _ := confluence.New(o)
	scope := plan.TargetScope{Users: []string{"admin"}}
	if _, err := c.ReadScope(ctx(t), scope); !errors.Is(err, confluence.ErrAnonymous) || strings.Contains(err.Error(), o.Token) {
		t.Errorf("ReadScope with a wrong token, anonymous access on: %v", err)
	}
	_, closed := emulator.Start(t, emulator.Options{AdminToken: adminToken})
	o = quickOptions(closed)
	o.Token = "wrong"
	c, _ = confluence.New(o)
	if _, err := c.ReadScope(ctx(t), scope); !errors.Is(err, confluence.ErrUnauthorized) {
		t.Errorf("ReadScope with a wrong token: %v", err)
	}
}

func TestReadScopeEmptyName(t *testing.T) {
	f := newFixture(t, emulator.Options{}, nil)
	for _, s := range []plan.TargetScope{{Users: []string{"admin", " "}}, {Groups: []string{""}}} {
		if _, err := f.client.ReadScope(ctx(t), s); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("ReadScope(%+v) = %v, want an error", s, err)
		}
	}
	if n := f.client.Requests(); n != 0 {
		t.Errorf("%d requests for an invalid scope", n)
	}
}
