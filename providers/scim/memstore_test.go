package scim

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/providers/store"
)

// memStore is an in-memory Store for unit tests of the handler logic. The
// end-to-end tests run against the real SQLite store.
type memStore struct {
	mu      sync.Mutex
	users   map[string]*store.User
	groups  map[string]*store.Group
	members map[string]map[string]store.Member // group id -> member id -> member
	hashes  map[string][]string
	rev     int64
}

func newMemStore() *memStore {
	return &memStore{users: map[string]*store.User{}, groups: map[string]*store.Group{}, members: map[string]map[string]store.Member{}, hashes: map[string][]string{}}
}

var _ Store = (*memStore)(nil)

func cloneUser(u *store.User) *store.User {
	c := *u
	c.Attributes = append(json.RawMessage(nil), u.Attributes...)
	return &c
}

func cloneGroup(g *store.Group) *store.Group {
	c := *g
	c.Attributes = append(json.RawMessage(nil), g.Attributes...)
	return &c
}

func (m *memStore) TokenHashes(_ context.Context, idp string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.hashes[idp]), nil
}

func (m *memStore) CreateUser(_ context.Context, u *store.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.users {
		if o.IDP == u.IDP && strings.EqualFold(o.UserName, u.UserName) {
			return store.ErrConflict
		}
	}
	now := time.Now().UTC()
	u.Version, u.Created, u.Modified = 1, now, now
	m.users[u.ID] = cloneUser(u)
	m.rev++
	return nil
}

func (m *memStore) GetUser(_ context.Context, idp, id string) (*store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok || u.IDP != idp {
		return nil, store.ErrNotFound
	}
	return cloneUser(u), nil
}

func (m *memStore) ReplaceUser(_ context.Context, u *store.User, ifVersion int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.users[u.ID]
	if !ok || cur.IDP != u.IDP {
		return store.ErrNotFound
	}
	if ifVersion != 0 && cur.Version != ifVersion {
		return store.ErrVersionMismatch
	}
	for _, o := range m.users {
		if o.ID != u.ID && o.IDP == u.IDP && strings.EqualFold(o.UserName, u.UserName) {
			return store.ErrConflict
		}
	}
	if cur.ExternalID == u.ExternalID && cur.UserName == u.UserName && cur.Active == u.Active && sameJSON(cur.Attributes, u.Attributes) {
		u.Version, u.Created, u.Modified = cur.Version, cur.Created, cur.Modified
		return nil
	}
	u.Version, u.Created, u.Modified = cur.Version+1, cur.Created, time.Now().UTC()
	m.users[u.ID] = cloneUser(u)
	m.rev++
	return nil
}

func (m *memStore) DeleteUser(_ context.Context, idp, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok || u.IDP != idp {
		return store.ErrNotFound
	}
	delete(m.users, id)
	for _, ms := range m.members {
		delete(ms, id)
	}
	m.rev++
	return nil
}

func (m *memStore) FindUsers(_ context.Context, idp string, l store.Lookup) ([]*store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.User
	for _, u := range m.users {
		if u.IDP != idp {
			continue
		}
		var ok bool
		switch l.Attr {
		case "userName":
			ok = strings.EqualFold(u.UserName, l.Value)
		case "externalId":
			ok = u.ExternalID == l.Value
		case "id":
			ok = u.ID == l.Value
		}
		if ok {
			out = append(out, cloneUser(u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memStore) ListUsers(_ context.Context, idp string, p store.Page) ([]*store.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.User
	for _, u := range m.users {
		if u.IDP == idp && u.ID > p.After {
			out = append(out, cloneUser(u))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

func (m *memStore) CountUsers(_ context.Context, idp string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, u := range m.users {
		if u.IDP == idp {
			n++
		}
	}
	return n, nil
}

func (m *memStore) CreateGroup(_ context.Context, g *store.Group, members []store.Member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.groups {
		if o.IDP == g.IDP && strings.EqualFold(o.DisplayName, g.DisplayName) {
			return store.ErrConflict
		}
	}
	now := time.Now().UTC()
	g.Version, g.Created, g.Modified = 1, now, now
	m.groups[g.ID] = cloneGroup(g)
	m.members[g.ID] = map[string]store.Member{}
	for _, mb := range members {
		m.members[g.ID][mb.ID] = mb
	}
	m.rev++
	return nil
}

func (m *memStore) GetGroup(_ context.Context, idp, id string) (*store.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[id]
	if !ok || g.IDP != idp {
		return nil, store.ErrNotFound
	}
	return cloneGroup(g), nil
}

func (m *memStore) ReplaceGroup(ctx context.Context, g *store.Group, ifVersion int64) error {
	ng, _, err := m.UpdateGroup(ctx, g.IDP, g.ID, store.GroupUpdate{Attributes: g, IfVersion: ifVersion})
	if err != nil {
		return err
	}
	g.Version, g.Created, g.Modified = ng.Version, ng.Created, ng.Modified
	return nil
}

func (m *memStore) DeleteGroup(_ context.Context, idp, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.groups[id]
	if !ok || g.IDP != idp {
		return store.ErrNotFound
	}
	delete(m.groups, id)
	delete(m.members, id)
	for _, ms := range m.members {
		delete(ms, id)
	}
	m.rev++
	return nil
}

func (m *memStore) FindGroups(_ context.Context, idp string, l store.Lookup) ([]*store.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.Group
	for _, g := range m.groups {
		if g.IDP != idp {
			continue
		}
		var ok bool
		switch l.Attr {
		case "displayName":
			ok = strings.EqualFold(g.DisplayName, l.Value)
		case "externalId":
			ok = g.ExternalID == l.Value
		case "id":
			ok = g.ID == l.Value
		}
		if ok {
			out = append(out, cloneGroup(g))
		}
	}
	return out, nil
}

func (m *memStore) ListGroups(_ context.Context, idp string, p store.Page) ([]*store.Group, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.Group
	for _, g := range m.groups {
		if g.IDP == idp && g.ID > p.After {
			out = append(out, cloneGroup(g))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

func (m *memStore) CountGroups(_ context.Context, idp string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, g := range m.groups {
		if g.IDP == idp {
			n++
		}
	}
	return n, nil
}

func (m *memStore) AddMembers(ctx context.Context, idp, groupID string, ms []store.Member) error {
	_, _, err := m.UpdateGroup(ctx, idp, groupID, store.GroupUpdate{Members: []store.MemberChange{{Op: store.AddMembers, Members: ms}}})
	return err
}

func (m *memStore) RemoveMembers(ctx context.Context, idp, groupID string, ids []string) error {
	_, _, err := m.UpdateGroup(ctx, idp, groupID, store.GroupUpdate{Members: []store.MemberChange{{Op: store.RemoveMembers, IDs: ids}}})
	return err
}

func (m *memStore) ReplaceMembers(ctx context.Context, idp, groupID string, ms []store.Member) error {
	_, _, err := m.UpdateGroup(ctx, idp, groupID, store.GroupUpdate{Members: []store.MemberChange{{Op: store.ReplaceMembers, Members: ms}}})
	return err
}

// UpdateGroup works on copies and keeps them only when every change
// applied, like the real store's transaction.
func (m *memStore) UpdateGroup(_ context.Context, idp, groupID string, u store.GroupUpdate) (*store.Group, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.groups[groupID]
	if !ok || cur.IDP != idp {
		return nil, false, store.ErrNotFound
	}
	if u.IfVersion != 0 && cur.Version != u.IfVersion {
		return nil, false, store.ErrVersionMismatch
	}
	next := cloneGroup(cur)
	changed := false
	if a := u.Attributes; a != nil && (a.DisplayName != cur.DisplayName || a.ExternalID != cur.ExternalID || !sameJSON(a.Attributes, cur.Attributes)) {
		for _, o := range m.groups {
			if o.ID != groupID && o.IDP == idp && strings.EqualFold(o.DisplayName, a.DisplayName) {
				return nil, false, store.ErrConflict
			}
		}
		next.DisplayName, next.ExternalID = a.DisplayName, a.ExternalID
		next.Attributes = append(json.RawMessage(nil), a.Attributes...)
		changed = true
	}
	ms := maps.Clone(m.members[groupID])
	add := func(mb store.Member) {
		if mb.Type == "" {
			mb.Type = "User"
		}
		if _, in := ms[mb.ID]; !in {
			ms[mb.ID] = mb
			changed = true
		}
	}
	for _, mc := range u.Members {
		switch mc.Op {
		case store.AddMembers:
			for _, mb := range mc.Members {
				add(mb)
			}
		case store.RemoveMembers:
			for _, id := range mc.IDs {
				if _, in := ms[id]; in {
					delete(ms, id)
					changed = true
				}
			}
		case store.ReplaceMembers:
			want := map[string]store.Member{}
			for _, mb := range mc.Members {
				if mb.Type == "" {
					mb.Type = "User"
				}
				if _, dup := want[mb.ID]; !dup {
					want[mb.ID] = mb
				}
			}
			if !maps.Equal(want, ms) {
				ms = want
				changed = true
			}
		case store.RemoveMatching:
			for id, mb := range ms {
				match, err := mc.Match(mb)
				if err != nil {
					return nil, false, err
				}
				if match {
					delete(ms, id)
					changed = true
				}
			}
		}
	}
	// What counts is the end result: a member added and removed again is
	// no change.
	if changed = changed && (next.DisplayName != cur.DisplayName || next.ExternalID != cur.ExternalID ||
		!sameJSON(next.Attributes, cur.Attributes) || !maps.Equal(ms, m.members[groupID])); !changed {
		return cloneGroup(cur), false, nil
	}
	next.Version++
	next.Modified = time.Now().UTC()
	m.groups[groupID] = next
	m.members[groupID] = ms
	m.rev++
	return cloneGroup(next), true, nil
}

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b []byte) bool {
	var av, bv any
	if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
		return false
	}
	return reflect.DeepEqual(av, bv)
}

func (m *memStore) ListMembers(_ context.Context, idp, groupID string, p store.Page) ([]store.Member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if g, ok := m.groups[groupID]; !ok || g.IDP != idp {
		return nil, store.ErrNotFound
	}
	var out []store.Member
	for _, mb := range m.members[groupID] {
		if mb.ID > p.After {
			out = append(out, mb)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > p.Limit {
		out = out[:p.Limit]
	}
	return out, nil
}

func (m *memStore) GroupsOf(_ context.Context, idp, memberID string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for gid, ms := range m.members {
		if _, ok := ms[memberID]; ok && m.groups[gid].IDP == idp {
			out = append(out, gid)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m *memStore) Memberships(_ context.Context, idp string, fn func(string, store.Member) error) error {
	m.mu.Lock()
	type pair struct {
		g string
		m store.Member
	}
	var all []pair
	for gid, ms := range m.members {
		if m.groups[gid].IDP != idp {
			continue
		}
		for _, mb := range ms {
			all = append(all, pair{gid, mb})
		}
	}
	m.mu.Unlock()
	for _, p := range all {
		if err := fn(p.g, p.m); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Revision(_ context.Context, _ string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}
