package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/confsync/confsync/config"
)

// MappedUser is an IdP user after its IdP's attribute mapping: what
// Confluence should hold for that person.
type MappedUser struct {
	IDP string
	// SourceID is the IdP's stable id of the person.
	SourceID string
	// SourceUsername is the source's username attribute before the
	// transform, for messages.
	SourceUsername string
	// Username is the Confluence username: transformed and lower-cased.
	Username    string
	DisplayName string
	Email       string
	// Custom holds the custom attributes by their confsync name. They are
	// kept in the ownership state only: Confluence Data Center has no user
	// properties.
	Custom map[string]string
	Active bool
}

// MappingError says why an IdP user cannot become a Confluence user. The
// plan shows it as a diagnostic naming the IdP user; it never fails an
// apply.
type MappingError struct {
	IDP      string
	SourceID string
	// SourceUsername is the source's username value, possibly empty.
	SourceUsername string
	Problem        string
}

func (e *MappingError) Error() string {
	who := e.SourceUsername
	if who == "" {
		who = "(no username)"
	}
	return fmt.Sprintf("idp %q user %s (id %s): %s", e.IDP, who, e.SourceID, e.Problem)
}

// userAttributeNames returns the source attribute names an IdP's mapping
// reads, the defaults of its kind filled in.
func userAttributeNames(idp *config.IDP) (username, email, displayName string) {
	username, email, displayName = idp.Attributes.Username, idp.Attributes.Email, idp.Attributes.DisplayName
	ldap := idp.Kind() == "ldap"
	if username == "" {
		username = config.DefaultSCIMUsername
		if ldap {
			username = config.DefaultLDAPUsername
		}
	}
	if email == "" {
		email = config.DefaultSCIMEmail
		if ldap {
			email = config.DefaultLDAPEmail
		}
	}
	if displayName == "" {
		displayName = config.DefaultSCIMDisplayName
		if ldap {
			displayName = config.DefaultLDAPDisplayName
		}
	}
	return username, email, displayName
}

// SourceAttributes lists the source attributes an IdP's mapping needs, for
// ReadRequest.Attributes: username, email, display name and every custom
// attribute, without duplicates, in a stable order.
func SourceAttributes(idp *config.IDP) []string {
	u, e, d := userAttributeNames(idp)
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(u)
	add(e)
	add(d)
	names := make([]string, 0, len(idp.Attributes.Custom))
	for n := range idp.Attributes.Custom {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		add(idp.Attributes.Custom[n])
	}
	return out
}

// MapUser applies an IdP's user mapping to one source user: the username
// transform then lower-casing, email, display name (the username when the
// source has none), custom attributes and the active flag. A user
// Confluence would reject (an invalid username, email or display name)
// yields a *MappingError.
func MapUser(idp *config.IDP, u SourceUser) (MappedUser, error) {
	ua, ea, da := userAttributeNames(idp)
	raw := strings.TrimSpace(u.Attributes[ua])
	m := MappedUser{
		IDP:            idp.Name,
		SourceID:       u.ID,
		SourceUsername: raw,
		Email:          strings.TrimSpace(u.Attributes[ea]),
		DisplayName:    strings.TrimSpace(u.Attributes[da]),
		Active:         u.Active,
	}
	fail := func(format string, args ...any) (MappedUser, error) {
		return MappedUser{}, &MappingError{IDP: idp.Name, SourceID: u.ID, SourceUsername: raw, Problem: fmt.Sprintf(format, args...)}
	}
	if u.ID == "" {
		return fail("the source gave no stable id")
	}
	if raw == "" {
		return fail("attribute %q (the username) is empty", ua)
	}
	m.Username = strings.ToLower(idp.Users.UsernameTransform.Apply(raw))
	if err := config.ValidUsername(m.Username); err != nil {
		return fail("username %q: %v", m.Username, err)
	}
	if m.DisplayName == "" {
		m.DisplayName = m.Username
	}
	if err := validateDisplayName(m.DisplayName); err != nil {
		return fail("display name %q: %v", m.DisplayName, err)
	}
	if m.Email == "" {
		return fail("attribute %q (the email) is empty; Confluence requires an email", ea)
	}
	if !plausibleEmail(m.Email) {
		return fail("email %q is not a valid address", m.Email)
	}
	if len(idp.Attributes.Custom) > 0 {
		m.Custom = make(map[string]string, len(idp.Attributes.Custom))
		for name, attr := range idp.Attributes.Custom {
			if v, ok := u.Attributes[attr]; ok {
				m.Custom[name] = v
			}
		}
	}
	return m, nil
}

// plausibleEmail checks the shape Confluence's email validation wants:
// local@domain, no whitespace or angle brackets, a dot-free domain allowed
// (intranet hosts). It is cheap: a plan checks a hundred thousand.
func plausibleEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 254 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\':
			return false
		case c == '@' && i != at:
			return false
		}
	}
	domain := s[at+1:]
	return !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

func validateDisplayName(name string) error {
	switch {
	case strings.ContainsAny(name, "<>"):
		return fmt.Errorf("contains < or >, which Confluence does not allow")
	case strings.EqualFold(name, "anonymous"):
		return fmt.Errorf("is reserved by Confluence")
	}
	return nil
}

// MappedGroup is a Confluence group an IdP group maps onto.
type MappedGroup struct {
	// Name is the Confluence group, lower-case.
	Name string
	// From is the IdP group's name; empty for a default group.
	From string
	// MayCreate says confsync may create the group when Confluence lacks
	// it: groups named in map blocks and default groups always, on-the-fly
	// groups only with create_missing.
	MayCreate bool
}

// GroupMapper maps IdP group names onto Confluence groups following one
// IdP's group configuration.
type GroupMapper struct {
	idp    *config.IDP
	manual map[string][]string // lower-case IdP group name -> Confluence groups
}

// NewGroupMapper prepares idp's group mapping.
func NewGroupMapper(idp *config.IDP) *GroupMapper {
	gm := &GroupMapper{idp: idp, manual: map[string][]string{}}
	for _, m := range idp.Groups.Map {
		k := strings.ToLower(m.From)
		gm.manual[k] = append(gm.manual[k], m.To...)
	}
	return gm
}

// included applies the include and exclude filters to an IdP group name:
// with include filters, a group must match one; a group matching an
// exclude filter is left out.
func (gm *GroupMapper) included(name string) bool {
	g := gm.idp.Groups
	if len(g.Include) > 0 {
		ok := false
		for _, re := range g.Include {
			if re.MatchString(name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range g.Exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}

// Map returns the Confluence groups one IdP group maps onto (none when it
// is filtered out or, in manual mode, has no map block). A map block wins
// over on-the-fly naming.
func (gm *GroupMapper) Map(sourceGroup string) []MappedGroup {
	if !gm.included(sourceGroup) {
		return nil
	}
	if to, ok := gm.manual[strings.ToLower(sourceGroup)]; ok {
		out := make([]MappedGroup, 0, len(to))
		for _, n := range to {
			out = append(out, MappedGroup{Name: strings.ToLower(n), From: sourceGroup, MayCreate: true})
		}
		return out
	}
	if gm.idp.Groups.Mode != config.GroupModeOnTheFly {
		return nil
	}
	name := strings.ToLower(gm.idp.Groups.Rename.Apply(sourceGroup))
	return []MappedGroup{{Name: name, From: sourceGroup, MayCreate: gm.idp.Groups.CreateMissing}}
}

// MapUserGroups returns the Confluence groups a user belongs to, given the
// names of the IdP groups the user is in, plus the default groups:
// default_groups_all always, default_groups_new when isNew (the user is
// about to be created by confsync). The result is sorted by name without
// duplicates; when two IdP groups map onto one Confluence group the first
// in sourceGroups order is kept as From.
func (gm *GroupMapper) MapUserGroups(sourceGroups []string, isNew bool) []MappedGroup {
	seen := map[string]bool{}
	var out []MappedGroup
	add := func(g MappedGroup) {
		if !seen[g.Name] {
			seen[g.Name] = true
			out = append(out, g)
		}
	}
	for _, sg := range sourceGroups {
		for _, g := range gm.Map(sg) {
			add(g)
		}
	}
	for _, n := range gm.idp.Groups.DefaultGroupsAll {
		add(MappedGroup{Name: strings.ToLower(n), MayCreate: true})
	}
	if isNew {
		for _, n := range gm.idp.Groups.DefaultGroupsNew {
			add(MappedGroup{Name: strings.ToLower(n), MayCreate: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MapGroups is MapUserGroups for a one-off call: it maps a user's IdP
// groups (and the default groups) onto Confluence groups following idp's
// configuration.
func MapGroups(idp *config.IDP, sourceGroups []string, isNew bool) []MappedGroup {
	return NewGroupMapper(idp).MapUserGroups(sourceGroups, isNew)
}
