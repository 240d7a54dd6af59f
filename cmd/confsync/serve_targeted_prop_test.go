package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/scim"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// TestTargetedReconcilesMatchFull is a seeded property test of serve's
// targeted reconciles over real HTTP. Random sequences of SCIM writes
// (users created, updated, deactivated, reactivated and deleted; members
// added, removed and replaced; groups created with or without members,
// renamed and deleted; names that exist unmanaged in Confluence taken, and
// names of deleted users taken again) go, a few at a time, both to serve's
// SCIM endpoint, where serve reconciles them on its own, and to a
// reference that runs a full plan and apply after each batch. After each
// batch serve's Confluence and ownership state must equal the reference's,
// a fresh full plan against serve's store and emulator must be empty, and
// Confluence must hold what the writes say. The runs must have been
// targeted for most batches, with a handful of requests each, so that the
// test cannot pass by always falling back to full reconciles.
func TestTargetedReconcilesMatchFull(t *testing.T) {
	// CONFSYNC_TARGETED_SEEDS=N runs seeds 1 to N instead.
	seeds := uint64(3)
	if testing.Short() {
		seeds = 1
	}
	if n, err := strconv.ParseUint(os.Getenv("CONFSYNC_TARGETED_SEEDS"), 10, 64); err == nil && n > 0 {
		seeds = n
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
			seedBulk(t, emu)
			s := newLiveSite(t, emu, emuURL, serveConfig{Debounce: "100ms", MaxDeactivations: "100%"})
			m := &propModel{s: s, ref: newFullOnlySite(t), rng: rand.New(rand.NewPCG(seed, 10)),
				users: map[string]*propUser{}, groups: map[string]*propGroup{}}
			m.run(t, 14)
		})
	}
}

// fullOnlySite is the reference: its own SCIM endpoint, store and
// emulator (seeded as serve's), reconciled by a full plan and apply, as
// confsync apply does, after each batch.
type fullOnlySite struct {
	t    testing.TB
	cfg  *config.Config
	st   *sqlstore.Store
	emu  *emulator.Server
	scim string
}

func newFullOnlySite(t testing.TB) *fullOnlySite {
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
	seedBulk(t, emu)
	dir := t.TempDir()
	writeServeConfig(t, dir, serveConfig{ConfluenceURL: emuURL, Listen: "127.0.0.1:0", Debounce: "100ms", MaxDeactivations: "100%"})
	cfg, st := loadSite(t, dir)
	mux := http.NewServeMux()
	mux.Handle(scim.PathPrefix, scim.NewServer(scim.Options{Store: st, Logger: slog.New(slog.DiscardHandler),
		IDPs: []scim.IDP{{Name: "entra", TokenSHA256: cfg.IDPs[0].SCIM.TokenSHA256}}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &fullOnlySite{t: t, cfg: cfg, st: st, emu: emu, scim: srv.URL + "/scim/v2/entra"}
}

// reconcile plans in full and applies the plan.
func (f *fullOnlySite) reconcile(what string) {
	f.t.Helper()
	p, target := fullPlanOf(f.t, f.cfg, f.st)
	if p.Empty() {
		return
	}
	res, err := plan.Apply(context.Background(), p, target, f.st, plan.ApplyOptions{Holder: "the full-only reference"})
	if err != nil || res.Failed > 0 {
		f.t.Fatalf("%s: the reference's apply: %v", what, err)
	}
}

// siteState describes a Confluence and an ownership state as sorted
// lines, without what differs between two sites by nature: user keys,
// IdP ids, times.
func siteState(t testing.TB, emu *emulator.Server, st *sqlstore.Store) []string {
	t.Helper()
	var out []string
	for _, u := range emu.Users() {
		out = append(out, fmt.Sprintf("confluence user %s %q <%s> active=%v", u.Username, u.DisplayName, u.Email, u.Active))
	}
	for _, g := range emu.Groups() {
		out = append(out, fmt.Sprintf("confluence group %s %v", g.Name, g.Members))
	}
	own, err := st.Ownership(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range own.Users {
		out = append(out, fmt.Sprintf("managed user %s idp=%s %q <%s> active=%v adopted=%v", u.Username, u.IDP, u.DisplayName, u.Email, u.Active, u.Adopted))
	}
	for _, g := range own.Groups {
		out = append(out, fmt.Sprintf("managed group %s idp=%s created=%v", g.Name, g.IDP, g.Created))
	}
	for _, m := range own.Memberships {
		out = append(out, fmt.Sprintf("managed membership %s -> %s idp=%s", m.Username, m.Group, m.IDP))
	}
	slices.Sort(out)
	return out
}

// sameState fails when serve's state differs from the reference's.
func (m *propModel) sameState(t *testing.T, what string) {
	got, want := siteState(t, m.s.emu, m.s.st), siteState(t, m.ref.emu, m.ref.st)
	if slices.Equal(got, want) {
		return
	}
	var diff []string
	for _, l := range got {
		if !slices.Contains(want, l) {
			diff = append(diff, "  targeted only: "+l)
		}
	}
	for _, l := range want {
		if !slices.Contains(got, l) {
			diff = append(diff, "  full only:     "+l)
		}
	}
	msg := fmt.Sprintf("%s: serve's state differs from the full-only reference's:\n%s\nserve's last runs:\n%s", what, strings.Join(diff, "\n"), m.s.describeRuns(4))
	t.Fatal(msg)
}

type propUser struct {
	ids                  [2]string // at serve and at the reference
	name, display, email string
	active               bool
	// seenActive: a check found the user active in Confluence, so that
	// Confluence must now disable it when the IdP does.
	seenActive bool
}

type propGroup struct {
	ids     [2]string
	name    string
	members map[*propUser]bool
}

// propModel is what the SCIM writes so far say, and the writes' source
// of randomness.
type propModel struct {
	s      *liveSite
	ref    *fullOnlySite
	rng    *rand.Rand
	users  map[string]*propUser  // live SCIM users by name
	groups map[string]*propGroup // live SCIM groups by name
	gone   []*propUser           // deleted users
	next   int
	// full is set by a write of the current batch that needs a full plan.
	full bool
	// stopped says why serve's state is no longer compared with the
	// reference's ("" while it is).
	stopped string
}

// propStats counts how the batches were reconciled.
type propStats struct {
	batches, fullBatches, targetedRuns, fullRuns int
	targetedRequests                             []int64
}

func (m *propModel) run(t *testing.T, batches int) {
	seen := map[string]bool{}
	m.s.runsAfter(seen) // the start-up reconcile
	m.populate()
	m.reconciled(t, "the first population", seen, &propStats{})
	var st propStats
	for b := 1; b <= batches; b++ {
		m.full = false
		var did []string
		for range 1 + m.rng.IntN(3) {
			did = append(did, m.step())
		}
		m.reconciled(t, fmt.Sprintf("batch %d (%s)", b, strings.Join(did, "; ")), seen, &st)
		if b%4 == 0 || b == batches || m.stopped != "" {
			// Implied by the comparison with the reference while it runs;
			// the oracle of its own once it has stopped.
			m.s.requireInSync(fmt.Sprintf("batch %d", b))
		}
	}
	slices.Sort(st.targetedRequests)
	t.Logf("%d batches (%d needing a full plan): %d targeted runs (requests %v), %d full runs",
		st.batches, st.fullBatches, st.targetedRuns, st.targetedRequests, st.fullRuns)
	// Every batch that needed no full plan ran targeted; a batch whose
	// writes change nothing in Confluence runs nothing.
	if need := (st.batches - st.fullBatches) * 2 / 3; st.targetedRuns < need {
		t.Errorf("%d targeted runs for %d batches that needed no full plan, want at least %d", st.targetedRuns, st.batches-st.fullBatches, need)
	}
}

// reconciled waits for serve to reconcile a batch, reconciles the
// reference in full, and compares.
func (m *propModel) reconciled(t *testing.T, what string, seen map[string]bool, st *propStats) {
	m.s.settle(what)
	m.ref.reconcile(what)
	runs := m.s.runsAfter(seen)
	m.count(t, st, what, runs)
	if len(runs) > 1 && m.stopped == "" {
		// The debounce let a reconcile start between two writes of the
		// batch: serve's history is no longer the reference's.
		m.stopped = fmt.Sprintf("%s ran as %d reconciles", what, len(runs))
		t.Logf("%s: the comparison with the reference stops here", m.stopped)
	}
	if m.stopped == "" {
		m.sameState(t, what)
	}
	m.check(t, what)
}

// count checks the runs a batch caused: each applied, targeted with few
// requests unless the batch needed a full plan.
func (m *propModel) count(t *testing.T, st *propStats, what string, runs []plan.Run) {
	st.batches++
	if m.full {
		st.fullBatches++
	}
	for _, r := range runs {
		if r.Trigger != plan.TriggerAuto || r.Outcome != plan.OutcomeApplied {
			t.Fatalf("%s: a %s run ended %s: %s", what, r.Trigger, r.Outcome, r.Message)
		}
		switch r.Kind {
		case plan.RunTargeted:
			st.targetedRuns++
			st.targetedRequests = append(st.targetedRequests, r.ConfluenceRequests)
			// A batch touches at most a dozen users and groups: a few
			// requests each, against about 120 for a full read.
			if r.ConfluenceRequests == 0 || r.ConfluenceRequests > 50 {
				t.Errorf("%s: a targeted run made %d Confluence requests", what, r.ConfluenceRequests)
			}
		case plan.RunFull:
			st.fullRuns++
			if !m.full {
				t.Logf("%s: fell back to a full run (%d requests)", what, r.ConfluenceRequests)
			}
		default:
			t.Errorf("%s: a run of kind %q", what, r.Kind)
		}
	}
}

// populate creates eight users and three groups.
func (m *propModel) populate() {
	for range 8 {
		m.createUser(true)
	}
	for range 3 {
		m.createGroup(false)
	}
}

// step makes one random SCIM write and says what it was.
func (m *propModel) step() string {
	users, groups := m.sortedUsers(), m.sortedGroups()
	switch n := m.rng.IntN(20); {
	case n < 4 || len(users) == 0:
		return m.createUser(m.rng.IntN(10) > 0)
	case n < 7:
		return m.updateUser(m.pickUser(users))
	case n < 9:
		u := m.pickUser(users)
		return m.setActive(u, !u.active)
	case n < 10 && len(users) > 6:
		return m.deleteUser(m.pickUser(users))
	case n < 13 && len(groups) > 0:
		return m.addMembers(m.pickGroup(groups), users)
	case n < 15 && len(groups) > 0:
		return m.removeMember(m.pickGroup(groups))
	case n < 16 && len(groups) > 0:
		return m.replaceMembers(m.pickGroup(groups), users)
	case n < 17 && len(groups) > 0:
		return m.renameGroup(m.pickGroup(groups))
	case n < 18 && len(groups) > 4:
		return m.deleteGroup(m.pickGroup(groups))
	default:
		return m.createGroup(m.rng.IntN(3) == 0)
	}
}

// both sends one SCIM request to serve and to the reference; path and
// body say it for each (0: serve, 1: the reference). It returns the id
// each answered with, if any.
func (m *propModel) both(method string, path func(side int) string, body func(side int) any, want int) [2]string {
	var out [2]string
	for side, site := range []*liveSite{m.s, {t: m.s.t, scim: m.ref.scim}} {
		var b any
		if body != nil {
			b = body(side)
		}
		if res := site.do(method, path(side), b, want); res != nil {
			out[side], _ = res["id"].(string)
		}
	}
	return out
}

func fixed(p string) func(int) string { return func(int) string { return p } }

// createUser creates a user with a new name, a name that exists unmanaged
// in Confluence (adopted), or a deleted user's name (taken again).
func (m *propModel) createUser(active bool) string {
	m.next++
	name := fmt.Sprintf("p%03d", m.next)
	switch n := m.rng.IntN(10); {
	case n == 0:
		name = fmt.Sprintf("bulk%04d", m.rng.IntN(1000))
	case n == 1 && len(m.gone) > 0:
		i := m.rng.IntN(len(m.gone))
		name = m.gone[i].name
		m.gone = slices.Delete(m.gone, i, i+1)
	}
	if m.users[name] != nil {
		name = fmt.Sprintf("p%03d", m.next)
	}
	u := &propUser{name: name, display: "Person " + name, email: name + "@example.com", active: active}
	u.ids = m.both(http.MethodPost, fixed("/Users"), func(int) any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": u.name,
			"active": u.active, "displayName": u.display, "emails": []map[string]any{{"type": "work", "value": u.email, "primary": true}}}
	}, http.StatusCreated)
	m.users[name] = u
	return fmt.Sprintf("create user %s active=%v", name, active)
}

func (m *propModel) updateUser(u *propUser) string {
	m.next++
	var ops []map[string]any
	if m.rng.IntN(2) == 0 {
		u.display = fmt.Sprintf("Person %s v%d", u.name, m.next)
		ops = append(ops, map[string]any{"op": "replace", "path": "displayName", "value": u.display})
	}
	if len(ops) == 0 || m.rng.IntN(2) == 0 {
		u.email = fmt.Sprintf("%s.v%d@example.com", u.name, m.next)
		ops = append(ops, map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": u.email})
	}
	m.both(http.MethodPatch, u.path, func(int) any { return patchOp(ops...) }, http.StatusOK)
	return "update user " + u.name
}

func (u *propUser) path(side int) string { return "/Users/" + u.ids[side] }

func (g *propGroup) path(side int) string { return "/Groups/" + g.ids[side] }

func (m *propModel) setActive(u *propUser, active bool) string {
	u.active = active
	m.both(http.MethodPatch, u.path, func(int) any {
		return patchOp(map[string]any{"op": "replace", "path": "active", "value": active})
	}, http.StatusOK)
	return fmt.Sprintf("set user %s active=%v", u.name, active)
}

func (m *propModel) deleteUser(u *propUser) string {
	m.both(http.MethodDelete, u.path, nil, http.StatusNoContent)
	delete(m.users, u.name)
	for _, g := range m.groups {
		delete(g.members, u)
	}
	m.gone = append(m.gone, u)
	return "delete user " + u.name
}

// refs is the members value of users at one side.
func refs(users []*propUser, side int) []map[string]string {
	ids := make([]string, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ids[side])
	}
	return memberRefs(ids)
}

func (m *propModel) addMembers(g *propGroup, users []*propUser) string {
	picked := m.pickUsers(users, 1+m.rng.IntN(2))
	var names []string
	for _, u := range picked {
		g.members[u] = true
		names = append(names, u.name)
	}
	m.both(http.MethodPatch, g.path, func(side int) any {
		return patchOp(map[string]any{"op": "add", "path": "members", "value": refs(picked, side)})
	}, http.StatusNoContent)
	return fmt.Sprintf("add %v to %s", names, g.name)
}

func (m *propModel) removeMember(g *propGroup) string {
	var members []*propUser
	for u := range g.members {
		members = append(members, u)
	}
	if len(members) == 0 {
		return "remove nobody from " + g.name
	}
	sort.Slice(members, func(i, j int) bool { return members[i].name < members[j].name })
	u := members[m.rng.IntN(len(members))]
	delete(g.members, u)
	m.both(http.MethodPatch, g.path, func(side int) any {
		return patchOp(map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", u.ids[side])})
	}, http.StatusNoContent)
	return fmt.Sprintf("remove %s from %s", u.name, g.name)
}

func (m *propModel) replaceMembers(g *propGroup, users []*propUser) string {
	picked := m.pickUsers(users, m.rng.IntN(4))
	g.members = map[*propUser]bool{}
	for _, u := range picked {
		g.members[u] = true
	}
	m.both(http.MethodPatch, g.path, func(side int) any {
		return patchOp(map[string]any{"op": "replace", "path": "members", "value": refs(picked, side)})
	}, http.StatusNoContent)
	return fmt.Sprintf("replace the members of %s with %d", g.name, len(picked))
}

// createGroup creates a group with members in one request, or, as Entra
// ID does, empty and then its members in a PATCH (a full plan).
func (m *propModel) createGroup(entraStyle bool) string {
	m.next++
	name := fmt.Sprintf("team-%03d", m.next)
	if m.rng.IntN(5) == 0 {
		name = fmt.Sprintf("bulkgroup-%03d", m.rng.IntN(100)) // adopted
	}
	if m.groups[name] != nil {
		name = fmt.Sprintf("team-%03d", m.next)
	}
	picked := m.pickUsers(m.sortedUsers(), 1+m.rng.IntN(3))
	g := &propGroup{name: name, members: map[*propUser]bool{}}
	for _, u := range picked {
		g.members[u] = true
	}
	schema := []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}
	if entraStyle {
		g.ids = m.both(http.MethodPost, fixed("/Groups"), func(int) any {
			return map[string]any{"schemas": schema, "displayName": name}
		}, http.StatusCreated)
		m.both(http.MethodPatch, g.path, func(side int) any {
			return patchOp(map[string]any{"op": "add", "path": "members", "value": refs(picked, side)})
		}, http.StatusNoContent)
		m.full = true // a group created empty
	} else {
		g.ids = m.both(http.MethodPost, fixed("/Groups"), func(side int) any {
			return map[string]any{"schemas": schema, "displayName": name, "members": refs(picked, side)}
		}, http.StatusCreated)
	}
	m.groups[name] = g
	return fmt.Sprintf("create group %s with %d members (entra style %v)", name, len(picked), entraStyle)
}

func (m *propModel) renameGroup(g *propGroup) string {
	m.next++
	old := g.name
	delete(m.groups, old)
	g.name = fmt.Sprintf("team-%03d", m.next)
	m.groups[g.name] = g
	m.both(http.MethodPatch, g.path, func(int) any {
		return patchOp(map[string]any{"op": "replace", "path": "displayName", "value": g.name})
	}, http.StatusNoContent)
	m.full = true
	return fmt.Sprintf("rename group %s to %s", old, g.name)
}

func (m *propModel) deleteGroup(g *propGroup) string {
	m.both(http.MethodDelete, g.path, nil, http.StatusNoContent)
	delete(m.groups, g.name)
	m.full = true
	return "delete group " + g.name
}

// check compares Confluence with what the writes say, whatever either
// engine does: every active user exists, active, with its display name
// and e-mail, in each of its groups; a user once seen active and now
// deactivated or deleted is disabled.
func (m *propModel) check(t *testing.T, what string) {
	members := map[string]map[string]bool{}
	for _, g := range m.s.emu.Groups() {
		members[g.Name] = map[string]bool{}
		for _, u := range g.Members {
			members[g.Name][u] = true
		}
	}
	for _, u := range m.users {
		cu, ok := m.s.emu.User(u.name)
		switch {
		case u.active && (!ok || !cu.Active || cu.DisplayName != u.display || cu.Email != u.email):
			t.Fatalf("%s: Confluence has %s as %+v (exists %v), want active %q <%s>", what, u.name, cu, ok, u.display, u.email)
		case u.active:
			u.seenActive = true
		case u.seenActive && ok && cu.Active:
			t.Fatalf("%s: %s is deactivated in the IdP but active in Confluence", what, u.name)
		}
	}
	for _, u := range m.gone {
		if cu, ok := m.s.emu.User(u.name); u.seenActive && m.users[u.name] == nil && ok && cu.Active {
			t.Fatalf("%s: %s was deleted in the IdP but is active in Confluence", what, u.name)
		}
	}
	for _, g := range m.groups {
		if members[g.name] == nil {
			t.Fatalf("%s: group %s is not in Confluence", what, g.name)
		}
		for u := range g.members {
			if u.active && !members[g.name][u.name] {
				t.Fatalf("%s: %s is not in %s in Confluence", what, u.name, g.name)
			}
		}
	}
}

func (m *propModel) sortedUsers() []*propUser {
	return slices.SortedFunc(maps.Values(m.users), func(a, b *propUser) int { return strings.Compare(a.name, b.name) })
}

func (m *propModel) sortedGroups() []*propGroup {
	return slices.SortedFunc(maps.Values(m.groups), func(a, b *propGroup) int { return strings.Compare(a.name, b.name) })
}

func (m *propModel) pickUser(users []*propUser) *propUser { return users[m.rng.IntN(len(users))] }

func (m *propModel) pickGroup(groups []*propGroup) *propGroup {
	return groups[m.rng.IntN(len(groups))]
}

// pickUsers picks n different users (fewer when there are fewer).
func (m *propModel) pickUsers(users []*propUser, n int) []*propUser {
	out := slices.Clone(users)
	m.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(n, len(out))]
}
