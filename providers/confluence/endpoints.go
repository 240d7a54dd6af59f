package confluence

import (
	"fmt"
	"net/url"
	"strings"
)

// endpoint is one REST call the client can make. Every request the client
// sends goes through one of the values in endpoints, so that list is the
// complete set of (method, path) pairs the client uses; a test checks each
// against Atlassian's OpenAPI description.
type endpoint struct {
	Method   string
	Template string // path below the context path, with {param} segments
	// Query lists the query parameters the client may send.
	Query []string
	// Idempotent calls are retried on 5xx, resets and timeouts; others only
	// after checking that the first attempt did not take effect.
	Idempotent bool
}

var (
	epCurrentUser  = endpoint{"GET", "/rest/api/user/current", nil, true}
	epGetUser      = endpoint{"GET", "/rest/api/user", []string{"username", "expand"}, true}
	epListUsers    = endpoint{"GET", "/rest/api/user/list", []string{"start", "limit", "expand"}, true}
	epListGroups   = endpoint{"GET", "/rest/api/group", []string{"start", "limit"}, true}
	epGetGroup     = endpoint{"GET", "/rest/api/group/{groupName}", nil, true}
	epGroupMembers = endpoint{"GET", "/rest/api/group/{groupName}/member", []string{"start", "limit"}, true}
	epMemberOf     = endpoint{"GET", "/rest/api/user/memberof", []string{"username", "start", "limit"}, true}
	epLongTask     = endpoint{"GET", "/rest/api/longtask/{id}", nil, true}
	epCreateUser   = endpoint{"POST", "/rest/api/admin/user", nil, false}
	epUpdateUser   = endpoint{"PUT", "/rest/api/admin/user/{username}", nil, true}
	epDeleteUser   = endpoint{"DELETE", "/rest/api/admin/user/{username}", nil, true}
	epDisableUser  = endpoint{"PUT", "/rest/api/admin/user/{username}/disable", nil, true}
	epEnableUser   = endpoint{"PUT", "/rest/api/admin/user/{username}/enable", nil, true}
	epCreateGroup  = endpoint{"POST", "/rest/api/admin/group", nil, false}
	epDeleteGroup  = endpoint{"DELETE", "/rest/api/admin/group/{groupName}", nil, true}
	epAddMember    = endpoint{"PUT", "/rest/api/user/{username}/group/{groupName}", nil, true}
	epRemoveMember = endpoint{"DELETE", "/rest/api/user/{username}/group/{groupName}", nil, true}

	// The permission reads of a plan's impact (permissions.go).
	epGroupGlobalPermissions = endpoint{"GET", "/rest/api/permissions/group/{groupName}", nil, true}
	epListSpaces             = endpoint{"GET", "/rest/api/space", []string{"start", "limit"}, true}
	epSpacePermissions       = endpoint{"GET", "/rest/api/space/{spaceKey}/permissions", nil, true}
)

// endpoints is every call the client can make.
var endpoints = []endpoint{
	epCurrentUser, epGetUser, epListUsers, epListGroups, epGetGroup, epGroupMembers, epMemberOf, epLongTask,
	epCreateUser, epUpdateUser, epDeleteUser, epDisableUser, epEnableUser,
	epCreateGroup, epDeleteGroup, epAddMember, epRemoveMember,
	epGroupGlobalPermissions, epListSpaces, epSpacePermissions,
}

// path fills the template's {param} segments in order, each escaped as
// one path segment (so "a/b" becomes "a%2Fb" and cannot change the route).
// Empty, "." and ".." arguments are refused: they would change the route.
func (e endpoint) path(args ...string) (string, error) {
	parts := strings.Split(e.Template, "/")
	i := 0
	for j, p := range parts {
		if !strings.HasPrefix(p, "{") || !strings.HasSuffix(p, "}") {
			continue
		}
		if i >= len(args) {
			return "", fmt.Errorf("confluence: %s %s: missing %s", e.Method, e.Template, p)
		}
		switch a := args[i]; a {
		case "", ".", "..":
			return "", fmt.Errorf("confluence: %s %s: %s %q is not a valid name", e.Method, e.Template, strings.Trim(p, "{}"), a)
		default:
			parts[j] = url.PathEscape(a)
		}
		i++
	}
	if i != len(args) {
		return "", fmt.Errorf("confluence: %s %s: %d path arguments for %d parameters", e.Method, e.Template, len(args), i)
	}
	return strings.Join(parts, "/"), nil
}
