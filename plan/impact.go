package plan

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/confsync/confsync/config"
)

// PermissionReader reads what Confluence grants to groups. The engine uses
// it to show what a plan takes away; providers/confluence's Client
// implements it.
//
// Both calls are bounded by the groups asked about: the engine asks only
// about the groups the plan removes someone from (or deletes) and the other
// groups of the users who lose them.
type PermissionReader interface {
	// GroupGlobalPermissions returns the global permissions of each group
	// ("application use", "space create"...), keyed by lower-case group
	// name. A group that does not exist has none.
	GroupGlobalPermissions(ctx context.Context, groups []string) (map[string][]string, error)
	// GroupSpacePermissions returns the space permissions of each group,
	// keyed by lower-case group name.
	GroupSpacePermissions(ctx context.Context, groups []string) (map[string][]SpaceGrant, error)
}

// SpaceGrant is one permission a group holds in a space.
type SpaceGrant struct {
	Space string `json:"space"`
	// Permission is "<targetType> <operationKey>", as Confluence names it:
	// "space read", "page create", "space administer".
	Permission string `json:"permission"`
}

// NoticePermissions is the kind of the notice a failed permission read
// leaves on the plan.
const NoticePermissions = "permissions"

// PermissionImpact is what the plan's removals take away from people.
//
// A user loses a permission when a group the plan removes them from (or
// deletes, or every group of a user the plan disables or deletes) grants
// it, and no group they are still in after the plan grants the same
// permission in the same space (or globally). Grants made to users
// directly, to anonymous or to unlicensed users are not read: a user who
// also holds a direct grant is still counted as losing it.
type PermissionImpact struct {
	// Changes lists, per change that takes access away, what it takes.
	Changes []ChangeImpact `json:"changes,omitempty"`
	// SpaceAccessLost counts the distinct (user, space) pairs where a user
	// loses at least one space permission; safety's max_space_access_lost
	// bounds it.
	SpaceAccessLost int `json:"space_access_lost"`
	// Unknown says which reads failed; when it is not empty the impact is
	// incomplete and a warning notice says so.
	Unknown []string `json:"unknown,omitempty"`
}

// ChangeImpact is what one change takes away.
type ChangeImpact struct {
	// Change is the index of the change in Plan.Changes.
	Change int              `json:"change"`
	Object string           `json:"object"`
	Losses []PermissionLoss `json:"losses"`
}

// PermissionLoss is one permission a group grants that some of the
// change's users lose.
type PermissionLoss struct {
	Group      string `json:"group"`
	Permission string `json:"permission"`
	// Global is true for a global permission; Spaces is then empty.
	Global bool `json:"global,omitempty"`
	// GrantedIn is the number of spaces where the group grants it.
	GrantedIn int `json:"granted_in,omitempty"`
	// Spaces are the spaces where at least one user loses it.
	Spaces []string `json:"spaces,omitempty"`
	// Users are the users who lose it (in at least one space).
	Users []string `json:"users"`
}

// Summary is the loss in words: "group engineering grants space read in
// 14 spaces; 3 users lose it".
func (l PermissionLoss) Summary() string {
	who := fmt.Sprintf("%d users lose it", len(l.Users))
	if len(l.Users) == 1 {
		who = l.Users[0] + " loses it"
	}
	if l.Global {
		return fmt.Sprintf("group %s grants the global permission %s; %s", l.Group, l.Permission, who)
	}
	where := fmt.Sprintf("%d spaces", l.GrantedIn)
	if l.GrantedIn == 1 {
		where = "1 space"
	}
	s := fmt.Sprintf("group %s grants %s in %s; %s", l.Group, l.Permission, where, who)
	if len(l.Spaces) < l.GrantedIn {
		s += fmt.Sprintf(" in %d of them", len(l.Spaces))
	}
	return s
}

// permissionReader is Inputs.Permissions, or the target when it can read
// permissions.
func permissionReader(in Inputs) PermissionReader {
	if in.Permissions != nil {
		return in.Permissions
	}
	r, _ := in.Target.(PermissionReader)
	return r
}

// removal is one change that takes groups away from users.
type removal struct {
	change int
	users  []string
	groups []string // the groups whose grants the users lose
}

// assessImpact computes the plan's PermissionImpact with r. It returns an
// error only when ctx ends; failed reads become a warning notice and
// PermissionImpact.Unknown.
func assessImpact(ctx context.Context, r PermissionReader, p *Plan, actual *Actual) error {
	if r == nil {
		return nil
	}
	removals, disabled, removedFrom, addedTo := collectRemovals(p, actual)
	if len(removals) == 0 {
		return nil
	}
	// The groups to read: those the plan takes away, and those the users
	// who lose them keep (which may grant the same thing).
	current := groupsOf(actual, removedFrom)
	want := map[string]bool{}
	for u := range removedFrom {
		for g := range current[u] {
			want[g] = true
		}
		for g := range addedTo[u] {
			want[g] = true
		}
	}
	for _, rm := range removals {
		for _, g := range rm.groups {
			want[g] = true
		}
	}
	groups := make([]string, 0, len(want))
	for g := range want {
		groups = append(groups, g)
	}
	sort.Strings(groups)

	imp := &PermissionImpact{}
	global, gerr := r.GroupGlobalPermissions(ctx, groups)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if gerr != nil {
		imp.Unknown = append(imp.Unknown, "global permissions: "+gerr.Error())
		global = nil
	}
	spaces, serr := r.GroupSpacePermissions(ctx, groups)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if serr != nil {
		imp.Unknown = append(imp.Unknown, "space permissions: "+serr.Error())
		spaces = nil
	}

	// remaining[u] is the set of groups u is in once the plan is applied.
	remaining := map[string]map[string]bool{}
	for u := range removedFrom {
		rem := map[string]bool{}
		if !disabled[u] {
			for g := range current[u] {
				if !removedFrom[u][g] {
					rem[g] = true
				}
			}
			for g := range addedTo[u] {
				rem[g] = true
			}
		}
		remaining[u] = rem
	}
	keeps := func(u, key string, grants func(g string) map[string]bool) bool {
		for g := range remaining[u] {
			if grants(g)[key] {
				return true
			}
		}
		return false
	}
	globalSet := indexGlobal(global)
	spaceSet := indexSpaces(spaces)
	lostPairs := map[[2]string]bool{}
	for _, rm := range removals {
		ci := ChangeImpact{Change: rm.change, Object: p.Changes[rm.change].Object()}
		for _, g := range rm.groups {
			for _, perm := range sortedKeys(globalSet[g]) {
				var users []string
				for _, u := range rm.users {
					if !keeps(u, perm, func(g string) map[string]bool { return globalSet[g] }) {
						users = append(users, u)
					}
				}
				if len(users) > 0 {
					ci.Losses = append(ci.Losses, PermissionLoss{Group: g, Permission: perm, Global: true, Users: users})
				}
			}
			byPerm := map[string][]string{} // permission -> spaces the group grants it in
			for _, sg := range spaces[g] {
				byPerm[sg.Permission] = append(byPerm[sg.Permission], sg.Space)
			}
			for _, perm := range sortedKeys(byPerm) {
				in := dedupSorted(byPerm[perm])
				lostIn := map[string]bool{}
				var users []string
				for _, u := range rm.users {
					lost := false
					for _, sp := range in {
						key := sp + "\x00" + perm
						if !keeps(u, key, func(g string) map[string]bool { return spaceSet[g] }) {
							lost = true
							lostIn[sp] = true
							lostPairs[[2]string{u, sp}] = true
						}
					}
					if lost {
						users = append(users, u)
					}
				}
				if len(users) > 0 {
					ci.Losses = append(ci.Losses, PermissionLoss{Group: g, Permission: perm, GrantedIn: len(in),
						Spaces: sortedKeys(lostIn), Users: users})
				}
			}
		}
		if len(ci.Losses) > 0 {
			imp.Changes = append(imp.Changes, ci)
		}
	}
	imp.SpaceAccessLost = len(lostPairs)
	if len(imp.Unknown) > 0 {
		p.Notices = append(p.Notices, Notice{Severity: SeverityWarning, Kind: NoticePermissions, Subject: "confluence permissions",
			Summary: "could not read what the removed groups grant: the permissions this plan takes away are unknown",
			Detail:  strings.Join(imp.Unknown, "; ") + ". Review the removals yourself before applying."})
	}
	p.Impact = imp
	return nil
}

// collectRemovals finds the changes that take groups away: membership
// removals, group deletions, and user disables and deletions (a disabled
// user can no longer use any group). It also returns the disabled or
// deleted users, and per user the groups the plan removes them from and
// adds them to.
func collectRemovals(p *Plan, actual *Actual) (out []removal, disabled map[string]bool,
	removedFrom, addedTo map[string]map[string]bool) {
	disabled = map[string]bool{}
	removedFrom = map[string]map[string]bool{}
	addedTo = map[string]map[string]bool{}
	mark := func(m map[string]map[string]bool, u, g string) {
		if m[u] == nil {
			m[u] = map[string]bool{}
		}
		m[u][g] = true
	}
	deleted := map[string]int{} // group -> index of its deletion
	var userChanges []int
	for i := range p.Changes {
		c := &p.Changes[i]
		switch {
		case c.Kind == KindMembership && c.Action == ActionRemove:
			out = append(out, removal{change: i, users: []string{c.User}, groups: []string{c.Group}})
			mark(removedFrom, c.User, c.Group)
		case c.Kind == KindMembership && c.Action == ActionAdd:
			mark(addedTo, c.User, c.Group)
		case c.Kind == KindGroup && c.Action == ActionDelete:
			deleted[c.Group] = i
		case c.Kind == KindUser && (c.Action == ActionDisable || c.Action == ActionDelete):
			disabled[c.User] = true
			userChanges = append(userChanges, i)
		}
	}
	for i := range actual.Groups {
		g := &actual.Groups[i]
		if idx, ok := deleted[g.Name]; ok {
			out = append(out, removal{change: idx, users: append([]string(nil), g.Members...), groups: []string{g.Name}})
			for _, u := range g.Members {
				mark(removedFrom, u, g.Name)
			}
		}
	}
	if len(userChanges) > 0 {
		groupsOfDisabled := groupsOf(actual, needUserSet(disabled))
		for _, i := range userChanges {
			u := p.Changes[i].User
			gs := sortedKeys(groupsOfDisabled[u])
			out = append(out, removal{change: i, users: []string{u}, groups: gs})
			for _, g := range gs {
				mark(removedFrom, u, g)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].change < out[j].change })
	return out, disabled, removedFrom, addedTo
}

func needUserSet(m map[string]bool) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(m))
	for u := range m {
		out[u] = nil
	}
	return out
}

// groupsOf returns the current groups of the given users, in one pass over
// Confluence's memberships.
func groupsOf(actual *Actual, users map[string]map[string]bool) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(users))
	for i := range actual.Groups {
		g := &actual.Groups[i]
		for _, m := range g.Members {
			if _, ok := users[m]; ok {
				if out[m] == nil {
					out[m] = map[string]bool{}
				}
				out[m][g.Name] = true
			}
		}
	}
	return out
}

func indexGlobal(m map[string][]string) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(m))
	for g, ps := range m {
		set := make(map[string]bool, len(ps))
		for _, p := range ps {
			set[p] = true
		}
		out[strings.ToLower(g)] = set
	}
	return out
}

func indexSpaces(m map[string][]SpaceGrant) map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(m))
	for g, gs := range m {
		set := make(map[string]bool, len(gs))
		for _, sg := range gs {
			set[sg.Space+"\x00"+sg.Permission] = true
		}
		out[strings.ToLower(g)] = set
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupSorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return slices.Compact(s)
}

// checkImpact returns the max_space_access_lost violation, if any. A plan
// whose permission reads failed cannot be checked and is refused when the
// threshold is set.
func checkImpact(s config.Safety, p *Plan) []string {
	limit, ok := s.MaxSpaceAccessLost.Limit(0)
	if !ok {
		return nil
	}
	imp := p.Impact
	if imp == nil {
		if hasRemovals(p) {
			return []string{"max_space_access_lost is set but the permissions this plan takes away could not be read (the target cannot read permissions)"}
		}
		return nil
	}
	if len(imp.Unknown) > 0 {
		return []string{"max_space_access_lost is set but the permissions this plan takes away could not be read: " + strings.Join(imp.Unknown, "; ")}
	}
	if imp.SpaceAccessLost > limit {
		return []string{fmt.Sprintf("the plan would take away access to spaces in %d (user, space) pairs, above max_space_access_lost = %d", imp.SpaceAccessLost, limit)}
	}
	return nil
}

func hasRemovals(p *Plan) bool {
	for i := range p.Changes {
		c := &p.Changes[i]
		if (c.Kind == KindMembership && c.Action == ActionRemove) || (c.Kind == KindGroup && c.Action == ActionDelete) ||
			(c.Kind == KindUser && (c.Action == ActionDisable || c.Action == ActionDelete)) {
			return true
		}
	}
	return false
}
