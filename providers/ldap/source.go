// Package ldap reads users and groups from an LDAP directory (OpenLDAP,
// Active Directory and their kin) for the plan engine, and looks up a single
// user for Test Sync.
//
// A read is all or nothing: a size or time limit, a dropped connection, a
// referral that was not followed or a server that stopped paging is an
// error wrapping ErrIncompleteRead, never a short result, because a short
// result would deprovision the people it left out.
package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// Defaults applied by NewSource to settings left empty.
const (
	DefaultUserFilter           = "(objectClass=person)"
	DefaultGroupFilter          = "(objectClass=groupOfNames)"
	DefaultIDAttribute          = "entryUUID"
	DefaultGroupNameAttribute   = "cn"
	DefaultGroupMemberAttribute = "member"
	DefaultPageSize             = 500
	DefaultTimeout              = 30 * time.Second
)

// Attribute names with a meaning of their own.
const (
	attrObjectGUID         = "objectGUID"
	attrObjectSID          = "objectSid"
	attrUserAccountControl = "userAccountControl"
	attrMemberUID          = "memberUid"
	attrUID                = "uid"
)

// uacAccountDisable is the ACCOUNTDISABLE flag of userAccountControl.
const uacAccountDisable = 0x2

// Source reads one LDAP identity provider. It is safe for concurrent use:
// each Read or LookupUser opens its own connection.
type Source struct {
	cfg    settings
	logger *slog.Logger
}

var _ plan.Source = (*Source)(nil)

// settings is the validated, defaulted form of config.LDAPSource.
type settings struct {
	url        *url.URL
	address    string // host:port
	tls        *tls.Config
	startTLS   bool
	bindDN     string
	bindPass   config.Secret
	timeout    time.Duration
	pageSize   uint32
	timeLimitS int

	userBase   string
	userFilter string
	userScope  int
	userIDAttr string

	groupBase       string
	groupFilter     string
	groupScope      int
	groupNameAttr   string
	groupIDAttr     string
	groupMemberAttr string // "" when membership is read from the user side
	userMemberOf    string // "" when membership is read from the group side
	nested          bool
}

// attrName matches an LDAP attribute description without options, or an OID.
var attrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// NewSource validates cfg, applies defaults and returns a Source. It does
// not connect: the directory is contacted by Read and LookupUser.
func NewSource(cfg *config.LDAPSource, logger *slog.Logger) (*Source, error) {
	if cfg == nil {
		return nil, errors.New("ldap: no ldap configuration")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := newSettings(cfg)
	if err != nil {
		return nil, err
	}
	return &Source{cfg: s, logger: logger}, nil
}

func newSettings(cfg *config.LDAPSource) (settings, error) {
	var s settings
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		bad("url is required")
	case err != nil:
		bad("url %q is not a valid URL", cfg.URL)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("url %q must start with ldap:// or ldaps://", cfg.URL)
	case u.Hostname() == "":
		bad("url %q has no host", cfg.URL)
	case u.Path != "" && u.Path != "/":
		bad("url %q must not have a path; use user_base and group_base for the DNs", cfg.URL)
	default:
		s.url = u
		port := u.Port()
		if port == "" {
			port = "389"
			if u.Scheme == "ldaps" {
				port = "636"
			}
		}
		s.address = net.JoinHostPort(u.Hostname(), port)
		if cfg.StartTLS && u.Scheme == "ldaps" {
			bad("start_tls cannot be used with an ldaps:// url, which is TLS already")
		}
		tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				bad("ca_file: %v", err)
			} else {
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					bad("ca_file %s holds no PEM certificate", cfg.CAFile)
				}
				tc.RootCAs = pool
			}
		}
		s.tls = tc
		s.startTLS = cfg.StartTLS
	}
	if (cfg.CAFile != "" || cfg.InsecureSkipVerify) && s.url != nil && s.url.Scheme == "ldap" && !cfg.StartTLS {
		bad("ca_file and insecure_skip_verify need an ldaps:// url or start_tls = true")
	}

	s.bindDN = cfg.BindDN
	s.bindPass = cfg.BindPassword
	if cfg.BindDN != "" && cfg.BindPassword == "" {
		// An empty password turns a simple bind into an unauthenticated
		// bind, which many servers accept without checking anything.
		bad("bind_dn is set but bind_password is empty")
	}
	if cfg.BindDN == "" && cfg.BindPassword != "" {
		bad("bind_password is set but bind_dn is empty")
	}
	if cfg.BindDN != "" && !config.ValidBindName(cfg.BindDN) {
		bad("bind_dn %q is not a DN, a user principal name or a DOMAIN\\user name", cfg.BindDN)
	}

	s.timeout = cfg.Timeout
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.timeout < 0 {
		bad("timeout must be positive")
	}
	s.timeLimitS = int(math.Ceil(s.timeout.Seconds()))

	switch {
	case cfg.PageSize == 0:
		s.pageSize = DefaultPageSize
	case cfg.PageSize < 0 || cfg.PageSize > math.MaxInt32:
		bad("page_size must be between 1 and %d", math.MaxInt32)
	default:
		s.pageSize = uint32(cfg.PageSize)
	}

	checkDN := func(field, dn string, required bool) {
		if dn == "" {
			if required {
				bad("%s is required", field)
			}
			return
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			bad("%s %q is not a valid DN: %v", field, dn, err)
		}
	}
	checkFilter := func(field, filter, def string) string {
		if filter == "" {
			return def
		}
		if _, err := goldap.CompileFilter(filter); err != nil {
			bad("%s %q is not a valid LDAP filter: %v", field, filter, err)
		}
		return filter
	}
	checkScope := func(field, scope string) int {
		switch strings.ToLower(scope) {
		case "", "sub", "subtree":
			return goldap.ScopeWholeSubtree
		case "one", "onelevel":
			return goldap.ScopeSingleLevel
		}
		bad("%s must be \"sub\" or \"one\", not %q", field, scope)
		return goldap.ScopeWholeSubtree
	}
	checkAttr := func(field, name, def string) string {
		if name == "" {
			return def
		}
		if !attrName.MatchString(name) {
			bad("%s %q is not an LDAP attribute name", field, name)
		}
		return name
	}

	checkDN("user_base", cfg.UserBase, true)
	s.userBase = cfg.UserBase
	s.userFilter = checkFilter("user_filter", cfg.UserFilter, DefaultUserFilter)
	s.userScope = checkScope("user_scope", cfg.UserScope)
	s.userIDAttr = checkAttr("user_id_attribute", cfg.UserIDAttribute, DefaultIDAttribute)

	checkDN("group_base", cfg.GroupBase, false)
	s.groupBase = cfg.GroupBase
	s.groupFilter = checkFilter("group_filter", cfg.GroupFilter, DefaultGroupFilter)
	s.groupScope = checkScope("group_scope", cfg.GroupScope)
	s.groupNameAttr = checkAttr("group_name_attribute", cfg.GroupNameAttribute, DefaultGroupNameAttribute)
	s.groupIDAttr = checkAttr("group_id_attribute", cfg.GroupIDAttribute, s.userIDAttr)
	s.userMemberOf = checkAttr("user_member_of_attribute", cfg.UserMemberOfAttribute, "")
	if s.userMemberOf == "" {
		s.groupMemberAttr = checkAttr("group_member_attribute", cfg.GroupMemberAttribute, DefaultGroupMemberAttribute)
	} else if cfg.GroupMemberAttribute != "" && cfg.GroupMemberAttribute != DefaultGroupMemberAttribute {
		bad("set group_member_attribute or user_member_of_attribute, not both")
	}
	s.nested = cfg.NestedGroups

	if len(errs) > 0 {
		return settings{}, fmt.Errorf("ldap: invalid configuration: %w", errors.Join(errs...))
	}
	return s, nil
}
