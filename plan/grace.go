package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/confsync/confsync/config"
)

// NoticeGrace is the kind of the notice listing a deprovisioned user whose
// deletion waits for users.delete_after.
const NoticeGrace = "grace"

// deprovisionWithGrace is deprovision for an IdP with users.delete_after:
// an active user is disabled now; a disabled one is deleted once it has
// been deprovisioned for the grace period, and until then the plan lists
// the date its deletion comes due.
//
// The period runs from ManagedUser.Disabled, the time the apply that
// disabled the user recorded; for a user disabled before that was recorded
// (or outside confsync while managed) it runs from the user's last record.
func (d *diff) deprovisionWithGrace(name, idpName, sourceID string, idp *config.IDP, a *ActualUser, reason string) {
	period := idp.Users.DeleteAfter
	before := userValues(a.DisplayName, a.Email, a.Active, nil)
	if a.Active {
		d.leaving[name] = true
		after := *before
		after.Active = false
		due := d.now.Add(period)
		d.disables = append(d.disables, Change{Action: ActionDisable, Kind: KindUser, User: name, IDP: idpName, SourceID: sourceID,
			Before: before, After: &after,
			Reason: fmt.Sprintf("%s; deleted on %s if still deprovisioned (users.delete_after = %s)", reason, day(due), formatPeriod(period))})
		return
	}
	var since time.Time
	if m := d.managedUsers[name]; m != nil {
		since = m.Disabled
		if since.IsZero() {
			since = m.Updated
		}
	}
	if since.IsZero() {
		since = d.now
	}
	due := since.Add(period)
	if !d.now.Before(due) {
		d.leaving[name] = true
		d.userDeletes = append(d.userDeletes, Change{Action: ActionDelete, Kind: KindUser, User: name, IDP: idpName, SourceID: sourceID,
			Before: before, Reason: fmt.Sprintf("%s; deprovisioned since %s, users.delete_after = %s came due on %s",
				reason, day(since), formatPeriod(period), day(due))})
		return
	}
	d.notice(Notice{Severity: SeverityInfo, Kind: NoticeGrace, IDP: idpName, Subject: "user " + name,
		Summary: fmt.Sprintf("deprovisioned since %s; deleted on %s if still deprovisioned (users.delete_after = %s)",
			day(since), day(due), formatPeriod(period)),
		Detail: "A user the IdP has again (or re-activates) before then is enabled with its memberships."})
}

// day renders a time as an RFC 3339 instant in UTC, to the minute.
func day(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// formatPeriod writes a grace period as the configuration does: whole days
// as "30d".
func formatPeriod(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
}
