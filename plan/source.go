package plan

import "context"

// Source yields the identities one IdP holds. SCIM sources read what the IdP
// pushed into the store; LDAP sources search the directory.
//
// A Source must never turn a partial read into a short result: a read that
// did not complete (a size or time limit, a dropped connection, a referral
// not followed) returns an error.
type Source interface {
	// Read returns every user and group of the IdP. req.Attributes lists the
	// source attributes (SCIM paths or LDAP attribute names) the mapping
	// needs; each SourceUser.Attributes holds a value for each of them that
	// the user has.
	Read(ctx context.Context, req ReadRequest) (*Snapshot, error)
}

// ReadRequest says what a Source must return.
type ReadRequest struct {
	Attributes []string
}

// Snapshot is a complete read of one IdP.
type Snapshot struct {
	Users  []SourceUser
	Groups []SourceGroup
}

// SourceUser is a user as the IdP holds it.
type SourceUser struct {
	// ID is the IdP's stable identifier: the SCIM resource id, or LDAP
	// entryUUID / objectGUID. It never changes when the user is renamed.
	ID string
	// Active is false for a user the IdP deprovisioned (SCIM active=false,
	// an Active Directory account disabled in userAccountControl).
	Active bool
	// Attributes maps source attribute names to values.
	Attributes map[string]string
}

// SourceGroup is a group as the IdP holds it.
type SourceGroup struct {
	ID   string // stable identifier
	Name string // SCIM displayName, LDAP cn
	// MemberIDs are the SourceUser IDs of its members, nested groups already
	// flattened.
	MemberIDs []string
}
