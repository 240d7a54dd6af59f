// Package plantest holds in-memory implementations of the engine's
// interfaces (plan.Target, plan.StateStore, plan.Source) for tests of the
// engine and of the code that wires it. They are real implementations with
// the contracts' semantics, not mocks; they count the calls that change
// Confluence so tests can check that each change happens exactly once.
package plantest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/plan"
)

// Target is an in-memory Confluence.
type Target struct {
	mu     sync.Mutex
	users  map[string]*plan.ActualUser
	groups map[string]map[string]bool
	// HideEmail makes Read return users without email, as Confluence does
	// when email visibility is off.
	HideEmail bool
	// Caller is the account Read reports the credentials belong to.
	Caller string
	// Calls counts each write call by "method object", e.g.
	// "CreateUser jdoe", "AddMember jdoe devs".
	Calls map[string]int
	// Fail makes the named call ("AddMember jdoe devs") fail.
	Fail map[string]error
	// Before, when set, runs before every write (under no lock); a test
	// uses it to cancel an apply midway.
	Before func(call string)
}

var _ plan.Target = (*Target)(nil)

// NewTarget returns an empty Confluence.
func NewTarget() *Target {
	return &Target{users: map[string]*plan.ActualUser{}, groups: map[string]map[string]bool{}, Calls: map[string]int{}, Fail: map[string]error{}}
}

// PutUser creates or replaces a user directly (test setup).
func (t *Target) PutUser(u plan.ActualUser) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u.Username = strings.ToLower(u.Username)
	t.users[u.Username] = &u
}

// PutGroup creates a group with members directly (test setup).
func (t *Target) PutGroup(name string, members ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.groups[name]
	if g == nil {
		g = map[string]bool{}
		t.groups[name] = g
	}
	for _, m := range members {
		g[m] = true
	}
}

// User returns a user, or nil.
func (t *Target) User(name string) *plan.ActualUser {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u := t.users[name]; u != nil {
		c := *u
		return &c
	}
	return nil
}

// Members returns a group's members, sorted, and whether it exists.
func (t *Target) Members(group string) ([]string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groups[group]
	return slices.Sorted(maps.Keys(g)), ok
}

// TotalCalls sums Calls.
func (t *Target) TotalCalls() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, c := range t.Calls {
		n += c
	}
	return n
}

// Read returns a copy of the state, sorted.
func (t *Target) Read(ctx context.Context) (*plan.Actual, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := &plan.Actual{Caller: t.Caller}
	for _, n := range slices.Sorted(maps.Keys(t.users)) {
		u := *t.users[n]
		if t.HideEmail {
			u.Email = ""
		}
		a.Users = append(a.Users, u)
	}
	for _, n := range slices.Sorted(maps.Keys(t.groups)) {
		a.Groups = append(a.Groups, plan.ActualGroup{Name: n, Members: slices.Sorted(maps.Keys(t.groups[n]))})
	}
	return a, nil
}

func (t *Target) call(ctx context.Context, name string, fn func() error) error {
	if t.Before != nil {
		t.Before(name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.Fail[name]; err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	t.Calls[name]++
	return nil
}

// CreateUser implements plan.Target.
func (t *Target) CreateUser(ctx context.Context, u plan.NewUser) error {
	return t.call(ctx, "CreateUser "+u.Username, func() error {
		if t.users[u.Username] != nil {
			return fmt.Errorf("user %s: %w", u.Username, plan.ErrExists)
		}
		t.users[u.Username] = &plan.ActualUser{Username: u.Username, Key: "key-" + u.Username, DisplayName: u.DisplayName, Email: u.Email, Active: true}
		return nil
	})
}

func (t *Target) user(name string) (*plan.ActualUser, error) {
	u := t.users[name]
	if u == nil {
		return nil, fmt.Errorf("user %s: %w", name, plan.ErrNotFound)
	}
	return u, nil
}

// UpdateUser implements plan.Target.
func (t *Target) UpdateUser(ctx context.Context, name string, d plan.UserDetails) error {
	return t.call(ctx, "UpdateUser "+name, func() error {
		u, err := t.user(name)
		if err == nil {
			u.DisplayName, u.Email = d.DisplayName, d.Email
		}
		return err
	})
}

// DisableUser implements plan.Target.
func (t *Target) DisableUser(ctx context.Context, name string) error {
	return t.call(ctx, "DisableUser "+name, func() error {
		u, err := t.user(name)
		if err == nil {
			u.Active = false
		}
		return err
	})
}

// EnableUser implements plan.Target.
func (t *Target) EnableUser(ctx context.Context, name string) error {
	return t.call(ctx, "EnableUser "+name, func() error {
		u, err := t.user(name)
		if err == nil {
			u.Active = true
		}
		return err
	})
}

// DeleteUser implements plan.Target.
func (t *Target) DeleteUser(ctx context.Context, name string) error {
	return t.call(ctx, "DeleteUser "+name, func() error {
		if _, err := t.user(name); err != nil {
			return err
		}
		delete(t.users, name)
		for _, g := range t.groups {
			delete(g, name)
		}
		return nil
	})
}

// CreateGroup implements plan.Target.
func (t *Target) CreateGroup(ctx context.Context, name string) error {
	return t.call(ctx, "CreateGroup "+name, func() error {
		if t.groups[name] != nil {
			return fmt.Errorf("group %s: %w", name, plan.ErrExists)
		}
		t.groups[name] = map[string]bool{}
		return nil
	})
}

// DeleteGroup implements plan.Target.
func (t *Target) DeleteGroup(ctx context.Context, name string) error {
	return t.call(ctx, "DeleteGroup "+name, func() error {
		if t.groups[name] == nil {
			return fmt.Errorf("group %s: %w", name, plan.ErrNotFound)
		}
		delete(t.groups, name)
		return nil
	})
}

// AddMember implements plan.Target.
func (t *Target) AddMember(ctx context.Context, user, group string) error {
	return t.call(ctx, "AddMember "+user+" "+group, func() error {
		if _, err := t.user(user); err != nil {
			return err
		}
		g := t.groups[group]
		if g == nil {
			return fmt.Errorf("group %s: %w", group, plan.ErrNotFound)
		}
		g[user] = true
		return nil
	})
}

// RemoveMember implements plan.Target.
func (t *Target) RemoveMember(ctx context.Context, user, group string) error {
	return t.call(ctx, "RemoveMember "+user+" "+group, func() error {
		if g := t.groups[group]; g != nil {
			delete(g, user)
		}
		return nil
	})
}

// State is an in-memory plan.StateStore.
type State struct {
	mu          sync.Mutex
	users       map[string]plan.ManagedUser
	groups      map[string]plan.ManagedGroup
	memberships map[[2]string]plan.ManagedMembership
	reads       map[string]plan.SourceCounts
	health      map[string]plan.SourceHealth
	lock        *plan.LockInfo
	runs        []plan.Run
	// Now is the clock of the lock (time.Now when nil).
	Now func() time.Time
}

var _ plan.StateStore = (*State)(nil)

// NewState returns an empty state.
func NewState() *State {
	return &State{users: map[string]plan.ManagedUser{}, groups: map[string]plan.ManagedGroup{},
		memberships: map[[2]string]plan.ManagedMembership{}, reads: map[string]plan.SourceCounts{},
		health: map[string]plan.SourceHealth{}}
}

func (s *State) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Ownership implements plan.StateStore.
func (s *State) Ownership(ctx context.Context) (*plan.Ownership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &plan.Ownership{}
	for _, k := range slices.Sorted(maps.Keys(s.users)) {
		u := s.users[k]
		u.Custom = maps.Clone(u.Custom)
		o.Users = append(o.Users, u)
	}
	for _, k := range slices.Sorted(maps.Keys(s.groups)) {
		o.Groups = append(o.Groups, s.groups[k])
	}
	for _, m := range s.memberships {
		o.Memberships = append(o.Memberships, m)
	}
	sort.Slice(o.Memberships, func(i, j int) bool {
		a, b := o.Memberships[i], o.Memberships[j]
		return a.Group < b.Group || a.Group == b.Group && a.Username < b.Username
	})
	return o, nil
}

// RecordUser implements plan.StateStore.
func (s *State) RecordUser(ctx context.Context, u plan.ManagedUser) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Custom = maps.Clone(u.Custom)
	switch old, ok := s.users[u.Username]; {
	case u.Active:
		u.Disabled = time.Time{}
	case u.Disabled.IsZero() && ok && !old.Active:
		u.Disabled = old.Disabled
	}
	s.users[u.Username] = u
	return nil
}

// ForgetUser implements plan.StateStore.
func (s *State) ForgetUser(ctx context.Context, username string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, username)
	for k := range s.memberships {
		if k[0] == username {
			delete(s.memberships, k)
		}
	}
	return nil
}

// RecordGroup implements plan.StateStore.
func (s *State) RecordGroup(ctx context.Context, g plan.ManagedGroup) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[g.Name] = g
	return nil
}

// ForgetGroup implements plan.StateStore.
func (s *State) ForgetGroup(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.groups, name)
	for k := range s.memberships {
		if k[1] == name {
			delete(s.memberships, k)
		}
	}
	return nil
}

// RecordMembership implements plan.StateStore.
func (s *State) RecordMembership(ctx context.Context, m plan.ManagedMembership) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.memberships[[2]string{m.Username, m.Group}] = m
	return nil
}

// ForgetMembership implements plan.StateStore.
func (s *State) ForgetMembership(ctx context.Context, username, group string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.memberships, [2]string{username, group})
	return nil
}

// LastRead implements plan.StateStore.
func (s *State) LastRead(ctx context.Context, idp string) (plan.SourceCounts, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.reads[idp]
	return c, ok, nil
}

// RecordRead implements plan.StateStore.
func (s *State) RecordRead(ctx context.Context, idp string, c plan.SourceCounts) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads[idp] = c
	return nil
}

// RecordHealth implements plan.StateStore.
func (s *State) RecordHealth(ctx context.Context, idp string, r plan.HealthReport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health[idp] = s.health[idp].Apply(r)
	return nil
}

// Health implements plan.StateStore.
func (s *State) Health(ctx context.Context, idp string) (plan.SourceHealth, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.health[idp]
	return h, ok, nil
}

// RunOfPlan implements plan.StateStore.
func (s *State) RunOfPlan(ctx context.Context, planID string) (*plan.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.runs) - 1; i >= 0; i-- {
		r := s.runs[i]
		if planID != "" && r.PlanID == planID && (r.Outcome == plan.OutcomeApplied || r.Outcome == plan.OutcomePartial) {
			r.Actions = nil
			return &r, nil
		}
	}
	return nil, nil
}

// AcquireLock implements plan.StateStore.
func (s *State) AcquireLock(ctx context.Context, holder string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.lock != nil && s.lock.Holder != holder && now.Before(s.lock.Expires) {
		return &plan.LockedError{Lock: *s.lock}
	}
	s.lock = &plan.LockInfo{Holder: holder, Expires: now.Add(ttl)}
	return nil
}

// ReleaseLock implements plan.StateStore.
func (s *State) ReleaseLock(ctx context.Context, holder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock != nil && s.lock.Holder == holder {
		s.lock = nil
	}
	return nil
}

// ForceUnlock implements plan.StateStore.
func (s *State) ForceUnlock(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lock = nil
	return nil
}

// Lock implements plan.StateStore.
func (s *State) Lock(ctx context.Context) (*plan.LockInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil || !s.now().Before(s.lock.Expires) {
		return nil, nil
	}
	l := *s.lock
	return &l, nil
}

// AppendRun implements plan.StateStore.
func (s *State) AppendRun(ctx context.Context, r plan.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, r)
	return nil
}

// Runs implements plan.StateStore.
func (s *State) Runs(ctx context.Context, limit int) ([]plan.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []plan.Run
	for i := len(s.runs) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s.runs[i])
	}
	return out, nil
}

// Source is an in-memory IdP.
type Source struct {
	mu   sync.Mutex
	Snap plan.Snapshot
	// Err makes Read fail.
	Err error
}

var _ plan.Source = (*Source)(nil)

// Read implements plan.Source.
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, s.Err
	}
	snap := plan.Snapshot{Users: slices.Clone(s.Snap.Users), Groups: slices.Clone(s.Snap.Groups)}
	return &snap, nil
}

// Set replaces the snapshot.
func (s *Source) Set(snap plan.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Snap = snap
}
