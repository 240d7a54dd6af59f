package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// delta answers /users/delta and /groups/delta, as Microsoft's "Use delta
// query to track changes" describes them: a first round pages through
// every object (@odata.nextLink) and ends with an @odata.deltaLink; that
// link later returns only what changed since, users and groups removed
// marked "@removed", and a group's membership changes in "members@delta"
// when members is selected. Page size comes from Prefer:
// odata.maxpagesize. A delta token the tenant no longer holds answers 410
// Gone: the client starts over.
func (s *Server) delta(w http.ResponseWriter, r *http.Request, collection string) {
	q := r.URL.Query()
	var base, snapshot int64 = -1, 0
	offset := 0
	s.mu.Lock()
	current, floor := s.version, s.deltaFloor
	s.mu.Unlock()
	switch {
	case q.Get("$skiptoken") != "":
		b, err := base64.RawURLEncoding.DecodeString(q.Get("$skiptoken"))
		var n int
		if err == nil {
			n, err = fmt.Sscanf(string(b), "%d:%d:%d", &base, &snapshot, &offset)
		}
		if err != nil || n != 3 || offset < 0 {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "The specified page token value has expired or is invalid.")
			return
		}
	case q.Get("$deltatoken") != "":
		v, err := strconv.ParseInt(q.Get("$deltatoken"), 10, 64)
		if err != nil {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid delta token.")
			return
		}
		base, snapshot = v, current
	default:
		snapshot = current
	}
	if base >= 0 && base < floor {
		graphError(w, http.StatusGone, "resyncRequired", "The delta token has expired; start a new synchronization round.")
		return
	}
	var sel []string
	members := false
	if v := q.Get("$select"); v != "" {
		known := map[string]bool{}
		s.mu.Lock()
		for k, ok := range s.knownProperties() {
			known[k] = ok
		}
		s.mu.Unlock()
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			switch {
			case collection == "groups" && p == "members":
				members = true
			case !known[p]:
				graphError(w, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s'.", p))
				return
			default:
				sel = append(sel, p)
			}
		}
	}
	pageSize := s.opts.DefaultPageSize
	for _, pref := range strings.Split(r.Header.Get("Prefer"), ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(pref), "odata.maxpagesize="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				pageSize = min(n, 999)
			}
		}
	}

	s.mu.Lock()
	items := s.changes(collection, base, sel, members)
	s.mu.Unlock()
	end := min(offset+pageSize, len(items))
	if offset > len(items) {
		offset = len(items)
	}
	body := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + collection + "(delta)", "value": items[offset:end]}
	link := *r.URL
	link.Scheme, link.Host = "http", r.Host
	if r.TLS != nil {
		link.Scheme = "https"
	}
	lq := link.Query()
	lq.Del("$skiptoken")
	lq.Del("$deltatoken")
	if end < len(items) {
		lq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%d:%d", base, snapshot, end))))
		link.RawQuery = lq.Encode()
		body["@odata.nextLink"] = link.String()
	} else {
		lq.Set("$deltatoken", strconv.FormatInt(snapshot, 10))
		link.RawQuery = lq.Encode()
		body["@odata.deltaLink"] = link.String()
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal")
	_ = json.NewEncoder(w).Encode(body)
}

// changes lists the objects of a collection changed after version base
// (every current object when base < 0). s.mu is held.
func (s *Server) changes(collection string, base int64, sel []string, members bool) []map[string]any {
	var out []map[string]any
	removed := func(o *object) map[string]any {
		return map[string]any{"id": o.props["id"], "@removed": map[string]any{"reason": "deleted"}}
	}
	if collection == "users" {
		for _, u := range s.users {
			if base < 0 || u.version > base {
				out = append(out, project(u, sel, false))
			}
		}
		for _, u := range s.tombstones {
			if base >= 0 && u.version > base {
				out = append(out, removed(u))
			}
		}
		return out
	}
	// Membership changes after base, by group, the last change of each
	// member winning.
	changed := map[string]map[string]bool{} // group -> member -> removed
	order := map[string][]string{}
	if base >= 0 {
		for _, c := range s.memberLog {
			if c.version <= base {
				continue
			}
			if changed[c.group] == nil {
				changed[c.group] = map[string]bool{}
			}
			if _, seen := changed[c.group][c.member]; !seen {
				order[c.group] = append(order[c.group], c.member)
			}
			changed[c.group][c.member] = c.removed
		}
	}
	ref := func(id string, gone bool) map[string]any {
		m := map[string]any{"id": id, "@odata.type": "#microsoft.graph.user"}
		if o := s.byID[id]; o != nil {
			m["@odata.type"] = "#microsoft.graph." + o.kind
		}
		if gone {
			m["@removed"] = map[string]any{"reason": "deleted"}
		}
		return m
	}
	for _, g := range s.groups {
		id := g.props["id"].(string)
		if base >= 0 && g.version <= base && changed[id] == nil {
			continue
		}
		v := project(g, sel, false)
		if members {
			list := []map[string]any{}
			if base < 0 {
				for _, m := range g.members {
					list = append(list, ref(m, false))
				}
			} else {
				for _, m := range order[id] {
					list = append(list, ref(m, changed[id][m]))
				}
			}
			v["members@delta"] = list
		}
		out = append(out, v)
	}
	return out
}
