package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

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

var _ plan.Source = (*Source)(nil)

// NewSource returns the plan.Source of a SCIM IdP.
func NewSource(st store.SCIM, idp string) *Source { return &Source{st: st, idp: idp} }

// sourcePageSize is the page size of a source read.
const sourcePageSize = 1000

// Read returns every user and group of the IdP. Group MemberIDs hold the
// users of the group, nested groups flattened (cycles are harmless).
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	paths := make([]Path, len(req.Attributes))
	for i, a := range req.Attributes {
		p, err := ParseAttrPath(a)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	snap := &plan.Snapshot{}
	users := map[string]bool{}
	after := ""
	for {
		page, err := s.st.ListUsers(ctx, s.idp, store.Page{After: after, Limit: sourcePageSize})
		if err != nil {
			return nil, fmt.Errorf("read users of %s: %w", s.idp, err)
		}
		for _, u := range page {
			m, err := userMap(u)
			if err != nil {
				return nil, fmt.Errorf("user %s of %s: stored attributes: %w", u.ID, s.idp, err)
			}
			res := userResource(u, m, "")
			su := plan.SourceUser{ID: u.ID, Active: u.Active, Attributes: map[string]string{}}
			for i, p := range paths {
				if v, ok := p.Eval(res); ok {
					su.Attributes[req.Attributes[i]] = v
				}
			}
			snap.Users = append(snap.Users, su)
			users[u.ID] = true
		}
		if len(page) < sourcePageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	var groups []*store.Group
	after = ""
	for {
		page, err := s.st.ListGroups(ctx, s.idp, store.Page{After: after, Limit: sourcePageSize})
		if err != nil {
			return nil, fmt.Errorf("read groups of %s: %w", s.idp, err)
		}
		groups = append(groups, page...)
		if len(page) < sourcePageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	direct := map[string][]store.Member{}
	err := s.st.Memberships(ctx, s.idp, func(groupID string, m store.Member) error {
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
		members := map[string]bool{}
		visited := map[string]bool{g.ID: true}
		stack := []string{g.ID}
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
		ids := make([]string, 0, len(members))
		for id := range members {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		snap.Groups = append(snap.Groups, plan.SourceGroup{ID: g.ID, Name: g.DisplayName, MemberIDs: ids})
	}
	return snap, nil
}
