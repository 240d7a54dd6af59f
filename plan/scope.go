package plan

import (
	"context"
	"time"
)

// A targeted plan is the same computation as a full one over a smaller
// read: only the identities some SCIM writes touched are read from the
// IdPs' sources, from Confluence and from the ownership state, and only
// they are diffed. The interfaces below are what a targeted plan needs
// beyond a full one; Compute falls back to a full plan when an input does
// not implement them.

// Scope names the identities a targeted plan covers, per IdP, by the IdP's
// stable ids (SCIM resource ids).
type Scope struct {
	// IDPs maps an IdP name to what its writes touched.
	IDPs map[string]Touched
	// Mapped are the Confluence groups the IdPs mapped onto in the last
	// full plan, with the IdP owning each (Plan.MappedGroups). The set
	// changes only with a group renamed, created or deleted in an IdP,
	// which needs a full plan (Touched.Full); a targeted plan uses it to
	// treat the touched users' other groups as a full plan would. Compute
	// returns ErrNotTargetable when it is nil.
	Mapped map[string]string
}

// Touched is what the SCIM writes to one IdP touched since its last
// covered revision.
type Touched struct {
	// Users are the ids of users written (created, replaced, patched,
	// deleted) or added to or removed from a group.
	Users []string
	// Groups are the ids of groups whose members changed as a whole (a
	// group created with members, a member list replaced, a nested group
	// added or removed): every user under them is in scope.
	Groups []string
	// Full is true when a write needs a full plan: a group created,
	// renamed or deleted (which changes what the IdP maps onto), or too
	// many ids to list.
	Full bool
	// Through is the IdP revision the touches go up to; covering it marks
	// them reconciled.
	Through int64
}

// ChangeJournal records which identities each SCIM write touched, in the
// same transaction as the write, and what runs have covered. A store
// restart loses nothing pending.
type ChangeJournal interface {
	// Pending returns what the writes to each IdP touched after its
	// covered revision, at most limit ids per IdP (Touched.Full set when
	// there are more). IdPs with nothing pending are absent.
	Pending(ctx context.Context, limit int) (map[string]Touched, error)
	// Cover marks the IdP's writes up to revision as reconciled; a lower
	// revision than the covered one changes nothing.
	Cover(ctx context.Context, idp string, revision int64) error
}

// ScopedSource is a Source that can read only some of its identities.
type ScopedSource interface {
	Source
	// ReadScope returns the users t names (absent when deleted), the
	// users under t's groups, and every group any of them belongs to,
	// nested groups flattened, with MemberIDs restricted to the users
	// returned. Counts are the IdP's whole population, for the
	// source-health guard.
	ReadScope(ctx context.Context, req ReadRequest, t Touched) (*Snapshot, SourceCounts, error)
}

// TargetScope names what a targeted plan reads from Confluence.
type TargetScope struct {
	// Users are lower-case usernames: each one's account (absent when it
	// does not exist) and the groups it is a direct member of.
	Users []string
	// Groups are lower-case group names whose existence is needed.
	Groups []string
}

// ScopedReader is a Target that can read only some users and groups.
type ScopedReader interface {
	// ReadScope returns Caller, the users of s that exist, and as Groups
	// each group of s.Groups that exists plus each group a returned user
	// is a direct member of, with Members restricted to the returned
	// users. It uses only calls Atlassian's API description has.
	ReadScope(ctx context.Context, s TargetScope) (*Actual, error)
}

// RequestCounter is a Target that counts the Confluence requests it sent,
// for the runs' request figures.
type RequestCounter interface {
	// Requests returns the number of HTTP requests sent so far.
	Requests() int64
}

// ScopedOwnership is a StateStore that can read part of the ownership
// state and count all of it, so that a targeted plan does not load a
// million memberships.
type ScopedOwnership interface {
	// OwnershipOf returns the managed users whose username is in
	// usernames or whose (IDP, SourceID) is in sourceIDs (keyed by IdP),
	// the managed groups named in groups, and the managed memberships of
	// the returned users and of usernames.
	OwnershipOf(ctx context.Context, usernames []string, sourceIDs map[string][]string, groups []string) (*Ownership, error)
	// OwnershipCounts counts everything managed.
	OwnershipCounts(ctx context.Context) (OwnershipCounts, error)
}

// OwnershipCounts are the sizes of the ownership state.
type OwnershipCounts struct {
	Users, Groups, Memberships int
}

// ConfluenceCache keeps the Confluence state recorded at the last full
// read, kept up to date by every apply and targeted read, for
// `confsync plan --refresh=false`.
type ConfluenceCache interface {
	// ReplaceConfluenceState records a full read.
	ReplaceConfluenceState(ctx context.Context, a *Actual, at time.Time) error
	// EditConfluenceState applies edits to the recorded state; without a
	// recorded full read it does nothing.
	EditConfluenceState(ctx context.Context, e ConfluenceEdits, at time.Time) error
	// ConfluenceState returns the recorded state and when it was last
	// read in full (false when never).
	ConfluenceState(ctx context.Context) (*Actual, time.Time, bool, error)
}

// ConfluenceEdits are changes to the recorded Confluence state.
type ConfluenceEdits struct {
	// PutUsers adds or replaces users (by Username).
	PutUsers []ActualUser
	// DeleteUsers removes users and their memberships.
	DeleteUsers []string
	// PutGroups adds groups (existing ones are kept with their members).
	PutGroups []string
	// DeleteGroups removes groups and their memberships.
	DeleteGroups  []string
	AddMembers    []MemberPair
	RemoveMembers []MemberPair
}

// MemberPair is one membership, lower-case names.
type MemberPair struct{ Username, Group string }

// RunKind says how much a run read.
type RunKind string

// The kinds of runs.
const (
	// RunFull read every IdP and all of Confluence.
	RunFull RunKind = "full"
	// RunTargeted read only the identities SCIM writes touched.
	RunTargeted RunKind = "targeted"
	// RunCached planned against the recorded Confluence state
	// (plan --refresh=false).
	RunCached RunKind = "cached"
)
