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
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
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

// settings is what a Source connects and searches with, derived from a
// config.LDAPSource that config validated and defaulted.
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

// attrName matches an LDAP attribute description without options, or an
// OID: what LookupUser and Read accept from their callers.
var attrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// NewSource returns a Source for cfg, as config decoded it (config is the
// one validator of LDAP settings and owns their defaults; settings left
// empty in a configuration built in code get config's defaults). It does
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

// newSettings derives the connection and the searches from cfg. Its only
// errors are what cannot be derived: a url that does not parse, an
// unreadable ca_file, a bind with an empty password (a bind_password
// variable given no value).
func newSettings(cfg *config.LDAPSource) (settings, error) {
	c := cfg.Defaulted()
	var s settings
	if err := s.connection(&c); err != nil {
		return settings{}, fmt.Errorf("ldap: invalid configuration: %w", err)
	}
	s.searches(&c)
	return s, nil
}

// connection derives the address, TLS, bind and limits.
func (s *settings) connection(c *config.LDAPSource) error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("url %q is not an ldap:// or ldaps:// url with a host", c.URL)
	}
	s.url = u
	port := u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	s.address = net.JoinHostPort(u.Hostname(), port)
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca_file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	s.tls = tc
	s.startTLS = c.StartTLS

	s.bindDN = c.BindDN
	s.bindPass = c.BindPassword
	if c.BindDN != "" && c.BindPassword == "" {
		// An empty password turns a simple bind into an unauthenticated
		// bind, which many servers accept without checking anything.
		return errors.New("bind_dn is set but bind_password is empty")
	}
	s.timeout = c.Timeout
	s.timeLimitS = int(math.Ceil(s.timeout.Seconds()))
	s.pageSize = uint32(min(max(c.PageSize, 1), math.MaxInt32))
	return nil
}

// searches derives the user and group searches.
func (s *settings) searches(c *config.LDAPSource) {
	s.userBase = c.UserBase
	s.userFilter = c.UserFilter
	s.userScope = searchScope(c.UserScope)
	s.userIDAttr = c.UserIDAttribute

	s.groupBase = c.GroupBase
	s.groupFilter = c.GroupFilter
	s.groupScope = searchScope(c.GroupScope)
	s.groupNameAttr = c.GroupNameAttribute
	s.groupIDAttr = c.GroupIDAttribute
	s.userMemberOf = c.UserMemberOfAttribute
	if s.userMemberOf == "" {
		s.groupMemberAttr = c.GroupMemberAttribute
	}
	s.nested = c.NestedGroups
}

// searchScope is the go-ldap scope of config's "sub" or "one".
func searchScope(scope string) int {
	if scope == "one" {
		return goldap.ScopeSingleLevel
	}
	return goldap.ScopeWholeSubtree
}
