package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live/report"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store/pgtest"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// The tests in this file run real `confsync serve` processes (this test
// binary, re-executed as confsync by testscript.Main) against a throwaway
// PostgreSQL cluster and the Confluence emulator.

const (
	replicaSCIMToken = "scim-token-for-the-replica-tests"
	emulatorToken    = "emulator-admin-token"
)

// serveConfig is the configuration of one replica.
type serveConfig struct {
	ConfluenceURL string
	DSN           string // "" for SQLite beside the configuration
	Listen        string
	Debounce      string
	Parallelism   int
	// MaxDeactivations is safety.max_deactivations (default "50%").
	MaxDeactivations string
}

func writeServeConfig(t testing.TB, dir string, c serveConfig) {
	t.Helper()
	sum := sha256.Sum256([]byte(replicaSCIMToken))
	store := ""
	if c.DSN != "" {
		store = fmt.Sprintf("store {\n  postgres = %q\n}\n", c.DSN)
	}
	if c.Parallelism == 0 {
		c.Parallelism = 4
	}
	if c.MaxDeactivations == "" {
		c.MaxDeactivations = "50%"
	}
	hcl := fmt.Sprintf(`confluence {
  url         = %q
  token       = %q
  parallelism = %d
}
%s
server {
  listen             = %q
  auto_apply         = true
  debounce           = %q
  reconcile_interval = "1h"
}

safety {
  max_deactivations = %q
}

idp "entra" {
  scim {
    token_sha256 = [%q]
  }
  groups {
    mode           = "on_the_fly"
    create_missing = true
  }
}
`, c.ConfluenceURL, emulatorToken, c.Parallelism, store, c.Listen, c.Debounce, c.MaxDeactivations, hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// replicaProc is one `confsync serve` process.
type replicaProc struct {
	name string
	url  string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // the process's exit, after done is closed
}

func startReplica(t testing.TB, name, configDir, listen string) *replicaProc {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("confsync", "serve", "--config", configDir, "--log-level", "debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "CONFSYNC_CONFIG=")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &replicaProc{name: name, url: "http://" + listen, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		logf.Close()
		b, _ := os.ReadFile(logf.Name())
		for _, secret := range []string{replicaSCIMToken, emulatorToken} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("the log of %s contains a secret token", name)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("log of %s:\n%s", name, tail(b, 6000))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (p *replicaProc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *replicaProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *replicaProc) ready(t testing.TB) {
	t.Helper()
	waitFor(t, 90*time.Second, p.name+" to be ready", func() bool {
		if p.exited() {
			t.Fatalf("%s exited: %v", p.name, p.err)
		}
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (p *replicaProc) status(t testing.TB) *report.ServeStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := report.Fetch(ctx, http.DefaultClient, p.url)
	if err != nil {
		return nil
	}
	return s
}

// scimUser is the body of a SCIM user creation.
func scimUser(name string) []byte { return scimUserActive(name, true) }

// scimUserActive is a SCIM user's body with the given active flag.
func scimUserActive(name string, active bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    name,
		"active":      active,
		"displayName": strings.ToUpper(name[:1]) + name[1:],
		"emails":      []map[string]any{{"type": "work", "value": name + "@example.com", "primary": true}},
	})
	return b
}

// scimDo sends a SCIM request and returns the status and body.
func scimDo(t testing.TB, method, url string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+replicaSCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// createSCIMUser creates a user through replica p and returns its id.
func createSCIMUser(t testing.TB, p *replicaProc, name string) string {
	t.Helper()
	code, body := scimDo(t, http.MethodPost, p.url+"/scim/v2/entra/Users", scimUser(name))
	if code != http.StatusCreated {
		t.Fatalf("create %s through %s: %d %s", name, p.name, code, body)
	}
	var r struct{ ID string }
	if err := json.Unmarshal(body, &r); err != nil || r.ID == "" {
		t.Fatalf("create %s: bad answer %s", name, body)
	}
	return r.ID
}

// TestServeReplicas runs two serve replicas sharing one PostgreSQL
// database in front of the Confluence emulator:
//   - a SCIM write acknowledged by one replica is seen by the other;
//   - a user created over SCIM appears in Confluence with no command run;
//   - the audit log never shows two applies at once;
//   - the replica that is applying is killed (SIGKILL) mid-apply; the other
//     takes over within the lease plus a poll, and every user reaches
//     Confluence exactly once (one successful create request each);
//   - SIGTERM stops the survivor cleanly and releases the lock.
func TestServeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and two serve processes")
	}
	dsn := pgtest.Start(t)
	// Each Confluence request takes 40ms and one runs at a time, so that
	// applying a batch of users takes seconds: long enough to kill the
	// replica in the middle of it.
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken, Latency: 40 * time.Millisecond})

	root := t.TempDir()
	addrA, addrB := freeAddr(t), freeAddr(t)
	writeServeConfig(t, filepath.Join(root, "a"), serveConfig{ConfluenceURL: emuURL, DSN: dsn, Listen: addrA, Debounce: "200ms", Parallelism: 1})
	writeServeConfig(t, filepath.Join(root, "b"), serveConfig{ConfluenceURL: emuURL, DSN: dsn, Listen: addrB, Debounce: "200ms", Parallelism: 1})
	a := startReplica(t, "replica-a", filepath.Join(root, "a"), addrA)
	b := startReplica(t, "replica-b", filepath.Join(root, "b"), addrB)
	a.ready(t)
	b.ready(t)

	// A write acknowledged by a is seen by b.
	id := createSCIMUser(t, a, "alice")
	if code, body := scimDo(t, http.MethodGet, b.url+"/scim/v2/entra/Users/"+id, nil); code != http.StatusOK || !bytes.Contains(body, []byte(`"alice"`)) {
		t.Fatalf("replica b does not see the user a acknowledged: %d %s", code, body)
	}
	// And reaches Confluence with no command run.
	waitFor(t, 60*time.Second, "alice to reach Confluence", func() bool {
		u, ok := emu.User("alice")
		return ok && u.Email == "alice@example.com"
	})

	// A batch of users through both replicas; the apply takes seconds.
	const batch = 40
	var names []string
	for i := range batch {
		name := fmt.Sprintf("user%02d", i)
		names = append(names, name)
		via := a
		if i%2 == 1 {
			via = b
		}
		createSCIMUser(t, via, name)
	}
	// Find the replica applying the batch, and kill it mid-apply.
	var victim, survivor *replicaProc
	waitFor(t, 60*time.Second, "a replica to start applying the batch", func() bool {
		for _, p := range []*replicaProc{a, b} {
			if s := p.status(t); s != nil && s.Applying && countUsers(emu, names) < batch {
				victim = p
				return true
			}
		}
		return false
	})
	// Let it apply part of the batch first.
	waitFor(t, 60*time.Second, "part of the batch to reach Confluence", func() bool { return countUsers(emu, names) >= 3 })
	victimHolder := victim.status(t).Holder
	victim.kill()
	st, err := sqlstore.OpenPostgres(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lockAtKill, err := st.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	diedHolding := lockAtKill != nil && lockAtKill.Holder == victimHolder && lockAtKill.Expires.After(time.Now())
	survivor = a
	if victim == a {
		survivor = b
	}
	before := countUsers(emu, names)
	t.Logf("killed %s with %d of %d users applied", victim.name, before, batch)
	if before == batch {
		t.Log("the victim finished the batch before it was killed; the take-over below still runs")
	}
	// A write acknowledged after the kill is not lost either.
	createSCIMUser(t, survivor, "late")
	names = append(names, "late")

	// The survivor takes over once the victim's lease (30s) expires.
	waitFor(t, 120*time.Second, "every user to reach Confluence through the survivor", func() bool {
		return countUsers(emu, names) == len(names)
	})
	stats := emu.Stats()
	if got, want := stats.Status["POST /rest/api/admin/user 201"], len(names)+1; got != want {
		t.Errorf("Confluence created %d users, want %d (alice and the batch, each exactly once); statuses: %v", got, want, stats.Status)
	}

	// The audit log never has two applies at once.
	runs, err := st.Runs(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkNoOverlap(t, runs)

	// The operator's view: status with the survivor's live state, and the
	// history of what was applied, once the survivor has finished.
	waitFor(t, 60*time.Second, "the survivor to finish its reconcile", func() bool {
		s := survivor.status(t)
		return s != nil && !s.Applying && s.Pending["entra"] == 0
	})
	survivorDir := filepath.Join(root, "a")
	if survivor == b {
		survivorDir = filepath.Join(root, "b")
	}
	out, err := exec.Command("confsync", "status", "--config", survivorDir, "--server", survivor.url).CombinedOutput()
	if err != nil {
		t.Fatalf("confsync status: %v\n%s", err, out)
	}
	if diedHolding {
		// The survivor says it took over from the dead replica.
		if !regexp.MustCompile(`took over the apply lock at \S+ from ` + regexp.QuoteMeta(victimHolder)).Match(out) {
			t.Errorf("confsync status does not tell that %s died holding the lock:\n%s", victimHolder, out)
		}
	} else {
		t.Logf("%s was not holding the lock when killed", victim.name)
	}
	for _, want := range []string{`(?m)^entra\s+scim\s+42\s`, "Serve at " + regexp.QuoteMeta(survivor.url), "state: (idle|applying)", "pending changes: entra 0", `(?m)^  (auto|reconcile)\s+\S+\s+applied`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("confsync status lacks %q:\n%s", want, out)
		}
	}
	out, err = exec.Command("confsync", "history", "--config", survivorDir, "--json", "--limit", "100").Output()
	if err != nil {
		t.Fatalf("confsync history: %v", err)
	}
	var h report.History
	if err := json.Unmarshal(out, &h); err != nil {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	created := 0
	for _, r := range h.Runs {
		for _, a := range r.Actions {
			if a.Action == "create" && strings.HasPrefix(a.Object, "user ") && a.Error == "" {
				created++
			}
		}
	}
	// The killed replica's last run never reached the audit log; the
	// survivor's runs and the earlier ones did.
	if created == 0 || created > len(names)+1 {
		t.Errorf("history shows %d user creations, want between 1 and %d", created, len(names)+1)
	}

	// The metrics tell the same story.
	resp, err := http.Get(survivor.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`confsync_scim_requests_total{idp="entra",method="POST",status="201"}`,
		`confsync_applied_actions_total{action="create",kind="user",result="ok"}`,
		`confsync_store_operation_duration_seconds_count{operation="create_user"}`,
		`confsync_pending_changes 0`,
		`confsync_lock_takeovers_total `,
		`confsync_reconciles_total{outcome="applied",trigger=`,
		`confsync_last_successful_reconcile_timestamp_seconds `,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics of the survivor lacks %s", want)
		}
	}

	// SIGTERM: the survivor stops cleanly and releases the lock.
	if err := survivor.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-survivor.done:
	case <-time.After(90 * time.Second):
		t.Fatal("the survivor did not stop within 90s of SIGTERM")
	}
	if survivor.err != nil {
		t.Errorf("the survivor exited with %v after SIGTERM, want status 0", survivor.err)
	}
	if l, err := st.Lock(context.Background()); err != nil || (l != nil && l.Holder != "" && l.Expires.After(time.Now()) && strings.Contains(l.Holder, fmt.Sprint(survivor.cmd.Process.Pid))) {
		t.Errorf("after SIGTERM the lock is %+v (%v), want it released", l, err)
	}
}

func countUsers(emu *emulator.Server, names []string) int {
	n := 0
	for _, name := range names {
		if _, ok := emu.User(name); ok {
			n++
		}
	}
	return n
}

// checkNoOverlap fails when two runs of the audit log overlap in time.
func checkNoOverlap(t testing.TB, runs []plan.Run) {
	t.Helper()
	for i := range runs {
		for j := i + 1; j < len(runs); j++ {
			x, y := runs[i], runs[j]
			if x.Started.Before(y.Finished) && y.Started.Before(x.Finished) {
				t.Errorf("runs overlap: %s %s [%s, %s] and %s %s [%s, %s]",
					x.Trigger, x.ID, x.Started.Format(time.RFC3339Nano), x.Finished.Format(time.RFC3339Nano),
					y.Trigger, y.ID, y.Started.Format(time.RFC3339Nano), y.Finished.Format(time.RFC3339Nano))
			}
		}
	}
}

// TestServeShutdownMidApply sends SIGTERM to a replica in the middle of an
// apply: it exits 0, releases the apply lock at once (no lease to wait
// for), records the interrupted run, and a replica started afterwards
// finishes the job without creating anything twice.
func TestServeShutdownMidApply(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve processes")
	}
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken, Latency: 40 * time.Millisecond})
	dir := filepath.Join(t.TempDir(), "conf")
	addr := freeAddr(t)
	writeServeConfig(t, dir, serveConfig{ConfluenceURL: emuURL, Listen: addr, Debounce: "100ms", Parallelism: 1})
	p := startReplica(t, "replica", dir, addr)
	p.ready(t)

	const batch = 30
	var names []string
	for i := range batch {
		names = append(names, fmt.Sprintf("user%02d", i))
		createSCIMUser(t, p, names[i])
	}
	waitFor(t, 60*time.Second, "the apply to be under way", func() bool { return countUsers(emu, names) >= 3 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		t.Fatal("serve did not stop within 90s of SIGTERM")
	}
	if p.err != nil {
		t.Fatalf("serve exited with %v after SIGTERM, want status 0", p.err)
	}
	applied := countUsers(emu, names)
	t.Logf("stopped with %d of %d users applied", applied, batch)

	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := st.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if l != nil && l.Expires.After(time.Now()) {
		t.Errorf("the apply lock is still held by %q after a clean shutdown", l.Holder)
	}
	runs, err := st.Runs(context.Background(), 10)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if applied < batch {
		if len(runs) == 0 || runs[0].Outcome != "partial" {
			t.Errorf("latest run = %+v, want the interrupted apply recorded as partial", runs)
		}
	}

	// A new replica picks up where the first stopped.
	q := startReplica(t, "replica-2", dir, addr)
	q.ready(t)
	waitFor(t, 90*time.Second, "every user to reach Confluence", func() bool { return countUsers(emu, names) == batch })
	// The emulator counts an answer once its handler returns, just after
	// the user exists: wait for the last count too.
	created := func() int { return emu.Stats().Status["POST /rest/api/admin/user 201"] }
	waitFor(t, 10*time.Second, "the emulator to count the last creation", func() bool { return created() >= batch })
	if got, dup := created(), emu.Stats().Status["POST /rest/api/admin/user 409"]; got != batch || dup != 0 {
		t.Errorf("Confluence created %d users and refused %d creations as duplicates, want %d and 0: each exactly once", got, dup, batch)
	}
}

// TestServeRefusedReconcile deactivates more users over SCIM than
// safety.max_deactivations allows: serve applies nothing, and confsync
// status and the metrics say why.
func TestServeRefusedReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a serve process")
	}
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
	dir := filepath.Join(t.TempDir(), "conf")
	addr := freeAddr(t)
	// A debounce long enough that the three deactivations below, sent
	// back to back, are planned together even on a loaded machine.
	writeServeConfig(t, dir, serveConfig{ConfluenceURL: emuURL, Listen: addr, Debounce: "3s", MaxDeactivations: "1"})
	p := startReplica(t, "replica", dir, addr)
	p.ready(t)

	names := []string{"ann", "bob", "cat", "dan"}
	ids := map[string]string{}
	for _, n := range names {
		ids[n] = createSCIMUser(t, p, n)
	}
	waitFor(t, 60*time.Second, "the users to reach Confluence", func() bool { return countUsers(emu, names) == len(names) })
	waitFor(t, 60*time.Second, "serve to be idle with nothing pending", func() bool {
		s := p.status(t)
		return s != nil && !s.Applying && s.Pending["entra"] == 0
	})

	// Entra deprovisions three of the four at once: over the threshold.
	for _, n := range names[:3] {
		if code, body := scimDo(t, http.MethodPut, p.url+"/scim/v2/entra/Users/"+ids[n], scimUserActive(n, false)); code != http.StatusOK {
			t.Fatalf("deactivate %s: %d %s", n, code, body)
		}
	}
	waitFor(t, 60*time.Second, "a refused reconcile", func() bool {
		s := p.status(t)
		if s == nil {
			return false
		}
		for _, r := range s.LastRuns {
			if r.Outcome == "refused" {
				return true
			}
		}
		return false
	})
	for _, n := range names {
		if u, _ := emu.User(n); !u.Active {
			t.Errorf("%s was deactivated in Confluence although the reconcile was refused", n)
		}
	}
	out, err := exec.Command("confsync", "status", "--config", dir, "--server", p.url).CombinedOutput()
	if err != nil {
		t.Fatalf("confsync status: %v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^  auto\s+\S+\s+refused\s+(full|targeted), \d+ Confluence requests\s+nothing applied: .*max_deactivations`, `pending changes: entra [3-9]`,
		`(?m)^entra\s+scim\s+.*\s+healthy\s+`, `(?m)^  entra: healthy; last complete read: 4 users, 0 groups at \S+; 0 identities left out$`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("confsync status lacks %q:\n%s", want, out)
		}
	}
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The three refused deactivations stay pending (with, at most, a
	// creation this replica had not yet seen reconciled).
	for _, want := range []string{
		`(?m)^confsync_reconciles_total\{outcome="refused",trigger="auto"\} 1$`,
		`(?m)^confsync_last_reconcile_outcome\{outcome="refused",trigger="auto"\} 1$`,
		`(?m)^confsync_pending_changes [3-9]$`,
		// The source was read completely: the refusal is the threshold's.
		`(?m)^confsync_idp_source_healthy\{idp="entra"\} 1$`,
		`(?m)^confsync_idp_identities_left_out\{idp="entra"\} 0$`,
	} {
		if !regexp.MustCompile(want).Match(metrics) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// /status carries the same source health, from the store.
	if s := p.status(t); s == nil || len(s.IdPs) != 1 || s.IdPs[0].Name != "entra" || s.IdPs[0].Health == nil ||
		!s.IdPs[0].Health.Healthy || s.IdPs[0].Health.LastCompleteRead == nil || s.IdPs[0].Health.LastCompleteRead.Users != 4 {
		t.Errorf("/status source health: %+v", s)
	}
}
