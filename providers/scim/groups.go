package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/confsync/confsync/providers/scim/filter"
	"github.com/confsync/confsync/providers/store"
	"github.com/google/uuid"
)

// memberRef is a member as a request names it.
type memberRef struct {
	ID   string
	Type string // "User", "Group" or "" (to be resolved)
}

// parseMembers reads a members value: an array of {value, type, ...}
// objects, one such object, or bare id strings (an Entra quirk).
func parseMembers(v any) ([]memberRef, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = x
	default:
		items = []any{x}
	}
	out := make([]memberRef, 0, len(items))
	for _, it := range items {
		switch x := it.(type) {
		case nil:
			continue
		case string:
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, memberRef{ID: x})
			}
		case map[string]any:
			vv, _ := lookupAny(x, "value")
			id, ok := vv.(string)
			if !ok || strings.TrimSpace(id) == "" {
				return nil, badRequest(typeInvalidValue, "a member needs a string value (the member's id)")
			}
			ref := memberRef{ID: strings.TrimSpace(id)}
			if t, ok := lookupAny(x, "type"); ok {
				ts, _ := t.(string)
				switch strings.ToLower(ts) {
				case "user":
					ref.Type = "User"
				case "group":
					ref.Type = "Group"
				case "":
				default:
					return nil, badRequest(typeInvalidValue, "member type must be User or Group")
				}
			}
			out = append(out, ref)
		default:
			return nil, badRequest(typeInvalidValue, "members must be objects with a value")
		}
	}
	return out, nil
}

func lookupAny(m map[string]any, k string) (any, bool) {
	_, v, ok := lookupKey(m, k)
	return v, ok
}

// groupLookupThreshold is the number of members above which resolving
// member types reads the IdP's group ids once instead of asking per member.
const groupLookupThreshold = 32

// resolveMembers decides each member's type: a member that is a group of
// the IdP is a Group, anything else a User (Entra sends no type; an id
// that names no resource is kept as a User and ignored by plan).
func (s *Server) resolveMembers(r *request, refs []memberRef) ([]store.Member, error) {
	out := make([]store.Member, 0, len(refs))
	seen := make(map[string]bool, len(refs))
	var unresolved int
	for _, m := range refs {
		if m.Type == "" {
			unresolved++
		}
	}
	var groupIDs map[string]bool
	if unresolved > groupLookupThreshold {
		groupIDs = map[string]bool{}
		after := ""
		for {
			page, err := s.opts.Store.ListGroups(r.Context(), r.idp, store.Page{After: after, Limit: 1000})
			if err != nil {
				return nil, storeError(err, "groups")
			}
			for _, g := range page {
				groupIDs[g.ID] = true
			}
			if len(page) < 1000 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	for _, m := range refs {
		if seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		t := m.Type
		if t == "" {
			t = "User"
			if groupIDs != nil {
				if groupIDs[m.ID] {
					t = "Group"
				}
			} else if _, err := s.opts.Store.GetGroup(r.Context(), r.idp, m.ID); err == nil {
				t = "Group"
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, storeError(err, "group")
			}
		}
		out = append(out, store.Member{ID: m.ID, Type: t})
	}
	return out, nil
}

// groupFromBody checks a POST or PUT body and builds the stored group and
// its members (nil when the body has no members attribute).
func (s *Server) groupFromBody(r *request, body map[string]any) (*store.Group, []store.Member, bool, error) {
	attrs, err := normalizeResource(groupKind, body)
	if err != nil {
		return nil, nil, false, err
	}
	g := &store.Group{IDP: r.idp}
	if err := fillGroupFields(g, attrs); err != nil {
		return nil, nil, false, err
	}
	mv, hasMembers := lookupAny(body, "members")
	refs, err := parseMembers(mv)
	if err != nil {
		return nil, nil, false, err
	}
	members, err := s.resolveMembers(r, refs)
	if err != nil {
		return nil, nil, false, err
	}
	return g, members, hasMembers, nil
}

func fillGroupFields(g *store.Group, attrs map[string]any) error {
	g.DisplayName = strings.TrimSpace(getString(attrs, "displayName"))
	if g.DisplayName == "" {
		return badRequest(typeInvalidValue, "displayName is required")
	}
	g.ExternalID = getString(attrs, "externalId")
	if err := checkStoredLimits(attrs, "displayName", "externalId"); err != nil {
		return err
	}
	attrs["displayName"] = g.DisplayName // as stored: see fillUserFields
	raw, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	g.Attributes = raw
	return nil
}

func groupConflict(name string, err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: "a group with displayName " + quote(name) + " already exists", Err: err}
	}
	return storeError(err, "group")
}

func (s *Server) createGroup(w http.ResponseWriter, r *request) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	g, members, _, err := s.groupFromBody(r, body)
	if err != nil {
		return err
	}
	g.ID = uuid.NewString()
	if err := s.opts.Store.CreateGroup(r.Context(), g, members); err != nil {
		return groupConflict(g.DisplayName, err)
	}
	s.changed(r.idp)
	res, err := s.renderGroup(r, g, projection{})
	if err != nil {
		// The group is committed: answer it without the members that could not be read.
		s.log.ErrorContext(r.Context(), "scim: render a created group", "idp", r.idp, "id", g.ID, "err", err)
		if res, err = s.renderGroup(r, g, projection{exclude: []filter.AttrPath{{Name: "members"}}}); err != nil {
			return err
		}
	}
	w.Header().Set("Location", r.base+"/Groups/"+g.ID)
	w.Header().Set("ETag", etag(g.Version))
	return writeJSON(w, http.StatusCreated, res)
}

func (s *Server) loadGroup(r *request, id string) (*store.Group, error) {
	g, err := s.opts.Store.GetGroup(r.Context(), r.idp, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("group", id)
	}
	if err != nil {
		return nil, storeError(err, "group")
	}
	return g, nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *request, id string) error {
	proj, err := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if err != nil {
		return err
	}
	g, err := s.loadGroup(r, id)
	if err != nil {
		return err
	}
	return writeVersioned(w, r, g.Version, func() (map[string]any, error) { return s.renderGroup(r, g, proj) })
}

// replaceGroup is PUT. A body without members leaves the members as they
// are (Okta and Entra PUT group attributes without the member list);
// a body with members replaces them, in the same transaction as the
// attributes. Without If-Match it is retried until it applies when another
// write to the group came in between. A PUT of what the group holds
// changes nothing (no new version, no reconcile).
func (s *Server) replaceGroup(w http.ResponseWriter, r *request, id string) error {
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
	ng, members, hasMembers, err := s.groupFromBody(r, body)
	if err != nil {
		return err
	}
	// The attributes and the member list commit in one transaction.
	u := store.GroupUpdate{Attributes: ng}
	if hasMembers {
		u.Members = []store.MemberChange{{Op: store.ReplaceMembers, Members: members}}
	}
	var g *store.Group
	changed := false
	for attempt := 0; ; attempt++ {
		cur, err := s.loadGroup(r, id)
		if err != nil {
			return err
		}
		if _, err := ifMatch(r.Request, cur.Version); err != nil {
			return err
		}
		u.IfVersion = cur.Version
		g, changed, err = s.opts.Store.UpdateGroup(r.Context(), r.idp, id, u)
		if s.retry(r, err, attempt) {
			continue
		}
		if err != nil {
			return groupConflict(ng.DisplayName, err)
		}
		break
	}
	if changed {
		s.changed(r.idp)
	}
	// The write is committed: answer it even when reading the members fails.
	res, err := s.renderGroup(r, g, proj)
	if err != nil {
		s.log.ErrorContext(r.Context(), "scim: render a written group", "idp", r.idp, "id", id, "err", err)
		proj.exclude = append(proj.exclude, filter.AttrPath{Name: "members"})
		if res, err = s.renderGroup(r, g, proj); err != nil {
			return err
		}
	}
	w.Header().Set("ETag", etag(g.Version))
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *request, id string) error {
	if r.Header.Get("If-Match") != "" {
		g, err := s.loadGroup(r, id)
		if err != nil {
			return err
		}
		if _, err := ifMatch(r.Request, g.Version); err != nil {
			return err
		}
	}
	if err := s.opts.Store.DeleteGroup(r.Context(), r.idp, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return notFound("group", id)
		}
		return storeError(err, "group")
	}
	s.changed(r.idp)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func groupMap(g *store.Group) (map[string]any, error) {
	return decodeStored(g.Attributes)
}

// memberPageSize is the page size used to read a group's members.
const memberPageSize = 5000

// renderGroup builds the SCIM representation of a group; its members are
// read (page by page) only when the projection asks for them.
func (s *Server) renderGroup(r *request, g *store.Group, proj projection) (map[string]any, error) {
	m, err := groupMap(g)
	if err != nil {
		return nil, err
	}
	res := groupResource(g, m, r.base)
	if proj.wants("members") {
		members := []any{}
		after := ""
		for {
			page, err := s.opts.Store.ListMembers(r.Context(), r.idp, g.ID, store.Page{After: after, Limit: memberPageSize})
			if err != nil {
				return nil, storeError(err, "group members")
			}
			for _, mb := range page {
				members = append(members, map[string]any{"value": mb.ID, "type": mb.Type, "$ref": r.base + "/" + mb.Type + "s/" + mb.ID})
			}
			if len(page) < memberPageSize {
				break
			}
			after = page[len(page)-1].ID
		}
		res["members"] = members
	}
	return proj.apply(groupKind, res), nil
}

func groupResource(g *store.Group, m map[string]any, base string) map[string]any {
	m["schemas"] = []any{GroupSchema}
	m["id"] = g.ID
	m["displayName"] = g.DisplayName
	if g.ExternalID != "" {
		m["externalId"] = g.ExternalID
	}
	m["meta"] = map[string]any{
		"resourceType": "Group",
		"created":      g.Created.UTC().Format(timeFormat),
		"lastModified": g.Modified.UTC().Format(timeFormat),
		"location":     base + "/Groups/" + g.ID,
		"version":      etag(g.Version),
	}
	return m
}
