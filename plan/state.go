package plan

import (
	"context"
	"errors"
	"time"
)

// StateStore keeps what confsync owns in Confluence, like Terraform's
// state, plus the apply lock, source-read history and the audit log.
type StateStore interface {
	// Ownership returns everything confsync manages.
	Ownership(ctx context.Context) (*Ownership, error)
	// RecordUser records (or replaces) a managed user.
	RecordUser(ctx context.Context, u ManagedUser) error
	// ForgetUser forgets a managed user and its managed memberships.
	ForgetUser(ctx context.Context, username string) error
	RecordGroup(ctx context.Context, g ManagedGroup) error
	ForgetGroup(ctx context.Context, name string) error
	RecordMembership(ctx context.Context, m ManagedMembership) error
	ForgetMembership(ctx context.Context, username, group string) error

	// LastRead returns the object counts of the last successful read of an
	// IdP (zero values and false when there was none).
	LastRead(ctx context.Context, idp string) (SourceCounts, bool, error)
	// RecordRead stores the counts of a successful read.
	RecordRead(ctx context.Context, idp string, c SourceCounts) error
	// RecordHealth stores what a plan learned about an IdP's source: a
	// complete read replaces the last complete read and the left-out
	// count and marks the IdP healthy; a failure replaces the last
	// failure and marks it unhealthy, keeping the last complete read.
	RecordHealth(ctx context.Context, idp string, r HealthReport) error
	// Health returns an IdP's recorded health (false when none).
	Health(ctx context.Context, idp string) (SourceHealth, bool, error)

	// AcquireLock takes the apply lock for holder until ttl passes; it
	// returns a *LockedError naming the current holder when someone else
	// holds an unexpired lock. Taking it again as the same holder renews it.
	AcquireLock(ctx context.Context, holder string, ttl time.Duration) error
	// ReleaseLock releases the lock if holder holds it.
	ReleaseLock(ctx context.Context, holder string) error
	// ForceUnlock releases the lock whoever holds it.
	ForceUnlock(ctx context.Context) error
	// Lock returns the current lock, if any.
	Lock(ctx context.Context) (*LockInfo, error)

	// AppendRun adds an apply to the audit log.
	AppendRun(ctx context.Context, r Run) error
	// Runs lists the last limit applies, newest first.
	Runs(ctx context.Context, limit int) ([]Run, error)
	// RunOfPlan returns the newest run that applied the saved plan with
	// this ID (Outcome applied or partial), without its actions; nil when
	// there is none.
	RunOfPlan(ctx context.Context, planID string) (*Run, error)
}

// Ownership is everything confsync manages in Confluence.
type Ownership struct {
	Users       []ManagedUser
	Groups      []ManagedGroup
	Memberships []ManagedMembership
}

// ManagedUser is a Confluence user confsync manages.
type ManagedUser struct {
	Username string // lower-case Confluence username
	IDP      string
	// SourceID is the IdP's stable id of the person.
	SourceID string
	// The last applied values of what Confluence may not report back.
	DisplayName string
	Email       string
	Custom      map[string]string
	Active      bool
	// Adopted is true when the user existed before confsync managed it.
	Adopted bool
	Updated time.Time
	// Disabled is when confsync disabled the user (zero for an active
	// user, or when unknown). RecordUser keeps the stored time when it is
	// given a zero Disabled for a user that stays inactive, and clears it
	// when the user is recorded active; users.delete_after counts from it.
	Disabled time.Time
}

// ManagedGroup is a Confluence group confsync manages.
type ManagedGroup struct {
	Name    string // lower-case
	IDP     string
	Created bool // created by confsync (false: adopted)
	Updated time.Time
}

// ManagedMembership is a membership confsync added or adopted.
type ManagedMembership struct {
	Username string
	Group    string
	IDP      string
	Updated  time.Time
}

// SourceCounts are the sizes of one read of an IdP.
type SourceCounts struct {
	Users  int
	Groups int
	At     time.Time
}

// LockInfo describes the apply lock.
type LockInfo struct {
	Holder  string
	Expires time.Time
}

// LockedError is returned by AcquireLock when another holder has the lock.
type LockedError struct{ Lock LockInfo }

func (e *LockedError) Error() string {
	return "the apply lock is held by " + e.Lock.Holder + " until " + e.Lock.Expires.UTC().Format(time.RFC3339) +
		"; if that run is dead, release it with confsync force-unlock"
}

// ErrLocked matches a *LockedError with errors.Is.
var ErrLocked = errors.New("locked")

// Is makes errors.Is(err, ErrLocked) true for a *LockedError.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Run is one apply, as kept in the audit log.
type Run struct {
	ID       string
	Started  time.Time
	Finished time.Time
	// Trigger says what started it (TriggerCLI, TriggerAuto,
	// TriggerReconcile).
	Trigger Trigger
	// Outcome is how it ended (OutcomeApplied, OutcomePartial,
	// OutcomeRefused, OutcomeError).
	Outcome Outcome
	Message string
	// PlanID is the Plan.ID of the plan the run applied ("" for a run
	// that applied nothing).
	PlanID string
	// Kind says how much the run read (RunFull, RunTargeted, RunCached;
	// "" for runs recorded before it was kept, and for runs that read
	// nothing).
	Kind RunKind
	// ConfluenceRequests is the number of HTTP requests the run sent to
	// Confluence, reads and writes (0 when unknown).
	ConfluenceRequests int64
	Actions            []RunAction
}

// RunAction is one action of an apply and its result.
type RunAction struct {
	Action string // as in Change.Action's String
	Object string // "user jdoe", "membership jdoe -> devs"
	IDP    string
	Error  string // "" on success
	// Change is the change as planned: its Before and After values for a
	// user, the names for a group or membership (DependsOn is dropped).
	// It is what a run changed, kept so that the run can be reviewed and
	// reversed. Nil for runs recorded before it was kept.
	Change *Change
}
