// Package emulator is a stand-in for an Okta org as confsync reads it:
// the management API's users, groups and group members, written from
// Okta's documentation (see docs/okta.md for the pages), not from
// confsync's client: SSWS API tokens, limit and after cursors with
// Link: rel="next" paging, the filter and search subset, DEPROVISIONED
// users left out of an unfiltered list, Okta's error bodies, per-minute
// rate limits with X-Rate-Limit-* headers and 429s, and injected faults.
package emulator

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/providers/fault"
)

// Page size limits of the endpoints emulated.
const (
	maxUsers      = 200
	maxGroups     = 200
	maxGroupUsers = 1000
)

// Options configure an emulated org.
type Options struct {
	// Token is the one API token accepted.
	Token string
	// RateLimit is the requests per minute per endpoint (0: 600).
	RateLimit int
	// Now returns the time (default time.Now).
	Now func() time.Time
}

// Server is an emulated Okta org, an http.Handler.
type Server struct {
	opts Options

	mu      sync.Mutex
	users   []map[string]any
	groups  []map[string]any
	members map[string][]string // group id -> user ids
	userPos map[string]int      // user id -> index in users
	byID    map[string]map[string]any
	windows map[string]*window
	faults  fault.List
	stats   Stats
}

type window struct {
	reset time.Time
	used  int
}

// Stats counts what the emulator answered.
type Stats struct {
	// Requests by route: "users", "groups", "groupUsers", "userGroups".
	Requests  map[string]int
	Throttled int
	Faults    int
}

// Fault is an injected failure: the next Times requests (negative: all)
// whose path and unescaped query contain Path are answered with Status,
// or have their connection dropped when Status is 0.
type Fault struct {
	Path   string
	Status int
	Times  int
}

// New returns an empty org.
func New(opts Options) *Server {
	if opts.RateLimit == 0 {
		opts.RateLimit = 600
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{opts: opts, members: map[string][]string{}, userPos: map[string]int{}, byID: map[string]map[string]any{}, windows: map[string]*window{}, stats: Stats{Requests: map[string]int{}}}
}

// newID returns an Okta-style id with the given prefix ("00u", "00g").
func newID(prefix string) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [17]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + string(b[:])
}

// AddUser adds a user with the given status ("ACTIVE" when empty) and
// profile, and returns its id.
func (s *Server) AddUser(status string, profile map[string]any) string {
	return s.AddUserWithID(newID("00u"), status, profile)
}

// AddUserWithID adds a user with the given id, for fixtures whose output
// names it.
func (s *Server) AddUserWithID(id, status string, profile map[string]any) string {
	if status == "" {
		status = "ACTIVE"
	}
	p := map[string]any{}
	for k, v := range profile {
		p[k] = v
	}
	u := map[string]any{"id": id, "status": status, "created": "2024-01-01T00:00:00.000Z", "type": map[string]any{"id": "oty1"}, "profile": p}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userPos[id] = len(s.users)
	s.users = append(s.users, u)
	s.byID[id] = u
	return id
}

// SetStatus changes a user's status.
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.byID[id]; u != nil {
		u["status"] = status
	}
}

// AddGroup adds an OKTA_GROUP with the given name and members, returning
// its id.
func (s *Server) AddGroup(name string, members ...string) string {
	id := newID("00g")
	g := map[string]any{"id": id, "type": "OKTA_GROUP", "objectClass": []any{"okta:user_group"}, "profile": map[string]any{"name": name, "description": nil}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, g)
	s.byID[id] = g
	s.members[id] = append([]string(nil), members...)
	return id
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.faults.Add(fault.Rule{Path: f.Path, Status: f.Status, Times: f.Times})
}

// ClearFaults removes the faults.
func (s *Server) ClearFaults() { s.faults.Clear() }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	c.Requests = map[string]int{}
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	return c
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, r) {
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "SSWS "); !ok || tok != s.opts.Token {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	if r.Method != http.MethodGet {
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/"), "/"), "/")
	route := ""
	switch {
	case r.URL.Path == "/api/v1/users":
		route = "users"
	case r.URL.Path == "/api/v1/groups":
		route = "groups"
	case len(parts) == 3 && parts[0] == "groups" && parts[2] == "users":
		route = "groupUsers"
	case len(parts) == 3 && parts[0] == "users" && parts[2] == "groups":
		route = "userGroups"
	default:
		oktaError(w, http.StatusNotFound, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if !s.admit(w, route) {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	var items []map[string]any
	limit := maxUsers
	switch route {
	case "users":
		if q.Get("filter") == "" && q.Get("search") == "" && q.Get("q") == "" {
			// An unfiltered list leaves deprovisioned users out. Only
			// this page's users are gathered, from the cursor on, so
			// that paging a large org costs no copy of it per page.
			items = s.unfilteredUsers(q.Get("after"), q.Get("limit"))
			s.mu.Unlock()
			if items == nil {
				oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after")
				return
			}
			s.page(w, r, items, maxUsers)
			return
		}
		items = append(items, s.users...)
	case "groups":
		items, limit = append(items, s.groups...), maxGroups
	case "groupUsers":
		if g := s.byID[parts[1]]; g == nil || g["type"] != "OKTA_GROUP" {
			s.mu.Unlock()
			oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+parts[1]+" (UserGroup)")
			return
		}
		for _, id := range s.members[parts[1]] {
			if u := s.byID[id]; u != nil {
				items = append(items, u)
			}
		}
		limit = maxGroupUsers
	case "userGroups":
		if s.byID[parts[1]] == nil {
			s.mu.Unlock()
			oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+parts[1]+" (User)")
			return
		}
		for _, g := range s.groups {
			for _, m := range s.members[g["id"].(string)] {
				if m == parts[1] {
					items = append(items, g)
					break
				}
			}
		}
	}
	s.mu.Unlock()
	s.page(w, r, items, limit)
}

// unfilteredUsers returns the users an unfiltered list pages through
// from the after cursor: one more than the page (so that page knows a
// next one exists), the user named by after first so that page finds its
// cursor. nil means an unknown cursor. s.mu is held.
func (s *Server) unfilteredUsers(after, limitParam string) []map[string]any {
	start := 0
	if after != "" {
		i, ok := s.userPos[after]
		if !ok {
			return nil
		}
		start = i
	}
	limit := maxUsers
	if n, err := strconv.Atoi(limitParam); err == nil && n > 0 {
		limit = min(n, maxUsers)
	}
	var out []map[string]any
	if after != "" {
		out = append(out, s.users[start])
		start++
	}
	for i := start; i < len(s.users) && len(out) < limit+2; i++ {
		if s.users[i]["status"] != "DEPROVISIONED" {
			out = append(out, s.users[i])
		}
	}
	return out
}

// page filters, pages and writes a collection.
func (s *Server) page(w http.ResponseWriter, r *http.Request, items []map[string]any, maxLimit int) {
	q := r.URL.Query()
	for _, key := range []string{"filter", "search"} {
		if expr := q.Get(key); expr != "" {
			f, err := parseExpr(expr)
			if err != nil {
				oktaError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria. "+err.Error())
				return
			}
			s.mu.Lock()
			kept := items[:0:0]
			for _, it := range items {
				if f(it) {
					kept = append(kept, it)
				}
			}
			s.mu.Unlock()
			items = kept
		}
	}
	if prefix := strings.ToLower(q.Get("q")); prefix != "" {
		kept := items[:0:0]
		for _, it := range items {
			for _, a := range []string{"profile.name", "profile.login", "profile.email", "profile.firstName", "profile.lastName"} {
				if v, ok := value(it, a); ok && strings.HasPrefix(strings.ToLower(v), prefix) {
					kept = append(kept, it)
					break
				}
			}
		}
		items = kept
	}
	limit := maxLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: limit")
			return
		}
		limit = min(n, maxLimit) // larger limits are capped, as documented
	}
	start := 0
	if after := q.Get("after"); after != "" {
		start = -1
		for i, it := range items {
			if it["id"] == after {
				start = i + 1
				break
			}
		}
		if start < 0 {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: after")
			return
		}
	}
	end := min(start+limit, len(items))
	self := *r.URL
	self.Scheme, self.Host = "http", r.Host
	if r.TLS != nil {
		self.Scheme = "https"
	}
	w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="self"`, self.String()))
	if end < len(items) {
		next := self
		nq := next.Query()
		nq.Set("after", items[end-1]["id"].(string))
		nq.Set("limit", strconv.Itoa(limit))
		next.RawQuery = nq.Encode()
		w.Header().Add("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	s.mu.Lock()
	body, err := json.Marshal(items[start:end])
	s.mu.Unlock()
	if err != nil {
		oktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// admit applies the per-minute rate limit of a route, writing the
// X-Rate-Limit headers, and a 429 when the window is used up.
func (s *Server) admit(w http.ResponseWriter, route string) bool {
	now := s.opts.Now()
	s.mu.Lock()
	s.stats.Requests[route]++
	win := s.windows[route]
	if win == nil || !now.Before(win.reset) {
		win = &window{reset: now.Truncate(time.Second).Add(time.Minute)}
		s.windows[route] = win
	}
	win.used++
	used, reset := win.used, win.reset
	if used > s.opts.RateLimit {
		s.stats.Throttled++
	}
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(max(s.opts.RateLimit-used, 0)))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if used > s.opts.RateLimit {
		oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return false
	}
	return true
}

func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.faults.Match(r)
	if !ok {
		return false
	}
	s.mu.Lock()
	s.stats.Faults++
	s.mu.Unlock()
	if f.Status == 0 {
		fault.Drop(w)
		return true
	}
	oktaError(w, f.Status, "E0000009", http.StatusText(f.Status))
	return true
}

// oktaError writes Okta's error body.
func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": newID("oae"), "errorCauses": []any{},
	})
}
