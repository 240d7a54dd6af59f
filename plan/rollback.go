package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// NoticeRollback marks a change of the rolled-back run that the rollback
// plan leaves out: a later run changed the object again.
const NoticeRollback = "rollback"

// Rollback is the desired state of a rollback plan: for each object the
// rolled-back run changed, the state it had before the run, built from
// the values the audit log recorded (NewRollback). Compute given one
// (Inputs.Rollback) reads no IdP: it diffs this override against
// Confluence and the ownership state, and orders, fingerprints and checks
// the result like any plan. Objects the run did not touch are left alone.
type Rollback struct {
	// RunID is the run reversed.
	RunID       string
	Users       []RollbackUser
	Groups      []RollbackGroup
	Memberships []RollbackMembership
	// Notices are the run's changes left out, with why.
	Notices []Notice
}

// RollbackUser is a user as it was before the run.
type RollbackUser struct {
	Username, IDP, SourceID string
	// Values are the user's values before the run; Active false for a user
	// the run created or enabled (a rollback disables it, it never deletes
	// an account).
	Values UserValues
	// Recreate is true when the run deleted the user: a rollback creates
	// it again when it is missing.
	Recreate bool
	// Action is what the run did to the user.
	Action Action
	// Groups are the groups a deleted user was in, restored when it is
	// created again.
	Groups []string
}

// RollbackGroup is a group as it was before the run.
type RollbackGroup struct {
	Name, IDP string
	// Exists is false for a group the run created (the rollback deletes
	// it), true for one the run deleted (the rollback creates it).
	Exists bool
}

// RollbackMembership is a membership as it was before the run.
type RollbackMembership struct {
	User, Group, IDP string
	// Member is false for a membership the run added, true for one it
	// removed.
	Member bool
}

// ErrNothingToRollBack is returned by NewRollback for a run that changed
// nothing, or whose changes were not recorded.
var ErrNothingToRollBack = errors.New("nothing to roll back")

// RollbackRuns is how far back in the audit log LoadRollback looks for
// the run to roll back.
const RollbackRuns = 10000

// LoadRollback reads the audit log and returns the rollback of the run
// runID (NewRollback).
func LoadRollback(ctx context.Context, st StateStore, runID string) (*Rollback, error) {
	runs, err := st.Runs(ctx, RollbackRuns)
	if err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	return NewRollback(runs, runID)
}

// NewRollback builds the desired state that reverses the run runID from
// the audit log's runs (newest first, as StateStore.Runs returns them;
// they must reach back to the run). A change the run made is reversed
// unless a later run changed the same object (or, for a membership, its
// user or group) again: that one becomes a notice.
func NewRollback(runs []Run, runID string) (*Rollback, error) {
	at := slices.IndexFunc(runs, func(r Run) bool { return r.ID == runID })
	if at < 0 {
		return nil, fmt.Errorf("no run %q in the audit log (confsync history lists the runs)", runID)
	}
	r := &runs[at]
	if r.Outcome != "applied" && r.Outcome != "partial" {
		return nil, fmt.Errorf("run %s was %s and changed nothing: %w", runID, r.Outcome, ErrNothingToRollBack)
	}
	// changedBy names, per object, the first later run that changed it;
	// deletedBy the first that deleted it.
	changedBy, deletedBy := map[string]string{}, map[string]string{}
	for i := at - 1; i >= 0; i-- {
		for _, a := range runs[i].Actions {
			if a.Error != "" {
				continue
			}
			if _, ok := changedBy[a.Object]; !ok {
				changedBy[a.Object] = runs[i].ID
			}
			if _, ok := deletedBy[a.Object]; !ok && a.Action == ActionDelete.String() {
				deletedBy[a.Object] = runs[i].ID
			}
		}
	}
	rb := &Rollback{RunID: runID}
	recorded := 0
	seen := map[string]bool{}
	skip := func(c *Change, object, by string) {
		rb.Notices = append(rb.Notices, Notice{Severity: SeverityWarning, Kind: NoticeRollback, IDP: c.IDP, Subject: c.Object(),
			Summary: fmt.Sprintf("no longer applies: %s was changed by run %s", object, by),
			Detail:  fmt.Sprintf("run %s did %s %s; the rollback leaves it as it is now.", runID, c.Action, c.Object())})
	}
	for _, a := range r.Actions {
		c := a.Change
		if a.Error != "" || c == nil || c.StateOnly && c.Kind != KindUser {
			continue
		}
		recorded++
		obj := c.Object()
		if seen[obj] {
			continue // the first change of an object holds its state before the run
		}
		seen[obj] = true
		if by := changedBy[obj]; by != "" {
			skip(c, obj, by)
			continue
		}
		switch c.Kind {
		case KindUser:
			if u, ok := rollbackUser(c); ok {
				rb.Users = append(rb.Users, u)
			}
		case KindGroup:
			switch c.Action {
			case ActionCreate, ActionDelete:
				rb.Groups = append(rb.Groups, RollbackGroup{Name: c.Group, IDP: c.IDP, Exists: c.Action == ActionDelete})
			}
		case KindMembership:
			// A membership no longer applies when its user or group
			// was since deleted, or its group re-created.
			user, group := "user "+c.User, "group "+c.Group
			if by := firstNonEmpty(deletedBy[user], changedBy[group]); by != "" {
				what := user
				if deletedBy[user] == "" {
					what = group
				}
				skip(c, what, by)
				continue
			}
			switch c.Action {
			case ActionAdd, ActionRemove:
				rb.Memberships = append(rb.Memberships, RollbackMembership{User: c.User, Group: c.Group, IDP: c.IDP, Member: c.Action == ActionRemove})
			}
		}
	}
	if recorded == 0 {
		return nil, fmt.Errorf("run %s recorded no change it made (runs applied before confsync kept each change's values cannot be rolled back): %w", runID, ErrNothingToRollBack)
	}
	return rb, nil
}

// rollbackUser is the state before the run of a user the change c made.
func rollbackUser(c *Change) (RollbackUser, bool) {
	u := RollbackUser{Username: c.User, IDP: c.IDP, SourceID: c.SourceID, Action: c.Action}
	switch c.Action {
	case ActionCreate, ActionEnable:
		if c.After != nil {
			u.Values = *c.After
		}
		u.Values.Active = false
	case ActionUpdate, ActionDisable, ActionDelete:
		if c.Before == nil {
			return u, false
		}
		u.Values = *c.Before
		if c.Before.Custom == nil && c.Action == ActionUpdate {
			u.Values.Custom = map[string]string{}
		}
		u.Recreate = c.Action == ActionDelete
		if u.Recreate {
			u.Groups = c.Groups
		}
	default:
		return u, false // adopts changed nothing in Confluence
	}
	return u, true
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// runRollback is diff.run for a rollback: the same interning and actual
// digest, then the override's changes in the diff's phases, for ordered.
func (d *diff) runRollback(rb *Rollback) {
	d.initMembers(d.actual, d.own)
	d.actualFP = d.actualDigest(d.members.snapshot())
	m := &d.members
	why := "rollback of run " + rb.RunID
	for _, g := range rb.Groups {
		if d.protectedGroups[g.Name] {
			d.protectedNotice("group "+g.Name, g.IDP)
			continue
		}
		_, exists := d.actualGroups[g.Name]
		switch {
		case g.Exists && !exists:
			d.groupCreates = append(d.groupCreates, Change{Action: ActionCreate, Kind: KindGroup, Group: g.Name, IDP: g.IDP,
				Reason: why + ", which deleted it"})
		case !g.Exists && exists:
			d.groupDeletes = append(d.groupDeletes, Change{Action: ActionDelete, Kind: KindGroup, Group: g.Name, IDP: g.IDP,
				Reason: why + ", which created it"})
		}
	}
	for i := range rb.Users {
		d.rollbackUser(&rb.Users[i], why)
	}
	for _, ms := range rb.Memberships {
		if d.protectedUsers[ms.User] || d.protectedGroups[ms.Group] {
			d.protectedNotice("membership "+ms.User+" -> "+ms.Group, ms.IDP)
			continue
		}
		uid, gid := m.user(ms.User), m.group(ms.Group)
		has := hasGroup(m.actualBy[uid], gid) || slices.ContainsFunc(m.adds, func(op memberOp) bool { return op.uid == uid && op.gid == gid })
		switch {
		case ms.Member && !has:
			m.adds = append(m.adds, memberOp{uid: uid, gid: gid, idp: m.idp(ms.IDP), action: ActionAdd, reason: m.reason(why + ", which removed it")})
		case !ms.Member && (has || hasManaged(m.managedBy[uid], gid)):
			m.removes = append(m.removes, memberOp{uid: uid, gid: gid, idp: m.idp(ms.IDP), action: ActionRemove, reason: m.reason(why + ", which added it")})
		}
	}
}

func (d *diff) protectedNotice(subject, idp string) {
	d.notice(Notice{Severity: SeverityInfo, Kind: NoticeProtected, IDP: idp, Subject: subject,
		Summary: "is protected: the rollback leaves it alone"})
}

// rollbackUser plans one user back to its values before the run.
func (d *diff) rollbackUser(u *RollbackUser, why string) {
	name := u.Username
	if d.protectedUsers[name] {
		d.protectedNotice("user "+name, u.IDP)
		return
	}
	want := u.Values
	a := d.actualUsers[name]
	mu := d.managedUsers[name]
	if a == nil {
		if u.Recreate {
			v := want
			v.Active = true
			d.userChanges = append(d.userChanges, Change{Action: ActionCreate, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
				After: &v, Reason: why + ", which deleted it"})
			m := &d.members
			uid := m.user(name)
			for _, g := range u.Groups {
				_, exists := d.actualGroups[g]
				recreated := slices.ContainsFunc(d.groupCreates, func(c Change) bool { return c.Group == g })
				if d.protectedGroups[g] || !exists && !recreated {
					continue
				}
				m.adds = append(m.adds, memberOp{uid: uid, gid: m.group(g), idp: m.idp(u.IDP), action: ActionAdd,
					reason: m.reason(why + ", which deleted the user and its memberships")})
			}
			if !want.Active {
				off := want
				d.leaving[name] = true
				d.disables = append(d.disables, Change{Action: ActionDisable, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
					Before: &v, After: &off, Reason: why + ", which deleted it disabled"})
			}
		}
		return
	}
	beforeEmail := a.Email
	var beforeCustom map[string]string
	if mu != nil {
		if beforeEmail == "" {
			beforeEmail = mu.Email
		}
		beforeCustom = mu.Custom
	}
	before := userValues(a.DisplayName, beforeEmail, a.Active, beforeCustom)
	var attrs []AttributeChange
	if a.DisplayName != want.DisplayName && want.DisplayName != "" {
		attrs = append(attrs, AttributeChange{Name: "display_name", Before: a.DisplayName, After: want.DisplayName})
	}
	if want.Email != "" && !strings.EqualFold(beforeEmail, want.Email) {
		attrs = append(attrs, AttributeChange{Name: "email", Before: beforeEmail, After: want.Email})
	}
	if u.Action == ActionUpdate {
		for _, k := range sortedKeys(unionKeys(beforeCustom, want.Custom)) {
			b, bok := beforeCustom[k]
			n, nok := want.Custom[k]
			if b != n || bok != nok {
				attrs = append(attrs, AttributeChange{Name: "custom." + k, Before: b, After: n, StateOnly: true})
			}
		}
	}
	after := userValues(nonEmpty(want.DisplayName, a.DisplayName), nonEmpty(want.Email, beforeEmail), a.Active, beforeCustom)
	if u.Action == ActionUpdate {
		after.Custom = want.Custom
	}
	if len(attrs) > 0 {
		stateOnly := !slices.ContainsFunc(attrs, func(c AttributeChange) bool { return !c.StateOnly })
		d.userChanges = append(d.userChanges, Change{Action: ActionUpdate, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
			Before: before, After: after, Attributes: attrs, StateOnly: stateOnly, Reason: why + ", which changed these attributes"})
	}
	switch {
	case want.Active && !a.Active:
		v := *after
		v.Active = true
		d.userChanges = append(d.userChanges, Change{Action: ActionEnable, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
			Before: userValues(a.DisplayName, beforeEmail, false, nil), After: &v, Reason: why + ", which disabled or deleted it"})
	case !want.Active && a.Active:
		v := *after
		v.Active = false
		d.leaving[name] = true
		d.disables = append(d.disables, Change{Action: ActionDisable, Kind: KindUser, User: name, IDP: u.IDP, SourceID: u.SourceID,
			Before: userValues(a.DisplayName, beforeEmail, true, nil), After: &v, Reason: why + ", which created or enabled it"})
	}
}

func unionKeys(a, b map[string]string) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// rollbackDigest is the desired fingerprint of a rollback plan: the run
// and the override, so that apply FILE recomputing it from a changed audit
// log (a later run) finds the plan stale.
func rollbackDigest(rb *Rollback) string {
	var users, groups, members, notices multiset
	users.add("run", rb.RunID)
	for _, u := range rb.Users {
		users.add(u.Username, u.IDP, u.SourceID, u.Values.DisplayName, u.Values.Email, boolString(u.Values.Active),
			customString(u.Values.Custom), boolString(u.Recreate), u.Action.String(), strings.Join(u.Groups, ","))
	}
	for _, g := range rb.Groups {
		groups.add(g.Name, g.IDP, boolString(g.Exists))
	}
	for _, ms := range rb.Memberships {
		members.add(ms.User, ms.Group, ms.IDP, boolString(ms.Member))
	}
	for _, n := range rb.Notices {
		notices.add(n.Subject, n.Summary)
	}
	return digest(&users, &groups, &members, &notices)
}

// noteDeletedGroups records on each user delete the groups the user is in,
// which Confluence drops with the account.
func noteDeletedGroups(p *Plan, actual *Actual) {
	deleted := map[string]int{}
	for i := range p.Changes {
		if c := &p.Changes[i]; c.Kind == KindUser && c.Action == ActionDelete {
			deleted[c.User] = i
		}
	}
	if len(deleted) == 0 {
		return
	}
	for _, g := range actual.Groups {
		for _, m := range g.Members {
			if i, ok := deleted[strings.ToLower(m)]; ok {
				p.Changes[i].Groups = append(p.Changes[i].Groups, strings.ToLower(g.Name))
			}
		}
	}
}
