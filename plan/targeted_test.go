package plan_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// mutateSources changes the IdPs at random, as SCIM writes would, and
// returns the ids each IdP's writes touched.
func mutateSources(r *rand.Rand, w *world, round int) map[string]plan.Touched {
	touched := map[string]plan.Touched{}
	for _, idp := range slices.Sorted(maps.Keys(w.sources)) {
		if r.Intn(3) == 0 {
			continue // no writes to this IdP this round
		}
		s := w.sources[idp]
		snap := plan.Snapshot{Users: slices.Clone(s.Snap.Users)}
		for _, g := range s.Snap.Groups {
			snap.Groups = append(snap.Groups, plan.SourceGroup{ID: g.ID, Name: g.Name, MemberIDs: slices.Clone(g.MemberIDs)})
		}
		var t plan.Touched
		touch := func(id string) { t.Users = append(t.Users, id) }
		for range 1 + r.Intn(4) {
			switch r.Intn(6) {
			case 0: // deactivate or reactivate
				if len(snap.Users) > 0 {
					i := r.Intn(len(snap.Users))
					snap.Users[i].Active = !snap.Users[i].Active
					touch(snap.Users[i].ID)
				}
			case 1: // delete
				if len(snap.Users) > 3 {
					i := r.Intn(len(snap.Users))
					id := snap.Users[i].ID
					snap.Users = slices.Delete(snap.Users, i, i+1)
					for gi := range snap.Groups {
						snap.Groups[gi].MemberIDs = slices.DeleteFunc(snap.Groups[gi].MemberIDs, func(m string) bool { return m == id })
					}
					touch(id)
				}
			case 2: // remove a member
				gi := r.Intn(len(snap.Groups))
				if m := snap.Groups[gi].MemberIDs; len(m) > 0 {
					i := r.Intn(len(m))
					touch(m[i])
					snap.Groups[gi].MemberIDs = slices.Delete(m, i, i+1)
				}
			case 3: // add a member
				if len(snap.Users) > 0 {
					gi, u := r.Intn(len(snap.Groups)), snap.Users[r.Intn(len(snap.Users))].ID
					if !slices.Contains(snap.Groups[gi].MemberIDs, u) {
						snap.Groups[gi].MemberIDs = append(snap.Groups[gi].MemberIDs, u)
					}
					touch(u)
				}
			case 4: // a new person, perhaps with the name of one deleted
				id := fmt.Sprintf("%s-new%d-%d", idp, round, r.Intn(1000))
				name := freeName(r, snap)
				if name == "" || slices.ContainsFunc(snap.Users, func(u plan.SourceUser) bool { return u.ID == id }) {
					continue
				}
				snap.Users = append(snap.Users, su(id, name, true))
				gi := r.Intn(len(snap.Groups))
				snap.Groups[gi].MemberIDs = append(snap.Groups[gi].MemberIDs, id)
				touch(id)
			case 5: // new attribute values, a rename among them
				if len(snap.Users) > 0 {
					i := r.Intn(len(snap.Users))
					u := &snap.Users[i]
					u.Attributes = maps.Clone(u.Attributes)
					u.Attributes[config.DefaultSCIMDisplayName] = fmt.Sprintf("Name %d", r.Intn(100))
					if name := freeName(r, snap); name != "" && r.Intn(4) == 0 {
						u.Attributes[config.DefaultSCIMUsername] = name
					}
					touch(u.ID)
				}
			}
		}
		s.Set(snap)
		touched[idp] = t
	}
	return touched
}

// freeName returns a username no user of snap has ("" when it finds none),
// as the SCIM store keeps userName unique per IdP.
func freeName(r *rand.Rand, snap plan.Snapshot) string {
	for range 10 {
		n := fmt.Sprintf("u%d", r.Intn(40))
		if !slices.ContainsFunc(snap.Users, func(u plan.SourceUser) bool { return u.Attributes[config.DefaultSCIMUsername] == n }) {
			return n
		}
	}
	return ""
}

// singleIdPWorld is randomWorld with its first IdP only: targeted plans
// need usernames no two people can claim (plan/gather.go contestFree).
// Every group member has an account, as in Confluence.
func singleIdPWorld(r *rand.Rand) *world {
	w := randomWorld(r)
	a, _ := w.target.Read(context.Background())
	for _, g := range a.Groups {
		for _, m := range g.Members {
			if w.target.User(m) == nil {
				w.target.PutUser(plan.ActualUser{Username: m, DisplayName: "member " + m, Email: m + "@old.example.com", Active: r.Intn(3) != 0})
			}
		}
	}
	w.cfg.IDPs = w.cfg.IDPs[:1]
	for name := range w.sources {
		if name != w.cfg.IDPs[0].Name {
			delete(w.sources, name)
		}
	}
	return w
}

// confluenceState renders a Target's users and groups for comparison.
func confluenceState(t *testing.T, w *world) string {
	t.Helper()
	a, err := w.target.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return plantest.Describe(a)
}

// TestPropertyTargetedEqualsFull checks, on seeded random scenarios, that
// reconciling random IdP changes with targeted plans of the identities they
// touched leaves Confluence exactly as one full plan does, and that a full
// plan afterwards has nothing left to do.
func TestPropertyTargetedEqualsFull(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 40
	}
	ctx := context.Background()
	targetedRuns, fallbacks := 0, 0
	defer func() {
		t.Logf("%d targeted plans, %d fell back to full", targetedRuns, fallbacks)
		if targetedRuns < fallbacks {
			t.Errorf("most plans fell back to full: the test exercises too little of the targeted path")
		}
	}()
	for seed := range seeds {
		targeted := singleIdPWorld(rand.New(rand.NewSource(int64(seed))))
		full := singleIdPWorld(rand.New(rand.NewSource(int64(seed))))
		opts := plan.Options{AllowMassChanges: true}
		mapped := targeted.converge(t, opts).MappedGroups
		full.converge(t, opts)
		for round := range 4 {
			mr := rand.New(rand.NewSource(int64(seed*100 + round)))
			scope := mutateSources(mr, targeted, round)
			mutateSources(rand.New(rand.NewSource(int64(seed*100+round))), full, round)
			if len(scope) == 0 {
				continue
			}
			in := targeted.inputs(opts)
			in.Scope = &plan.Scope{IDPs: scope, Mapped: mapped}
			p, err := plan.Compute(ctx, in)
			if errors.Is(err, plan.ErrNotTargetable) {
				// A username let go of with several IdPs configured: the
				// engine plans in full, as serve's does.
				fallbacks++
				in.Scope = nil
				p, err = plan.Compute(ctx, in)
			} else if err == nil {
				targetedRuns++
				if p.Kind != plan.RunTargeted {
					t.Fatalf("seed %d round %d: plan kind %q, want targeted", seed, round, p.Kind)
				}
			}
			if err != nil {
				t.Fatalf("seed %d round %d: Compute: %v", seed, round, err)
			}
			targeted.apply(t, p)
			fp := full.plan(t, opts)
			full.apply(t, fp)
			if got, want := ownershipState(t, targeted), ownershipState(t, full); got != want {
				t.Fatalf("seed %d round %d: targeted plans and a full plan left the ownership state different:\n%s\ntargeted plan of %v:\n%s\nfull plan:\n%s",
					seed, round, lineDiff(got, want), scope, changeLines(p), changeLines(fp))
			}
			if got, want := confluenceState(t, targeted), confluenceState(t, full); got != want {
				t.Fatalf("seed %d round %d: targeted plans and a full plan left Confluence different:\n%s\ntargeted plan of %v:\n%s\nnotices:\n%s\nfull plan:\n%s\nnotices:\n%s",
					seed, round, lineDiff(got, want), scope, changeLines(p), noticeLines(p), changeLines(fp), noticeLines(fp))
			}
		}
		// A full plan now finds the same left to do in both (nothing, but
		// for what a full plan itself leaves to its next run, such as a
		// username another person let go of in the same round).
		if got, want := changeLines(targeted.plan(t, opts)), changeLines(full.plan(t, opts)); got != want {
			t.Fatalf("seed %d: a full plan after targeted ones plans\n%s\nand after full ones\n%s", seed, got, want)
		}

	}
}

// ownershipState renders what confsync manages, without times.
func ownershipState(t *testing.T, w *world) string {
	t.Helper()
	o, err := w.state.Ownership(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range o.Users {
		fmt.Fprintf(&b, "user %s %s/%s %q %s active=%v adopted=%v\n", u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, u.Active, u.Adopted)
	}
	for _, g := range o.Groups {
		fmt.Fprintf(&b, "group %s %s created=%v\n", g.Name, g.IDP, g.Created)
	}
	for _, m := range o.Memberships {
		fmt.Fprintf(&b, "membership %s %s %s\n", m.Username, m.Group, m.IDP)
	}
	return b.String()
}

// lineDiff lists the lines only in got (-) and only in want (+).
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestRenameAndReclaimInOnePlan: a person renamed in the IdP while another
// takes the old name. The plan gives the old account to the newcomer (as
// before) and creates the renamed person's new account in the same plan,
// instead of leaving it to the next one, which a targeted reconcile might
// never run for that person.
func TestRenameAndReclaimInOnePlan(t *testing.T) {
	w := newWorld(idpConfig("a", 0))
	w.sources["a"].Set(plan.Snapshot{Users: []plan.SourceUser{su("x", "jdoe", true)}})
	w.converge(t, plan.Options{})
	w.sources["a"].Set(plan.Snapshot{Users: []plan.SourceUser{su("x", "jdoe2", true), su("y", "jdoe", true)}})
	p := w.plan(t, plan.Options{})
	if got, want := changeLines(p), "adopt user jdoe\ncreate user jdoe2\n"; got != want {
		t.Fatalf("plan:\n%swant:\n%s", got, want)
	}
	w.apply(t, p)
	if again := w.plan(t, plan.Options{}); !again.Empty() {
		t.Fatalf("a second plan is not empty:\n%s", changeLines(again))
	}
}
