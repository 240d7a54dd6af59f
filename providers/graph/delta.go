package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/confsync/confsync/plan"
)

// Delta reads. A Source that is used more than once (confsync serve keeps
// its sources) reads a tenant without groups or user_filter set through
// delta queries:
// the first Read is a full round of /users/delta and /groups/delta, and
// later Reads follow the deltaLinks, fetching only what changed, and apply
// it to the state the Source keeps in memory. A 410 Gone (Entra ID no
// longer holds the sync state), different requested attributes, or
// FullReadEvery elapsing start a new full round. A failed incremental read
// changes nothing in the kept state and fails the Read as any page does.
//
// With Options.Cursors the state (deltaLinks, users and group members) is
// saved after every successful round and loaded by the first Read of a new
// Source, so each confsync plan process reads only what changed since the
// last one (cursor.go). A deltaLink is only meaningful with the state it
// was issued against, so both are kept together.

// deltaState is what a Source knows of the tenant between delta reads.
type deltaState struct {
	attrs                 []string
	usersLink, groupsLink string
	users                 map[string]plan.SourceUser
	groups                map[string]*deltaGroup
	fullAt                time.Time
	// changed: the round that made this state received some object.
	changed bool
}

type deltaGroup struct {
	name    string
	members map[string]bool // user and group ids
}

// deltaPage is one page of a delta round.
type deltaPage struct {
	Value     []map[string]json.RawMessage `json:"value"`
	NextLink  string                       `json:"@odata.nextLink"`
	DeltaLink string                       `json:"@odata.deltaLink"`
}

// deltaMember is an entry of a group's members@delta.
type deltaMember struct {
	Type    string          `json:"@odata.type"`
	ID      string          `json:"id"`
	Removed json.RawMessage `json:"@removed"`
}

// deltaSource holds the delta state of a Source.
type deltaSource struct {
	mu     sync.Mutex
	state  *deltaState
	loaded bool // the cursor store was consulted
}

// errResync is a delta token the tenant refused with 410 Gone.
var errResync = errors.New("graph: the delta token has expired")

var deltaHeader = http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(PageSize)}}

// readDelta reads through delta queries, starting a full round when there
// is no usable state.
func (s *Source) readDelta(ctx context.Context, attrs []string) (*plan.Snapshot, error) {
	s.delta.mu.Lock()
	defer s.delta.mu.Unlock()
	if s.delta.state == nil && !s.delta.loaded {
		s.delta.loaded = true
		s.delta.state = s.loadCursor(ctx)
	}
	st := s.delta.state
	if st != nil && (!slices.Equal(st.attrs, attrs) || (s.fullReadEvery > 0 && time.Since(st.fullAt) >= s.fullReadEvery)) {
		st = nil
	}
	if st != nil {
		next, err := s.deltaRound(ctx, st, attrs)
		switch {
		case errors.Is(err, errResync):
			s.logger.Info("graph delta token expired; reading everything again")
			st = nil
		case err != nil:
			return nil, err
		default:
			s.delta.state = next
			// Nothing changed and the same links: the saved state is
			// still this one.
			if next.changed || next.usersLink != st.usersLink || next.groupsLink != st.groupsLink || s.alwaysSave {
				s.saveCursor(ctx, next)
			}
			return next.snapshot(), nil
		}
	}
	fresh := &deltaState{attrs: slices.Clone(attrs), users: map[string]plan.SourceUser{}, groups: map[string]*deltaGroup{}}
	q := url.Values{"$select": {selectList(attrs)}}
	fresh.usersLink = s.cfg.Endpoint + "/v1.0/users/delta?" + q.Encode()
	fresh.groupsLink = s.cfg.Endpoint + "/v1.0/groups/delta?" + url.Values{"$select": {"displayName,members"}}.Encode()
	next, err := s.deltaRound(ctx, fresh, attrs)
	if err != nil {
		return nil, err
	}
	next.fullAt = time.Now()
	s.delta.state = next
	s.saveCursor(ctx, next)
	return next.snapshot(), nil
}

// deltaRound follows st's links to their next deltaLinks and returns the
// state with the changes applied; st itself is left as it was.
func (s *Source) deltaRound(ctx context.Context, st *deltaState, attrs []string) (*deltaState, error) {
	next := &deltaState{attrs: st.attrs, fullAt: st.fullAt, users: make(map[string]plan.SourceUser, len(st.users)), groups: make(map[string]*deltaGroup, len(st.groups))}
	for k, v := range st.users {
		next.users[k] = v
	}
	for k, g := range st.groups {
		next.groups[k] = g // copied on write below
	}
	var err error
	next.usersLink, err = s.follow(ctx, st.usersLink, func(raw map[string]json.RawMessage) {
		next.changed = true
		var id string
		if json.Unmarshal(raw["id"], &id) != nil || id == "" {
			return
		}
		if _, gone := raw["@removed"]; gone {
			delete(next.users, id)
			return
		}
		if u, ok := sourceUser(raw, attrs); ok {
			next.users[id] = u
		}
	})
	if err != nil {
		return nil, err
	}
	next.groupsLink, err = s.follow(ctx, st.groupsLink, func(raw map[string]json.RawMessage) {
		next.changed = true
		var id string
		if json.Unmarshal(raw["id"], &id) != nil || id == "" {
			return
		}
		if _, gone := raw["@removed"]; gone {
			delete(next.groups, id)
			return
		}
		g := &deltaGroup{members: map[string]bool{}}
		if old := next.groups[id]; old != nil {
			g.name = old.name
			for m := range old.members {
				g.members[m] = true
			}
		}
		var name *string
		if json.Unmarshal(raw["displayName"], &name) == nil && name != nil {
			g.name = *name
		}
		var members []deltaMember
		_ = json.Unmarshal(raw["members@delta"], &members)
		for _, m := range members {
			if m.Type != "#microsoft.graph.user" && m.Type != "#microsoft.graph.group" {
				continue
			}
			if len(m.Removed) > 0 {
				delete(g.members, m.ID)
			} else {
				g.members[m.ID] = true
			}
		}
		next.groups[id] = g
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// follow pages from link to the round's deltaLink, handing each object to
// fn, and returns the deltaLink.
func (s *Source) follow(ctx context.Context, link string, fn func(map[string]json.RawMessage)) (string, error) {
	for link != "" {
		var page deltaPage
		if err := s.get(ctx, link, deltaHeader, &page); err != nil {
			var ge *graphError
			if errors.As(err, &ge) && ge.Status == http.StatusGone {
				return "", errResync
			}
			return "", err
		}
		for _, v := range page.Value {
			fn(v)
		}
		if page.DeltaLink != "" {
			return page.DeltaLink, nil
		}
		link = page.NextLink
	}
	return "", errors.New("graph: a delta round ended without a deltaLink")
}

// snapshot builds the Snapshot of the kept state: users sorted by id,
// groups flattened as a full read does.
func (st *deltaState) snapshot() *plan.Snapshot {
	ids := make([]string, 0, len(st.users))
	for id := range st.users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	users := make([]plan.SourceUser, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		users[i] = st.users[id]
		index[id] = i
	}
	gids := make([]string, 0, len(st.groups))
	for id := range st.groups {
		gids = append(gids, id)
	}
	slices.Sort(gids)
	groups := make([]groupRef, len(gids))
	members := make(map[string]*directMembers, len(gids))
	for i, id := range gids {
		g := st.groups[id]
		groups[i] = groupRef{id: id, name: g.name}
		dm := &directMembers{}
		for m := range g.members {
			if ui, ok := index[m]; ok {
				dm.users = append(dm.users, int32(ui))
			} else if _, ok := st.groups[m]; ok {
				dm.groups = append(dm.groups, groupRef{id: m})
			}
		}
		members[id] = dm
	}
	return &plan.Snapshot{Users: users, Groups: flatten(groups, members, users)}
}
