package confluence

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/confsync/confsync/plan"
)

var _ plan.PermissionReader = (*Client)(nil)

// permissionJSON is Atlassian's SpacePermission and GlobalPermission: an
// OperationDescription and a Subject whose displayName names the group.
type permissionJSON struct {
	Operation struct {
		TargetType   string `json:"targetType"`
		OperationKey string `json:"operationKey"`
	} `json:"operation"`
	Subject struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
	} `json:"subject"`
	SpaceKey string `json:"spaceKey"`
}

func (p permissionJSON) name() string {
	return p.Operation.TargetType + " " + p.Operation.OperationKey
}

// GroupGlobalPermissions reads GET /rest/api/permissions/group/{groupName}
// for each group, Parallelism at a time: one request per group. A group
// that does not exist (404) has none.
func (c *Client) GroupGlobalPermissions(ctx context.Context, groups []string) (map[string][]string, error) {
	out := make(map[string][]string, len(groups))
	var mu sync.Mutex
	err := c.each(ctx, len(groups), func(ctx context.Context, i int) error {
		var ps []permissionJSON
		_, err := c.do(ctx, call{ep: epGroupGlobalPermissions, args: []string{groups[i]}, out: &ps})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read global permissions of group %q: %w", groups[i], err)
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.name())
		}
		sort.Strings(names)
		mu.Lock()
		out[strings.ToLower(groups[i])] = names
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GroupSpacePermissions returns the space permissions of the groups.
//
// Confluence DC has no call that lists the spaces a group has permissions
// in: its permissions are read per space. So this lists the spaces (GET
// /rest/api/space, paged) and reads each space's permissions once (GET
// /rest/api/space/{spaceKey}/permissions), keeping the grants of the
// groups asked about. The cost is one request per space plus the list
// pages, whatever the number of groups asked about (asking per group and
// space would cost groups × spaces); it is paid only by plans that take
// something away.
func (c *Client) GroupSpacePermissions(ctx context.Context, groups []string) (map[string][]plan.SpaceGrant, error) {
	want := make(map[string]bool, len(groups))
	for _, g := range groups {
		want[strings.ToLower(g)] = true
	}
	out := map[string][]plan.SpaceGrant{}
	if len(want) == 0 {
		return out, nil
	}
	all, err := c.ReadSpacePermissions(ctx, nil)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if want[p.Group] {
			out[p.Group] = append(out[p.Group], plan.SpaceGrant{Space: p.Space, Permission: p.Permission})
		}
	}
	for g := range out {
		sort.Slice(out[g], func(i, j int) bool {
			a, b := out[g][i], out[g][j]
			if a.Space != b.Space {
				return a.Space < b.Space
			}
			return a.Permission < b.Permission
		})
	}
	return out, nil
}

var _ plan.SpacePermissionReader = (*Client)(nil)

// ReadSpacePermissions reads the group grants of the spaces keys (GET
// /rest/api/space/{spaceKey}/permissions, one request each), or of every
// space when keys is nil (listed first with GET /rest/api/space, paged).
// A space that does not exist (deleted since) has none.
func (c *Client) ReadSpacePermissions(ctx context.Context, keys []string) ([]plan.SpacePermission, error) {
	if keys == nil {
		err := pageAll(ctx, c, epListSpaces, nil, nil, func(s struct {
			Key string `json:"key"`
		}) error {
			if s.Key != "" {
				keys = append(keys, s.Key)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list spaces: %w", err)
		}
	}
	var mu sync.Mutex
	var out []plan.SpacePermission
	err := c.each(ctx, len(keys), func(ctx context.Context, i int) error {
		var ps []permissionJSON
		if _, err := c.do(ctx, call{ep: epSpacePermissions, args: []string{keys[i]}, out: &ps}); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil // deleted since it was listed
			}
			return fmt.Errorf("read permissions of space %s: %w", keys[i], err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ps {
			if p.Subject.Type != "group" || p.Subject.DisplayName == "" {
				continue
			}
			out = append(out, plan.SpacePermission{Space: keys[i], Group: strings.ToLower(p.Subject.DisplayName), Permission: p.name()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// each runs fn for 0..n-1, Parallelism at a time; the first error cancels
// the rest and is returned.
func (c *Client) each(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range c.opts.Parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
