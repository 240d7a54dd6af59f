package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/confsync/confsync/plan"
)

// UserEntry is one Entra ID user as Test Sync shows it.
type UserEntry struct {
	// Properties are the properties read, sorted by name, rendered as
	// text (complex values as JSON).
	Properties []Property
	// User is the user as Read returns it.
	User plan.SourceUser
	// Groups are the names of the groups the user belongs to, nested
	// groups included, sorted.
	Groups []string
	// OutOfScope, when not empty, says why a Read leaves the user out
	// (not a member of the configured groups).
	OutOfScope string
}

// Property is one property of a user.
type Property struct {
	Name  string
	Value string
}

// LookupUser finds the one user whose usernameAttr equals username
// (within user_filter), and returns its properties, the SourceUser a Read
// would produce with attrs requested, and its groups. No user or more than
// one is an error.
func (s *Source) LookupUser(ctx context.Context, usernameAttr, username string, attrs []string) (*UserEntry, error) {
	if strings.TrimSpace(username) == "" {
		return nil, errors.New("graph: the username to look up is empty")
	}
	filter := strings.ReplaceAll(usernameAttr, ".", "/") + " eq '" + strings.ReplaceAll(username, "'", "''") + "'"
	if s.cfg.UserFilter != "" {
		filter = "(" + s.cfg.UserFilter + ") and " + filter
	}
	q := url.Values{"$select": {selectList(attrs)}, "$filter": {filter}, "$top": {"2"}}
	var page userPage
	if err := s.get(ctx, s.cfg.Endpoint+"/v1.0/users?"+q.Encode(), nil, &page); err != nil {
		return nil, err
	}
	switch len(page.Value) {
	case 0:
		return nil, fmt.Errorf("graph: no user of tenant %s matching user_filter has %s %q", s.cfg.TenantID, usernameAttr, username)
	case 1:
	default:
		return nil, fmt.Errorf("graph: more than one user of tenant %s has %s %q; the username attribute must be unique", s.cfg.TenantID, usernameAttr, username)
	}
	raw := page.Value[0]
	u, ok := sourceUser(raw, attrs)
	if !ok {
		return nil, errors.New("graph: the user found has no id")
	}
	e := &UserEntry{User: u}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		var x any
		if json.Unmarshal(raw[name], &x) != nil || x == nil {
			continue
		}
		v, ok := x.(string)
		if !ok {
			v = string(raw[name])
		}
		e.Properties = append(e.Properties, Property{Name: name, Value: v})
	}

	gq := url.Values{"$select": {"id,displayName"}, "$top": {strconv.Itoa(PageSize)}}
	inScope := len(s.cfg.Groups) == 0
	for next := s.cfg.Endpoint + "/v1.0/users/" + url.PathEscape(u.ID) + "/transitiveMemberOf/microsoft.graph.group?" + gq.Encode(); next != ""; {
		var gp memberPage
		if err := s.get(ctx, next, nil, &gp); err != nil {
			return nil, err
		}
		for _, g := range gp.Value {
			e.Groups = append(e.Groups, g.DisplayName)
			if slices.ContainsFunc(s.cfg.Groups, func(n string) bool { return strings.EqualFold(n, g.DisplayName) }) {
				inScope = true
			}
		}
		next = gp.NextLink
	}
	slices.SortFunc(e.Groups, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if !inScope {
		e.OutOfScope = fmt.Sprintf("the user is in none of the groups of the graph block (%s), so plan does not read it", strings.Join(s.cfg.Groups, ", "))
	}
	return e, nil
}
