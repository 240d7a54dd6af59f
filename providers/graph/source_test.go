package graph_test

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
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/graph/emulator"
)

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "00001111-aaaa-2222-bbbb-3333cccc4444"
	secret   = "s3cret~value-that-must-never-show"
)

// tenantFixture is an emulated tenant served over real HTTP.
type tenantFixture struct {
	emu *emulator.Server
	srv *httptest.Server
}

func newTenant(t *testing.T) *tenantFixture {
	t.Helper()
	emu := emulator.New(emulator.Options{TenantID: tenant, ClientID: clientID, ClientSecret: secret})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &tenantFixture{emu: emu, srv: srv}
}

func (f *tenantFixture) config() *config.GraphSource {
	return &config.GraphSource{
		TenantID: tenant, ClientID: clientID, ClientSecret: secret,
		Authority: f.srv.URL, Endpoint: f.srv.URL, Parallelism: 4, Timeout: 10 * time.Second,
	}
}

// sleeps records the backoff waits instead of sleeping them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

func newSource(t *testing.T, cfg *config.GraphSource, sl *sleeps) *graph.Source {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	src, err := graph.NewSource(cfg, graph.Options{Retry: backoff.Policy{Attempts: 4, Sleep: sl.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

var attrs = []string{"userPrincipalName", "mail", "displayName", "onPremisesSamAccountName", "onPremisesExtensionAttributes.extensionAttribute1"}

// TestReadTenant reads users, groups and nested memberships: the object id
// is the identity, accountEnabled=false is inactive, nested groups are
// flattened through a cycle, devices are not members, and paging takes the
// fewest requests $top=999 allows.
func TestReadTenant(t *testing.T) {
	f := newTenant(t)
	const n = 2100
	ids := make([]string, n)
	for i := range n {
		ids[i] = f.emu.AddUser(map[string]any{
			"userPrincipalName":             fmt.Sprintf("user%04d@contoso.com", i),
			"mail":                          fmt.Sprintf("user%04d@contoso.com", i),
			"displayName":                   fmt.Sprintf("User %d", i),
			"onPremisesSamAccountName":      fmt.Sprintf("u%04d", i),
			"onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": fmt.Sprintf("cc%d", i%7)},
		})
	}
	f.emu.SetUser(ids[1], map[string]any{"accountEnabled": false})
	f.emu.SetUser(ids[2], map[string]any{"mail": nil})
	device := f.emu.AddUser(map[string]any{"displayName": "not a person"}) // stands for a device id below
	inner := f.emu.AddGroup("Inner", ids[3], ids[4])
	outer := f.emu.AddGroup("Outer", ids[0], inner)
	f.emu.AddMembers(inner, outer) // a cycle
	big := f.emu.AddGroup("Everyone", ids...)
	_ = device

	src := newSource(t, f.config(), nil)
	snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: attrs})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(snap.Users) != n+1 {
		t.Fatalf("read %d users, want %d", len(snap.Users), n+1)
	}
	byID := map[string]plan.SourceUser{}
	for _, u := range snap.Users {
		byID[u.ID] = u
	}
	want0 := plan.SourceUser{ID: ids[0], Active: true, Attributes: map[string]string{
		"userPrincipalName": "user0000@contoso.com", "mail": "user0000@contoso.com", "displayName": "User 0",
		"onPremisesSamAccountName": "u0000", "onPremisesExtensionAttributes.extensionAttribute1": "cc0",
	}}
	if diff := cmp.Diff(want0, byID[ids[0]]); diff != "" {
		t.Errorf("user 0 (-want +got):\n%s", diff)
	}
	if byID[ids[1]].Active {
		t.Error("a user with accountEnabled=false is active")
	}
	if _, ok := byID[ids[2]].Attributes["mail"]; ok {
		t.Error("a user without mail has a mail attribute")
	}
	groups := map[string][]string{}
	for _, g := range snap.Groups {
		m := slices.Clone(g.MemberIDs)
		slices.Sort(m)
		groups[g.Name] = m
	}
	sorted := func(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if diff := cmp.Diff(sorted(ids[0], ids[3], ids[4]), groups["Outer"]); diff != "" {
		t.Errorf("Outer members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(ids[0], ids[3], ids[4]), groups["Inner"]); diff != "" {
		t.Errorf("Inner members, through the cycle (-want +got):\n%s", diff)
	}
	if len(groups["Everyone"]) != n {
		t.Errorf("Everyone has %d members, want %d", len(groups["Everyone"]), n)
	}
	st := f.emu.Stats()
	want := map[string]int{"token": 1, "users": 3, "groups": 1, "members": 2 + 3}
	if diff := cmp.Diff(want, st.Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	_ = big
}

// TestReadNamedGroups limits the read to the transitive members of the
// configured groups, and the groups to those and the ones nested in them.
func TestReadNamedGroups(t *testing.T) {
	f := newTenant(t)
	a := f.emu.AddUser(map[string]any{"userPrincipalName": "a@contoso.com", "displayName": "A"})
	b := f.emu.AddUser(map[string]any{"userPrincipalName": "b@contoso.com", "displayName": "B", "accountEnabled": false})
	c := f.emu.AddUser(map[string]any{"userPrincipalName": "c@contoso.com", "displayName": "C"})
	nested := f.emu.AddGroup("Confluence Editors", b)
	f.emu.AddGroup("Confluence Users", a, nested)
	f.emu.AddGroup("Sales", c)
	cfg := f.config()
	cfg.Groups = []string{"Confluence Users"}
	snap, err := newSource(t, cfg, nil).Read(context.Background(), plan.ReadRequest{Attributes: []string{"userPrincipalName"}})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var users, groups []string
	for _, u := range snap.Users {
		users = append(users, u.Attributes["userPrincipalName"])
	}
	for _, g := range snap.Groups {
		groups = append(groups, fmt.Sprintf("%s=%d", g.Name, len(g.MemberIDs)))
	}
	slices.Sort(users)
	slices.Sort(groups)
	if diff := cmp.Diff([]string{"a@contoso.com", "b@contoso.com"}, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Confluence Editors=1", "Confluence Users=2"}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}

	cfg.Groups = []string{"No Such Group"}
	if _, err := newSource(t, cfg, nil).Read(context.Background(), plan.ReadRequest{}); err == nil || !strings.Contains(err.Error(), `no group named "No Such Group"`) {
		t.Errorf("Read with an unknown group: %v", err)
	}
}

// TestUserFilter sends user_filter as $filter.
func TestUserFilter(t *testing.T) {
	f := newTenant(t)
	f.emu.AddUser(map[string]any{"userPrincipalName": "on@contoso.com"})
	f.emu.AddUser(map[string]any{"userPrincipalName": "off@contoso.com", "accountEnabled": false})
	cfg := f.config()
	cfg.UserFilter = "accountEnabled eq true"
	snap, err := newSource(t, cfg, nil).Read(context.Background(), plan.ReadRequest{Attributes: []string{"userPrincipalName"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Users) != 1 || snap.Users[0].Attributes["userPrincipalName"] != "on@contoso.com" {
		t.Errorf("users = %+v, want on@contoso.com only", snap.Users)
	}
	cfg.UserFilter = "accountEnabled gt true"
	_, err = newSource(t, cfg, nil).Read(context.Background(), plan.ReadRequest{})
	if !errors.Is(err, plan.ErrIncompleteRead) || !strings.Contains(err.Error(), "400") {
		t.Errorf("Read with a filter Graph refuses = %v, want a 400 incomplete read", err)
	}
}

// TestRetries: throttling with Retry-After, 503s and dropped connections
// are retried, the waits honour Retry-After, and the read is complete.
func TestRetries(t *testing.T) {
	f := newTenant(t)
	for i := range 30 {
		f.emu.AddUser(map[string]any{"userPrincipalName": fmt.Sprintf("u%d@contoso.com", i)})
	}
	f.emu.AddGroup("G", f.emu.AddUser(map[string]any{"userPrincipalName": "m@contoso.com"}))
	f.emu.Inject(emulator.Fault{Path: "/v1.0/users", Status: http.StatusTooManyRequests, RetryAfter: "7", Times: 1})
	f.emu.Inject(emulator.Fault{Path: "/v1.0/groups", Status: http.StatusServiceUnavailable, Times: 2})
	// Connections reset; Go's transport itself retries a GET on a reused
	// connection once, so three resets force at least one retry of ours.
	f.emu.Inject(emulator.Fault{Path: "/members", Status: 0, Times: 3})
	sl := &sleeps{}
	snap, err := newSource(t, f.config(), sl).Read(context.Background(), plan.ReadRequest{Attributes: []string{"userPrincipalName"}})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(snap.Users) != 31 || len(snap.Groups) != 1 || len(snap.Groups[0].MemberIDs) != 1 {
		t.Errorf("read %d users, %d groups, want 31 and 1 with its member", len(snap.Users), len(snap.Groups))
	}
	waits := sl.all()
	if len(waits) < 4 {
		t.Fatalf("waited %d times (%v), want at least 4", len(waits), waits)
	}
	if waits[0] < 7*time.Second {
		t.Errorf("first wait %v does not honour Retry-After: 7", waits[0])
	}
	if st := f.emu.Stats(); st.Throttled != 1 || st.Faults != 5 {
		t.Errorf("emulator stats %+v", st)
	}
}

// TestIncompleteRead: a page that keeps failing makes the whole read an
// error wrapping plan.ErrIncompleteRead, whichever page it is.
func TestIncompleteRead(t *testing.T) {
	for _, path := range []string{"/v1.0/users", "/v1.0/groups", "/members"} {
		t.Run(path, func(t *testing.T) {
			f := newTenant(t)
			for range 5 {
				f.emu.AddGroup("G", f.emu.AddUser(map[string]any{"userPrincipalName": "x@contoso.com"}))
			}
			f.emu.Inject(emulator.Fault{Path: path, Status: http.StatusServiceUnavailable, Times: -1})
			snap, err := newSource(t, f.config(), nil).Read(context.Background(), plan.ReadRequest{})
			if !errors.Is(err, plan.ErrIncompleteRead) || snap != nil {
				t.Fatalf("Read = %v, %v; want an incomplete read and no snapshot", snap, err)
			}
			if !strings.Contains(err.Error(), "after 4 attempts") {
				t.Errorf("error %q does not say it was retried", err)
			}
		})
	}
}

// TestSignInErrors: a wrong secret, tenant or client is one line naming
// the AADSTS code, never the secret, and is not retried.
func TestSignInErrors(t *testing.T) {
	f := newTenant(t)
	for name, tt := range map[string]struct {
		change func(*config.GraphSource)
		code   string
	}{
		"wrong secret": {func(c *config.GraphSource) { c.ClientSecret = "wrong-" + secret }, "AADSTS7000215"},
		"wrong tenant": {func(c *config.GraphSource) { c.TenantID = "contoso.onmicrosoft.com" }, "AADSTS90002"},
		"wrong client": {func(c *config.GraphSource) { c.ClientID = "99991111-aaaa-2222-bbbb-3333cccc4444" }, "AADSTS700016"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := f.config()
			tt.change(cfg)
			f.emu.ResetStats()
			_, err := newSource(t, cfg, nil).Read(context.Background(), plan.ReadRequest{})
			var ae *graph.AuthError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Fatalf("Read = %v, want an AuthError %s", err, tt.code)
			}
			msg := err.Error()
			if strings.Contains(msg, secret) || strings.Contains(msg, "\n") || !strings.Contains(msg, tt.code) {
				t.Errorf("error %q: want one line with %s and no secret", msg, tt.code)
			}
			if n := f.emu.Stats().Requests["token"]; n != 1 {
				t.Errorf("%d token requests, want 1 (a refused sign-in is not retried)", n)
			}
		})
	}
}

// TestTokenReuse: reads share one token; a token Graph refuses is renewed
// once and the read goes on.
func TestTokenReuse(t *testing.T) {
	f := newTenant(t)
	f.emu.AddUser(map[string]any{"userPrincipalName": "a@contoso.com"})
	src := newSource(t, f.config(), nil)
	for range 3 {
		if _, err := src.Read(context.Background(), plan.ReadRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.emu.Stats(); st.Tokens != 1 {
		t.Errorf("%d tokens issued for three reads, want 1", st.Tokens)
	}
	f.emu.ExpireTokens()
	if _, err := src.Read(context.Background(), plan.ReadRequest{}); err != nil {
		t.Fatalf("Read after the token expired: %v", err)
	}
	if st := f.emu.Stats(); st.Tokens != 2 {
		t.Errorf("%d tokens issued, want 2 after an expiry", st.Tokens)
	}
}
