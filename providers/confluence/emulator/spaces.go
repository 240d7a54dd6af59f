package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Space is a space as the emulator holds it, with the permissions granted
// in it.
type Space struct {
	Key         string       `json:"key"`
	Name        string       `json:"name"`
	ID          int64        `json:"id"`
	Permissions []Permission `json:"permissions,omitempty"`
}

// Permission is one granted operation: a (targetType, operationKey) pair of
// Atlassian's OperationDescription, granted to a group (SubjectType
// "group", Subject the lower-case group name) or a user (SubjectType
// "user", Subject the username).
type Permission struct {
	SubjectType string `json:"subjectType"`
	Subject     string `json:"subject"`
	TargetType  string `json:"targetType"`
	Operation   string `json:"operationKey"`
}

// spaceOperations are the (targetType, operationKey) pairs the grant and
// revoke calls of a space accept, as the OpenAPI description lists them.
var spaceOperations = map[string]bool{
	"space read": true, "space administer": true, "space export": true, "space restrict": true,
	"space delete_own": true, "space delete_mail": true,
	"page create": true, "page delete": true, "blogpost create": true, "blogpost delete": true,
	"comment create": true, "comment delete": true, "attachment create": true, "attachment delete": true,
}

// globalOperations are the pairs the global grant and revoke calls accept.
var globalOperations = map[string]bool{
	"application use": true, "application administer": true, "system administer": true,
	"personal_space create": true, "space create": true,
}

// space is the in-memory form of a space.
type space struct {
	key   string
	name  string
	id    int64
	perms map[Permission]struct{}
}

func (sp *space) sortedPerms() []Permission {
	return sortPerms(sp.perms)
}

func sortPerms(m map[Permission]struct{}) []Permission {
	out := make([]Permission, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.SubjectType != b.SubjectType {
			return a.SubjectType < b.SubjectType
		}
		if a.Subject != b.Subject {
			return a.Subject < b.Subject
		}
		if a.TargetType != b.TargetType {
			return a.TargetType < b.TargetType
		}
		return a.Operation < b.Operation
	})
	return out
}

func (st *state) sortedSpaces() []string {
	if st.spaceOrder == nil {
		st.spaceOrder = make([]string, 0, len(st.spaces))
		for k := range st.spaces {
			st.spaceOrder = append(st.spaceOrder, k)
		}
		sort.Strings(st.spaceOrder)
	}
	return st.spaceOrder
}

func (st *state) addSpace(key, name string) *space {
	st.seq++
	sp := &space{key: key, name: name, id: st.seq, perms: map[Permission]struct{}{}}
	st.spaces[key] = sp
	st.spaceOrder = nil
	return sp
}

// dropGroupPermissions forgets every permission of a deleted group, as
// Confluence does when a group is removed.
func (st *state) dropGroupPermissions(group string) {
	for p := range st.global {
		if p.SubjectType == "group" && p.Subject == group {
			delete(st.global, p)
		}
	}
	for _, sp := range st.spaces {
		for p := range sp.perms {
			if p.SubjectType == "group" && p.Subject == group {
				delete(sp.perms, p)
			}
		}
	}
}

// spaceKeyProblem says what is wrong with a space key: Confluence keys are
// letters and digits only.
func spaceKeyProblem(k string) string {
	if k == "" {
		return "Space key must be provided"
	}
	for _, r := range k {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return "Space key " + k + " may only contain letters and digits"
		}
	}
	return ""
}

func (s *Server) spaceJSON(r *http.Request, sp *space) map[string]any {
	return map[string]any{
		"id":     sp.id,
		"key":    sp.key,
		"name":   sp.name,
		"type":   "global",
		"status": "current",
		"_links": map[string]any{"self": s.baseURL(r) + "/rest/api/space/" + url.PathEscape(sp.key)},
	}
}

// permissionJSON is a SpacePermission (spaceKey and spaceId set) or a
// GlobalPermission (sp nil).
func permissionJSON(p Permission, sp *space) map[string]any {
	out := map[string]any{
		"operation": map[string]any{"targetType": p.TargetType, "operationKey": p.Operation},
		"subject":   map[string]any{"type": p.SubjectType, "displayName": p.Subject},
	}
	if sp != nil {
		out["spaceKey"] = sp.key
		out["spaceId"] = sp.id
	}
	return out
}

func (s *Server) listSpaces(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "The calling user does not have permission to view spaces")
		return
	}
	p, bad := s.parsePage(r, 25)
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	want := map[string]bool{}
	for _, k := range r.URL.Query()["spaceKey"] {
		want[k] = true
	}
	s.mu.Lock()
	var keys []string
	for _, k := range s.st.sortedSpaces() {
		if len(want) == 0 || want[k] {
			keys = append(keys, k)
		}
	}
	lo, hi, more := p.window(len(keys))
	results := make([]any, 0, hi-lo)
	for _, k := range keys[lo:hi] {
		results = append(results, s.spaceJSON(r, s.st.spaces[k]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.newPage(r, p, results, more))
}

func (s *Server) getSpace(w http.ResponseWriter, r *http.Request, c caller, key string) {
	if c.anonymous {
		writeError(w, http.StatusNotFound, "No space with key : "+key)
		return
	}
	s.mu.Lock()
	sp, ok := s.st.spaces[key]
	var out map[string]any
	if ok {
		out = s.spaceJSON(r, sp)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "No space with key : "+key)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createSpace(w http.ResponseWriter, r *http.Request, c caller) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	var in struct {
		Key  string `json:"key"`
		Name string `json:"name"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg := spaceKeyProblem(in.Key); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		writeError(w, http.StatusBadRequest, "Space name must be provided")
		return
	}
	s.mu.Lock()
	if _, dup := s.st.spaces[in.Key]; dup {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "A space already exists with key "+in.Key)
		return
	}
	sp := s.st.addSpace(in.Key, in.Name)
	out := s.spaceJSON(r, sp)
	err := s.persistLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not save state")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// spacePermissions answers GET /space/{key}/permissions and, with group
// set, GET /space/{key}/permissions/group/{group}.
func (s *Server) spacePermissions(w http.ResponseWriter, c caller, key, group string, byGroup bool) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	group = strings.ToLower(group)
	s.mu.Lock()
	sp, ok := s.st.spaces[key]
	_, gok := s.st.groups[group]
	var out []any
	if ok && (!byGroup || gok) {
		out = []any{}
		for _, p := range sp.sortedPerms() {
			if byGroup && (p.SubjectType != "group" || p.Subject != group) {
				continue
			}
			out = append(out, permissionJSON(p, sp))
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "No space with key : "+key)
	case byGroup && !gok:
		writeError(w, http.StatusNotFound, "No group found with name: "+group)
	default:
		writeJSON(w, http.StatusOK, out)
	}
}

// globalPermissions answers GET /permissions and, with byGroup, GET
// /permissions/group/{group}.
func (s *Server) globalPermissions(w http.ResponseWriter, c caller, group string, byGroup bool) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	group = strings.ToLower(group)
	s.mu.Lock()
	_, gok := s.st.groups[group]
	out := []any{}
	for _, p := range sortPerms(s.st.global) {
		if byGroup && (p.SubjectType != "group" || p.Subject != group) {
			continue
		}
		out = append(out, permissionJSON(p, nil))
	}
	s.mu.Unlock()
	if byGroup && !gok {
		writeError(w, http.StatusNotFound, "No group found with name: "+group)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// changeGroupPermissions answers the grant and revoke calls of a group, in
// a space (key non-empty) or globally. The body is an array of
// OperationDescription; a pair the call does not support is a 400 and
// changes nothing. Revoking what was not granted is silently skipped.
func (s *Server) changeGroupPermissions(w http.ResponseWriter, r *http.Request, c caller, key, group string, grant bool) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	var ops []struct {
		TargetType   string `json:"targetType"`
		OperationKey string `json:"operationKey"`
	}
	if err := decodeBody(r, &ops); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	allowed := globalOperations
	if key != "" {
		allowed = spaceOperations
	}
	for _, o := range ops {
		if !allowed[o.TargetType+" "+o.OperationKey] {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Unsupported permission: targetType %q, operationKey %q", o.TargetType, o.OperationKey))
			return
		}
	}
	group = strings.ToLower(group)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.groups[group]; !ok {
		writeError(w, http.StatusNotFound, "No group found with name: "+group)
		return
	}
	set := s.st.global
	if key != "" {
		sp, ok := s.st.spaces[key]
		if !ok {
			writeError(w, http.StatusNotFound, "No space with key : "+key)
			return
		}
		set = sp.perms
	}
	for _, o := range ops {
		p := Permission{SubjectType: "group", Subject: group, TargetType: o.TargetType, Operation: o.OperationKey}
		if grant {
			set[p] = struct{}{}
		} else {
			delete(set, p)
		}
	}
	if err := s.persistLocked(); err != nil {
		writeError(w, http.StatusInternalServerError, "could not save state")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleSpaces serves the space and permission routes; it reports whether
// the route was one of them.
func (s *Server) handleSpaces(w http.ResponseWriter, r *http.Request, rt route, c caller) bool {
	switch rt.name {
	case "GET /rest/api/space":
		s.listSpaces(w, r, c)
	case "POST /rest/api/space":
		s.createSpace(w, r, c)
	case "GET /rest/api/space/{spaceKey}":
		s.getSpace(w, r, c, rt.args[0])
	case "GET /rest/api/space/{spaceKey}/permissions":
		s.spacePermissions(w, c, rt.args[0], "", false)
	case "GET /rest/api/space/{spaceKey}/permissions/group/{groupName}":
		s.spacePermissions(w, c, rt.args[0], rt.args[1], true)
	case "PUT /rest/api/space/{spaceKey}/permissions/group/{groupName}/grant":
		s.changeGroupPermissions(w, r, c, rt.args[0], rt.args[1], true)
	case "PUT /rest/api/space/{spaceKey}/permissions/group/{groupName}/revoke":
		s.changeGroupPermissions(w, r, c, rt.args[0], rt.args[1], false)
	case "GET /rest/api/permissions":
		s.globalPermissions(w, c, "", false)
	case "GET /rest/api/permissions/group/{groupName}":
		s.globalPermissions(w, c, rt.args[0], true)
	case "PUT /rest/api/permissions/group/{groupName}/grant":
		s.changeGroupPermissions(w, r, c, "", rt.args[0], true)
	case "PUT /rest/api/permissions/group/{groupName}/revoke":
		s.changeGroupPermissions(w, r, c, "", rt.args[0], false)
	default:
		return false
	}
	return true
}

// spaceRoutes are the space and permission endpoints, most specific first.
var spaceRoutes = []struct {
	template string
	methods  []string
}{
	{"space/{spaceKey}/permissions/group/{groupName}/grant", []string{"PUT"}},
	{"space/{spaceKey}/permissions/group/{groupName}/revoke", []string{"PUT"}},
	{"space/{spaceKey}/permissions/group/{groupName}", []string{"GET"}},
	{"space/{spaceKey}/permissions", []string{"GET"}},
	{"space/{spaceKey}", []string{"GET"}},
	{"space", []string{"GET", "POST"}},
	{"permissions/group/{groupName}/grant", []string{"PUT"}},
	{"permissions/group/{groupName}/revoke", []string{"PUT"}},
	{"permissions/group/{groupName}", []string{"GET"}},
	{"permissions", []string{"GET"}},
}

// SeedSpaces adds spaces and their permissions directly, bypassing the
// REST API (for large fixtures). Group subjects must exist. An existing
// space of the same key is replaced.
func (s *Server) SeedSpaces(spaces ...Space) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range spaces {
		if msg := spaceKeyProblem(in.Key); msg != "" {
			return errors.New("seed space: " + msg)
		}
		ps := make([]Permission, 0, len(in.Permissions))
		for _, p := range in.Permissions {
			p, err := s.seedPermission(p, spaceOperations)
			if err != nil {
				return fmt.Errorf("seed space %s: %w", in.Key, err)
			}
			ps = append(ps, p)
		}
		sp := s.st.addSpace(in.Key, in.Name)
		for _, p := range ps {
			sp.perms[p] = struct{}{}
		}
	}
	return s.persistLocked()
}

// SeedGlobalPermissions grants global permissions directly.
func (s *Server) SeedGlobalPermissions(perms ...Permission) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range perms {
		p, err := s.seedPermission(p, globalOperations)
		if err != nil {
			return fmt.Errorf("seed global permission: %w", err)
		}
		s.st.global[p] = struct{}{}
	}
	return s.persistLocked()
}

func (s *Server) seedPermission(p Permission, allowed map[string]bool) (Permission, error) {
	if !allowed[p.TargetType+" "+p.Operation] {
		return p, fmt.Errorf("unsupported permission %s %s", p.TargetType, p.Operation)
	}
	switch p.SubjectType {
	case "group":
		p.Subject = strings.ToLower(p.Subject)
		if _, ok := s.st.groups[p.Subject]; !ok {
			return p, fmt.Errorf("no group %q", p.Subject)
		}
	case "user":
		p.Subject = strings.ToLower(p.Subject)
		if _, ok := s.st.users[p.Subject]; !ok {
			return p, fmt.Errorf("no user %q", p.Subject)
		}
	default:
		return p, fmt.Errorf("subject type %q is neither group nor user", p.SubjectType)
	}
	return p, nil
}

// Spaces returns every space with its permissions, sorted by key.
func (s *Server) Spaces() []Space {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Space, 0, len(s.st.spaces))
	for _, k := range s.st.sortedSpaces() {
		sp := s.st.spaces[k]
		out = append(out, Space{Key: sp.key, Name: sp.name, ID: sp.id, Permissions: sp.sortedPerms()})
	}
	return out
}

// GlobalPermissions returns every global permission.
func (s *Server) GlobalPermissions() []Permission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortPerms(s.st.global)
}

// persistedSpaces writes spaces for the data file.
func (st *state) persistedSpaces() []Space {
	var out []Space
	for _, k := range st.sortedSpaces() {
		sp := st.spaces[k]
		out = append(out, Space{Key: sp.key, Name: sp.name, ID: sp.id, Permissions: sp.sortedPerms()})
	}
	return out
}

// loadSpaces restores spaces and global permissions from the data file.
func (st *state) loadSpaces(spaces []Space, global []Permission) {
	for _, in := range spaces {
		sp := &space{key: in.Key, name: in.Name, id: in.ID, perms: map[Permission]struct{}{}}
		for _, p := range in.Permissions {
			sp.perms[p] = struct{}{}
		}
		st.spaces[in.Key] = sp
	}
	st.spaceOrder = nil
	for _, p := range global {
		st.global[p] = struct{}{}
	}
}
