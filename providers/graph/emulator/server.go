// Package emulator is a stand-in for Microsoft Entra ID as confsync reads
// it: the Microsoft identity platform's client-credentials token endpoint
// and the Microsoft Graph v1.0 users and groups collections. It is written
// from Microsoft's documentation (see docs/graph.md for the pages), not
// from confsync's client: $select, $top, the documented $filter subset,
// @odata.nextLink paging with opaque $skiptoken values, direct and
// transitive members with their @odata.type, the OData error bodies,
// AADSTS error codes on the token endpoint, 429 with Retry-After, and
// injected faults.
package emulator

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/providers/fault"
)

// Options configure an emulator.
type Options struct {
	// TenantID is the directory id; a token request for another tenant
	// fails with AADSTS90002. Domain names are not accepted.
	TenantID string
	// ClientID and ClientSecret are the one app registration that may
	// sign in.
	ClientID     string
	ClientSecret string
	// Certificates are the certificates uploaded to the app registration
	// (its keyCredentials): a client assertion signed by the key of one
	// of them signs in.
	Certificates []*x509.Certificate
	// TokenLifetime is the lifetime of an access token (default one hour,
	// Entra ID's default for app-only tokens).
	TokenLifetime time.Duration
	// DefaultPageSize is the page size without $top (default 100, as
	// documented for /users).
	DefaultPageSize int
	// Now returns the time (default time.Now), for token expiry in tests.
	Now func() time.Time
}

// Server is an emulated tenant. It is an http.Handler: serve it with
// httptest.NewServer or http.Server; the token endpoint and Graph share the
// one handler, so the test gives the same base URL as authority and
// endpoint.
type Server struct {
	opts Options

	mu     sync.Mutex
	users  []*object // in creation order, which is the paging order
	groups []*object
	byID   map[string]*object
	// props are the user property names some user holds, which $select
	// accepts besides the documented ones.
	props  map[string]bool
	tokens map[string]time.Time // access token -> expiry
	faults fault.List
	stats  Stats

	// version counts the tenant's changes; memberLog records membership
	// changes, and deltaFloor is the oldest delta token still honoured.
	version    int64
	memberLog  []memberChange
	deltaFloor int64
	tombstones []*object
}

// memberChange is one membership change, for groups delta.
type memberChange struct {
	version int64
	group   string
	member  string
	removed bool
}

// object is a user or a group: its properties as Graph returns them, and
// for a group its direct members.
type object struct {
	kind    string // "user" or "group"
	props   map[string]any
	members []string // ids, direct members of a group
	// version is the tenant version of the object's last change; deleted
	// objects stay as tombstones for delta queries.
	version int64
	deleted bool
}

// Stats counts what the emulator answered.
type Stats struct {
	// Requests counts requests by route: "token", "users", "groups",
	// "members", "transitiveMembers", "group".
	Requests map[string]int
	// Tokens counts access tokens issued.
	Tokens int
	// Throttled counts 429 answers, Faults other injected failures.
	Throttled int
	Faults    int
}

// Fault is an injected failure: the next Times requests whose path and
// unescaped query contain Path (all requests when empty) are answered with Status (and
// Retry-After when RetryAfter is set), or, when Status is 0, have their
// connection dropped.
type Fault struct {
	Path       string
	Status     int
	RetryAfter string
	// Times is how many requests fail; negative means every one.
	Times int
}

// New returns an emulated tenant with no users or groups.
func New(opts Options) *Server {
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.DefaultPageSize == 0 {
		opts.DefaultPageSize = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Server{opts: opts, byID: map[string]*object{}, props: map[string]bool{}, tokens: map[string]time.Time{}, stats: Stats{Requests: map[string]int{}}}
}

// NewID returns a random GUID, the form of Entra object ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// AddUser adds a user with the given properties. id is generated when
// props has none, accountEnabled defaults to true. It returns the id.
func (s *Server) AddUser(props map[string]any) string {
	p := make(map[string]any, len(props)+2)
	for k, v := range props {
		p[k] = v
	}
	if _, ok := p["id"]; !ok {
		p["id"] = NewID()
	}
	if _, ok := p["accountEnabled"]; !ok {
		p["accountEnabled"] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	o := &object{kind: "user", props: p, version: s.version}
	for k := range p {
		s.props[k] = true
	}
	s.users = append(s.users, o)
	s.byID[p["id"].(string)] = o
	return p["id"].(string)
}

// SetUser changes properties of a user (nil deletes one).
func (s *Server) SetUser(id string, props map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.byID[id]; o != nil {
		s.version++
		o.version = s.version
		for k, v := range props {
			if v == nil {
				delete(o.props, k)
			} else {
				o.props[k] = v
				s.props[k] = true
			}
		}
	}
}

// AddGroup adds a security group with the given display name and direct
// members (user or group ids) and returns its id.
func (s *Server) AddGroup(displayName string, members ...string) string {
	id := NewID()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	for _, m := range members {
		s.memberLog = append(s.memberLog, memberChange{version: s.version, group: id, member: m})
	}
	o := &object{kind: "group", version: s.version, props: map[string]any{
		"id": id, "displayName": displayName, "securityEnabled": true, "mailEnabled": false,
		"groupTypes": []any{}, "description": nil, "mail": nil,
	}, members: append([]string(nil), members...)}
	s.groups = append(s.groups, o)
	s.byID[id] = o
	return id
}

// AddMembers adds direct members to a group.
func (s *Server) AddMembers(groupID string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byID[groupID]; g != nil && g.kind == "group" {
		s.version++
		g.members = append(g.members, members...)
		for _, m := range members {
			s.memberLog = append(s.memberLog, memberChange{version: s.version, group: groupID, member: m})
		}
	}
}

// RemoveMembers removes direct members from a group.
func (s *Server) RemoveMembers(groupID string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.byID[groupID]; g != nil && g.kind == "group" {
		s.version++
		g.members = slices.DeleteFunc(g.members, func(m string) bool { return slices.Contains(members, m) })
		for _, m := range members {
			s.memberLog = append(s.memberLog, memberChange{version: s.version, group: groupID, member: m, removed: true})
		}
	}
}

// DeleteUser deletes a user: it leaves the tenant and its groups, and
// delta queries report it removed.
func (s *Server) DeleteUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byID[id]
	if o == nil || o.kind != "user" || o.deleted {
		return
	}
	s.version++
	o.deleted, o.version = true, s.version
	s.users = slices.DeleteFunc(s.users, func(u *object) bool { return u == o })
	for _, g := range s.groups {
		if slices.Contains(g.members, id) {
			g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == id })
			s.memberLog = append(s.memberLog, memberChange{version: s.version, group: g.props["id"].(string), member: id, removed: true})
		}
	}
	s.tombstones = append(s.tombstones, o)
}

// ExpireDeltaTokens makes every delta token issued so far answer 410 Gone,
// as when Entra ID drops the sync state.
func (s *Server) ExpireDeltaTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	s.deltaFloor = s.version
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) { s.faults.Add(fault.Rule(f)) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.faults.Clear() }

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	c.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		c.Requests[k] = v
	}
	return c
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{Requests: map[string]int{}}
}

// ExpireTokens makes every issued access token expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.fault(w, r) {
		return
	}
	path := r.URL.Path
	if strings.HasSuffix(path, "/oauth2/v2.0/token") {
		s.count("token")
		s.token(w, r)
		return
	}
	if !strings.HasPrefix(path, "/v1.0/") {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version.")
		return
	}
	if r.Method != http.MethodGet {
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "The emulator serves reads only.")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/v1.0/"), "/")
	switch {
	case len(parts) == 2 && (parts[0] == "users" || parts[0] == "groups") && parts[1] == "delta":
		s.count(parts[0] + "Delta")
		s.delta(w, r, parts[0])
	case len(parts) == 1 && parts[0] == "users":
		s.count("users")
		s.list(w, r, "users", nil)
	case len(parts) == 1 && parts[0] == "groups":
		s.count("groups")
		s.list(w, r, "groups", nil)
	case len(parts) == 2 && parts[0] == "groups":
		s.count("group")
		s.getGroup(w, r, parts[1])
	case len(parts) >= 3 && len(parts) <= 4 && parts[0] == "groups" && (parts[2] == "members" || parts[2] == "transitiveMembers"):
		cast := ""
		if len(parts) == 4 {
			cast = parts[3]
			if cast != "microsoft.graph.user" && cast != "microsoft.graph.group" {
				graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "The specified type cast is not supported: "+cast+".")
				return
			}
		}
		s.count(parts[2])
		s.listMembers(w, r, parts[1], parts[2] == "transitiveMembers", cast)
	case len(parts) >= 3 && len(parts) <= 4 && parts[0] == "users" && parts[2] == "transitiveMemberOf":
		if len(parts) == 4 && parts[3] != "microsoft.graph.group" {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "The specified type cast is not supported: "+parts[3]+".")
			return
		}
		s.count("transitiveMemberOf")
		s.listMemberOf(w, r, parts[1], len(parts) == 4)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+parts[0]+"'.")
	}
}

func (s *Server) count(route string) {
	s.mu.Lock()
	s.stats.Requests[route]++
	s.mu.Unlock()
}

// fault applies the first matching fault, reporting whether it answered.
func (s *Server) fault(w http.ResponseWriter, r *http.Request) bool {
	f, ok := s.faults.Match(r)
	if !ok {
		return false
	}
	s.mu.Lock()
	if f.Status == http.StatusTooManyRequests {
		s.stats.Throttled++
	} else {
		s.stats.Faults++
	}
	s.mu.Unlock()
	if f.Status == 0 {
		fault.Drop(w)
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	code := map[int]string{429: "TooManyRequests", 503: "serviceNotAvailable", 504: "UnknownError", 500: "UnknownError", 502: "UnknownError"}[f.Status]
	if code == "" {
		code = "UnknownError"
	}
	graphError(w, f.Status, code, http.StatusText(f.Status))
	return true
}

// authorized checks the bearer token as Graph does.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return false
	}
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.opts.Now()
	s.mu.Unlock()
	switch {
	case !known:
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed.")
		return false
	case !now.Before(exp):
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return false
	}
	return true
}

// graphError writes Graph's error body.
func graphError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": NewID(), "client-request-id": NewID()},
	}})
}
