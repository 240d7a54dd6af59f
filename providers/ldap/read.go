package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/plan"
)

// Read searches the directory for every user and group and returns them
// with group memberships resolved to user ids and nested groups flattened.
// It returns an error, never a partial snapshot, when the read is
// incomplete.
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	attrs, err := checkAttributes(req.Attributes)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	conn, release, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	r := s.newReader(ctx, conn, attrs)
	if err := r.readAll(); err != nil {
		return nil, err
	}
	snap := r.snapshot()
	s.logger.InfoContext(ctx, "ldap read complete", "url", s.cfg.url.Redacted(),
		"users", len(snap.Users), "groups", len(snap.Groups), "duration", time.Since(start))
	return snap, nil
}

// checkAttributes validates and de-duplicates the attributes the mapping
// asks for. Names differing only in case stay apart, each getting the
// value of the one directory attribute they both name.
func checkAttributes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, a := range in {
		if !attrName.MatchString(a) {
			return nil, fmt.Errorf("ldap: %q is not an LDAP attribute name", a)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// reader holds the state of one read: the result kept so far and the
// indexes needed to resolve memberships. Raw entries are never kept.
type reader struct {
	ctx   context.Context
	s     *Source
	conn  searcher
	attrs []string // attributes of SourceUser.Attributes

	users     []plan.SourceUser
	userIDs   map[string]int32
	userByDN  map[string]int32 // DN key -> user, for DN-valued member attributes
	userByUID map[string]int32 // lower-cased uid -> user, for memberUid

	groups    []*groupAcc
	groupIDs  map[string]int32
	groupByDN map[string]int32
}

// groupAcc accumulates one group while the directory is read.
type groupAcc struct {
	id, name string
	users    []int32 // direct user members
	// childDNs are DN keys of members that are not users: nested groups,
	// or entries outside the user search. Kept only with nested groups.
	childDNs []string
	// parentDNs are DN keys of the groups this group is a member of, read
	// from the group's memberOf (user-side membership with nesting).
	parentDNs []string
	children  []int32
}

func (s *Source) newReader(ctx context.Context, conn searcher, attrs []string) *reader {
	return &reader{
		ctx: ctx, s: s, conn: conn, attrs: attrs,
		userIDs:   map[string]int32{},
		userByDN:  map[string]int32{},
		userByUID: map[string]int32{},
		groupIDs:  map[string]int32{},
		groupByDN: map[string]int32{},
	}
}

// memberUIDMode reports whether groups list their members by uid.
func (r *reader) memberUIDMode() bool {
	return strings.EqualFold(r.s.cfg.groupMemberAttr, attrMemberUID)
}

// readAll reads users and groups in the order that lets every membership
// be resolved as its entry arrives: users first when groups list their
// members, groups first when users list their groups.
func (r *reader) readAll() error {
	cfg := &r.s.cfg
	if cfg.userMemberOf != "" {
		if err := r.readGroups(); err != nil {
			return err
		}
		req := r.userSearch(cfg.userFilter)
		if err := pagedSearch(r.ctx, r.conn, "user_base", req, cfg.pageSize, r.addUser); err != nil {
			return err
		}
	} else {
		req := r.userSearch(cfg.userFilter)
		if err := pagedSearch(r.ctx, r.conn, "user_base", req, cfg.pageSize, r.addUser); err != nil {
			return err
		}
		if err := r.readGroups(); err != nil {
			return err
		}
	}
	r.linkGroups()
	r.s.logger.DebugContext(r.ctx, "ldap entries read", "users", len(r.users), "groups", len(r.groups))
	return nil
}

// userAttributes lists what a user search asks for.
func (r *reader) userAttributes() []string {
	cfg := &r.s.cfg
	want := append([]string{cfg.userIDAttr, attrUserAccountControl}, r.attrs...)
	if r.memberUIDMode() {
		want = append(want, attrUID)
	}
	if cfg.userMemberOf != "" {
		want = append(want, cfg.userMemberOf)
	}
	return dedupFold(want)
}

func (r *reader) userSearch(filter string) *goldap.SearchRequest {
	cfg := &r.s.cfg
	return goldap.NewSearchRequest(cfg.userBase, cfg.userScope, goldap.NeverDerefAliases, 0, cfg.timeLimitS, false,
		filter, r.userAttributes(), nil)
}

func dedupFold(in []string) []string {
	out := in[:0:0]
	for _, a := range in {
		if !slices.ContainsFunc(out, func(b string) bool { return strings.EqualFold(a, b) }) {
			out = append(out, a)
		}
	}
	return out
}

// addUser turns one user entry into a SourceUser and indexes it.
func (r *reader) addUser(e *goldap.Entry) error {
	cfg := &r.s.cfg
	u := plan.SourceUser{Active: true, Attributes: make(map[string]string, len(r.attrs))}
	var memberOf []string
	for _, a := range e.Attributes {
		if len(a.ByteValues) == 0 {
			continue
		}
		name, _, _ := strings.Cut(a.Name, ";")
		if strings.EqualFold(name, cfg.userIDAttr) {
			id, err := stableID(cfg.userIDAttr, a.ByteValues[0])
			if err != nil {
				return fmt.Errorf("ldap: user %q: %w", e.DN, err)
			}
			u.ID = id
		}
		if strings.EqualFold(name, attrUserAccountControl) {
			disabled, err := accountDisabled(a.Values[0])
			if err != nil {
				return fmt.Errorf("ldap: user %q: %w", e.DN, err)
			}
			u.Active = !disabled
		}
		if r.memberUIDMode() && strings.EqualFold(name, attrUID) {
			for _, v := range a.Values {
				r.userByUID[strings.ToLower(v)] = int32(len(r.users))
			}
		}
		for _, want := range r.attrs {
			if strings.EqualFold(name, want) {
				u.Attributes[want] = FormatValue(want, a.ByteValues[0])
			}
		}
	}
	if u.ID == "" {
		return fmt.Errorf("ldap: user %q has no %s attribute; check user_id_attribute and that the bind DN may read it: %w",
			e.DN, cfg.userIDAttr, ErrIncompleteRead)
	}
	if prev, dup := r.userIDs[u.ID]; dup {
		_ = prev
		return fmt.Errorf("ldap: users %q and another entry share the %s %q; user_id_attribute must be unique", e.DN, cfg.userIDAttr, u.ID)
	}
	idx := int32(len(r.users))
	r.userIDs[u.ID] = idx
	if cfg.userMemberOf != "" {
		var err error
		memberOf, err = attributeValues(r.ctx, r.conn, e, cfg.userMemberOf, cfg.timeLimitS)
		if err != nil {
			return err
		}
		for _, dn := range memberOf {
			if gi, ok := r.groupByDN[dnKey(dn)]; ok {
				r.groups[gi].users = append(r.groups[gi].users, idx)
			}
		}
	} else if !r.memberUIDMode() {
		r.userByDN[dnKey(e.DN)] = idx
	}
	r.users = append(r.users, u)
	return nil
}

// readGroups searches group_base, when one is configured.
func (r *reader) readGroups() error {
	cfg := &r.s.cfg
	if cfg.groupBase == "" {
		return nil
	}
	want := []string{cfg.groupIDAttr, cfg.groupNameAttr}
	if cfg.groupMemberAttr != "" {
		want = append(want, cfg.groupMemberAttr)
	}
	if cfg.userMemberOf != "" && cfg.nested {
		want = append(want, cfg.userMemberOf)
	}
	req := goldap.NewSearchRequest(cfg.groupBase, cfg.groupScope, goldap.NeverDerefAliases, 0, cfg.timeLimitS, false,
		cfg.groupFilter, dedupFold(want), nil)
	return pagedSearch(r.ctx, r.conn, "group_base", req, cfg.pageSize, r.addGroup)
}

// addGroup turns one group entry into a groupAcc, resolving its members
// against the users read so far.
func (r *reader) addGroup(e *goldap.Entry) error {
	cfg := &r.s.cfg
	g := &groupAcc{}
	if raw := e.GetEqualFoldRawAttributeValue(cfg.groupIDAttr); len(raw) > 0 {
		id, err := stableID(cfg.groupIDAttr, raw)
		if err != nil {
			return fmt.Errorf("ldap: group %q: %w", e.DN, err)
		}
		g.id = id
	}
	if g.id == "" {
		return fmt.Errorf("ldap: group %q has no %s attribute; check group_id_attribute and that the bind DN may read it: %w",
			e.DN, cfg.groupIDAttr, ErrIncompleteRead)
	}
	if _, dup := r.groupIDs[g.id]; dup {
		return fmt.Errorf("ldap: group %q shares the %s %q with another group; group_id_attribute must be unique", e.DN, cfg.groupIDAttr, g.id)
	}
	g.name = e.GetEqualFoldAttributeValue(cfg.groupNameAttr)
	if g.name == "" {
		return fmt.Errorf("ldap: group %q has no %s attribute; check group_name_attribute", e.DN, cfg.groupNameAttr)
	}

	if cfg.groupMemberAttr != "" {
		members, err := attributeValues(r.ctx, r.conn, e, cfg.groupMemberAttr, cfg.timeLimitS)
		if err != nil {
			return err
		}
		for _, m := range members {
			if r.memberUIDMode() {
				if ui, ok := r.userByUID[strings.ToLower(m)]; ok {
					g.users = append(g.users, ui)
				}
				continue
			}
			key := memberDNKey(m)
			if ui, ok := r.userByDN[key]; ok {
				g.users = append(g.users, ui)
			} else if cfg.nested {
				g.childDNs = append(g.childDNs, key)
			}
		}
	}
	if cfg.userMemberOf != "" && cfg.nested {
		parents, err := attributeValues(r.ctx, r.conn, e, cfg.userMemberOf, cfg.timeLimitS)
		if err != nil {
			return err
		}
		for _, p := range parents {
			g.parentDNs = append(g.parentDNs, dnKey(p))
		}
	}
	idx := int32(len(r.groups))
	r.groupIDs[g.id] = idx
	r.groupByDN[dnKey(e.DN)] = idx
	r.groups = append(r.groups, g)
	return nil
}

// linkGroups turns the DN keys of nested groups into group indexes.
// Members that are neither users nor groups of the search are dropped:
// they are outside what this IdP manages.
func (r *reader) linkGroups() {
	for gi, g := range r.groups {
		for _, key := range g.childDNs {
			if ci, ok := r.groupByDN[key]; ok && int(ci) != gi {
				g.children = append(g.children, ci)
			}
		}
		for _, key := range g.parentDNs {
			if pi, ok := r.groupByDN[key]; ok && int(pi) != gi {
				r.groups[pi].children = append(r.groups[pi].children, int32(gi))
			}
		}
		g.childDNs, g.parentDNs = nil, nil
	}
}

// members returns the user indexes of group gi, nested groups flattened.
// seen is a scratch slice of len(r.users) stamped with stamp, so no set is
// allocated per group; visited guards against cycles.
func (r *reader) members(gi int32, seen []uint32, stamp uint32, visited map[int32]bool) []int32 {
	clear(visited)
	var out []int32
	stack := []int32{gi}
	visited[gi] = true
	for len(stack) > 0 {
		g := r.groups[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, u := range g.users {
			if seen[u] != stamp {
				seen[u] = stamp
				out = append(out, u)
			}
		}
		for _, c := range g.children {
			if !visited[c] {
				visited[c] = true
				stack = append(stack, c)
			}
		}
	}
	return out
}

// snapshot builds the plan's view of what was read.
func (r *reader) snapshot() *plan.Snapshot {
	snap := &plan.Snapshot{Users: r.users, Groups: make([]plan.SourceGroup, 0, len(r.groups))}
	seen := make([]uint32, len(r.users))
	visited := map[int32]bool{}
	for gi, g := range r.groups {
		idxs := r.members(int32(gi), seen, uint32(gi+1), visited)
		ids := make([]string, len(idxs))
		for i, u := range idxs {
			ids[i] = r.users[u].ID
		}
		slices.Sort(ids)
		snap.Groups = append(snap.Groups, plan.SourceGroup{ID: g.id, Name: g.name, MemberIDs: ids})
	}
	return snap
}
