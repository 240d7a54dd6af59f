package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/confsync/confsync/plan"
)

// UserEntry is one Okta user as Test Sync shows it.
type UserEntry struct {
	// Status is the Okta status (ACTIVE, SUSPENDED, ...).
	Status string
	// Profile is the user's profile, sorted by property name, values
	// rendered as text (lists and objects as JSON).
	Profile []Property
	// User is the user as Read returns it.
	User plan.SourceUser
	// Groups are the names of the user's groups, sorted.
	Groups []string
	// OutOfScope, when not empty, says why a Read leaves the user out.
	OutOfScope string
}

// Property is one profile property.
type Property struct {
	Name  string
	Value string
}

// LookupUser finds the one user whose profile property usernameAttr
// equals username and returns its profile, the SourceUser a Read would
// produce with attrs requested, and its groups.
func (s *Source) LookupUser(ctx context.Context, usernameAttr, username string, attrs []string) (*UserEntry, error) {
	if strings.TrimSpace(username) == "" {
		return nil, errors.New("okta: the username to look up is empty")
	}
	search := "profile." + usernameAttr + ` eq "` + strings.ReplaceAll(strings.ReplaceAll(username, `\`, `\\`), `"`, `\"`) + `"`
	if s.cfg.UserFilter != "" {
		search = "(" + s.cfg.UserFilter + ") and " + search
	}
	var page []user
	if _, err := s.get(ctx, s.cfg.OrgURL+"/api/v1/users?"+url.Values{"search": {search}, "limit": {"2"}}.Encode(), &page); err != nil {
		return nil, err
	}
	switch len(page) {
	case 0:
		return nil, fmt.Errorf("okta: no user of %s matching user_filter has %s %q", s.cfg.OrgURL, usernameAttr, username)
	case 1:
	default:
		return nil, fmt.Errorf("okta: more than one user of %s has %s %q; the username attribute must be unique", s.cfg.OrgURL, usernameAttr, username)
	}
	u := page[0]
	e := &UserEntry{Status: u.Status, User: sourceUser(u, attrs)}
	for _, name := range slices.Sorted(maps.Keys(u.Profile)) {
		switch v := u.Profile[name].(type) {
		case nil:
		case string:
			e.Profile = append(e.Profile, Property{Name: name, Value: v})
		default:
			b, _ := json.Marshal(v)
			e.Profile = append(e.Profile, Property{Name: name, Value: string(b)})
		}
	}
	inScope := len(s.cfg.Groups) == 0
	for next := s.cfg.OrgURL + "/api/v1/users/" + url.PathEscape(u.ID) + "/groups"; next != ""; {
		var gp []group
		n, err := s.get(ctx, next, &gp)
		if err != nil {
			return nil, err
		}
		for _, g := range gp {
			e.Groups = append(e.Groups, g.Profile.Name)
			if slices.ContainsFunc(s.cfg.Groups, func(n string) bool { return n == g.Profile.Name }) {
				inScope = true
			}
		}
		next = n
	}
	slices.SortFunc(e.Groups, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	if !inScope {
		e.OutOfScope = fmt.Sprintf("the user is in none of the groups of the okta block (%s), so plan does not read it", strings.Join(s.cfg.Groups, ", "))
	}
	return e, nil
}
