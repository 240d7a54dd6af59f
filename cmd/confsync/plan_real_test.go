package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// countingTarget counts the successful writes a Target makes, by call and
// object, and can cancel an apply after a number of them.
type countingTarget struct {
	plan.Target
	mu     sync.Mutex
	calls  map[string]int
	n      int
	stopAt int
	cancel context.CancelFunc
}

func (c *countingTarget) count(call string, err error) error {
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[call]++
	c.n++
	if c.cancel != nil && c.n == c.stopAt {
		c.cancel()
	}
	return nil
}

func (c *countingTarget) CreateUser(ctx context.Context, u plan.NewUser) error {
	return c.count("create user "+u.Username, c.Target.CreateUser(ctx, u))
}
func (c *countingTarget) UpdateUser(ctx context.Context, n string, d plan.UserDetails) error {
	return c.count("update user "+n+" "+d.DisplayName, c.Target.UpdateUser(ctx, n, d))
}
func (c *countingTarget) DisableUser(ctx context.Context, n string) error {
	return c.count("disable user "+n, c.Target.DisableUser(ctx, n))
}
func (c *countingTarget) EnableUser(ctx context.Context, n string) error {
	return c.count("enable user "+n, c.Target.EnableUser(ctx, n))
}
func (c *countingTarget) CreateGroup(ctx context.Context, n string) error {
	return c.count("create group "+n, c.Target.CreateGroup(ctx, n))
}
func (c *countingTarget) AddMember(ctx context.Context, u, g string) error {
	return c.count("add "+u+" "+g, c.Target.AddMember(ctx, u, g))
}
func (c *countingTarget) RemoveMember(ctx context.Context, u, g string) error {
	return c.count("remove "+u+" "+g, c.Target.RemoveMember(ctx, u, g))
}

// TestConvergenceRealTargetAndStore runs the engine against the Confluence
// client talking to the emulator over HTTP and the SQLite store: seeded
// random IdP states converge (apply, then an empty plan), protected
// objects are never written, and an apply interrupted midway is finished
// by the next plan and apply with every change made exactly once.
func TestConvergenceRealTargetAndStore(t *testing.T) {
	seeds := 4
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(seed)))
			emu, url := emulator.Start(t, emulator.Options{AdminToken: "tok"})
			client, err := confluence.New(confluence.Options{BaseURL: url, Token: "tok", Parallelism: 4})
			if err != nil {
				t.Fatal(err)
			}
			st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "state.db"), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			target := &countingTarget{Target: client, calls: map[string]int{}}

			idp := &config.IDP{Name: "entra", SCIM: &config.SCIMSource{},
				Users: config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
				Groups: config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: r.Intn(2) == 0,
					DefaultGroupsAll: []string{"confluence-users"}}}
			cfg := &config.Config{Hash: "h", IDPs: []*config.IDP{idp},
				Confluence: &config.Confluence{URL: url, ProtectedUsers: []string{"admin", "u3"}, ProtectedGroups: []string{"confluence-administrators", "g1"}}}
			src := &plantest.Source{}
			snapshot := func() {
				var snap plan.Snapshot
				for i := range 12 {
					name := fmt.Sprintf("u%d", i)
					snap.Users = append(snap.Users, plan.SourceUser{ID: "id-" + name, Active: r.Intn(6) != 0, Attributes: map[string]string{
						"userName": name, `emails[type eq "work"].value`: name + "@example.com", "displayName": fmt.Sprintf("User %d v%d", i, r.Intn(2))}})
				}
				for g := range 4 {
					var members []string
					for _, u := range snap.Users {
						if r.Intn(3) == 0 {
							members = append(members, u.ID)
						}
					}
					snap.Groups = append(snap.Groups, plan.SourceGroup{ID: fmt.Sprint(g), Name: fmt.Sprintf("G%d", g), MemberIDs: members})
				}
				src.Set(snap)
			}
			in := plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": src}, Target: target, State: st,
				Options: plan.Options{AllowMassChanges: true}}
			ctx := context.Background()
			for round := range 3 {
				snapshot()
				p, err := plan.Compute(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range p.Changes {
					if c.User == "admin" || c.User == "u3" || c.Group == "g1" || c.Group == "confluence-administrators" {
						t.Fatalf("round %d: protected object in the plan: %s %s", round, c.Action, c.Object())
					}
				}
				// Interrupt the first apply of each round partway.
				actx, cancel := context.WithCancel(ctx)
				target.mu.Lock()
				target.n, target.stopAt, target.cancel = 0, 1+r.Intn(max(1, len(p.Changes))), cancel
				target.mu.Unlock()
				_, err = plan.Apply(actx, p, target, st, plan.ApplyOptions{Parallelism: 3})
				cancel()
				target.mu.Lock()
				target.cancel = nil
				target.mu.Unlock()
				var ae *plan.ApplyError
				if err != nil && !errors.As(err, &ae) {
					t.Fatalf("round %d: interrupted apply: %v", round, err)
				}
				p, err = plan.Compute(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := plan.Apply(ctx, p, target, st, plan.ApplyOptions{Parallelism: 3}); err != nil {
					t.Fatalf("round %d: finishing apply: %v", round, err)
				}
				p, err = plan.Compute(ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if !p.Empty() {
					for _, c := range p.Changes {
						t.Errorf("round %d: left after apply: %s %s (%s)", round, c.Action, c.Object(), c.Reason)
					}
					t.FailNow()
				}
				for call, n := range target.calls {
					if n != 1 {
						t.Errorf("round %d: %q made %d times", round, call, n)
					}
				}
				clear(target.calls)
			}
			if u, ok := emu.User("u3"); ok {
				t.Errorf("protected u3 was created: %+v", u)
			}
		})
	}
}
