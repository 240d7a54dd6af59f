package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/graph/emulator"
)

// normal is a snapshot in a comparable form.
type normal struct {
	Users  map[string]plan.SourceUser
	Groups map[string][]string // id -> name and sorted member ids
}

func normalize(s *plan.Snapshot) normal {
	n := normal{Users: map[string]plan.SourceUser{}, Groups: map[string][]string{}}
	for _, u := range s.Users {
		n.Users[u.ID] = u
	}
	for _, g := range s.Groups {
		m := slices.Clone(g.MemberIDs)
		slices.Sort(m)
		n.Groups[g.ID] = append([]string{g.Name}, m...)
	}
	return n
}

// TestDeltaReads: a Source with Delta reads the tenant once in full, then
// only the changes, and every Read equals a full read of the tenant at
// that moment; 100 changed users take two requests; a refused delta token
// starts over; a failed delta page fails the Read and loses nothing.
func TestDeltaReads(t *testing.T) {
	f := newTenant(t)
	var ids []string
	for i := range 1500 {
		ids = append(ids, f.emu.AddUser(map[string]any{"userPrincipalName": fmt.Sprintf("u%04d@contoso.com", i), "mail": fmt.Sprintf("u%04d@contoso.com", i), "displayName": fmt.Sprintf("U %d", i)}))
	}
	inner := f.emu.AddGroup("Inner", ids[0], ids[1])
	outer := f.emu.AddGroup("Outer", ids[2], inner)
	f.emu.AddMembers(inner, outer) // a cycle
	all := f.emu.AddGroup("All", ids...)

	src, err := graph.NewSource(f.config(), graph.Options{Delta: true, Retry: backoff.Policy{Attempts: 2, Sleep: (&sleeps{}).sleep}})
	if err != nil {
		t.Fatal(err)
	}
	req := plan.ReadRequest{Attributes: []string{"userPrincipalName", "mail", "displayName"}}
	check := func(t *testing.T) map[string]int {
		t.Helper()
		f.emu.ResetStats()
		got, err := src.Read(context.Background(), req)
		if err != nil {
			t.Fatalf("delta Read: %v", err)
		}
		requests := f.emu.Stats().Requests
		want, err := newSource(t, f.config(), nil).Read(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalize(want), normalize(got)); diff != "" {
			t.Fatalf("delta Read differs from a full read (-full +delta):\n%s", diff)
		}
		return requests
	}

	r := check(t)
	if r["usersDelta"] != 2 || r["groupsDelta"] != 1 || r["users"] != 0 || r["members"] != 0 {
		t.Errorf("first delta round: %v; want 2 users pages and 1 groups page", r)
	}

	// Day two: 100 users change, one is disabled, one deleted, one new,
	// memberships move, a group appears.
	for i := 100; i < 200; i++ {
		f.emu.SetUser(ids[i], map[string]any{"displayName": fmt.Sprintf("Changed %d", i)})
	}
	f.emu.SetUser(ids[3], map[string]any{"accountEnabled": false})
	f.emu.DeleteUser(ids[4])
	newbie := f.emu.AddUser(map[string]any{"userPrincipalName": "new@contoso.com", "mail": "new@contoso.com"})
	f.emu.RemoveMembers(inner, ids[1])
	f.emu.AddMembers(outer, newbie)
	f.emu.AddGroup("Fresh", ids[5], all)
	r = check(t)
	if n := r["usersDelta"] + r["groupsDelta"] + r["token"]; n > 3 || r["users"] != 0 {
		t.Errorf("delta read of ~100 changed users took %v; want at most 3 requests", r)
	}

	// Entra ID drops the sync state: 410, and a full round.
	f.emu.ExpireDeltaTokens()
	f.emu.SetUser(ids[6], map[string]any{"mail": "moved@contoso.com"})
	if r := check(t); r["usersDelta"] < 3 {
		t.Errorf("after a 410: %v; want a full round (a refused token, then 2 pages)", r)
	}

	// A failed delta page fails the Read; the next one still sees the change.
	f.emu.SetUser(ids[7], map[string]any{"displayName": "After the outage"})
	f.emu.Inject(emulator.Fault{Path: "/groups/delta", Status: http.StatusServiceUnavailable, Times: -1})
	if _, err := src.Read(context.Background(), req); !errors.Is(err, plan.ErrIncompleteRead) {
		t.Fatalf("Read with a failing delta page = %v, want an incomplete read", err)
	}
	f.emu.ClearFaults()
	check(t)
}
