package plan

import (
	"context"
	"errors"
)

// Target is the Confluence instance a plan is applied to. Names passed to
// it are lower-case; Confluence matches them case-insensitively.
type Target interface {
	// Read returns what Confluence holds now: every user (disabled ones
	// included), every group and every membership.
	Read(ctx context.Context) (*Actual, error)

	CreateUser(ctx context.Context, u NewUser) error
	UpdateUser(ctx context.Context, username string, u UserDetails) error
	DisableUser(ctx context.Context, username string) error
	EnableUser(ctx context.Context, username string) error
	// DeleteUser deletes the user and waits until Confluence has finished.
	DeleteUser(ctx context.Context, username string) error
	CreateGroup(ctx context.Context, name string) error
	DeleteGroup(ctx context.Context, name string) error
	AddMember(ctx context.Context, username, group string) error
	RemoveMember(ctx context.Context, username, group string) error
}

// ErrExists is returned (wrapped) by Target's create calls when the object
// already exists; the engine adopts it instead of failing.
var ErrExists = errors.New("already exists")

// ErrNotFound is returned (wrapped) by Target calls on a user or group that
// does not exist.
var ErrNotFound = errors.New("not found")

// Actual is Confluence's state as read.
type Actual struct {
	// Caller is the lower-case username of the account confsync calls
	// Confluence with (empty when unknown). It is never changed: disabling
	// it or removing its groups would lock confsync out.
	Caller string
	Users  []ActualUser
	Groups []ActualGroup
}

// ActualUser is a Confluence user.
type ActualUser struct {
	Username    string // lower-case
	Key         string // Confluence userKey
	DisplayName string
	// Email is empty when Confluence hides it; the engine then compares
	// against the last applied value in the ownership state.
	Email  string
	Active bool
}

// ActualGroup is a Confluence group and its direct members.
type ActualGroup struct {
	Name    string   // lower-case
	Members []string // usernames, lower-case
}

// NewUser is a user to create.
type NewUser struct {
	Username    string
	DisplayName string
	Email       string
}

// UserDetails are the user fields Confluence lets confsync change.
type UserDetails struct {
	DisplayName string
	Email       string
}
