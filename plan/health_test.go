package plan_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

// An IdP whose read fails, is incomplete or shrinks past the guard is left
// out as an error: the healthy IdP's changes are still planned and made,
// nobody of the failed IdP is deprovisioned, the run is not "applied", and
// the health of both is recorded. A fresh IdP that delivered nothing yet is
// a warning only.
func TestSourceFailuresAreErrors(t *testing.T) {
	tests := []struct {
		name      string
		break_    func(s *plantest.Source)
		cause     string
		severity  plan.Severity
		firstRead bool // the broken IdP was read well once before
	}{
		{"failed", func(s *plantest.Source) { s.Err = errors.New("ldap: bind as cn=reader: Invalid Credentials") }, plan.CauseFailed, plan.SeverityError, false},
		{"incomplete", func(s *plantest.Source) {
			s.Err = fmt.Errorf("ldap: search: the server's size limit stopped the read: %w", plan.ErrIncompleteRead)
		}, plan.CauseIncomplete, plan.SeverityError, true},
		{"shrank", func(s *plantest.Source) { s.Set(plan.Snapshot{Users: []plan.SourceUser{su("c1", "carol", true)}}) }, plan.CauseShrank, plan.SeverityError, true},
		{"emptied", func(s *plantest.Source) { s.Set(plan.Snapshot{}) }, plan.CauseShrank, plan.SeverityError, true},
		{"fresh", func(s *plantest.Source) { s.Set(plan.Snapshot{}) }, plan.CauseEmpty, plan.SeverityWarning, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(idpConfig("corp", 10), idpConfig("entra", 5))
			ctx := context.Background()
			if tt.firstRead {
				w.sources["corp"].Set(plan.Snapshot{Users: []plan.SourceUser{su("c1", "carol", true), su("c2", "cid", true), su("c3", "cy", true)}})
				w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("e1", "eve", true)}})
				w.converge(t, plan.Options{})
			}
			tt.break_(w.sources["corp"])
			w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("e1", "eve", true), su("e2", "ed", true)}})

			p := w.plan(t, plan.Options{})
			if len(p.Skipped) != 1 || p.Skipped[0].IDP != "corp" || p.Skipped[0].Cause != tt.cause || p.Skipped[0].Severity != tt.severity {
				t.Fatalf("skipped = %+v, want corp left out (%s, %s)", p.Skipped, tt.cause, tt.severity)
			}
			if tt.firstRead {
				wantChanges(t, p, "create user ed")
			} else {
				wantChanges(t, p, "create user ed", "create user eve")
			}
			err := plan.CheckSources(p)
			var se *plan.SourceError
			if (tt.severity == plan.SeverityError) != errors.As(err, &se) {
				t.Fatalf("CheckSources = %v, want an error only for a failure", err)
			}
			if se != nil && !strings.Contains(se.Error(), "idp corp was left out") {
				t.Errorf("error %q does not name the IdP", se)
			}
			if lo := p.LeftOut(); len(lo) != 1 || lo[0].Kind != "idp" || lo[0].IDP != "corp" {
				t.Errorf("LeftOut = %+v", lo)
			}

			res := w.apply(t, p)
			if w.target.User("ed") == nil {
				t.Error("the healthy IdP's user was not created")
			}
			if tt.firstRead {
				for _, u := range []string{"carol", "cid", "cy"} {
					if cu := w.target.User(u); cu == nil || !cu.Active {
						t.Errorf("user %s of the broken IdP was deprovisioned: %+v", u, cu)
					}
				}
			}
			wantOutcome := plan.OutcomeApplied
			if tt.severity == plan.SeverityError {
				wantOutcome = "partial"
			}
			if res.Run.Outcome != wantOutcome || (wantOutcome == "partial" && !strings.Contains(res.Run.Message, "idp corp left out")) {
				t.Errorf("run = %s %q, want %s", res.Run.Outcome, res.Run.Message, wantOutcome)
			}

			h, ok, _ := w.state.Health(ctx, "corp")
			if !ok || h.Healthy || h.LastFailure.IsZero() || h.LastFailureCause == "" {
				t.Errorf("corp health = %+v, want unhealthy with its failure", h)
			}
			if tt.firstRead && h.LastComplete.Users != 3 {
				t.Errorf("corp's last complete read = %+v, want the earlier 3 users kept", h.LastComplete)
			}
			h, ok, _ = w.state.Health(ctx, "entra")
			if !ok || !h.Healthy || h.LastComplete.Users != 2 || h.LastComplete.At.IsZero() {
				t.Errorf("entra health = %+v, want healthy with 2 users", h)
			}
		})
	}
}

// Users left out for a missing email are counted in the health, and a
// plan that left them out is not complete.
func TestLeftOutUsersCounted(t *testing.T) {
	w := newWorld(idpConfig("entra", 5))
	noMail := su("e2", "nomail", true)
	delete(noMail.Attributes, config.DefaultSCIMEmail)
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("e1", "eve", true), noMail}})
	w.converge(t, plan.Options{})
	p := w.plan(t, plan.Options{})
	if !p.Empty() {
		t.Fatalf("not converged: %s", changeLines(p))
	}
	lo := p.LeftOut()
	if len(lo) != 1 || lo[0].Kind != "user" || lo[0].IDP != "entra" {
		t.Fatalf("LeftOut = %+v, want the user without an email", lo)
	}
	if err := plan.CheckSources(p); err != nil {
		t.Errorf("a user left out is not a source failure: %v", err)
	}
	h, _, _ := w.state.Health(context.Background(), "entra")
	if !h.Healthy || h.LeftOut != 1 {
		t.Errorf("health = %+v, want healthy with 1 left out", h)
	}
}

// A saved plan's ID is recorded with its apply, and RunOfPlan finds it.
func TestRunOfPlan(t *testing.T) {
	w := newWorld(idpConfig("entra", 5))
	w.sources["entra"].Set(plan.Snapshot{Users: []plan.SourceUser{su("e1", "eve", true)}})
	p := w.plan(t, plan.Options{})
	if p.ID == "" {
		t.Fatal("a plan has no ID")
	}
	ctx := context.Background()
	if r, _ := w.state.RunOfPlan(ctx, p.ID); r != nil {
		t.Fatalf("run of an unapplied plan: %+v", r)
	}
	res := w.apply(t, p)
	r, err := w.state.RunOfPlan(ctx, p.ID)
	if err != nil || r == nil || r.ID != res.Run.ID || r.PlanID != p.ID {
		t.Errorf("RunOfPlan = %+v, %v; want run %s", r, err, res.Run.ID)
	}
}
