package plantest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/confsync/confsync/plan"
)

// The scoped reads of a targeted plan (plan/scope.go), with the contracts'
// semantics.

var (
	_ plan.ScopedReader    = (*Target)(nil)
	_ plan.ScopedOwnership = (*State)(nil)
	_ plan.ScopedSource    = (*Source)(nil)
)

// ReadScope implements plan.ScopedReader.
func (t *Target) ReadScope(ctx context.Context, s plan.TargetScope) (*plan.Actual, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := &plan.Actual{Caller: t.Caller}
	in := map[string]bool{}
	for _, n := range s.Users {
		if u := t.users[strings.ToLower(n)]; u != nil && !in[u.Username] {
			c := *u
			if t.HideEmail {
				c.Email = ""
			}
			a.Users = append(a.Users, c)
			in[u.Username] = true
		}
	}
	wanted := map[string]bool{}
	for _, g := range s.Groups {
		wanted[strings.ToLower(g)] = true
	}
	for _, name := range slices.Sorted(maps.Keys(t.groups)) {
		var members []string
		for _, m := range slices.Sorted(maps.Keys(t.groups[name])) {
			if in[m] {
				members = append(members, m)
			}
		}
		if wanted[name] || len(members) > 0 {
			a.Groups = append(a.Groups, plan.ActualGroup{Name: name, Members: members})
		}
	}
	return a, nil
}

// OwnershipOf implements plan.ScopedOwnership.
func (s *State) OwnershipOf(ctx context.Context, usernames []string, sourceIDs map[string][]string, groups []string) (*plan.Ownership, error) {
	all, err := s.Ownership(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range usernames {
		names[n] = true
	}
	ids := map[[2]string]bool{}
	for idp, l := range sourceIDs {
		for _, id := range l {
			ids[[2]string{idp, id}] = true
		}
	}
	o := &plan.Ownership{}
	users := map[string]bool{}
	for _, u := range all.Users {
		if names[u.Username] || ids[[2]string{u.IDP, u.SourceID}] {
			o.Users = append(o.Users, u)
			users[u.Username] = true
		}
	}
	for _, g := range all.Groups {
		if slices.Contains(groups, g.Name) {
			o.Groups = append(o.Groups, g)
		}
	}
	for _, m := range all.Memberships {
		if users[m.Username] || names[m.Username] {
			o.Memberships = append(o.Memberships, m)
		}
	}
	return o, nil
}

// OwnershipCounts implements plan.ScopedOwnership.
func (s *State) OwnershipCounts(ctx context.Context) (plan.OwnershipCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return plan.OwnershipCounts{Users: len(s.users), Groups: len(s.groups), Memberships: len(s.memberships)}, ctx.Err()
}

// ReadScope implements plan.ScopedSource: the users t names that exist,
// the users of t's groups, and every group any of them is in, with members
// restricted to them.
func (s *Source) ReadScope(ctx context.Context, req plan.ReadRequest, t plan.Touched) (*plan.Snapshot, plan.SourceCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Err != nil {
		return nil, plan.SourceCounts{}, s.Err
	}
	want := map[string]bool{}
	for _, id := range t.Users {
		want[id] = true
	}
	for _, g := range s.Snap.Groups {
		if slices.Contains(t.Groups, g.ID) {
			for _, id := range g.MemberIDs {
				want[id] = true
			}
		}
	}
	snap := &plan.Snapshot{}
	for _, u := range s.Snap.Users {
		if want[u.ID] {
			snap.Users = append(snap.Users, u)
		}
	}
	for _, g := range s.Snap.Groups {
		var members []string
		for _, id := range g.MemberIDs {
			if want[id] {
				members = append(members, id)
			}
		}
		if len(members) > 0 || slices.Contains(t.Groups, g.ID) {
			snap.Groups = append(snap.Groups, plan.SourceGroup{ID: g.ID, Name: g.Name, MemberIDs: members})
		}
	}
	counts := plan.SourceCounts{Users: len(s.Snap.Users), Groups: len(s.Snap.Groups)}
	return snap, counts, ctx.Err()
}

// Journal is an in-memory plan.ChangeJournal.
type Journal struct {
	mu      sync.Mutex
	rev     map[string]int64
	covered map[string]int64
	touched map[string]map[string]int64 // idp -> "u:id" / "g:id" / "full" -> revision
}

var _ plan.ChangeJournal = (*Journal)(nil)

// NewJournal returns an empty journal.
func NewJournal() *Journal {
	return &Journal{rev: map[string]int64{}, covered: map[string]int64{}, touched: map[string]map[string]int64{}}
}

// TouchUser records a write to a user of idp.
func (j *Journal) TouchUser(idp, id string) { j.touch(idp, "u:"+id) }

// TouchGroup records a write that changed a group's members as a whole.
func (j *Journal) TouchGroup(idp, id string) { j.touch(idp, "g:"+id) }

// TouchFull records a write that needs a full plan.
func (j *Journal) TouchFull(idp string) { j.touch(idp, "full") }

func (j *Journal) touch(idp, key string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.rev[idp]++
	if j.touched[idp] == nil {
		j.touched[idp] = map[string]int64{}
	}
	j.touched[idp][key] = j.rev[idp]
}

// Revision returns the IdP's revision.
func (j *Journal) Revision(_ context.Context, idp string) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rev[idp], nil
}

// Pending implements plan.ChangeJournal.
func (j *Journal) Pending(ctx context.Context, limit int) (map[string]plan.Touched, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]plan.Touched{}
	for idp, keys := range j.touched {
		var t plan.Touched
		for _, key := range slices.Sorted(maps.Keys(keys)) {
			rev := keys[key]
			if rev <= j.covered[idp] {
				continue
			}
			t.Through = max(t.Through, rev)
			switch {
			case key == "full":
				t.Full = true
			case len(t.Users)+len(t.Groups) >= limit:
				t.Full = true
			case strings.HasPrefix(key, "u:"):
				t.Users = append(t.Users, key[2:])
			default:
				t.Groups = append(t.Groups, key[2:])
			}
		}
		if t.Through > 0 {
			out[idp] = t
		}
	}
	return out, ctx.Err()
}

// Cover implements plan.ChangeJournal.
func (j *Journal) Cover(_ context.Context, idp string, revision int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.covered[idp] = max(j.covered[idp], revision)
	return nil
}

// Describe renders a read of Confluence, one line per user and per group
// with its members, for tests that compare two Confluences.
func Describe(a *plan.Actual) string {
	var b strings.Builder
	for _, u := range a.Users {
		fmt.Fprintf(&b, "user %s %q %s active=%v\n", u.Username, u.DisplayName, u.Email, u.Active)
	}
	for _, g := range a.Groups {
		fmt.Fprintf(&b, "group %s: %s\n", g.Name, strings.Join(g.Members, " "))
	}
	return b.String()
}
