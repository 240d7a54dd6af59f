package okta_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/okta"
	"github.com/confsync/confsync/providers/okta/emulator"
)

const token = "00secret-okta-api-token"

// clock is a fake time that sleeping advances, shared by the emulator's
// rate-limit windows and the source's pacing.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return ctx.Err()
}

type org struct {
	emu   *emulator.Server
	srv   *httptest.Server
	clock *clock
}

func newOrg(t *testing.T, rateLimit int) *org {
	t.Helper()
	c := &clock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	emu := emulator.New(emulator.Options{Token: token, RateLimit: rateLimit, Now: c.Now})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &org{emu: emu, srv: srv, clock: c}
}

func (o *org) config() *config.OktaSource {
	return &config.OktaSource{OrgURL: o.srv.URL, Token: token, Parallelism: 3, Timeout: 10 * time.Second}
}

func (o *org) source(t *testing.T, cfg *config.OktaSource) *okta.Source {
	t.Helper()
	src, err := okta.NewSource(cfg, okta.Options{Retry: backoff.Policy{Attempts: 4, Sleep: o.clock.Sleep, Now: o.clock.Now}, Reserve: 2})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var attrs = []string{"login", "email", "displayName", "employeeNumber"}

// TestReadOrg reads users of every status, groups and members across
// pages: status maps to active or inactive, deprovisioned users are read,
// and the requests are the fewest the page sizes allow.
func TestReadOrg(t *testing.T) {
	o := newOrg(t, 1000)
	const n = 450
	var ids []string
	for i := range n {
		ids = append(ids, o.emu.AddUser("", map[string]any{"login": fmt.Sprintf("u%03d@example.com", i), "email": fmt.Sprintf("u%03d@example.com", i), "employeeNumber": fmt.Sprint(i)}))
	}
	statuses := []struct {
		status string
		active bool
	}{{"SUSPENDED", false}, {"DEPROVISIONED", false}, {"STAGED", false}, {"PROVISIONED", false}, {"PASSWORD_EXPIRED", true}, {"LOCKED_OUT", true}, {"RECOVERY", true}}
	for i, st := range statuses {
		o.emu.SetStatus(ids[i], st.status)
	}
	big := o.emu.AddGroup("Everyone", ids...)
	o.emu.AddGroup("Editors", ids[0], ids[10])
	_ = big
	snap, err := o.source(t, o.config()).Read(context.Background(), plan.ReadRequest{Attributes: attrs})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(snap.Users) != n {
		t.Fatalf("read %d users, want %d (deprovisioned included)", len(snap.Users), n)
	}
	byID := map[string]plan.SourceUser{}
	for _, u := range snap.Users {
		byID[u.ID] = u
	}
	for i, st := range statuses {
		if byID[ids[i]].Active != st.active {
			t.Errorf("a %s user has Active=%v, want %v", st.status, byID[ids[i]].Active, st.active)
		}
	}
	want := plan.SourceUser{ID: ids[20], Active: true, Attributes: map[string]string{"login": "u020@example.com", "email": "u020@example.com", "employeeNumber": "20"}}
	if diff := cmp.Diff(want, byID[ids[20]]); diff != "" {
		t.Errorf("user 20 (-want +got):\n%s", diff)
	}
	sizes := map[string]int{}
	for _, g := range snap.Groups {
		sizes[g.Name] = len(g.MemberIDs)
	}
	if diff := cmp.Diff(map[string]int{"Everyone": n, "Editors": 2}, sizes); diff != "" {
		t.Errorf("group sizes (-want +got):\n%s", diff)
	}
	// 449 listed users in 3 pages of 200, 1 deprovisioned in 1; 1 page of
	// groups; 450 members in one page of 1000, 2 in another.
	if diff := cmp.Diff(map[string]int{"users": 4, "groups": 1, "groupUsers": 2}, o.emu.Stats().Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestNamedGroupsAndFilter: groups limits the groups and users to those
// groups' members; user_filter is sent as a search expression.
func TestNamedGroupsAndFilter(t *testing.T) {
	o := newOrg(t, 1000)
	a := o.emu.AddUser("", map[string]any{"login": "a@example.com"})
	b := o.emu.AddUser("SUSPENDED", map[string]any{"login": "b@example.com"})
	c := o.emu.AddUser("", map[string]any{"login": "c@example.com"})
	o.emu.AddGroup("Confluence", a, b)
	o.emu.AddGroup("Sales", c)
	cfg := o.config()
	cfg.Groups = []string{"Confluence"}
	snap, err := o.source(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"login"}})
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, u := range snap.Users {
		logins = append(logins, u.Attributes["login"])
	}
	slices.Sort(logins)
	if len(snap.Groups) != 1 || snap.Groups[0].Name != "Confluence" || strings.Join(logins, " ") != "a@example.com b@example.com" {
		t.Errorf("groups %+v users %v", snap.Groups, logins)
	}
	cfg = o.config()
	cfg.UserFilter = `status eq "ACTIVE"`
	snap, err = o.source(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"login"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Users) != 2 {
		t.Errorf("user_filter status eq ACTIVE read %d users, want 2", len(snap.Users))
	}
	cfg.Groups = []string{"Nobody"}
	if _, err := o.source(t, cfg).Read(context.Background(), plan.ReadRequest{}); err == nil || !strings.Contains(err.Error(), `no group named "Nobody"`) {
		t.Errorf("unknown group: %v", err)
	}
}

// TestRateLimitPacing: with a small per-minute limit, the source waits for
// X-Rate-Limit-Reset when the window is nearly used up, and the read
// completes without a single 429.
func TestRateLimitPacing(t *testing.T) {
	o := newOrg(t, 5)
	var ids []string
	for i := range 30 {
		ids = append(ids, o.emu.AddUser("", map[string]any{"login": fmt.Sprintf("u%d@example.com", i)}))
	}
	for i := range 12 {
		o.emu.AddGroup(fmt.Sprintf("g%d", i), ids[i])
	}
	cfg := o.config()
	cfg.Parallelism = 1 // pacing is per answer; one at a time keeps the count exact
	snap, err := o.source(t, cfg).Read(context.Background(), plan.ReadRequest{})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(snap.Groups) != 12 {
		t.Errorf("read %d groups, want 12", len(snap.Groups))
	}
	if st := o.emu.Stats(); st.Throttled != 0 {
		t.Errorf("%d requests were throttled; pacing should have avoided them", st.Throttled)
	}
	if len(o.clock.sleeps) == 0 {
		t.Error("the source never waited for a rate-limit window")
	}
}

// TestThrottledAndFailing: a 429 waits for the window and is retried; a
// page that keeps failing is an incomplete read; a wrong token is one
// line naming the Okta error code, never the token.
func TestThrottledAndFailing(t *testing.T) {
	o := newOrg(t, 1000)
	u := o.emu.AddUser("", map[string]any{"login": "a@example.com"})
	o.emu.AddGroup("G", u)
	o.emu.Inject(emulator.Fault{Path: "/api/v1/groups", Status: http.StatusTooManyRequests, Times: 1})
	o.emu.Inject(emulator.Fault{Path: "/users?limit=1000", Status: http.StatusServiceUnavailable, Times: 2})
	if _, err := o.source(t, o.config()).Read(context.Background(), plan.ReadRequest{}); err != nil {
		t.Fatalf("Read with transient failures: %v", err)
	}
	o.emu.Inject(emulator.Fault{Path: "/users?limit=1000", Status: http.StatusBadGateway, Times: -1})
	_, err := o.source(t, o.config()).Read(context.Background(), plan.ReadRequest{})
	if !errors.Is(err, plan.ErrIncompleteRead) {
		t.Errorf("Read with a failing members page = %v, want an incomplete read", err)
	}
	o.emu.ClearFaults()
	cfg := o.config()
	cfg.Token = "wrong-" + token
	_, err = o.source(t, cfg).Read(context.Background(), plan.ReadRequest{})
	var ae *okta.AuthError
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "E0000011") || strings.Contains(err.Error(), token) {
		t.Errorf("Read with a wrong token = %v, want an AuthError with E0000011 and no token", err)
	}
}
