// Package scim is confsync's SCIM 2.0 service provider (RFC 7643, RFC 7644):
// the endpoint Entra ID and Okta provision users and groups into. It keeps
// what they push in a store (users, groups and memberships as rows) and
// offers it to the plan engine as a plan.Source.
//
// The server is lenient in what it accepts where identity providers are
// known to deviate from the RFCs (see docs/scim.md) and strict in what it
// answers: every error is an RFC 7644 error body.
package scim

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/confsync/confsync/providers/store"
)

// Store is what the server needs from the store.
type Store interface {
	store.SCIM
	TokenHashes(ctx context.Context, idp string) ([]string, error)
}

var _ Store = store.Store(nil)

// IDP is an identity provider served at /scim/v2/{Name}.
type IDP struct {
	Name string
	// TokenSHA256 are hex SHA-256 hashes of bearer tokens accepted in
	// addition to those the store holds for the IdP.
	TokenSHA256 []string
}

// Options configure a Server.
type Options struct {
	Store  Store
	IDPs   []IDP
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (default 10 MiB).
	MaxBodyBytes int64
	// Now returns the current time (default time.Now); it ages the cached
	// token hashes and paging cursors. Resource times come from the store.
	Now func() time.Time
	// OnChange is called after every committed write, with the IdP's name.
	OnChange func(idp string)
	// Observe is called after every request with the IdP ("" when unknown),
	// the method, the status answered and the time taken.
	Observe func(idp, method string, status int, d time.Duration)
	// RateLimit is each bearer token's request budget (zero: no limit). A
	// request over it is answered 429 with Retry-After before it reaches
	// the store.
	RateLimit RateLimit
}

// DefaultMaxBodyBytes is the default bound of a request body.
const DefaultMaxBodyBytes = 10 << 20

// MaxPageSize is the largest count a list answers; larger counts are
// lowered to it (advertised as filter.maxResults).
const MaxPageSize = 1000

// defaultPageSize is the count of a list request that gives none.
const defaultPageSize = 100

const contentType = "application/scim+json"

// Server serves SCIM for a set of IdPs. It is an http.Handler for the
// paths /scim/v2/{idp}/...
type Server struct {
	opts    Options
	log     *slog.Logger
	idps    map[string]*idpState
	now     func() time.Time
	cursors cursorCache
	limiter *limiter // nil: no limit
}

type idpState struct {
	name   string
	hashes [][]byte // configured token hashes, decoded

	mu      sync.Mutex
	stored  [][]byte // hashes read from the store at fetched
	fetched time.Time
}

// NewServer returns a Server for opts.
func NewServer(opts Options) *Server {
	s := &Server{opts: opts, log: opts.Logger, idps: map[string]*idpState{}, now: opts.Now, limiter: newLimiter(opts.RateLimit)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.MaxBodyBytes <= 0 {
		s.opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for _, p := range opts.IDPs {
		st := &idpState{name: p.Name}
		for _, h := range p.TokenSHA256 {
			if b, ok := store.ParseTokenHash(strings.TrimSpace(h)); ok {
				st.hashes = append(st.hashes, b)
			} else {
				s.log.Warn("ignoring a malformed token_sha256", "idp", p.Name)
			}
		}
		s.idps[p.Name] = st
	}
	return s
}

// PathPrefix is where the server's endpoints live.
const PathPrefix = "/scim/v2/"

// request is one request's context: the IdP and the base URL of its
// endpoints.
type request struct {
	*http.Request
	idp  string
	base string // e.g. https://host/scim/v2/entra
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP routes a request and answers errors as SCIM error bodies.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	idp := ""
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("scim handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if w.status == 0 {
				writeError(w, r, s.log, fmt.Errorf("panic: %v", v))
			}
		}
		d := time.Since(start)
		if s.opts.Observe != nil {
			s.opts.Observe(idp, r.Method, w.status, d)
		}
		// The path and query carry ids and filters, never the token.
		s.log.Debug("scim request", "idp", idp, "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "status", w.status, "duration", d)
	}()
	name, rest, err := splitPath(r.URL.Path)
	if err == nil {
		if st, ok := s.idps[name]; !ok {
			err = errorf(http.StatusNotFound, "", "no SCIM identity provider %q is configured", name)
		} else {
			idp = name
			var token [32]byte
			if token, err = s.authorize(r, st); err == nil {
				if ok, wait := s.limiter.allow(token, s.now()); !ok {
					err = tooManyRequests(wait)
				}
			}
		}
	}
	if err == nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		req := &request{Request: r, idp: idp, base: baseURL(r, idp)}
		err = s.route(w, req, rest)
	}
	if err != nil {
		writeError(w, r, s.log, err)
	}
}

// splitPath splits /scim/v2/{idp}/a/b/ into idp and [a b].
func splitPath(p string) (string, []string, error) {
	if !strings.HasPrefix(p, PathPrefix) {
		return "", nil, errorf(http.StatusNotFound, "", "not a SCIM path")
	}
	var segs []string
	for _, s := range strings.Split(p[len(PathPrefix):], "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return "", nil, errorf(http.StatusNotFound, "", "no identity provider in the path")
	}
	return segs[0], segs[1:], nil
}

func baseURL(r *http.Request, idp string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + PathPrefix + idp
}

// authorize checks the bearer token against the IdP's configured hashes
// and the hashes the store holds for it, and returns the token's SHA-256.
// The token is never logged.
func (s *Server) authorize(r *http.Request, st *idpState) ([32]byte, error) {
	unauthorized := errorf(http.StatusUnauthorized, "", "a valid bearer token for this identity provider is required")
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return [32]byte{}, unauthorized
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return [32]byte{}, unauthorized
	}
	sum := store.TokenSum(token)
	match := 0
	for _, want := range st.hashes {
		match |= subtle.ConstantTimeCompare(sum[:], want)
	}
	if match == 1 {
		return sum, nil
	}
	stored, err := s.storeHashes(r.Context(), st)
	if err != nil {
		return [32]byte{}, err
	}
	for _, want := range stored {
		match |= subtle.ConstantTimeCompare(sum[:], want)
	}
	if match == 1 {
		return sum, nil
	}
	return [32]byte{}, unauthorized
}

// tokenCacheTTL is how long the token hashes read from the store are
// reused: a token created or revoked with `confsync token` takes effect
// within this time, and a request costs no token query.
const tokenCacheTTL = 2 * time.Second

// storeHashes returns the IdP's token hashes kept in the store.
func (s *Server) storeHashes(ctx context.Context, st *idpState) ([][]byte, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if now := s.now(); st.fetched.IsZero() || now.Sub(st.fetched) > tokenCacheTTL || now.Before(st.fetched) {
		stored, err := s.opts.Store.TokenHashes(ctx, st.name)
		if err != nil {
			return nil, fmt.Errorf("read token hashes: %w", err)
		}
		fresh := make([][]byte, 0, len(stored)) // a new slice: readers may hold the old one
		for _, hx := range stored {
			if b, ok := store.ParseTokenHash(hx); ok {
				fresh = append(fresh, b)
			}
		}
		st.stored = fresh
		st.fetched = s.now()
	}
	return st.stored, nil
}

func (s *Server) changed(idp string) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(idp)
	}
}

// route dispatches on the path segments after the IdP.
func (s *Server) route(w http.ResponseWriter, r *request, segs []string) error {
	if len(segs) == 0 {
		return errorf(http.StatusNotFound, "", "no SCIM endpoint at this path")
	}
	first := strings.ToLower(segs[0])
	switch first {
	case "users", "groups":
		kind := userKind
		if first == "groups" {
			kind = groupKind
		}
		switch {
		case len(segs) == 1:
			switch r.Method {
			case http.MethodGet:
				return s.list(w, r, kind)
			case http.MethodPost:
				if kind == userKind {
					return s.createUser(w, r)
				}
				return s.createGroup(w, r)
			}
			return methodNotAllowed(w, "GET, POST")
		case len(segs) == 2 && strings.EqualFold(segs[1], ".search"):
			if r.Method != http.MethodPost {
				return methodNotAllowed(w, "POST")
			}
			return s.search(w, r, []*resourceKind{kind})
		case len(segs) == 2:
			id := segs[1]
			if !validID(id) {
				return notFound(strings.ToLower(kind.name), id)
			}
			if kind == userKind {
				switch r.Method {
				case http.MethodGet:
					return s.getUser(w, r, id)
				case http.MethodPut:
					return s.replaceUser(w, r, id)
				case http.MethodPatch:
					return s.patchUser(w, r, id)
				case http.MethodDelete:
					return s.deleteUser(w, r, id)
				}
			} else {
				switch r.Method {
				case http.MethodGet:
					return s.getGroup(w, r, id)
				case http.MethodPut:
					return s.replaceGroup(w, r, id)
				case http.MethodPatch:
					return s.patchGroup(w, r, id)
				case http.MethodDelete:
					return s.deleteGroup(w, r, id)
				}
			}
			return methodNotAllowed(w, "GET, PUT, PATCH, DELETE")
		}
	case ".search":
		if len(segs) == 1 {
			if r.Method != http.MethodPost {
				return methodNotAllowed(w, "POST")
			}
			return s.search(w, r, []*resourceKind{userKind, groupKind})
		}
	case "serviceproviderconfig", "serviceconfiguration":
		if len(segs) == 1 {
			if r.Method != http.MethodGet {
				return methodNotAllowed(w, "GET")
			}
			return writeJSON(w, http.StatusOK, s.serviceProviderConfig(r))
		}
	case "resourcetypes":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return s.resourceTypes(w, r, segs[1:])
	case "schemas":
		if r.Method != http.MethodGet {
			return methodNotAllowed(w, "GET")
		}
		return s.schemas(w, r, segs[1:])
	case "bulk":
		return errorf(http.StatusNotImplemented, "", "bulk operations are not supported")
	}
	return errorf(http.StatusNotFound, "", "no SCIM endpoint at this path")
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return errorf(http.StatusMethodNotAllowed, "", "method not allowed; allowed: %s", allow)
}

// validID reports whether id can name a resource: ids are what confsync
// assigned, so anything that is not printable UTF-8 names nothing (and
// never reaches the store, which may not be able to hold it).
func validID(id string) bool {
	if id == "" || len(id) > 1024 || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
