package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/confsync/confsync/plan"
)

// Properties every read selects besides the mapped ones.
var baseProperties = []string{"id", "accountEnabled", "userPrincipalName", "mail", "displayName"}

// userPage is one page of users: each user's properties as JSON values.
type userPage struct {
	Value    []map[string]json.RawMessage `json:"value"`
	NextLink string                       `json:"@odata.nextLink"`
}

// memberPage is one page of a group's members, or of groups.
type memberPage struct {
	Value []struct {
		Type        string `json:"@odata.type"`
		ID          string `json:"id"`
		DisplayName string `json:"displayName"`
	} `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// selectList is the $select of a user read: the base properties and the
// top-level properties the mapping reads.
func selectList(attrs []string) string {
	sel := slices.Clone(baseProperties)
	for _, a := range attrs {
		top, _, _ := strings.Cut(a, ".")
		if !slices.Contains(sel, top) {
			sel = append(sel, top)
		}
	}
	return strings.Join(sel, ",")
}

// Read returns every user of the tenant (or, with groups set, every
// transitive member of those groups) and every group (or those groups and
// the groups nested in them), memberships flattened.
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Graph's delta queries take no $filter on user properties, and
	// track the whole tenant: groups and user_filter need full reads.
	if s.useDelta && len(s.cfg.Groups) == 0 && s.cfg.UserFilter == "" {
		snap, err := s.readDelta(ctx, req.Attributes)
		if err == nil {
			s.logger.Info("graph read (delta)", "users", len(snap.Users), "groups", len(snap.Groups))
		}
		return snap, err
	}
	r := &reader{src: s, attrs: req.Attributes, users: map[string]int{}}
	var groups []groupRef
	var err error
	if len(s.cfg.Groups) == 0 {
		if err = r.readUsers(ctx, s.usersURL(req.Attributes), nil); err != nil {
			return nil, err
		}
		groups, err = s.allGroups(ctx)
	} else {
		groups, err = s.namedGroups(ctx)
		if err == nil {
			for _, g := range groups {
				if err = r.readUsers(ctx, s.transitiveUsersURL(g.id, req.Attributes), s.filterHeader()); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	members, groups, err := s.readMembers(ctx, groups, len(s.cfg.Groups) > 0, r.users)
	if err != nil {
		return nil, err
	}
	snap := &plan.Snapshot{Users: r.out, Groups: flatten(groups, members, r.out)}
	s.logger.Info("graph read", "users", len(snap.Users), "groups", len(snap.Groups))
	return snap, nil
}

func (s *Source) usersURL(attrs []string) string {
	q := url.Values{"$select": {selectList(attrs)}, "$top": {strconv.Itoa(PageSize)}}
	if s.cfg.UserFilter != "" {
		q.Set("$filter", s.cfg.UserFilter)
	}
	return s.cfg.Endpoint + "/v1.0/users?" + q.Encode()
}

func (s *Source) transitiveUsersURL(groupID string, attrs []string) string {
	q := url.Values{"$select": {selectList(attrs)}, "$top": {strconv.Itoa(PageSize)}}
	if s.cfg.UserFilter != "" {
		// Filtering a membership is an advanced query in Graph.
		q.Set("$filter", s.cfg.UserFilter)
		q.Set("$count", "true")
	}
	return s.cfg.Endpoint + "/v1.0/groups/" + url.PathEscape(groupID) + "/transitiveMembers/microsoft.graph.user?" + q.Encode()
}

func (s *Source) filterHeader() http.Header {
	if s.cfg.UserFilter == "" {
		return nil
	}
	return http.Header{"Consistencylevel": {"eventual"}}
}

// reader accumulates the users of one read.
type reader struct {
	src   *Source
	attrs []string
	users map[string]int // id -> index in out
	out   []plan.SourceUser
}

// readUsers reads a users collection, page by page.
func (r *reader) readUsers(ctx context.Context, next string, header http.Header) error {
	for next != "" {
		var page userPage
		if err := r.src.get(ctx, next, header, &page); err != nil {
			return err
		}
		for _, raw := range page.Value {
			u, ok := sourceUser(raw, r.attrs)
			if !ok {
				continue
			}
			if _, dup := r.users[u.ID]; dup {
				continue
			}
			r.users[u.ID] = len(r.out)
			r.out = append(r.out, u)
		}
		next = page.NextLink
	}
	return nil
}

// sourceUser converts one Graph user. ok is false without an id.
func sourceUser(raw map[string]json.RawMessage, attrs []string) (plan.SourceUser, bool) {
	var id string
	if err := json.Unmarshal(raw["id"], &id); err != nil || id == "" {
		return plan.SourceUser{}, false
	}
	u := plan.SourceUser{ID: id, Active: true, Attributes: make(map[string]string, len(attrs))}
	var enabled *bool
	if json.Unmarshal(raw["accountEnabled"], &enabled) == nil && enabled != nil && !*enabled {
		u.Active = false // only an explicit false deprovisions
	}
	for _, a := range attrs {
		if v, ok := propertyValue(raw, a); ok {
			u.Attributes[a] = v
		}
	}
	return u, true
}

// propertyValue renders a property as text: a string as is, a number or
// Boolean in JSON form, the first value of a collection, one level into a
// complex property for "a.b". Null and absent properties have no value.
func propertyValue(raw map[string]json.RawMessage, attr string) (string, bool) {
	top, sub, nested := strings.Cut(attr, ".")
	v, ok := raw[top]
	if !ok {
		return "", false
	}
	if nested {
		var m map[string]json.RawMessage
		if json.Unmarshal(v, &m) != nil {
			return "", false
		}
		if v, ok = m[sub]; !ok {
			return "", false
		}
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return "", false
	}
	switch t := x.(type) {
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case []any:
		if len(t) > 0 {
			if s, ok := t[0].(string); ok {
				return s, true
			}
		}
	}
	return "", false
}

// groupRef is a group being read.
type groupRef struct{ id, name string }

// allGroups lists every group of the tenant.
func (s *Source) allGroups(ctx context.Context) ([]groupRef, error) {
	q := url.Values{"$select": {"id,displayName"}, "$top": {strconv.Itoa(PageSize)}}
	var out []groupRef
	for next := s.cfg.Endpoint + "/v1.0/groups?" + q.Encode(); next != ""; {
		var page memberPage
		if err := s.get(ctx, next, nil, &page); err != nil {
			return nil, err
		}
		for _, g := range page.Value {
			out = append(out, groupRef{id: g.ID, name: g.DisplayName})
		}
		next = page.NextLink
	}
	return out, nil
}

// namedGroups finds the configured groups by displayName. A name that
// matches no group, or more than one, is an error: reading without it
// would deprovision its members.
func (s *Source) namedGroups(ctx context.Context) ([]groupRef, error) {
	var out []groupRef
	for _, name := range s.cfg.Groups {
		q := url.Values{
			"$select": {"id,displayName"},
			"$filter": {"displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"},
		}
		var page memberPage
		if err := s.get(ctx, s.cfg.Endpoint+"/v1.0/groups?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		switch len(page.Value) {
		case 0:
			return nil, fmt.Errorf("graph: no group named %q in tenant %s (groups in the graph block)", name, s.cfg.TenantID)
		case 1:
			out = append(out, groupRef{id: page.Value[0].ID, name: page.Value[0].DisplayName})
		default:
			return nil, fmt.Errorf("graph: %d groups are named %q in tenant %s; rename one so that the groups setting names one group", len(page.Value), name, s.cfg.TenantID)
		}
	}
	return out, nil
}

// directMembers are one group's direct members: users (as indexes into
// the users read, so that a million memberships hold no million strings)
// and nested groups.
type directMembers struct {
	users  []int32
	groups []groupRef
}

// readMembers reads the direct members of every group, Parallelism at a
// time. With discover set, nested groups not in groups are read too and
// appended. It returns the members by group id and the groups read.
func (s *Source) readMembers(ctx context.Context, groups []groupRef, discover bool, userIndex map[string]int) (map[string]*directMembers, []groupRef, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	members := make(map[string]*directMembers, len(groups))
	seen := make(map[string]bool, len(groups))
	for _, g := range groups {
		seen[g.id] = true
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	level := groups
	for len(level) > 0 {
		work := make(chan groupRef)
		var wg sync.WaitGroup
		var found []groupRef
		for range min(s.cfg.Parallelism, len(level)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for g := range work {
					m, err := s.groupMembers(ctx, g.id, discover, userIndex)
					mu.Lock()
					if err != nil {
						if firstErr == nil {
							firstErr = fmt.Errorf("members of group %q: %w", g.name, err)
							cancel()
						}
					} else {
						members[g.id] = m
						for _, ng := range m.groups {
							if discover && !seen[ng.id] {
								seen[ng.id] = true
								found = append(found, ng)
							}
						}
					}
					mu.Unlock()
				}
			}()
		}
	feed:
		for _, g := range level {
			select {
			case work <- g:
			case <-ctx.Done():
				break feed
			}
		}
		close(work)
		wg.Wait()
		if firstErr != nil {
			return nil, nil, firstErr
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		groups = append(groups, found...)
		level = found
	}
	return members, groups, nil
}

// groupMembers reads one group's direct members. Members that are not
// among the users read (filtered out, outside the named groups) are
// dropped here. Nested groups' names are only needed (and selected) when
// they are discovered rather than listed.
func (s *Source) groupMembers(ctx context.Context, id string, discover bool, userIndex map[string]int) (*directMembers, error) {
	sel := "id"
	if discover {
		sel = "id,displayName"
	}
	q := url.Values{"$select": {sel}, "$top": {strconv.Itoa(PageSize)}}
	m := &directMembers{}
	for next := s.cfg.Endpoint + "/v1.0/groups/" + url.PathEscape(id) + "/members?" + q.Encode(); next != ""; {
		var page memberPage
		if err := s.get(ctx, next, nil, &page); err != nil {
			return nil, err
		}
		for _, o := range page.Value {
			switch o.Type {
			case "#microsoft.graph.user":
				if ui, ok := userIndex[o.ID]; ok {
					m.users = append(m.users, int32(ui))
				}
			case "#microsoft.graph.group":
				m.groups = append(m.groups, groupRef{id: o.ID, name: o.DisplayName})
			}
			// Devices, contacts and service principals are not people.
		}
		next = page.NextLink
	}
	return m, nil
}

// flatten turns direct memberships into each group's users, nested groups
// included, each user once, cycles harmless.
func flatten(groups []groupRef, members map[string]*directMembers, users []plan.SourceUser) []plan.SourceGroup {
	gi := make(map[string]int, len(groups))
	for i, g := range groups {
		gi[g.id] = i
	}
	userMark := make([]int, len(users))
	groupMark := make([]int, len(groups))
	out := make([]plan.SourceGroup, 0, len(groups))
	var stack []int
	for i, g := range groups {
		stamp := i + 1
		var ids []string
		stack = append(stack[:0], i)
		groupMark[i] = stamp
		for len(stack) > 0 {
			cur := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			m := members[groups[cur].id]
			if m == nil {
				continue
			}
			for _, ui := range m.users {
				if userMark[ui] != stamp {
					userMark[ui] = stamp
					ids = append(ids, users[ui].ID)
				}
			}
			for _, ng := range m.groups {
				if ni, ok := gi[ng.id]; ok && groupMark[ni] != stamp {
					groupMark[ni] = stamp
					stack = append(stack, ni)
				}
			}
		}
		out = append(out, plan.SourceGroup{ID: g.id, Name: g.name, MemberIDs: ids})
	}
	return out
}
