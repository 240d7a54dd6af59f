package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ra(c Change, errText string) RunAction {
	return RunAction{Action: c.Action.String(), Object: c.Object(), IDP: c.IDP, Error: errText, Change: &c}
}

// TestNewRollback checks which of a run's changes become the override:
// failed ones and adopts are not reversed, the first change of an object
// holds its state before the run, and what a later run changed is a
// notice instead.
func TestNewRollback(t *testing.T) {
	v := func(name string, active bool) *UserValues {
		return &UserValues{DisplayName: name, Email: strings.ToLower(name) + "@x", Active: active}
	}
	run := Run{ID: "r1", Outcome: "partial", Actions: []RunAction{
		ra(Change{Action: ActionUpdate, Kind: KindUser, User: "ann", IDP: "e", Before: v("Ann", true), After: v("Anne", true)}, ""),
		ra(Change{Action: ActionDisable, Kind: KindUser, User: "ann", IDP: "e", Before: v("Anne", true), After: v("Anne", false)}, ""),
		ra(Change{Action: ActionCreate, Kind: KindUser, User: "bob", IDP: "e", After: v("Bob", true)}, "confluence: 500"),
		ra(Change{Action: ActionAdopt, Kind: KindUser, User: "cy", IDP: "e", StateOnly: true, After: v("Cy", true)}, ""),
		ra(Change{Action: ActionCreate, Kind: KindGroup, Group: "ops", IDP: "e"}, ""),
		ra(Change{Action: ActionAdd, Kind: KindMembership, User: "ann", Group: "ops", IDP: "e"}, ""),
		ra(Change{Action: ActionRemove, Kind: KindMembership, User: "dee", Group: "eng", IDP: "e"}, ""),
		ra(Change{Action: ActionRemove, Kind: KindMembership, User: "eve", Group: "eng", IDP: "e"}, ""),
	}}
	later := Run{ID: "r2", Outcome: "applied", Actions: []RunAction{
		{Action: "add", Object: "membership eve -> eng"},
		{Action: "create", Object: "user dee", Error: "failed: does not count"},
	}}
	rb, err := NewRollback([]Run{later, run, {ID: "r0", Outcome: "applied"}}, "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := &Rollback{RunID: "r1",
		Users:       []RollbackUser{{Username: "ann", IDP: "e", Values: *v("Ann", true), Action: ActionUpdate}},
		Groups:      []RollbackGroup{{Name: "ops", IDP: "e"}},
		Memberships: []RollbackMembership{{User: "ann", Group: "ops", IDP: "e"}, {User: "dee", Group: "eng", IDP: "e", Member: true}},
	}
	want.Users[0].Values.Custom = map[string]string{}
	got := *rb
	got.Notices = nil
	if diff := cmp.Diff(want, &got); diff != "" {
		t.Errorf("override (-want +got):\n%s", diff)
	}
	if len(rb.Notices) != 1 || rb.Notices[0].Summary != "no longer applies: membership eve -> eng was changed by run r2" {
		t.Errorf("notices = %+v", rb.Notices)
	}

	for _, tc := range []struct {
		runs []Run
		want string
	}{
		{nil, `no run "r1" in the audit log`},
		{[]Run{{ID: "r1", Outcome: "refused"}}, "run r1 was refused and changed nothing"},
		{[]Run{{ID: "r1", Outcome: "applied", Actions: []RunAction{{Action: "create", Object: "user old"}}}}, "recorded no change it made"},
	} {
		_, err := NewRollback(tc.runs, "r1")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRollback(%v) = %v, want %q", tc.runs, err, tc.want)
		}
	}
	if _, err := NewRollback([]Run{{ID: "r1", Outcome: "error"}}, "r1"); !errors.Is(err, ErrNothingToRollBack) {
		t.Errorf("err = %v, want ErrNothingToRollBack", err)
	}
}
