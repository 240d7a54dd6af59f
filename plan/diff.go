package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/confsync/confsync/config"
)

// sourceKey names an IdP user by its stable id.
type sourceKey struct{ idp, id string }

// desiredUser is a mapped user that won its username, with its IdP groups.
type desiredUser struct {
	MappedUser
	idp  *config.IDP
	read int // index in diff.reads
	// sourceGroups are indexes in the read's Snapshot.Groups.
	sourceGroups []int32
}

// groupState is what the plan knows of a Confluence group it maps onto.
type groupState struct {
	usable bool   // exists in Confluence or is created by this plan
	owner  string // the highest-priority IdP mapping onto it
	// authoritative: the owner IdP has keep_existing = false.
	authoritative bool
	notified      bool
}

// diff computes the changes from the desired state, Confluence's state
// and the ownership state.
type diff struct {
	cfg   *config.Config
	reads []idpRead
	// active lists the IdPs read and healthy; frozen ones are the others:
	// nothing they manage is changed.
	active  map[string]*config.IDP
	allRead bool

	protectedUsers, protectedGroups map[string]bool

	actualUsers  map[string]*ActualUser
	actualGroups map[string]*ActualGroup

	managedUsers    map[string]*ManagedUser
	managedBySource map[sourceKey]*ManagedUser
	managedGroups   map[string]*ManagedGroup
	own             *Ownership
	actual          *Actual
	actualFP        actualFP

	desired map[string]*desiredUser
	// present holds every source id read, mapped or not: a managed user
	// whose id is present is never deprovisioned for being "gone".
	present map[sourceKey]bool
	// scopeIDs, in a targeted plan, are the ids its reads covered; a
	// managed user outside them is not judged gone.
	scopeIDs map[sourceKey]bool
	// mappedBefore, in a targeted plan, are the groups the IdPs mapped
	// onto in the last full plan (Scope.Mapped).
	mappedBefore map[string]string
	groups       map[string]*groupState
	mappers      map[string]*GroupMapper
	accounted    map[string]bool // managed usernames the desired pass handled
	// frozenUsers are usernames confsync must not touch in this plan
	// (pending renames, users of frozen IdPs).
	frozenUsers map[string]bool
	// leaving are users being disabled or deleted.
	leaving map[string]bool

	// changes by phase, see ordered.
	groupCreates, userChanges, disables, userDeletes, groupDeletes []Change
	notices                                                        []Notice
	// now is the plan's time, for users.delete_after (plan/grace.go).
	now time.Time

	members
}

func newDiff(cfg *config.Config, own *Ownership, actual *Actual, reads []idpRead, selected []*config.IDP) *diff {
	d := &diff{
		cfg:             cfg,
		reads:           reads,
		active:          map[string]*config.IDP{},
		protectedUsers:  map[string]bool{},
		protectedGroups: map[string]bool{},
		actualUsers:     make(map[string]*ActualUser, len(actual.Users)),
		actualGroups:    make(map[string]*ActualGroup, len(actual.Groups)),
		own:             own,
		managedUsers:    make(map[string]*ManagedUser, len(own.Users)),
		managedBySource: make(map[sourceKey]*ManagedUser, len(own.Users)),
		managedGroups:   make(map[string]*ManagedGroup, len(own.Groups)),
		desired:         map[string]*desiredUser{},
		present:         map[sourceKey]bool{},
		groups:          map[string]*groupState{},
		mappers:         map[string]*GroupMapper{},
		accounted:       map[string]bool{},
		frozenUsers:     map[string]bool{},
		leaving:         map[string]bool{},
	}
	for _, r := range reads {
		d.active[r.idp.Name] = r.idp
		d.mappers[r.idp.Name] = NewGroupMapper(r.idp)
	}
	d.allRead = len(reads) == len(cfg.IDPs)
	for _, u := range cfg.Confluence.ProtectedUsers {
		d.protectedUsers[strings.ToLower(u)] = true
	}
	if cfg.Confluence.Username != "" {
		// The account confsync calls Confluence with is never changed:
		// disabling it would lock confsync out.
		d.protectedUsers[strings.ToLower(cfg.Confluence.Username)] = true
	}
	if actual.Caller != "" {
		// The same for a personal access token's owner, as Confluence names it.
		d.protectedUsers[actual.Caller] = true
	}
	for _, g := range cfg.Confluence.ProtectedGroups {
		d.protectedGroups[strings.ToLower(g)] = true
	}
	for i := range actual.Users {
		u := &actual.Users[i]
		d.actualUsers[strings.ToLower(u.Username)] = u
	}
	for i := range actual.Groups {
		g := &actual.Groups[i]
		d.actualGroups[strings.ToLower(g.Name)] = g
	}
	for i := range own.Users {
		m := &own.Users[i]
		d.managedUsers[m.Username] = m
		d.managedBySource[sourceKey{m.IDP, m.SourceID}] = m
		if d.active[m.IDP] == nil {
			d.frozenUsers[m.Username] = true
		}
	}
	for i := range own.Groups {
		d.managedGroups[own.Groups[i].Name] = &own.Groups[i]
	}
	d.actual = actual
	return d
}

func (d *diff) notice(n Notice) { d.notices = append(d.notices, n) }

func (d *diff) run() {
	// Interning Confluence's and the state's memberships and mapping the
	// IdPs' users are independent: use both cores.
	// The actual-state digest then needs nothing else: it carries on
	// beside the diff.
	done, fpDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fpDone)
		d.initMembers(d.actual, d.own)
		in := d.members.snapshot()
		close(done)
		d.actualFP = d.actualDigest(in)
	}()
	defer func() { <-fpDone }()
	d.buildDesired()
	<-done
	d.mapGroups()
	d.mapGroupsBefore()
	d.prepareMembers()
	// Sized for the worst case, a first import, which would otherwise
	// leave a trail of outgrown arrays behind.
	estimate := 0
	for _, r := range d.reads {
		for _, g := range r.snap.Groups {
			estimate += len(g.MemberIDs)
		}
	}
	d.members.adds = make([]memberOp, 0, estimate)
	names := slices.Sorted(maps.Keys(d.desired))
	creates := 0
	for _, n := range names {
		if d.actualUsers[n] == nil {
			creates++
		}
	}
	d.userChanges = make([]Change, 0, creates+len(names)/50+16)
	for _, name := range names {
		d.planUser(d.desired[name])
	}
	d.planGone()
	byUser := func(a, b Change) int { return strings.Compare(a.User, b.User) }
	slices.SortStableFunc(d.disables, byUser)
	slices.SortStableFunc(d.userDeletes, byUser)
	d.planRemovals()
	d.planGroupDeletes()
}

// buildDesired maps every healthy IdP's users, in priority order, so that
// the first IdP to claim a username keeps it.
func (d *diff) buildDesired() {
	for ri, r := range d.reads {
		users := r.snap.Users
		index := make(map[string]int32, len(users))
		for i := range users {
			index[users[i].ID] = int32(i)
		}
		groupsOf := make([][]int32, len(users))
		for gi, g := range r.snap.Groups {
			for _, id := range g.MemberIDs {
				if i, ok := index[id]; ok {
					groupsOf[i] = append(groupsOf[i], int32(gi))
				}
			}
		}
		for i := range users {
			su := &users[i]
			d.present[sourceKey{r.idp.Name, su.ID}] = true
			mu, err := MapUser(r.idp, *su)
			if err != nil {
				d.notice(Notice{Severity: SeverityWarning, Kind: NoticeMapping, IDP: r.idp.Name,
					Subject: "idp user " + nonEmpty(su.Attributes[mustUsernameAttr(r.idp)], su.ID),
					Summary: err.Error(), Detail: "This user is left out of the plan; nothing already in Confluence for it changes. Fix the IdP value or the attribute mapping.", LeftOut: true})
				continue
			}
			if prev, ok := d.desired[mu.Username]; ok {
				if prev.IDP == mu.IDP && mu.SourceID < prev.SourceID {
					// Two people of one IdP with one username: the
					// smaller id wins, whatever order the source gave.
					d.desired[mu.Username], mu = &desiredUser{MappedUser: mu, idp: r.idp, read: ri, sourceGroups: groupsOf[i]}, prev.MappedUser
				}
				prev = d.desired[mu.Username]
				d.notice(Notice{Severity: SeverityInfo, Kind: NoticeConflict, IDP: mu.IDP, Subject: "user " + mu.Username,
					Summary: fmt.Sprintf("claimed by idp %q (id %s, priority %d) and idp %q (id %s, priority %d); %q wins",
						prev.IDP, prev.SourceID, prev.idp.Priority, mu.IDP, mu.SourceID, r.idp.Priority, prev.IDP)})
				continue
			}
			d.desired[mu.Username] = &desiredUser{MappedUser: mu, idp: r.idp, read: ri, sourceGroups: groupsOf[i]}
		}
	}
}

func mustUsernameAttr(idp *config.IDP) string {
	u, _, _ := userAttributeNames(idp)
	return u
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mapGroups decides the fate of every Confluence group the healthy IdPs
// map onto, whether or not it has members.
func (d *diff) mapGroups() {
	d.mapped = make([][][]MappedGroup, len(d.reads))
	for ri, r := range d.reads {
		gm := d.mappers[r.idp.Name]
		d.mapped[ri] = make([][]MappedGroup, len(r.snap.Groups))
		for gi, sg := range r.snap.Groups {
			mapped := gm.Map(sg.Name)
			d.mapped[ri][gi] = mapped
			for _, g := range mapped {
				d.ensureGroup(g, r.idp)
			}
		}
		for _, n := range r.idp.Groups.DefaultGroupsAll {
			d.ensureGroup(MappedGroup{Name: strings.ToLower(n), MayCreate: true}, r.idp)
		}
		for _, n := range r.idp.Groups.DefaultGroupsNew {
			d.ensureGroup(MappedGroup{Name: strings.ToLower(n), MayCreate: true}, r.idp)
		}
	}
}

// mapGroupsBefore, in a targeted plan, maps the groups the touched users
// are in that the last full plan found mapped: a full read would map them
// again, since no IdP group was created, renamed or deleted since.
func (d *diff) mapGroupsBefore() {
	for _, name := range slices.Sorted(maps.Keys(d.actualGroups)) {
		owner, ok := d.mappedBefore[name]
		if !ok || d.groups[name] != nil || d.active[owner] == nil {
			continue
		}
		d.ensureGroup(MappedGroup{Name: name}, d.active[owner])
	}
}

// mappedOwners returns the groups mapGroups mapped and their owners.
func (d *diff) mappedOwners() map[string]string {
	out := make(map[string]string, len(d.groups))
	for name, st := range d.groups {
		out[name] = st.owner
	}
	return out
}

// ensureGroup plans a mapped group's creation or adoption, once; it
// reports whether memberships in it can be planned.
func (d *diff) ensureGroup(g MappedGroup, idp *config.IDP) bool {
	st := d.groups[g.Name]
	if st == nil {
		st = &groupState{owner: idp.Name, authoritative: !idp.Groups.KeepExisting}
		d.groups[g.Name] = st
		switch {
		case d.protectedGroups[g.Name]:
			st.notified = true
			d.notice(Notice{Severity: SeverityInfo, Kind: NoticeProtected, IDP: idp.Name, Subject: "group " + g.Name,
				Summary: "is protected: the mapping reaches it, but confsync leaves it and its memberships alone"})
			return false
		case config.ValidGroupName(g.Name) != nil:
			st.notified = true
			from := "a default group"
			if g.From != "" {
				from = fmt.Sprintf("IdP group %q", g.From)
			}
			d.notice(Notice{Severity: SeverityWarning, Kind: NoticeGroup, IDP: idp.Name, Subject: "group " + g.Name,
				Summary: fmt.Sprintf("%s maps to %q, which Confluence would reject: %v; the group and memberships in it are left out", from, g.Name, config.ValidGroupName(g.Name)),
				Detail:  "Nothing is created for this group. Rename the group in the IdP, or map it onto a valid name with a map block or groups.rename.", LeftOut: true})
			return false
		}
		_, exists := d.actualGroups[g.Name]
		mg := d.managedGroups[g.Name]
		switch {
		case exists && mg == nil:
			st.usable = true
			d.groupCreates = append(d.groupCreates, Change{Action: ActionAdopt, Kind: KindGroup, Group: g.Name, IDP: idp.Name, StateOnly: true,
				Reason: fmt.Sprintf("an existing Confluence group matches a group idp %q maps onto; confsync starts managing it", idp.Name)})
		case exists:
			st.usable = true
		case g.MayCreate:
			st.usable = true
			d.groupCreates = append(d.groupCreates, Change{Action: ActionCreate, Kind: KindGroup, Group: g.Name, IDP: idp.Name,
				Reason: createGroupReason(g, idp)})
		}
		return st.usable
	}
	if !st.usable && g.MayCreate && !d.protectedGroups[g.Name] && config.ValidGroupName(g.Name) == nil {
		st.usable = true
		d.groupCreates = append(d.groupCreates, Change{Action: ActionCreate, Kind: KindGroup, Group: g.Name, IDP: idp.Name,
			Reason: createGroupReason(g, idp)})
	}
	return st.usable
}

func createGroupReason(g MappedGroup, idp *config.IDP) string {
	if g.From == "" {
		return fmt.Sprintf("a default group of idp %q, missing in Confluence", idp.Name)
	}
	return fmt.Sprintf("idp %q maps group %q onto it and Confluence lacks it", idp.Name, g.From)
}

// usableGroup reports whether memberships in a mapped group can be
// planned, telling the admin once when they cannot.
func (d *diff) usableGroup(name, idp string) bool {
	st := d.groups[name]
	if st == nil {
		return false
	}
	if !st.usable && !st.notified {
		st.notified = true
		d.notice(Notice{Severity: SeverityWarning, Kind: NoticeGroup, IDP: idp, Subject: "group " + name,
			Summary: "is mapped but does not exist in Confluence, and create_missing is off; memberships in it are skipped",
			Detail:  "Create the group in Confluence, set create_missing = true, or map the IdP group onto an existing group."})
	}
	return st.usable
}

func userValues(displayName, email string, active bool, custom map[string]string) *UserValues {
	return &UserValues{DisplayName: displayName, Email: email, Active: active, Custom: custom}
}

// planUser plans one desired user: create or adopt, attribute updates,
// enable or disable, memberships.
func (d *diff) planUser(u *desiredUser) {
	name := u.Username
	if d.protectedUsers[name] {
		d.accounted[name] = true
		d.notice(Notice{Severity: SeverityInfo, Kind: NoticeProtected, IDP: u.IDP, Subject: "user " + name,
			Summary: fmt.Sprintf("is protected: idp %q has a user with this name (id %s), but confsync leaves the account alone", u.IDP, u.SourceID)})
		return
	}
	a := d.actualUsers[name]
	var previous string
	old := d.managedBySource[sourceKey{u.IDP, u.SourceID}]
	if old != nil && old.Username != name {
		if other := d.desired[old.Username]; other != nil && (other.IDP != u.IDP || other.SourceID != u.SourceID) {
			// Another person now has the old name, and this plan gives
			// them its account: this one is planned as new.
			old = nil
		}
	}
	if old != nil && old.Username != name {
		if a != nil && d.actualUsers[old.Username] == nil {
			// The admin renamed the account in Confluence: move ownership.
			previous = old.Username
			d.accounted[old.Username] = true
		} else {
			d.accounted[old.Username] = true
			d.frozenUsers[old.Username] = true
			d.notice(Notice{Severity: SeverityWarning, Kind: NoticeRename, IDP: u.IDP, Subject: "user " + old.Username,
				Summary: fmt.Sprintf("was renamed to %q in idp %q (id %s); Confluence's REST API cannot rename users", name, u.IDP, u.SourceID),
				Detail: fmt.Sprintf("confsync leaves %q as it is and does not create %q. Either rename the user in Confluence "+
					"(Administration > Users > Edit username) and run plan again, which moves confsync's ownership to the new name, "+
					"or keep the old name with a users.username_transform rule in the idp block.", old.Username, name)})
			return
		}
	}
	m := d.managedUsers[name]
	if previous != "" {
		m = d.managedUsers[previous]
	}
	d.accounted[name] = true
	if m != nil && d.frozenUsers[name] && previous == "" {
		d.notice(Notice{Severity: SeverityInfo, Kind: NoticeSkipped, IDP: u.IDP, Subject: "user " + name,
			Summary: fmt.Sprintf("is managed for idp %q, which is not part of this plan; it is left alone", m.IDP)})
		return
	}
	after := userValues(u.DisplayName, u.Email, u.Active, u.Custom)
	isNew := false
	switch {
	case a == nil:
		if !u.Active {
			return // nothing to create for a deprovisioned person
		}
		if !u.idp.Users.Create {
			d.notice(Notice{Severity: SeverityInfo, Kind: NoticeSkipped, IDP: u.IDP, Subject: "user " + name,
				Summary: fmt.Sprintf("is not in Confluence and idp %q has users.create = false", u.IDP)})
			return
		}
		isNew = true
		d.userChanges = append(d.userChanges, Change{Action: ActionCreate, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
			After: after, Reason: fmt.Sprintf("active in idp %q and not in Confluence", u.IDP)})
	default:
		if m == nil || m.IDP != u.IDP || m.SourceID != u.SourceID || previous != "" {
			reason := "an existing Confluence user has this username; confsync starts managing it"
			switch {
			case previous != "":
				reason = fmt.Sprintf("renamed in Confluence from %q, as the IdP renamed it; confsync's ownership follows", previous)
			case m != nil && m.IDP != u.IDP:
				reason = fmt.Sprintf("now claimed by idp %q (id %s), was managed for idp %q", u.IDP, u.SourceID, m.IDP)
			case m != nil:
				reason = fmt.Sprintf("idp %q now has another person (id %s, was %s) with this username", u.IDP, u.SourceID, m.SourceID)
			}
			d.userChanges = append(d.userChanges, Change{Action: ActionAdopt, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
				PreviousUsername: previous, StateOnly: true, After: d.recordedValues(a, m, u), Reason: reason})
		}
		if u.idp.Users.Update && (u.Active || !u.idp.Users.Delete) {
			d.planUpdate(u, a, m, after)
		}
		switch {
		case u.Active && !a.Active:
			if u.idp.Users.Reactivate {
				d.userChanges = append(d.userChanges, Change{Action: ActionEnable, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
					Before: userValues(a.DisplayName, a.Email, false, nil), After: after, Reason: fmt.Sprintf("active in idp %q, disabled in Confluence", u.IDP)})
			} else {
				d.notice(Notice{Severity: SeverityInfo, Kind: NoticeSkipped, IDP: u.IDP, Subject: "user " + name,
					Summary: fmt.Sprintf("is active in idp %q but disabled in Confluence, and users.reactivate = false", u.IDP)})
			}
		case !u.Active:
			d.deprovision(name, u.IDP, u.SourceID, u.idp, a, fmt.Sprintf("deactivated in idp %q", u.IDP))
		}
	}
	d.planMemberships(u, isNew)
}

// recordedValues are the values an adopt records: what Confluence shows,
// completed by the desired values for what it hides.
func (d *diff) recordedValues(a *ActualUser, m *ManagedUser, u *desiredUser) *UserValues {
	email := a.Email
	if email == "" && m != nil {
		email = m.Email
	}
	var custom map[string]string
	if m != nil {
		custom = m.Custom
	}
	return userValues(a.DisplayName, email, a.Active, custom)
}

func (d *diff) planUpdate(u *desiredUser, a *ActualUser, m *ManagedUser, after *UserValues) {
	beforeEmail := a.Email
	if beforeEmail == "" && m != nil {
		beforeEmail = m.Email
	}
	var beforeCustom map[string]string
	if m != nil {
		beforeCustom = m.Custom
	}
	var attrs []AttributeChange
	if a.DisplayName != u.DisplayName {
		attrs = append(attrs, AttributeChange{Name: "display_name", Before: a.DisplayName, After: u.DisplayName})
	}
	if !strings.EqualFold(beforeEmail, u.Email) || (beforeEmail != u.Email && a.Email == "") {
		attrs = append(attrs, AttributeChange{Name: "email", Before: beforeEmail, After: u.Email})
	}
	stateOnly := len(attrs) == 0
	keys := map[string]bool{}
	for k := range beforeCustom {
		keys[k] = true
	}
	for k := range u.Custom {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, bok := beforeCustom[k]
		n, nok := u.Custom[k]
		if b != n || bok != nok {
			attrs = append(attrs, AttributeChange{Name: "custom." + k, Before: b, After: n, StateOnly: true})
		}
	}
	if len(attrs) == 0 {
		return
	}
	d.userChanges = append(d.userChanges, Change{Action: ActionUpdate, Kind: KindUser, User: u.Username, IDP: u.IDP, SourceID: u.SourceID,
		Before: userValues(a.DisplayName, beforeEmail, a.Active, beforeCustom), After: after, Attributes: attrs, StateOnly: stateOnly,
		Reason: fmt.Sprintf("attributes differ from idp %q", u.IDP)})
}

// deprovision plans the disable or delete of a user that a positive signal
// says is gone.
func (d *diff) deprovision(name, idpName, sourceID string, idp *config.IDP, a *ActualUser, reason string) {
	if idp.Users.DeleteAfter > 0 {
		d.deprovisionWithGrace(name, idpName, sourceID, idp, a, reason)
		return
	}
	before := userValues(a.DisplayName, a.Email, a.Active, nil)
	switch {
	case idp.Users.Delete:
		d.leaving[name] = true
		d.userDeletes = append(d.userDeletes, Change{Action: ActionDelete, Kind: KindUser, User: name, IDP: idpName, SourceID: sourceID,
			Before: before, Reason: reason + "; users.delete = true"})
	case !a.Active:
	case idp.Users.Deactivate:
		d.leaving[name] = true
		after := *before
		after.Active = false
		d.disables = append(d.disables, Change{Action: ActionDisable, Kind: KindUser, User: name, IDP: idpName, SourceID: sourceID,
			Before: before, After: &after, Reason: reason})
	default:
		d.notice(Notice{Severity: SeverityInfo, Kind: NoticeSkipped, IDP: idpName, Subject: "user " + name,
			Summary: reason + ", but users.deactivate = false"})
	}
}

// planGone deprovisions managed users that a complete read of their IdP
// no longer has.
func (d *diff) planGone() {
	for i := range d.own.Users {
		name := d.own.Users[i].Username
		m := d.managedUsers[name]
		if d.accounted[name] || d.frozenUsers[name] || d.protectedUsers[name] {
			continue
		}
		idp := d.active[m.IDP]
		key := sourceKey{m.IDP, m.SourceID}
		if idp == nil || d.present[key] || (d.scopeIDs != nil && !d.scopeIDs[key]) {
			// Not read, or present but unmappable or lost to a higher
			// priority IdP, or outside a targeted plan: no positive
			// signal.
			continue
		}
		a := d.actualUsers[name]
		if a == nil {
			continue
		}
		d.deprovision(name, m.IDP, m.SourceID, idp, a, fmt.Sprintf("gone from a complete read of idp %q", m.IDP))
	}
}

// willDeleteGroup reports whether planGroupDeletes will delete the group.
func (d *diff) willDeleteGroup(name string) bool {
	mg := d.managedGroups[name]
	if mg == nil || !mg.Created || !d.allRead || d.protectedGroups[name] || d.groups[name] != nil {
		return false
	}
	_, exists := d.actualGroups[name]
	return exists
}

// planGroupDeletes deletes groups confsync created that no IdP maps onto
// any more. It only does so when every configured IdP was read: a group
// an unread IdP may still map is never deleted.
func (d *diff) planGroupDeletes() {
	for _, name := range slices.Sorted(maps.Keys(d.managedGroups)) {
		if !d.willDeleteGroup(name) {
			continue
		}
		d.groupDeletes = append(d.groupDeletes, Change{Action: ActionDelete, Kind: KindGroup, Group: name, IDP: d.managedGroups[name].IDP,
			Reason: "created by confsync and no IdP maps onto it any more"})
	}
}
