package plan

import (
	"fmt"
	"time"
)

// Action is what a Change does to its object.
type Action uint8

// The actions of a plan. Their order is not meaningful; Plan.Changes is
// already in a safe order.
const (
	ActionNone Action = iota
	// ActionCreate creates a user or a group.
	ActionCreate
	// ActionUpdate changes a user's attributes; Change.Attributes lists them.
	ActionUpdate
	// ActionAdopt starts managing an object that already exists in
	// Confluence (or moves its ownership to another IdP or username). It
	// changes nothing in Confluence, only the ownership state.
	ActionAdopt
	// ActionEnable re-activates a disabled user.
	ActionEnable
	// ActionAdd adds a user to a group.
	ActionAdd
	// ActionRemove removes a user from a group.
	ActionRemove
	// ActionDisable deactivates a user.
	ActionDisable
	// ActionDelete deletes a user or a group.
	ActionDelete
)

var actionNames = [...]string{"no-op", "create", "update", "adopt", "enable", "add", "remove", "disable", "delete"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", a)
}

// Symbol is the one-character mark the human view puts before a change:
// '+' for what appears, '~' for what changes in place, '-' for what goes.
func (a Action) Symbol() rune {
	switch a {
	case ActionCreate, ActionAdd, ActionEnable:
		return '+'
	case ActionUpdate, ActionAdopt:
		return '~'
	case ActionRemove, ActionDisable, ActionDelete:
		return '-'
	}
	return ' '
}

// MarshalText encodes the action by name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes an action name.
func (a *Action) UnmarshalText(b []byte) error {
	for i, n := range actionNames {
		if n == string(b) {
			*a = Action(i)
			return nil
		}
	}
	return fmt.Errorf("unknown action %q", b)
}

// Kind is the kind of object a Change is about.
type Kind uint8

// Object kinds.
const (
	KindUser Kind = iota + 1
	KindGroup
	KindMembership
)

var kindNames = [...]string{"", "user", "group", "membership"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// MarshalText encodes the kind by name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown object kind %q", b)
}

// UserValues are a user's attributes as confsync sees them.
type UserValues struct {
	DisplayName string `json:"display_name"`
	// Email is empty when Confluence hides it and confsync never set it.
	Email  string            `json:"email"`
	Active bool              `json:"active"`
	Custom map[string]string `json:"custom,omitempty"`
}

// AttributeChange is one attribute of an update.
type AttributeChange struct {
	// Name is "display_name", "email" or "custom.<name>".
	Name   string `json:"name"`
	Before string `json:"before"`
	After  string `json:"after"`
	// StateOnly is true for attributes Confluence cannot store (custom
	// attributes): the apply records them in the ownership state only.
	StateOnly bool `json:"state_only,omitempty"`
}

// Change is one action of a plan.
//
// Before and After are set for user changes only: Before is the user as it
// is now (nil for a create), After as it will be (nil for a delete). For an
// adopt, Before is nil and After the values confsync will record. Group and
// membership changes carry no values: the object is named by User and Group.
type Change struct {
	Action Action `json:"action"`
	Kind   Kind   `json:"kind"`
	// StateOnly is true for changes that write the ownership state only
	// (adopts, custom-attribute-only updates).
	StateOnly bool `json:"state_only,omitempty"`
	// User is the Confluence username (user and membership changes).
	User string `json:"user,omitempty"`
	// Group is the Confluence group name (group and membership changes).
	Group string `json:"group,omitempty"`
	// IDP is the IdP on whose behalf the change is made.
	IDP string `json:"idp,omitempty"`
	// SourceID is the IdP's stable id of the user (user changes).
	SourceID string `json:"source_id,omitempty"`
	// Reason says why, in words an admin reads.
	Reason     string            `json:"reason"`
	Before     *UserValues       `json:"before,omitempty"`
	After      *UserValues       `json:"after,omitempty"`
	Attributes []AttributeChange `json:"attributes,omitempty"`
	// Groups are, on a user delete, the Confluence groups the user is in
	// (deleting the account drops them), so that a rollback of the run
	// can restore them.
	Groups []string `json:"groups,omitempty"`
	// PreviousUsername is set on an adopt that follows a rename done in
	// Confluence: the ownership of the old name moves to the new one.
	PreviousUsername string `json:"previous_username,omitempty"`
	// DependsOn lists the indexes in Plan.Changes of the changes that must
	// succeed before this one runs.
	DependsOn []int `json:"depends_on,omitempty"`
}

// Object names the change's object: "user jdoe", "group devs",
// "membership jdoe -> devs".
func (c *Change) Object() string {
	switch c.Kind {
	case KindUser:
		return "user " + c.User
	case KindGroup:
		return "group " + c.Group
	case KindMembership:
		return "membership " + c.User + " -> " + c.Group
	}
	return "?"
}

// Severity grades a Notice.
type Severity string

// Notice severities.
const (
	// SeverityInfo: something the admin may want to know (an adoption
	// conflict resolved by priority, a protected object left alone).
	SeverityInfo Severity = "info"
	// SeverityWarning: something confsync could not do (an invalid
	// username, a pending rename, an IdP that has delivered nothing yet).
	SeverityWarning Severity = "warning"
	// SeverityError: an IdP left out because its read failed, was
	// incomplete or shrank past the source-health guard. The plan still
	// holds the changes of the other IdPs, but it does not describe the
	// whole desired state: plan and apply exit 1.
	SeverityError Severity = "error"
)

// Notice kinds.
const (
	NoticeMapping   = "mapping"   // an IdP user that cannot become a Confluence user
	NoticeRename    = "rename"    // a username changed in the IdP
	NoticeConflict  = "conflict"  // two IdPs claim one user
	NoticeProtected = "protected" // a protected object the mapping reaches
	NoticeGroup     = "group"     // a mapped group that cannot be used
	NoticeSource    = "source"    // an IdP left out of the plan
	NoticeSkipped   = "skipped"   // a change the IdP's settings forbid
)

// Notice is something the plan tells the admin without an action.
type Notice struct {
	Severity Severity `json:"severity"`
	Kind     string   `json:"kind"`
	IDP      string   `json:"idp,omitempty"`
	// Subject names the object: "user jdoe", "group devs", "idp entra".
	Subject string `json:"subject"`
	Summary string `json:"summary"`
	Detail  string `json:"detail,omitempty"`
	// LeftOut marks a notice about an IdP user or group left out of the
	// desired state (it cannot become a Confluence object).
	LeftOut bool `json:"left_out,omitempty"`
}

// Causes of an IdP left out of a plan (SkippedIDP.Cause).
const (
	// CauseFailed: the source's read failed (a wrong bind password, an
	// unreachable server).
	CauseFailed = "read_failed"
	// CauseIncomplete: the read did not complete (a size or time limit, a
	// referral, a dropped connection); see ErrIncompleteRead.
	CauseIncomplete = "read_incomplete"
	// CauseShrank: the read returned far fewer objects than the IdP's last
	// good read (the source-health guard), or none at all after one.
	CauseShrank = "shrank"
	// CauseEmpty: the IdP has delivered nothing yet (a fresh SCIM IdP); a
	// warning, not an error.
	CauseEmpty = "empty"
	// CauseNoSource: no source is configured for it in this process.
	CauseNoSource = "no_source"
)

// SkippedIDP is an IdP whose changes the plan leaves out, and why.
type SkippedIDP struct {
	IDP    string `json:"idp"`
	Reason string `json:"reason"`
	// Cause is one of the Cause constants; empty in plans saved before it
	// existed.
	Cause string `json:"cause,omitempty"`
	// Severity is SeverityError for a failed, incomplete or shrunken read,
	// SeverityWarning for an IdP that has delivered nothing yet.
	Severity Severity `json:"severity,omitempty"`
}

// Failed reports whether the IdP was left out because of a failure (not
// because it has delivered nothing yet).
func (s SkippedIDP) Failed() bool { return s.Severity == SeverityError }

// Plan is the difference between the desired state and Confluence, in a
// safe order, with what confsync needs to refuse it once stale.
type Plan struct {
	// ID names the plan; the audit log records it with the apply of a
	// saved plan, so that applying the same file twice is recognised.
	// Empty in plans saved before it existed.
	ID      string    `json:"id,omitempty"`
	Created time.Time `json:"created"`
	// IDPs are the IdPs that took part in the plan (read and healthy).
	IDPs []string `json:"idps"`
	// IDPFilter is the --idp selection, empty for all.
	IDPFilter []string `json:"idp_filter,omitempty"`
	// Kind says what the plan read: RunFull (everything), RunTargeted
	// (the identities a Scope named) or RunCached (the recorded
	// Confluence state, plan --refresh=false). Empty in plans saved
	// before it existed, which read everything.
	Kind RunKind `json:"kind,omitempty"`
	// ConfluenceReadAt, for a RunCached plan, is when the recorded
	// Confluence state was last read in full.
	ConfluenceReadAt time.Time `json:"confluence_read_at,omitzero"`
	// MappedGroups are the Confluence groups the IdPs map onto and the
	// IdP owning each, for the targeted plans that follow (Scope.Mapped):
	// all of them for a full plan that read every IdP, those it saw for a
	// targeted plan (a group created with its members); nil otherwise. It
	// is not saved with the plan.
	MappedGroups map[string]string `json:"-"`
	// Skipped lists the IdPs the source-health guard left out.
	Skipped []SkippedIDP `json:"skipped,omitempty"`
	Changes []Change     `json:"changes"`
	Notices []Notice     `json:"notices,omitempty"`
	// Reads are the counts of this plan's successful source reads; they
	// become the health guard's reference once the plan is applied (or at
	// once when it has no changes).
	Reads map[string]SourceCounts `json:"reads,omitempty"`
	// ConfigHash is config.Config.Hash of the configuration planned from.
	ConfigHash string `json:"config_hash"`
	// DesiredFingerprint digests the desired state; ActualFingerprint
	// digests Confluence's state and the ownership state. Applying a saved
	// plan is refused when either changed since.
	DesiredFingerprint string `json:"desired_fingerprint"`
	ActualFingerprint  string `json:"actual_fingerprint"`
	// ConfluenceFingerprint and StateFingerprint digest the two halves of
	// ActualFingerprint alone, so that a stale plan can say which side
	// changed. Plans saved before they existed have them empty.
	ConfluenceFingerprint string `json:"confluence_fingerprint,omitempty"`
	StateFingerprint      string `json:"state_fingerprint,omitempty"`
	// Impact is what the plan's removals take away (plan/impact.go); nil
	// when the plan removes nothing or the target cannot read permissions.
	Impact *PermissionImpact `json:"permission_impact,omitempty"`
	// RollbackOf is the run this plan reverses (confsync rollback); apply
	// FILE then recomputes the rollback of that run, not a sync.
	RollbackOf string `json:"rollback_of,omitempty"`
	// AllowMassChanges records that the safety thresholds were waived.
	AllowMassChanges bool `json:"allow_mass_changes,omitempty"`
}

// Empty reports whether the plan has no changes.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Summary counts a plan's changes by kind and action.
type Summary struct {
	UsersCreate, UsersUpdate, UsersAdopt, UsersEnable, UsersDisable, UsersDelete int
	GroupsCreate, GroupsAdopt, GroupsDelete                                      int
	MembershipsAdd, MembershipsAdopt, MembershipsRemove                          int
}

// Summary counts the plan's changes.
func (p *Plan) Summary() Summary {
	var s Summary
	for i := range p.Changes {
		c := &p.Changes[i]
		switch c.Kind {
		case KindUser:
			switch c.Action {
			case ActionCreate:
				s.UsersCreate++
			case ActionUpdate:
				s.UsersUpdate++
			case ActionAdopt:
				s.UsersAdopt++
			case ActionEnable:
				s.UsersEnable++
			case ActionDisable:
				s.UsersDisable++
			case ActionDelete:
				s.UsersDelete++
			}
		case KindGroup:
			switch c.Action {
			case ActionCreate:
				s.GroupsCreate++
			case ActionAdopt:
				s.GroupsAdopt++
			case ActionDelete:
				s.GroupsDelete++
			}
		case KindMembership:
			switch c.Action {
			case ActionAdd:
				s.MembershipsAdd++
			case ActionAdopt:
				s.MembershipsAdopt++
			case ActionRemove:
				s.MembershipsRemove++
			}
		}
	}
	return s
}
