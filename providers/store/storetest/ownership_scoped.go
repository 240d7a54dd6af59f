package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// ownershipQuery is one OwnershipOf call.
type ownershipQuery struct {
	name      string
	usernames []string
	sourceIDs map[string][]string
	groups    []string
}

// testScopedOwnership: for a random ownership state, OwnershipOf returns
// exactly Ownership() filtered by the documented rule, and OwnershipCounts
// the sizes of Ownership()'s lists.
func testScopedOwnership(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(10, 2026))
	recordRandomOwnership(t, s, rng)
	all, err := s.Ownership(ctx(t))
	must(t, err)

	counts, err := s.OwnershipCounts(ctx(t))
	must(t, err)
	want := plan.OwnershipCounts{Users: len(all.Users), Groups: len(all.Groups), Memberships: len(all.Memberships)}
	if counts != want {
		t.Errorf("OwnershipCounts = %+v, want %+v", counts, want)
	}

	for _, q := range ownershipQueries(rng, all) {
		got, err := s.OwnershipOf(ctx(t), q.usernames, q.sourceIDs, q.groups)
		must(t, err)
		if diff := cmp.Diff(filterOwnership(all, q), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: OwnershipOf (-want +got):\n%s", q.name, diff)
		}
	}
}

// recordRandomOwnership records users of two IdPs (some sharing source
// ids across IdPs), groups, and memberships, some of them of usernames
// that are not managed users.
func recordRandomOwnership(t *testing.T, s store.Store, rng *rand.Rand) {
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	var names []string
	for i := range 40 {
		idp := []string{idpA, idpB}[rng.IntN(2)]
		u := plan.ManagedUser{Username: fmt.Sprintf("user%02d", i), IDP: idp, SourceID: fmt.Sprintf("src-%d", rng.IntN(30)),
			DisplayName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@example.com", i), Active: rng.IntN(4) != 0,
			Adopted: rng.IntN(3) == 0, Updated: t0.Add(time.Duration(i) * time.Second), Custom: map[string]string{"dept": fmt.Sprint(i % 3)}}
		must(t, s.RecordUser(ctx(t), u))
		names = append(names, u.Username)
	}
	names = append(names, "ghost1", "ghost2") // memberships without a managed user
	for i := range 12 {
		must(t, s.RecordGroup(ctx(t), plan.ManagedGroup{Name: fmt.Sprintf("group%02d", i), IDP: idpA, Created: i%2 == 0, Updated: t0}))
	}
	for range 150 {
		m := plan.ManagedMembership{Username: names[rng.IntN(len(names))], Group: fmt.Sprintf("group%02d", rng.IntN(14)), IDP: idpA, Updated: t0}
		must(t, s.RecordMembership(ctx(t), m))
	}
}

// ownershipQueries are queries by each key alone, together, with unknown
// and duplicate names, and lists longer than one statement takes.
func ownershipQueries(rng *rand.Rand, all *plan.Ownership) []ownershipQuery {
	pick := func(from []string, n int) []string {
		var out []string
		for range n {
			out = append(out, from[rng.IntN(len(from))])
		}
		return out
	}
	var usernames, groups []string
	sources := map[string][]string{}
	for _, u := range all.Users {
		usernames = append(usernames, u.Username)
		sources[u.IDP] = append(sources[u.IDP], u.SourceID)
	}
	for _, g := range all.Groups {
		groups = append(groups, g.Name)
	}
	var many []string
	for i := range 1300 {
		many = append(many, fmt.Sprintf("absent%04d", i))
	}
	many = append(many, usernames...)
	rng.Shuffle(len(many), func(i, j int) { many[i], many[j] = many[j], many[i] })
	return []ownershipQuery{
		{name: "nothing"},
		{name: "usernames", usernames: append(pick(usernames, 8), "ghost1", "nobody", usernames[0], usernames[0])},
		{name: "source ids", sourceIDs: map[string][]string{idpA: pick(sources[idpA], 5), idpB: append(pick(sources[idpB], 3), "src-none"), "unknown-idp": {"src-1"}}},
		{name: "groups", groups: append(pick(groups, 4), "group-none")},
		{name: "all three", usernames: pick(usernames, 5), sourceIDs: map[string][]string{idpB: pick(sources[idpB], 4)}, groups: pick(groups, 3)},
		{name: "long lists", usernames: many, sourceIDs: map[string][]string{idpA: slices.Concat(sources[idpA], many)}, groups: slices.Concat(groups, many)},
	}
}

// filterOwnership applies plan.ScopedOwnership's rule to the whole state.
func filterOwnership(all *plan.Ownership, q ownershipQuery) *plan.Ownership {
	out := &plan.Ownership{}
	members := map[string]bool{}
	for _, n := range q.usernames {
		members[n] = true
	}
	for _, u := range all.Users {
		if slices.Contains(q.usernames, u.Username) || slices.Contains(q.sourceIDs[u.IDP], u.SourceID) {
			out.Users = append(out.Users, u)
			members[u.Username] = true
		}
	}
	for _, g := range all.Groups {
		if slices.Contains(q.groups, g.Name) {
			out.Groups = append(out.Groups, g)
		}
	}
	for _, m := range all.Memberships {
		if members[m.Username] {
			out.Memberships = append(out.Memberships, m)
		}
	}
	return out
}
