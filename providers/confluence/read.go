package confluence

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/confsync/confsync/plan"
)

// person is the part of Confluence's user representation the client reads.
type person struct {
	Type        string          `json:"type"`
	Username    string          `json:"username"`
	UserKey     string          `json:"userKey"`
	DisplayName string          `json:"displayName"`
	Email       string          `json:"email"`
	Status      json.RawMessage `json:"status"`
}

// active reads the expanded status. Atlassian documents the values as
// "Active" and "Deactivated" without fixing the JSON form, so both a
// string and an object with a "value" are accepted.
func (p person) active() (active, known bool) {
	if len(p.Status) == 0 || string(p.Status) == "null" {
		return true, false
	}
	var s string
	if json.Unmarshal(p.Status, &s) != nil {
		var o struct {
			Value string `json:"value"`
		}
		if json.Unmarshal(p.Status, &o) != nil {
			return true, false
		}
		s = o.Value
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "deactivated", "disabled", "inactive":
		return false, true
	case "":
		return true, false
	}
	return true, true
}

func (p person) actual() plan.ActualUser {
	a, _ := p.active()
	return plan.ActualUser{
		Username:    strings.ToLower(p.Username),
		Key:         p.UserKey,
		DisplayName: p.DisplayName,
		Email:       p.Email,
		Active:      a,
	}
}

// CurrentUser returns the user the credentials belong to, and remembers
// its username for ReadScope. An anonymous answer (a wrong token on an
// instance with anonymous access) is ErrAnonymous.
func (c *Client) CurrentUser(ctx context.Context) (*plan.ActualUser, error) {
	var p person
	if _, err := c.do(ctx, call{ep: epCurrentUser, out: &p}); err != nil {
		return nil, err
	}
	if p.Type == "anonymous" || p.Username == "" {
		return nil, fmt.Errorf("confluence: %w", ErrAnonymous)
	}
	u := p.actual()
	c.callerMu.Lock()
	c.caller = u.Username
	c.callerMu.Unlock()
	return &u, nil
}

// GetUser returns one user; a missing user is an error matching
// ErrNotFound and plan.ErrNotFound.
func (c *Client) GetUser(ctx context.Context, username string) (*plan.ActualUser, error) {
	var p person
	q := url.Values{"username": {username}, "expand": {"status"}}
	if username == "" {
		return nil, fmt.Errorf("confluence: get user: empty username")
	}
	if _, err := c.do(ctx, call{ep: epGetUser, query: q, out: &p}); err != nil {
		return nil, err
	}
	u := p.actual()
	return &u, nil
}

// listPage is Confluence's paged list envelope.
type listPage[T any] struct {
	Results []T `json:"results"`
	Start   int `json:"start"`
	Limit   int `json:"limit"`
	Size    int `json:"size"`
	Links   struct {
		Next string `json:"next"`
	} `json:"_links"`
}

const maxPages = 1 << 20

// pageAll walks a paged list from start 0, asking for Options.PageSize
// items a page and accepting whatever the server caps it at, until
// _links.next is absent.
func pageAll[T any](ctx context.Context, c *Client, ep endpoint, args []string, extra url.Values, each func(T) error) error {
	start := 0
	for pages := 0; ; pages++ {
		if pages >= maxPages {
			return fmt.Errorf("confluence: %s %s: more than %d pages", ep.Method, ep.Template, maxPages)
		}
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("start", strconv.Itoa(start))
		q.Set("limit", strconv.Itoa(c.opts.PageSize))
		var pg listPage[T]
		if _, err := c.do(ctx, call{ep: ep, args: args, query: q, out: &pg}); err != nil {
			return err
		}
		for _, r := range pg.Results {
			if err := each(r); err != nil {
				return err
			}
		}
		if pg.Links.Next == "" {
			return nil
		}
		if len(pg.Results) == 0 {
			return fmt.Errorf("confluence: %s %s: an empty page at start %d announced a next page", ep.Method, ep.Template, start)
		}
		next := start + len(pg.Results)
		// Follow the server's own idea of the next start when it gives one;
		// the request still goes to our own URL, never to one from the answer.
		if u, err := url.Parse(pg.Links.Next); err == nil {
			if n, err := strconv.Atoi(u.Query().Get("start")); err == nil && n > start {
				next = n
			}
		}
		start = next
	}
}

// Read returns every user (disabled ones included), every group and the
// direct members of each group. It first checks that the credentials are
// accepted.
func (c *Client) Read(ctx context.Context) (*plan.Actual, error) {
	caller, err := c.CurrentUser(ctx)
	if err != nil {
		return nil, err
	}
	out := &plan.Actual{Caller: strings.ToLower(caller.Username)}
	unknownStatus := 0
	err = pageAll(ctx, c, epListUsers, nil, url.Values{"expand": {"status"}}, func(p person) error {
		if p.Username == "" {
			return nil // not a known user
		}
		if _, known := p.active(); !known {
			unknownStatus++
		}
		out.Users = append(out.Users, p.actual())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("confluence: read users: %w", err)
	}
	if unknownStatus > 0 {
		c.log.Warn("confluence: users listed without a status; assuming they are active", "users", unknownStatus)
	}
	var names []string
	err = pageAll(ctx, c, epListGroups, nil, nil, func(g struct {
		Name string `json:"name"`
	}) error {
		names = append(names, g.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("confluence: read groups: %w", err)
	}
	groups, err := c.readMembers(ctx, names)
	if err != nil {
		return nil, err
	}
	out.Groups = groups
	sort.Slice(out.Users, func(i, j int) bool { return out.Users[i].Username < out.Users[j].Username })
	return out, nil
}

// readMembers reads the members of each group, Parallelism groups at a
// time; the first error cancels the rest.
func (c *Client) readMembers(ctx context.Context, names []string) ([]plan.ActualGroup, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	groups := make([]plan.ActualGroup, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for range c.opts.Parallelism {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				g := plan.ActualGroup{Name: strings.ToLower(names[i])}
				err := pageAll(ctx, c, epGroupMembers, []string{names[i]}, nil, func(p person) error {
					if p.Username != "" {
						g.Members = append(g.Members, strings.ToLower(p.Username))
					}
					return nil
				})
				if err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("confluence: read members of group %q: %w", names[i], err)
						cancel()
					})
					continue
				}
				sort.Strings(g.Members)
				groups[i] = g
			}
		}()
	}
feed:
	for i := range names {
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	return groups, nil
}
