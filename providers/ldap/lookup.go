package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/plan"
)

// UserEntry is one directory user as Test Sync shows it: the raw entry and
// what a Read would make of it.
type UserEntry struct {
	DN string
	// Attributes are the entry's attributes sorted by name, values
	// rendered as text (see FormatValue), password attributes left out.
	Attributes []Attribute
	// User is the user as Read returns it: stable id, active flag and the
	// requested attributes.
	User plan.SourceUser
	// Groups are the names of the IdP groups the user belongs to, nested
	// groups flattened, sorted.
	Groups []string
}

// Attribute is one attribute of a directory entry.
type Attribute struct {
	Name   string
	Values []string
}

// secretAttributes are never shown, whatever the bind DN may read.
var secretAttributes = []string{
	"userPassword", "authPassword", "unicodePwd", "dBCSPwd", "ntPwdHistory", "lmPwdHistory",
	"supplementalCredentials", "msDS-ManagedPassword", "sambaNTPassword", "sambaLMPassword",
	"sambaPasswordHistory", "krbPrincipalKey", "userPKCS12", "msDS-KeyCredentialLink",
}

// IsSecretAttribute reports whether attr holds a password or key that
// confsync never displays.
func IsSecretAttribute(attr string) bool {
	base, _, _ := strings.Cut(attr, ";")
	return slices.ContainsFunc(secretAttributes, func(s string) bool { return strings.EqualFold(s, base) })
}

// LookupUser finds the one user whose usernameAttr equals username within
// the configured user base and filter, and returns its raw attributes, the
// SourceUser a Read would produce with attrs requested, and its groups.
// Finding no user or more than one is an error.
func (s *Source) LookupUser(ctx context.Context, usernameAttr, username string, attrs []string) (*UserEntry, error) {
	if !attrName.MatchString(usernameAttr) {
		return nil, fmt.Errorf("ldap: %q is not an LDAP attribute name", usernameAttr)
	}
	if strings.TrimSpace(username) == "" {
		return nil, errors.New("ldap: the username to look up is empty")
	}
	attrs, err := checkAttributes(attrs)
	if err != nil {
		return nil, err
	}
	conn, release, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	cfg := &s.cfg
	r := s.newReader(ctx, conn, attrs)
	filter := fmt.Sprintf("(&%s(%s=%s))", cfg.userFilter, usernameAttr, goldap.EscapeFilter(username))
	req := goldap.NewSearchRequest(cfg.userBase, cfg.userScope, goldap.NeverDerefAliases, 2, cfg.timeLimitS, false,
		filter, append([]string{"*"}, r.userAttributes()...), nil)
	res, err := conn.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("ldap: more than one user under user_base %q has %s=%s; the username attribute must be unique", cfg.userBase, usernameAttr, username)
	case err != nil:
		return nil, searchError(ctx, "user_base", cfg.userBase, err)
	case len(res.Referrals) > 0:
		return nil, fmt.Errorf("ldap: the search for %s=%s returned a referral to %s, which confsync does not follow: %w", usernameAttr, username, res.Referrals[0], ErrIncompleteRead)
	case len(res.Entries) == 0:
		return nil, fmt.Errorf("ldap: no user under user_base %q matching user_filter %s has %s=%s", cfg.userBase, cfg.userFilter, usernameAttr, username)
	case len(res.Entries) > 1:
		return nil, fmt.Errorf("ldap: %d users under user_base %q have %s=%s; the username attribute must be unique", len(res.Entries), cfg.userBase, usernameAttr, username)
	}
	e := res.Entries[0]

	if cfg.userMemberOf != "" {
		if err := r.readGroups(); err != nil {
			return nil, err
		}
		if err := r.addUser(e); err != nil {
			return nil, err
		}
	} else {
		if err := r.addUser(e); err != nil {
			return nil, err
		}
		if err := r.readGroups(); err != nil {
			return nil, err
		}
	}
	r.linkGroups()
	snap := r.snapshot()

	out := &UserEntry{DN: e.DN, User: snap.Users[0]}
	for _, g := range snap.Groups {
		if slices.Contains(g.MemberIDs, out.User.ID) {
			out.Groups = append(out.Groups, g.Name)
		}
	}
	slices.SortFunc(out.Groups, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	for _, a := range e.Attributes {
		if IsSecretAttribute(a.Name) {
			continue
		}
		vals := make([]string, len(a.ByteValues))
		for i, v := range a.ByteValues {
			vals[i] = FormatValue(a.Name, v)
		}
		out.Attributes = append(out.Attributes, Attribute{Name: a.Name, Values: vals})
	}
	slices.SortFunc(out.Attributes, func(a, b Attribute) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}
