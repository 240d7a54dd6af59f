package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// runs reads the audit log, newest first.
func (e *e2e) runs() []plan.Run {
	e.t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(e.dir, "confsync.db"), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return runs
}

// Every refused CLI apply is in the audit log: the lock held by another
// run, a stale saved plan, a safety threshold.
func TestApplyRefusalsAreRecorded(t *testing.T) {
	e := newE2E(t)
	ids := map[string]string{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin"} {
		ids[n] = e.provisionUser(n+"@example.com", n)
	}
	e.mustRun(0, "apply", "--auto-approve")

	// The lock: refused before anything is read or shown, in one sentence.
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(e.dir, "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AcquireLock(context.Background(), "otherhost:99", time.Hour); err != nil {
		t.Fatal(err)
	}
	st.Close()
	e.setActive(ids["erin"], false)
	out, errOut, code := e.confsync("apply", "--auto-approve")
	if code != 1 || out != "" || !strings.Contains(errOut, "the apply lock is held by otherhost:99") ||
		strings.Contains(errOut, "take the apply lock") || strings.Contains(errOut, "acquire lock") {
		t.Fatalf("apply under another run's lock: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if runs := e.runs(); runs[0].Outcome != "refused" || runs[0].Trigger != "cli" || !strings.Contains(runs[0].Message, "otherhost:99") {
		t.Fatalf("last run = %+v", runs[0])
	}
	e.mustRun(0, "force-unlock")

	// A stale saved plan.
	e.mustRun(2, "plan", "--detailed-exitcode", "--out", filepath.Join(e.dir, "old.plan"))
	e.setActive(ids["dave"], false)
	if _, errOut, code := e.confsync("apply", filepath.Join(e.dir, "old.plan")); code != 1 || !strings.Contains(errOut, "stale") {
		t.Fatalf("stale plan: exit %d, %s", code, errOut)
	}
	if runs := e.runs(); runs[0].Outcome != "refused" || !strings.Contains(runs[0].Message, "stale") {
		t.Fatalf("last run = %+v", runs[0])
	}

	// A safety threshold (max_deactivations = 2).
	e.setActive(ids["carol"], false)
	if _, errOut, code := e.confsync("apply", "--auto-approve"); code != 1 || !strings.Contains(errOut, "max_deactivations") {
		t.Fatalf("storm: exit %d, %s", code, errOut)
	}
	runs := e.runs()
	if runs[0].Outcome != "refused" || !strings.Contains(runs[0].Message, "max_deactivations") {
		t.Fatalf("last run = %+v", runs[0])
	}
	refused := 0
	for _, r := range runs {
		if r.Outcome == "refused" {
			refused++
		}
	}
	if refused != 3 || len(runs) != 4 {
		t.Fatalf("audit log has %d runs, %d refused, want 4 and 3: %+v", len(runs), refused, runs)
	}
}

// A failed change is reported once, as it happens; the apply ends with a
// summary and exit 1, and a run that made nothing is an error.
func TestApplyFailureReportedOnce(t *testing.T) {
	e := newE2E(t, func(o *emulator.Options) { o.Seats = 1 }) // the admin takes the only seat
	e.provisionUser("alice@example.com", "Alice")
	out, errOut, code := e.confsync("apply", "--auto-approve")
	if code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := strings.Count(errOut, "No more licenses available"); n != 1 || strings.Contains(errOut, "Error:") {
		t.Errorf("the failure is reported %d times (want once, no Error: line):\n%s", n, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "Apply incomplete: ") || !strings.Contains(last, "1 failed") {
		t.Errorf("last line of stdout = %q, want the summary", last)
	}
}

// apply --json cannot prompt; the message says what to give it.
func TestApplyJSONNeedsApprovalOrFile(t *testing.T) {
	e := newE2E(t)
	_, errOut, code := e.confsync("apply", "--json")
	if code != 1 || !strings.Contains(errOut, "--json") || !strings.Contains(errOut, "--auto-approve") || strings.Contains(errOut, "no terminal") {
		t.Fatalf("exit %d, %s", code, errOut)
	}
}

// The summary line counts in good English.
func TestApplySummarySingular(t *testing.T) {
	e := newE2E(t)
	id := e.provisionUser("alice@example.com", "Alice")
	e.mustRun(0, "apply", "--auto-approve")
	e.setActive(id, false)
	out := e.mustRun(0, "apply", "--auto-approve")
	if !strings.Contains(out, "Apply complete: 1 change applied.") {
		t.Fatalf("apply:\n%s", out)
	}
}
