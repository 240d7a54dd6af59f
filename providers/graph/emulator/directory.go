package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// defaultUserProperties are what GET /users returns without $select.
var defaultUserProperties = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

// userProperties are the user properties $select may name besides the
// defaults and whatever a user of the tenant holds (extension properties
// included).
var userProperties = []string{"accountEnabled", "onPremisesSamAccountName", "onPremisesImmutableId", "onPremisesExtensionAttributes",
	"employeeId", "department", "companyName", "otherMails", "proxyAddresses", "userType", "createdDateTime", "country", "city"}

var groupProperties = []string{"id", "displayName", "description", "mail", "mailEnabled", "securityEnabled", "groupTypes", "createdDateTime"}

// list answers a collection: the tenant's users or groups, or the given
// objects (members).
func (s *Server) list(w http.ResponseWriter, r *http.Request, collection string, objs []*object) {
	q := r.URL.Query()
	s.mu.Lock()
	if objs == nil {
		if collection == "users" {
			objs = append(objs, s.users...)
		} else {
			objs = append(objs, s.groups...)
		}
	}
	known := s.knownProperties()
	s.mu.Unlock()

	top := s.opts.DefaultPageSize
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v))
			return
		}
		top = n
	}
	var sel []string
	if v := q.Get("$select"); v != "" {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if !known[p] {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.directoryObject'.", p))
				return
			}
			sel = append(sel, p)
		}
	}
	if v := q.Get("$filter"); v != "" {
		if strings.HasPrefix(r.URL.Path, "/v1.0/groups/") && r.Header.Get("ConsistencyLevel") != "eventual" {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Filter on members requires the ConsistencyLevel header set to eventual and $count=true.")
			return
		}
		pred, err := parseFilter(v)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error())
			return
		}
		s.mu.Lock()
		kept := objs[:0:0]
		for _, o := range objs {
			if pred(o.props) {
				kept = append(kept, o)
			}
		}
		s.mu.Unlock()
		objs = kept
	}
	offset := 0
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, "RFNwdA"))
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(objs) {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "The specified page token value has expired or is invalid.")
			return
		}
		offset = n
	}
	end := min(offset+top, len(objs))

	s.mu.Lock()
	values := make([]map[string]any, 0, end-offset)
	for _, o := range objs[offset:end] {
		values = append(values, project(o, sel, collection == "members"))
	}
	s.mu.Unlock()
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + collection, "value": values}
	if end < len(objs) {
		next := *r.URL
		nq := next.Query()
		nq.Set("$skiptoken", "RFNwdA"+base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		next.RawQuery = nq.Encode()
		next.Scheme, next.Host = "http", r.Host
		if r.TLS != nil {
			next.Scheme = "https"
		}
		body["@odata.nextLink"] = next.String()
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	_ = json.NewEncoder(w).Encode(body)
}

// knownProperties are the names $select accepts. s.mu is held.
func (s *Server) knownProperties() map[string]bool {
	known := map[string]bool{}
	for _, list := range [][]string{defaultUserProperties, userProperties, groupProperties} {
		for _, p := range list {
			known[p] = true
		}
	}
	for p := range s.props {
		known[p] = true
	}
	return known
}

// project returns the selected properties of o (the defaults without a
// $select), with @odata.type in a directoryObject collection.
func project(o *object, sel []string, typed bool) map[string]any {
	if sel == nil {
		if o.kind == "user" {
			sel = defaultUserProperties
		} else {
			sel = groupProperties
		}
	}
	out := make(map[string]any, len(sel)+1)
	if typed {
		out["@odata.type"] = "#microsoft.graph." + o.kind
	}
	for _, p := range sel {
		if v, ok := o.props[p]; ok {
			out[p] = v
		} else {
			out[p] = nil
		}
	}
	out["id"] = o.props["id"]
	return out
}

// getGroup answers GET /groups/{id}.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	g := s.byID[id]
	var v map[string]any
	if g != nil && g.kind == "group" {
		v = project(g, nil, false)
	}
	s.mu.Unlock()
	if v == nil {
		notFound(w, id)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// listMembers answers /groups/{id}/members and /transitiveMembers,
// optionally cast to users or groups. Transitive members are every user
// and group reachable through nested groups, each once, cycles included.
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, id string, transitive bool, cast string) {
	s.mu.Lock()
	g := s.byID[id]
	if g == nil || g.kind != "group" {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	var objs []*object
	seen := map[string]bool{id: true}
	queue := []*object{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range cur.members {
			o := s.byID[m]
			if o == nil || seen[m] {
				continue
			}
			seen[m] = true
			objs = append(objs, o)
			if transitive && o.kind == "group" {
				queue = append(queue, o)
			}
		}
	}
	s.mu.Unlock()
	if cast != "" {
		kind := strings.TrimPrefix(cast, "microsoft.graph.")
		kept := objs[:0]
		for _, o := range objs {
			if o.kind == kind {
				kept = append(kept, o)
			}
		}
		objs = kept
		if objs == nil {
			objs = []*object{}
		}
		s.list(w, r, kind+"s", objs)
		return
	}
	if objs == nil {
		objs = []*object{}
	}
	s.list(w, r, "members", objs)
}

func notFound(w http.ResponseWriter, id string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", url.PathEscape(id)))
}

// listMemberOf answers /users/{id}/transitiveMemberOf: every group the
// user is in, directly or through nested groups, each once. This emulator
// holds only groups, so the cast to groups changes nothing.
func (s *Server) listMemberOf(w http.ResponseWriter, r *http.Request, id string, cast bool) {
	s.mu.Lock()
	if u := s.byID[id]; u == nil || u.kind != "user" {
		s.mu.Unlock()
		notFound(w, id)
		return
	}
	parents := map[string][]*object{}
	for _, g := range s.groups {
		for _, m := range g.members {
			parents[m] = append(parents[m], g)
		}
	}
	objs := []*object{}
	seen := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, g := range parents[cur] {
			gid := g.props["id"].(string)
			if !seen[gid] {
				seen[gid] = true
				objs = append(objs, g)
				queue = append(queue, gid)
			}
		}
	}
	s.mu.Unlock()
	collection := "directoryObjects"
	if cast {
		collection = "groups"
	}
	s.list(w, r, collection, objs)
}
