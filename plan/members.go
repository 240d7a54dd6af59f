package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Memberships are the bulk of a plan (a million for a large instance), so
// they are handled with interned user and group numbers: per user, sorted
// lists of group numbers for what Confluence has, what confsync manages
// and what the IdPs want, compared by binary search rather than through
// million-entry hash maps. They become Changes only once, in their final
// place in the plan.

// memberKey packs a user number and a group number.
type memberKey uint64

func mkey(uid, gid uint32) memberKey { return memberKey(uint64(uid)<<32 | uint64(gid)) }

// memberOp is a planned membership change.
type memberOp struct {
	uid, gid uint32
	reason   int32 // index in members.reasons
	idp      uint16
	action   Action
}

// gref is a group a source group maps onto, with the reason a membership
// in it would be added.
type gref struct {
	gid    uint32
	reason int32
}

// managedRef is a managed membership of a user.
type managedRef struct {
	gid uint32
	idx int32 // in Ownership.Memberships
}

// wantRef is a desired membership of a user and the IdP that wants it.
type wantRef struct {
	gid uint32
	idp uint16
}

// members is the membership half of the diff.
type members struct {
	userIdx    map[string]uint32
	userNames  []string
	groupIdx   map[string]uint32
	groupNames []string
	idpIdx     map[string]uint16
	idpNames   []string

	// Per user number, sorted by group number.
	actualBy  [][]uint32
	managedBy [][]managedRef
	wantedBy  [][]wantRef

	// gstate caches, per group number, whether memberships in it can be
	// planned: 0 not yet known, 1 yes, 2 no.
	gstate []uint8

	// mapped[read][source group] are the Confluence groups a source
	// group of a read maps onto (see diff.mapGroups); refs the same as
	// group numbers, defaultsAll and defaultsNew per read.
	mapped                   [][][]MappedGroup
	refs                     [][][]gref
	defaultsAll, defaultsNew [][]gref
	seen                     []uint32 // per group: stamp of the last user that listed it
	stamp                    uint32
	scratch                  []gref
	userOps                  []memberOp
	reasons                  []string
	reasonIdx                map[string]int32
	adds, removes            []memberOp
}

func (m *members) user(name string) uint32 {
	if id, ok := m.userIdx[name]; ok {
		return id
	}
	id := uint32(len(m.userNames))
	m.userIdx[name] = id
	m.userNames = append(m.userNames, name)
	m.actualBy = append(m.actualBy, nil)
	m.managedBy = append(m.managedBy, nil)
	m.wantedBy = append(m.wantedBy, nil)
	return id
}

func (m *members) group(name string) uint32 {
	if id, ok := m.groupIdx[name]; ok {
		return id
	}
	id := uint32(len(m.groupNames))
	m.groupIdx[name] = id
	m.groupNames = append(m.groupNames, name)
	m.gstate = append(m.gstate, 0)
	m.seen = append(m.seen, 0)
	return id
}

func (m *members) idp(name string) uint16 {
	if id, ok := m.idpIdx[name]; ok {
		return id
	}
	id := uint16(len(m.idpNames))
	m.idpIdx[name] = id
	m.idpNames = append(m.idpNames, name)
	return id
}

func (m *members) reason(r string) int32 {
	if i, ok := m.reasonIdx[r]; ok {
		return i
	}
	i := int32(len(m.reasons))
	m.reasonIdx[r] = i
	m.reasons = append(m.reasons, r)
	return i
}

// unknownID marks a name the first interning pass did not see.
const unknownID = ^uint32(0)

// initMembers interns Confluence's and the state's memberships into the
// per-user lists. The name lookups, the costly part, run on two goroutines
// over a map that is no longer written; names first seen in a membership
// (a member Confluence's user list lacks) are interned afterwards.
func (d *diff) initMembers(actual *Actual, own *Ownership) {
	m := &d.members
	nUsers := len(actual.Users) + len(own.Users)
	m.userIdx = make(map[string]uint32, nUsers)
	m.userNames = make([]string, 0, nUsers)
	m.actualBy = make([][]uint32, 0, nUsers)
	m.managedBy = make([][]managedRef, 0, nUsers)
	m.wantedBy = make([][]wantRef, 0, nUsers)
	m.groupIdx = make(map[string]uint32, len(actual.Groups)+len(own.Groups))
	m.idpIdx = map[string]uint16{}
	m.reasonIdx = map[string]int32{}
	for _, u := range actual.Users {
		m.user(strings.ToLower(u.Username))
	}
	for _, u := range own.Users {
		m.user(u.Username)
	}
	gids := make([]uint32, len(actual.Groups))
	total := 0
	for i, g := range actual.Groups {
		gids[i] = m.group(strings.ToLower(g.Name))
		total += len(g.Members)
	}
	for _, g := range own.Groups {
		m.group(g.Name)
	}

	// Confluence's memberships, as (user, group) numbers in group order.
	au := make([]uint32, total)
	ag := make([]uint32, total)
	ou := make([]uint32, len(own.Memberships))
	og := make([]uint32, len(own.Memberships))
	lookup := func(idx map[string]uint32, name string) uint32 {
		if id, ok := idx[name]; ok {
			return id
		}
		return unknownID
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The state lists memberships by user, so one user lookup serves a
		// run of them.
		prev, prevID := "", unknownID
		for i := range own.Memberships {
			mm := &own.Memberships[i]
			if mm.Username != prev || i == 0 {
				prev, prevID = mm.Username, lookup(m.userIdx, mm.Username)
			}
			ou[i], og[i] = prevID, lookup(m.groupIdx, mm.Group)
		}
	}()
	k := 0
	for i, g := range actual.Groups {
		for _, name := range g.Members {
			au[k], ag[k] = lookup(m.userIdx, strings.ToLower(name)), gids[i]
			k++
		}
	}
	wg.Wait()
	k = 0
	for _, g := range actual.Groups {
		for _, name := range g.Members {
			if au[k] == unknownID {
				au[k] = m.user(strings.ToLower(name))
			}
			k++
		}
	}
	for i := range own.Memberships {
		if ou[i] == unknownID {
			ou[i] = m.user(own.Memberships[i].Username)
		}
		if og[i] == unknownID {
			og[i] = m.group(own.Memberships[i].Group)
		}
	}

	// Counting sort by user: one flat array, a sub-slice per user. The
	// groups come in increasing number, so each user's list is sorted.
	n := len(m.userNames)
	off := make([]int32, n+1)
	for _, u := range au {
		off[u+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	flat := make([]uint32, total)
	next := slices.Clone(off[:n])
	for i, u := range au {
		flat[next[u]] = ag[i]
		next[u]++
	}
	for u := range n {
		if off[u] < off[u+1] {
			l := flat[off[u]:off[u+1]:off[u+1]]
			if !slices.IsSorted(l) {
				slices.Sort(l)
			}
			m.actualBy[u] = l
		}
	}

	clear(off)
	for _, u := range ou {
		off[u+1]++
	}
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	mflat := make([]managedRef, len(ou))
	copy(next, off[:n])
	for i, u := range ou {
		mflat[next[u]] = managedRef{gid: og[i], idx: int32(i)}
		next[u]++
	}
	for u := range n {
		if off[u] < off[u+1] {
			l := mflat[off[u]:off[u+1]:off[u+1]]
			slices.SortFunc(l, func(a, b managedRef) int { return int(int64(a.gid) - int64(b.gid)) })
			m.managedBy[u] = l
		}
	}
}

// prepareMembers turns the mapped groups into group numbers, once per
// source group rather than once per member.
func (d *diff) prepareMembers() {
	m := &d.members
	m.refs = make([][][]gref, len(d.reads))
	m.defaultsAll = make([][]gref, len(d.reads))
	m.defaultsNew = make([][]gref, len(d.reads))
	for ri, r := range d.reads {
		m.refs[ri] = make([][]gref, len(m.mapped[ri]))
		for gi, gs := range m.mapped[ri] {
			for _, g := range gs {
				m.refs[ri][gi] = append(m.refs[ri][gi], gref{gid: m.group(g.Name), reason: m.reason(addReason(g, r.idp.Name))})
			}
		}
		for _, n := range r.idp.Groups.DefaultGroupsAll {
			g := MappedGroup{Name: strings.ToLower(n), MayCreate: true}
			m.defaultsAll[ri] = append(m.defaultsAll[ri], gref{gid: m.group(g.Name), reason: m.reason(addReason(g, r.idp.Name))})
		}
		for _, n := range r.idp.Groups.DefaultGroupsNew {
			g := MappedGroup{Name: strings.ToLower(n), MayCreate: true}
			m.defaultsNew[ri] = append(m.defaultsNew[ri], gref{gid: m.group(g.Name), reason: m.reason(addReason(g, r.idp.Name))})
		}
	}
}

// groupOK reports whether memberships in a group can be planned.
func (d *diff) groupOK(gid uint32, idp string) bool {
	m := &d.members
	switch m.gstate[gid] {
	case 1:
		return true
	case 2:
		return false
	}
	name := m.groupNames[gid]
	ok := !d.protectedGroups[name] && d.usableGroup(name, idp)
	m.gstate[gid] = 2
	if ok {
		m.gstate[gid] = 1
	}
	return ok
}

func hasGroup(l []uint32, gid uint32) bool {
	_, ok := slices.BinarySearch(l, gid)
	return ok
}

func hasManaged(l []managedRef, gid uint32) bool {
	_, ok := slices.BinarySearchFunc(l, gid, func(r managedRef, g uint32) int { return int(int64(r.gid) - int64(g)) })
	return ok
}

func (m *members) isWanted(uid, gid uint32) bool {
	_, ok := slices.BinarySearchFunc(m.wantedBy[uid], gid, func(r wantRef, g uint32) int { return int(int64(r.gid) - int64(g)) })
	return ok
}

// planMemberships plans the memberships a desired user should have.
func (d *diff) planMemberships(u *desiredUser, isNew bool) {
	if d.leaving[u.Username] {
		return
	}
	m := &d.members
	uid := m.user(u.Username)
	idp := m.idp(u.IDP)
	m.stamp++
	refs := m.scratch[:0]
	add := func(r gref) {
		if m.seen[r.gid] != m.stamp {
			m.seen[r.gid] = m.stamp
			refs = append(refs, r)
		}
	}
	for _, sg := range u.sourceGroups {
		for _, r := range m.refs[u.read][sg] {
			add(r)
		}
	}
	for _, r := range m.defaultsAll[u.read] {
		add(r)
	}
	if isNew {
		for _, r := range m.defaultsNew[u.read] {
			add(r)
		}
	}
	want := make([]wantRef, 0, len(refs)+len(m.defaultsNew[u.read]))
	ops := m.userOps[:0]
	for _, r := range refs {
		if !d.groupOK(r.gid, u.IDP) {
			continue
		}
		want = append(want, wantRef{gid: r.gid, idp: idp})
		if !u.Active {
			continue // kept, not added: the user is deprovisioned
		}
		in := hasGroup(m.actualBy[uid], r.gid)
		switch {
		case in && !hasManaged(m.managedBy[uid], r.gid):
			ops = append(ops, memberOp{uid: uid, gid: r.gid, idp: idp, action: ActionAdopt,
				reason: m.reason("already in Confluence; confsync starts managing it")})
		case !in:
			ops = append(ops, memberOp{uid: uid, gid: r.gid, idp: idp, action: ActionAdd, reason: r.reason})
		}
	}
	if !isNew {
		// default_groups_new memberships were added at creation; the user
		// being no longer new is no reason to remove them.
		for _, r := range m.defaultsNew[u.read] {
			if m.seen[r.gid] != m.stamp {
				m.seen[r.gid] = m.stamp
				want = append(want, wantRef{gid: r.gid, idp: idp})
			}
		}
	}
	slices.SortFunc(want, func(a, b wantRef) int { return int(int64(a.gid) - int64(b.gid)) })
	m.wantedBy[uid] = want
	slices.SortFunc(ops, func(a, b memberOp) int { return strings.Compare(m.groupNames[a.gid], m.groupNames[b.gid]) })
	m.adds = append(m.adds, ops...)
	m.scratch, m.userOps = refs, ops
}

func addReason(g MappedGroup, idp string) string {
	if g.From == "" {
		return fmt.Sprintf("a default group of idp %q", idp)
	}
	return fmt.Sprintf("member of %q in idp %q", g.From, idp)
}

// planRemovals removes managed memberships the IdPs no longer want, and,
// in groups whose owner IdP is authoritative, every membership they do
// not want.
func (d *diff) planRemovals() {
	m := &d.members
	removed := map[memberKey]bool{}
	// Only a user present and active in a healthy IdP is a positive
	// signal that one of its memberships should go.
	userRemovable := func(user string) bool {
		if d.protectedUsers[user] || d.frozenUsers[user] || d.leaving[user] {
			return false
		}
		u := d.desired[user]
		return u != nil && u.Active && d.accounted[user]
	}
	for uid, list := range m.managedBy {
		if len(list) == 0 {
			continue
		}
		user := m.userNames[uid]
		if !userRemovable(user) {
			continue
		}
		for _, r := range list {
			if m.isWanted(uint32(uid), r.gid) {
				continue // the common case, and the cheapest test
			}
			mm := &d.own.Memberships[r.idx]
			if d.active[mm.IDP] == nil || d.protectedGroups[mm.Group] {
				continue
			}
			if d.groups[mm.Group] == nil && d.willDeleteGroup(mm.Group) {
				continue
			}
			removed[mkey(uint32(uid), r.gid)] = true
			reason := fmt.Sprintf("no longer a member in idp %q", d.desired[user].IDP)
			if !hasGroup(m.actualBy[uid], r.gid) {
				reason = "already gone from Confluence; confsync forgets it"
			}
			m.removes = append(m.removes, memberOp{uid: uint32(uid), gid: r.gid, idp: m.idp(mm.IDP), action: ActionRemove, reason: m.reason(reason)})
		}
	}
	for g, st := range d.groups {
		if !st.authoritative || !st.usable || d.protectedGroups[g] {
			continue
		}
		ag := d.actualGroups[g]
		if ag == nil {
			continue
		}
		gid := m.group(g)
		reason := m.reason(fmt.Sprintf("not a member in the IdPs; idp %q has keep_existing = false, so confsync is authoritative for this group", st.owner))
		for _, name := range ag.Members {
			u := strings.ToLower(name)
			uid := m.user(u)
			if d.protectedUsers[u] || d.frozenUsers[u] || removed[mkey(uid, gid)] || m.isWanted(uid, gid) {
				continue
			}
			du := d.desired[u]
			if du != nil && !du.Active {
				continue
			}
			// A disabled user keeps its memberships, whatever made it
			// leave (inactive in the IdP, gone from it, or disabled in
			// Confluence), so that a returning user gets them back; one
			// this plan deletes loses them with the account.
			if d.leaving[u] {
				continue
			}
			if a := d.actualUsers[u]; a != nil && !a.Active && du == nil {
				continue
			}
			removed[mkey(uid, gid)] = true
			m.removes = append(m.removes, memberOp{uid: uid, gid: gid, idp: m.idp(st.owner), action: ActionRemove, reason: reason})
		}
	}
	sort.Slice(m.removes, func(i, j int) bool {
		a, b := m.removes[i], m.removes[j]
		if a.gid != b.gid {
			return m.groupNames[a.gid] < m.groupNames[b.gid]
		}
		return m.userNames[a.uid] < m.userNames[b.uid]
	})
}

// ordered puts the changes in a safe order and fills DependsOn: groups
// before their memberships, users before theirs, removals before
// deactivations and deletions.
func (d *diff) ordered() []Change {
	m := &d.members
	n := len(d.groupCreates) + len(d.userChanges) + len(m.adds) + len(m.removes) + len(d.disables) + len(d.userDeletes) + len(d.groupDeletes)
	if n == 0 {
		return nil
	}
	sort.SliceStable(d.groupCreates, func(i, j int) bool { return d.groupCreates[i].Group < d.groupCreates[j].Group })
	out := make([]Change, 0, n)
	groupAt := map[string]int{}
	for _, c := range d.groupCreates {
		groupAt[c.Group] = len(out)
		out = append(out, c)
	}
	userAt := map[string]int{}
	lastOf := map[string]int{} // the last earlier change of each user
	for _, c := range d.userChanges {
		prev, hasPrev := lastOf[c.User]
		lastOf[c.User] = len(out)
		switch c.Action {
		case ActionCreate, ActionAdopt:
			if _, ok := userAt[c.User]; !ok {
				userAt[c.User] = len(out)
			}
		case ActionUpdate, ActionEnable:
			// recorded after the same user's earlier change (its adopt,
			// its update), so that the records cannot cross
			if hasPrev {
				c.DependsOn = []int{prev}
			}
		}
		out = append(out, c)
	}
	deps := make([]int, 0, 2*len(m.adds))
	for _, op := range m.adds {
		user, group := m.userNames[op.uid], m.groupNames[op.gid]
		start := len(deps)
		if j, ok := userAt[user]; ok {
			deps = append(deps, j)
		}
		if j, ok := groupAt[group]; ok {
			deps = append(deps, j)
		}
		c := Change{Action: op.action, Kind: KindMembership, User: user, Group: group, IDP: m.idpNames[op.idp],
			Reason: m.reasons[op.reason], StateOnly: op.action == ActionAdopt}
		if len(deps) > start {
			c.DependsOn = deps[start:len(deps):len(deps)]
		}
		out = append(out, c)
	}
	for _, op := range m.removes {
		out = append(out, Change{Action: op.action, Kind: KindMembership, User: m.userNames[op.uid], Group: m.groupNames[op.gid],
			IDP: m.idpNames[op.idp], Reason: m.reasons[op.reason]})
	}
	// A deactivation or deletion runs after the same user's update or
	// adoption, so that their records in the state cannot cross.
	for _, list := range [][]Change{d.disables, d.userDeletes} {
		for _, c := range list {
			if j, ok := lastOf[c.User]; ok {
				c.DependsOn = appendDep(c.DependsOn, j)
			}
			out = append(out, c)
		}
	}
	out = append(out, d.groupDeletes...)
	return out
}

// appendDep adds a dependency once, without sharing the slice's array.
func appendDep(deps []int, j int) []int {
	if slices.Contains(deps, j) {
		return deps
	}
	return append(deps[:len(deps):len(deps)], j)
}
