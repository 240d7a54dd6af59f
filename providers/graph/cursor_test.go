package graph_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// TestDeltaStateAcrossProcesses: the delta state is kept in a real store
// (SQLite), so a new Source on the same store (the next confsync plan
// process) reads only the changes; after a 410 it reads everything again;
// a cursor it cannot use means a full round, never a wrong snapshot. The
// deltaLinks never reach the log.
func TestDeltaStateAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	f := newTenant(t)
	var ids []string
	for i := range 1500 {
		ids = append(ids, f.emu.AddUser(map[string]any{"userPrincipalName": fmt.Sprintf("u%04d@contoso.com", i), "mail": fmt.Sprintf("u%04d@contoso.com", i), "displayName": fmt.Sprintf("U %d", i)}))
	}
	inner := f.emu.AddGroup("Inner", ids[0], ids[1])
	outer := f.emu.AddGroup("Outer", ids[2], inner)
	f.emu.AddMembers(inner, outer)
	f.emu.AddGroup("All", ids...)

	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	req := plan.ReadRequest{Attributes: []string{"userPrincipalName", "mail", "displayName"}}
	// process is one confsync plan: a new Source on the same store, one Read.
	process := func(t *testing.T) map[string]int {
		t.Helper()
		src, err := graph.NewSource(f.config(), graph.Options{Delta: true, Cursors: st, CursorKey: "entra", Logger: logger,
			Retry: backoff.Policy{Attempts: 2, Sleep: (&sleeps{}).sleep}})
		if err != nil {
			t.Fatal(err)
		}
		f.emu.ResetStats()
		got, err := src.Read(ctx, req)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		requests := f.emu.Stats().Requests
		want, err := newSource(t, f.config(), nil).Read(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(normalize(want), normalize(got)); diff != "" {
			t.Fatalf("Read from the kept state differs from a full read (-full +kept):\n%s", diff)
		}
		return requests
	}

	if r := process(t); r["usersDelta"] != 2 || r["groupsDelta"] != 1 {
		t.Errorf("first process: %v; want a full round (2 users pages, 1 groups page)", r)
	}
	if _, ok, err := st.SourceCursor(ctx, "entra"); err != nil || !ok {
		t.Fatalf("no delta state kept after a full round: %v, %v", ok, err)
	}

	// 100 users change, one is deleted, memberships move.
	for i := 100; i < 200; i++ {
		f.emu.SetUser(ids[i], map[string]any{"displayName": fmt.Sprintf("Changed %d", i)})
	}
	f.emu.DeleteUser(ids[4])
	f.emu.RemoveMembers(inner, ids[1])
	r := process(t)
	if n := r["usersDelta"] + r["groupsDelta"] + r["token"]; n > 3 || r["usersDelta"] != 1 || r["groupsDelta"] != 1 || r["users"] != 0 || r["members"] != 0 {
		t.Errorf("second process: %v; want only the delta (1 users page, 1 groups page, a token: at most 3 requests)", r)
	}
	t.Logf("second process requests: %v", r)

	// Nothing changed: still only the delta.
	if r := process(t); r["usersDelta"] != 1 || r["groupsDelta"] != 1 {
		t.Errorf("third process, no change: %v; want 1 users page and 1 groups page", r)
	}

	// Entra ID drops the sync state: a new process gets a 410 and reads
	// everything.
	f.emu.ExpireDeltaTokens()
	f.emu.SetUser(ids[6], map[string]any{"mail": "moved@contoso.com"})
	if r := process(t); r["usersDelta"] < 3 {
		t.Errorf("after a 410: %v; want the refused token and then a full round (2 pages)", r)
	}
	// ... and the state it saved then is used by the next one.
	if r := process(t); r["usersDelta"] != 1 {
		t.Errorf("after the full round that followed a 410: %v; want only the delta", r)
	}

	// A cursor that is not a delta state: a full round and a warning.
	if err := st.SetSourceCursor(ctx, "entra", []byte("garbage https://x/delta?$deltatoken=42")); err != nil {
		t.Fatal(err)
	}
	if r := process(t); r["usersDelta"] != 2 {
		t.Errorf("with an unusable cursor: %v; want a full round", r)
	}
	if !strings.Contains(logs.String(), "not usable") {
		t.Errorf("no warning about the unusable cursor in the log:\n%s", logs.String())
	}
	// Another tenant's state is not applied.
	other := f.config()
	other.TenantID = "00000000-0000-0000-0000-000000000001"
	osrc, err := graph.NewSource(other, graph.Options{Delta: true, Cursors: st, CursorKey: "entra", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = osrc.Read(ctx, req) // the emulator refuses the tenant; what matters is the log
	if !strings.Contains(logs.String(), "another tenant") {
		t.Errorf("another tenant's state was not refused:\n%s", logs.String())
	}

	for _, leak := range []string{"deltatoken", "/delta?", secret} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("the log holds %q:\n%s", leak, logs.String())
		}
	}
}
