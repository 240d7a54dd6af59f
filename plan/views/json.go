package views

import (
	"encoding/json"
	"io"
	"time"

	"github.com/confsync/confsync/plan"
)

// JSONFormatVersion is the version of the JSON plan form. Scripts depend
// on it: fields are only added within a major version.
const JSONFormatVersion = "1.1"

// JSONPlan is the JSON form of a plan.
type JSONPlan struct {
	FormatVersion string `json:"format_version"`
	// ID names the plan (1.1).
	ID                 string            `json:"id,omitempty"`
	Created            time.Time         `json:"created"`
	ConfigHash         string            `json:"config_hash"`
	DesiredFingerprint string            `json:"desired_fingerprint"`
	ActualFingerprint  string            `json:"actual_fingerprint"`
	IDPs               []string          `json:"idps"`
	SkippedIDPs        []plan.SkippedIDP `json:"skipped_idps"`
	Summary            JSONSummary       `json:"summary"`
	// SummaryLine is the human summary, for chat notifications.
	SummaryLine string        `json:"summary_line"`
	Changes     []JSONChange  `json:"changes"`
	Notices     []plan.Notice `json:"notices"`
	// LeftOut lists what the plan left out (1.1): IdPs whose read failed,
	// was incomplete, shrank or delivered nothing, and users and groups
	// that cannot become Confluence objects. Complete is true when it is
	// empty: only then does the plan describe every IdP's desired state.
	LeftOut  []plan.LeftOut `json:"left_out"`
	Complete bool           `json:"complete"`
	// PermissionImpact is what the plan's removals take away; absent when
	// it was not computed.
	PermissionImpact *plan.PermissionImpact `json:"permission_impact,omitempty"`
	// RollbackOf is the run a rollback plan reverses (1.1, added without a
	// version change: absent for other plans).
	RollbackOf string `json:"rollback_of,omitempty"`
}

// JSONSummary counts the changes.
type JSONSummary struct {
	Users       map[string]int `json:"users"`
	Groups      map[string]int `json:"groups"`
	Memberships map[string]int `json:"memberships"`
}

// JSONChange is one change. Actions is a list (of one action today) so
// that a combined change can be expressed later without a new version.
type JSONChange struct {
	Object     string                 `json:"object"`
	Kind       string                 `json:"kind"`
	User       string                 `json:"user,omitempty"`
	Group      string                 `json:"group,omitempty"`
	Actions    []string               `json:"actions"`
	Before     *plan.UserValues       `json:"before"`
	After      *plan.UserValues       `json:"after"`
	Attributes []plan.AttributeChange `json:"attributes,omitempty"`
	Reason     string                 `json:"reason"`
	IDP        string                 `json:"idp"`
	SourceID   string                 `json:"source_id,omitempty"`
	// StateOnly is true when the change writes confsync's state only.
	StateOnly bool `json:"state_only"`
}

// ToJSON converts a plan to its JSON form.
func ToJSON(p *plan.Plan) *JSONPlan {
	s := p.Summary()
	j := &JSONPlan{
		FormatVersion:      JSONFormatVersion,
		ID:                 p.ID,
		RollbackOf:         p.RollbackOf,
		Created:            p.Created,
		ConfigHash:         p.ConfigHash,
		DesiredFingerprint: p.DesiredFingerprint,
		ActualFingerprint:  p.ActualFingerprint,
		IDPs:               nonNil(p.IDPs),
		SkippedIDPs:        nonNil(p.Skipped),
		Summary: JSONSummary{
			Users: map[string]int{"create": s.UsersCreate, "update": s.UsersUpdate, "adopt": s.UsersAdopt,
				"enable": s.UsersEnable, "disable": s.UsersDisable, "delete": s.UsersDelete},
			Groups:      map[string]int{"create": s.GroupsCreate, "adopt": s.GroupsAdopt, "delete": s.GroupsDelete},
			Memberships: map[string]int{"add": s.MembershipsAdd, "remove": s.MembershipsRemove, "adopt": s.MembershipsAdopt},
		},
		SummaryLine:      SummaryLine(p),
		Changes:          make([]JSONChange, 0, len(p.Changes)),
		Notices:          nonNil(p.Notices),
		LeftOut:          nonNil(p.LeftOut()),
		PermissionImpact: p.Impact,
	}
	j.Complete = len(j.LeftOut) == 0
	for i := range p.Changes {
		c := &p.Changes[i]
		j.Changes = append(j.Changes, JSONChange{
			Object: c.Object(), Kind: c.Kind.String(), User: c.User, Group: c.Group,
			Actions: []string{c.Action.String()}, Before: c.Before, After: c.After, Attributes: c.Attributes,
			Reason: c.Reason, IDP: c.IDP, SourceID: c.SourceID, StateOnly: c.StateOnly,
		})
	}
	return j
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// JSON writes the plan's JSON form, indented.
func JSON(w io.Writer, p *plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ToJSON(p))
}
