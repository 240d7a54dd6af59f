package confluence

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/confsync/confsync/plan"
)

var (
	_ plan.ScopedReader   = (*Client)(nil)
	_ plan.RequestCounter = (*Client)(nil)
)

// Requests returns the number of HTTP requests the client has sent, reads
// and writes, every retry and long-task poll included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// ReadScope reads only the users and groups s names: each user with GET
// /rest/api/user (404: absent) and, when it exists, the groups it is a
// direct member of with GET /rest/api/user/memberof (paged); each group
// with GET /rest/api/group/{groupName} (404: absent). The requests run
// Parallelism at a time; the first error cancels the rest. Groups are
// those of s.Groups that exist plus every group of a returned user, with
// Members restricted to the returned users: the part of a full Read that
// the scope covers.
//
// The caller's username comes from the first successful CurrentUser (a
// Read makes one); only when none has succeeded yet does ReadScope ask,
// and then refused credentials fail it. A new user and an existing group
// cost at most three requests.
func (c *Client) ReadScope(ctx context.Context, s plan.TargetScope) (*plan.Actual, error) {
	users, err := scopeNames("username", s.Users)
	if err != nil {
		return nil, err
	}
	groups, err := scopeNames("group name", s.Groups)
	if err != nil {
		return nil, err
	}
	caller, err := c.callerName(ctx)
	if err != nil {
		return nil, err
	}
	foundUsers := make([]*scopedUser, len(users))
	foundGroups := make([]string, len(groups))
	err = c.each(ctx, len(users)+len(groups), func(ctx context.Context, i int) error {
		if i < len(users) {
			u, err := c.readScopedUser(ctx, users[i])
			foundUsers[i] = u
			return err
		}
		g, err := c.readScopedGroup(ctx, groups[i-len(users)])
		foundGroups[i-len(users)] = g
		return err
	})
	if err != nil {
		return nil, err
	}
	return assembleScope(caller, foundUsers, foundGroups), nil
}

// scopeNames lower-cases and de-duplicates the names of a scope; an empty
// name is an error.
func scopeNames(what string, names []string) ([]string, error) {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			return nil, fmt.Errorf("confluence: read scope: an empty %s", what)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// callerName returns the remembered username of the credentials' account,
// asking Confluence when no lookup has succeeded yet.
func (c *Client) callerName(ctx context.Context) (string, error) {
	c.callerMu.Lock()
	name := c.caller
	c.callerMu.Unlock()
	if name != "" {
		return name, nil
	}
	u, err := c.CurrentUser(ctx)
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

// scopedUser is a user of a scope that exists, and its direct groups.
type scopedUser struct {
	user   plan.ActualUser
	groups []string // lower-case
}

// readScopedUser reads one user and its groups; nil when it does not
// exist (also when it disappears between the two reads).
func (c *Client) readScopedUser(ctx context.Context, name string) (*scopedUser, error) {
	u, err := c.GetUser(ctx, name)
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("confluence: read user %q: %w", name, err)
	}
	if u.Username == "" {
		return nil, nil // not a known user; a full Read skips it too
	}
	out := &scopedUser{user: *u}
	err = pageAll(ctx, c, epMemberOf, nil, url.Values{"username": {name}}, func(g struct {
		Name string `json:"name"`
	}) error {
		if g.Name != "" {
			out.groups = append(out.groups, strings.ToLower(g.Name))
		}
		return nil
	})
	if absent(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("confluence: read groups of user %q: %w", name, err)
	}
	return out, nil
}

// readScopedGroup returns the lower-case name of a group, or "" when it
// does not exist.
func (c *Client) readScopedGroup(ctx context.Context, name string) (string, error) {
	var g struct {
		Name string `json:"name"`
	}
	_, err := c.do(ctx, call{ep: epGetGroup, args: []string{name}, out: &g})
	if absent(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("confluence: read group %q: %w", name, err)
	}
	if g.Name == "" {
		return name, nil
	}
	return strings.ToLower(g.Name), nil
}

// absent reports whether err is Confluence's own 404 for a missing user
// or group: a RestError. A 404 that is not JSON (a wrong context path, a
// proxy's page) is not an answer about the object and stays an error, so
// that a misconfigured client cannot report everyone absent.
func absent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == 404 && !e.NotJSON
}

// assembleScope builds the Actual of a scoped read, sorted as Read sorts.
func assembleScope(caller string, users []*scopedUser, groups []string) *plan.Actual {
	out := &plan.Actual{Caller: caller}
	members := map[string][]string{}
	for _, g := range groups {
		if _, ok := members[g]; g != "" && !ok {
			members[g] = nil
		}
	}
	for _, u := range users {
		if u == nil {
			continue
		}
		out.Users = append(out.Users, u.user)
		for _, g := range u.groups {
			members[g] = append(members[g], u.user.Username)
		}
	}
	for name, m := range members {
		sort.Strings(m)
		out.Groups = append(out.Groups, plan.ActualGroup{Name: name, Members: slices.Compact(m)})
	}
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].Username < out.Users[j].Username })
	sort.Slice(out.Groups, func(i, j int) bool { return out.Groups[i].Name < out.Groups[j].Name })
	return out
}
