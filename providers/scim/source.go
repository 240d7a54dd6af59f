package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/scim/filter"
	"github.com/confsync/confsync/providers/store"
)

// Path is a parsed SCIM attribute path as used in attribute mappings:
// `userName`, `name.givenName`, `emails[type eq "work"].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
type Path struct {
	p filter.Path
}

// ParseAttrPath parses a SCIM attribute path of a mapping, as the source
// evaluates it against what an IdP pushed. config checks the same paths,
// when it loads `attributes` blocks of SCIM IdPs, with the same grammar's
// strict form (filter.ParseStrictPath).
func ParseAttrPath(s string) (Path, error) {
	p, err := filter.ParsePath(s)
	if err != nil {
		return Path{}, fmt.Errorf("invalid SCIM attribute path %q: %w", s, err)
	}
	return Path{p: p}, nil
}

// Eval returns the value the path addresses in a user resource (as
// rendered: id, userName, active and the stored attributes), and whether
// there is one. Multi-valued results give the first value; complex values
// give their "value" sub-attribute; booleans and numbers are formatted.
//
// One fallback: a value filter on emails that selects nothing falls back
// to the primary e-mail, then to the first one, so that the default
// mapping `emails[type eq "work"].value` works for IdPs that send e-mails
// without a type (Okta) or typed "other".
func (p Path) Eval(res map[string]any) (string, bool) {
	vals := p.values(res)
	if len(vals) == 0 && p.p.Filter != nil && strings.EqualFold(p.p.Attr.Name, "emails") && p.p.Attr.URN == "" {
		fallback := p
		fallback.p.Filter = &filter.Compare{Attr: filter.AttrPath{Name: "primary"}, Op: filter.Eq, Value: true, Raw: "true"}
		vals = fallback.values(res)
		if len(vals) == 0 {
			fallback.p.Filter = nil
			fallback.p.Attr.Sub = p.p.SubAfter
			vals = fallback.values(res)
		}
	}
	for _, v := range vals {
		if s, ok := scalarString(v); ok {
			return s, true
		}
	}
	return "", false
}

func (p Path) values(res map[string]any) []any {
	if p.p.Filter == nil {
		return filter.Resolve(res, p.p.Attr)
	}
	var out []any
	parent := p.p.Attr.Name
	ce := func(_, name, _ string) bool { return userKind.caseExact("", parent, name) }
	for _, el := range filter.Resolve(res, p.p.Attr) {
		m, ok := el.(map[string]any)
		if !ok || !filter.Match(p.p.Filter, m, ce) {
			continue
		}
		if p.p.SubAfter == "" {
			out = append(out, m)
			continue
		}
		if v, ok := filter.Lookup(m, p.p.SubAfter); ok && v != nil {
			out = append(out, v)
		}
	}
	return out
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case map[string]any:
		if sv, ok := filter.Lookup(x, "value"); ok {
			return scalarString(sv)
		}
	}
	return "", false
}

// Source reads the identities a SCIM IdP pushed into the store, as the plan
// engine's desired state.
type Source struct {
	st  store.SCIM
	idp string
}

var (
	_ plan.Source       = (*Source)(nil)
	_ plan.ScopedSource = (*Source)(nil)
)

// NewSource returns the plan.Source of a SCIM IdP.
func NewSource(st store.SCIM, idp string) *Source { return &Source{st: st, idp: idp} }

// sourcePageSize is the page size of a source read.
const sourcePageSize = 1000

// attrMapping is a ReadRequest's attributes, parsed: how Read and
// ReadScope turn a stored user into a plan.SourceUser.
type attrMapping struct {
	names []string
	paths []Path
}

func newAttrMapping(req plan.ReadRequest) (attrMapping, error) {
	a := attrMapping{names: req.Attributes, paths: make([]Path, len(req.Attributes))}
	for i, name := range req.Attributes {
		p, err := ParseAttrPath(name)
		if err != nil {
			return attrMapping{}, err
		}
		a.paths[i] = p
	}
	return a, nil
}

// sourceUser evaluates the mapping's attributes on a stored user, rendered
// as the SCIM server renders it.
func (s *Source) sourceUser(a attrMapping, u *store.User) (plan.SourceUser, error) {
	m, err := userMap(u)
	if err != nil {
		return plan.SourceUser{}, fmt.Errorf("user %s of %s: stored attributes: %w", u.ID, s.idp, err)
	}
	res := userResource(u, m, "")
	su := plan.SourceUser{ID: u.ID, Active: u.Active, Attributes: map[string]string{}}
	for i, p := range a.paths {
		if v, ok := p.Eval(res); ok {
			su.Attributes[a.names[i]] = v
		}
	}
	return su, nil
}

// Read returns every user and group of the IdP. Group MemberIDs hold the
// users of the group, nested groups flattened (cycles are harmless).
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	a, err := newAttrMapping(req)
	if err != nil {
		return nil, err
	}
	snap := &plan.Snapshot{}
	users := map[string]bool{}
	err = s.eachUser(ctx, func(u *store.User) error {
		su, err := s.sourceUser(a, u)
		if err != nil {
			return err
		}
		snap.Users = append(snap.Users, su)
		users[u.ID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	groups, err := s.allGroups(ctx)
	if err != nil {
		return nil, err
	}
	direct := map[string][]store.Member{}
	err = s.st.Memberships(ctx, s.idp, func(groupID string, m store.Member) error {
		direct[groupID] = append(direct[groupID], m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read memberships of %s: %w", s.idp, err)
	}
	isGroup := make(map[string]bool, len(groups))
	for _, g := range groups {
		isGroup[g.ID] = true
	}
	for _, g := range groups {
		snap.Groups = append(snap.Groups, plan.SourceGroup{ID: g.ID, Name: g.DisplayName, MemberIDs: flatMembers(g.ID, direct, isGroup, users)})
	}
	return snap, nil
}

// eachUser calls fn with every user of the IdP, by id.
func (s *Source) eachUser(ctx context.Context, fn func(u *store.User) error) error {
	after := ""
	for {
		page, err := s.st.ListUsers(ctx, s.idp, store.Page{After: after, Limit: sourcePageSize})
		if err != nil {
			return fmt.Errorf("read users of %s: %w", s.idp, err)
		}
		for _, u := range page {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(page) < sourcePageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// allGroups lists every group of the IdP, by id.
func (s *Source) allGroups(ctx context.Context) ([]*store.Group, error) {
	var groups []*store.Group
	after := ""
	for {
		page, err := s.st.ListGroups(ctx, s.idp, store.Page{After: after, Limit: sourcePageSize})
		if err != nil {
			return nil, fmt.Errorf("read groups of %s: %w", s.idp, err)
		}
		groups = append(groups, page...)
		if len(page) < sourcePageSize {
			return groups, nil
		}
		after = page[len(page)-1].ID
	}
}

// flatMembers returns the sorted ids of the users under a group, nested
// groups flattened.
func flatMembers(groupID string, direct map[string][]store.Member, isGroup, users map[string]bool) []string {
	members := map[string]bool{}
	visited := map[string]bool{groupID: true}
	stack := []string{groupID}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, m := range direct[id] {
			switch {
			case isGroup[m.ID]:
				// Entra adds nested groups without a type; the id decides.
				if !visited[m.ID] {
					visited[m.ID] = true
					stack = append(stack, m.ID)
				}
			case users[m.ID]:
				members[m.ID] = true
			}
		}
	}
	return sortedKeys(members)
}

// sortedKeys returns a map's keys in order (never nil).
func sortedKeys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// ReadScope returns the users t names that still exist, the users under
// t's groups (nested groups flattened), and every group any of them is in,
// directly or through nested groups, with MemberIDs restricted to the
// users returned. Attributes are evaluated as Read evaluates them. Its
// reads are point lookups and the member lists of t's groups and what
// they nest, and GroupsOf upward from the users returned: the cost grows
// with the scope, never with the IdP. Counts are the IdP's whole
// population.
func (s *Source) ReadScope(ctx context.Context, req plan.ReadRequest, t plan.Touched) (*plan.Snapshot, plan.SourceCounts, error) {
	a, err := newAttrMapping(req)
	if err != nil {
		return nil, plan.SourceCounts{}, err
	}
	counts, err := s.counts(ctx)
	if err != nil {
		return nil, plan.SourceCounts{}, err
	}
	sc := &scopeRead{s: s, ctx: ctx, users: map[string]*store.User{}, kinds: map[string]memberKind{}, parents: map[string][]string{}, groups: map[string]*store.Group{}}
	for _, id := range t.Users {
		if err := sc.addUser(id); err != nil {
			return nil, counts, err
		}
	}
	for _, id := range t.Groups {
		if err := sc.addUsersUnder(id); err != nil {
			return nil, counts, err
		}
	}
	snap, err := sc.snapshot(a)
	if err != nil {
		return nil, counts, err
	}
	return snap, counts, nil
}

// counts is the IdP's whole population.
func (s *Source) counts(ctx context.Context) (plan.SourceCounts, error) {
	users, err := s.st.CountUsers(ctx, s.idp)
	if err != nil {
		return plan.SourceCounts{}, fmt.Errorf("count users of %s: %w", s.idp, err)
	}
	groups, err := s.st.CountGroups(ctx, s.idp)
	if err != nil {
		return plan.SourceCounts{}, fmt.Errorf("count groups of %s: %w", s.idp, err)
	}
	return plan.SourceCounts{Users: users, Groups: groups, At: time.Now().UTC()}, nil
}

// memberKind is what a member id names, decided as Read decides: a group
// of the IdP first, then a user, else nothing (a dangling id).
type memberKind int

const (
	kindNone memberKind = iota + 1
	kindGroup
	kindUser
)

// scopeRead is one ReadScope's reads, each id looked up once.
type scopeRead struct {
	s   *Source
	ctx context.Context
	// users are the users returned.
	users map[string]*store.User
	kinds map[string]memberKind
	// groups caches the groups looked up; parents the groups each id is a
	// direct member of (GroupsOf).
	groups  map[string]*store.Group
	parents map[string][]string
}

// addUser adds the user of that id, when it exists.
func (sc *scopeRead) addUser(id string) error {
	if _, ok := sc.users[id]; ok {
		return nil
	}
	u, err := sc.s.st.GetUser(sc.ctx, sc.s.idp, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read user %s of %s: %w", id, sc.s.idp, err)
	}
	sc.users[id] = u
	return nil
}

// kind looks up what a member id names.
func (sc *scopeRead) kind(id string) (memberKind, error) {
	if k, ok := sc.kinds[id]; ok {
		return k, nil
	}
	k := kindNone
	if g, err := sc.group(id); err != nil {
		return 0, err
	} else if g != nil {
		k = kindGroup
	} else {
		u, err := sc.s.st.GetUser(sc.ctx, sc.s.idp, id)
		switch {
		case err == nil:
			k = kindUser
			sc.users[id] = u
		case !errors.Is(err, store.ErrNotFound):
			return 0, fmt.Errorf("read user %s of %s: %w", id, sc.s.idp, err)
		}
	}
	sc.kinds[id] = k
	return k, nil
}

// group returns the group of that id, nil when there is none.
func (sc *scopeRead) group(id string) (*store.Group, error) {
	if g, ok := sc.groups[id]; ok {
		return g, nil
	}
	g, err := sc.s.st.GetGroup(sc.ctx, sc.s.idp, id)
	if errors.Is(err, store.ErrNotFound) {
		g, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read group %s of %s: %w", id, sc.s.idp, err)
	}
	sc.groups[id] = g
	return g, nil
}

// addUsersUnder adds the users under a group, nested groups flattened
// (each group's members read once, so cycles end).
func (sc *scopeRead) addUsersUnder(groupID string) error {
	visited := map[string]bool{groupID: true}
	stack := []string{groupID}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		err := sc.eachMember(id, func(m store.Member) error {
			k, err := sc.kind(m.ID)
			if err != nil {
				return err
			}
			if k == kindGroup && !visited[m.ID] {
				visited[m.ID] = true
				stack = append(stack, m.ID)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// eachMember calls fn with a group's direct members, paged; a group that
// no longer exists has none.
func (sc *scopeRead) eachMember(groupID string, fn func(store.Member) error) error {
	after := ""
	for {
		page, err := sc.s.st.ListMembers(sc.ctx, sc.s.idp, groupID, store.Page{After: after, Limit: sourcePageSize})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read members of group %s of %s: %w", groupID, sc.s.idp, err)
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(page) < sourcePageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// parentsOf returns the groups an id is a direct member of.
func (sc *scopeRead) parentsOf(id string) ([]string, error) {
	if p, ok := sc.parents[id]; ok {
		return p, nil
	}
	p, err := sc.s.st.GroupsOf(sc.ctx, sc.s.idp, id)
	if err != nil {
		return nil, fmt.Errorf("read groups of %s in %s: %w", id, sc.s.idp, err)
	}
	sc.parents[id] = p
	return p, nil
}

// ancestors returns the groups a user is in, directly or through nested
// groups.
func (sc *scopeRead) ancestors(userID string) ([]string, error) {
	visited := map[string]bool{}
	var out []string
	stack := []string{userID}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		ps, err := sc.parentsOf(id)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !visited[p] {
				visited[p] = true
				out = append(out, p)
				stack = append(stack, p)
			}
		}
	}
	return out, nil
}

// snapshot maps the users found and builds the groups they are in, each
// with its members among them.
func (sc *scopeRead) snapshot(a attrMapping) (*plan.Snapshot, error) {
	snap := &plan.Snapshot{}
	members := map[string]map[string]bool{}
	for _, id := range sortedKeys(sc.users) {
		su, err := sc.s.sourceUser(a, sc.users[id])
		if err != nil {
			return nil, err
		}
		snap.Users = append(snap.Users, su)
		groups, err := sc.ancestors(id)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if members[g] == nil {
				members[g] = map[string]bool{}
			}
			members[g][id] = true
		}
	}
	for _, id := range sortedKeys(members) {
		g, err := sc.group(id)
		if err != nil {
			return nil, err
		}
		if g == nil {
			continue // deleted since its membership was read
		}
		snap.Groups = append(snap.Groups, plan.SourceGroup{ID: id, Name: g.DisplayName, MemberIDs: sortedKeys(members[id])})
	}
	return snap, nil
}
