package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/confsync/confsync/providers/scim/filter"
	"github.com/confsync/confsync/providers/store"
	"github.com/google/uuid"
)

// userFromBody checks a POST or PUT body and builds the stored user.
func userFromBody(idp string, body map[string]any) (*store.User, map[string]any, error) {
	attrs, err := normalizeResource(userKind, body)
	if err != nil {
		return nil, nil, err
	}
	u := &store.User{IDP: idp, Active: true}
	if err := fillUserFields(u, attrs); err != nil {
		return nil, nil, err
	}
	return u, attrs, nil
}

// fillUserFields copies the indexed fields out of the attributes and
// stores the attributes.
func fillUserFields(u *store.User, attrs map[string]any) error {
	u.UserName = strings.TrimSpace(getString(attrs, "userName"))
	if u.UserName == "" {
		return badRequest(typeInvalidValue, "userName is required")
	}
	u.ExternalID = getString(attrs, "externalId")
	if err := checkStoredLimits(attrs, "userName", "externalId"); err != nil {
		return err
	}
	if v, ok := attrs["active"].(bool); ok {
		u.Active = v
	} else {
		u.Active = true // RFC 7643 leaves it to the provider; a user without active=false is active
	}
	// The attributes carry the indexed fields as stored, so that writing
	// back what a user holds is recognised as no change.
	attrs["userName"] = u.UserName
	attrs["active"] = u.Active
	raw, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	u.Attributes = raw
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *request) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	u, _, err := userFromBody(r.idp, body)
	if err != nil {
		return err
	}
	u.ID = uuid.NewString()
	if err := s.opts.Store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: "a user with userName " + quote(u.UserName) + " already exists", Err: err}
		}
		return storeError(err, "user")
	}
	s.changed(r.idp)
	// A new user is in no group: no need to ask the store.
	res, err := s.renderUser(r, u, projection{exclude: []filter.AttrPath{{Name: "groups"}}})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.base+"/Users/"+u.ID)
	w.Header().Set("ETag", etag(u.Version))
	return writeJSON(w, http.StatusCreated, res)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (s *Server) loadUser(r *request, id string) (*store.User, error) {
	u, err := s.opts.Store.GetUser(r.Context(), r.idp, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("user", id)
	}
	if err != nil {
		return nil, storeError(err, "user")
	}
	return u, nil
}

func (s *Server) getUser(w http.ResponseWriter, r *request, id string) error {
	proj, err := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if err != nil {
		return err
	}
	u, err := s.loadUser(r, id)
	if err != nil {
		return err
	}
	return writeVersioned(w, r, u.Version, func() (map[string]any, error) { return s.renderUser(r, u, proj) })
}

// replaceUser is PUT: the body replaces every attribute (Okta's update).
// Without If-Match it is retried until it applies when another write to
// the user came in between; with If-Match it answers 412 then.
func (s *Server) replaceUser(w http.ResponseWriter, r *request, id string) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	if bid := getString(body, "id"); bid != "" && bid != id {
		return badRequest(typeMutability, "id %q in the body does not match the id in the path", bid)
	}
	proj, err := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if err != nil {
		return err
	}
	var nu *store.User
	var was int64 // the version replaced
	for attempt := 0; ; attempt++ {
		var attrs map[string]any
		nu, attrs, err = userFromBody(r.idp, body)
		if err != nil {
			return err
		}
		cur, err := s.loadUser(r, id)
		if err != nil {
			return err
		}
		if v, ok := lookupAny(body, "active"); !ok || v == nil {
			// A PUT without active neither reactivates nor deactivates.
			attrs["active"] = cur.Active
			if err := fillUserFields(nu, attrs); err != nil {
				return err
			}
		}
		if _, err := ifMatch(r.Request, cur.Version); err != nil {
			return err
		}
		nu.ID = id
		nu.Created = cur.Created
		was = cur.Version
		err = s.opts.Store.ReplaceUser(r.Context(), nu, cur.Version)
		if s.retry(r, err, attempt) {
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: "a user with userName " + quote(nu.UserName) + " already exists", Err: err}
		}
		if err != nil {
			return storeError(err, "user")
		}
		break
	}
	if nu.Version != was { // an identical PUT changes nothing
		s.changed(r.idp)
	}
	return s.answerUser(w, r, nu, proj, http.StatusOK)
}

// answerUser answers a user just written (the store filled in its version
// and times). The write is committed, so a failure to read the user's
// groups is logged and the answer goes without them rather than as a 500.
func (s *Server) answerUser(w http.ResponseWriter, r *request, u *store.User, proj projection, status int) error {
	res, err := s.renderUser(r, u, proj)
	if err != nil {
		s.log.ErrorContext(r.Context(), "scim: render a written user", "idp", r.idp, "id", u.ID, "err", err)
		proj.exclude = append(proj.exclude, filter.AttrPath{Name: "groups"})
		if res, err = s.renderUser(r, u, proj); err != nil {
			return err
		}
	}
	w.Header().Set("ETag", etag(u.Version))
	w.Header().Set("Location", r.base+"/Users/"+u.ID)
	return writeJSON(w, status, res)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *request, id string) error {
	if r.Header.Get("If-Match") != "" {
		u, err := s.loadUser(r, id)
		if err != nil {
			return err
		}
		if _, err := ifMatch(r.Request, u.Version); err != nil {
			return err
		}
	}
	if err := s.opts.Store.DeleteUser(r.Context(), r.idp, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("user", id)
		}
		return storeError(err, "user")
	}
	s.changed(r.idp)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userMap decodes a stored user's attributes.
func userMap(u *store.User) (map[string]any, error) {
	return decodeStored(u.Attributes)
}

// renderUser builds the SCIM representation of a stored user.
func (s *Server) renderUser(r *request, u *store.User, proj projection) (map[string]any, error) {
	m, err := userMap(u)
	if err != nil {
		return nil, err
	}
	res := userResource(u, m, r.base)
	if proj.wants("groups") && (!proj.list || proj.names("groups")) {
		ids, err := s.opts.Store.GroupsOf(r.Context(), r.idp, u.ID)
		if err != nil {
			return nil, storeError(err, "groups of user")
		}
		if len(ids) > 0 {
			groups := make([]any, 0, len(ids))
			for _, gid := range ids {
				g := map[string]any{"value": gid, "$ref": r.base + "/Groups/" + gid, "type": "direct"}
				if gr, err := s.opts.Store.GetGroup(r.Context(), r.idp, gid); err == nil {
					g["display"] = gr.DisplayName
				}
				groups = append(groups, g)
			}
			res["groups"] = groups
		}
	}
	return proj.apply(userKind, res), nil
}

// userResource adds the bookkeeping attributes to a user's attributes.
func userResource(u *store.User, m map[string]any, base string) map[string]any {
	var exts []string
	for k, v := range m {
		if _, ok := v.(map[string]any); ok && strings.HasPrefix(strings.ToLower(k), "urn:") {
			exts = append(exts, k)
		}
	}
	sort.Strings(exts)
	schemas := []any{UserSchema}
	for _, e := range exts {
		schemas = append(schemas, e)
	}
	m["schemas"] = schemas
	m["id"] = u.ID
	m["userName"] = u.UserName
	m["active"] = u.Active
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	m["meta"] = map[string]any{
		"resourceType": "User",
		"created":      u.Created.UTC().Format(timeFormat),
		"lastModified": u.Modified.UTC().Format(timeFormat),
		"location":     base + "/Users/" + u.ID,
		"version":      etag(u.Version),
	}
	return m
}
