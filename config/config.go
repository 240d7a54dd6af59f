// Package config turns a directory of confsync .hcl files into typed
// configuration and precise diagnostics. It knows nothing of sources,
// targets, execution or the command line.
package config

import (
	"regexp"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is a whole decoded configuration: every block of every file.
type Config struct {
	// Dir is the directory the configuration was read from; relative paths
	// in the configuration (file(), ca_file, the default SQLite store) are
	// resolved against it.
	Dir string
	// Files lists the .hcl files read, in the order they were read.
	Files []string
	// Hash is a SHA-256 over what the files say (their tokens, without
	// comments or layout), the variable values, and what env() and file()
	// read; a plan file records it so that apply can refuse a plan made from
	// another configuration, but not one that only gained a comment.
	Hash string

	Confluence *Confluence // nil when no confluence block is given
	Store      Store
	Server     Server
	IDPs       []*IDP // in declaration order
	Safety     Safety
	Variables  map[string]*Variable

	// sources are the files read, with sensitive values blanked out, for
	// rendering diagnostics with their snippets.
	sources map[string]*hcl.File
}

// IDP returns the identity provider with the given name, or nil.
func (c *Config) IDP(name string) *IDP {
	for _, p := range c.IDPs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Secret is a value that must never be printed: a token, a password, a
// sensitive variable. Its String and GoString methods redact it so that a
// stray %v in a log line or error cannot leak it.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "(sensitive)"
}

// GoString redacts the secret.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts the secret, so that JSON and other encoders never
// carry it either.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Confluence describes the Confluence Data Center instance confsync writes to.
type Confluence struct {
	URL         string
	ContextPath string
	// Token is a personal access token, sent as a Bearer token. Either Token
	// or Username and Password are set, never both.
	Token    Secret
	Username string
	Password Secret
	CAFile   string // absolute path, or ""

	// ProtectedUsers and ProtectedGroups are never changed, whatever the
	// mappings say. Names are lower-case.
	ProtectedUsers  []string
	ProtectedGroups []string

	// Parallelism bounds the requests in flight (default 4).
	Parallelism int
	// RequestsPerSecond bounds the request rate; 0 means no bound.
	RequestsPerSecond float64

	DeclRange hcl.Range
}

// Store says where confsync keeps the desired identity state, ownership,
// locks and the audit log. Exactly one of SQLite and Postgres is set after
// decoding; with no store block, SQLite is confsync.db beside the
// configuration.
type Store struct {
	SQLite   string // absolute path
	Postgres Secret // DSN; may carry a password
}

// Server configures `confsync serve`.
type Server struct {
	Listen  string // default "127.0.0.1:8080"
	TLSCert string
	TLSKey  string
	// AutoApply makes serve plan and apply after SCIM changes.
	AutoApply bool
	// Debounce is how long serve waits after a SCIM change before it
	// reconciles (default 2s).
	Debounce time.Duration
	// ReconcileInterval is the period of full reconciles (default 1h; 0 disables).
	ReconcileInterval time.Duration
	// MaxBodyBytes bounds a SCIM request body (default 10 MiB).
	MaxBodyBytes int64
	// SCIMRequestsPerSecond and SCIMRequestBurst are each SCIM bearer
	// token's request budget (a token bucket; default 100/s, burst 200);
	// 0 requests per second turns the limit off.
	SCIMRequestsPerSecond int
	SCIMRequestBurst      int
	// OperatorToken is the credential of serve's operator page (/ and
	// /ui/); "" turns the page off. It is never a SCIM token.
	OperatorToken Secret
}

// IDP is one identity provider: where its identities come from and how they
// map onto Confluence.
type IDP struct {
	Name string
	// Priority decides which IdP wins when two claim the same Confluence
	// user or membership: the higher number wins (default 0). Ties are broken
	// by name.
	Priority int

	// Exactly one of SCIM, LDAP, Graph and Okta is set.
	SCIM  *SCIMSource
	LDAP  *LDAPSource
	Graph *GraphSource
	Okta  *OktaSource

	Users      UserSync
	Attributes Attributes
	Groups     GroupSync

	DeclRange hcl.Range
}

// Kind returns "scim", "ldap", "graph" or "okta".
func (p *IDP) Kind() string {
	switch {
	case p.LDAP != nil:
		return "ldap"
	case p.Graph != nil:
		return "graph"
	case p.Okta != nil:
		return "okta"
	}
	return "scim"
}

// SCIMSource is an IdP that pushes identities to `confsync serve`.
type SCIMSource struct {
	// TokenSHA256 holds hex SHA-256 hashes of bearer tokens accepted for
	// this IdP, in addition to those created with `confsync token create`.
	TokenSHA256 []string
}

// LDAPSource is a directory confsync reads identities from.
type LDAPSource struct {
	URL                string // ldap:// or ldaps://
	StartTLS           bool
	CAFile             string
	InsecureSkipVerify bool
	BindDN             string
	BindPassword       Secret

	UserBase   string
	UserFilter string // default "(objectClass=person)"
	UserScope  string // "sub" (default) or "one"
	// UserIDAttribute is the stable identifier: "entryUUID" (default) or
	// "objectGUID" for Active Directory.
	UserIDAttribute string

	GroupBase   string
	GroupFilter string // default "(objectClass=groupOfNames)"
	GroupScope  string
	// GroupNameAttribute names a group (default "cn").
	GroupNameAttribute string
	// GroupIDAttribute is the group's stable identifier (defaults to
	// UserIDAttribute).
	GroupIDAttribute string
	// GroupMemberAttribute holds the members on the group side: "member"
	// (default), "uniqueMember" or "memberUid". Empty when
	// UserMemberOfAttribute is used instead.
	GroupMemberAttribute string
	// UserMemberOfAttribute holds the groups on the user side ("memberOf").
	UserMemberOfAttribute string
	NestedGroups          bool

	PageSize int           // default 500
	Timeout  time.Duration // connect and per-search timeout, default 30s

	DeclRange hcl.Range
}

// UserSync says which user changes an IdP may cause.
type UserSync struct {
	Create     bool // default true
	Update     bool // default true
	Deactivate bool // default true
	Reactivate bool // default true
	// Delete makes deprovisioning a deletion instead of a deactivation
	// (default false).
	Delete bool
	// DeleteAfter, when set, is a grace period (users.delete_after): a
	// deprovisioned user is disabled at once and deleted only once it has
	// been deprovisioned that long. It implies deletion, whatever Delete
	// says.
	DeleteAfter       time.Duration
	UsernameTransform *Rewrite
}

// Rewrite is a regular expression replacement, as in regexp.ReplaceAllString.
type Rewrite struct {
	Pattern *regexp.Regexp
	Replace string
}

// Apply rewrites s.
func (r *Rewrite) Apply(s string) string {
	if r == nil || r.Pattern == nil {
		return s
	}
	return r.Pattern.ReplaceAllString(s, r.Replace)
}

// Attributes maps source attributes onto Confluence's user fields. Source
// attributes are SCIM attribute paths for SCIM IdPs and LDAP attribute names
// for LDAP IdPs.
type Attributes struct {
	Username    string
	Email       string
	DisplayName string
	// Custom maps a confsync attribute name to a source attribute.
	Custom map[string]string
}

// Source attributes that Entra ID sends and Active Directory holds; they
// are the defaults of an attributes block.
const (
	DefaultSCIMUsername    = "userName"
	DefaultSCIMEmail       = `emails[type eq "work"].value`
	DefaultSCIMDisplayName = "displayName"
	DefaultLDAPUsername    = "sAMAccountName"
	DefaultLDAPEmail       = "mail"
	DefaultLDAPDisplayName = "displayName"
)

// Group sync modes.
const (
	GroupModeManual   = "manual"
	GroupModeOnTheFly = "on_the_fly"
)

// GroupSync says how an IdP's groups become Confluence group memberships.
type GroupSync struct {
	// Mode is GroupModeManual (only the map blocks count) or
	// GroupModeOnTheFly (an IdP group maps to the Confluence group of the
	// same name, after Rename and lower-casing). Default manual.
	Mode string
	// CreateMissing lets on-the-fly mapping create Confluence groups.
	CreateMissing bool
	// DefaultGroupsNew are groups every user created by confsync joins.
	DefaultGroupsNew []string
	// DefaultGroupsAll are groups every managed user belongs to.
	DefaultGroupsAll []string
	// KeepExisting leaves memberships confsync does not manage in place
	// (default true). When false, confsync is authoritative for the
	// membership of the groups it manages.
	KeepExisting bool
	Include      []*regexp.Regexp
	Exclude      []*regexp.Regexp
	Rename       *Rewrite
	// Map lists the manual mappings in declaration order.
	Map []GroupMap
}

// GroupMap maps one IdP group onto Confluence groups.
type GroupMap struct {
	From      string   // the IdP group's name (displayName or cn)
	To        []string // Confluence group names, lower-case
	DeclRange hcl.Range
}

// Safety holds the thresholds that stop a plan.
type Safety struct {
	MaxDeactivations      Threshold
	MaxMembershipRemovals Threshold
	MaxDeletions          Threshold
	// MaxSpaceAccessLost bounds the (user, space) pairs where a plan takes
	// away a space permission; a count only.
	MaxSpaceAccessLost Threshold
}

// Threshold is a count or a percentage of managed objects.
type Threshold struct {
	Set     bool
	Count   int
	Percent float64 // 0..100, when IsPercent
	// IsPercent says the threshold was written as "N%".
	IsPercent bool
}

// Limit returns the largest allowed number of changes out of total managed
// objects, and whether a limit applies at all.
func (t Threshold) Limit(total int) (int, bool) {
	if !t.Set {
		return 0, false
	}
	if t.IsPercent {
		return int(float64(total) * t.Percent / 100), true
	}
	return t.Count, true
}

// String renders the threshold as written.
func (t Threshold) String() string {
	if !t.Set {
		return "unlimited"
	}
	if t.IsPercent {
		return formatPercent(t.Percent)
	}
	return itoa(t.Count)
}

// Variable is a declared input variable.
type Variable struct {
	Name        string
	Description string
	Sensitive   bool
	DeclRange   hcl.Range
}
