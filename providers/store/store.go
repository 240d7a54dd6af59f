// Package store keeps confsync's durable state: the identities SCIM IdPs
// pushed (users, groups and memberships as rows), bearer token hashes, and
// the engine's state (ownership, the apply lock, source-read counts, the
// audit log). One SQL implementation serves SQLite and PostgreSQL, with the
// dialect differences in one place; storetest holds the conformance suite
// both must pass.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/confsync/confsync/plan"
)

// Errors returned (wrapped) by a Store.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: a userName (case-insensitive) or group displayName
	// already taken within the IdP.
	ErrConflict = errors.New("conflict")
	// ErrVersionMismatch: an If-Match version did not match.
	ErrVersionMismatch = errors.New("version mismatch")
)

// Store is everything confsync keeps durably. Every write is committed
// durably before the call returns.
type Store interface {
	SCIM
	Tokens
	RequestCounts
	plan.StateStore
	// ScopedOwnership reads part of the ownership state by index and
	// counts all of it, for targeted plans.
	plan.ScopedOwnership
	// ConfluenceCache keeps the Confluence state of the last full read,
	// kept up to date by applies, for plan --refresh=false.
	plan.ConfluenceCache
	SourceCursors
	// ChangeJournal records which identities each SCIM write touched, in
	// the write's transaction, for targeted reconciles.
	plan.ChangeJournal

	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// SourceCursors keeps, per IdP, an opaque value a pulled source needs to
// carry from one process to the next (the Graph source's delta state, its
// deltaLinks included). The value is state, like a token: it is never
// logged.
type SourceCursors interface {
	// SourceCursor returns the IdP's cursor (false when none is kept).
	SourceCursor(ctx context.Context, idp string) ([]byte, bool, error)
	// SetSourceCursor replaces the IdP's cursor; a nil value forgets it.
	SetSourceCursor(ctx context.Context, idp string, value []byte) error
}

// User is a SCIM user pushed by one IdP.
type User struct {
	IDP        string
	ID         string // assigned by confsync (a UUID)
	ExternalID string
	UserName   string // unique per IdP, case-insensitively
	Active     bool
	// Attributes is the resource's JSON object without id, meta, groups and
	// schemas bookkeeping: everything the IdP sent, extensions included.
	Attributes json.RawMessage
	Version    int64 // incremented by every write; the ETag
	Created    time.Time
	Modified   time.Time
}

// Group is a SCIM group pushed by one IdP. Its members are rows of their own.
type Group struct {
	IDP         string
	ID          string
	ExternalID  string
	DisplayName string
	Attributes  json.RawMessage // without members
	Version     int64
	Created     time.Time
	Modified    time.Time
}

// Member is one member of a group.
type Member struct {
	ID   string // the member's resource id
	Type string // "User" or "Group"
}

// MemberOp is what a MemberChange does to a group's members.
type MemberOp int

// The member operations of a GroupUpdate.
const (
	// AddMembers adds Members; those already in are ignored.
	AddMembers MemberOp = iota + 1
	// RemoveMembers removes the members named by IDs; those not in are ignored.
	RemoveMembers
	// ReplaceMembers sets the member list to Members.
	ReplaceMembers
	// RemoveMatching removes the members Match selects; an error from Match
	// fails the whole update.
	RemoveMatching
)

// MemberChange is one change to a group's members.
type MemberChange struct {
	Op      MemberOp
	Members []Member // AddMembers, ReplaceMembers
	IDs     []string // RemoveMembers
	Match   func(Member) (bool, error)
}

// GroupUpdate is a set of changes to one group, committed together.
type GroupUpdate struct {
	// Attributes, when not nil, holds the group's new displayName,
	// externalId and attributes (its IDP, ID and Version are ignored).
	Attributes *Group
	// IfVersion, when not 0, must equal the stored version
	// (ErrVersionMismatch otherwise).
	IfVersion int64
	Members   []MemberChange
}

// Writes that change nothing (the same attributes, members already in or
// already out) are no-ops: the resource keeps its Version and Modified
// time and the IdP's Revision does not move. A ReplaceUser or ReplaceGroup
// that changes nothing fills in the stored Version and times.

// Lookup is an indexed equality lookup. Attr is "userName" (users,
// case-insensitive), "externalId", "id" or "displayName" (groups,
// case-insensitive).
type Lookup struct {
	Attr  string
	Value string
}

// Page asks for at most Limit rows whose id sorts after After.
type Page struct {
	After string
	Limit int
}

// SCIM stores the resources SCIM IdPs push. Calls are scoped to one IdP.
type SCIM interface {
	CreateUser(ctx context.Context, u *User) error // fills Version, Created, Modified
	GetUser(ctx context.Context, idp, id string) (*User, error)
	// ReplaceUser writes u; when ifVersion is not 0 it must equal the stored
	// version (ErrVersionMismatch otherwise).
	ReplaceUser(ctx context.Context, u *User, ifVersion int64) error
	DeleteUser(ctx context.Context, idp, id string) error // removes its memberships
	FindUsers(ctx context.Context, idp string, l Lookup) ([]*User, error)
	ListUsers(ctx context.Context, idp string, p Page) ([]*User, error)
	CountUsers(ctx context.Context, idp string) (int, error)

	CreateGroup(ctx context.Context, g *Group, members []Member) error
	GetGroup(ctx context.Context, idp, id string) (*Group, error)
	ReplaceGroup(ctx context.Context, g *Group, ifVersion int64) error
	DeleteGroup(ctx context.Context, idp, id string) error
	FindGroups(ctx context.Context, idp string, l Lookup) ([]*Group, error)
	ListGroups(ctx context.Context, idp string, p Page) ([]*Group, error)
	CountGroups(ctx context.Context, idp string) (int, error)

	// AddMembers and RemoveMembers change a group's members and bump its
	// version in one transaction; their cost does not grow with the group.
	// Members that are already in (or already out) are ignored.
	AddMembers(ctx context.Context, idp, groupID string, m []Member) error
	RemoveMembers(ctx context.Context, idp, groupID string, ids []string) error
	// ReplaceMembers sets the whole member list.
	ReplaceMembers(ctx context.Context, idp, groupID string, m []Member) error
	// UpdateGroup applies u to a group in one transaction: its attributes
	// first, then the member changes in order. Either all of it commits or
	// none. It returns the group as it is afterwards and whether anything
	// changed.
	UpdateGroup(ctx context.Context, idp, groupID string, u GroupUpdate) (*Group, bool, error)
	ListMembers(ctx context.Context, idp, groupID string, p Page) ([]Member, error)
	// GroupsOf lists the ids of the groups a resource is a direct member of.
	GroupsOf(ctx context.Context, idp, memberID string) ([]string, error)
	// Memberships streams every membership of the IdP to fn (for plan).
	Memberships(ctx context.Context, idp string, fn func(groupID string, m Member) error) error

	// Revision is a number that grows with every SCIM write to the IdP; serve
	// watches it to schedule reconciles, across replicas.
	Revision(ctx context.Context, idp string) (int64, error)
}

// Token is a bearer token's record; the token itself is never kept.
type Token struct {
	ID      string
	IDP     string
	SHA256  string // hex
	Created time.Time
	// Description is free text given at creation.
	Description string
}

// TokenSum is how a bearer token is kept and checked: the SHA-256 of its
// text exactly as the IdP sends it after "Bearer ". It is the one
// definition `confsync token create` and serve's SCIM server share.
func TokenSum(token string) [sha256.Size]byte {
	return sha256.Sum256([]byte(token))
}

// TokenHash is TokenSum in the form Token.SHA256 and token_sha256 hold:
// lower-case hex.
func TokenHash(token string) string {
	sum := TokenSum(token)
	return hex.EncodeToString(sum[:])
}

// ParseTokenHash decodes a hex token hash (TokenHash's form); ok is false
// for anything that is not 64 hexadecimal digits.
func ParseTokenHash(hx string) (sum []byte, ok bool) {
	b, err := hex.DecodeString(hx)
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	return b, true
}

// Tokens keeps the hashes of bearer tokens created with `confsync token create`.
type Tokens interface {
	CreateToken(ctx context.Context, t *Token) error
	ListTokens(ctx context.Context, idp string) ([]*Token, error) // idp "" lists all
	RevokeToken(ctx context.Context, id string) error
	// TokenHashes lists the hashes valid for an IdP.
	TokenHashes(ctx context.Context, idp string) ([]string, error)
}

// MinuteCount is how many SCIM requests one IdP sent in one minute.
type MinuteCount struct {
	// Minute is the start of the minute, in UTC.
	Minute   time.Time
	IDP      string
	Requests int64
}

// RequestCounts keeps per-minute counts of SCIM requests for the operator
// page's plot. serve adds to them in batches; replicas add to the same
// rows, so the counts are the installation's.
type RequestCounts interface {
	// AddRequestCounts adds each count to its minute's counter in one
	// transaction. Minutes are truncated to the minute.
	AddRequestCounts(ctx context.Context, counts []MinuteCount) error
	// RequestCounts lists the counters of the minutes from since on,
	// oldest first, then by IdP.
	RequestCounts(ctx context.Context, since time.Time) ([]MinuteCount, error)
	// PruneRequestCounts deletes the counters of the minutes before before.
	PruneRequestCounts(ctx context.Context, before time.Time) error
}
