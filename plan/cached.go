package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// A plan made with --refresh=false compares against the Confluence state
// recorded in the store (ConfluenceCache). Every full read replaces that
// record and every apply edits it with the changes it made, so that it
// stays what confsync last saw. Before such a plan is applied, the users
// and groups it changes are read again and each change's premise checked
// (CheckChangedObjects): a plan is never applied over a hand edit it did
// not see.

// recordApplied edits the recorded Confluence state with the changes an
// apply made. It is best effort for the record but not hidden: an error
// is returned for the caller to join.
func recordApplied(ctx context.Context, st StateStore, p *Plan, errs []error, at time.Time) error {
	cache, ok := st.(ConfluenceCache)
	if !ok {
		return nil
	}
	var e ConfluenceEdits
	for i := range p.Changes {
		if errs[i] == nil {
			e.add(&p.Changes[i])
		}
	}
	if e.empty() {
		return nil
	}
	if err := cache.EditConfluenceState(context.WithoutCancel(ctx), e, at); err != nil {
		return fmt.Errorf("record the changes in the recorded Confluence state: %w", err)
	}
	return nil
}

func (e *ConfluenceEdits) empty() bool { return e.Size() == 0 }

// add records what one applied change did to Confluence.
func (e *ConfluenceEdits) add(c *Change) {
	if c.StateOnly {
		return
	}
	switch c.Kind {
	case KindUser:
		switch c.Action {
		case ActionCreate:
			e.PutUsers = append(e.PutUsers, ActualUser{Username: c.User, DisplayName: c.After.DisplayName, Email: c.After.Email, Active: true})
		case ActionUpdate, ActionEnable, ActionDisable:
			active := c.After.Active
			if c.Action == ActionUpdate {
				active = c.Before.Active
			}
			e.PutUsers = append(e.PutUsers, ActualUser{Username: c.User, DisplayName: c.After.DisplayName, Email: c.After.Email, Active: active})
		case ActionDelete:
			e.DeleteUsers = append(e.DeleteUsers, c.User)
		}
	case KindGroup:
		switch c.Action {
		case ActionCreate:
			e.PutGroups = append(e.PutGroups, c.Group)
		case ActionDelete:
			e.DeleteGroups = append(e.DeleteGroups, c.Group)
		}
	case KindMembership:
		switch c.Action {
		case ActionAdd:
			e.AddMembers = append(e.AddMembers, MemberPair{Username: c.User, Group: c.Group})
		case ActionRemove:
			e.RemoveMembers = append(e.RemoveMembers, MemberPair{Username: c.User, Group: c.Group})
		}
	}
}

// CheckChangedObjects reads the users and groups p changes from Confluence
// now and returns a *StaleError naming those that no longer are as the
// plan found them: a user to create that exists, a user to update, enable,
// disable or delete that is gone or whose values differ, a group to create
// that exists or to delete that is gone, a membership to add that is there
// or to remove that is not. It costs requests in proportion to the plan,
// not to the site.
func CheckChangedObjects(ctx context.Context, t Target, p *Plan) error {
	r, ok := t.(ScopedReader)
	if !ok {
		return errNoScopedReader
	}
	var users, groups []string
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.StateOnly {
			continue
		}
		if c.User != "" {
			users = append(users, c.User)
		}
		if c.Group != "" {
			groups = append(groups, c.Group)
		}
	}
	if len(users)+len(groups) == 0 {
		return nil
	}
	now, err := r.ReadScope(ctx, TargetScope{Users: sortedUnique(users), Groups: sortedUnique(groups)})
	if err != nil {
		return fmt.Errorf("read the users and groups the plan changes: %w", err)
	}
	found := indexActual(now)
	var reasons []string
	total := 0
	for i := range p.Changes {
		if why := found.premiseBroken(&p.Changes[i]); why != "" {
			total++
			if len(reasons) < maxStaleChanges {
				reasons = append(reasons, why)
			}
		}
	}
	if total == 0 {
		return nil
	}
	msg := "Confluence changed since the state the plan compared against was recorded: " + strings.Join(reasons, ", ")
	if total > len(reasons) {
		msg += fmt.Sprintf(" and %d more", total-len(reasons))
	}
	return &StaleError{Reasons: []string{msg}}
}

// actualIndex finds a scoped read's users and groups by lower-case name.
type actualIndex struct {
	users   map[string]*ActualUser
	members map[string]map[string]bool // group -> usernames
}

func indexActual(a *Actual) actualIndex {
	ix := actualIndex{users: map[string]*ActualUser{}, members: map[string]map[string]bool{}}
	for i := range a.Users {
		ix.users[strings.ToLower(a.Users[i].Username)] = &a.Users[i]
	}
	for _, g := range a.Groups {
		m := map[string]bool{}
		for _, u := range g.Members {
			m[strings.ToLower(u)] = true
		}
		ix.members[strings.ToLower(g.Name)] = m
	}
	return ix
}

// premiseBroken says how Confluence now contradicts what c assumed ("" when
// it does not).
func (ix actualIndex) premiseBroken(c *Change) string {
	if c.StateOnly {
		return ""
	}
	user := ix.users[c.User]
	members, group := ix.members[c.Group]
	switch {
	case c.Kind == KindUser && c.Action == ActionCreate:
		if user != nil {
			return "user " + c.User + " exists"
		}
	case c.Kind == KindUser:
		if user == nil {
			return "user " + c.User + " is gone"
		}
		if c.Before != nil && (user.DisplayName != c.Before.DisplayName || user.Active != c.Before.Active ||
			(user.Email != "" && !strings.EqualFold(user.Email, c.Before.Email))) {
			return "user " + c.User + " was changed"
		}
	case c.Kind == KindGroup && c.Action == ActionCreate:
		if group {
			return "group " + c.Group + " exists"
		}
	case c.Kind == KindGroup && c.Action == ActionDelete:
		if !group {
			return "group " + c.Group + " is gone"
		}
	case c.Kind == KindMembership && (c.Action == ActionAdd || c.Action == ActionRemove):
		in := members[c.User]
		if c.Action == ActionAdd && in {
			return "user " + c.User + " is in group " + c.Group + " already"
		}
		if c.Action == ActionRemove && !in {
			return "user " + c.User + " is no longer in group " + c.Group
		}
	}
	return ""
}

// errNoScopedReader is returned when a plan made against the recorded
// state is applied to a target that cannot read part of Confluence.
var errNoScopedReader = errors.New("this Confluence client cannot read single users and groups, so a plan made with --refresh=false cannot be checked before it is applied")

// ConfluenceEditsBetween returns the edits that turn the recorded state old
// into the read now (Caller aside): a store replacing a recorded state
// with a new full read writes only what changed.
func ConfluenceEditsBetween(old, now *Actual) ConfluenceEdits {
	var e ConfluenceEdits
	oldUsers := make(map[string]ActualUser, len(old.Users))
	for _, u := range old.Users {
		oldUsers[u.Username] = u
	}
	for _, u := range now.Users {
		if o, ok := oldUsers[u.Username]; !ok || o != u {
			e.PutUsers = append(e.PutUsers, u)
		}
		delete(oldUsers, u.Username)
	}
	for name := range oldUsers {
		e.DeleteUsers = append(e.DeleteUsers, name)
	}
	slices.Sort(e.DeleteUsers)
	oldGroups := make(map[string][]string, len(old.Groups))
	for _, g := range old.Groups {
		oldGroups[g.Name] = g.Members
	}
	for _, g := range now.Groups {
		before, ok := oldGroups[g.Name]
		if !ok {
			e.PutGroups = append(e.PutGroups, g.Name)
		}
		delete(oldGroups, g.Name)
		had := make(map[string]bool, len(before))
		for _, m := range before {
			had[m] = true
		}
		for _, m := range g.Members {
			if !had[m] {
				e.AddMembers = append(e.AddMembers, MemberPair{Username: m, Group: g.Name})
			}
			delete(had, m)
		}
		for _, m := range slices.Sorted(maps.Keys(had)) {
			e.RemoveMembers = append(e.RemoveMembers, MemberPair{Username: m, Group: g.Name})
		}
	}
	for name := range oldGroups {
		e.DeleteGroups = append(e.DeleteGroups, name)
	}
	slices.Sort(e.DeleteGroups)
	return e
}

// Size counts the rows the edits write.
func (e *ConfluenceEdits) Size() int {
	return len(e.PutUsers) + len(e.DeleteUsers) + len(e.PutGroups) + len(e.DeleteGroups) + len(e.AddMembers) + len(e.RemoveMembers)
}
