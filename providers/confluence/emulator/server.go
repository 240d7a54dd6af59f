// Package emulator is a stand-in for Confluence Data Center's user and group
// REST API, for tests and demos.
//
// It is written from Atlassian's description of the API (the OpenAPI
// description of Confluence DC 10.0.3 and the documented behaviour collected
// in docs/confluence.md), not from confsync's client, and it never imports
// the client: a misunderstanding in the client must not be able to hide in
// the emulator. It reproduces the RestError envelope, paging with
// _links.next, the status codes of each call (201 for a new user, 200 for a
// new group, 202 and a long task for a user deletion, idempotent 204s),
// case-insensitive names, Bearer tokens and basic auth (with a wrong token
// treated as anonymous when anonymous access is on), licensed seats (402),
// and faults: latency, Confluence's token-bucket rate limiting with its
// headers, and random 5xx answers, all reproducible with a seed.
package emulator

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure an emulated Confluence.
type Options struct {
	// ContextPath is the path the instance sits under, e.g. "/confluence";
	// empty for the root.
	ContextPath string
	// AdminUsername is the administrator created on first start ("admin").
	AdminUsername string
	// AdminToken is a personal access token of the administrator.
	AdminToken string
	// AdminPassword is the administrator's password for basic auth.
	AdminPassword string
	// AnonymousAccess makes requests without valid credentials run as the
	// anonymous user, as a Confluence with anonymous access enabled does
	// (CONFSERVER-98199), instead of answering 401.
	AnonymousAccess bool
	// Seats is the number of licensed seats; creating a user once that many
	// active users exist answers 402. Zero means unlimited.
	Seats int
	// PageLimit caps the limit of paged lists (default 200).
	PageLimit int
	// HideEmail leaves email out of user representations, as Confluence
	// does when email visibility is restricted.
	HideEmail bool
	// DataFile, when set, is where the state is saved after every change
	// and read on start.
	DataFile string

	// Latency delays every answer.
	Latency time.Duration
	// RateLimit is the token bucket's fill rate in requests per second for
	// authenticated callers; zero disables rate limiting.
	RateLimit float64
	// RateBurst is the bucket size ("Max requests"); default max(1, RateLimit).
	RateBurst int
	// ErrorRate is the fraction (0..1) of requests answered with a 5xx.
	// Half of those faults happen after the request took effect, as when a
	// proxy times out waiting for an answer.
	ErrorRate float64
	// Seed makes the faults reproducible.
	Seed uint64
	// LongTaskPolls is how many status polls a user deletion task reports
	// before it is complete (default 1).
	LongTaskPolls int

	// Logger receives one line per request at debug level; nil discards.
	Logger *slog.Logger
}

// Stats counts the requests the emulator received.
type Stats struct {
	// Requests counts requests by route, e.g. "POST /rest/api/admin/user",
	// including those answered by a fault or the rate limiter.
	Requests map[string]int
	// Status counts answers by route and status, e.g.
	// "POST /rest/api/admin/user 409". A request that took effect but
	// whose answer was replaced by an injected fault is also counted as
	// e.g. "POST /rest/api/admin/user 201 (answer lost)".
	Status map[string]int
	// Throttled counts 429 answers; Faults counts injected 5xx answers.
	Throttled int
	Faults    int
	// Total counts every request.
	Total int
}

// Server is an emulated Confluence Data Center. It is an http.Handler and is
// safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex // guards st, tokens
	st     *state
	tokens map[string]string // token -> username

	faultMu sync.Mutex // guards rng, bucket, stats
	rng     *rand.Rand
	tokensF float64
	last    time.Time
	stats   Stats

	failTasks map[string]bool // usernames whose deletion task fails; guarded by mu
}

// New returns an emulator. It reads Options.DataFile when it exists, and
// otherwise starts as a fresh instance with the admin user in
// confluence-administrators and confluence-users.
func New(opts Options) (*Server, error) {
	if opts.AdminUsername == "" {
		opts.AdminUsername = "admin"
	}
	opts.AdminUsername = strings.ToLower(opts.AdminUsername)
	if opts.PageLimit <= 0 {
		opts.PageLimit = 200
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = int(math.Max(1, math.Ceil(opts.RateLimit)))
	}
	if opts.LongTaskPolls <= 0 {
		opts.LongTaskPolls = 1
	}
	if opts.ErrorRate < 0 || opts.ErrorRate > 1 {
		return nil, fmt.Errorf("error rate %v is not between 0 and 1", opts.ErrorRate)
	}
	opts.ContextPath = strings.TrimRight(opts.ContextPath, "/")
	if opts.ContextPath != "" && !strings.HasPrefix(opts.ContextPath, "/") {
		opts.ContextPath = "/" + opts.ContextPath
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:      opts,
		log:       lg,
		tokens:    map[string]string{},
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		tokensF:   float64(opts.RateBurst),
		last:      time.Now(),
		failTasks: map[string]bool{},
	}
	s.resetStats()
	if opts.AdminToken != "" {
		s.tokens[opts.AdminToken] = opts.AdminUsername
	}
	if opts.DataFile != "" {
		st, err := load(opts.DataFile)
		switch {
		case err == nil:
			s.st = st
		case isNotExist(err):
		default:
			return nil, err
		}
	}
	if s.st == nil {
		s.st = newState()
		s.st.seedDefaults(opts.AdminUsername)
		if err := s.persistLocked(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// caller is who a request runs as.
type caller struct {
	username  string // empty for anonymous
	anonymous bool
	admin     bool
}

// route is a matched request.
type route struct {
	name string   // "METHOD /rest/api/... template"
	args []string // unescaped path parameters
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, known, methodOK := s.match(r)
	key := rt.name
	if !known {
		key = r.Method + " (unknown route)"
	}
	s.count(key)
	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if !known {
		s.notFoundPage(w)
		s.countStatus(key, http.StatusNotFound)
		return
	}
	if !methodOK {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		io.WriteString(w, "<html><head><title>Method Not Allowed</title></head><body><h1>HTTP Status 405 – Method Not Allowed</h1></body></html>\n")
		s.countStatus(key, http.StatusMethodNotAllowed)
		return
	}

	c, authErr := s.authenticate(r)
	rec := &statusRecorder{ResponseWriter: w}
	if r.Header.Get("Authorization") != "" && s.opts.RateLimit > 0 {
		if !s.takeToken(rec) {
			writeError(rec, http.StatusTooManyRequests, "Rate limit exceeded")
			s.countStatus(key, max(rec.status, http.StatusOK))
			return
		}
	}
	fault, after := s.drawFault()
	if fault && !after {
		s.writeFault(rec)
		s.countStatus(key, max(rec.status, http.StatusOK))
		return
	}
	if authErr != nil {
		writeError(rec, http.StatusUnauthorized, authErr.Error())
	} else if fault {
		// The request takes effect but its answer is lost.
		lost := &statusRecorder{ResponseWriter: discardWriter{h: http.Header{}}}
		s.handle(lost, r, rt, c)
		s.countStatus(key+" "+strconv.Itoa(max(lost.status, http.StatusOK))+" (answer lost)", 0)
		s.writeFault(rec)
	} else {
		s.handle(rec, r, rt, c)
	}
	s.countStatus(key, max(rec.status, http.StatusOK))
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status)
}

func (s *Server) notFoundPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "<!DOCTYPE html><html><head><title>Page Not Found - Confluence</title></head><body><h1>Page Not Found</h1><p>The page you were looking for could not be found.</p></body></html>\n")
}

func (s *Server) writeFault(w http.ResponseWriter) {
	s.faultMu.Lock()
	s.stats.Faults++
	code := http.StatusInternalServerError
	switch s.rng.IntN(3) {
	case 1:
		code = http.StatusBadGateway
	case 2:
		code = http.StatusServiceUnavailable
	}
	s.faultMu.Unlock()
	if code == http.StatusInternalServerError {
		writeError(w, code, "java.lang.RuntimeException: injected fault")
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", code, http.StatusText(code))
}

func (s *Server) drawFault() (fault, after bool) {
	if s.opts.ErrorRate <= 0 {
		return false, false
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.rng.Float64() >= s.opts.ErrorRate {
		return false, false
	}
	return true, s.rng.IntN(2) == 1
}

// takeToken runs Confluence's per-user token bucket (one bucket here: the
// emulator has few callers) and sets its headers. It reports whether the
// request may proceed.
func (s *Server) takeToken(w http.ResponseWriter) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	now := time.Now()
	burst := float64(s.opts.RateBurst)
	s.tokensF = math.Min(burst, s.tokensF+now.Sub(s.last).Seconds()*s.opts.RateLimit)
	s.last = now
	interval, fill := 1, s.opts.RateLimit
	if fill < 1 {
		// Express slow rates as one token per whole number of seconds.
		interval = int(math.Ceil(1 / fill))
		fill = 1
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateBurst))
	h.Set("X-RateLimit-Interval-Seconds", strconv.Itoa(interval))
	h.Set("X-RateLimit-FillRate", strconv.Itoa(int(fill)))
	if s.tokensF >= 1 {
		s.tokensF--
		h.Set("X-RateLimit-Remaining", strconv.Itoa(int(s.tokensF)))
		h.Set("Retry-After", "0")
		return true
	}
	wait := (1 - s.tokensF) / s.opts.RateLimit
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait))))
	s.stats.Throttled++
	return false
}

// authenticate resolves the caller. Basic auth with wrong credentials is
// always refused; a Bearer token that matches nothing runs as anonymous
// when anonymous access is on, as on a real instance.
func (s *Server) authenticate(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	anon := func(reason string) (caller, error) {
		if s.opts.AnonymousAccess {
			return caller{anonymous: true}, nil
		}
		return caller{}, authError(reason)
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch strings.ToLower(scheme) {
	case "":
		return anon("Authentication required")
	case "bearer":
		s.mu.Lock()
		name, ok := s.lookupToken(strings.TrimSpace(cred))
		s.mu.Unlock()
		if !ok {
			return anon("Authentication required")
		}
		return s.callerFor(name)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return caller{}, authError("Basic authentication failed")
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if s.opts.AdminPassword != "" && strings.EqualFold(user, s.opts.AdminUsername) &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.AdminPassword)) == 1 {
			return s.callerFor(s.opts.AdminUsername)
		}
		return caller{}, authError("Basic authentication failed")
	default:
		return anon("Authentication required")
	}
}

// authError is a 401 answer's message, shown to the caller as is.
type authError string

func (e authError) Error() string { return string(e) }

func (s *Server) lookupToken(tok string) (string, bool) {
	for t, name := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			return name, true
		}
	}
	return "", false
}

func (s *Server) callerFor(name string) (caller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[name]
	if !ok || !u.Active {
		return caller{}, authError("Authentication failed")
	}
	c := caller{username: name}
	if g, ok := s.st.groups["confluence-administrators"]; ok {
		_, c.admin = g.members[name]
	}
	return c, nil
}

// match finds the route of a request. known is false for paths the
// emulator does not serve; methodOK is false when the path is known but
// the method is not.
func (s *Server) match(r *http.Request) (rt route, known, methodOK bool) {
	p := r.URL.EscapedPath()
	if s.opts.ContextPath != "" {
		if !strings.HasPrefix(p, s.opts.ContextPath+"/") {
			return route{}, false, false
		}
		p = strings.TrimPrefix(p, s.opts.ContextPath)
	}
	if !strings.HasPrefix(p, "/rest/api/") {
		return route{}, false, false
	}
	rest := strings.TrimPrefix(p, "/rest/api/")
	rest = strings.TrimPrefix(rest, "latest/")
	var segs []string
	for _, raw := range strings.Split(rest, "/") {
		seg, err := url.PathUnescape(raw)
		if err != nil {
			return route{}, false, false
		}
		segs = append(segs, seg)
	}
	for _, def := range allRoutes {
		args, ok := matchTemplate(def.template, segs)
		if !ok {
			continue
		}
		for _, m := range def.methods {
			if m == r.Method {
				return route{name: m + " /rest/api/" + def.template, args: args}, true, true
			}
		}
		return route{name: r.Method + " /rest/api/" + def.template}, true, false
	}
	return route{}, false, false
}

func matchTemplate(tmpl string, segs []string) ([]string, bool) {
	parts := strings.Split(tmpl, "/")
	if len(parts) != len(segs) {
		return nil, false
	}
	var args []string
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			args = append(args, segs[i])
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return args, true
}

// routes are the endpoints the emulator serves, most specific first.
var routes = []struct {
	template string
	methods  []string
}{
	{"user/current", []string{"GET"}},
	{"user/list", []string{"GET"}},
	{"user/memberof", []string{"GET"}},
	{"user", []string{"GET"}},
	{"user/{username}/group/{groupName}", []string{"PUT", "DELETE"}},
	{"group", []string{"GET"}},
	{"group/{groupName}", []string{"GET"}},
	{"group/{groupName}/member", []string{"GET"}},
	{"admin/user", []string{"POST"}},
	{"admin/user/{username}", []string{"PUT", "DELETE"}},
	{"admin/user/{username}/disable", []string{"PUT"}},
	{"admin/user/{username}/enable", []string{"PUT"}},
	{"admin/group", []string{"POST"}},
	{"admin/group/{groupName}", []string{"DELETE"}},
	{"longtask/{id}", []string{"GET"}},
}

// allRoutes adds the space and permission routes (spaces.go).
var allRoutes = append(routes[:len(routes):len(routes)], spaceRoutes...)

func (s *Server) handle(w http.ResponseWriter, r *http.Request, rt route, c caller) {
	switch rt.name {
	case "GET /rest/api/user/current":
		s.currentUser(w, r, c)
	case "GET /rest/api/user/list":
		s.listUsers(w, r, c)
	case "GET /rest/api/user":
		s.getUser(w, r, c)
	case "GET /rest/api/user/memberof":
		s.memberOf(w, r, c)
	case "PUT /rest/api/user/{username}/group/{groupName}":
		s.setMembership(w, c, rt.args[0], rt.args[1], true)
	case "DELETE /rest/api/user/{username}/group/{groupName}":
		s.setMembership(w, c, rt.args[0], rt.args[1], false)
	case "GET /rest/api/group":
		s.listGroups(w, r, c)
	case "GET /rest/api/group/{groupName}":
		s.getGroup(w, r, c, rt.args[0])
	case "GET /rest/api/group/{groupName}/member":
		s.listMembers(w, r, c, rt.args[0])
	case "POST /rest/api/admin/user":
		s.createUser(w, r, c)
	case "PUT /rest/api/admin/user/{username}":
		s.updateUser(w, r, c, rt.args[0])
	case "DELETE /rest/api/admin/user/{username}":
		s.deleteUser(w, r, c, rt.args[0])
	case "PUT /rest/api/admin/user/{username}/disable":
		s.setActive(w, c, rt.args[0], false)
	case "PUT /rest/api/admin/user/{username}/enable":
		s.setActive(w, c, rt.args[0], true)
	case "POST /rest/api/admin/group":
		s.createGroup(w, r, c)
	case "DELETE /rest/api/admin/group/{groupName}":
		s.deleteGroup(w, c, rt.args[0])
	case "GET /rest/api/longtask/{id}":
		s.longTask(w, r, c, rt.args[0])
	default:
		if !s.handleSpaces(w, r, rt, c) {
			s.notFoundPage(w)
		}
	}
}

// restError is Confluence's error envelope (RestError in the OpenAPI
// description).
type restError struct {
	StatusCode int            `json:"statusCode"`
	Data       validationData `json:"data"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason"`
}

type validationData struct {
	Authorized            bool  `json:"authorized"`
	Valid                 bool  `json:"valid"`
	Errors                []any `json:"errors"`
	Successful            bool  `json:"successful"`
	AllowedInReadOnlyMode bool  `json:"allowedInReadOnlyMode"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, restError{
		StatusCode: status,
		Data: validationData{
			Authorized:            status != http.StatusUnauthorized && status != http.StatusForbidden,
			Valid:                 status != http.StatusBadRequest,
			Errors:                []any{},
			AllowedInReadOnlyMode: true,
		},
		Message: msg,
		Reason:  http.StatusText(status),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func (s *Server) resetStats() {
	s.stats = Stats{Requests: map[string]int{}, Status: map[string]int{}}
}

func (s *Server) count(key string) {
	s.faultMu.Lock()
	s.stats.Requests[key]++
	s.stats.Total++
	s.faultMu.Unlock()
}

func (s *Server) countStatus(key string, status int) {
	if status != 0 {
		key = fmt.Sprintf("%s %d", key, status)
	}
	s.faultMu.Lock()
	s.stats.Status[key]++
	s.faultMu.Unlock()
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	out := s.stats
	out.Requests = make(map[string]int, len(s.stats.Requests))
	for k, v := range s.stats.Requests {
		out.Requests[k] = v
	}
	out.Status = make(map[string]int, len(s.stats.Status))
	for k, v := range s.stats.Status {
		out.Status[k] = v
	}
	return out
}

// ResetStats zeroes the request counters.
func (s *Server) ResetStats() {
	s.faultMu.Lock()
	s.resetStats()
	s.faultMu.Unlock()
}

// SetFaults changes the fault settings of a running emulator (for tests
// that seed state before turning faults on).
func (s *Server) SetFaults(errorRate, rateLimit float64, burst int) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.opts.ErrorRate = errorRate
	s.opts.RateLimit = rateLimit
	if burst <= 0 {
		burst = int(math.Max(1, math.Ceil(rateLimit)))
	}
	s.opts.RateBurst = burst
	s.tokensF = float64(burst)
	s.last = time.Now()
}

// ContextPath returns the context path the emulator serves under.
func (s *Server) ContextPath() string { return s.opts.ContextPath }

func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.opts.ContextPath
}

// persistLocked saves the state when a data file is configured; s.mu must
// be held.
func (s *Server) persistLocked() error {
	if s.opts.DataFile == "" {
		return nil
	}
	return s.st.save(s.opts.DataFile)
}

// Close saves the state one last time.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.persistLocked()
}
