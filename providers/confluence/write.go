package confluence

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/confsync/confsync/plan"
)

// userCreation is UserDetailsForCreation.
type userCreation struct {
	UserName       string  `json:"userName"`
	FullName       string  `json:"fullName"`
	Email          string  `json:"email"`
	Password       *string `json:"password,omitempty"`
	NotifyViaEmail bool    `json:"notifyViaEmail"`
}

// CreateUser creates a user. By default Confluence emails the user an
// invitation (notifyViaEmail); with Options.NoEmailNotification the user
// gets a strong random password that is not kept. A user that already
// exists is an error matching plan.ErrExists, unless it exists because an
// earlier attempt of this very call took effect.
func (c *Client) CreateUser(ctx context.Context, u plan.NewUser) error {
	if err := ValidateUsername(u.Username); err != nil {
		return fmt.Errorf("confluence: create user: %w", err)
	}
	body := userCreation{UserName: u.Username, FullName: u.DisplayName, Email: u.Email, NotifyViaEmail: true}
	if c.opts.NoEmailNotification {
		pw, err := randomPassword()
		if err != nil {
			return fmt.Errorf("confluence: create user %q: %w", u.Username, err)
		}
		body.Password, body.NotifyViaEmail = &pw, false
	}
	res, err := c.do(ctx, call{
		ep:   epCreateUser,
		body: body,
		recheck: func(ctx context.Context) (bool, error) {
			return c.exists(ctx, func(ctx context.Context) error { _, err := c.GetUser(ctx, u.Username); return err })
		},
	})
	if err != nil && res.ambiguous && errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// exists runs a read and reports whether its object exists.
func (c *Client) exists(ctx context.Context, get func(context.Context) error) (bool, error) {
	switch err := get(ctx); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// randomPassword returns 192 random bits, base64url-encoded, with a
// suffix that satisfies character-class password policies.
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b) + "!aZ9", nil
}

// userUpdate is UserDetailsForUpdate.
type userUpdate struct {
	FullName string `json:"fullName"`
	Email    string `json:"email"`
}

// UpdateUser sets a user's full name and email.
func (c *Client) UpdateUser(ctx context.Context, username string, u plan.UserDetails) error {
	_, err := c.do(ctx, call{ep: epUpdateUser, args: []string{username}, body: userUpdate{FullName: u.DisplayName, Email: u.Email}})
	return err
}

// DisableUser deactivates a user; disabling a disabled user is a no-op.
func (c *Client) DisableUser(ctx context.Context, username string) error {
	_, err := c.do(ctx, call{ep: epDisableUser, args: []string{username}})
	return err
}

// EnableUser reactivates a user; enabling an active user is a no-op.
func (c *Client) EnableUser(ctx context.Context, username string) error {
	_, err := c.do(ctx, call{ep: epEnableUser, args: []string{username}})
	return err
}

// longTaskSubmission is Confluence's 202 answer to a deletion.
type longTaskSubmission struct {
	ID string `json:"id"`
}

// longTaskStatus is LongTaskStatus.
type longTaskStatus struct {
	ID                 string `json:"id"`
	PercentageComplete int    `json:"percentageComplete"`
	Successful         bool   `json:"successful"`
	Finished           *bool  `json:"finished"` // not in 10.0.3's schema; read when present
	Messages           []struct {
		Translation string `json:"translation"`
		Key         string `json:"key"`
	} `json:"messages"`
}

func (s longTaskStatus) done() bool {
	if s.Finished != nil {
		return *s.Finished
	}
	return s.PercentageComplete >= 100
}

// DeleteUser deletes a user and waits for Confluence's long task to end;
// a task that ends unsuccessfully is an error.
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	var sub longTaskSubmission
	res, err := c.do(ctx, call{ep: epDeleteUser, args: []string{username}, out: &sub})
	if err != nil {
		if res.ambiguous && errors.Is(err, ErrNotFound) {
			return nil // an earlier attempt deleted it
		}
		return err
	}
	if res.status != http.StatusAccepted || sub.ID == "" {
		return nil // answered synchronously
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.LongTaskTimeout)
	defer cancel()
	for {
		var st longTaskStatus
		_, err := c.do(ctx, call{ep: epLongTask, args: []string{sub.ID}, out: &st})
		switch {
		case errors.Is(err, ErrNotFound):
			// Finished tasks may be forgotten; the user's absence settles it.
			stillThere, gerr := c.exists(ctx, func(ctx context.Context) error { _, err := c.GetUser(ctx, username); return err })
			if gerr != nil {
				return fmt.Errorf("confluence: delete user %q: task %s vanished: %w", username, sub.ID, gerr)
			}
			if stillThere {
				return fmt.Errorf("confluence: delete user %q: task %s vanished and the user still exists", username, sub.ID)
			}
			return nil
		case err != nil:
			return fmt.Errorf("confluence: delete user %q: polling task %s: %w", username, sub.ID, err)
		}
		if st.done() {
			if !st.Successful {
				var msgs []string
				for _, m := range st.Messages {
					if m.Translation != "" {
						msgs = append(msgs, m.Translation)
					} else if m.Key != "" {
						msgs = append(msgs, m.Key)
					}
				}
				return fmt.Errorf("confluence: delete user %q: task %s failed: %s", username, sub.ID, strings.Join(msgs, "; "))
			}
			return nil
		}
		if err := sleep(ctx, c.opts.LongTaskPollInterval); err != nil {
			return fmt.Errorf("confluence: delete user %q: waiting for task %s: %w", username, sub.ID, err)
		}
	}
}

// CreateGroup creates a group. A group that already exists is an error
// matching plan.ErrExists, unless an earlier attempt of this call made it.
func (c *Client) CreateGroup(ctx context.Context, name string) error {
	if err := ValidateGroupName(name); err != nil {
		return fmt.Errorf("confluence: create group: %w", err)
	}
	res, err := c.do(ctx, call{
		ep:   epCreateGroup,
		body: map[string]string{"type": "group", "name": name},
		recheck: func(ctx context.Context) (bool, error) {
			return c.exists(ctx, func(ctx context.Context) error {
				_, err := c.do(ctx, call{ep: epGetGroup, args: []string{name}})
				return err
			})
		},
	})
	if err != nil && res.ambiguous && errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	res, err := c.do(ctx, call{ep: epDeleteGroup, args: []string{name}})
	if err != nil && res.ambiguous && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// AddMember adds a user to a group; it is a no-op for a member.
func (c *Client) AddMember(ctx context.Context, username, group string) error {
	_, err := c.do(ctx, call{ep: epAddMember, args: []string{username, group}})
	return err
}

// RemoveMember removes a user from a group; it is a no-op for a non-member.
func (c *Client) RemoveMember(ctx context.Context, username, group string) error {
	_, err := c.do(ctx, call{ep: epRemoveMember, args: []string{username, group}})
	return err
}
