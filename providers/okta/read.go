package okta

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/confsync/confsync/plan"
)

// user is an Okta user as the API returns it.
type user struct {
	ID      string         `json:"id"`
	Status  string         `json:"status"`
	Profile map[string]any `json:"profile"`
}

// group is an Okta group.
type group struct {
	ID      string `json:"id"`
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
}

// Active reports whether an Okta user status is an account that may sign
// in: ACTIVE, and the states of an active account with a pending action
// (PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY). STAGED and PROVISIONED users
// have not activated yet; SUSPENDED and DEPROVISIONED ones were disabled.
func Active(status string) bool {
	switch status {
	case "ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY":
		return true
	}
	return false
}

// sourceUser converts an Okta user, reading the requested profile
// properties.
func sourceUser(u user, attrs []string) plan.SourceUser {
	su := plan.SourceUser{ID: u.ID, Active: Active(u.Status), Attributes: make(map[string]string, len(attrs))}
	for _, a := range attrs {
		switch v := u.Profile[a].(type) {
		case string:
			su.Attributes[a] = v
		case bool:
			su.Attributes[a] = strconv.FormatBool(v)
		case float64:
			su.Attributes[a] = strconv.FormatFloat(v, 'f', -1, 64)
		case []any:
			if len(v) > 0 {
				if s, ok := v[0].(string); ok {
					su.Attributes[a] = s
				}
			}
		}
	}
	return su
}

// Read returns the org's users and groups with their members. Without a
// user_filter, deprovisioned users are read too (as inactive), which an
// unfiltered list leaves out. With groups set, only those groups are read
// and only their members are kept.
func (s *Source) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var users []plan.SourceUser
	index := map[string]int{}
	addUsers := func(search string) error {
		q := url.Values{"limit": {strconv.Itoa(usersPageSize)}}
		if search != "" {
			q.Set("search", search)
		}
		for next := s.cfg.OrgURL + "/api/v1/users?" + q.Encode(); next != ""; {
			var page []user
			n, err := s.get(ctx, next, &page)
			if err != nil {
				return err
			}
			for _, u := range page {
				if _, dup := index[u.ID]; u.ID != "" && !dup {
					index[u.ID] = len(users)
					users = append(users, sourceUser(u, req.Attributes))
				}
			}
			next = n
		}
		return nil
	}
	if s.cfg.UserFilter != "" {
		if err := addUsers(s.cfg.UserFilter); err != nil {
			return nil, err
		}
	} else {
		if err := addUsers(""); err != nil {
			return nil, err
		}
		if err := addUsers(`status eq "DEPROVISIONED"`); err != nil {
			return nil, err
		}
	}

	groups, err := s.groups(ctx)
	if err != nil {
		return nil, err
	}
	members, err := s.members(ctx, groups, index)
	if err != nil {
		return nil, err
	}
	snap := &plan.Snapshot{}
	var keep map[string]bool
	if len(s.cfg.Groups) > 0 {
		keep = map[string]bool{}
	}
	for i, g := range groups {
		sg := plan.SourceGroup{ID: g.ID, Name: g.Profile.Name}
		for _, ui := range members[i] {
			id := users[ui].ID
			sg.MemberIDs = append(sg.MemberIDs, id)
			if keep != nil {
				keep[id] = true
			}
		}
		snap.Groups = append(snap.Groups, sg)
	}
	for _, u := range users {
		if keep == nil || keep[u.ID] {
			snap.Users = append(snap.Users, u)
		}
	}
	s.logger.Info("okta read", "users", len(snap.Users), "groups", len(snap.Groups))
	return snap, nil
}

// groups lists every group, or finds each configured group by its exact
// name.
func (s *Source) groups(ctx context.Context) ([]group, error) {
	if len(s.cfg.Groups) == 0 {
		var out []group
		q := url.Values{"limit": {strconv.Itoa(groupsPageSize)}}
		for next := s.cfg.OrgURL + "/api/v1/groups?" + q.Encode(); next != ""; {
			var page []group
			n, err := s.get(ctx, next, &page)
			if err != nil {
				return nil, err
			}
			out = append(out, page...)
			next = n
		}
		return out, nil
	}
	var out []group
	for _, name := range s.cfg.Groups {
		q := url.Values{"search": {`profile.name eq "` + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), `"`, `\"`) + `"`}}
		var page []group
		if _, err := s.get(ctx, s.cfg.OrgURL+"/api/v1/groups?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		switch len(page) {
		case 0:
			return nil, fmt.Errorf("okta: no group named %q in %s (groups in the okta block)", name, s.cfg.OrgURL)
		case 1:
			out = append(out, page[0])
		default:
			return nil, fmt.Errorf("okta: %d groups are named %q in %s; rename one so that the groups setting names one group", len(page), name, s.cfg.OrgURL)
		}
	}
	return out, nil
}

// members reads each group's members, Parallelism groups at a time, as
// indexes into the users read (so that a million memberships hold no
// million strings); members that are not among them are dropped.
func (s *Source) members(ctx context.Context, groups []group, index map[string]int) ([][]int32, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([][]int32, len(groups))
	work := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(s.cfg.Parallelism, max(len(groups), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ids, err := s.groupMembers(ctx, groups[i].ID, index)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("members of group %q: %w", groups[i].Profile.Name, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				out[i] = ids
			}
		}()
	}
feed:
	for i := range groups {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func (s *Source) groupMembers(ctx context.Context, id string, index map[string]int) ([]int32, error) {
	var ids []int32
	q := url.Values{"limit": {strconv.Itoa(groupUsersPageSize)}}
	for next := s.cfg.OrgURL + "/api/v1/groups/" + url.PathEscape(id) + "/users?" + q.Encode(); next != ""; {
		var page []struct {
			ID string `json:"id"`
		}
		n, err := s.get(ctx, next, &page)
		if err != nil {
			return nil, err
		}
		for _, u := range page {
			if ui, ok := index[u.ID]; ok {
				ids = append(ids, int32(ui))
			}
		}
		next = n
	}
	return ids, nil
}
