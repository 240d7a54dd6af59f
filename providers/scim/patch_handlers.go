package scim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/confsync/confsync/providers/scim/filter"
	"github.com/confsync/confsync/providers/store"
)

// retry reports whether a read-modify-write that failed with err should
// be read and applied again: only when another write changed the resource
// in between (store.ErrVersionMismatch) and the client sent no If-Match,
// for as long as the request's context lives. After the first attempts it
// waits a little (randomly, growing with attempt) so that writers racing
// on one resource spread out instead of spinning.
func (s *Server) retry(r *request, err error, attempt int) bool {
	if !errors.Is(err, store.ErrVersionMismatch) || r.Header.Get("If-Match") != "" {
		return false
	}
	ctx := r.Context()
	if ctx.Err() != nil {
		return false
	}
	if attempt >= 2 {
		wait := time.Duration(rand.Int64N(int64(min(attempt, 50))*int64(time.Millisecond))) + time.Millisecond
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// patchUser applies a PATCH to a user: read, apply in memory, write back
// with the version read (retrying when another write came in between).
// It answers 200 with the resource.
func (s *Server) patchUser(w http.ResponseWriter, r *request, id string) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	ops, err := parsePatch(body)
	if err != nil {
		return err
	}
	proj, err := parseProjection(r.URL.Query().Get("attributes"), r.URL.Query().Get("excludedAttributes"))
	if err != nil {
		return err
	}
	var nu store.User
	changed := true
	for attempt := 0; ; attempt++ {
		u, err := s.loadUser(r, id)
		if err != nil {
			return err
		}
		if _, err := ifMatch(r.Request, u.Version); err != nil {
			return err
		}
		attrs, err := userMap(u)
		if err != nil {
			return err
		}
		// The indexed fields are the truth; make sure the attributes carry them.
		attrs["userName"] = u.UserName
		attrs["active"] = u.Active
		if u.ExternalID != "" {
			attrs["externalId"] = u.ExternalID
		}
		for _, op := range ops {
			if err := applyOp(userKind, attrs, op); err != nil {
				return err
			}
		}
		if _, ok := attrs["active"].(bool); !ok {
			// Unassigning active must not give a disabled user access back
			// (a user without active would be active), nor silently do nothing.
			return badRequest(typeInvalidValue, "active cannot be removed or set to null: replace it with true or false")
		}
		nu = *u
		if err := fillUserFields(&nu, attrs); err != nil {
			return err
		}
		err = s.opts.Store.ReplaceUser(r.Context(), &nu, u.Version)
		if s.retry(r, err, attempt) {
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: "a user with userName " + quote(nu.UserName) + " already exists", Err: err}
		}
		if err != nil {
			return storeError(err, "user")
		}
		if nu.Version == u.Version {
			changed = false // the PATCH changed nothing (RFC 7644 §3.5.2)
		}
		break
	}
	if changed {
		s.changed(r.idp)
	}
	return s.answerUser(w, r, &nu, proj, http.StatusOK)
}

// memberOp is a PATCH operation on a group's members, done as row
// operations in the store.
type memberOp struct {
	kind   string // add, replace, remove, removeAll, removeFilter
	refs   []memberRef
	ids    []string
	filter filter.Expr
}

func isMembersAttr(a filter.AttrPath) bool {
	return (a.URN == "" || strings.EqualFold(a.URN, GroupSchema)) && strings.EqualFold(a.Name, "members")
}

// splitGroupOps separates the operations on members from those on the
// group's other attributes.
func splitGroupOps(ops []patchOp) ([]patchOp, []memberOp, error) {
	var attrOps []patchOp
	var mops []memberOp
	for _, op := range ops {
		if op.path == nil {
			obj := op.value.(map[string]any)
			rest := map[string]any{}
			for k, v := range obj {
				if strings.EqualFold(k, "members") {
					refs, err := parseMembers(v)
					if err != nil {
						return nil, nil, err
					}
					mops = append(mops, memberOp{kind: op.op, refs: refs})
					continue
				}
				rest[k] = v
			}
			if len(rest) > 0 {
				attrOps = append(attrOps, patchOp{op: op.op, value: rest, hasValue: true})
			}
			continue
		}
		if !isMembersAttr(op.path.Attr) {
			attrOps = append(attrOps, op)
			continue
		}
		if op.path.Sub() != "" {
			return nil, nil, badRequest(typeInvalidPath, "members sub-attributes cannot be changed; add or remove members instead")
		}
		if op.path.Filter != nil {
			if op.op != "remove" {
				return nil, nil, badRequest(typeInvalidPath, "a members value filter can only be used to remove members")
			}
			if err := checkMemberFilter(op.path.Filter); err != nil {
				return nil, nil, err
			}
			if ids, ok := memberIDsOf(op.path.Filter); ok {
				mops = append(mops, memberOp{kind: "remove", ids: ids})
			} else {
				mops = append(mops, memberOp{kind: "removeFilter", filter: op.path.Filter})
			}
			continue
		}
		refs, err := parseMembers(op.value)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case op.op == "remove" && !op.hasValue:
			mops = append(mops, memberOp{kind: "removeAll"})
		case op.op == "remove":
			ids := make([]string, len(refs))
			for i, r := range refs {
				ids[i] = r.ID
			}
			mops = append(mops, memberOp{kind: "remove", ids: ids})
		default:
			mops = append(mops, memberOp{kind: op.op, refs: refs})
		}
	}
	return attrOps, mops, nil
}

// checkMemberFilter refuses a members value filter that names anything but
// a member's sub-attributes (members[valu eq "x"] would remove nothing,
// silently).
func checkMemberFilter(f filter.Expr) error {
	members := groupKind.def("", "members")
	return walkFilter(f, members, nil, func(_ filter.Expr, a filter.AttrPath, _ *attrDef) error {
		if a.URN != "" || a.Sub != "" || findAttr(members.Sub, a.Name) == nil {
			return badRequest(typeInvalidPath, "members have no attribute %q: a members filter can use value, type, display and $ref", a.String())
		}
		return nil
	})
}

// memberIDsOf returns the ids of a filter made of `value eq "id"`
// comparisons joined by `or`.
func memberIDsOf(f filter.Expr) ([]string, bool) {
	switch x := f.(type) {
	case *filter.Compare:
		s, ok := x.Value.(string)
		if x.Op != filter.Eq || !strings.EqualFold(x.Attr.Name, "value") || x.Attr.Sub != "" || x.Attr.URN != "" {
			return nil, false
		}
		if !ok {
			s = x.Raw
		}
		return []string{s}, true
	case *filter.Or:
		l, ok := memberIDsOf(x.L)
		if !ok {
			return nil, false
		}
		r, ok := memberIDsOf(x.R)
		if !ok {
			return nil, false
		}
		return append(l, r...), true
	}
	return nil, false
}

// patchGroup applies a PATCH to a group. Member changes go to the store as
// row operations, so concurrent PATCHes lose no member and their cost does
// not grow with the group; the attribute changes and every member
// operation of one PATCH commit in one transaction, or none does. A PATCH
// that changes nothing leaves the group's version alone. It answers 204,
// as Entra expects.
func (s *Server) patchGroup(w http.ResponseWriter, r *request, id string) error {
	body, err := readJSONObject(r.Request)
	if err != nil {
		return err
	}
	ops, err := parsePatch(body)
	if err != nil {
		return err
	}
	attrOps, mops, err := splitGroupOps(ops)
	if err != nil {
		return err
	}
	// A PATCH that only changes members needs no read of the group: the
	// store answers not-found itself.
	clientMatch := r.Header.Get("If-Match") != ""
	var g *store.Group
	if len(attrOps) > 0 || clientMatch {
		if g, err = s.loadGroup(r, id); err != nil {
			return err
		}
		if _, err := ifMatch(r.Request, g.Version); err != nil {
			return err
		}
	}
	changes := make([]store.MemberChange, 0, len(mops))
	for _, mo := range mops {
		mc, err := s.memberChange(r, mo)
		if err != nil {
			return err
		}
		changes = append(changes, mc)
	}
	// The attributes and every member operation commit in one transaction.
	for attempt := 0; ; attempt++ {
		u := store.GroupUpdate{Members: changes}
		if g != nil {
			u.IfVersion = g.Version
		}
		if len(attrOps) > 0 {
			ng, err := patchedGroup(g, attrOps)
			if err != nil {
				return err
			}
			u.Attributes = ng
		}
		_, changed, err := s.opts.Store.UpdateGroup(r.Context(), r.idp, id, u)
		if g != nil && s.retry(r, err, attempt) {
			if g, err = s.loadGroup(r, id); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			return notFound("group", id)
		}
		if err != nil {
			name := ""
			if u.Attributes != nil {
				name = u.Attributes.DisplayName
			}
			return groupConflict(name, err)
		}
		if changed {
			s.changed(r.idp)
		}
		break
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchedGroup applies attribute operations to a copy of g.
func patchedGroup(g *store.Group, attrOps []patchOp) (*store.Group, error) {
	attrs, err := groupMap(g)
	if err != nil {
		return nil, err
	}
	attrs["displayName"] = g.DisplayName
	if g.ExternalID != "" {
		attrs["externalId"] = g.ExternalID
	}
	for _, op := range attrOps {
		if err := applyOp(groupKind, attrs, op); err != nil {
			return nil, err
		}
	}
	delete(attrs, "members")
	ng := *g
	if err := fillGroupFields(&ng, attrs); err != nil {
		return nil, err
	}
	return &ng, nil
}

// memberChange turns a PATCH member operation into a store change,
// resolving the types of the members it adds.
func (s *Server) memberChange(r *request, mo memberOp) (store.MemberChange, error) {
	switch mo.kind {
	case "add", "replace":
		members, err := s.resolveMembers(r, mo.refs)
		if err != nil {
			return store.MemberChange{}, err
		}
		op := store.AddMembers
		if mo.kind == "replace" {
			op = store.ReplaceMembers
		}
		return store.MemberChange{Op: op, Members: members}, nil
	case "removeAll":
		return store.MemberChange{Op: store.ReplaceMembers}, nil
	case "remove":
		return store.MemberChange{Op: store.RemoveMembers, IDs: mo.ids}, nil
	case "removeFilter":
		ce := func(_, name, _ string) bool { return groupKind.caseExact("", "members", name) }
		f := mo.filter
		return store.MemberChange{Op: store.RemoveMatching, Match: func(m store.Member) (bool, error) {
			return filter.Match(f, map[string]any{"value": m.ID, "type": m.Type}, ce), nil
		}}, nil
	}
	return store.MemberChange{}, fmt.Errorf("unknown member operation %q", mo.kind)
}
