package sqlstore

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
)

// The site of issue 10: 100,000 users, 20,000 groups, 1,000,000 direct
// memberships (50 a group).
const (
	siteUsers          = 100_000
	siteGroups         = 20_000
	siteMembersOfGroup = 50
)

func siteUsername(i int) string { return fmt.Sprintf("user%06d", i) }
func siteGroup(i int) string    { return fmt.Sprintf("group%05d", i) }

// siteMembers are the usernames of group g's members, sorted.
func siteMembers(g int) []string {
	out := make([]string, siteMembersOfGroup)
	for j := range out {
		out[j] = siteUsername((g*siteMembersOfGroup + j*2003) % siteUsers)
	}
	slices.Sort(out)
	return out
}

// siteActual is the site as a full Confluence read returns it.
func siteActual() *plan.Actual {
	a := &plan.Actual{Caller: "confsync-bot", Users: make([]plan.ActualUser, siteUsers), Groups: make([]plan.ActualGroup, siteGroups)}
	for i := range a.Users {
		a.Users[i] = plan.ActualUser{Username: siteUsername(i), Key: fmt.Sprintf("8a7f808a%08x", i),
			DisplayName: fmt.Sprintf("User %d", i), Email: siteUsername(i) + "@example.com", Active: i%10 != 0}
	}
	for g := range a.Groups {
		a.Groups[g] = plan.ActualGroup{Name: siteGroup(g), Members: siteMembers(g)}
	}
	return a
}

// BenchmarkReplaceConfluenceState: recording a first full read of the site
// in one transaction (first-replace-s), recording later ones that differ
// from it by an apply's edit (replace-s: written as edits), reading it back
// (read-s), and a small edit as an apply makes one (edit-ms), which should
// not grow with the site.
//
//	go test -run '^$' -bench 'ReplaceConfluenceState/sqlite' -benchtime 1x ./providers/store/sqlstore/
func BenchmarkReplaceConfluenceState(b *testing.B) {
	a := siteActual()
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			// The first full read is loaded whole; the later ones, which
			// differ from the recorded state by the loop's edit, are
			// written as edits (the steady state of serve's periodic
			// reconciles).
			t0 := time.Now()
			if err := s.ReplaceConfluenceState(b.Context(), a, time.Time{}); err != nil {
				b.Fatal(err)
			}
			first := time.Since(t0)
			var replace, read, edit time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				if err := s.ReplaceConfluenceState(b.Context(), a, time.Time{}); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				got, _, ok, err := s.ConfluenceState(b.Context())
				if err != nil || !ok || len(got.Users) != siteUsers || len(got.Groups) != siteGroups {
					b.Fatalf("read back: %v, %v", ok, err)
				}
				t2 := time.Now()
				e := plan.ConfluenceEdits{
					PutUsers:      []plan.ActualUser{{Username: "new-user", Key: "k", Active: true}},
					AddMembers:    []plan.MemberPair{{Username: "new-user", Group: siteGroup(1)}, {Username: "new-user", Group: siteGroup(2)}},
					RemoveMembers: []plan.MemberPair{{Username: siteMembers(3)[0], Group: siteGroup(3)}},
					DeleteUsers:   []string{siteUsername(7)},
				}
				if err := s.EditConfluenceState(b.Context(), e, time.Time{}); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				replace, read, edit = replace+t1.Sub(t0), read+t2.Sub(t1), edit+t3.Sub(t2)
				n++
			}
			b.ReportMetric(first.Seconds(), "first-replace-s")
			b.ReportMetric(replace.Seconds()/float64(n), "replace-s")
			b.ReportMetric(read.Seconds()/float64(n), "read-s")
			b.ReportMetric(float64(edit.Microseconds())/1000/float64(n), "edit-ms")
		})
	}
}

// BenchmarkScopedOwnership: OwnershipOf for a SCIM event's worth of
// identities (ownership-of-ms, the median of 200 calls) and
// OwnershipCounts (counts-ms), with the site's ownership state recorded.
//
//	go test -run '^$' -bench 'ScopedOwnership/sqlite' -benchtime 1x ./providers/store/sqlstore/
func BenchmarkScopedOwnership(b *testing.B) {
	for _, be := range benchBackends() {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			recordSiteOwnership(b, s)
			var of, counts []time.Duration
			for b.Loop() {
				for i := range 200 {
					usernames := []string{siteUsername(i * 491 % siteUsers), siteUsername(i * 977 % siteUsers)}
					sources := map[string][]string{"entra": {fmt.Sprintf("src-%d", i*313%siteUsers)}}
					t0 := time.Now()
					o, err := s.OwnershipOf(b.Context(), usernames, sources, []string{siteGroup(i)})
					if err != nil || len(o.Users) == 0 || len(o.Groups) != 1 || len(o.Memberships) == 0 {
						b.Fatalf("OwnershipOf = %+v, %v", o, err)
					}
					of = append(of, time.Since(t0))
				}
				t0 := time.Now()
				c, err := s.OwnershipCounts(b.Context())
				if err != nil || c.Memberships != siteGroups*siteMembersOfGroup {
					b.Fatalf("OwnershipCounts = %+v, %v", c, err)
				}
				counts = append(counts, time.Since(t0))
			}
			slices.Sort(of)
			slices.Sort(counts)
			b.ReportMetric(float64(of[len(of)/2].Microseconds())/1000, "ownership-of-ms")
			b.ReportMetric(float64(counts[len(counts)/2].Microseconds())/1000, "counts-ms")
		})
	}
}

// recordSiteOwnership loads the site as managed users, groups and
// memberships in one transaction (the setup is not what is measured).
func recordSiteOwnership(b *testing.B, s *Store) {
	b.Helper()
	err := s.write(b.Context(), func(t *txn) error {
		users := t.bulkInsert("INSERT INTO managed_users (username, idp, source_id, display_name, email, custom, active, adopted, updated, disabled_at) VALUES ", "", 10)
		for i := range siteUsers {
			if err := users.add(siteUsername(i), "entra", fmt.Sprintf("src-%d", i), "User", "u@example.com", "{}", 1, 0, 1, 0); err != nil {
				return users.abort(err)
			}
		}
		if err := users.close(); err != nil {
			return err
		}
		groups := t.bulkInsert("INSERT INTO managed_groups (name, idp, created_by_confsync, updated) VALUES ", "", 4)
		members := t.bulkInsert("INSERT INTO managed_memberships (username, group_name, idp, updated) VALUES ", "", 4)
		for g := range siteGroups {
			if err := groups.add(siteGroup(g), "entra", 1, 1); err != nil {
				return groups.abort(err)
			}
			for _, m := range siteMembers(g) {
				if err := members.add(m, siteGroup(g), "entra", 1); err != nil {
					return members.abort(err)
				}
			}
		}
		if err := groups.close(); err != nil {
			return err
		}
		return members.close()
	})
	if err != nil {
		b.Fatal(err)
	}
}
