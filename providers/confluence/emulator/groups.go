package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// adminGroups are the groups holding Confluence administrators; the last
// of them cannot be deleted.
var adminGroups = []string{"confluence-administrators"}

func (s *Server) groupJSON(r *http.Request, name string) map[string]any {
	return map[string]any{
		"type": "group",
		"name": name,
		"_links": map[string]any{
			"self": s.baseURL(r) + "/rest/api/group/" + url.PathEscape(name),
		},
	}
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "The calling user does not have permission to view groups")
		return
	}
	p, bad := s.parsePage(r, 200)
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	s.mu.Lock()
	order := s.st.sortedGroups()
	lo, hi, more := p.window(len(order))
	results := make([]any, 0, hi-lo)
	for _, n := range order[lo:hi] {
		results = append(results, s.groupJSON(r, n))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.newPage(r, p, results, more))
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, c caller, name string) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "The calling user does not have permission to view groups")
		return
	}
	s.mu.Lock()
	g, ok := s.st.groups[strings.ToLower(name)]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "No group found with name: "+name)
		return
	}
	writeJSON(w, http.StatusOK, s.groupJSON(r, g.name))
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, c caller, name string) {
	if !s.requireAdmin(w, c, http.StatusForbidden) {
		return
	}
	p, bad := s.parsePage(r, 200)
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	status := expands(r, "status")
	s.mu.Lock()
	g, ok := s.st.groups[strings.ToLower(name)]
	var results []any
	var more bool
	if ok {
		members := g.sortedMembers()
		var lo, hi int
		lo, hi, more = p.window(len(members))
		results = make([]any, 0, hi-lo)
		for _, m := range members[lo:hi] {
			if u, ok := s.st.users[m]; ok {
				results = append(results, s.person(r, u, status))
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "No group found with name: "+name)
		return
	}
	writeJSON(w, http.StatusOK, s.newPage(r, p, results, more))
}

// memberOf lists the groups a user (by username or key) is a direct
// member of, sorted by name, paged with the documented default limit of
// 200. The description documents only 200 and 403; like GET
// /rest/api/user it answers 404 for a missing user and 400 without a
// username or key.
func (s *Server) memberOf(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "Anonymous users do not have permission to view users")
		return
	}
	q := r.URL.Query()
	name, key := q.Get("username"), q.Get("key")
	if name == "" && key == "" {
		writeError(w, http.StatusBadRequest, "A username or a key is required")
		return
	}
	p, bad := s.parsePage(r, 200)
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	s.mu.Lock()
	u := s.st.findUser(name, key)
	var results []any
	var more bool
	if u != nil {
		var names []string
		for _, n := range s.st.sortedGroups() {
			if _, is := s.st.groups[n].members[u.Username]; is {
				names = append(names, n)
			}
		}
		var lo, hi int
		lo, hi, more = p.window(len(names))
		results = make([]any, 0, hi-lo)
		for _, n := range names[lo:hi] {
			results = append(results, s.groupJSON(r, s.st.groups[n].name))
		}
	}
	s.mu.Unlock()
	if u == nil {
		writeError(w, http.StatusNotFound, "No user found with "+userQuery(name, key))
		return
	}
	writeJSON(w, http.StatusOK, s.newPage(r, p, results, more))
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, c caller) {
	if !s.requireAdmin(w, c, http.StatusForbidden) {
		return
	}
	var in map[string]json.RawMessage
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Group is a polymorphic Jackson type: without its type id the body
	// cannot be read at all.
	var typ string
	if raw, ok := in["type"]; !ok || json.Unmarshal(raw, &typ) != nil {
		writeError(w, http.StatusBadRequest, "missing type id property 'type'")
		return
	}
	if typ != "group" {
		writeError(w, http.StatusBadRequest, "Could not resolve type id '"+typ+"'")
		return
	}
	var name string
	if raw, ok := in["name"]; ok {
		if json.Unmarshal(raw, &name) != nil {
			writeError(w, http.StatusBadRequest, "name must be a string")
			return
		}
	}
	if strings.TrimSpace(name) == "" {
		writeError(w, http.StatusBadRequest, "Group name must be provided")
		return
	}
	s.mu.Lock()
	if _, dup := s.st.groups[strings.ToLower(name)]; dup {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "Group with name "+name+" already exists")
		return
	}
	g := s.st.addGroup(name)
	err := s.persistLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not save state")
		return
	}
	writeJSON(w, http.StatusOK, s.groupJSON(r, g.name))
}

func (s *Server) deleteGroup(w http.ResponseWriter, c caller, name string) {
	if !s.requireAdmin(w, c, http.StatusForbidden) {
		return
	}
	key := strings.ToLower(name)
	s.mu.Lock()
	_, ok := s.st.groups[key]
	last := false
	if ok {
		isAdmin, others := false, 0
		for _, a := range adminGroups {
			if a == key {
				isAdmin = true
			} else if _, exists := s.st.groups[a]; exists {
				others++
			}
		}
		last = isAdmin && others == 0
	}
	var err error
	if ok && !last {
		delete(s.st.groups, key)
		s.st.groupOrder = nil
		s.st.dropGroupPermissions(key)
		err = s.persistLocked()
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "No group found with name: "+name)
	case last:
		writeError(w, http.StatusBadRequest, "Cannot delete the last administrators group "+key)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not save state")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) setMembership(w http.ResponseWriter, c caller, user, groupName string, member bool) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	user, gname := strings.ToLower(user), strings.ToLower(groupName)
	s.mu.Lock()
	_, uok := s.st.users[user]
	g, gok := s.st.groups[gname]
	var err error
	if uok && gok {
		_, is := g.members[user]
		if is != member {
			if member {
				g.members[user] = struct{}{}
			} else {
				delete(g.members, user)
			}
			g.sorted = nil
			err = s.persistLocked()
		}
	}
	s.mu.Unlock()
	switch {
	case !uok:
		writeError(w, http.StatusNotFound, "No user found with username: "+user)
	case !gok:
		writeError(w, http.StatusNotFound, "No group found with name: "+groupName)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not save state")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
