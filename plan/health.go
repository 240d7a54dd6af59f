package plan

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrIncompleteRead is wrapped by a Source's error when its read did not
// cover the whole IdP (a size or time limit, a referral not followed, a
// dropped connection, a page that failed after its retries): the plan then
// names the cause CauseIncomplete and leaves the IdP out, so a partial read
// never deprovisions anybody.
var ErrIncompleteRead = errors.New("the directory read is incomplete")

// LeftOut is something a plan leaves out of the desired state: an IdP
// (its read failed, was incomplete, shrank past the source-health guard,
// or delivered nothing yet), or one user or group of an IdP that cannot
// become a Confluence object. A plan with anything left out does not
// describe every IdP's desired state, so it never says Confluence matches
// it.
type LeftOut struct {
	IDP string `json:"idp"`
	// Kind is "idp", "user" or "group".
	Kind string `json:"kind"`
	// Subject names what was left out: "idp corp", "idp user jdoe",
	// "group bad,name".
	Subject string `json:"subject"`
	Reason  string `json:"reason"`
	// Cause is the SkippedIDP cause for kind "idp", empty otherwise.
	Cause    string   `json:"cause,omitempty"`
	Severity Severity `json:"severity"`
}

// LeftOut lists what the plan leaves out: the IdPs first, in the plan's
// order, then the users and groups its notices name.
func (p *Plan) LeftOut() []LeftOut {
	var out []LeftOut
	for _, s := range p.Skipped {
		sev := s.Severity
		if sev == "" {
			sev = SeverityWarning
		}
		out = append(out, LeftOut{IDP: s.IDP, Kind: "idp", Subject: "idp " + s.IDP, Reason: s.Reason, Cause: s.Cause, Severity: sev})
	}
	for _, n := range p.Notices {
		if n.LeftOut {
			kind := "user"
			if n.Kind == NoticeGroup {
				kind = "group"
			}
			out = append(out, LeftOut{IDP: n.IDP, Kind: kind, Subject: n.Subject, Reason: n.Summary, Severity: n.Severity})
		}
	}
	return out
}

// SourceErrors lists the IdPs left out because their read failed, was
// incomplete or shrank: plan and apply exit 1 when there is one.
func (p *Plan) SourceErrors() []SkippedIDP {
	var out []SkippedIDP
	for _, s := range p.Skipped {
		if s.Failed() {
			out = append(out, s)
		}
	}
	return out
}

// SourceError is the error plan and apply return (after showing the plan
// and, for apply, making its changes) when an IdP was left out because of
// a failure.
type SourceError struct{ IDPs []SkippedIDP }

func (e *SourceError) Error() string {
	msg := ""
	for i, s := range e.IDPs {
		if i > 0 {
			msg += "; "
		}
		msg += fmt.Sprintf("idp %s was left out: %s", s.IDP, s.Reason)
	}
	return msg + ". Nothing it manages was changed; fix its source and run again"
}

// CheckSources returns a *SourceError when p left an IdP out because of a
// failure, nil otherwise.
func CheckSources(p *Plan) error {
	if p == nil {
		return nil
	}
	if errs := p.SourceErrors(); len(errs) > 0 {
		return &SourceError{IDPs: errs}
	}
	return nil
}

// HealthReport is what one plan learned about one IdP's source.
type HealthReport struct {
	At time.Time
	// Complete is true when the read completed and the IdP took part in
	// the plan; Counts and LeftOut describe that read.
	Complete bool
	Counts   SourceCounts
	// LeftOut counts the read's users and groups that cannot become
	// Confluence objects (a missing email, an invalid name).
	LeftOut int
	// Failure says why the IdP was left out, when not Complete. It never
	// holds a secret: it is the source's error, which names no password.
	Failure string
}

// SourceHealth is an IdP's health as the store keeps it: the last
// complete read, the last failure and what the last complete read left
// out.
type SourceHealth struct {
	// Healthy is true when the IdP's last read was complete and it took
	// part in the plan.
	Healthy bool
	// LastComplete is the last complete read; its At is zero when there
	// was none.
	LastComplete SourceCounts
	// LastFailure and LastFailureCause are the last time the IdP was left
	// out and why; zero and "" when never.
	LastFailure      time.Time
	LastFailureCause string
	// LeftOut counts the identities the last complete read left out.
	LeftOut int
	Updated time.Time
}

// maxFailureCause bounds a recorded failure cause.
const maxFailureCause = 2000

// recordHealth stores what the plan learned about each IdP it read.
func recordHealth(ctx context.Context, st StateStore, p *Plan, complete bool) error {
	leftOut := map[string]int{}
	for _, n := range p.Notices {
		if n.LeftOut {
			leftOut[n.IDP]++
		}
	}
	for _, idp := range p.IDPs {
		if !complete {
			break // a targeted read is no complete read
		}
		r := HealthReport{At: p.Created, Complete: true, Counts: p.Reads[idp], LeftOut: leftOut[idp]}
		if err := st.RecordHealth(ctx, idp, r); err != nil {
			return fmt.Errorf("record the health of idp %q: %w", idp, err)
		}
	}
	for _, s := range p.Skipped {
		if s.Cause == CauseNoSource {
			continue // nothing was read
		}
		cause := s.Reason
		if len(cause) > maxFailureCause {
			cause = cause[:maxFailureCause] + "..."
		}
		if err := st.RecordHealth(ctx, s.IDP, HealthReport{At: p.Created, Failure: cause}); err != nil {
			return fmt.Errorf("record the health of idp %q: %w", s.IDP, err)
		}
	}
	return nil
}

// Apply returns h updated by r, as RecordHealth keeps it.
func (h SourceHealth) Apply(r HealthReport) SourceHealth {
	at := r.At.UTC()
	if r.Complete {
		h.Healthy, h.LeftOut = true, r.LeftOut
		h.LastComplete = SourceCounts{Users: r.Counts.Users, Groups: r.Counts.Groups, At: at}
	} else {
		h.Healthy = false
		h.LastFailure, h.LastFailureCause = at, r.Failure
	}
	h.Updated = at
	return h
}
