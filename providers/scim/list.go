package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/providers/scim/filter"
	"github.com/confsync/confsync/providers/store"
)

// listQuery is a list or search request.
type listQuery struct {
	filter     filter.Expr
	startIndex int // 1-based
	count      int
	proj       projection
}

type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

func parseFilter(s string) (filter.Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	f, err := filter.Parse(s)
	if err != nil {
		return nil, &Error{Status: http.StatusBadRequest, SCIMType: typeInvalidFilter, Detail: "invalid filter: " + err.Error(), Err: err}
	}
	return f, nil
}

// walkFilter calls fn with every comparison and presence test in f and
// the definition of the multi-valued attribute whose value filter holds it
// (nil at the top level).
func walkFilter(f filter.Expr, parent *attrDef, kind *resourceKind, fn func(e filter.Expr, a filter.AttrPath, parent *attrDef) error) error {
	switch x := f.(type) {
	case *filter.And:
		if err := walkFilter(x.L, parent, kind, fn); err != nil {
			return err
		}
		return walkFilter(x.R, parent, kind, fn)
	case *filter.Or:
		if err := walkFilter(x.L, parent, kind, fn); err != nil {
			return err
		}
		return walkFilter(x.R, parent, kind, fn)
	case *filter.Not:
		return walkFilter(x.X, parent, kind, fn)
	case *filter.Compare:
		return fn(x, x.Attr, parent)
	case *filter.Present:
		return fn(x, x.Attr, parent)
	case *filter.ValuePath:
		var def *attrDef
		if kind != nil && parent == nil {
			def = kind.def(x.Attr.URN, x.Attr.Name)
		}
		if err := walkFilter(x.Filter, def, kind, fn); err != nil {
			return err
		}
		if x.Cmp != nil {
			return walkFilter(x.Cmp, def, kind, fn)
		}
	}
	return nil
}

// checkFilterTypes refuses a filter that compares a dateTime attribute
// (meta.created, meta.lastModified) with a value that is not a date-time:
// it could match nothing, silently.
func checkFilterTypes(kind *resourceKind, f filter.Expr) error {
	if f == nil {
		return nil
	}
	return walkFilter(f, nil, kind, func(e filter.Expr, a filter.AttrPath, parent *attrDef) error {
		c, ok := e.(*filter.Compare)
		if !ok {
			return nil
		}
		var def *attrDef
		if parent != nil {
			def = findAttr(parent.Sub, a.Name)
		} else {
			def = kind.def(a.URN, a.Name)
		}
		if def != nil && a.Sub != "" {
			def = findAttr(def.Sub, a.Sub)
		}
		if def == nil {
			return nil
		}
		if def.Type == "complex" && def.Multi && a.Sub == "" {
			// emails gt "x" compares the values' value sub-attribute.
			if v := findAttr(def.Sub, "value"); v != nil {
				def = v
			}
		}
		switch c.Op {
		case filter.Gt, filter.Ge, filter.Lt, filter.Le:
			// RFC 7644 §3.4.2.2: Boolean and Binary attributes have no order.
			if def.Type == "boolean" || def.Type == "binary" {
				return badRequest(typeInvalidFilter, "%s is a %s: %s is not defined for it (use eq or ne)", a.String(), def.Type, c.Op)
			}
		}
		if c.Value == nil || def.Type != "dateTime" {
			return nil
		}
		switch c.Op {
		case filter.Eq, filter.Ne, filter.Gt, filter.Ge, filter.Lt, filter.Le:
		default:
			return nil
		}
		if _, isString := c.Value.(string); isString {
			if _, ok := filter.ParseTime(c.Raw); ok {
				return nil
			}
		}
		return badRequest(typeInvalidFilter, "%s is a dateTime: compare it with a date-time such as \"2024-01-02T15:04:05Z\", not %s", a.String(), quote(c.Raw))
	})
}

// qualify rewrites unqualified names of extension attributes in a filter
// (Entra's legacy `manager eq "id"`) to their extension's URN.
func qualify(kind *resourceKind, f filter.Expr) filter.Expr {
	fix := func(a filter.AttrPath) filter.AttrPath {
		if a.URN == "" {
			if ext := kind.extensionOf(a.Name); ext != nil {
				a.URN = ext.ID
			}
		}
		return a
	}
	switch x := f.(type) {
	case *filter.And:
		return &filter.And{L: qualify(kind, x.L), R: qualify(kind, x.R)}
	case *filter.Or:
		return &filter.Or{L: qualify(kind, x.L), R: qualify(kind, x.R)}
	case *filter.Not:
		return &filter.Not{X: qualify(kind, x.X)}
	case *filter.Compare:
		c := *x
		c.Attr = fix(c.Attr)
		return &c
	case *filter.Present:
		return &filter.Present{Attr: fix(x.Attr)}
	case *filter.ValuePath:
		v := *x
		v.Attr = fix(v.Attr)
		return &v
	}
	return f
}

// paging reads startIndex and count. RFC 7644 §3.4.2.4: a startIndex below
// 1 is 1, a negative count is 0; counts above MaxPageSize are lowered.
func paging(startIndex, count string) (int, int, error) {
	si, c := 1, defaultPageSize
	if startIndex != "" {
		n, err := strconv.Atoi(strings.TrimSpace(startIndex))
		if err != nil {
			return 0, 0, badRequest(typeInvalidValue, "startIndex must be an integer")
		}
		si = max(n, 1)
	}
	if count != "" {
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil {
			return 0, 0, badRequest(typeInvalidValue, "count must be an integer")
		}
		c = min(max(n, 0), MaxPageSize)
	}
	return si, c, nil
}

// list answers GET /Users and GET /Groups.
func (s *Server) list(w http.ResponseWriter, r *request, kind *resourceKind) error {
	q := r.URL.Query()
	var lq listQuery
	var err error
	if lq.filter, err = parseFilter(q.Get("filter")); err != nil {
		return err
	}
	if err := checkFilterTypes(kind, lq.filter); err != nil {
		return err
	}
	if lq.startIndex, lq.count, err = paging(q.Get("startIndex"), q.Get("count")); err != nil {
		return err
	}
	if lq.proj, err = parseProjection(q.Get("attributes"), q.Get("excludedAttributes")); err != nil {
		return err
	}
	lq.proj.list = true
	return s.answerList(w, r, []*resourceKind{kind}, lq)
}

// searchRequest is the body of POST /.search (RFC 7644 §3.4.3).
type searchRequest struct {
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	Filter             string   `json:"filter"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
}

func (s *Server) search(w http.ResponseWriter, r *request, kinds []*resourceKind) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(body)
	var sr searchRequest
	if err := json.Unmarshal(raw, &sr); err != nil {
		return badRequest(typeInvalidValue, "invalid search request: attributes must be lists of strings, filter a string, startIndex and count integers")
	}
	var lq listQuery
	if lq.filter, err = parseFilter(sr.Filter); err != nil {
		return err
	}
	for _, k := range kinds {
		if err := checkFilterTypes(k, lq.filter); err != nil {
			return err
		}
	}
	si, c := "", ""
	if sr.StartIndex != nil {
		si = strconv.Itoa(*sr.StartIndex)
	}
	if sr.Count != nil {
		c = strconv.Itoa(*sr.Count)
	}
	if lq.startIndex, lq.count, err = paging(si, c); err != nil {
		return err
	}
	if lq.proj, err = parseProjection(strings.Join(sr.Attributes, ","), strings.Join(sr.ExcludedAttributes, ",")); err != nil {
		return err
	}
	lq.proj.list = true
	return s.answerList(w, r, kinds, lq)
}

// scanPageSize is the page size of a full scan.
const scanPageSize = 500

// collector gathers one page of a list while counting every match.
type collector struct {
	resp  listResponse
	skip  int
	count int
}

// add counts a match and renders it when it falls on the page.
func (c *collector) add(render func() (map[string]any, error)) error {
	c.resp.TotalResults++
	if c.skip > 0 {
		c.skip--
		return nil
	}
	if len(c.resp.Resources) >= c.count {
		return nil
	}
	m, err := render()
	if err != nil {
		return err
	}
	c.resp.Resources = append(c.resp.Resources, m)
	return nil
}

// full reports whether the page is complete, so that further matches only
// need counting.
func (c *collector) full() bool { return c.skip == 0 && len(c.resp.Resources) >= c.count }

// answerList evaluates a list query over the given kinds (one for
// /Users and /Groups, both for the root /.search) and answers a
// ListResponse. Simple equality filters on indexed attributes use the
// store's lookups; anything else scans the IdP's resources page by page.
func (s *Server) answerList(w http.ResponseWriter, r *request, kinds []*resourceKind, lq listQuery) error {
	c := &collector{
		resp:  listResponse{Schemas: []string{listResponseSchema}, StartIndex: lq.startIndex, Resources: []any{}},
		skip:  lq.startIndex - 1,
		count: lq.count,
	}
	for _, kind := range kinds {
		if err := s.listKind(r, kind, lq, c); err != nil {
			return err
		}
	}
	c.resp.ItemsPerPage = len(c.resp.Resources)
	return writeJSON(w, http.StatusOK, c.resp)
}

func (s *Server) listKind(r *request, kind *resourceKind, lq listQuery, c *collector) error {
	ctx := r.Context()
	if lq.filter != nil {
		lq.filter = qualify(kind, lq.filter)
	}
	// Without a filter, the count comes from the store and only the page is read.
	if lq.filter == nil {
		return s.listAll(r, kind, lq, c)
	}
	if lk, ok := indexedLookup(kind, lq.filter); ok {
		if kind == userKind {
			var users []*store.User
			if strings.EqualFold(lk.Attr, "id") {
				u, err := s.opts.Store.GetUser(ctx, r.idp, lk.Value)
				if err == nil {
					users = []*store.User{u}
				} else if !isNotFound(err) {
					return storeError(err, "users")
				}
			} else {
				var err error
				if users, err = s.opts.Store.FindUsers(ctx, r.idp, lk); err != nil {
					return storeError(err, "users")
				}
			}
			// The store's lookup applies the attribute's own case rule, so
			// the filter needs no second evaluation.
			for _, u := range users {
				if err := c.add(func() (map[string]any, error) { return s.renderUser(r, u, lq.proj) }); err != nil {
					return err
				}
			}
			return nil
		}
		var groups []*store.Group
		if strings.EqualFold(lk.Attr, "id") {
			g, err := s.opts.Store.GetGroup(ctx, r.idp, lk.Value)
			if err == nil {
				groups = []*store.Group{g}
			} else if !isNotFound(err) {
				return storeError(err, "groups")
			}
		} else {
			var err error
			if groups, err = s.opts.Store.FindGroups(ctx, r.idp, lk); err != nil {
				return storeError(err, "groups")
			}
		}
		for _, g := range groups {
			if err := c.add(func() (map[string]any, error) { return s.renderGroup(r, g, lq.proj) }); err != nil {
				return err
			}
		}
		return nil
	}
	return s.scan(r, kind, func(u *store.User, g *store.Group) error {
		if u != nil {
			return s.emitUser(r, u, lq, c)
		}
		return s.emitGroup(r, g, lq, c)
	})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// emitUser evaluates the filter on a user and emits it when it matches.
func (s *Server) emitUser(r *request, u *store.User, lq listQuery, c *collector) error {
	if lq.filter != nil {
		m, err := userMap(u)
		if err != nil {
			return err
		}
		res := userResource(u, m, r.base)
		if filterNeedsGroups(lq.filter) {
			ids, err := s.opts.Store.GroupsOf(r.Context(), r.idp, u.ID)
			if err != nil {
				return storeError(err, "groups of user")
			}
			gl := make([]any, len(ids))
			for i, id := range ids {
				gl[i] = map[string]any{"value": id}
			}
			res["groups"] = gl
		}
		if !filter.Match(lq.filter, res, userKind.caseExact) {
			return nil
		}
	}
	return c.add(func() (map[string]any, error) { return s.renderUser(r, u, lq.proj) })
}

func (s *Server) emitGroup(r *request, g *store.Group, lq listQuery, c *collector) error {
	if lq.filter != nil {
		m, err := groupMap(g)
		if err != nil {
			return err
		}
		res := groupResource(g, m, r.base)
		if filterNeedsMembers(lq.filter) {
			ok, err := s.groupMatchesWithMembers(r, g, res, lq.filter)
			if err != nil || !ok {
				return err
			}
		} else if !filter.Match(lq.filter, res, groupKind.caseExact) {
			return nil
		}
	}
	return c.add(func() (map[string]any, error) { return s.renderGroup(r, g, lq.proj) })
}

// groupMatchesWithMembers evaluates a filter that names members; the
// members are read for it.
func (s *Server) groupMatchesWithMembers(r *request, g *store.Group, res map[string]any, f filter.Expr) (bool, error) {
	var members []any
	after := ""
	for {
		page, err := s.opts.Store.ListMembers(r.Context(), r.idp, g.ID, store.Page{After: after, Limit: memberPageSize})
		if err != nil {
			return false, storeError(err, "group members")
		}
		for _, m := range page {
			members = append(members, map[string]any{"value": m.ID, "type": m.Type})
		}
		if len(page) < memberPageSize {
			break
		}
		after = page[len(page)-1].ID
	}
	res["members"] = members
	return filter.Match(f, res, groupKind.caseExact), nil
}

func filterNames(f filter.Expr, name string) bool {
	switch x := f.(type) {
	case *filter.And:
		return filterNames(x.L, name) || filterNames(x.R, name)
	case *filter.Or:
		return filterNames(x.L, name) || filterNames(x.R, name)
	case *filter.Not:
		return filterNames(x.X, name)
	case *filter.Compare:
		return x.Attr.URN == "" && strings.EqualFold(x.Attr.Name, name)
	case *filter.Present:
		return x.Attr.URN == "" && strings.EqualFold(x.Attr.Name, name)
	case *filter.ValuePath:
		return x.Attr.URN == "" && strings.EqualFold(x.Attr.Name, name)
	}
	return false
}

func filterNeedsGroups(f filter.Expr) bool  { return filterNames(f, "groups") }
func filterNeedsMembers(f filter.Expr) bool { return filterNames(f, "members") }

// indexedLookup recognises `attr eq "value"` on an attribute the store
// indexes with the same case rule as the attribute's.
func indexedLookup(kind *resourceKind, f filter.Expr) (store.Lookup, bool) {
	c, ok := f.(*filter.Compare)
	if !ok || c.Op != filter.Eq || c.Attr.Sub != "" {
		return store.Lookup{}, false
	}
	if c.Attr.URN != "" && !strings.EqualFold(c.Attr.URN, kind.core.ID) {
		return store.Lookup{}, false
	}
	v, isStr := c.Value.(string)
	if !isStr {
		if c.Value == nil {
			return store.Lookup{}, false
		}
		v = c.Raw
	}
	var attr string
	switch strings.ToLower(c.Attr.Name) {
	case "id":
		attr = "id"
	case "externalid":
		attr = "externalId"
	case "username":
		if kind != userKind {
			return store.Lookup{}, false
		}
		attr = "userName"
	case "displayname":
		if kind != groupKind {
			return store.Lookup{}, false
		}
		attr = "displayName"
	default:
		return store.Lookup{}, false
	}
	return store.Lookup{Attr: attr, Value: v}, true
}

// scan calls fn for every user (or group) of the IdP, in id order.
func (s *Server) scan(r *request, kind *resourceKind, fn func(*store.User, *store.Group) error) error {
	return s.scanFrom(r, kind, "", fn)
}

// scanFrom is scan starting after the id after.
func (s *Server) scanFrom(r *request, kind *resourceKind, after string, fn func(*store.User, *store.Group) error) error {
	for {
		if kind == userKind {
			page, err := s.opts.Store.ListUsers(r.Context(), r.idp, store.Page{After: after, Limit: scanPageSize})
			if err != nil {
				return storeError(err, "users")
			}
			for _, u := range page {
				if err := fn(u, nil); err != nil {
					return err
				}
			}
			if len(page) < scanPageSize {
				return nil
			}
			after = page[len(page)-1].ID
			continue
		}
		page, err := s.opts.Store.ListGroups(r.Context(), r.idp, store.Page{After: after, Limit: scanPageSize})
		if err != nil {
			return storeError(err, "groups")
		}
		for _, g := range page {
			if err := fn(nil, g); err != nil {
				return err
			}
		}
		if len(page) < scanPageSize {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// listAll answers an unfiltered list: the total from the store's count,
// the page by walking ids from the start (offset paging over keyset pages).
func (s *Server) listAll(r *request, kind *resourceKind, lq listQuery, c *collector) error {
	ctx := r.Context()
	var total int
	var err error
	if kind == userKind {
		total, err = s.opts.Store.CountUsers(ctx, r.idp)
	} else {
		total, err = s.opts.Store.CountGroups(ctx, r.idp)
	}
	if err != nil {
		return storeError(err, "count")
	}
	if c.full() {
		c.resp.TotalResults += total
		return nil
	}
	if c.skip >= total {
		c.skip -= total
		c.resp.TotalResults += total
		return nil
	}
	// Okta and Entra page through everything with startIndex; the id at
	// which the previous page ended lets this one start there instead of
	// walking the ids before it.
	seen, after := 0, ""
	if c.skip > 0 {
		if id, ok := s.cursors.get(s.now(), r.idp, kind.name, c.skip); ok {
			seen, after = c.skip, id
			c.resp.TotalResults += c.skip
			c.skip = 0
		}
	}
	last := ""
	err = s.scanFrom(r, kind, after, func(u *store.User, g *store.Group) error {
		if c.full() {
			return errPageFull
		}
		seen++
		if u != nil {
			last = u.ID
			return c.add(func() (map[string]any, error) { return s.renderUser(r, u, lq.proj) })
		}
		last = g.ID
		return c.add(func() (map[string]any, error) { return s.renderGroup(r, g, lq.proj) })
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return err
	}
	if last != "" && c.full() {
		s.cursors.put(s.now(), r.idp, kind.name, seen, last)
	}
	// The rest is counted, not read. (A write between the count and the
	// scan can make the total off by the writes in between, as with any
	// paged SCIM list.)
	if rest := total - seen; rest > 0 {
		c.resp.TotalResults += rest
	}
	return nil
}

var errPageFull = errors.New("page full")

// cursorCache remembers, for unfiltered lists, the id at which a page
// ended, keyed by the number of resources before it, so that the next
// page (startIndex = that number + 1) starts there. Entries expire and the
// cache is bounded; a miss only costs a longer walk.
type cursorCache struct {
	mu sync.Mutex
	m  map[cursorKey]cursorEntry
}

type cursorKey struct {
	idp, kind string
	offset    int
}

type cursorEntry struct {
	id string
	at time.Time
}

const (
	cursorTTL     = 10 * time.Minute
	cursorEntries = 4096
)

func (cc *cursorCache) get(now time.Time, idp, kind string, offset int) (string, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[cursorKey{idp, kind, offset}]
	if !ok || now.Sub(e.at) > cursorTTL {
		return "", false
	}
	return e.id, true
}

func (cc *cursorCache) put(now time.Time, idp, kind string, offset int, id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil || len(cc.m) >= cursorEntries {
		cc.m = map[cursorKey]cursorEntry{}
	}
	cc.m[cursorKey{idp, kind, offset}] = cursorEntry{id: id, at: now}
}
