package plan_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// randomWorld builds a seeded random scenario: two IdPs with overlapping
// usernames, random group options, a Confluence with pre-existing users,
// groups and memberships, and protected users and groups among them.
func randomWorld(r *rand.Rand) *world {
	opts := func(p *config.IDP) {
		p.Users.Delete = r.Intn(4) == 0
		p.Users.Deactivate = r.Intn(5) != 0
		p.Users.Reactivate = r.Intn(5) != 0
		p.Groups.KeepExisting = r.Intn(2) == 0
		p.Groups.CreateMissing = r.Intn(3) != 0
		if r.Intn(2) == 0 {
			p.Groups.Mode = config.GroupModeManual
			p.Groups.Map = []config.GroupMap{{From: "g1", To: []string{"mapped-1", "g2"}}, {From: "g3", To: []string{"admins"}}}
		}
		if r.Intn(3) == 0 {
			p.Groups.DefaultGroupsAll = []string{"confluence-users"}
		}
		if r.Intn(3) == 0 {
			p.Groups.DefaultGroupsNew = []string{"newcomers"}
		}
	}
	w := newWorld(idpConfig("a", r.Intn(3), opts), idpConfig("b", r.Intn(3), opts))
	w.cfg.Confluence.ProtectedUsers = []string{"u0", "u1"}
	w.cfg.Confluence.ProtectedGroups = []string{"admins"}
	names := func() string { return fmt.Sprintf("u%d", r.Intn(30)) }
	for _, idp := range []string{"a", "b"} {
		var snap plan.Snapshot
		seen := map[string]bool{}
		for i := range 15 + r.Intn(10) {
			n := names()
			if seen[n] {
				continue
			}
			seen[n] = true
			snap.Users = append(snap.Users, su(fmt.Sprintf("%s-%d", idp, i), n, r.Intn(5) != 0))
		}
		for g := range 5 {
			var members []string
			for _, u := range snap.Users {
				if r.Intn(3) == 0 {
					members = append(members, u.ID)
				}
			}
			snap.Groups = append(snap.Groups, sg(fmt.Sprintf("%s-g%d", idp, g), fmt.Sprintf("g%d", g), members...))
		}
		w.sources[idp].Set(snap)
	}
	for range 12 {
		n := names()
		w.target.PutUser(plan.ActualUser{Username: n, DisplayName: "pre " + n, Email: n + "@old.example.com", Active: r.Intn(4) != 0})
	}
	for _, g := range []string{"g0", "admins", "confluence-users", "other"} {
		if r.Intn(2) == 0 {
			var members []string
			for range 4 {
				members = append(members, names())
			}
			w.target.PutGroup(g, members...)
		}
	}
	return w
}

func protectedInPlan(w *world, p *plan.Plan) string {
	for _, c := range p.Changes {
		for _, u := range w.cfg.Confluence.ProtectedUsers {
			if c.User == u {
				return c.Action.String() + " " + c.Object()
			}
		}
		for _, g := range w.cfg.Confluence.ProtectedGroups {
			if c.Group == g {
				return c.Action.String() + " " + c.Object()
			}
		}
	}
	return ""
}

// TestPropertyProtectedAndConvergence checks, on seeded random scenarios,
// that protected objects never appear in a plan, that apply followed by
// plan converges to an empty plan, and that protected users and groups are
// never written to.
func TestPropertyProtectedAndConvergence(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		r := rand.New(rand.NewSource(int64(seed)))
		w := randomWorld(r)
		opts := plan.Options{AllowMassChanges: true}
		for round := range 3 {
			p := w.plan(t, opts)
			if bad := protectedInPlan(w, p); bad != "" {
				t.Fatalf("seed %d round %d: protected object in plan: %s", seed, round, bad)
			}
			w.apply(t, p)
			if again := w.plan(t, opts); !again.Empty() {
				t.Fatalf("seed %d round %d: no convergence, second plan:\n%s", seed, round, changeLines(again))
			}
			// The IdPs change between rounds.
			for _, s := range w.sources {
				snap := s.Snap
				for i := range snap.Users {
					if r.Intn(6) == 0 {
						snap.Users[i].Active = !snap.Users[i].Active
					}
				}
				if len(snap.Users) > 3 && r.Intn(2) == 0 {
					snap.Users = snap.Users[:len(snap.Users)-1]
				}
				for i := range snap.Groups {
					if len(snap.Groups[i].MemberIDs) > 0 && r.Intn(2) == 0 {
						snap.Groups[i].MemberIDs = snap.Groups[i].MemberIDs[1:]
					}
				}
				s.Set(snap)
			}
		}
		for call := range w.target.Calls {
			for _, u := range []string{" u0", " u1"} {
				if strings.HasSuffix(call, u) || strings.Contains(call, u+" ") {
					t.Fatalf("seed %d: protected user written: %s", seed, call)
				}
			}
			if strings.HasSuffix(call, " admins") {
				t.Fatalf("seed %d: protected group written: %s", seed, call)
			}
		}
	}
}

// TestCrashMidApply cancels an apply in the middle, plans and applies
// again, and checks that the result converges with every change made in
// Confluence exactly once.
func TestCrashMidApply(t *testing.T) {
	for _, stopAfter := range []int{1, 5, 17, 40} {
		t.Run(fmt.Sprint(stopAfter), func(t *testing.T) {
			w := newWorld(idpConfig("entra", 0, func(p *config.IDP) { p.Groups.DefaultGroupsAll = []string{"everyone"} }))
			var users []plan.SourceUser
			var g1, g2 []string
			for i := range 20 {
				id := fmt.Sprint(i)
				users = append(users, su(id, fmt.Sprintf("user%02d", i), true))
				if i%2 == 0 {
					g1 = append(g1, id)
				} else {
					g2 = append(g2, id)
				}
			}
			w.sources["entra"].Set(plan.Snapshot{Users: users, Groups: []plan.SourceGroup{sg("1", "even", g1...), sg("2", "odd", g2...)}})
			first := w.plan(t, plan.Options{})

			ctx, cancel := context.WithCancel(context.Background())
			var n atomic.Int32
			w.target.Before = func(string) {
				if int(n.Add(1)) == stopAfter {
					cancel()
				}
			}
			_, err := plan.Apply(ctx, first, w.target, w.state, plan.ApplyOptions{Parallelism: 4})
			var ae *plan.ApplyError
			if !errors.As(err, &ae) {
				t.Fatalf("interrupted apply: err = %v, want an *ApplyError", err)
			}
			w.target.Before = nil
			done := w.target.TotalCalls()

			second := w.plan(t, plan.Options{})
			if len(second.Changes) >= len(first.Changes) && done > 0 {
				t.Errorf("second plan has %d changes, first %d, after %d were made", len(second.Changes), len(first.Changes), done)
			}
			w.converge(t, plan.Options{})
			for call, c := range w.target.Calls {
				if c != 1 {
					t.Errorf("%s made %d times", call, c)
				}
			}
			// 20 users, 3 groups, 40 memberships.
			if got := w.target.TotalCalls(); got != 63 {
				t.Errorf("%d calls to Confluence, want 63", got)
			}
			if l, _ := w.state.Lock(context.Background()); l != nil {
				t.Errorf("lock left behind: %+v", l)
			}
		})
	}
}

var _ = plantest.NewState
